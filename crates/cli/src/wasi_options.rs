//! `-S name[=y|n]`: WASI options of `tern run`, spelled as wasmtime's CLI
//! spells them. Each name maps to the [`WasiCtxBuilder`] method of the same
//! name (`-S inherit-network` is `WasiCtxBuilder::inherit_network`), so the
//! CLI and the embedding API cannot disagree. Networking is off unless asked.

use anyhow::{bail, Result};
use clap::Args;
use tern_wasi::WasiCtxBuilder;

/// A [`WasiCtxBuilder`] setting for one option.
type Setter = fn(&mut WasiCtxBuilder, bool);

/// Every `-S` name and what it sets: the one list.
const WASI_FLAGS: &[(&str, Setter)] = &[
    ("inherit-network", |b, on| {
        if on {
            b.inherit_network();
        }
    }),
    ("allow-ip-name-lookup", |b, on| {
        b.allow_ip_name_lookup(on);
    }),
];

/// `-S`, flattened into `tern run`'s arguments.
#[derive(Args, Default)]
pub struct WasiOptions {
    /// WASI option: `-S NAME=y|n` (`-S NAME` alone means `y`):
    /// `inherit-network` (sockets may bind, connect and send anywhere),
    /// `allow-ip-name-lookup` (`wasi:sockets/ip-name-lookup` resolves names).
    /// Several may be given, comma-separated.
    #[arg(short = 'S', value_name = "NAME[=y|n]")]
    wasi: Vec<String>,
}

impl WasiOptions {
    /// Applies the options to `builder` (for an option given twice, the
    /// later one wins).
    ///
    /// # Errors
    /// Fails on an unknown name or a value other than `y`/`n`
    /// (`yes`/`no`/`true`/`false` also work).
    pub fn apply(&self, builder: &mut WasiCtxBuilder) -> Result<()> {
        let mut chosen: Vec<(&str, Setter, bool)> = vec![];
        for option in self.wasi.iter().flat_map(|o| o.split(',')) {
            let (name, value) = option.split_once('=').unwrap_or((option, "y"));
            let enable = match value {
                "y" | "yes" | "true" => true,
                "n" | "no" | "false" => false,
                _ => bail!("`-S {name}={value}`: expected `y` or `n`"),
            };
            let Some(&(known_name, set)) = WASI_FLAGS.iter().find(|(n, _)| *n == name) else {
                let known: Vec<&str> = WASI_FLAGS.iter().map(|(n, _)| *n).collect();
                bail!(
                    "unknown `-S` option `{name}` (Tern knows: {})",
                    known.join(", ")
                );
            };
            chosen.retain(|(n, _, _)| *n != known_name);
            chosen.push((known_name, set, enable));
        }
        for (_, set, enable) in chosen {
            set(builder, enable);
        }
        Ok(())
    }
}

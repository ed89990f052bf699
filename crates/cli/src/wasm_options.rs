//! `-W name=y|n`: WebAssembly feature flags, spelled as wasmtime's CLI spells
//! them, shared by `tern run`, `tern compile` and `tern wast`.
//!
//! Each name maps to the `Config` setter of the same name (`-W tail-call=n`
//! is `Config::wasm_tail_call(false)`), so the CLI and the embedding API cannot
//! disagree about what a feature means. Two names are semantics knobs rather
//! than features, as in wasmtime's CLI: `nan-canonicalization`
//! (`Config::cranelift_nan_canonicalization`) and `relaxed-simd-deterministic`. A flag for a feature Tern does not
//! implement yet (`gc`, `function-references`, `exceptions`, `threads`) is
//! accepted here and refused by `Engine::new` with the feature's name.

use anyhow::{bail, Result};
use clap::Args;
use tern::Config;

/// A `Config` setter for one feature.
type Setter = for<'a> fn(&'a mut Config, bool) -> &'a mut Config;

/// Every `-W` feature name and its `Config` setter: the one list.
pub const WASM_FLAGS: &[(&str, Setter)] = &[
    ("bulk-memory", Config::wasm_bulk_memory),
    ("component-model", Config::wasm_component_model),
    ("component-model-async", Config::wasm_component_model_async),
    (
        "component-model-fixed-length-lists",
        Config::wasm_component_model_fixed_length_lists,
    ),
    ("exceptions", Config::wasm_exceptions),
    ("extended-const", Config::wasm_extended_const),
    ("function-references", Config::wasm_function_references),
    ("gc", Config::wasm_gc),
    ("legacy-exceptions", Config::wasm_legacy_exceptions),
    ("memory64", Config::wasm_memory64),
    ("multi-memory", Config::wasm_multi_memory),
    ("multi-value", Config::wasm_multi_value),
    (
        "nan-canonicalization",
        Config::cranelift_nan_canonicalization,
    ),
    ("mutable-global", Config::wasm_mutable_global),
    (
        "nontrapping-float-to-int",
        Config::wasm_saturating_float_to_int,
    ),
    ("reference-types", Config::wasm_reference_types),
    ("relaxed-simd", Config::wasm_relaxed_simd),
    (
        "relaxed-simd-deterministic",
        Config::relaxed_simd_deterministic,
    ),
    ("sign-extension", Config::wasm_sign_extension),
    ("simd", Config::wasm_simd),
    ("tail-call", Config::wasm_tail_call),
    ("threads", Config::wasm_threads),
    ("wide-arithmetic", Config::wasm_wide_arithmetic),
];

/// `-W`, flattened into a command's arguments.
#[derive(Args, Default)]
pub struct WasmOptions {
    /// WebAssembly feature: `-W NAME=y|n` (`-W NAME` alone means `y`), with
    /// the names of wasmtime's CLI: bulk-memory, component-model,
    /// component-model-async, component-model-fixed-length-lists,
    /// exceptions, extended-const, function-references, gc,
    /// legacy-exceptions, memory64,
    /// multi-memory, multi-value, mutable-global, nan-canonicalization,
    /// nontrapping-float-to-int, reference-types, relaxed-simd,
    /// relaxed-simd-deterministic, sign-extension, simd, tail-call,
    /// threads, wide-arithmetic. Several may be given, comma-separated.
    #[arg(short = 'W', value_name = "NAME[=y|n]")]
    wasm: Vec<String>,
}

impl WasmOptions {
    /// Applies the flags to `config`, in order (a later flag wins).
    ///
    /// # Errors
    /// Fails on an unknown name or a value other than `y`/`n`
    /// (`yes`/`no`/`true`/`false` also work).
    pub fn apply(&self, config: &mut Config) -> Result<()> {
        for option in self.wasm.iter().flat_map(|o| o.split(',')) {
            let (name, value) = option.split_once('=').unwrap_or((option, "y"));
            let enable = match value {
                "y" | "yes" | "true" => true,
                "n" | "no" | "false" => false,
                _ => bail!("`-W {name}={value}`: expected `y` or `n`"),
            };
            let Some((_, set)) = WASM_FLAGS.iter().find(|(n, _)| *n == name) else {
                let known: Vec<&str> = WASM_FLAGS.iter().map(|(n, _)| *n).collect();
                bail!(
                    "unknown `-W` option `{name}` (Tern knows: {})",
                    known.join(", ")
                );
            };
            set(config, enable);
        }
        Ok(())
    }
}

//! The WASI side of `tern run`: the store data holding the guest's
//! [`WasiCtx`], and the context `tern run` builds from its command line
//! (arguments, `--env`, `--dir`, the terminal's standard streams).

use anyhow::{bail, Context as _, Result};
use std::path::Path;
use tern::component::ResourceTable;
use tern_wasi::p2::WasiView;
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, WasiCtx, WasiCtxBuilder};

/// What a store of `tern run` holds.
pub struct Host {
    /// The guest's WASI state.
    pub wasi: WasiCtx,
    /// The WASI 0.2 resources of a component (empty for a module).
    pub table: ResourceTable,
}

impl WasiView for Host {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
    fn ctx(&mut self) -> &mut WasiCtx {
        &mut self.wasi
    }
}

/// The WASI context for running `program` with `args` as `argv[1..]`.
///
/// `argv[0]` is the program's file name without its directories, as wasmtime
/// passes it (so the guest does not learn host paths).
///
/// `dirs` are `HOST[::GUEST]` (guest name defaults to the host path, as in
/// wasmtime), each preopened with every permission; `envs` are `NAME=VALUE`
/// (or `NAME` alone to pass the host's value); `options` are the `-S` flags.
///
/// # Errors
/// Fails on a directory that cannot be opened, a malformed `--env` or an
/// unknown `-S` option.
pub fn context(
    program: &Path,
    args: &[String],
    dirs: &[String],
    envs: &[String],
    options: &crate::wasi_options::WasiOptions,
) -> Result<WasiCtx> {
    let mut b = WasiCtxBuilder::new();
    options.apply(&mut b)?;
    let name = program.file_name().unwrap_or(program.as_os_str());
    b.arg(&name.to_string_lossy())?;
    b.args(args)?;
    b.inherit_stdio();
    for env in envs {
        match env.split_once('=') {
            Some((name, value)) => b.env(name, value)?,
            None => match std::env::var(env) {
                Ok(value) => b.env(env, &value)?,
                Err(_) => bail!("--env {env}: no `=VALUE` given and the host has no such variable"),
            },
        };
    }
    for dir in dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir.as_str(), dir.as_str()));
        let opened = Dir::open_ambient_dir(host, ambient_authority())
            .with_context(|| format!("--dir {dir}: failed to open directory `{host}`"))?;
        b.preopened_dir_with_perms(opened, guest, DirPerms::all(), FilePerms::all())
            .with_context(|| format!("--dir {dir}"))?;
    }
    Ok(b.build())
}

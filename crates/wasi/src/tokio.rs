//! `tern_wasi::tokio`: WASI preview 1 for engines with
//! `Config::async_support(true)`, under the names of wasmtime 12's
//! `wasmtime_wasi::tokio` (there, a re-export of `wasi-tokio`).
//!
//! The functions are defined with `Linker::func_wrap_async` /
//! `func_new_async`, so they link into async stores and are called with
//! `call_async`. Each WASI call still runs Tern's synchronous implementation
//! to completion before its future is first polled: a call that blocks (a
//! read from an inherited standard input with nothing to read, a
//! `poll_oneoff` that sleeps) blocks the executor thread that polls the
//! guest, where wasmtime 12's `wasi-tokio` would yield to the runtime.
//! Nothing here depends on tokio; any executor runs it.
//!
//! The builder, [`Dir`] and [`ambient_authority`] are the same types as in
//! [`crate::sync`].

pub use crate::sync::{ambient_authority, dir, file, stdio, AmbientAuthority, Dir, WasiCtxBuilder};
use crate::WasiCtx;
use anyhow::Result;
use tern::Linker;

/// Defines every `wasi_snapshot_preview1` and `wasi_unstable` function in
/// `linker` as an async host function, reaching the context through `get`.
///
/// A guest's `proc_exit(code)` ends its call with an error that downcasts to
/// [`crate::I32Exit`].
///
/// # Errors
/// Fails when the engine was not configured with `Config::async_support`,
/// and when one of the names is already defined and shadowing is off.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<()> {
    crate::linker::add_to_linker_async(linker, get)
}

//! `tern_wasi::sync`: the synchronous WASI preview 1 embedding under the
//! names wasmtime 12 gives it in `wasmtime_wasi::sync` (there, a re-export of
//! the `wasi-cap-std-sync` crate): the builder, [`add_to_linker`], the
//! capability-style [`Dir`] with [`ambient_authority`], and the `file`,
//! `dir` and `stdio` modules whose types are [`WasiFile`](crate::WasiFile)s
//! and [`WasiDir`](crate::WasiDir)s.
//!
//! As in wasmtime 12, the crate root re-exports all of this, so
//! `wasmtime_wasi::WasiCtxBuilder` and `wasmtime_wasi::sync::WasiCtxBuilder`
//! are the same type.

mod cap;
pub mod dir;
pub mod file;
pub mod stdio;

pub use crate::ctx::WasiCtxBuilder;
pub use crate::linker::add_to_linker;
pub use cap::{ambient_authority, AmbientAuthority, Dir};

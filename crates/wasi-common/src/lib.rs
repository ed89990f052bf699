//! `tern-wasi-common`: the names wasmtime 12 users import from the
//! `wasi-common` crate, re-exported from `tern-wasi`. It exists only because
//! Cargo refuses one crate depending on the same package under two names,
//! and wasmtime 12 code that captures a guest's output depends on both
//! `wasmtime-wasi` and `wasi-common` (`wasi_common::pipe::WritePipe`). With
//! `wasi-common = { package = "tern-wasi-common" }` that code ports by
//! renaming. It must never hold code of its own: everything lives in
//! `tern-wasi`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use tern_wasi::pipe;
pub use tern_wasi::{I32Exit, WasiCtx, WasiDir, WasiFile};

/// wasi-common 12's `file` module: the file trait and access modes.
pub mod file {
    pub use tern_wasi::{FileAccessMode, WasiFile};
}

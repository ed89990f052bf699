//! `tern-wasi`: WASI preview 1 (`wasi_snapshot_preview1`) for core modules
//! and WASI 0.2 ([`p2`], `wasi:cli/command` components) for Tern, written
//! only against Tern's public embedding API. Both read the same
//! [`WasiCtx`], built by the same [`WasiCtxBuilder`].
//!
//! The API is wasmtime-wasi 12's: the crate root re-exports [`sync`], as
//! wasmtime 12 does, so code written against `wasmtime_wasi` 12 compiles
//! with `wasmtime-wasi = { package = "tern-wasi" }` in its manifest
//! (`wasi-common = { package = "tern-wasi" }` covers [`pipe`] too).
//!
//! ```no_run
//! use tern::{Engine, Linker, Module, Store};
//! use tern_wasi::sync::{ambient_authority, Dir, WasiCtxBuilder};
//! use tern_wasi::WasiCtx;
//!
//! struct Host { wasi: WasiCtx }
//!
//! fn main() -> anyhow::Result<()> {
//!     let engine = Engine::default();
//!     let module = Module::from_file(&engine, "program.wasm")?;
//!     let mut linker = Linker::new(&engine);
//!     tern_wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
//!     let wasi = WasiCtxBuilder::new()
//!         .arg("program")?
//!         .inherit_stdio()
//!         .preopened_dir(Dir::open_ambient_dir("data", ambient_authority())?, "/data")?
//!         .build();
//!     let mut store = Store::new(&engine, Host { wasi });
//!     let instance = linker.instantiate(&mut store, &module)?;
//!     let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//!     match start.call(&mut store, ()) {
//!         Ok(()) => Ok(()),
//!         Err(e) => match e.downcast_ref::<tern_wasi::I32Exit>() {
//!             Some(exit) => std::process::exit(exit.0),
//!             None => Err(e),
//!         },
//!     }
//! }
//! ```
//!
//! Layout: `ctx.rs` (the context and its builder), `table.rs` (descriptors),
//! `sandbox.rs` (path resolution confined to a preopened directory — read its
//! note before touching any path code), `host/` (the function bodies),
//! `memory.rs` (bounds-checked guest memory), `linker.rs` (the glue),
//! `types.rs` (the ABI's numbers and layouts), `stream.rs` (standard
//! streams), `pipe.rs` (virtual pipes), `wasi_file.rs` (the sealed `WasiFile` /
//! `WasiDir`), `sync/` and `tokio.rs` (wasmtime 12's module names),
//! `p2/` (WASI 0.2, on `bindgen!` over the WIT in `wit/`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ctx;
mod error;
mod host;
mod linker;
mod memory;
pub mod p2;
pub mod pipe;
mod sandbox;
mod stream;
pub mod sync;
mod table;
pub mod tokio;
mod types;
mod wasi_file;

pub use ctx::{DirPerms, FilePerms, WasiCtx, WasiMonotonicClock, WasiRandom, WasiWallClock};
pub use pipe::{ReadPipe, WritePipe};
/// As in wasmtime 12, the synchronous embedding is the crate's default and
/// is re-exported at the root.
pub use sync::*;
pub use types::Errno;
pub use wasi_file::{FileAccessMode, WasiDir, WasiFile};

/// The error a guest's `proc_exit(code)` ends its call with: downcast the
/// error from `Func::call` to find the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Exited with i32 exit status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// A `WasiCtx` moves between threads with its store.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<WasiCtx>();
    send::<WasiCtxBuilder>();
};

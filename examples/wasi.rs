//! A WASI preview 1 program: the module prints through `fd_write` to the
//! host's standard output. `cargo run --example wasi`
//!
//! wasmtime 12's `wasi` example, unchanged but for the module (inline WAT
//! here), with `tern-wasi` renamed to `wasmtime-wasi` in this crate's
//! manifest.

use wasmtime::*;
use wasmtime_wasi::sync::WasiCtxBuilder;

/// Runs the example.
pub fn main() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let wasi = WasiCtxBuilder::new()
        .inherit_stdio()
        .inherit_args()?
        .build();
    let mut store = Store::new(&engine, wasi);
    // A command: `_start` writes one iovec (the text at 16) to fd 1.
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "Hello, world! (from WASI)\n")
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 26))
               (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
                 (then unreachable))
               ;; All 26 bytes were written.
               (if (i32.ne (i32.load (i32.const 8)) (i32.const 26))
                 (then unreachable))))"#,
    )?;
    linker.module(&mut store, "", &module)?;
    linker
        .get_default(&mut store, "")?
        .typed::<(), ()>(&store)?
        .call(&mut store, ())?;
    Ok(())
}

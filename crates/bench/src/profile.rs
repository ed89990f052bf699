//! `tern-bench profile ROW [SECONDS]`: runs one of the suite's instantiation or
//! call-overhead rows on Tern alone, in a loop, for `perf record -g` (the full
//! suite spends most of its time compiling, which would drown the row in the
//! profile). Rows: `host-call` (wasm -> host, `Func::wrap`), `typed-call`
//! (host -> wasm, `TypedFunc`), `instance-pre` (`InstancePre::instantiate` with
//! ten host imports), `big` (instantiate the 1.2 MB module, new store), `live`
//! (2,000 live instances of it in one store). With `--features wasmtime`,
//! `wasmtime-typed-call` runs the `typed-call` loop on wasmtime 48, to compare
//! the two entry paths instruction by instruction (`valgrind --tool=callgrind`).
//! Prints the iterations done.

use crate::suite::Inputs;
use anyhow::{bail, Result};
use std::time::{Duration, Instant};
use tern::{Engine, Func, Instance, Linker, Module, Store};

/// Runs `row` for `seconds`.
///
/// # Errors
/// An unknown row, or a module that fails to compile, instantiate or run.
pub fn profile(row: &str, seconds: f64) -> Result<()> {
    let inputs = Inputs::new()?;
    let engine = Engine::default();
    // The clock starts at the first iteration, after compiling.
    let mut until = None;
    let mut iterations = 0u64;
    let mut go = || {
        let until = *until.get_or_insert_with(|| Instant::now() + Duration::from_secs_f64(seconds));
        iterations += 1;
        Instant::now() < until
    };
    match row {
        "host-call" => {
            let mut store = Store::new(&engine, ());
            let caller = Module::new(&engine, &inputs.host_caller)?;
            let host = Func::wrap(&mut store, |x: i32| x.wrapping_add(1));
            let ci = Instance::new(&mut store, &caller, &[host.into()])?;
            let lp = ci.get_typed_func::<i32, i32>(&mut store, "loop")?;
            while go() {
                lp.call(&mut store, 1_000_000)?;
            }
        }
        "typed-call" => {
            let mut store = Store::new(&engine, ());
            let kernels = Module::new(&engine, &inputs.kernels)?;
            let instance = Instance::new(&mut store, &kernels, &[])?;
            let nop = instance.get_typed_func::<(), ()>(&mut store, "nop")?;
            while go() {
                for _ in 0..100_000 {
                    nop.call(&mut store, ())?;
                }
            }
        }
        #[cfg(feature = "wasmtime")]
        "wasmtime-typed-call" => {
            let engine = wasmtime::Engine::default();
            let mut store = wasmtime::Store::new(&engine, ());
            let kernels = wasmtime::Module::new(&engine, &inputs.kernels)?;
            let instance = wasmtime::Instance::new(&mut store, &kernels, &[])?;
            let nop = instance.get_typed_func::<(), ()>(&mut store, "nop")?;
            while go() {
                for _ in 0..100_000 {
                    nop.call(&mut store, ())?;
                }
            }
        }
        "instance-pre" => {
            let mut linker = Linker::<()>::new(&engine);
            for i in 0..10 {
                linker.func_wrap("h", &format!("f{i}"), |x: i32| x.wrapping_add(1))?;
            }
            let importer = Module::new(&engine, &inputs.host_importer)?;
            let pre = linker.instantiate_pre(&importer)?;
            while go() {
                let mut store = Store::new(&engine, ());
                pre.instantiate(&mut store)?;
            }
        }
        "big" => {
            let big = Module::new(&engine, &inputs.big)?;
            while go() {
                let mut store = Store::new(&engine, ());
                Instance::new(&mut store, &big, &[])?;
            }
        }
        "live" => {
            let big = Module::new(&engine, &inputs.big)?;
            while go() {
                let mut store = Store::new(&engine, ());
                for _ in 0..crate::suite::LIVE {
                    Instance::new(&mut store, &big, &[])?;
                }
            }
        }
        other => bail!("unknown row {other:?}: host-call, typed-call, instance-pre, big, live"),
    }
    println!("{row}: {iterations} iterations in {seconds} s");
    Ok(())
}

//! Shares one `Engine` and `Module` between threads, each with its own `Store`.
//! `cargo run --example threads`

use std::sync::Arc;
use std::thread;
use wasmtime::*;

const N_THREADS: i32 = 4;

/// Runs the example.
pub fn main() -> Result<()> {
    let engine = Engine::default();
    let module = Arc::new(Module::new(&engine, include_str!("fib.wat"))?);
    let handles: Vec<_> = (0..N_THREADS)
        .map(|i| {
            let engine = engine.clone();
            let module = module.clone();
            thread::spawn(move || -> Result<i32> {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[])?;
                let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
                fib.call(&mut store, 20 + i)
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let result = handle.join().expect("thread panicked")?;
        println!("thread {i}: fib({}) = {result}", 20 + i);
    }
    Ok(())
}

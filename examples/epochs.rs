//! Interrupts a long computation with epochs: another thread advances the
//! engine's epoch, and the store's deadline turns that into a trap.
//! `cargo run --example epochs`

use std::time::Duration;
use wasmtime::*;

/// Runs the example.
pub fn main() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, include_str!("fib.wat"))?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;

    store.set_epoch_deadline(1);
    let engine_clone = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        engine_clone.increment_epoch();
    });
    match fib.call(&mut store, 100) {
        Ok(_) => panic!("fib(100) should not finish"),
        Err(e) => {
            assert_eq!(e.downcast::<Trap>()?, Trap::Interrupt);
            println!("Trapped out of fib(100) after the epoch changed");
        }
    }
    Ok(())
}

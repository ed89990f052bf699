//! Stops an infinite loop from another thread (with epoch interruption, the
//! mechanism wasmtime 12 offers for this).
//! `cargo run --example interrupt`

use std::time::Duration;
use wasmtime::*;

/// Runs the example.
pub fn main() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    let module = Module::new(&engine, r#"(module (func (export "run") (loop br 0)))"#)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;

    let engine_clone = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        println!("Interrupting!");
        engine_clone.increment_epoch();
    });
    println!("Entering infinite loop ...");
    let trap = run.call(&mut store, ()).unwrap_err();
    println!("trap received...");
    assert_eq!(trap.downcast::<Trap>()?, Trap::Interrupt);
    Ok(())
}

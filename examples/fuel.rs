//! Bounds a computation with fuel: each call runs until the fuel runs out.
//! `cargo run --example fuel`

use wasmtime::*;

/// Runs the example.
pub fn main() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    store.add_fuel(10_000)?;
    let module = Module::new(&engine, include_str!("fib.wat"))?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    for n in 1.. {
        let fuel_before = store.fuel_consumed().unwrap();
        let output = match fib.call(&mut store, n) {
            Ok(v) => v,
            Err(e) => {
                assert_eq!(e.downcast::<Trap>()?, Trap::OutOfFuel);
                println!("Exhausted fuel computing fib({n})");
                break;
            }
        };
        let fuel_consumed = store.fuel_consumed().unwrap() - fuel_before;
        println!("fib({n}) = {output} [consumed {fuel_consumed} fuel]");
        store.add_fuel(fuel_consumed)?;
    }
    Ok(())
}

//! Reads, writes and grows an exported linear memory, from the host and from wasm.
//! `cargo run --example memory`

use wasmtime::*;

/// Runs the example.
pub fn main() -> Result<()> {
    let mut store = Store::<()>::default();
    let module = Module::new(
        store.engine(),
        r#"(module
             (memory (export "memory") 2 3)
             (func (export "size") (result i32) (memory.size))
             (func (export "load") (param i32) (result i32) (i32.load8_s (local.get 0)))
             (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
             (data (i32.const 0x1000) "\01\02\03\04"))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or(anyhow::format_err!("failed to find `memory` export"))?;
    let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    let store_fn = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;

    println!("Checking memory...");
    assert_eq!(memory.size(&store), 2);
    assert_eq!(memory.data_size(&store), 0x20000);
    assert_eq!(memory.data_mut(&mut store)[0], 0);
    assert_eq!(memory.data_mut(&mut store)[0x1000], 1);
    assert_eq!(size.call(&mut store, ())?, 2);
    assert_eq!(load.call(&mut store, 0x1002)?, 3);
    assert!(
        load.call(&mut store, 0x20000).is_err(),
        "out of bounds traps"
    );

    println!("Mutating memory...");
    memory.data_mut(&mut store)[0x1003] = 5;
    store_fn.call(&mut store, (0x1002, 6))?;
    assert!(store_fn.call(&mut store, (0x20000, 0)).is_err());
    assert_eq!(memory.data(&store)[0x1002], 6);
    assert_eq!(load.call(&mut store, 0x1003)?, 5);

    println!("Growing memory...");
    memory.grow(&mut store, 1)?;
    assert_eq!(memory.size(&store), 3);
    assert!(memory.grow(&mut store, 1).is_err(), "past the maximum");
    assert_eq!(memory.grow(&mut store, 0)?, 3);

    println!("Creating stand-alone memory...");
    let memory = Memory::new(&mut store, MemoryType::new(5, Some(5)))?;
    assert_eq!(memory.size(&store), 5);
    assert!(memory.grow(&mut store, 1).is_err());
    Ok(())
}

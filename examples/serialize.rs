//! Compiles a module once, serializes it, and instantiates it from the bytes
//! without compiling again.
//! `cargo run --example serialize`

use wasmtime::*;

fn serialize() -> Result<Vec<u8>> {
    println!("Compiling module...");
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "" "" (func $hello)) (func (export "run") call $hello))"#,
    )?;
    let serialized = module.serialize()?;
    println!("Serialized {} bytes.", serialized.len());
    Ok(serialized)
}

fn deserialize(buffer: &[u8]) -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u32);
    println!("Deserializing module...");
    // SAFETY: the bytes are exactly what `serialize` above produced.
    let module = unsafe { Module::deserialize(&engine, buffer)? };
    let hello = Func::wrap(&mut store, |mut caller: Caller<'_, u32>| {
        println!("> Hello World!");
        *caller.data_mut() += 1;
    });
    let instance = Instance::new(&mut store, &module, &[hello.into()])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    run.call(&mut store, ())?;
    assert_eq!(*store.data(), 1);
    Ok(())
}

/// Runs the example.
pub fn main() -> Result<()> {
    let file = serialize()?;
    deserialize(&file)
}

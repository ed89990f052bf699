//! Instantiates a module that imports a host function and calls its export.
//! `cargo run --example hello`

use wasmtime::*;

struct MyState {
    name: String,
    count: usize,
}

/// Runs the example.
pub fn main() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "hello" (func $host_hello (param i32)))
             (func (export "hello") i32.const 3 call $host_hello))"#,
    )?;
    let mut store = Store::new(
        &engine,
        MyState {
            name: "hello, world!".to_string(),
            count: 0,
        },
    );
    let host_hello = Func::wrap(&mut store, |mut caller: Caller<'_, MyState>, param: i32| {
        println!("Got {param} from WebAssembly");
        println!("my name is: {}", caller.data().name);
        caller.data_mut().count += 1;
    });
    let instance = Instance::new(&mut store, &module, &[host_hello.into()])?;
    let hello = instance.get_typed_func::<(), ()>(&mut store, "hello")?;
    hello.call(&mut store, ())?;
    assert_eq!(store.data().count, 1);
    Ok(())
}

//! Links two modules together by name with a `Linker`.
//! `cargo run --example linking`

use wasmtime::*;

/// Runs the example.
pub fn main() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "double", |x: i32| x * 2)?;
    let mut store = Store::new(&engine, ());

    // A reactor: instantiated once, its exports defined under "math".
    let math = Module::new(
        &engine,
        r#"(module
             (import "host" "double" (func $double (param i32) (result i32)))
             (func (export "quadruple") (param i32) (result i32)
               (call $double (call $double (local.get 0)))))"#,
    )?;
    linker.module(&mut store, "math", &math)?;

    let main = Module::new(
        &engine,
        r#"(module
             (import "math" "quadruple" (func $q (param i32) (result i32)))
             (func (export "run") (result i32) (call $q (i32.const 10))))"#,
    )?;
    let instance = linker.instantiate(&mut store, &main)?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    let result = run.call(&mut store, ())?;
    println!("run() = {result}");
    assert_eq!(result, 40);
    Ok(())
}

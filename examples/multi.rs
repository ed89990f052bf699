//! Functions with several results (the multi-value proposal), both ways.
//! `cargo run --example multi`

use wasmtime::*;

/// Runs the example.
pub fn main() -> Result<()> {
    let mut store = Store::<()>::default();
    let module = Module::new(
        store.engine(),
        r#"(module
             (func $f (import "" "f") (param i32 i64) (result i64 i32))
             (func $g (export "g") (param i32 i64) (result i64 i32)
               (call $f (local.get 0) (local.get 1)))
             (func $round_trip_many (export "round_trip_many")
               (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               local.get 0 local.get 1 local.get 2 local.get 3 local.get 4
               local.get 5 local.get 6 local.get 7 local.get 8 local.get 9))"#,
    )?;
    let callback_func = Func::wrap(&mut store, |a: i32, b: i64| -> (i64, i32) {
        (b + 1, a + 1)
    });
    let instance = Instance::new(&mut store, &module, &[callback_func.into()])?;

    println!("Calling export \"g\"...");
    let g = instance.get_typed_func::<(i32, i64), (i64, i32)>(&mut store, "g")?;
    let (a, b) = g.call(&mut store, (1, 3))?;
    println!("> {a} {b}");
    assert_eq!((a, b), (4, 2));

    println!("Calling export \"round_trip_many\"...");
    let round_trip_many = instance.get_func(&mut store, "round_trip_many").unwrap();
    let params: Vec<Val> = (0..10).map(Val::I64).collect();
    let mut results = vec![Val::I64(0); 10];
    round_trip_many.call(&mut store, &params, &mut results)?;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.unwrap_i64(), i as i64);
    }
    println!(
        "> {:?}",
        results.iter().map(Val::unwrap_i64).collect::<Vec<_>>()
    );
    Ok(())
}

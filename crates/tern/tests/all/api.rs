//! The embedding API behaves as wasmtime's: linking, host functions both ways,
//! memories, globals, tables and the values crossing the boundary.

use tern::*;

#[test]
fn wasm_calls_host_and_host_calls_wasm_with_every_value_type() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
            (func (export "go") (param i32 i64 f32 f64) (result f64)
              (call $mix (local.get 0) (local.get 1) (local.get 2) (local.get 3))))"#,
    )?;
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "h",
        "mix",
        |mut c: Caller<'_, u32>, a: i32, b: i64, x: f32, y: f64| {
            *c.data_mut() += 1;
            f64::from(a) + b as f64 + f64::from(x) + y
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let go = instance.get_typed_func::<(i32, i64, f32, f64), f64>(&mut store, "go")?;
    assert_eq!(go.call(&mut store, (1, -2, 0.5, 0.25))?, -0.25);
    assert_eq!(*store.data(), 1);
    let mut out = [Val::F64(0)];
    instance.get_func(&mut store, "go").unwrap().call(
        &mut store,
        &[
            Val::I32(10),
            Val::I64(20),
            Val::from(1.5f32),
            Val::from(2.5f64),
        ],
        &mut out,
    )?;
    assert_eq!(out[0].unwrap_f64(), 34.0);
    Ok(())
}

#[test]
fn dynamic_host_functions_and_multi_value() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "swap" (func $swap (param i32 i64) (result i64 i32)))
            (func (export "go") (param i32 i64) (result i64 i32) (call $swap (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let ty = FuncType::new([ValType::I32, ValType::I64], [ValType::I64, ValType::I32]);
    linker.func_new("h", "swap", ty, |_, params, results| {
        results[0] = Val::I64(params[1].unwrap_i64() * 2);
        results[1] = Val::I32(params[0].unwrap_i32() + 1);
        Ok(())
    })?;
    let instance = linker.instantiate(&mut store, &module)?;
    let go = instance.get_typed_func::<(i32, i64), (i64, i32)>(&mut store, "go")?;
    assert_eq!(go.call(&mut store, (4, 21))?, (42, 5));
    Ok(())
}

#[test]
fn memory_globals_and_tables_from_both_sides() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (memory (export "mem") 1 3)
            (data (i32.const 8) "hello")
            (global $g (export "g") (mut i32) (i32.const 5))
            (table (export "t") 2 funcref)
            (func $seven (result i32) (i32.const 7))
            (elem (i32.const 1) $seven)
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    assert_eq!(&mem.data(&store)[8..13], b"hello");
    mem.write(&mut store, 100, &[9])?;
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    assert_eq!(load.call(&mut store, 100)?, 9);
    assert!(mem.write(&mut store, 65535, &[1, 2]).is_err());
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    assert_eq!(grow.call(&mut store, 1)?, 1);
    assert_eq!(mem.size(&store), 2);
    assert_eq!(grow.call(&mut store, 5)?, -1);
    assert_eq!(mem.grow(&mut store, 1)?, 2);
    assert!(mem.grow(&mut store, 1).is_err());
    assert_eq!(mem.data_size(&store), 3 * 65536);

    let g = instance.get_global(&mut store, "g").unwrap();
    instance
        .get_typed_func::<(), ()>(&mut store, "bump")?
        .call(&mut store, ())?;
    assert_eq!(g.get(&mut store).unwrap_i32(), 6);
    g.set(&mut store, Val::I32(40))?;
    instance
        .get_typed_func::<(), ()>(&mut store, "bump")?
        .call(&mut store, ())?;
    assert_eq!(g.get(&mut store).unwrap_i32(), 41);
    assert!(g.set(&mut store, Val::I64(1)).is_err());

    let t = instance.get_table(&mut store, "t").unwrap();
    assert_eq!(t.size(&store), 2);
    assert!(t.get(&mut store, 0).unwrap().funcref().unwrap().is_none());
    let seven = t
        .get(&mut store, 1)
        .unwrap()
        .funcref()
        .unwrap()
        .copied()
        .unwrap();
    assert_eq!(seven.typed::<(), i32>(&store)?.call(&mut store, ())?, 7);
    assert!(t.get(&mut store, 2).is_none());
    Ok(())
}

#[test]
fn host_functions_in_tables_are_callable_from_wasm() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "t" (table 1 funcref))
            (type $t (func (param i32) (result i32)))
            (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0) (i32.const 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let triple = Func::wrap(&mut store, |x: i32| x * 3);
    let table = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 1, None),
        Val::FuncRef(Some(triple)),
    )?;
    let instance = Instance::new(&mut store, &module, &[table.into()])?;
    let call = instance.get_typed_func::<i32, i32>(&mut store, "call")?;
    assert_eq!(call.call(&mut store, 5)?, 15);
    let back = table
        .get(&mut store, 0)
        .unwrap()
        .funcref()
        .unwrap()
        .copied()
        .unwrap();
    assert_eq!(back, triple);
    Ok(())
}

#[test]
fn linker_modules_instances_and_shadowing() -> Result<()> {
    let engine = Engine::default();
    let lib = Module::new(
        &engine,
        r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#,
    )?;
    let app = Module::new(
        &engine,
        r#"(module (import "lib" "add" (func $add (param i32 i32) (result i32)))
            (func (export "go") (result i32) (call $add (i32.const 2) (i32.const 3))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.module(&mut store, "lib", &lib)?;
    let instance = linker.instantiate(&mut store, &app)?;
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&mut store, "go")?
            .call(&mut store, ())?,
        5
    );
    assert!(linker
        .func_wrap("lib", "add", |a: i32, b: i32| a * b)
        .is_err());
    linker.allow_shadowing(true);
    linker.func_wrap("lib", "add", |a: i32, b: i32| a * b)?;
    let instance = linker.instantiate(&mut store, &app)?;
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&mut store, "go")?
            .call(&mut store, ())?,
        6
    );
    assert!(linker.get(&mut store, "lib", "add").is_some());
    assert_eq!(app.imports().len(), 1);
    assert_eq!(app.exports().next().unwrap().name(), "go");
    Ok(())
}

#[test]
fn start_function_runs_at_instantiation() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "hit" (func $hit)) (func $s (call $hit)) (start $s))"#,
    )?;
    let mut store = Store::new(&engine, 0);
    let mut linker = Linker::new(&engine);
    linker.func_wrap("h", "hit", |mut c: Caller<'_, i32>| *c.data_mut() += 1)?;
    linker.instantiate(&mut store, &module)?;
    linker.instantiate(&mut store, &module)?;
    assert_eq!(store.into_data(), 2);
    Ok(())
}

//! "Precompiled" means no compiler at run time: loading a module or component
//! artifact and calling into it, in every direction (exports, imports defined
//! with `Func::wrap` and `Func::new`, `call_indirect` through tables, funcrefs
//! handed to the host and called), never runs Cranelift. The engine's count of
//! compiled functions must not move after the artifact is made.

use tern::component::{Component, Linker as ComponentLinker};
use tern::*;

const MODULE: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (import "host" "wrapped" (func $wrapped (param i32) (result i32)))
  (import "host" "dynamic" (func $dynamic (param i64 f64) (result f64)))
  (import "host" "take" (func $take (param funcref) (result i32)))
  (table $t (export "table") 4 funcref)
  (elem (table $t) (i32.const 0) func $double $wrapped $triple)
  (global (export "g") funcref (ref.func $triple))
  (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "add1") (param i32) (result i32)
    (call $wrapped (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 0) (local.get 1)))
  (func (export "dyn") (param i64 f64) (result f64)
    (call $dynamic (local.get 0) (local.get 1)))
  (func (export "pass") (result i32)
    (call $take (ref.func $triple)))
  (func (export "ret") (result funcref) (ref.func $double)))"#;

/// Calls everything `MODULE` offers from a fresh store; returns nothing, panics
/// on a wrong answer.
fn exercise(engine: &Engine, module: &Module) {
    let mut store = Store::new(engine, 0u32);
    let wrapped = Func::wrap(&mut store, |mut caller: Caller<'_, u32>, x: i32| {
        *caller.data_mut() += 1;
        x + 1
    });
    let dynamic = Func::new(
        &mut store,
        FuncType::new([ValType::I64, ValType::F64], [ValType::F64]),
        |_, params, results| {
            results[0] =
                Val::F64((params[0].unwrap_i64() as f64 + params[1].unwrap_f64()).to_bits());
            Ok(())
        },
    );
    let take = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, u32>, f: Option<Func>| -> Result<i32> {
            // A funcref wasm handed to the host, called from the host.
            let f = f.expect("non-null funcref").typed::<i32, i32>(&caller)?;
            f.call(&mut caller, 7)
        },
    );
    let instance = Instance::new(
        &mut store,
        module,
        &[wrapped.into(), dynamic.into(), take.into()],
    )
    .unwrap();
    let add1 = instance
        .get_typed_func::<i32, i32>(&mut store, "add1")
        .unwrap();
    assert_eq!(add1.call(&mut store, 41).unwrap(), 42);
    assert_eq!(*store.data(), 1);
    let indirect = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "indirect")
        .unwrap();
    assert_eq!(indirect.call(&mut store, (5, 0)).unwrap(), 10);
    assert_eq!(indirect.call(&mut store, (5, 1)).unwrap(), 6);
    assert_eq!(indirect.call(&mut store, (5, 2)).unwrap(), 15);
    // A host function put into the table after instantiation, called by wasm.
    let late = Func::wrap(&mut store, |x: i32| x - 100);
    let table = instance.get_table(&mut store, "table").unwrap();
    table.set(&mut store, 3, Val::FuncRef(Some(late))).unwrap();
    assert_eq!(indirect.call(&mut store, (5, 3)).unwrap(), -95);
    let dyn_ = instance.get_func(&mut store, "dyn").unwrap();
    let mut out = [Val::F64(0)];
    dyn_.call(
        &mut store,
        &[Val::I64(2), Val::F64(0.5f64.to_bits())],
        &mut out,
    )
    .unwrap();
    assert_eq!(out[0].unwrap_f64(), 2.5);
    let pass = instance
        .get_typed_func::<(), i32>(&mut store, "pass")
        .unwrap();
    assert_eq!(pass.call(&mut store, ()).unwrap(), 21);
    // Funcrefs read by the host from a global, a table and a result, called.
    let Some(Val::FuncRef(Some(triple))) = instance
        .get_global(&mut store, "g")
        .map(|g| g.get(&mut store))
    else {
        panic!("the global holds a funcref");
    };
    let triple = triple.typed::<i32, i32>(&store).unwrap();
    assert_eq!(triple.call(&mut store, 4).unwrap(), 12);
    let Some(Val::FuncRef(Some(double))) = table.get(&mut store, 0) else {
        panic!("the table holds a funcref");
    };
    let mut out = [Val::I32(0)];
    double.call(&mut store, &[Val::I32(8)], &mut out).unwrap();
    assert_eq!(out[0].unwrap_i32(), 16);
    let ret = instance
        .get_typed_func::<(), Option<Func>>(&mut store, "ret")
        .unwrap();
    let double = ret.call(&mut store, ()).unwrap().unwrap();
    assert_eq!(
        double
            .typed::<i32, i32>(&store)
            .unwrap()
            .call(&mut store, 9)
            .unwrap(),
        18
    );
    // Host functions called from the host, including a signature no module has.
    let odd = Func::wrap(&mut store, |a: f32, b: i64, c: i32| {
        a as f64 + b as f64 + c as f64
    });
    let odd = odd.typed::<(f32, i64, i32), f64>(&store).unwrap();
    assert_eq!(odd.call(&mut store, (0.5, 2, 3)).unwrap(), 5.5);
    let mut out = [Val::F64(0)];
    dynamic
        .call(
            &mut store,
            &[Val::I64(1), Val::F64(1.0f64.to_bits())],
            &mut out,
        )
        .unwrap();
    assert_eq!(out[0].unwrap_f64(), 2.0);
}

#[test]
fn a_deserialized_module_runs_without_compiling() {
    let engine = Engine::default();
    let before_compile = engine.compiled_function_count();
    let bytes = engine.precompile_module(MODULE.as_bytes()).unwrap();
    let compiled = engine.compiled_function_count();
    assert!(compiled > before_compile, "the counter counts compilations");
    // SAFETY: the bytes were just made by this Tern.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    exercise(&engine, &module);
    exercise(&engine, &module);
    let path = std::env::temp_dir().join(format!("tern-precompiled-{}.cwasm", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: as above; nobody else writes this file.
    let mapped = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    exercise(&engine, &mapped);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        engine.compiled_function_count(),
        compiled,
        "loading and calling a precompiled module ran Cranelift"
    );
    // A freshly compiled module needs nothing more either.
    let module = Module::new(&engine, MODULE).unwrap();
    let compiled = engine.compiled_function_count();
    exercise(&engine, &module);
    assert_eq!(engine.compiled_function_count(), compiled);
}

const COMPONENT: &str = r#"(component
  (import "add" (func $add (param "a" u32) (param "b" u32) (result u32)))
  (core func $add' (canon lower (func $add)))
  (core module $M
    (import "" "add" (func $add (param i32 i32) (result i32)))
    (func (export "run") (param i32) (result i32)
      (call $add (local.get 0) (i32.const 10))))
  (core instance $m (instantiate $M (with "" (instance (export "add" (func $add'))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m "run"))))"#;

#[test]
fn a_deserialized_component_runs_without_compiling() {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let bytes = engine.precompile_component(COMPONENT.as_bytes()).unwrap();
    let compiled = engine.compiled_function_count();
    assert!(compiled > 0, "the counter counts compilations");
    // SAFETY: the bytes were just made by this Tern.
    let component = unsafe { Component::deserialize(&engine, &bytes) }.unwrap();
    let mut linker = ComponentLinker::<()>::new(&engine);
    linker
        .root()
        .func_wrap("add", |_, (a, b): (u32, u32)| Ok((a + b,)))
        .unwrap();
    for _ in 0..2 {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let run = instance
            .get_typed_func::<(u32,), (u32,)>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, (5,)).unwrap().0, 15);
        run.post_return(&mut store).unwrap();
        let run = instance.get_func(&mut store, "run").unwrap();
        let mut out = [tern::component::Val::U32(0)];
        run.call(&mut store, &[tern::component::Val::U32(1)], &mut out)
            .unwrap();
        assert_eq!(out[0], tern::component::Val::U32(11));
    }
    assert_eq!(
        engine.compiled_function_count(),
        compiled,
        "loading and calling a precompiled component ran Cranelift"
    );
}

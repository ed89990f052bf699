//! Regression tests for the behaviour bugs of issue 13: fuel accounting as
//! wasmtime 12 does it, externref tables made through the API, `Caller` in a
//! host start function, tables of non-reference type.

use std::sync::{Arc, Mutex};
use tern::*;

/// Fuel consumed by instantiating `wat` (its start function runs).
fn fuel_of(wat: &str) -> Result<u64> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, wat)?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000)?;
    Instance::new(&mut store, &module, &[])?;
    Ok(store.fuel_consumed().expect("fuel is on"))
}

/// wasmtime 12's `tests/all/fuel.wast` expectations (the control-flow, call and
/// loop cases; the bulk-memory costs there are later wasmtime's).
#[test]
fn fuel_matches_wasmtime12_expectations() -> Result<()> {
    let cases: &[(u64, &str)] = &[
        (0, "(module)"),
        (1, "(module (func $f) (start $f))"),
        (2, "(module (func $f i32.const 0 drop) (start $f))"),
        (1, "(module (func $f block end) (start $f))"),
        (1, "(module (func $f loop end) (start $f))"),
        (7, "(module (func $f i32.const 0 i32.const 0 i32.const 0 i32.const 0 i32.const 0 i32.const 0 drop drop drop drop drop drop) (start $f))"),
        (1, "(module (func $f return i32.const 0 i32.const 0 unreachable) (start $f))"),
        (2, "(module (func $f i32.const 0 return) (start $f))"),
        (3, "(module (func $f i32.const 0 if call $f end) (start $f))"),
        (4, "(module (func $f i32.const 1 if i32.const 0 drop end) (start $f))"),
        (4, "(module (func $f i32.const 1 if i32.const 0 drop else call $f end) (start $f))"),
        (4, "(module (func $f i32.const 0 if call $f else i32.const 0 drop end) (start $f))"),
        (3, "(module (func $f block i32.const 1 br_if 0 i32.const 0 drop end) (start $f))"),
        (4, "(module (func $f block i32.const 0 br_if 0 i32.const 0 drop end) (start $f))"),
        (3, "(module (func $f call $other) (func $other) (start $f))"),
        (5, "(module (func $f i32.const 0 call $other i32.const 0 drop) (func $other (param i32)) (start $f))"),
        (4, "(module (func $f call $other drop) (func $other (result i32) i32.const 0) (start $f))"),
        (4, "(module (func $f i32.const 0 call_indirect) (func $other) (table funcref (elem $other)) (start $f))"),
        (53, "(module (func $f (local i32) i32.const 10 local.set 0
               loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end) (start $f))"),
    ];
    for (expected, wat) in cases {
        assert_eq!(fuel_of(wat)?, *expected, "{wat}");
    }
    Ok(())
}

#[test]
fn a_trap_mid_run_keeps_the_fuel_charged_for_the_run() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    // One run: 3 costed operators + the function's unit, charged before it runs.
    let module = Module::new(
        &engine,
        r#"(module (func (export "f")
             i32.const 1 i32.const 0 i32.div_u drop))"#,
    )?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(100)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_typed_func::<(), ()>(&mut store, "f")?;
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::IntegerDivisionByZero)
    );
    assert_eq!(store.fuel_consumed(), Some(4));
    // With too little fuel for the run, nothing of it executes.
    store.set_fuel(3)?;
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
    Ok(())
}

#[test]
fn table_get_on_an_api_externref_table_returns_externrefs() -> Result<()> {
    let mut store = Store::<()>::default();
    let ty = TableType::new(ValType::ExternRef, 2, None);
    let r = ExternRef::new(5u8);
    let table = Table::new(&mut store, ty, Val::ExternRef(Some(r.clone())))?;
    let got = table.get(&mut store, 1).expect("in bounds");
    assert!(got.unwrap_externref().expect("not null").ptr_eq(&r));
    table.set(&mut store, 0, Val::ExternRef(None))?;
    assert!(table
        .get(&mut store, 0)
        .unwrap()
        .unwrap_externref()
        .is_none());
    assert!(table.get(&mut store, 2).is_none());
    Ok(())
}

#[test]
fn tables_of_non_reference_types_are_refused_without_panicking() {
    let mut store = Store::<()>::default();
    for ty in [
        ValType::I32,
        ValType::I64,
        ValType::F32,
        ValType::F64,
        ValType::V128,
    ] {
        let table_ty = TableType::new(ty, 1, None);
        let init = Val::default_for_ty(ty).unwrap();
        let err = Table::new(&mut store, table_ty, init).unwrap_err();
        assert!(err.to_string().contains("references"), "{err}");
    }
}

#[test]
fn caller_get_export_works_in_a_host_start_function() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "start" (func $s))
             (memory (export "mem") 1)
             (start $s))"#,
    )?;
    let seen: Arc<Mutex<Option<bool>>> = Arc::default();
    let sink = seen.clone();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("h", "start", move |mut caller: Caller<'_, ()>| {
        let mem = caller.get_export("mem");
        *sink.lock().unwrap() = Some(matches!(mem, Some(Extern::Memory(_))));
    })?;
    let mut store = Store::new(&engine, ());
    linker.instantiate(&mut store, &module)?;
    assert_eq!(*seen.lock().unwrap(), Some(true));
    Ok(())
}

#[test]
fn backtraces_include_wasm_frames_below_a_host_call() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let inner = Module::new(
        &engine,
        r#"(module $inner (func $boom unreachable) (func (export "boom") call $boom))"#,
    )?;
    let inner = Instance::new(&mut store, &inner, &[])?;
    let boom = inner.get_typed_func::<(), ()>(&mut store, "boom")?;
    let captured: Arc<Mutex<usize>> = Arc::default();
    let sink = captured.clone();
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "h",
        "reenter",
        move |mut caller: Caller<'_, ()>| -> Result<()> {
            *sink.lock().unwrap() = WasmBacktrace::capture(&caller).frames().len();
            boom.call(&mut caller, ())
        },
    )?;
    let outer = Module::new(
        &engine,
        r#"(module $outer (import "h" "reenter" (func $r))
             (func $mid call $r) (func (export "run") call $mid))"#,
    )?;
    let outer = linker.instantiate(&mut store, &outer)?;
    let run = outer.get_typed_func::<(), ()>(&mut store, "run")?;
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    let trace = err.downcast_ref::<WasmBacktrace>().expect("a backtrace");
    let names: Vec<_> = trace
        .frames()
        .iter()
        .map(|f| (f.module_name().unwrap_or("?").to_string(), f.func_index()))
        .collect();
    let expected = [("inner", 0), ("inner", 1), ("outer", 1), ("outer", 2)];
    assert_eq!(
        names,
        expected.map(|(m, i)| (m.to_string(), i)).to_vec(),
        "{trace}"
    );
    assert_eq!(*captured.lock().unwrap(), 2, "run and $mid");
    Ok(())
}

/// A component whose exports return NaNs with payloads, flat and through memory.
const NAN_COMPONENT: &str = r#"(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "f32") (result f32) (f32.reinterpret_i32 (i32.const 0xffc00001)))
    (func (export "f64") (result f64) (f64.reinterpret_i64 (i64.const 0x7ff0000000000001)))
    (func (export "pair") (result i32)
      (i32.store (i32.const 8) (i32.const 0x7fa00000))
      (i64.store (i32.const 16) (i64.const 0xfff8000000000bad))
      (i32.const 8)))
  (core instance $i (instantiate $m))
  (func (export "f32") (result f32) (canon lift (core func $i "f32")))
  (func (export "f64") (result f64) (canon lift (core func $i "f64")))
  (func (export "pair") (result (tuple f32 f64))
    (canon lift (core func $i "pair") (memory (core memory $i "mem")))))"#;

#[test]
fn lifted_component_nans_are_canonical() -> Result<()> {
    use tern::component::{Component, Linker as ComponentLinker, Val as CVal};
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, NAN_COMPONENT)?;
    let mut store = Store::new(&engine, ());
    let instance = ComponentLinker::new(&engine).instantiate(&mut store, &component)?;
    const F32_NAN: u32 = 0x7fc0_0000;
    const F64_NAN: u64 = 0x7ff8_0000_0000_0000;
    // Typed.
    let f = instance.get_typed_func::<(), (f32,)>(&mut store, "f32")?;
    assert_eq!(f.call(&mut store, ())?.0.to_bits(), F32_NAN);
    f.post_return(&mut store)?;
    let f = instance.get_typed_func::<(), (f64,)>(&mut store, "f64")?;
    assert_eq!(f.call(&mut store, ())?.0.to_bits(), F64_NAN);
    f.post_return(&mut store)?;
    let f = instance.get_typed_func::<(), ((f32, f64),)>(&mut store, "pair")?;
    let ((a, b),) = f.call(&mut store, ())?;
    assert_eq!((a.to_bits(), b.to_bits()), (F32_NAN, F64_NAN));
    f.post_return(&mut store)?;
    // Dynamic.
    for (name, check) in [
        (
            "f32",
            &(|v: &CVal| matches!(v, CVal::Float32(x) if x.to_bits() == F32_NAN))
                as &dyn Fn(&CVal) -> bool,
        ),
        (
            "f64",
            &|v: &CVal| matches!(v, CVal::Float64(x) if x.to_bits() == F64_NAN),
        ),
        ("pair", &|v: &CVal| {
            matches!(v, CVal::Tuple(items)
            if matches!(&items[..], [CVal::Float32(a), CVal::Float64(b)]
                if a.to_bits() == F32_NAN && b.to_bits() == F64_NAN))
        }),
    ] {
        let func = instance.get_func(&mut store, name).expect("export");
        let mut out = [CVal::Bool(false)];
        func.call(&mut store, &[], &mut out)?;
        func.post_return(&mut store)?;
        assert!(check(&out[0]), "{name}: {:?}", out[0]);
    }
    Ok(())
}

#[test]
fn realloc_may_not_call_imports() -> Result<()> {
    use tern::component::{
        Component, ComponentTrap, ComponentTrapKind, Linker as ComponentLinker, Val as CVal,
    };
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(
        &engine,
        r#"(component
          (import "h" (func $h))
          (core module $libc (memory (export "mem") 1))
          (core instance $libc (instantiate $libc))
          (core func $h (canon lower (func $h)))
          (core module $m
            (import "host" "h" (func $h))
            (func (export "realloc") (param i32 i32 i32 i32) (result i32)
              call $h
              i32.const 64)
            (func (export "take") (param i32 i32))
            (func (export "call-h") call $h))
          (core instance $i (instantiate $m (with "host" (instance (export "h" (func $h))))))
          (func (export "take") (param "s" string)
            (canon lift (core func $i "take") (memory (core memory $libc "mem"))
              (realloc (core func $i "realloc"))))
          (func (export "call-h") (canon lift (core func $i "call-h"))))"#,
    )?;
    let mut linker = ComponentLinker::new(&engine);
    linker.root().func_new("h", |_, _, _| Ok(()))?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component)?;
    // Outside realloc the import is callable.
    let call_h = instance.get_func(&mut store, "call-h").expect("export");
    call_h.call(&mut store, &[], &mut [])?;
    call_h.post_return(&mut store)?;
    // Lowering the string calls realloc, which calls the import: a trap.
    let take = instance.get_func(&mut store, "take").expect("export");
    let err = take
        .call(&mut store, &[CVal::String("hello".into())], &mut [])
        .unwrap_err();
    let trap = err
        .downcast_ref::<ComponentTrap>()
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(trap.kind(), ComponentTrapKind::CannotLeave);
    Ok(())
}

/// The canonical ABI clears `may_leave` around post-return as well as around
/// lowering (`canon_lift`: `inst.may_leave = False` before calling
/// `opts.post_return`), so an import called from post-return traps too.
#[test]
fn post_return_may_not_call_imports() -> Result<()> {
    use tern::component::{Component, ComponentTrap, ComponentTrapKind, Linker as ComponentLinker};
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(
        &engine,
        r#"(component
          (import "h" (func $h))
          (core func $h (canon lower (func $h)))
          (core module $m
            (import "host" "h" (func $h))
            (func (export "f") (result i32) i32.const 1)
            (func (export "f-post") (param i32) call $h))
          (core instance $i (instantiate $m (with "host" (instance (export "h" (func $h))))))
          (func (export "f") (result u32)
            (canon lift (core func $i "f") (post-return (core func $i "f-post")))))"#,
    )?;
    let mut linker = ComponentLinker::new(&engine);
    linker.root().func_new("h", |_, _, _| Ok(()))?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component)?;
    let f = instance.get_typed_func::<(), (u32,)>(&mut store, "f")?;
    // Tern runs post-return at the end of `call` when the results do not
    // borrow the callee's memory, else in `post_return`: either reports it.
    let err = f
        .call(&mut store, ())
        .and_then(|results| f.post_return(&mut store).map(|()| results))
        .unwrap_err();
    let trap = err
        .downcast_ref::<ComponentTrap>()
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(trap.kind(), ComponentTrapKind::CannotLeave);
    Ok(())
}

#[test]
fn a_core_module_exported_from_a_component_refuses_to_serialize() -> Result<()> {
    use tern::component::{Component, Linker as ComponentLinker};
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(
        &engine,
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 3))
             (export "m" (core module $m)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = ComponentLinker::new(&engine).instantiate(&mut store, &component)?;
    let module = instance
        .get_module(&mut store, "m")
        .expect("exported module");
    let err = module.serialize().unwrap_err();
    assert!(err.to_string().contains("component"), "{err}");
    // The module still works, and the component serializes as a whole.
    let core = Instance::new(&mut store, &module, &[])?;
    let f = core.get_typed_func::<(), i32>(&mut store, "f")?;
    assert_eq!(f.call(&mut store, ())?, 3);
    assert!(!component.serialize()?.is_empty());
    // A module of its own still serializes.
    let plain = Module::new(&engine, "(module)")?;
    assert!(!plain.serialize()?.is_empty());
    Ok(())
}

//! The wasmtime 12 API items of issue 13, each tested as wasmtime 12's
//! documentation describes it: `Store::default`, the fuel API, call hooks,
//! signal handlers, backtrace configuration and capture, the `Linker`
//! additions with `InstancePre`, `Table::{fill, copy}` and the `Val` helpers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tern::*;

fn fuel_engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true);
    Engine::new(&config).unwrap()
}

#[test]
fn store_default_uses_a_default_engine_and_data() -> Result<()> {
    let mut store: Store<Vec<u32>> = Store::default();
    assert!(store.data().is_empty());
    let module = Module::new(
        store.engine(),
        r#"(module (func (export "f") (result i32) i32.const 7))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_typed_func::<(), i32>(&mut store, "f")?;
    assert_eq!(f.call(&mut store, ())?, 7);
    Ok(())
}

#[test]
fn wasmtime12_fuel_api_adds_consumes_and_counts() -> Result<()> {
    let engine = fuel_engine();
    let mut store = Store::new(&engine, ());
    assert_eq!(store.fuel_consumed(), Some(0));
    store.add_fuel(100)?;
    assert_eq!(store.get_fuel()?, 100);
    assert_eq!(store.consume_fuel(30)?, 70);
    assert_eq!(store.fuel_consumed(), Some(30));
    assert!(store.consume_fuel(71).is_err(), "more than is left");
    assert_eq!(
        store.get_fuel()?,
        70,
        "a refused consume_fuel consumes nothing"
    );
    // Wasm consumption counts too.
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (local i32)
              (local.set 0 (i32.const 1)) (local.set 0 (i32.const 2))))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_typed_func::<(), ()>(&mut store, "f")?;
    f.call(&mut store, ())?;
    let consumed = store.fuel_consumed().unwrap();
    assert!(consumed > 30, "wasm consumed fuel: {consumed}");
    assert_eq!(store.get_fuel()?, 100 - consumed);
    // set_fuel keeps the running total.
    store.set_fuel(1000)?;
    assert_eq!(store.fuel_consumed(), Some(consumed));
    store.add_fuel(5)?;
    assert_eq!(store.get_fuel()?, 1005);
    // Host functions see the same API on their Caller.
    let mut linker = Linker::new(&engine);
    linker.func_wrap("h", "burn", |mut caller: Caller<'_, ()>| -> Result<u64> {
        caller.consume_fuel(5)
    })?;
    let module = Module::new(
        &engine,
        r#"(module (import "h" "burn" (func $b (result i64)))
             (func (export "go") (result i64) call $b))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let go = instance.get_typed_func::<(), i64>(&mut store, "go")?;
    let before = store.get_fuel()?;
    let left = go.call(&mut store, ())? as u64;
    assert!(left <= before - 5);
    // Without fuel enabled the API says so.
    let mut plain = Store::new(&Engine::default(), ());
    assert_eq!(plain.fuel_consumed(), None);
    assert!(plain.add_fuel(1).is_err());
    assert!(plain.consume_fuel(0).is_err());
    Ok(())
}

#[test]
fn call_hook_sees_every_transition_and_can_abort() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "f" (func $f))
             (func (export "run") call $f))"#,
    )?;
    let mut store = Store::new(&engine, Vec::<CallHook>::new());
    store.call_hook(|log, hook| {
        log.push(hook);
        Ok(())
    });
    let mut linker = Linker::new(&engine);
    linker.func_wrap("h", "f", || {})?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    store.data_mut().clear();
    run.call(&mut store, ())?;
    assert_eq!(
        store.data(),
        &[
            CallHook::CallingWasm,
            CallHook::CallingHost,
            CallHook::ReturningFromHost,
            CallHook::ReturningFromWasm
        ]
    );
    assert!(CallHook::CallingHost.entering_host() && CallHook::ReturningFromWasm.entering_host());
    assert!(CallHook::CallingWasm.exiting_host() && CallHook::ReturningFromHost.exiting_host());
    // An error from the hook aborts the call with that error.
    store.call_hook(|_, hook| {
        if hook == CallHook::CallingHost {
            anyhow::bail!("no host calls allowed");
        }
        Ok(())
    });
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(
        format!("{err:?}").contains("no host calls allowed"),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn signal_handler_is_consulted_for_wasm_faults() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "oob") (result i32)
             (i32.load (i32.const 0x7fff0000))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    // SAFETY: the handler only touches an atomic and declines every signal.
    unsafe {
        store.set_signal_handler(|signum, _info, _ctx| {
            if signum == libc::SIGSEGV || signum == libc::SIGBUS {
                SEEN.fetch_add(1, Ordering::SeqCst);
            }
            false
        });
    }
    let instance = Instance::new(&mut store, &module, &[])?;
    let oob = instance.get_typed_func::<(), i32>(&mut store, "oob")?;
    let err = oob.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    assert_eq!(SEEN.load(Ordering::SeqCst), 1, "the handler saw the fault");
    Ok(())
}

#[test]
fn backtraces_follow_config_and_capture_works_in_host_calls() -> Result<()> {
    let wat = r#"(module $m
        (import "h" "cap" (func $cap))
        (func $inner call $cap unreachable)
        (func (export "run") call $inner))"#;
    for enabled in [true, false] {
        let mut config = Config::new();
        config.wasm_backtrace(enabled);
        config.wasm_backtrace_details(WasmBacktraceDetails::Disable);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, wat)?;
        let captured: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let sink = captured.clone();
        linker.func_wrap("h", "cap", move |caller: Caller<'_, ()>| {
            let normal = WasmBacktrace::capture(&caller).frames().len();
            let forced = WasmBacktrace::force_capture(&caller).frames().len();
            sink.lock().unwrap().push((normal, forced));
        })?;
        let instance = linker.instantiate(&mut store, &module)?;
        let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
        let err = run.call(&mut store, ()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached)
        );
        let trace = err.downcast_ref::<WasmBacktrace>();
        let (normal, forced) = captured.lock().unwrap()[0];
        assert_eq!(forced, 2, "$inner and run are below the host call");
        if enabled {
            let trace = trace.expect("a backtrace is attached");
            assert_eq!(trace.frames().len(), 2);
            assert_eq!(trace.frames()[0].module_name(), Some("m"));
            assert_eq!(trace.frames()[0].func_index(), 1);
            // The frame's offsets come from the address map: the trapping
            // instruction lies inside its function's body.
            let frame = &trace.frames()[0];
            let (func_offset, module_offset) = (frame.func_offset(), frame.module_offset());
            assert!(func_offset.is_some_and(|o| o > 0), "{func_offset:?}");
            assert!(
                module_offset > func_offset,
                "{module_offset:?} {func_offset:?}"
            );
            assert_eq!(normal, 2);
        } else {
            assert!(trace.is_none(), "no backtrace when disabled");
            assert_eq!(normal, 0);
        }
        // Outside wasm there is nothing to capture.
        assert!(WasmBacktrace::force_capture(&store).frames().is_empty());
    }
    Ok(())
}

#[test]
fn linker_instantiate_pre_reuses_resolution_across_stores() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "get" (func $g (result i32)))
             (func (export "run") (result i32) (i32.add (call $g) (i32.const 1))))"#,
    )?;
    let mut linker = Linker::<i32>::new(&engine);
    linker.func_wrap("h", "get", |caller: Caller<'_, i32>| *caller.data())?;
    let pre = linker.instantiate_pre(&module)?;
    assert_eq!(pre.module().exports().count(), 1);
    for data in [10, 20] {
        let mut store = Store::new(&engine, data);
        let instance = pre.instantiate(&mut store)?;
        let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
        assert_eq!(run.call(&mut store, ())?, data + 1);
    }
    // Missing imports are found at pre-instantiation.
    let err = Linker::<i32>::new(&engine)
        .instantiate_pre(&module)
        .unwrap_err();
    assert!(err.to_string().contains("h::get"), "{err}");
    // So is a host function of the wrong type.
    let mut wrong = Linker::<i32>::new(&engine);
    wrong.func_wrap("h", "get", || -> i64 { 0 })?;
    assert!(wrong.instantiate_pre(&module).is_err());
    Ok(())
}

#[test]
fn linker_alias_define_name_get_by_import_and_iter() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("a", "f", || 5i32)?;
    let global = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(9),
    )?;
    linker.define(&store, "a", "g", global)?;
    linker.alias("a", "f", "b", "f2")?;
    assert!(linker.alias("a", "missing", "b", "x").is_err());
    linker.alias_module("a", "c")?;
    linker.define_name(&store, "top", global)?;
    let module = Module::new(
        &engine,
        r#"(module (import "b" "f2" (func (result i32)))
             (import "c" "f" (func (result i32)))
             (import "c" "g" (global i32))
             (import "" "top" (global i32)))"#,
    )?;
    for import in module.imports() {
        assert!(
            linker.get_by_import(&mut store, &import).is_some(),
            "{}::{}",
            import.module(),
            import.name()
        );
    }
    linker.instantiate(&mut store, &module)?;
    let mut names: Vec<(String, String)> = linker
        .iter(&mut store)
        .map(|(m, n, _)| (m.to_string(), n.to_string()))
        .collect();
    names.sort();
    let expected = [
        ("", "top"),
        ("a", "f"),
        ("a", "g"),
        ("b", "f2"),
        ("c", "f"),
        ("c", "g"),
    ];
    assert_eq!(
        names,
        expected
            .map(|(m, n)| (m.to_string(), n.to_string()))
            .to_vec()
    );
    Ok(())
}

#[test]
fn linker_get_default_prefers_empty_name_then_start() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    // Nothing defined: a function that does nothing.
    let noop = linker.get_default(&mut store, "m")?;
    noop.typed::<(), ()>(&store)?.call(&mut store, ())?;
    linker.func_wrap("m", "_start", || -> Result<()> { anyhow::bail!("start") })?;
    let start = linker.get_default(&mut store, "m")?;
    assert!(start
        .call(&mut store, &[], &mut [])
        .unwrap_err()
        .to_string()
        .contains("start"));
    linker.func_wrap("m", "", || -> Result<()> { anyhow::bail!("empty") })?;
    let empty = linker.get_default(&mut store, "m")?;
    assert!(empty
        .call(&mut store, &[], &mut [])
        .unwrap_err()
        .to_string()
        .contains("empty"));
    let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
    linker.define(&store, "n", "_start", memory)?;
    assert!(linker.get_default(&mut store, "n").is_err());
    Ok(())
}

#[test]
fn linker_module_gives_commands_a_fresh_instance_per_call() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    // A command: its global starts at 0 in every instance.
    let command = Module::new(
        &engine,
        r#"(module (global $n (mut i32) (i32.const 0))
             (func (export "_start"))
             (func (export "bump") (result i32)
               (global.set $n (i32.add (global.get $n) (i32.const 1)))
               (global.get $n)))"#,
    )?;
    linker.module(&mut store, "cmd", &command)?;
    // A reactor: one instance, `_initialize` run once.
    let reactor = Module::new(
        &engine,
        r#"(module (global $n (mut i32) (i32.const 0))
             (func (export "_initialize") (global.set $n (i32.const 100)))
             (func (export "bump") (result i32)
               (global.set $n (i32.add (global.get $n) (i32.const 1)))
               (global.get $n)))"#,
    )?;
    linker.module(&mut store, "lib", &reactor)?;
    let user = Module::new(
        &engine,
        r#"(module (import "cmd" "bump" (func $c (result i32)))
             (import "lib" "bump" (func $l (result i32)))
             (func (export "cmd") (result i32) call $c)
             (func (export "lib") (result i32) call $l))"#,
    )?;
    let instance = linker.instantiate(&mut store, &user)?;
    let cmd = instance.get_typed_func::<(), i32>(&mut store, "cmd")?;
    let lib = instance.get_typed_func::<(), i32>(&mut store, "lib")?;
    assert_eq!(cmd.call(&mut store, ())?, 1);
    assert_eq!(
        cmd.call(&mut store, ())?,
        1,
        "a new command instance each call"
    );
    assert_eq!(lib.call(&mut store, ())?, 101);
    assert_eq!(lib.call(&mut store, ())?, 102, "one reactor instance");
    // A command exporting a global is refused unless unknown exports are allowed.
    let odd = Module::new(
        &engine,
        r#"(module (func (export "_start")) (global (export "g") i32 (i32.const 0)))"#,
    )?;
    assert!(linker.module(&mut store, "odd", &odd).is_err());
    linker.allow_unknown_exports(true);
    linker.module(&mut store, "odd2", &odd)?;
    Ok(())
}

#[test]
fn define_unknown_imports_as_traps_names_the_import_when_called() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module (import "x" "y" (func $f)) (func (export "run") call $f))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(format!("{err:?}").contains("x::y"), "{err:?}");
    Ok(())
}

#[test]
fn table_fill_and_copy_check_bounds_and_types() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = TableType::new(ValType::ExternRef, 4, None);
    let a = Table::new(&mut store, ty.clone(), Val::ExternRef(None))?;
    let b = Table::new(&mut store, ty, Val::ExternRef(None))?;
    let r = ExternRef::new(42u32);
    a.fill(&mut store, 1, Val::ExternRef(Some(r.clone())), 2)?;
    let is_r = |v: Option<Val>| v.unwrap().unwrap_externref().is_some_and(|x| x.ptr_eq(&r));
    assert!(!is_r(a.get(&mut store, 0)));
    assert!(is_r(a.get(&mut store, 1)) && is_r(a.get(&mut store, 2)));
    assert!(!is_r(a.get(&mut store, 3)));
    assert!(
        a.fill(&mut store, 3, Val::ExternRef(None), 2).is_err(),
        "out of bounds"
    );
    assert!(is_r(a.get(&mut store, 2)), "a failed fill writes nothing");
    assert!(a.fill(&mut store, 0, Val::I32(0), 1).is_err(), "wrong type");
    Table::copy(&mut store, &b, 0, &a, 1, 3)?;
    assert!(
        is_r(b.get(&mut store, 0)) && is_r(b.get(&mut store, 1)) && !is_r(b.get(&mut store, 2))
    );
    // Overlapping copy within one table.
    Table::copy(&mut store, &a, 0, &a, 1, 3)?;
    assert!(
        is_r(a.get(&mut store, 0)) && is_r(a.get(&mut store, 1)) && !is_r(a.get(&mut store, 2))
    );
    assert!(Table::copy(&mut store, &a, 2, &b, 0, 3).is_err());
    let f = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 1, None),
        Val::FuncRef(None),
    )?;
    assert!(
        Table::copy(&mut store, &f, 0, &a, 0, 1).is_err(),
        "element types differ"
    );
    Ok(())
}

/// wasmtime 12 code passes `u32` indices, later wasmtime code `u64`, and both
/// pass unsuffixed literals (`i32`); sizes come back as 12's `u32`.
#[test]
fn table_methods_take_u32_u64_and_literal_indices() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = TableType::new(ValType::FuncRef, 2, None);
    let table = Table::new(&mut store, ty, Val::FuncRef(None))?;
    let f = Func::wrap(&mut store, || 7i32);
    let size: u32 = table.size(&store);
    assert_eq!(size, 2);

    // wasmtime 12: u32 variables everywhere.
    let (i, n, delta): (u32, u32, u32) = (1, 1, 3);
    table.set(&mut store, i, Val::FuncRef(Some(f)))?;
    assert!(table.get(&mut store, i).unwrap().unwrap_funcref().is_some());
    let old: u32 = table.grow(&mut store, delta, Val::FuncRef(None))?;
    assert_eq!((old, table.size(&store)), (2, 5));
    table.fill(&mut store, i + 1, Val::FuncRef(Some(f)), n)?;
    Table::copy(&mut store, &table, 4u32, &table, i, n)?;
    let is_f = |v: Option<Val>| v.unwrap().unwrap_funcref().is_some();
    assert!(is_f(table.get(&mut store, 2u32)) && is_f(table.get(&mut store, 4u32)));

    // Later wasmtime: u64 variables.
    let (j, m): (u64, u64) = (0, 1);
    table.set(&mut store, j, Val::FuncRef(Some(f)))?;
    assert!(is_f(table.get(&mut store, j)));
    table.fill(&mut store, j, Val::FuncRef(None), m)?;
    assert!(!is_f(table.get(&mut store, j)));
    Table::copy(&mut store, &table, j, &table, 4u64, m)?;
    assert!(is_f(table.get(&mut store, 0u64)));
    assert_eq!(table.grow(&mut store, m, Val::FuncRef(None))?, 5);

    // Unsuffixed literals (i32): negative ones are out of bounds.
    assert!(table.get(&mut store, 5).unwrap().unwrap_funcref().is_none());
    assert!(table.get(&mut store, 6).is_none());
    assert!(table.get(&mut store, -1).is_none());
    assert!(table.set(&mut store, -1, Val::FuncRef(None)).is_err());
    assert!(table.fill(&mut store, 0, Val::FuncRef(None), -1).is_err());
    assert!(Table::copy(&mut store, &table, -2, &table, 0, 1).is_err());
    assert!(table.grow(&mut store, -1, Val::FuncRef(None)).is_err());
    assert_eq!(table.size(&store), 6, "failed calls change nothing");
    // Indices beyond u32 (only a u64 can say so) are out of bounds, not wrapped.
    assert!(table.get(&mut store, 1u64 << 32).is_none());
    assert!(table
        .set(&mut store, (1u64 << 32) + 1, Val::FuncRef(None))
        .is_err());
    Ok(())
}

#[test]
fn val_helpers_match_wasmtime12() {
    assert_eq!(Val::I32(3).i32(), Some(3));
    assert_eq!(Val::I32(3).i64(), None);
    assert_eq!(Val::I64(4).unwrap_i64(), 4);
    assert_eq!(Val::from(1.5f32).unwrap_f32(), 1.5);
    assert_eq!(Val::from(2.5f64).f64(), Some(2.5));
    assert_eq!(Val::from(7u128).unwrap_v128(), 7);
    // wasmtime 12's payload and accessors are `u128`; later wasmtime's `V128`
    // converts in and out.
    let v: u128 = Val::from(V128::from(9u128)).unwrap_v128();
    assert!(matches!(Val::from(v), Val::V128(9)));
    assert_eq!(Val::I32(0).v128(), None);
    assert_eq!(Val::null().ty(), ValType::ExternRef);
    assert!(Val::null().unwrap_externref().is_none());
    let r = ExternRef::new("x");
    assert!(Val::from(r.clone()).unwrap_externref().unwrap().ptr_eq(&r));
    assert_eq!(
        Val::from(Some(r)).externref().map(|r| r.is_some()),
        Some(true)
    );
    assert!(Val::FuncRef(None).unwrap_funcref().is_none());
    assert_eq!(Val::from(None::<Func>).ty(), ValType::FuncRef);
    assert!(std::panic::catch_unwind(|| Val::I32(0).unwrap_externref()).is_err());
}

#[test]
fn instance_exports_yield_wasmtime12_export_items() -> Result<()> {
    let mut store = Store::<()>::default();
    let module = Module::new(
        store.engine(),
        r#"(module (func (export "f")) (memory (export "m") 1)
             (table (export "t") 1 funcref) (global (export "g") i32 (i32.const 1)))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let exports: Vec<Export<'_>> = instance.exports(&mut store).collect();
    let names: Vec<&str> = exports.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["f", "m", "t", "g"]);
    let [f, m, t, g] = <[Export<'_>; 4]>::try_from(exports).unwrap();
    assert!(f.clone().into_func().is_some() && f.into_memory().is_none());
    assert!(m.into_memory().is_some());
    assert!(t.into_table().is_some());
    assert!(matches!(g.into_extern(), Extern::Global(_)));
    Ok(())
}

/// Small wasmtime 12 items found missing by the audit of this session.
#[test]
fn audit_leftovers_engine_memory_externref() -> Result<()> {
    Engine::tls_eager_initialize();
    let engine = Engine::default();
    assert!(!engine.is_async());
    let mut config = Config::new();
    config.async_support(true);
    assert!(Engine::new(&config)?.is_async());

    // `detect_precompiled_file` reads the file and answers as `detect_precompiled`.
    let dir = std::env::temp_dir().join(format!("tern-detect-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (artifact, wasm) = (dir.join("m.cwasm"), dir.join("m.wat"));
    std::fs::write(&artifact, engine.precompile_module(b"(module)")?)?;
    std::fs::write(&wasm, "(module)")?;
    assert_eq!(
        engine.detect_precompiled_file(&artifact)?,
        Some(Precompiled::Module)
    );
    assert_eq!(engine.detect_precompiled_file(&wasm)?, None);
    assert!(engine.detect_precompiled_file(dir.join("absent")).is_err());
    std::fs::remove_dir_all(&dir)?;

    // `Memory::data_ptr` is the address `data` starts at, and sees wasm's writes.
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1)
             (func (export "poke") i32.const 8 i32.const 0x5a i32.store8))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(
        memory.data_ptr(&store),
        memory.data(&store).as_ptr().cast_mut()
    );
    instance
        .get_typed_func::<(), ()>(&mut store, "poke")?
        .call(&mut store, ())?;
    assert_eq!(memory.data(&store)[8], 0x5a);

    // `ExternRef::strong_count` counts the clones, and the store's handle once
    // the reference has been passed to wasm.
    let r = ExternRef::new(5u32);
    assert_eq!(r.strong_count(), 1);
    let r2 = r.clone();
    assert_eq!(r.strong_count(), 2);
    drop(r2);
    let _global = Global::new(
        &mut store,
        GlobalType::new(ValType::ExternRef, Mutability::Var),
        Val::ExternRef(Some(r.clone())),
    )?;
    assert!(r.strong_count() >= 2, "the global's value holds it");
    Ok(())
}

//! Store data that borrows (`Store<Ctx<'a>>`), which wasmtime 12 allows: no
//! `'static` bound on `T` for `Func::wrap`/`Func::new`/`Func::call`,
//! `TypedFunc::call`, `Instance::new`, `Linker<T>` (except `Linker::module`,
//! `'static` in wasmtime 12 too), `Store::limiter` and `Store::call_hook`, nor
//! on component `Func::call`/`TypedFunc::call`/`post_return` (generic code
//! below). That this file compiles is half of the test.

use tern::*;

/// Host state that borrows the test's log and limits.
struct Ctx<'a> {
    log: &'a mut Vec<i32>,
    limits: &'a mut StoreLimits,
}

const MODULE: &str = r#"
    (module
      (import "host" "log" (func $log (param i32)))
      (import "host" "log_dyn" (func $log_dyn (param i32)))
      (memory (export "memory") 1)
      (func (export "run") (param i32)
        local.get 0
        call $log
        local.get 0
        i32.const 1
        i32.add
        call $log_dyn)
      (func (export "grow") (param i32) (result i32)
        local.get 0
        memory.grow))
"#;

/// Generic embedder code with no `'static` bound, as wasmtime 12 allows.
fn call_run<T>(store: &mut Store<T>, instance: Instance, arg: i32) -> Result<()> {
    let run = instance.get_typed_func::<i32, ()>(&mut *store, "run")?;
    run.call(&mut *store, arg)?;
    let run = instance.get_func(&mut *store, "run").expect("exported");
    run.call(&mut *store, &[Val::I32(arg * 100)], &mut [])
}

fn run_borrowing<'a>(log: &'a mut Vec<i32>, limits: &'a mut StoreLimits) -> Result<()> {
    let engine = Engine::default();
    let mut store: Store<Ctx<'a>> = Store::new(&engine, Ctx { log, limits });
    store.limiter(|ctx| &mut *ctx.limits);
    store.call_hook(|ctx, hook| {
        if hook == CallHook::CallingHost {
            ctx.log.push(-1);
        }
        Ok(())
    });

    let mut linker: Linker<Ctx<'a>> = Linker::new(&engine);
    linker.func_wrap("host", "log", |mut caller: Caller<'_, Ctx<'a>>, x: i32| {
        caller.data_mut().log.push(x);
    })?;
    linker.func_new(
        "host",
        "log_dyn",
        FuncType::new([ValType::I32], []),
        |mut caller: Caller<'_, Ctx<'a>>, params, _results| {
            let x = params[0].unwrap_i32();
            caller.data_mut().log.push(x);
            Ok(())
        },
    )?;
    let module = Module::new(&engine, MODULE)?;
    let instance = linker.instantiate(&mut store, &module)?;
    call_run(&mut store, instance, 10)?;

    // Host functions defined on the store directly, called from the host.
    let wrapped = Func::wrap(&mut store, |mut caller: Caller<'_, Ctx<'a>>, x: i32| {
        caller.data_mut().log.push(x * 2);
    });
    wrapped.call(&mut store, &[Val::I32(21)], &mut [])?;
    let dynamic = Func::new(
        &mut store,
        FuncType::new([ValType::I32], [ValType::I32]),
        |mut caller: Caller<'_, Ctx<'a>>, params, results| {
            caller.data_mut().log.push(params[0].unwrap_i32());
            results[0] = Val::I32(params[0].unwrap_i32() + 1);
            Ok(())
        },
    );
    let mut out = [Val::I32(0)];
    dynamic.call(&mut store, &[Val::I32(7)], &mut out)?;
    assert_eq!(out[0].unwrap_i32(), 8);

    // `Instance::new` with explicit imports, and the borrowed limiter at work:
    // the limits allow 2 pages, so growing by 5 fails (-1), by 1 succeeds.
    let imports = [wrapped.into(), wrapped.into()];
    let second = Instance::new(&mut store, &module, &imports)?;
    let grow = second.get_typed_func::<i32, i32>(&mut store, "grow")?;
    assert_eq!(grow.call(&mut store, 5)?, -1);
    assert_eq!(grow.call(&mut store, 1)?, 1);
    second
        .get_typed_func::<i32, ()>(&mut store, "run")?
        .call(&mut store, 3)?;
    Ok(())
}

#[test]
fn store_data_may_borrow_from_the_embedder() -> Result<()> {
    let mut log = Vec::new();
    let mut limits = StoreLimitsBuilder::new().memory_size(2 << 16).build();
    run_borrowing(&mut log, &mut limits)?;
    // -1 marks each host call (the call hook sees the borrowed data too).
    assert_eq!(
        log,
        [
            -1, 10, -1, 11, // typed call of `run`
            -1, 1000, -1, 1001, // untyped call of `run`
            -1, 42, // `Func::wrap`, called from the host
            -1, 7, // `Func::new`, called from the host
            -1, 6, -1, 8, // second instance: both imports are `wrapped`
        ]
    );
    Ok(())
}

/// Component calls written generically, with no `'static` bound on the store
/// data (wasmtime 12's signatures); exercised with `()` below.
fn call_component<T>(
    store: &mut Store<T>,
    typed: component::TypedFunc<(u32,), (u32,)>,
    untyped: component::Func,
) -> Result<u32> {
    let (a,) = typed.call(&mut *store, (1,))?;
    typed.post_return(&mut *store)?;
    let mut results = [component::Val::U32(0)];
    untyped.call(&mut *store, &[component::Val::U32(a)], &mut results)?;
    untyped.post_return(&mut *store)?;
    match results[0] {
        component::Val::U32(b) => Ok(b),
        ref other => anyhow::bail!("unexpected result {other:?}"),
    }
}

#[test]
fn component_calls_need_no_static_store_data() -> Result<()> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = component::Component::new(
        &engine,
        r#"(component
            (core module $m
              (func (export "inc") (param i32) (result i32)
                local.get 0
                i32.const 1
                i32.add))
            (core instance $i (instantiate $m))
            (func (export "inc") (param "x" u32) (result u32)
              (canon lift (core func $i "inc"))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let linker = component::Linker::new(&engine);
    let instance = linker.instantiate(&mut store, &component)?;
    let typed = instance.get_typed_func::<(u32,), (u32,)>(&mut store, "inc")?;
    let untyped = instance.get_func(&mut store, "inc").expect("exported");
    assert_eq!(call_component(&mut store, typed, untyped)?, 3);
    Ok(())
}

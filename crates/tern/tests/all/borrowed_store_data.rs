//! Store data that borrows (`Store<Ctx<'a>>`), which wasmtime 12 allows: no
//! `'static` bound on `T` for `Func::wrap`/`Func::new`/`Func::call`,
//! `TypedFunc::call`, `Instance::new`, `Linker<T>` (except `Linker::module`,
//! `'static` in wasmtime 12 too), `Store::limiter` and `Store::call_hook`, nor
//! on component `Func::call`/`TypedFunc::call`/`post_return` (generic code
//! below), nor on the component `Linker<T>` (`func_wrap`, `func_new`,
//! `resource`, `instantiate`, `instantiate_pre`) and `InstancePre::instantiate`.
//! That this file compiles is half of the test.

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

/// Component host state that borrows the test's log and a base value.
struct CompCtx<'a> {
    log: &'a mut Vec<u32>,
    base: &'a u32,
}

/// The host type of the component's imported resource.
struct Thing;

/// A component importing a host resource and two host functions: `run`
/// makes a resource (`new`) and drops it, then passes its argument through
/// `add` and `add-dyn`.
const BORROWING_COMPONENT: &str = r#"(component
  (import "host" (instance $h
    (export "res" (type $T (sub resource)))
    (export "new" (func (param "v" u32) (result (own $T))))
    (export "add" (func (param "x" u32) (result u32)))
    (export "add-dyn" (func (param "x" u32) (result u32)))
  ))
  (alias export $h "res" (type $T))
  (core func $new (canon lower (func $h "new")))
  (core func $add (canon lower (func $h "add")))
  (core func $add_dyn (canon lower (func $h "add-dyn")))
  (core func $drop (canon resource.drop $T))
  (core module $M
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "add" (func $add (param i32) (result i32)))
    (import "" "add-dyn" (func $add_dyn (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32)
      (call $drop (call $new (local.get 0)))
      (call $add_dyn (call $add (local.get 0)))))
  (core instance $m (instantiate $M (with "" (instance
    (export "new" (func $new)) (export "add" (func $add))
    (export "add-dyn" (func $add_dyn)) (export "drop" (func $drop))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m "run")))
)"#;

/// Generic embedder code: instantiation with no `'static` bound on `T`.
fn instantiate_component<T>(
    linker: &component::Linker<T>,
    store: &mut Store<T>,
    component: &component::Component,
    pre: bool,
) -> Result<component::Instance> {
    if pre {
        linker.instantiate_pre(component)?.instantiate(&mut *store)
    } else {
        linker.instantiate(&mut *store, component)
    }
}

fn run_borrowing_component<'a>(log: &'a mut Vec<u32>, base: &'a u32) -> Result<Vec<u32>> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = component::Component::new(&engine, BORROWING_COMPONENT)?;
    let mut store: Store<CompCtx<'a>> = Store::new(&engine, CompCtx { log, base });

    let mut linker: component::Linker<CompCtx<'a>> = component::Linker::new(&engine);
    let mut host = linker.instance("host")?;
    host.resource(
        "res",
        component::ResourceType::host::<Thing>(),
        |mut store: StoreContextMut<'_, CompCtx<'a>>, rep| {
            store.data_mut().log.push(200 + rep);
            Ok(())
        },
    )?;
    host.func_wrap(
        "new",
        |mut store: StoreContextMut<'_, CompCtx<'a>>, (v,): (u32,)| {
            store.data_mut().log.push(100 + v);
            Ok((component::Resource::<Thing>::new_own(v),))
        },
    )?;
    host.func_wrap(
        "add",
        |mut store: StoreContextMut<'_, CompCtx<'a>>, (x,): (u32,)| {
            store.data_mut().log.push(x);
            Ok((x + *store.data().base,))
        },
    )?;
    host.func_new(
        "add-dyn",
        |mut store: StoreContextMut<'_, CompCtx<'a>>, params, results| {
            let component::Val::U32(x) = params[0] else {
                anyhow::bail!("unexpected parameter {:?}", params[0]);
            };
            store.data_mut().log.push(x);
            results[0] = component::Val::U32(x * 2);
            Ok(())
        },
    )?;

    let mut outputs = Vec::new();
    for (pre, arg) in [(false, 5), (true, 7)] {
        let instance = instantiate_component(&linker, &mut store, &component, pre)?;
        let run = instance.get_typed_func::<(u32,), (u32,)>(&mut store, "run")?;
        let (out,) = run.call(&mut store, (arg,))?;
        run.post_return(&mut store)?;
        outputs.push(out);
    }
    Ok(outputs)
}

#[test]
fn component_linker_store_data_may_borrow_from_the_embedder() -> Result<()> {
    let mut log = Vec::new();
    let base = 10;
    let outputs = run_borrowing_component(&mut log, &base)?;
    // run(x) = (x + base) * 2
    assert_eq!(outputs, [30, 34]);
    assert_eq!(
        log,
        [
            105, 205, 5, 15, // `Linker::instantiate`, run(5): new, drop, add, add-dyn
            107, 207, 7, 17, // `InstancePre::instantiate`, run(7)
        ]
    );
    Ok(())
}

/// Async component host state that borrows a counter.
struct AsyncCtx<'a> {
    hits: &'a mut u32,
}

/// A component whose `run(x)` returns `level(x) + 1`, `level` a host import.
const ASYNC_LEVEL: &str = r#"(component
  (import "level" (func $level (param "x" u32) (result u32)))
  (core func $level' (canon lower (func $level)))
  (core module $M
    (import "" "level" (func $level (param i32) (result i32)))
    (func (export "run") (param i32) (result i32)
      (i32.add (call $level (local.get 0)) (i32.const 1))))
  (core instance $m (instantiate $M (with "" (instance (export "level" (func $level'))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m "run")))
)"#;

/// The async component entry points with borrowed store data (wasmtime 12
/// asks only `T: Send` of them).
async fn run_async_borrowing<'a>(hits: &'a mut u32) -> Result<Vec<u32>> {
    let mut config = Config::new();
    config.wasm_component_model(true).async_support(true);
    let engine = Engine::new(&config)?;
    let component = component::Component::new(&engine, ASYNC_LEVEL)?;
    let mut linker: component::Linker<AsyncCtx<'a>> = component::Linker::new(&engine);
    linker.root().func_wrap_async(
        "level",
        |mut cx: StoreContextMut<'_, AsyncCtx<'a>>, (x,): (u32,)| {
            Box::new(async move {
                *cx.data_mut().hits += 1;
                Ok((x * 10,))
            })
        },
    )?;
    let mut store = Store::new(&engine, AsyncCtx { hits });
    let mut outputs = Vec::new();
    for pre in [false, true] {
        let instance = if pre {
            let pre = linker.instantiate_pre(&component)?;
            pre.instantiate_async(&mut store).await?
        } else {
            linker.instantiate_async(&mut store, &component).await?
        };
        let run = instance.get_typed_func::<(u32,), (u32,)>(&mut store, "run")?;
        let (a,) = run.call_async(&mut store, (4,)).await?;
        run.post_return_async(&mut store).await?;
        outputs.push(a);
        let f = instance.get_func(&mut store, "run").expect("exported");
        let mut results = [component::Val::U32(0)];
        f.call_async(&mut store, &[component::Val::U32(a)], &mut results)
            .await?;
        f.post_return_async(&mut store).await?;
        match results[0] {
            component::Val::U32(b) => outputs.push(b),
            ref other => anyhow::bail!("unexpected result {other:?}"),
        }
    }
    Ok(outputs)
}

#[tokio::test]
async fn component_async_store_data_may_borrow_from_the_embedder() -> Result<()> {
    let mut hits = 0;
    let outputs = run_async_borrowing(&mut hits).await?;
    // run(4) = 41, run(41) = 411, once per instantiation path.
    assert_eq!(outputs, [41, 411, 41, 411]);
    assert_eq!(hits, 4);
    Ok(())
}

/// `bindgen!` output takes borrowed store data too (`add_to_linker`,
/// `instantiate`, `instantiate_pre` and the export calls have no `'static`
/// bound, as in wasmtime 12).
mod borrowed_bindings {
    tern::component::bindgen!({
        inline: "package tests:borrowed;\n\
                 interface host {\n  add: func(x: u32) -> u32;\n}\n\
                 world borrowed {\n  import host;\n  export run: func(x: u32) -> u32;\n}\n",
    });
}

impl<'a> borrowed_bindings::tests::borrowed::host::Host for CompCtx<'a> {
    fn add(&mut self, x: u32) -> Result<u32> {
        self.log.push(x);
        Ok(x + *self.base)
    }
}

/// A component of world `borrowed`: `run(x)` is `add(x)`.
const BORROWED_WORLD: &str = r#"(component
  (import "tests:borrowed/host" (instance $h
    (export "add" (func (param "x" u32) (result u32)))))
  (core func $add (canon lower (func $h "add")))
  (core module $M
    (import "" "add" (func $add (param i32) (result i32)))
    (func (export "run") (param i32) (result i32) (call $add (local.get 0))))
  (core instance $m (instantiate $M (with "" (instance (export "add" (func $add))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m "run")))
)"#;

fn run_borrowed_bindings<'a>(log: &'a mut Vec<u32>, base: &'a u32) -> Result<Vec<u32>> {
    use borrowed_bindings::Borrowed;
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = component::Component::new(&engine, BORROWED_WORLD)?;
    let mut linker: component::Linker<CompCtx<'a>> = component::Linker::new(&engine);
    Borrowed::add_to_linker(&mut linker, |ctx: &mut CompCtx<'a>| ctx)?;
    let mut store = Store::new(&engine, CompCtx { log, base });
    let (world, _) = Borrowed::instantiate(&mut store, &component, &linker)?;
    let first = world.call_run(&mut store, 1)?;
    let pre = linker.instantiate_pre(&component)?;
    let (world, _) = Borrowed::instantiate_pre(&mut store, &pre)?;
    let second = world.call_run(&mut store, 2)?;
    Ok(vec![first, second])
}

#[test]
fn bindgen_store_data_may_borrow_from_the_embedder() -> Result<()> {
    let mut log = Vec::new();
    let base = 40;
    assert_eq!(run_borrowed_bindings(&mut log, &base)?, [41, 42]);
    assert_eq!(log, [1, 2]);
    Ok(())
}

/// The core async entry points need only `T: Send`, as in wasmtime 12: a
/// store whose data borrows `&'a mut u32` runs `func_wrap_async`,
/// `Func::new_async`, `Linker::instantiate_async`,
/// `InstancePre::instantiate_async`, `Instance::new_async` and both
/// `call_async`s.
async fn run_core_async_borrowing<'a>(hits: &'a mut u32) -> Result<Vec<i32>> {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "add" (func $add (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
              (call $add (local.get 0))))"#,
    )?;
    let mut linker: Linker<&'a mut u32> = Linker::new(&engine);
    linker.func_wrap_async(
        "h",
        "add",
        |mut caller: Caller<'_, &'a mut u32>, (x,): (i32,)| {
            Box::new(async move {
                **caller.data_mut() += 1;
                Ok(x * 10 + 1)
            })
        },
    )?;
    let mut store = Store::new(&engine, hits);
    let mut outputs = Vec::new();
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    outputs.push(run.call_async(&mut store, 4).await?);
    let instance = linker
        .instantiate_pre(&module)?
        .instantiate_async(&mut store)
        .await?;
    let run = instance
        .get_func(&mut store, "run")
        .ok_or_else(|| anyhow::anyhow!("no run export"))?;
    let mut results = [Val::I32(0)];
    run.call_async(&mut store, &[Val::I32(41)], &mut results)
        .await?;
    outputs.push(results[0].unwrap_i32());
    let add = Func::new_async(
        &mut store,
        FuncType::new([ValType::I32], [ValType::I32]),
        |mut caller, params, results| {
            Box::new(async move {
                **caller.data_mut() += 1;
                results[0] = Val::I32(params[0].unwrap_i32() * 10 + 1);
                Ok(())
            })
        },
    );
    let instance = Instance::new_async(&mut store, &module, &[add.into()]).await?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    outputs.push(run.call_async(&mut store, 4).await?);
    Ok(outputs)
}

#[tokio::test]
async fn core_async_store_data_may_borrow_from_the_embedder() -> Result<()> {
    let mut hits = 0;
    let outputs = run_core_async_borrowing(&mut hits).await?;
    assert_eq!(outputs, [41, 411, 41]);
    assert_eq!(hits, 3);
    Ok(())
}

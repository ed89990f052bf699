//! The async API (`Config::async_support`): wasm on fibers awaiting host
//! futures, driven by tokio; traps, errors and panics across the fiber;
//! cancellation; the sync/async entry-point checks; `Send` futures.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tern::*;

fn async_engine() -> Engine {
    let mut config = Config::new();
    config.async_support(true);
    Engine::new(&config).unwrap()
}

/// wasm that calls the host's async `sleep` `n` times, adding what it returns.
const SLEEP_LOOP: &str = r#"(module
    (import "host" "sleep" (func $sleep (param i32) (result i32)))
    (func (export "run") (param $n i32) (result i32)
      (local $acc i32)
      (block $done
        (loop $again
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (call $sleep (local.get $n))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $again)))
      (local.get $acc)))"#;

/// A linker whose `host::sleep(x)` sleeps `ms` milliseconds and returns `x * 2`.
fn sleep_linker(engine: &Engine, ms: u64) -> Linker<usize> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap_async(
            "host",
            "sleep",
            move |mut caller: Caller<'_, usize>, (x,): (i32,)| {
                Box::new(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    *caller.data_mut() += 1;
                    Ok(x * 2)
                })
            },
        )
        .unwrap();
    linker
}

fn sum_of_doubles(n: i32) -> i32 {
    (1..=n).map(|x| x * 2).sum()
}

#[tokio::test]
async fn host_sleeps_asynchronously_in_a_wasm_loop() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(&engine, SLEEP_LOOP)?;
    let linker = sleep_linker(&engine, 1);
    let mut store = Store::new(&engine, 0usize);
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call_async(&mut store, 10).await?, sum_of_doubles(10));
    assert_eq!(*store.data(), 10);
    // Again, on a stack from the engine's pool, through the dynamic API.
    let run = instance.get_func(&mut store, "run").unwrap();
    let mut results = [Val::I32(0)];
    run.call_async(&mut store, &[Val::I32(5)], &mut results)
        .await?;
    assert_eq!(results[0].unwrap_i32(), sum_of_doubles(5));
    assert_eq!(*store.data(), 15);
    Ok(())
}

#[test]
fn a_thousand_instances_on_two_threads() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()?;
    let engine = async_engine();
    let module = Module::new(&engine, SLEEP_LOOP)?;
    let linker = Arc::new(sleep_linker(&engine, 20));
    let started = Instant::now();
    let results = runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..1000 {
            let (engine, module, linker) = (engine.clone(), module.clone(), linker.clone());
            tasks.push(tokio::spawn(async move {
                let mut store = Store::new(&engine, 0usize);
                let instance = linker.instantiate_async(&mut store, &module).await?;
                let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
                let n = 1 + i % 3;
                let got = run.call_async(&mut store, n).await?;
                anyhow::Ok((n, got, *store.data()))
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let elapsed = started.elapsed();
    assert_eq!(results.len(), 1000);
    for r in results {
        let (n, got, sleeps) = r?;
        assert_eq!(got, sum_of_doubles(n));
        assert_eq!(sleeps, n as usize);
    }
    println!("1000 instances, up to 3 sleeps of 20 ms each: {elapsed:?}");
    Ok(())
}

#[tokio::test]
async fn nested_async_calls_and_traps_after_a_suspension() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "reenter" (func $reenter (result i32)))
            (memory 1)
            (func (export "outer") (result i32) (i32.add (call $reenter) (i32.const 1)))
            (func (export "inner") (result i32) (i32.const 41))
            (func (export "oob") (result i32) (drop (call $reenter)) (i32.load (i32.const 70000))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap_async("host", "reenter", |mut caller: Caller<'_, ()>, (): ()| {
        Box::new(async move {
            tokio::task::yield_now().await;
            let inner = caller.get_export("inner").unwrap().into_func().unwrap();
            let inner = inner.typed::<(), i32>(&caller)?;
            let v = inner.call_async(&mut caller, ()).await?;
            tokio::task::yield_now().await;
            Ok(v)
        })
    })?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let outer = instance.get_typed_func::<(), i32>(&mut store, "outer")?;
    assert_eq!(outer.call_async(&mut store, ()).await?, 42);
    let oob = instance.get_typed_func::<(), i32>(&mut store, "oob")?;
    let err = oob.call_async(&mut store, ()).await.unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::MemoryOutOfBounds),
        "{err:?}"
    );
    assert_eq!(outer.call_async(&mut store, ()).await?, 42);
    Ok(())
}

const CALLS_HOST: &str = r#"(module
    (import "host" "f" (func $f))
    (func (export "run") (call $f)))"#;

/// A store whose `host::f` yields once and then does `then`.
async fn run_failing_host(
    then: impl Fn() -> Result<()> + Send + Sync + 'static,
) -> (Store<()>, Result<()>) {
    let engine = async_engine();
    let module = Module::new(&engine, CALLS_HOST).unwrap();
    let mut linker = Linker::new(&engine);
    let then = Arc::new(then);
    linker
        .func_wrap_async("host", "f", move |_: Caller<'_, ()>, (): ()| {
            let then = then.clone();
            Box::new(async move {
                tokio::task::yield_now().await;
                then()
            })
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let result = run.call_async(&mut store, ()).await;
    (store, result)
}

#[derive(Debug)]
struct MyError;
impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}
impl std::error::Error for MyError {}

#[tokio::test]
async fn host_error_and_trap_from_an_async_host_call() {
    let (_, result) = run_failing_host(|| Err(MyError.into())).await;
    let err = result.unwrap_err();
    assert!(err.downcast_ref::<MyError>().is_some(), "{err:?}");
    let (_, result) = run_failing_host(|| Err(Trap::UnreachableCodeReached.into())).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached),
        "{err:?}"
    );
}

#[test]
fn panic_in_an_async_host_call_resumes_in_poll() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let join = runtime.block_on(async {
        tokio::spawn(async {
            let (_, _) = run_failing_host(|| panic!("host panicked on purpose")).await;
        })
        .await
    });
    let err = join.unwrap_err();
    assert!(err.is_panic());
    let payload = err.into_panic();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"host panicked on purpose")
    );
}

#[tokio::test]
async fn stack_overflow_on_a_fiber_is_a_trap() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (func $loop (export "loop") (param i32) (result i32)
              (call $loop (i32.add (local.get 0) (i32.const 1))))
            (func (export "ok") (result i32) (i32.const 7)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new_async(&mut store, &module, &[]).await?;
    let lp = instance.get_typed_func::<i32, i32>(&mut store, "loop")?;
    for _ in 0..3 {
        let err = lp.call_async(&mut store, 0).await.unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::StackOverflow),
            "{err:?}"
        );
    }
    let ok = instance.get_typed_func::<(), i32>(&mut store, "ok")?;
    assert_eq!(ok.call_async(&mut store, ()).await?, 7);
    Ok(())
}

#[test]
fn async_stack_size_must_exceed_max_wasm_stack() {
    let mut config = Config::new();
    config.async_support(true).async_stack_size(256 << 10);
    let err = Engine::new(&config).unwrap_err();
    assert!(err.to_string().contains("async_stack_size"), "{err}");
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicUsize>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_suspended_call_cancels_it_and_the_store_stays_usable() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "wait" (func $wait))
            (global $g (mut i32) (i32.const 0))
            (func (export "run") (global.set $g (i32.const 1)) (call $wait) (global.set $g (i32.const 2)))
            (func (export "get") (result i32) (global.get $g)))"#,
    )?;
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut linker = Linker::new(&engine);
    let flag = dropped.clone();
    linker.func_wrap_async("host", "wait", move |_: Caller<'_, ()>, (): ()| {
        let guard = DropFlag(flag.clone());
        Box::new(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        })
    })?;
    let mut store = Store::new(&engine, ());
    let mut cx = Context::from_waker(Waker::noop());
    let instance = {
        let mut fut = std::pin::pin!(linker.instantiate_async(&mut store, &module));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(i) => i?,
            Poll::Pending => panic!("instantiation has nothing to wait for"),
        }
    };
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    {
        let mut fut = Box::pin(run.call_async(&mut store, ()));
        for _ in 0..3 {
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        drop(fut);
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the pending host future was dropped"
    );
    // The store is usable: wasm stopped inside the host call, as after a trap.
    let get = instance.get_typed_func::<(), i32>(&mut store, "get")?;
    let mut fut = std::pin::pin!(get.call_async(&mut store, ()));
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => assert_eq!(v?, 1),
        Poll::Pending => panic!("`get` has nothing to wait for"),
    }
    Ok(())
}

#[tokio::test]
async fn sync_and_async_entry_points_do_not_mix() -> Result<()> {
    // Sync entry points on an async engine.
    let engine = async_engine();
    let module = Module::new(&engine, r#"(module (func (export "f")))"#)?;
    let mut store = Store::new(&engine, ());
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(err.to_string().contains("call_async"), "{err}");
    let instance = Instance::new_async(&mut store, &module, &[]).await?;
    let f = instance.get_func(&mut store, "f").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    assert!(err.to_string().contains("call_async"), "{err}");
    let err = f.typed::<(), ()>(&store)?.call(&mut store, ()).unwrap_err();
    assert!(err.to_string().contains("call_async"), "{err}");
    f.call_async(&mut store, &[], &mut []).await?;

    // Async entry points on a sync engine.
    let engine = Engine::default();
    let module = Module::new(&engine, CALLS_HOST)?;
    let mut store = Store::new(&engine, ());
    let err = Instance::new_async(&mut store, &module, &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("async_support"), "{err}");
    let mut linker = Linker::<()>::new(&engine);
    let err = linker
        .func_wrap_async("host", "f", |_: Caller<'_, ()>, (): ()| {
            Box::new(async { Ok(()) })
        })
        .unwrap_err();
    assert!(err.to_string().contains("async support"), "{err}");
    // An async host function reached through a synchronous call is an error.
    let f = Func::new_async(&mut store, FuncType::new([], []), |_, _, _| {
        Box::new(async { Ok(()) })
    });
    let instance = Instance::new(&mut store, &module, &[f.into()])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(
        format!("{err:#}").contains("outside of an async call"),
        "{err:?}"
    );
    let err = run.call_async(&mut store, ()).await.unwrap_err();
    assert!(err.to_string().contains("async_support"), "{err}");
    Ok(())
}

#[tokio::test]
async fn func_new_async_with_dynamic_values() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "add" (func $add (param i64 i64) (result i64)))
            (func (export "run") (result i64) (call $add (i64.const 40) (i64.const 2))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new([ValType::I64, ValType::I64], [ValType::I64]);
    let add = Func::new_async(&mut store, ty, |_caller, params, results| {
        Box::new(async move {
            tokio::task::yield_now().await;
            results[0] = Val::I64(params[0].unwrap_i64() + params[1].unwrap_i64());
            Ok(())
        })
    });
    let instance = Instance::new_async(&mut store, &module, &[add.into()]).await?;
    let run = instance.get_typed_func::<(), i64>(&mut store, "run")?;
    assert_eq!(run.call_async(&mut store, ()).await?, 42);
    Ok(())
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn stores_and_async_futures_are_send() {
    fn is_send<T: Send>() {}
    is_send::<Store<()>>();
    is_send::<Store<Vec<u8>>>();
    let engine = async_engine();
    let module = Module::new(&engine, CALLS_HOST).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let f = Func::wrap(&mut store, || {});
    let typed = f.typed::<(), ()>(&store).unwrap();
    // Built, checked and dropped unpolled: only the types matter here.
    assert_send(&f.call_async(&mut store, &[], &mut []));
    assert_send(&typed.call_async(&mut store, ()));
    assert_send(&Instance::new_async(&mut store, &module, &[]));
    assert_send(&linker.instantiate_async(&mut store, &module));
    let pre = linker.instantiate_pre(&module);
    if let Ok(pre) = &pre {
        assert_send(&pre.instantiate_async(&mut store));
    }
}

/// A loop summing `0..n` (as i64), for fuel tests.
const SUM_LOOP: &str = r#"(module
    (func (export "sum") (param $n i64) (result i64)
      (local $i i64) (local $acc i64)
      (block $done
        (loop $again
          (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
          (local.set $acc (i64.add (local.get $acc) (local.get $i)))
          (local.set $i (i64.add (local.get $i) (i64.const 1)))
          (br $again)))
      (local.get $acc)))"#;

/// Polls `future` with a waker that does nothing until it is ready, counting
/// the polls that returned `Pending` (each one a yield of the fiber).
fn poll_counting<F: Future>(future: F) -> (F::Output, usize) {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let mut pending = 0;
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return (out, pending),
            Poll::Pending => pending += 1,
        }
    }
}

#[test]
fn running_out_of_fuel_yields_and_injects_fuel() -> Result<()> {
    let mut config = Config::new();
    config.async_support(true).consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, SUM_LOOP)?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000)?;
    store.out_of_fuel_async_yield(u64::MAX, 10_000);
    let (instance, pending) = poll_counting(Instance::new_async(&mut store, &module, &[]));
    assert_eq!(pending, 0);
    let sum = instance?.get_typed_func::<i64, i64>(&mut store, "sum")?;
    let n = 100_000i64;
    let (result, yields) = poll_counting(sum.call_async(&mut store, n));
    assert_eq!(result?, n * (n - 1) / 2);
    // Each iteration costs several units: many refills of 10,000 were needed.
    assert!(yields >= 30, "only {yields} yields");

    // With two injections left, a long loop yields twice and then traps.
    store.set_fuel(1_000)?;
    store.out_of_fuel_async_yield(2, 1_000);
    let (result, yields) = poll_counting(sum.call_async(&mut store, n));
    let err = result.unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::OutOfFuel),
        "{err:?}"
    );
    assert_eq!(yields, 2);
    Ok(())
}

#[test]
fn fuel_async_yield_interval_yields_while_fuel_remains() -> Result<()> {
    let mut config = Config::new();
    config.async_support(true).consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, SUM_LOOP)?;
    let n = 100_000i64;
    let run = |fuel: u64, interval: Option<u64>| -> Result<(Result<i64>, usize, Store<()>)> {
        let mut store = Store::new(&engine, ());
        store.set_fuel(fuel)?;
        store.fuel_async_yield_interval(interval)?;
        let (instance, pending) = poll_counting(Instance::new_async(&mut store, &module, &[]));
        assert_eq!(pending, 0);
        let sum = instance?.get_typed_func::<i64, i64>(&mut store, "sum")?;
        let (result, yields) = poll_counting(sum.call_async(&mut store, n));
        Ok((result, yields, store))
    };

    // The cost of the loop, without yields.
    let fuel = 100_000_000u64;
    let (result, yields, store) = run(fuel, None)?;
    assert_eq!(result?, n * (n - 1) / 2);
    assert_eq!(yields, 0);
    let cost = store.fuel_consumed().unwrap();
    assert!(cost > 500_000, "the loop costs only {cost}");

    // Every 10,000 units: one yield per interval (each refill point lies
    // within one straight-line run's cost past the previous one), the same
    // result and exactly the same fuel spent.
    let interval = 10_000u64;
    let (result, yields, store) = run(fuel, Some(interval))?;
    assert_eq!(result?, n * (n - 1) / 2);
    let expected = (cost / interval) as usize;
    assert!(
        (expected - 1..=expected).contains(&yields),
        "{yields} yields for {cost} units at every {interval}"
    );
    assert_eq!(store.fuel_consumed(), Some(cost));
    assert_eq!(store.get_fuel()?, fuel - cost);

    // Half the fuel needed: it yields while fuel remains, then traps.
    let (result, yields, store) = run(cost / 2, Some(interval))?;
    let err = result.unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::OutOfFuel),
        "{err:?}"
    );
    let expected = (cost / 2 / interval) as usize;
    assert!(
        (expected - 1..=expected).contains(&yields),
        "{yields} yields for {} units at every {interval}",
        cost / 2
    );
    assert_eq!(store.get_fuel()?, 0);

    // `None` turns periodic yields off again.
    let mut store = Store::new(&engine, ());
    store.set_fuel(fuel)?;
    store.fuel_async_yield_interval(Some(interval))?;
    store.fuel_async_yield_interval(None)?;
    let instance = poll_counting(Instance::new_async(&mut store, &module, &[])).0?;
    let sum = instance.get_typed_func::<i64, i64>(&mut store, "sum")?;
    let (result, yields) = poll_counting(sum.call_async(&mut store, n));
    assert_eq!((result?, yields), (n * (n - 1) / 2, 0));
    assert_eq!(store.get_fuel()?, fuel - cost);

    // More fuel than the counter holds (`i64::MAX`) is kept exactly.
    store.set_fuel(u64::MAX)?;
    assert_eq!(store.get_fuel()?, u64::MAX);
    store.consume_fuel(1)?;
    assert_eq!(store.get_fuel()?, u64::MAX - 1);
    Ok(())
}

#[test]
fn fuel_async_yield_interval_needs_fuel_and_async() {
    let mut store = Store::new(&async_engine(), ());
    let err = store.fuel_async_yield_interval(Some(1)).unwrap_err();
    assert!(err.to_string().contains("fuel is not configured"), "{err}");

    let mut config = Config::new();
    config.consume_fuel(true);
    let mut store = Store::new(&Engine::new(&config).unwrap(), ());
    let err = store.fuel_async_yield_interval(Some(1)).unwrap_err();
    assert!(err.to_string().contains("async support"), "{err}");

    config.async_support(true);
    let mut store = Store::new(&Engine::new(&config).unwrap(), ());
    let err = store.fuel_async_yield_interval(Some(0)).unwrap_err();
    assert!(err.to_string().contains("must not be 0"), "{err}");
    store.fuel_async_yield_interval(Some(1)).unwrap();
}

#[test]
fn epoch_yields_let_two_infinite_loops_share_one_thread() -> Result<()> {
    let mut config = Config::new();
    config.async_support(true).epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "tick" (func $tick))
            (func (export "spin") (loop $l (call $tick) (br $l))))"#,
    )?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
                engine.increment_epoch();
            }
        })
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let counters = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for counter in &counters {
            let (engine, module, counter) = (engine.clone(), module.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                let mut store = Store::new(&engine, ());
                store.set_epoch_deadline(1);
                store.epoch_deadline_async_yield_and_update(1);
                let tick = Func::wrap(&mut store, move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                });
                let instance = Instance::new_async(&mut store, &module, &[tick.into()]).await?;
                let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
                spin.call_async(&mut store, ()).await
            }));
        }
        // This task only runs again because the loops yield at epoch deadlines.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let seen = [
            counters[0].load(Ordering::SeqCst),
            counters[1].load(Ordering::SeqCst),
        ];
        tokio::time::sleep(Duration::from_millis(50)).await;
        let later = [
            counters[0].load(Ordering::SeqCst),
            counters[1].load(Ordering::SeqCst),
        ];
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let err = task.await.unwrap_err();
            assert!(err.is_cancelled());
        }
        println!("iterations after 50 ms: {seen:?}, after 100 ms: {later:?}");
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        assert!(
            later[0] > seen[0] && later[1] > seen[1],
            "{seen:?} -> {later:?}"
        );
    });
    stop.store(true, Ordering::SeqCst);
    ticker.join().unwrap();
    Ok(())
}

const ASYNC_COMPONENT: &str = r#"(component
  (import "level" (func $level (param "x" u32) (result u32)))
  (core func $level' (canon lower (func $level)))
  (core module $M
    (import "" "level" (func $level (param i32) (result i32)))
    (func (export "run") (param i32) (result i32)
      (i32.add (call $level (local.get 0)) (i32.const 1))))
  (core instance $m (instantiate $M (with "" (instance (export "level" (func $level'))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m "run")))
)"#;

#[tokio::test]
async fn component_async_host_functions_and_calls() -> Result<()> {
    use tern::component;
    let mut config = Config::new();
    config.wasm_component_model(true).async_support(true);
    let engine = Engine::new(&config)?;
    let component = component::Component::new(&engine, ASYNC_COMPONENT)?;
    let mut linker = component::Linker::<u32>::new(&engine);
    linker
        .root()
        .func_wrap_async("level", |mut cx: StoreContextMut<'_, u32>, (x,): (u32,)| {
            Box::new(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                *cx.data_mut() += 1;
                Ok((x * 10,))
            })
        })?;
    let mut store = Store::new(&engine, 0u32);
    let err = linker.instantiate(&mut store, &component).unwrap_err();
    assert!(err.to_string().contains("instantiate_async"), "{err}");
    let instance = linker.instantiate_async(&mut store, &component).await?;
    let run = instance.get_typed_func::<(u32,), (u32,)>(&mut store, "run")?;
    assert_eq!(run.call_async(&mut store, (4,)).await?, (41,));
    run.post_return_async(&mut store).await?;
    let err = run.call(&mut store, (4,)).unwrap_err();
    assert!(err.to_string().contains("call_async"), "{err}");
    let f = instance.get_func(&mut store, "run").unwrap();
    let mut results = [component::Val::U32(0)];
    f.call_async(&mut store, &[component::Val::U32(5)], &mut results)
        .await?;
    assert_eq!(results[0], component::Val::U32(51));
    f.post_return_async(&mut store).await?;
    assert_eq!(*store.data(), 2);
    Ok(())
}

/// `Linker::func_new_async` (wasmtime 12): a dynamic host function whose body
/// awaits a timer, called from a wasm loop; refused on a sync engine.
#[tokio::test]
async fn linker_func_new_async_awaits_with_dynamic_values() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(&engine, SLEEP_LOOP)?;
    let mut linker: Linker<usize> = Linker::new(&engine);
    linker.func_new_async(
        "host",
        "sleep",
        FuncType::new([ValType::I32], [ValType::I32]),
        |mut caller, params, results| {
            Box::new(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                *caller.data_mut() += 1;
                results[0] = Val::I32(params[0].unwrap_i32() * 2);
                Ok(())
            })
        },
    )?;
    let mut store = Store::new(&engine, 0usize);
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call_async(&mut store, 5).await?, sum_of_doubles(5));
    assert_eq!(*store.data(), 5);

    let mut sync_linker: Linker<usize> = Linker::new(&Engine::default());
    let refused = sync_linker.func_new_async(
        "host",
        "sleep",
        FuncType::new([ValType::I32], [ValType::I32]),
        |_, _, _| Box::new(async { Ok(()) }),
    );
    let Err(err) = refused else {
        panic!("a sync engine must refuse func_new_async");
    };
    assert!(
        err.to_string().contains("async support"),
        "unexpected error: {err}"
    );
    Ok(())
}

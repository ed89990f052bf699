//! wasmtime 12's async linking API: `Linker::module_async` (reactors
//! initialised with `call_async`, commands instantiated afresh per call on
//! the caller's fiber), and the per-arity `Func::wrapN_async` /
//! `Linker::func_wrapN_async`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tern::*;

fn async_engine() -> Engine {
    let mut config = Config::new();
    config.async_support(true);
    Engine::new(&config).unwrap()
}

/// Pending on its first poll (after waking its task), ready on the second.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Polls `future` to completion with a no-op waker, counting the pending polls.
fn poll_counting<F: Future>(future: F) -> (F::Output, usize) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = std::pin::pin!(future);
    let mut pending = 0;
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return (out, pending),
            Poll::Pending => pending += 1,
        }
    }
}

#[test]
fn wrap_n_async_functions_take_separate_arguments_and_are_awaited() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "mul3" (func $mul3 (param i32 i32 i32) (result i32)))
            (import "host" "zero" (func $zero (result i32)))
            (func (export "run") (param i32) (result i32)
              (i32.add
                (call $mul3 (local.get 0) (i32.const 2) (i32.const 3))
                (call $zero))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap3_async(
        "host",
        "mul3",
        |mut caller: Caller<'_, usize>, a: i32, b: i32, c: i32| {
            Box::new(async move {
                YieldOnce(false).await;
                *caller.data_mut() += 1;
                a * b * c
            })
        },
    )?;
    linker.func_wrap0_async("host", "zero", |_: Caller<'_, usize>| {
        Box::new(async move {
            YieldOnce(false).await;
            Ok(0)
        })
    })?;
    let mut store = Store::new(&engine, 0usize);
    let (instance, _) = poll_counting(linker.instantiate_async(&mut store, &module));
    let run = instance?.get_typed_func::<i32, i32>(&mut store, "run")?;
    let (result, pending) = poll_counting(run.call_async(&mut store, 7));
    assert_eq!((result?, pending), (42, 2));
    assert_eq!(*store.data(), 1);

    let add = Func::wrap2_async(&mut store, |_: Caller<'_, usize>, a: i32, b: i64| {
        Box::new(async move {
            YieldOnce(false).await;
            Ok(i64::from(a) + b)
        })
    });
    let add = add.typed::<(i32, i64), i64>(&store)?;
    let (sum, pending) = poll_counting(add.call_async(&mut store, (2, 40)));
    assert_eq!((sum?, pending), (42, 1));
    // Outside an async call the future cannot be polled: an error.
    let mut plain = Store::new(&Engine::default(), 0usize);
    let add = Func::wrap1_async(&mut plain, |_: Caller<'_, usize>, a: i32| {
        Box::new(async move { a })
    });
    let err = add
        .typed::<i32, i32>(&plain)?
        .call(&mut plain, 1)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("outside of an async call"),
        "{err:#}"
    );
    Ok(())
}

/// A linker whose `host::slow_add(x, y)` waits once, counts and adds.
fn slow_linker(engine: &Engine) -> Result<Linker<usize>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap2_async(
        "host",
        "slow_add",
        |mut caller: Caller<'_, usize>, x: i32, y: i32| {
            Box::new(async move {
                YieldOnce(false).await;
                *caller.data_mut() += 1;
                x + y
            })
        },
    )?;
    Ok(linker)
}

#[test]
fn module_async_initialises_a_reactor_with_async_imports() -> Result<()> {
    let engine = async_engine();
    let reactor = Module::new(
        &engine,
        r#"(module
            (import "host" "slow_add" (func $add (param i32 i32) (result i32)))
            (global $g (mut i32) (i32.const 0))
            (func (export "_initialize") (global.set $g (call $add (i32.const 40) (i32.const 2))))
            (func (export "get") (result i32) (global.get $g)))"#,
    )?;
    let user = Module::new(
        &engine,
        r#"(module
            (import "reactor" "get" (func $get (result i32)))
            (func (export "run") (result i32) (call $get)))"#,
    )?;
    let mut linker = slow_linker(&engine)?;
    let mut store = Store::new(&engine, 0usize);
    let (defined, pending) = poll_counting(linker.module_async(&mut store, "reactor", &reactor));
    defined?;
    // `_initialize` ran once, awaiting the async import.
    assert_eq!((*store.data(), pending), (1, 1));
    let (instance, _) = poll_counting(linker.instantiate_async(&mut store, &user));
    let run = instance?.get_typed_func::<(), i32>(&mut store, "run")?;
    let (got, _) = poll_counting(run.call_async(&mut store, ()));
    assert_eq!(got?, 42);
    assert_eq!(*store.data(), 1);
    Ok(())
}

#[test]
fn module_async_command_instantiates_per_call_on_the_callers_fiber() -> Result<()> {
    let engine = async_engine();
    let command = Module::new(
        &engine,
        r#"(module
            (import "host" "slow_add" (func $add (param i32 i32) (result i32)))
            (global $calls (mut i32) (i32.const 0))
            (func (export "_start"))
            (func (export "run") (param i32) (result i32)
              (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
              (i32.add (call $add (local.get 0) (i32.const 1)) (global.get $calls))))"#,
    )?;
    let mut linker = slow_linker(&engine)?;
    let mut store = Store::new(&engine, 0usize);
    let (defined, pending) = poll_counting(linker.module_async(&mut store, "cmd", &command));
    defined?;
    assert_eq!((*store.data(), pending), (0, 0));
    let run = linker
        .get(&mut store, "cmd", "run")
        .and_then(|e| e.into_func())
        .unwrap()
        .typed::<i32, i32>(&store)?;
    for _ in 0..2 {
        // A fresh instance each time: `$calls` is 1 at every call.
        let (got, pending) = poll_counting(run.call_async(&mut store, 10));
        assert_eq!((got?, pending), (12, 1));
    }
    assert_eq!(*store.data(), 2);

    // Without async support, `module_async` refuses.
    let plain = Engine::default();
    let mut linker = Linker::<usize>::new(&plain);
    let mut store = Store::new(&plain, 0usize);
    let module = Module::new(&plain, "(module)")?;
    let (defined, _) = poll_counting(linker.module_async(&mut store, "m", &module));
    assert!(format!("{:#}", defined.unwrap_err()).contains("async_support"));
    Ok(())
}

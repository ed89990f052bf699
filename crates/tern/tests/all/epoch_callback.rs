//! wasmtime 12's epoch deadline callback (`Store::epoch_deadline_callback`,
//! `UpdateDeadline`) and `Store::out_of_fuel_trap`: the callback runs at each
//! deadline, its delta is relative to the current epoch, its error ends the
//! call, `Yield` really yields in async calls and is refused in synchronous
//! ones, the callback may use the store (nested wasm calls included), and
//! each epoch behaviour replaces the others.

use std::future::Future;
use std::task::{Context, Poll, Waker};
use tern::*;

/// The error the tests' callbacks stop wasm with.
#[derive(Debug)]
struct Stop(usize);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stopped by the epoch callback after {} calls", self.0)
    }
}

impl std::error::Error for Stop {}

fn engine(async_support: bool) -> Engine {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.async_support(async_support);
    Engine::new(&config).unwrap()
}

/// `run` loops forever, calling `host::tick` once per iteration; `add1` is
/// a plain function for nested calls.
const TICK_LOOP: &str = r#"(module
    (import "host" "tick" (func $tick))
    (func (export "run") (loop $l (call $tick) (br $l)))
    (func (export "add1") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"#;

/// `run` loops forever without calling anything.
const SPIN: &str = r#"(module (func (export "run") (loop $l (br $l))))"#;

#[derive(Default)]
struct Ticks {
    /// How often the guest called `tick` (each call advances the epoch).
    ticks: usize,
    /// `ticks` as each callback invocation saw it.
    seen: Vec<usize>,
}

#[test]
fn callback_deltas_are_relative_to_the_current_epoch_and_its_error_ends_the_call() -> Result<()> {
    let engine = engine(false);
    let module = Module::new(&engine, TICK_LOOP)?;
    let mut store = Store::new(&engine, Ticks::default());
    let tick = Func::wrap(&mut store, |mut caller: Caller<'_, Ticks>| {
        caller.engine().increment_epoch();
        caller.data_mut().ticks += 1;
    });
    let instance = Instance::new(&mut store, &module, &[tick.into()])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    store.epoch_deadline_callback(|mut cx| {
        let ticks = cx.data().ticks;
        cx.data_mut().seen.push(ticks);
        let calls = cx.data().seen.len();
        if calls == 5 {
            return Err(Stop(calls).into());
        }
        Ok(UpdateDeadline::Continue(3))
    });
    // Due at once: the first check (the function's entry) asks the callback.
    store.set_epoch_deadline(0);
    let err = run.call(&mut store, ()).unwrap_err();
    let stop = err
        .downcast_ref::<Stop>()
        .unwrap_or_else(|| panic!("expected the callback's error, got {err:?}"));
    assert_eq!(stop.0, 5);
    assert!(err.downcast_ref::<Trap>().is_none(), "{err:?}");
    // Each `Continue(3)` lets the guest run exactly three more ticks.
    assert_eq!(store.data().seen, [0, 3, 6, 9, 12]);
    assert_eq!(store.data().ticks, 12);
    Ok(())
}

#[test]
fn callback_can_stop_a_spinning_guest_after_n_extensions() -> Result<()> {
    let engine = engine(false);
    let module = Module::new(&engine, SPIN)?;
    let mut store = Store::new(&engine, 0usize);
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    store.epoch_deadline_callback(|mut cx| {
        *cx.data_mut() += 1;
        if *cx.data() == 100 {
            return Err(Stop(100).into());
        }
        // Still due: the next loop header asks again.
        Ok(UpdateDeadline::Continue(0))
    });
    store.set_epoch_deadline(0);
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(err.downcast_ref::<Stop>().is_some(), "{err:?}");
    assert_eq!(*store.data(), 100);
    Ok(())
}

#[test]
fn callback_may_call_wasm_and_a_nested_deadline_traps() -> Result<()> {
    #[derive(Default)]
    struct Nested {
        add1: Option<TypedFunc<i32, i32>>,
        ticks: usize,
        nested_error: Option<Trap>,
        nested_result: Option<i32>,
    }
    let engine = engine(false);
    let module = Module::new(&engine, TICK_LOOP)?;
    let mut store = Store::new(&engine, Nested::default());
    let tick = Func::wrap(&mut store, |mut caller: Caller<'_, Nested>| {
        caller.data_mut().ticks += 1;
    });
    let instance = Instance::new(&mut store, &module, &[tick.into()])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let add1 = instance.get_typed_func::<i32, i32>(&mut store, "add1")?;
    store.data_mut().add1 = Some(add1);
    store.epoch_deadline_callback(|mut cx| {
        let add1 = cx.data().add1.unwrap();
        // The deadline is still due, and this callback is running: the nested
        // call's entry check traps.
        let err = add1.call(&mut cx, 1).unwrap_err();
        cx.data_mut().nested_error = err.downcast_ref::<Trap>().copied();
        // With the deadline moved, the nested call runs.
        cx.set_epoch_deadline(1_000);
        let sum = add1.call(&mut cx, 41)?;
        cx.data_mut().nested_result = Some(sum);
        Err(Stop(1).into())
    });
    store.set_epoch_deadline(0);
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(err.downcast_ref::<Stop>().is_some(), "{err:?}");
    assert_eq!(store.data().nested_error, Some(Trap::Interrupt));
    assert_eq!(store.data().nested_result, Some(42));
    // The callback is back in place: the next deadline asks it again.
    store.data_mut().nested_result = None;
    store.set_epoch_deadline(0);
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(err.downcast_ref::<Stop>().is_some(), "{err:?}");
    assert_eq!(store.data().nested_result, Some(42));
    Ok(())
}

#[test]
fn yield_is_refused_in_a_synchronous_call() -> Result<()> {
    let engine = engine(false);
    let module = Module::new(&engine, SPIN)?;
    let mut store = Store::new(&engine, 0usize);
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    store.epoch_deadline_callback(|mut cx| {
        *cx.data_mut() += 1;
        if *cx.data() > 1 {
            // Only reached if the refused `Yield` let wasm go on.
            return Err(Stop(2).into());
        }
        Ok(UpdateDeadline::Yield(0))
    });
    store.set_epoch_deadline(0);
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(
        format!("{err:#}").contains("`UpdateDeadline::Yield` needs an async call"),
        "{err:#}"
    );
    assert_eq!(*store.data(), 1);
    Ok(())
}

#[test]
fn yield_suspends_an_async_call_at_each_deadline() -> Result<()> {
    let engine = engine(true);
    let module = Module::new(&engine, SPIN)?;
    let mut store = Store::new(&engine, 0usize);
    let mut cx = Context::from_waker(Waker::noop());
    let instance = {
        let mut fut = std::pin::pin!(Instance::new_async(&mut store, &module, &[]));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(i) => i?,
            Poll::Pending => panic!("instantiation has nothing to wait for"),
        }
    };
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    store.epoch_deadline_callback(|mut cx| {
        *cx.data_mut() += 1;
        if *cx.data() == 4 {
            return Err(Stop(4).into());
        }
        Ok(UpdateDeadline::Yield(0))
    });
    store.set_epoch_deadline(0);
    {
        let mut fut = Box::pin(run.call_async(&mut store, ()));
        // Each poll runs to the next deadline, where the callback yields.
        for _ in 0..3 {
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Err(err)) => assert!(err.downcast_ref::<Stop>().is_some(), "{err:?}"),
            Poll::Ready(Ok(())) => panic!("an endless loop returned"),
            Poll::Pending => panic!("the fourth callback returned an error"),
        }
    }
    assert_eq!(*store.data(), 4);
    Ok(())
}

#[test]
fn each_epoch_behaviour_replaces_the_others() -> Result<()> {
    let engine = engine(true);
    let module = Module::new(&engine, SPIN)?;
    let mut store = Store::new(&engine, 0usize);
    let mut cx = Context::from_waker(Waker::noop());
    let instance = {
        let mut fut = std::pin::pin!(Instance::new_async(&mut store, &module, &[]));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(i) => i?,
            Poll::Pending => panic!("instantiation has nothing to wait for"),
        }
    };
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let mut first_poll = |store: &mut Store<usize>| -> Poll<Result<()>> {
        store.set_epoch_deadline(0);
        let mut fut = Box::pin(run.call_async(&mut *store, ()));
        fut.as_mut().poll(&mut cx)
    };
    let counting_stop = |mut cx: StoreContextMut<'_, usize>| -> Result<UpdateDeadline> {
        *cx.data_mut() += 1;
        Err(Stop(1).into())
    };

    // The callback replaces yield-and-update: the first deadline stops the call.
    store.epoch_deadline_async_yield_and_update(1);
    store.epoch_deadline_callback(counting_stop);
    match first_poll(&mut store) {
        Poll::Ready(Err(err)) => assert!(err.downcast_ref::<Stop>().is_some(), "{err:?}"),
        other => panic!("expected the callback's error, got {other:?}"),
    }
    assert_eq!(*store.data(), 1);

    // Yield-and-update replaces the callback: the call yields, the callback
    // is not called.
    store.epoch_deadline_async_yield_and_update(1);
    assert!(first_poll(&mut store).is_pending());
    assert_eq!(*store.data(), 1);

    // Trap replaces the callback.
    store.epoch_deadline_callback(counting_stop);
    store.epoch_deadline_trap();
    match first_poll(&mut store) {
        Poll::Ready(Err(err)) => {
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::Interrupt),
                "{err:?}"
            )
        }
        other => panic!("expected an interrupt, got {other:?}"),
    }
    assert_eq!(*store.data(), 1);
    Ok(())
}

#[test]
fn out_of_fuel_trap_undoes_out_of_fuel_async_yield() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, SPIN)?;
    let mut store = Store::new(&engine, ());
    store.add_fuel(1_000)?;
    let mut cx = Context::from_waker(Waker::noop());
    let instance = {
        let mut fut = std::pin::pin!(Instance::new_async(&mut store, &module, &[]));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(i) => i?,
            Poll::Pending => panic!("instantiation has nothing to wait for"),
        }
    };
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;

    // With injections, running out yields.
    store.out_of_fuel_async_yield(u64::MAX, 1_000);
    {
        let mut fut = Box::pin(run.call_async(&mut store, ()));
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }

    // `out_of_fuel_trap` restores the default: running out traps.
    store.out_of_fuel_trap();
    store.set_fuel(1_000)?;
    let mut fut = Box::pin(run.call_async(&mut store, ()));
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Err(err)) => {
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::OutOfFuel),
                "{err:?}"
            )
        }
        other => panic!("expected an out-of-fuel trap, got {other:?}"),
    }
    Ok(())
}

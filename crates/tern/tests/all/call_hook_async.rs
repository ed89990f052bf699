//! wasmtime 12's async call hook (`Store::call_hook_async`,
//! `CallHookHandler`): awaited on the call's fiber at each host/wasm
//! transition, in order; its error aborts the call; outside an async call it
//! is an error, not a panic.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tern::*;

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

#[derive(Default)]
struct Seen {
    events: Vec<CallHook>,
    host_calls: usize,
}

/// Records every transition after waiting once; fails at `fail_at`, if set.
struct Recorder {
    fail_at: Option<CallHook>,
}

#[derive(Debug)]
struct HookSaidNo;

impl std::fmt::Display for HookSaidNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the async call hook refused")
    }
}

impl std::error::Error for HookSaidNo {}

#[async_trait::async_trait]
impl CallHookHandler<Seen> for Recorder {
    async fn handle_call_event(&self, t: &mut Seen, ch: CallHook) -> Result<()> {
        YieldOnce(false).await;
        t.events.push(ch);
        if self.fail_at == Some(ch) {
            return Err(HookSaidNo.into());
        }
        Ok(())
    }
}

const CALLS_HOST: &str = r#"(module
    (import "host" "f" (func $f (param i32) (result i32)))
    (func (export "run") (param i32) (result i32)
      (i32.add (call $f (local.get 0)) (i32.const 1))))"#;

fn setup(fail_at: Option<CallHook>, async_support: bool) -> Result<(Store<Seen>, Instance)> {
    let mut config = Config::new();
    config.async_support(async_support);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, CALLS_HOST)?;
    let mut store = Store::new(&engine, Seen::default());
    let f = Func::wrap(&mut store, |mut caller: Caller<'_, Seen>, x: i32| {
        caller.data_mut().host_calls += 1;
        x * 10
    });
    let imports = [f.into()];
    let instance = if async_support {
        let mut cx = Context::from_waker(Waker::noop());
        let mut fut = std::pin::pin!(Instance::new_async(&mut store, &module, &imports));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(i) => i?,
            Poll::Pending => panic!("no hook yet: nothing to wait for"),
        }
    } else {
        Instance::new(&mut store, &module, &imports)?
    };
    store.call_hook_async(Recorder { fail_at });
    Ok((store, instance))
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
fn async_hook_sees_every_transition_in_order_and_is_awaited() -> Result<()> {
    let (mut store, instance) = setup(None, true)?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    let (result, pending) = poll_counting(run.call_async(&mut store, 4));
    assert_eq!(result?, 41);
    // One wait per transition: each really suspended the call.
    assert_eq!(pending, 4);
    assert_eq!(
        store.data().events,
        [
            CallHook::CallingWasm,
            CallHook::CallingHost,
            CallHook::ReturningFromHost,
            CallHook::ReturningFromWasm,
        ]
    );
    assert_eq!(store.data().host_calls, 1);
    Ok(())
}

#[test]
fn async_hook_error_aborts_the_transition() -> Result<()> {
    let (mut store, instance) = setup(Some(CallHook::CallingHost), true)?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    let (result, _) = poll_counting(run.call_async(&mut store, 4));
    let err = result.unwrap_err();
    assert!(err.downcast_ref::<HookSaidNo>().is_some(), "{err:?}");
    // The host function never ran.
    assert_eq!(store.data().host_calls, 0);
    assert_eq!(
        store.data().events[..2],
        [CallHook::CallingWasm, CallHook::CallingHost]
    );
    Ok(())
}

#[test]
fn async_hook_outside_an_async_call_is_an_error_not_a_panic() -> Result<()> {
    let (mut store, instance) = setup(None, false)?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    let err = run.call(&mut store, 4).unwrap_err();
    assert!(
        format!("{err:#}").contains("`Store::call_hook_async`"),
        "{err:#}"
    );
    assert_eq!(store.data().host_calls, 0);
    Ok(())
}

//! The async API's call costs, printed beside the synchronous ones: an empty
//! `call_async`, and a wasm→async-host→wasm round trip (with a host future
//! that is ready at once, and with one that suspends the fiber once).
//!
//! Futures are polled with a no-op waker on this thread, so the figures are
//! the fibers' own cost, without an executor's.

use anyhow::Result;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tern::*;

/// Polls `future` until it is ready.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Pending once (the fiber suspends and is resumed), then ready.
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

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Prints the async call figures.
pub fn async_calls() -> Result<()> {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "ready" (func $ready (param i32) (result i32)))
            (import "h" "yield" (func $yield (param i32) (result i32)))
            (func (export "nop"))
            (func (export "ready") (param i32) (result i32) (call $ready (local.get 0)))
            (func (export "yield") (param i32) (result i32) (call $yield (local.get 0))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap_async("h", "ready", |_: Caller<'_, ()>, (x,): (i32,)| {
        Box::new(async move { Ok(x.wrapping_add(1)) })
    })?;
    linker.func_wrap_async("h", "yield", |_: Caller<'_, ()>, (x,): (i32,)| {
        Box::new(async move {
            YieldOnce(false).await;
            Ok(x.wrapping_add(1))
        })
    })?;
    let mut store = Store::new(&engine, ());
    let instance = block_on(linker.instantiate_async(&mut store, &module))?;
    let nop = instance.get_typed_func::<(), ()>(&mut store, "nop")?;
    const CALLS: u32 = 100_000;
    let per_call = |d: Duration| d.as_secs_f64() * 1e9 / f64::from(CALLS);
    let d = best_of(3, || {
        for _ in 0..CALLS {
            block_on(nop.call_async(&mut store, ())).unwrap();
        }
    });
    println!(
        "host->wasm call_async (TypedFunc, nop): {:.1} ns",
        per_call(d)
    );
    for name in ["ready", "yield"] {
        let f = instance.get_typed_func::<i32, i32>(&mut store, name)?;
        let d = best_of(3, || {
            for i in 0..CALLS {
                let r = block_on(f.call_async(&mut store, i as i32)).unwrap();
                assert_eq!(r, (i as i32).wrapping_add(1));
            }
        });
        println!(
            "host->wasm->async host->wasm round trip (func_wrap_async, future {}): {:.1} ns",
            if name == "ready" {
                "ready at once"
            } else {
                "pending once"
            },
            per_call(d)
        );
    }
    Ok(())
}

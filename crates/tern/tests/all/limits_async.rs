//! wasmtime 12's async resource limiter (`ResourceLimiterAsync`,
//! `Store::limiter_async`) and `Memory::grow_async` / `Table::grow_async`:
//! the limiter's futures are awaited on the call's fiber (a pending answer
//! makes the call's future pending), a refusal is -1 for wasm, an error traps,
//! and asking it outside an async call is an error, not a panic.

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

/// Allows memories up to `max_pages` pages and tables up to `max_elements`
/// elements, after waiting once per question; counts the questions.
struct Slow {
    max_pages: usize,
    max_elements: u32,
    memory_questions: usize,
    table_questions: usize,
    fail_with_error: bool,
}

impl Slow {
    fn new(max_pages: usize, max_elements: u32) -> Self {
        Self {
            max_pages,
            max_elements,
            memory_questions: 0,
            table_questions: 0,
            fail_with_error: false,
        }
    }
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the async limiter refused with an error")
    }
}

impl std::error::Error for Refused {}

#[async_trait::async_trait]
impl ResourceLimiterAsync for Slow {
    async fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        YieldOnce(false).await;
        self.memory_questions += 1;
        let allowed = desired <= self.max_pages * 65536;
        if !allowed && self.fail_with_error {
            return Err(Refused.into());
        }
        Ok(allowed)
    }

    async fn table_growing(
        &mut self,
        _current: u32,
        desired: u32,
        _maximum: Option<u32>,
    ) -> Result<bool> {
        YieldOnce(false).await;
        self.table_questions += 1;
        Ok(desired <= self.max_elements)
    }
}

const GROWER: &str = r#"(module
    (memory (export "memory") 1)
    (table (export "table") 1 funcref)
    (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "grow_table") (param i32) (result i32)
      (table.grow (ref.null func) (local.get 0))))"#;

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
fn async_limiter_is_awaited_for_wasm_growth_and_its_refusal_is_minus_one() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(&engine, GROWER)?;
    let mut store = Store::new(&engine, Slow::new(3, 5));
    store.limiter_async(|s| s as &mut dyn ResourceLimiterAsync);
    // Instantiation asks about the initial memory and table (one wait each).
    let (instance, pending) = poll_counting(Instance::new_async(&mut store, &module, &[]));
    let instance = instance?;
    assert_eq!(pending, 2);
    assert_eq!(store.data().memory_questions, 1);
    assert_eq!(store.data().table_questions, 1);

    let grow_memory = instance.get_typed_func::<i32, i32>(&mut store, "grow_memory")?;
    let grow_table = instance.get_typed_func::<i32, i32>(&mut store, "grow_table")?;
    let (old, pending) = poll_counting(grow_memory.call_async(&mut store, 2));
    assert_eq!((old?, pending), (1, 1));
    let (refused, pending) = poll_counting(grow_memory.call_async(&mut store, 1));
    assert_eq!((refused?, pending), (-1, 1));
    assert_eq!(store.data().memory_questions, 3);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.size(&store), 3);

    let (old, pending) = poll_counting(grow_table.call_async(&mut store, 4));
    assert_eq!((old?, pending), (1, 1));
    let (refused, pending) = poll_counting(grow_table.call_async(&mut store, 1));
    assert_eq!((refused?, pending), (-1, 1));
    assert_eq!(store.data().table_questions, 3);
    Ok(())
}

#[test]
fn async_limiter_error_traps_the_growing_wasm() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(&engine, GROWER)?;
    let mut store = Store::new(&engine, Slow::new(2, 5));
    store.data_mut().fail_with_error = true;
    store.limiter_async(|s| s as &mut dyn ResourceLimiterAsync);
    let (instance, _) = poll_counting(Instance::new_async(&mut store, &module, &[]));
    let instance = instance?;
    let grow_memory = instance.get_typed_func::<i32, i32>(&mut store, "grow_memory")?;
    let (err, _) = poll_counting(grow_memory.call_async(&mut store, 5));
    let err = err.unwrap_err();
    assert!(err.downcast_ref::<Refused>().is_some(), "{err:?}");

    Ok(())
}

#[tokio::test]
async fn async_limiter_can_sleep_on_tokio() -> Result<()> {
    struct Sleepy(usize);
    #[async_trait::async_trait]
    impl ResourceLimiterAsync for Sleepy {
        async fn memory_growing(
            &mut self,
            _: usize,
            desired: usize,
            _: Option<usize>,
        ) -> Result<bool> {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            self.0 += 1;
            Ok(desired <= 2 << 16)
        }
        async fn table_growing(&mut self, _: u32, _: u32, _: Option<u32>) -> Result<bool> {
            tokio::task::yield_now().await;
            Ok(true)
        }
    }
    let engine = async_engine();
    let module = Module::new(&engine, GROWER)?;
    let mut store = Store::new(&engine, Sleepy(0));
    store.limiter_async(|s| s as &mut dyn ResourceLimiterAsync);
    let instance = Instance::new_async(&mut store, &module, &[]).await?;
    let grow_memory = instance.get_typed_func::<i32, i32>(&mut store, "grow_memory")?;
    assert_eq!(grow_memory.call_async(&mut store, 1).await?, 1);
    assert_eq!(grow_memory.call_async(&mut store, 1).await?, -1);
    assert_eq!(store.data().0, 3);
    Ok(())
}

#[test]
fn grow_async_asks_the_async_limiter_and_sync_grow_is_a_clean_error() -> Result<()> {
    let engine = async_engine();
    let module = Module::new(&engine, GROWER)?;
    let mut store = Store::new(&engine, Slow::new(2, 3));
    store.limiter_async(|s| s as &mut dyn ResourceLimiterAsync);
    let (instance, _) = poll_counting(Instance::new_async(&mut store, &module, &[]));
    let instance = instance?;
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let table = instance.get_table(&mut store, "table").unwrap();

    let (old, pending) = poll_counting(memory.grow_async(&mut store, 1));
    assert_eq!((old?, pending), (1, 1));
    let (err, _) = poll_counting(memory.grow_async(&mut store, 1));
    assert!(err.is_err());
    assert_eq!(memory.size(&store), 2);

    let (old, pending) = poll_counting(table.grow_async(&mut store, 2, Val::FuncRef(None)));
    assert_eq!((old?, pending), (1, 1));
    let (err, _) = poll_counting(table.grow_async(&mut store, 1, Val::FuncRef(None)));
    assert!(err.is_err());
    assert_eq!(table.size(&store), 3);

    // Outside an async call the async limiter cannot answer: an error.
    let questions = store.data().memory_questions;
    let err = memory.grow(&mut store, 0).unwrap_err();
    assert!(
        format!("{err:#}").contains("`ResourceLimiterAsync` can only answer during async calls"),
        "{err:#}"
    );
    assert_eq!(store.data().memory_questions, questions);
    let err = table
        .grow(&mut store, 0u32, Val::FuncRef(None))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("ResourceLimiterAsync"),
        "{err:#}"
    );
    Ok(())
}

#[test]
fn async_limiter_on_a_synchronous_store_is_an_error_not_a_panic() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GROWER)?;
    let mut store = Store::new(&engine, Slow::new(10, 10));
    store.limiter_async(|s| s as &mut dyn ResourceLimiterAsync);
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(
        format!("{err:#}").contains("ResourceLimiterAsync"),
        "{err:#}"
    );
    // `grow_async` needs async support.
    let mut plain = Store::new(&engine, ());
    let memory2 = Memory::new(&mut plain, MemoryType::new(1, None))?;
    let (err, _) = poll_counting(memory2.grow_async(&mut plain, 1));
    assert!(format!("{:#}", err.unwrap_err()).contains("async_support"));
    Ok(())
}

#[test]
fn instance_count_of_an_async_limiter_is_enforced() -> Result<()> {
    struct Few;
    #[async_trait::async_trait]
    impl ResourceLimiterAsync for Few {
        async fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> Result<bool> {
            Ok(true)
        }
        async fn table_growing(&mut self, _: u32, _: u32, _: Option<u32>) -> Result<bool> {
            Ok(true)
        }
        fn instances(&self) -> usize {
            1
        }
    }
    let engine = async_engine();
    let module = Module::new(&engine, "(module)")?;
    let mut store = Store::new(&engine, Few);
    store.limiter_async(|s| s as &mut dyn ResourceLimiterAsync);
    let (first, _) = poll_counting(Instance::new_async(&mut store, &module, &[]));
    first?;
    let (second, _) = poll_counting(Instance::new_async(&mut store, &module, &[]));
    let err = second.unwrap_err();
    assert!(
        format!("{err:#}").contains("instance count too high"),
        "{err:#}"
    );
    Ok(())
}

//! Fibers: the native stacks async calls run wasm on, and how a host future
//! that is not ready suspends the wasm waiting for it.
//!
//! An async entry point (`Func::call_async`, `Instance::new_async`, …) wraps
//! the ordinary synchronous call in a closure and runs it on a fiber, a
//! coroutine with its own stack ([`on_fiber`] returns a [`FiberFuture`]).
//! When wasm calls an async host function, the function's future is polled
//! on the fiber ([`AsyncCxPtr::block_on`]); while it is pending the fiber
//! suspends, and the outer future's `poll` returns `Pending`. The next `poll`
//! resumes the fiber, which polls the host future again with the new task
//! context. Traps, host errors and panics need nothing new: they unwind to the
//! `catch_traps` on the fiber exactly as on a thread stack, and a panic that
//! reaches the fiber's base is carried out and resumed by `poll`.
//!
//! # Why corosensei
//! The stack switch itself is a few lines of assembly per architecture plus
//! unwinding and sanitizer details; `corosensei` (pinned exactly in the
//! workspace) is a maintained, audited crate doing only that, used by other
//! production runtimes, with a guard page below every stack and support for
//! x86-64, aarch64 and riscv64. Writing our own switch would add
//! per-architecture assembly to Tern for no behaviour we need beyond it.
//!
//! # What is per fiber
//! * **The stack limit.** `VMRuntimeLimits::stack_limit` belongs to the
//!   store, but the value wasm compares with must lie on the stack it runs on.
//!   [`FiberFuture::poll`] installs the fiber's own limit (initially "none",
//!   so the first `catch_traps` on the fiber sets it `max_wasm_stack` below
//!   its entry, inside the fiber's stack because `Engine::new` checks
//!   `async_stack_size > max_wasm_stack`) and puts the caller's back when the
//!   fiber suspends or ends. Deep recursion on a fiber is therefore the same
//!   clean `StackOverflow` trap as on a thread.
//! * **The thread-locals of trap handling.** The chain of `catch_traps`
//!   activations (`traphandlers::CURRENT`) and the embedder's signal handler
//!   are thread-locals pointing into the fiber's stack while it runs; `poll`
//!   swaps them in before resuming and out after (see
//!   `traphandlers::FiberTls`), so the signal handler always finds the
//!   landing pad of the stack that faulted, and a fiber may be resumed on
//!   another thread (each activation's trace buffer is re-pointed at the
//!   resuming thread's, whose alternate signal stack is set up first).
//! * **The guard page.** While a fiber runs, its guard page is published to
//!   the signal handler, which reports a fault there as a fiber stack overflow
//!   (host code that outgrew the fiber; wasm is stopped earlier by the limit)
//!   and aborts instead of letting the process die of an anonymous SIGSEGV.
//!
//! # Cancellation
//! Dropping a [`FiberFuture`] whose fiber is suspended resumes it once more
//! with [`Resume::Cancel`]: the pending host future is dropped on the fiber
//! and the host call returns an error, which unwinds the wasm frames like any
//! host error, so every Rust frame on the fiber is left normally before the
//! stack goes back to the pool. The store stays usable (as after a trap).
//!
//! # Stacks are pooled
//! [`StackPool`] (one per engine) keeps the stacks of finished calls, so an
//! async call maps no memory once the pool is warm.

use super::traphandlers::{self, FiberTls};
use super::vmcontext::VMRuntimeLimits;
use crate::store::StoreInner;
use corosensei::stack::{DefaultStack, Stack};
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::task::{Context, Poll};

/// Most stacks a pool keeps; more finished stacks are unmapped.
const MAX_POOLED_STACKS: usize = 256;

/// Fiber stacks of one engine, reused across async calls.
pub struct StackPool {
    size: usize,
    free: Mutex<Vec<DefaultStack>>,
}

impl std::fmt::Debug for StackPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackPool")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl StackPool {
    /// A pool of stacks of `size` usable bytes (a guard page comes on top).
    pub fn new(size: usize) -> Self {
        Self {
            size,
            free: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> anyhow::Result<DefaultStack> {
        let pooled = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(stack) => Ok(stack),
            None => DefaultStack::new(self.size)
                .map_err(|e| anyhow::anyhow!("failed to map a fiber stack: {e}")),
        }
    }

    fn give(&self, stack: DefaultStack) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < MAX_POOLED_STACKS {
            free.push(stack);
        }
    }
}

/// What a suspended fiber is resumed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Poll the pending host future again.
    Poll,
    /// The call's future was dropped: give up and unwind.
    Cancel,
}

type FiberYielder = Yielder<Resume, ()>;

/// A store's view of the fiber running its wasm: the fiber's yielder and the
/// task context of the `poll` that resumed it. Both are null when no fiber of
/// this store runs.
#[derive(Debug, Default)]
struct AsyncCx {
    yielder: Cell<*const FiberYielder>,
    poll_cx: Cell<*mut Context<'static>>,
}

/// The store's [`AsyncCx`], in an allocation of its own so that it is reached
/// through this pointer even while the store is mutably borrowed (host
/// functions hold `&mut` to the store while their future is polled).
#[derive(Debug)]
pub struct AsyncCxBox(NonNull<AsyncCx>);

// SAFETY: the cells are only touched by the thread currently running the
// store's wasm or polling its call future, which holds the store's borrow.
unsafe impl Send for AsyncCxBox {}
// SAFETY: as above; a shared store reference never reaches the cells.
unsafe impl Sync for AsyncCxBox {}

impl Default for AsyncCxBox {
    fn default() -> Self {
        Self(NonNull::from(Box::leak(Box::default())))
    }
}

impl Drop for AsyncCxBox {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `default` and freed only here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl AsyncCxBox {
    /// A copy of the pointer, for a host function to use while its future
    /// borrows the store.
    pub fn ptr(&self) -> AsyncCxPtr {
        AsyncCxPtr(self.0, PhantomData)
    }

    /// Whether a fiber of this store is running now (wasm was entered
    /// through an async entry point).
    pub fn on_fiber(&self) -> bool {
        // SAFETY: the allocation lives as long as `self`.
        !unsafe { self.0.as_ref() }.yielder.get().is_null()
    }
}

/// A pointer to a store's [`AsyncCx`], valid while the store lives; a host
/// function takes it before creating its future and uses it only during the
/// call, which cannot outlive the store.
#[derive(Debug, Clone, Copy)]
pub struct AsyncCxPtr(NonNull<AsyncCx>, PhantomData<*mut ()>);

impl AsyncCxPtr {
    /// Polls `future` to completion on the running fiber, suspending the fiber
    /// (the outer future returns `Pending`) each time it is not ready.
    ///
    /// # Errors
    /// Fails without polling when no fiber of this store is running (an async
    /// host function called through a synchronous entry point), and when the
    /// call's future is dropped while `future` is pending (the call is
    /// cancelled; `future` is dropped here, on the fiber).
    pub fn block_on<F: Future + Send>(self, future: F) -> anyhow::Result<F::Output> {
        // SAFETY: the store (which owns the allocation) outlives the host call
        // that holds this pointer (the type's contract).
        let acx = unsafe { self.0.as_ref() };
        let yielder = acx.yielder.get();
        if yielder.is_null() {
            anyhow::bail!(
                "an async host function was called outside of an async call: \
                 use `call_async` (or `instantiate_async`) with `Config::async_support`"
            );
        }
        let mut future = pin!(future);
        loop {
            let cx = acx.poll_cx.get();
            if cx.is_null() {
                // Resumed by a cancelling `Drop`, which has no task context.
                anyhow::bail!("the async call was cancelled (its future was dropped)");
            }
            // SAFETY: `FiberFuture::poll` stored its context before resuming
            // this fiber and clears it only after the fiber suspends again.
            let cx = unsafe { &mut *cx };
            if let Poll::Ready(out) = future.as_mut().poll(cx) {
                return Ok(out);
            }
            // SAFETY: `yielder` is the yielder of the fiber we are running on
            // (set when it started); it lives at the base of this stack.
            match unsafe { &*yielder }.suspend(()) {
                Resume::Poll => {}
                Resume::Cancel => {
                    anyhow::bail!("the async call was cancelled (its future was dropped)")
                }
            }
        }
    }
}

/// Ready on its second poll, after waking its task on the first: suspends the
/// fiber once and lets the executor run other tasks first.
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

impl AsyncCxPtr {
    /// Suspends the running fiber once, letting the executor run other tasks
    /// (fuel and epoch yields).
    ///
    /// # Errors
    /// As [`AsyncCxPtr::block_on`].
    pub fn yield_now(self) -> anyhow::Result<()> {
        self.block_on(YieldOnce(false))
    }
}

/// The future of one call running on a fiber; returns the closure's result.
pub struct FiberFuture<'a, R> {
    coroutine: Option<Coroutine<Resume, (), std::thread::Result<R>, DefaultStack>>,
    engine: crate::Engine,
    acx: NonNull<AsyncCx>,
    limits: *const VMRuntimeLimits,
    /// The fiber's yielder (null until it first runs).
    yielder: *const FiberYielder,
    /// The fiber's trap-handling thread-locals while it is suspended.
    tls: FiberTls,
    /// The fiber's stack limit while it is suspended.
    stack_limit: usize,
    /// The fiber's guard page, `start..end`.
    guard: (usize, usize),
    _store: PhantomData<&'a mut ()>,
}

// SAFETY: while the fiber is suspended its stack holds: the closure and store
// borrow given to `on_fiber` (both required `Send` there), host futures
// (`block_on` requires `Send`), `catch_traps` states (raw pointers and plain
// words; their thread-bound trace buffer is re-pointed on every resume) and
// wasm frames (plain values). The trap-handling thread-locals are swapped out
// on every suspend, so nothing of the fiber stays tied to the thread that ran
// it last.
unsafe impl<R: Send> Send for FiberFuture<'_, R> {}

/// Prepares `func` to run on a fiber of the store's engine; nothing runs until
/// the returned future is polled.
///
/// # Errors
/// Fails when no stack can be mapped.
pub fn on_fiber<'a, T: Send, R: Send + 'a>(
    store: &'a mut StoreInner<T>,
    func: impl FnOnce(&mut StoreInner<T>) -> R + Send + 'a,
) -> anyhow::Result<FiberFuture<'a, R>> {
    let engine = store.opaque.engine.clone();
    let stack = engine.inner.fiber_stacks.take()?;
    let guard_end = stack.limit().get() + super::mmap::page_size();
    let guard = (stack.limit().get(), guard_end);
    let acx = store.opaque.async_cx.0;
    let limits: *const VMRuntimeLimits = &*store.opaque.limits;
    let store: *mut StoreInner<T> = store;
    let body = move |yielder: &FiberYielder, _first: Resume| {
        // SAFETY: the AsyncCx lives as long as the store, which outlives the
        // future (lifetime 'a), which outlives the fiber (drop completes it).
        unsafe { acx.as_ref() }.yielder.set(yielder);
        // SAFETY: `store` comes from the `&'a mut` given to `on_fiber`, which
        // the future holds for 'a; only this fiber uses it while it runs.
        catch_unwind(AssertUnwindSafe(|| func(unsafe { &mut *store })))
    };
    // SAFETY: `body` borrows data for 'a (the store and what `func` captured);
    // the future holds that borrow and its `Drop` drives the coroutine to
    // completion (or leaks it together with its stack, never reusing it), so
    // the borrowed data outlives the coroutine's use of it.
    let coroutine = unsafe { Coroutine::with_stack_unchecked(stack, body) };
    Ok(FiberFuture {
        coroutine: Some(coroutine),
        engine,
        acx,
        limits,
        yielder: ptr::null(),
        tls: FiberTls::default(),
        stack_limit: usize::MAX,
        guard,
        _store: PhantomData,
    })
}

impl<R> FiberFuture<'_, R> {
    /// Resumes the fiber with `how` under `cx`, swapping in its per-fiber
    /// state around the switch. `None` when the fiber suspended.
    fn resume(
        &mut self,
        how: Resume,
        cx: *mut Context<'static>,
    ) -> anyhow::Result<Option<std::thread::Result<R>>> {
        // The resuming thread needs its alternate signal stack and trace buffer.
        let trace = super::thread_stack::trace_buffer()?;
        let Some(coroutine) = self.coroutine.as_mut() else {
            anyhow::bail!("the async call already completed");
        };
        // SAFETY: the AsyncCx lives as long as the store ('a).
        let acx = unsafe { self.acx.as_ref() };
        let outer = (acx.yielder.get(), acx.poll_cx.get());
        acx.yielder.set(self.yielder);
        acx.poll_cx.set(cx);
        // SAFETY: the limits belong to the store borrowed for 'a; no wasm of
        // this store runs now (its fiber is suspended or has not started).
        let outer_limit = unsafe { (*self.limits).stack_limit.get().replace(self.stack_limit) };
        let outer_tls = traphandlers::enter_fiber(self.tls, trace, self.guard);
        let result = coroutine.resume(how);
        self.tls = traphandlers::leave_fiber(outer_tls);
        // SAFETY: as above; the fiber is suspended or done again.
        self.stack_limit = unsafe { (*self.limits).stack_limit.get().replace(outer_limit) };
        self.yielder = acx.yielder.get();
        acx.yielder.set(outer.0);
        acx.poll_cx.set(outer.1);
        Ok(match result {
            CoroutineResult::Yield(()) => None,
            CoroutineResult::Return(out) => {
                if let Some(coroutine) = self.coroutine.take() {
                    self.engine.inner.fiber_stacks.give(coroutine.into_stack());
                }
                Some(out)
            }
        })
    }
}

impl<R> Future for FiberFuture<'_, R> {
    type Output = anyhow::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin`; the fiber's stack does not move with `self`.
        let this = self.get_mut();
        let cx: *mut Context<'static> = (cx as *mut Context<'_>).cast();
        match this.resume(Resume::Poll, cx) {
            Err(e) => Poll::Ready(Err(e)),
            Ok(None) => Poll::Pending,
            Ok(Some(Ok(out))) => Poll::Ready(Ok(out)),
            Ok(Some(Err(panic))) => resume_unwind(panic),
        }
    }
}

impl<R> Drop for FiberFuture<'_, R> {
    fn drop(&mut self) {
        let Some(coroutine) = &self.coroutine else {
            return;
        };
        if !coroutine.started() {
            // Dropping a coroutine that never ran only drops its closure.
            if let Some(coroutine) = self.coroutine.take() {
                drop(coroutine);
            }
            return;
        }
        // Suspended in a host call: cancel it until the fiber returns. Each
        // cancelled host call unwinds wasm like an error, so this ends.
        let mut cancelled: Option<Box<dyn Any + Send>> = None;
        while self.coroutine.is_some() {
            match self.resume(Resume::Cancel, ptr::null_mut()) {
                Ok(None) => {}
                Ok(Some(out)) => {
                    if let Err(panic) = out {
                        cancelled = Some(panic);
                    }
                }
                Err(_) => {
                    // The thread cannot run wasm (it is exiting): the fiber's
                    // frames can neither finish nor be unwound here, so its
                    // stack is leaked, never reused.
                    if let Some(coroutine) = self.coroutine.take() {
                        std::mem::forget(coroutine);
                    }
                }
            }
        }
        // A panic while cancelling is dropped: a destructor must not unwind
        // (the future may be dropped during another panic).
        drop(cancelled);
    }
}

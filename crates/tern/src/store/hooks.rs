//! Embedder hooks on a store: [`CallHook`] transitions between host and wasm
//! (`Store::call_hook`, or `Store::call_hook_async` with a [`CallHookHandler`])
//! and the embedder's own signal handler (`Store::set_signal_handler`).
//!
//! The call hook runs when the host calls into wasm and when that call returns
//! (`CallingWasm` / `ReturningFromWasm`, in `Func::call_raw`), and around every
//! host function (`CallingHost` / `ReturningFromHost`, in `func::invoke_host`,
//! which wasm's entry shim and host-side calls both use: closures are never
//! wrapped, and a store without a hook pays one check per call). An error from
//! the hook aborts the transition and reaches the embedder like a host
//! function's error.
//!
//! An async hook's future is awaited on the fiber of the async call making
//! the transition (as async host functions are), so it runs only during
//! async calls; a transition outside one (a synchronous call, possible only
//! without `Config::async_support`) fails with an error saying so.
use super::{Store, StoreInner};
use anyhow::{bail, Result};
use std::sync::Arc;

/// A transition between host and wasm code, passed to the hook installed by
/// [`Store::call_hook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallHook {
    /// The host is about to call into wasm.
    CallingWasm,
    /// A call from the host into wasm has returned (or trapped).
    ReturningFromWasm,
    /// Wasm is about to call a host function.
    CallingHost,
    /// A host function called by wasm has returned.
    ReturningFromHost,
}

impl CallHook {
    /// Whether this transition enters host code.
    pub fn entering_host(&self) -> bool {
        matches!(self, Self::ReturningFromWasm | Self::CallingHost)
    }

    /// Whether this transition leaves host code.
    pub fn exiting_host(&self) -> bool {
        matches!(self, Self::ReturningFromHost | Self::CallingWasm)
    }
}

/// An async call hook (install it with [`Store::call_hook_async`]): told of
/// every transition between host and wasm code of the store's async calls,
/// it may `.await` before the transition proceeds.
#[async_trait::async_trait]
pub trait CallHookHandler<T>: Send {
    /// Called with the store's data at transition `ch`; an error aborts the
    /// call in progress with that error.
    ///
    /// # Errors
    /// Whatever the embedder decides.
    async fn handle_call_event(&self, t: &mut T, ch: CallHook) -> Result<()>;
}

/// What `Store::call_hook` installs.
pub(crate) type CallHookFn<T> = dyn FnMut(&mut T, CallHook) -> Result<()> + Send + Sync;

/// What `Store::call_hook` or `Store::call_hook_async` installs.
pub(crate) enum CallHookInner<T> {
    Sync(Box<CallHookFn<T>>),
    Async(Box<dyn CallHookHandler<T> + Send + Sync>),
}

impl<T> StoreInner<T> {
    /// Runs the call hook, if one is installed, for transition `hook`.
    ///
    /// # Errors
    /// The hook's error; for an async hook, also a transition outside an
    /// async call and a cancelled call.
    pub(crate) fn call_hook(&mut self, hook: CallHook) -> Result<()> {
        match &mut self.call_hook {
            Some(CallHookInner::Sync(f)) => f(&mut self.data, hook),
            Some(CallHookInner::Async(handler)) => {
                if !self.opaque.async_cx.on_fiber() {
                    bail!(
                        "an async call hook (`Store::call_hook_async`) can only run during \
                         async calls (`call_async`, `instantiate_async`, ...)"
                    );
                }
                let acx = self.opaque.async_cx.ptr();
                acx.block_on(handler.handle_call_event(&mut self.data, hook))?
            }
            None => Ok(()),
        }
    }
}

impl<T> Store<T> {
    /// Installs `hook`, called with the store's data at every transition between
    /// host and wasm code (see [`CallHook`]). An error returned by the hook
    /// aborts the call in progress with that error.
    pub fn call_hook(
        &mut self,
        hook: impl FnMut(&mut T, CallHook) -> Result<()> + Send + Sync + 'static,
    ) {
        self.inner.call_hook = Some(CallHookInner::Sync(Box::new(hook)));
    }

    /// Installs an async call hook: `hook.handle_call_event` is called and
    /// awaited at every transition between host and wasm code, as
    /// [`Store::call_hook`]'s closure is (replacing it). Its future runs on
    /// the async call's fiber; a transition outside an async call fails with
    /// an error.
    #[allow(
        clippy::implied_bounds_in_impls,
        reason = "wasmtime 12's signature, spelled as it is"
    )]
    pub fn call_hook_async(&mut self, hook: impl CallHookHandler<T> + Send + Sync + 'static) {
        self.inner.call_hook = Some(CallHookInner::Async(Box::new(hook)));
    }

    /// Installs a handler that sees every signal (`SIGSEGV`, `SIGBUS`, `SIGILL`,
    /// `SIGFPE`) raised while this store's wasm runs, before Tern interprets it
    /// as a trap. The handler gets the signal number, its `siginfo_t` and the
    /// `ucontext_t`; returning `true` means it handled the signal and execution
    /// resumes where the signal was raised, `false` lets Tern handle it.
    ///
    /// # Safety
    /// The handler runs inside a signal handler: it must be async-signal-safe
    /// (no allocation, no locks) and, when it returns `true`, it must have made
    /// resuming at the faulting instruction correct (for example by changing the
    /// context or the memory protection); otherwise the fault repeats forever or
    /// wasm continues in a corrupted state.
    #[allow(
        unsafe_code,
        reason = "the API is unsafe; the body only stores the handler"
    )]
    pub unsafe fn set_signal_handler<H>(&mut self, handler: H)
    where
        H: 'static
            + Fn(libc::c_int, *const libc::siginfo_t, *const libc::c_void) -> bool
            + Send
            + Sync,
    {
        self.inner.opaque.signal_handler = Some(Arc::new(handler));
    }
}

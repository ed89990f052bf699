//! The embedder's signal handler (`Store::set_signal_handler`): consulted by the
//! trap handler before Tern interprets a signal raised while that store's wasm runs.
//!
//! The handler of the store whose wasm is running is published in a thread-local
//! for the duration of the call ([`enter`]); the trap handler reads it with
//! [`consult`]. The thread-local is a `const`-initialised `Cell` of a pointer, so
//! reading it in a signal handler allocates nothing and takes no lock.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::Arc;

/// What `Store::set_signal_handler` installs: given the signal number, its
/// `siginfo_t` and the `ucontext_t`, returns `true` when it handled the signal
/// (execution then resumes where the signal was raised).
pub type SignalHandler =
    dyn Fn(libc::c_int, *const libc::siginfo_t, *const c_void) -> bool + Send + Sync;

thread_local! {
    static CURRENT: Cell<Option<*const SignalHandler>> = const { Cell::new(None) };
}

/// Publishes `handler` (or none) for the wasm running on this thread until the
/// returned guard drops (never inlined: a fiber may move between threads
/// between `enter` and the drop, see `vm/fiber.rs`); the guard keeps the handler alive and restores the
/// previous one (calls nest: wasm → host → wasm of another store).
#[inline(never)]
pub fn enter(handler: Option<Arc<SignalHandler>>) -> HandlerGuard {
    let previous = CURRENT.with(|c| c.replace(handler.as_ref().map(Arc::as_ptr)));
    HandlerGuard {
        _handler: handler,
        previous,
    }
}

/// Restores the previously published handler on drop.
pub struct HandlerGuard {
    _handler: Option<Arc<SignalHandler>>,
    previous: Option<*const SignalHandler>,
}

impl Drop for HandlerGuard {
    #[inline(never)]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Publishes `handler` and returns the one published before: a fiber's own
/// value is swapped in while it runs (see `vm/fiber.rs`). Never inlined, so the
/// thread-local's address is computed afresh on the thread running now.
#[inline(never)]
pub(crate) fn swap(handler: Option<*const SignalHandler>) -> Option<*const SignalHandler> {
    CURRENT.with(|c| c.replace(handler))
}

/// Asks the published handler, if any, about a signal; `true` means it was handled.
///
/// # Safety
/// Must be called from the trap handler with the arguments the kernel passed it.
pub unsafe fn consult(
    signum: libc::c_int,
    info: *const libc::siginfo_t,
    ctx: *const c_void,
) -> bool {
    let Some(handler) = CURRENT.with(|c| c.get()) else {
        return false;
    };
    // SAFETY: the pointer was published by `enter`, whose guard (alive for as long
    // as the pointer is published) holds an `Arc` of the handler.
    let handler = unsafe { &*handler };
    handler(signum, info, ctx)
}

//! The embedder's signal handler (`Store::set_signal_handler`): consulted by the
//! trap handler before Tern interprets a signal raised while that store's wasm runs.
//!
//! Nothing is published per call: `catch_traps` records the entering store's
//! handler (a plain pointer, possibly none) in the activation's
//! `CallThreadState`, which the trap handler already reads, and passes it to
//! [`consult`]. The store owns the handler and cannot replace or drop it while
//! its wasm runs (that needs `&mut Store`), so the pointer stays valid.

use std::ffi::c_void;

/// What `Store::set_signal_handler` installs: given the signal number, its
/// `siginfo_t` and the `ucontext_t`, returns `true` when it handled the signal
/// (execution then resumes where the signal was raised).
pub type SignalHandler =
    dyn Fn(libc::c_int, *const libc::siginfo_t, *const c_void) -> bool + Send + Sync;

/// Asks `handler`, if any, about a signal; `true` means it was handled.
///
/// # Safety
/// Must be called from the trap handler with the arguments the kernel passed it,
/// and `handler` must be the innermost activation's live handler.
pub unsafe fn consult(
    handler: Option<*const SignalHandler>,
    signum: libc::c_int,
    info: *const libc::siginfo_t,
    ctx: *const c_void,
) -> bool {
    let Some(handler) = handler else {
        return false;
    };
    // SAFETY: the caller's promise: the store keeps the handler alive while its
    // wasm runs.
    let handler = unsafe { &*handler };
    handler(signum, info, ctx)
}

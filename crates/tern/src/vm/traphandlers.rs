//! Trap handling: how a trap in wasm becomes an `Err` at the host call that
//! entered wasm, without ever crashing the host.
//!
//! Every host→wasm entry goes through [`catch_traps`], which records a
//! `setjmp`-like landing pad (the assembly entry `tern_enter_wasm` of
//! `helpers.c`) in a thread-local [`CallThreadState`], linked to the previous
//! one for nested entries (wasm → host → wasm).
//!
//! * A trap instruction (`ud2`), an integer-division fault or a guard-page access
//!   raises a signal. [`trap_handler`] checks that the faulting PC is a trap site
//!   in registered wasm code; if so it records the trap kind and a backtrace and
//!   `longjmp`s to the innermost landing pad. Signals from anywhere else go to the
//!   handler that was installed before ours.
//! * A host function's error or panic is caught in its entry shim (no Rust frame
//!   with live values is skipped), stored in the state, and the shim then
//!   `longjmp`s over the wasm frames with [`raise`].
//!
//! Only Cranelift frames and frames with nothing left to drop are ever jumped
//! over; the landing pad returns normally into Rust and the error (or panic) is
//! re-raised there.
//!
//! # The signal handler is async-signal-safe
//! On the trap path the handler only reads a `const` thread-local (`CURRENT`,
//! no lazy initialisation, no destructor), reads the `ucontext`, searches the
//! code registry (lock-free, no allocation: see `vm/registry.rs`), writes the
//! backtrace into this thread's preallocated trace buffer (see
//! `vm/thread_stack.rs`), stores plain words into the `CallThreadState` and
//! `longjmp`s. It never allocates, frees, locks or touches `Unwind` (which owns
//! heap data): the landing pad builds the `Unwind::Trap` after the jump. It runs
//! on Tern's own alternate signal stack (with a guard page), set up the first
//! time a thread enters wasm.
//!
//! # What unwinding relies on
//! * Cranelift `preserve_frame_pointers = true` (set in `tern-cranelift`'s
//!   compiler): every wasm function and trampoline keeps a frame-pointer chain,
//!   `[fp]` = caller's fp and `[fp + 8]` = return address (x86-64 and aarch64),
//!   which [`walk_frames`] follows from the faulting frame (or the last
//!   wasm-to-host trampoline) until the first return address outside
//!   registered wasm code. `unwind_info = false` is fine because nothing uses
//!   DWARF/SEH unwinding through wasm frames.
//! * `enable_probestack = false` together with the prologue stack-limit check
//!   against `VMRuntimeLimits::stack_limit` (set here on the outermost entry to
//!   `max_wasm_stack` below the entry's stack pointer): deep recursion traps
//!   with a trap code at a registered trap site instead of faulting on the
//!   thread's guard page, so the handler runs with the thread stack intact.
//! * Every trap site compiled code can fault at is in the module's trap table
//!   (`CodeInfo::trap_at`); a fault anywhere else, even in wasm code, is not a
//!   wasm trap and is passed on to the previous handler.
//! * `longjmp` skips only frames that own nothing: Cranelift frames, the
//!   handler's, and host entry shims / libcalls that have moved everything they
//!   owned into the `Unwind` before calling [`raise`]; [`catch_traps`]'s
//!   `# Safety` makes its callers promise the same for the code they enter.
//! * The landing pad restores the host's callee-saved registers and stack
//!   pointer as they were at the entry (`tern_enter_wasm`); nothing else of
//!   the host's state (signal mask, floating-point control) is changed by
//!   wasm, so nothing else needs restoring.

use super::registry;
use super::signal_handler::SignalHandler;
use super::thread_stack::{self, TraceBuffer};
use super::vmcontext::{VMRuntimeLimits, ValRaw};
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::ptr;
use std::sync::Once;
use tern_environ::TrapKind;

extern "C" {
    /// Records a landing pad in `*jmp_buf_out` and calls the array-call
    /// trampoline `entry(vmctx, vmctx, values, wasm_call)`; 1 when it
    /// returned, 0 when [`tern_longjmp`] came back (`helpers.c`).
    fn tern_enter_wasm(
        jmp_buf_out: *mut *mut c_void,
        entry: *const u8,
        vmctx: *mut u8,
        values: *mut ValRaw,
        wasm_call: *const u8,
    ) -> i32;
    fn tern_longjmp(jmp_buf: *mut c_void) -> !;
}

/// One call of compiled code through an array-call trampoline: what
/// [`catch_traps`] enters.
#[derive(Debug, Clone, Copy)]
pub struct ArrayCall {
    /// The trampoline, compiled with the array-call ABI
    /// `extern "C" fn(callee_vmctx, caller_vmctx, *mut ValRaw, wasm_call)`.
    pub trampoline: *const u8,
    /// The callee's vmctx (also passed as the caller's).
    pub vmctx: *mut u8,
    /// The argument and result slots.
    pub values: *mut ValRaw,
    /// The callee's code.
    pub wasm_call: *const u8,
}

/// Why wasm execution ended early.
pub enum Unwind {
    /// Compiled code trapped.
    Trap {
        /// The trap.
        kind: TrapKind,
        /// Program counters of the wasm frames, innermost first.
        pcs: Vec<usize>,
    },
    /// A host function returned an error.
    Error {
        /// The host's error.
        error: anyhow::Error,
        /// Program counters of the wasm frames, innermost first.
        pcs: Vec<usize>,
    },
    /// A host function panicked.
    Panic(Box<dyn Any + Send>),
}

/// One host→wasm activation on this thread.
pub struct CallThreadState {
    jmp_buf: Cell<*mut c_void>,
    /// Set by [`raise`] (ordinary code, may own heap data).
    unwind: UnsafeCell<Option<Unwind>>,
    /// Set by the signal handler: the trap kind and how many frames it wrote
    /// into `trace` (plain words, so the handler never drops or allocates).
    trap: Cell<Option<(TrapKind, usize)>>,
    /// The trace buffer of the thread running this activation (re-pointed
    /// when a fiber resumes on another thread: see [`enter_fiber`]).
    trace: Cell<TraceBuffer>,
    limits: *const VMRuntimeLimits,
    /// The store's embedder signal handler (`Store::set_signal_handler`), kept
    /// alive by the store for the whole activation.
    signal_handler: Option<*const SignalHandler>,
    /// The store's `last_wasm_exit_fp` when this activation began (see
    /// [`outer_activation_pcs`]).
    saved_exit_fp: usize,
    prev: Cell<*const CallThreadState>,
}

thread_local! {
    static CURRENT: Cell<*const CallThreadState> = const { Cell::new(ptr::null()) };
    /// The guard page (`start..end`) of the fiber running on this thread, or
    /// `(0, 0)` (see `vm/fiber.rs`).
    static FIBER_GUARD: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// The innermost activation on this thread. Never inlined (nor its setter):
/// code on a fiber may resume on another thread between two accesses, so a
/// thread-local's address must not be computed once and reused across a call.
#[inline(never)]
fn current() -> *const CallThreadState {
    CURRENT.with(|c| c.get())
}

/// Makes `state` the innermost activation on this thread and returns the
/// previous one (see [`current`]).
#[inline(never)]
fn replace_current(state: *const CallThreadState) -> *const CallThreadState {
    CURRENT.with(|c| c.replace(state))
}

/// Sets the innermost activation on this thread (see [`current`]).
#[inline(never)]
fn set_current(state: *const CallThreadState) {
    CURRENT.with(|c| c.set(state));
}

/// A fiber's trap-handling thread-locals, kept while it is suspended.
#[derive(Debug, Clone, Copy)]
pub struct FiberTls {
    current: *const CallThreadState,
    guard: (usize, usize),
}

impl Default for FiberTls {
    /// A fiber that has not run: no activation (so no embedder handler,
    /// which each activation carries).
    fn default() -> Self {
        Self {
            current: ptr::null(),
            guard: (0, 0),
        }
    }
}

/// Installs a fiber's thread-locals before it resumes on this thread (whose
/// trace buffer is `trace`, and `guard` the fiber's guard page); returns the
/// thread's own, for [`leave_fiber`].
pub fn enter_fiber(fiber: FiberTls, trace: TraceBuffer, guard: (usize, usize)) -> FiberTls {
    let outer = FiberTls {
        current: current(),
        guard: FIBER_GUARD.with(|g| g.replace(guard)),
    };
    set_current(fiber.current);
    let mut state = fiber.current;
    while !state.is_null() {
        // SAFETY: the fiber's activations live on its stack, which is
        // suspended (so they are not in use) and ends its chain with null
        // (a fiber starts with no activation).
        let s = unsafe { &*state };
        s.trace.set(trace);
        state = s.prev.get();
    }
    outer
}

/// Puts the thread's own thread-locals back after a fiber suspended or
/// ended; returns the fiber's, for its next [`enter_fiber`].
pub fn leave_fiber(outer: FiberTls) -> FiberTls {
    let fiber = FiberTls {
        current: current(),
        guard: FIBER_GUARD.with(|g| g.replace(outer.guard)),
    };
    set_current(outer.current);
    fiber
}

/// Calls compiled code (`call`) with a landing pad for traps.
///
/// `limits` is the calling store's runtime limits; on the outermost entry its
/// stack limit is set `max_wasm_stack` bytes below the current stack pointer.
/// `store` is the entering call's store, kept in the limits' `entered_store`
/// while wasm runs (the previous value is restored after); `signal_handler` is
/// that store's embedder signal handler, which the trap handler consults first
/// while wasm runs.
///
/// Inlined into its one caller (`vm::call_wasm`), so that a host→wasm call
/// is one Rust frame and the assembly entry; everything past a normal return
/// is out of line ([`landed`]).
///
/// # Errors
/// Returns how execution unwound when it did not return normally, and an
/// `Unwind::Error` when this thread's signal stack cannot be set up.
///
/// # Safety
/// A trap or a host error `longjmp`s from inside the call back to this
/// function, skipping every frame in between without running destructors.
/// The caller promises that this is harmless and that the call is valid:
/// * `call.trampoline` is an array-call trampoline compiled for the exact
///   signature of the function at `call.wasm_call`, whose vmctx is
///   `call.vmctx`, and `call.values` has a slot for every parameter and
///   result; that code's host calls and libcalls hold nothing that needs
///   dropping when they jump (see the module docs);
/// * `limits` points to the live runtime limits of the store whose wasm runs,
///   and `store` is that store's `StoreInner<T>`, derived from an exclusive
///   borrow the caller does not use until this returns;
/// * `signal_handler`, if any, stays alive until this returns.
#[inline(always)]
pub unsafe fn catch_traps(
    store: *mut u8,
    limits: *const VMRuntimeLimits,
    max_wasm_stack: usize,
    signal_handler: Option<*const SignalHandler>,
    call: ArrayCall,
) -> Result<(), Unwind> {
    let trace = match thread_stack::trace_buffer() {
        Ok(trace) => trace,
        Err(error) => {
            return Err(Unwind::Error {
                error,
                pcs: Vec::new(),
            })
        }
    };
    // SAFETY: the caller promises `limits` is live; only this thread's wasm and
    // this function (which restores them) touch these fields meanwhile.
    let (saved_limit, saved_exit_fp, saved_store) = unsafe {
        (
            *(*limits).stack_limit.get(),
            *(*limits).last_wasm_exit_fp.get(),
            std::mem::replace(&mut *(*limits).entered_store.get(), store),
        )
    };
    let state = CallThreadState {
        jmp_buf: Cell::new(ptr::null_mut()),
        unwind: UnsafeCell::new(None),
        trap: Cell::new(None),
        trace: Cell::new(trace),
        limits,
        signal_handler,
        saved_exit_fp,
        prev: Cell::new(ptr::null()),
    };
    if saved_limit == usize::MAX {
        // Every frame of this activation lies below `state`.
        let here = ptr::addr_of!(state) as usize;
        // SAFETY: as above.
        unsafe { *(*limits).stack_limit.get() = here.saturating_sub(max_wasm_stack) };
    }
    // No wasm of this activation has stopped anywhere yet: a stack-root walk
    // before its first exit must find none of its frames, never follow a
    // frame pointer left by an activation that has ended.
    // SAFETY: as above.
    unsafe { *(*limits).last_wasm_exit_fp.get() = 0 };
    // One thread-local access to publish the state and learn the enclosing
    // one. Nothing reads `prev` before wasm runs (no wasm fault can happen
    // in between), so setting it just after is equivalent.
    state.prev.set(replace_current(&state));
    // SAFETY: the jump buffer slot outlives the call; the caller promises a
    // valid array call; a longjmp back skips only frames that own nothing
    // (this function's `# Safety`).
    let returned = unsafe {
        tern_enter_wasm(
            state.jmp_buf.as_ptr(),
            call.trampoline,
            call.vmctx,
            call.values,
            call.wasm_call,
        )
    };
    set_current(state.prev.get());
    // SAFETY: restoring what we saved above, on the same thread.
    unsafe {
        *(*limits).stack_limit.get() = saved_limit;
        *(*limits).last_wasm_exit_fp.get() = saved_exit_fp;
        *(*limits).entered_store.get() = saved_store;
    }
    if returned == 1 {
        // Nothing was stored in `state.unwind` (only a jump back does
        // that): no destructor to run.
        std::mem::forget(state);
        return Ok(());
    }
    Err(landed(&state))
}

/// What unwound an activation that jumped back to its landing pad, with the
/// wasm frames of the activations around it appended to its backtrace.
#[cold]
#[inline(never)]
fn landed(state: &CallThreadState) -> Unwind {
    // The wasm frames of the enclosing activations are still on the stack.
    let outer = outer_activation_pcs(state);
    let mut unwind = if let Some((kind, frames)) = state.trap.get() {
        // SAFETY: the handler wrote `frames` (≤ cap) slots of this thread's trace
        // buffer before jumping here, and nothing has run wasm on this thread since.
        let pcs = unsafe { std::slice::from_raw_parts(state.trace.get().ptr, frames) }.to_vec();
        Unwind::Trap { kind, pcs }
    } else {
        // SAFETY: the jump back is over: nothing else touches `unwind` now.
        let unwind = unsafe { (*state.unwind.get()).take() };
        unwind.unwrap_or(Unwind::Trap {
            kind: TrapKind::UnreachableCodeReached,
            pcs: vec![],
        })
    };
    if let Unwind::Trap { pcs, .. } | Unwind::Error { pcs, .. } = &mut unwind {
        pcs.extend(outer);
    }
    unwind
}

/// The wasm frames of the activations enclosing `state` (wasm that called a
/// host function that entered wasm again), innermost first.
///
/// Each enclosing activation's wasm left through a wasm-to-host trampoline
/// whose frame pointer its store recorded: for the same store that value was
/// saved when the inner activation began, for another store it is still in
/// that store's limits. Frames are only followed between the two activations'
/// `CallThreadState`s (locals of their `catch_traps` frames), so even a stale
/// value can only make the walk stop early, never read outside the live stack.
fn outer_activation_pcs(state: &CallThreadState) -> Vec<usize> {
    let mut pcs = Vec::new();
    let mut inner = state;
    while !inner.prev.get().is_null() {
        // SAFETY: `prev` is the live activation enclosing `inner` on this thread.
        let outer = unsafe { &*inner.prev.get() };
        let fp = if ptr::eq(inner.limits, outer.limits) {
            inner.saved_exit_fp
        } else {
            // SAFETY: the enclosing activation's store outlives its activation.
            unsafe { *(*outer.limits).last_wasm_exit_fp.get() }
        };
        let low = inner as *const CallThreadState as usize;
        let high = outer as *const CallThreadState as usize;
        walk_frames_between(fp, low, high, MAX_OUTER_FRAMES, |ret, _| pcs.push(ret));
        inner = outer;
    }
    pcs
}

/// How many frames of each enclosing activation a backtrace records.
const MAX_OUTER_FRAMES: usize = 10_000;

/// Like `walk_frames`, but only follows frame pointers that rise strictly
/// within `low..high`, a range of this thread's live stack (so the walk ends
/// even on a corrupt chain), and at most `max_frames` frames. `visit` gets
/// each wasm return address and the frame pointer of the frame it returns
/// into (not checked against the range).
fn walk_frames_between(
    mut fp: usize,
    low: usize,
    high: usize,
    max_frames: usize,
    mut visit: impl FnMut(usize, usize),
) {
    let mut frames = 0;
    while fp > low && fp.saturating_add(16) <= high && fp.is_multiple_of(8) && frames < max_frames {
        // SAFETY: fp and fp + 8 are aligned words inside low..high, a range of
        // this thread's live stack, so both are readable.
        let (next_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if registry::lookup(ret.wrapping_sub(1)).is_none() {
            break;
        }
        visit(ret, next_fp);
        frames += 1;
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
}

/// Calls `visit(ret, fp)` for each wasm frame on this thread's stack that
/// belongs to the store whose runtime limits are `limits`, innermost first:
/// `ret` is the return address at which the frame is stopped (a call into
/// the host, a trampoline or another wasm function) and `fp` its frame
/// pointer. Every `fp` given lies inside the live stack range of the
/// frame's activation. Frames of other stores' activations are skipped; no
/// frame of the store is left out, however deep the stack (a collector
/// needs them all).
///
/// A store's activations are found on this thread's `CallThreadState` chain
/// (one per `catch_traps` of that store); the innermost one's wasm stopped at
/// the wasm-to-host trampoline whose frame pointer is the store's
/// `last_wasm_exit_fp` now, and each outer one's at the value that field had
/// when the next inner activation of the same store began (`saved_exit_fp`,
/// restored when that activation ends).
///
/// # Safety
/// Must be called on the thread running `limits`' store's wasm, while the
/// store's innermost wasm activation (if any) is stopped in a host function
/// it called through a wasm-to-host trampoline (which recorded its frame
/// pointer in `last_wasm_exit_fp`), not in a libcall, which records nothing.
/// `limits` must point to that store's live runtime limits.
pub(super) unsafe fn for_each_store_frame(
    limits: *const VMRuntimeLimits,
    mut visit: impl FnMut(usize, usize),
) {
    // Every wasm frame of the innermost activation lies above this local.
    let here = 0u8;
    let mut low = ptr::addr_of!(here) as usize;
    // SAFETY: the caller promises `limits` is the store's live limits.
    let mut exit_fp = unsafe { *(*limits).last_wasm_exit_fp.get() };
    let mut state = current();
    while !state.is_null() {
        // SAFETY: a non-null CURRENT, and each `prev`, is the live state of an
        // activation on this thread's stack, enclosing the ones inside it.
        let s = unsafe { &*state };
        let high = s as *const CallThreadState as usize;
        if ptr::eq(s.limits, limits) {
            walk_frames_between(exit_fp, low, high, usize::MAX, |ret, fp| {
                if fp > low && fp < high {
                    visit(ret, fp);
                }
            });
            exit_fp = s.saved_exit_fp;
        }
        low = high;
        state = s.prev.get();
    }
}

/// The wasm frames on the stack now, innermost first, when a host function
/// called by wasm asks (`WasmBacktrace::capture`): those below the innermost
/// host call and those of every enclosing activation.
pub fn current_backtrace() -> Vec<usize> {
    let state = current();
    if state.is_null() {
        return Vec::new();
    }
    let mut pcs = host_exit_backtrace();
    // SAFETY: the innermost activation is live while CURRENT points to it.
    pcs.extend(outer_activation_pcs(unsafe { &*state }));
    pcs
}

/// The address of the innermost activation's `CallThreadState` (0 outside
/// wasm): every wasm frame of that activation lies below it, since it is a
/// local of the `catch_traps` frame that entered them (the exception
/// unwinder's bound, `vm/unwind.rs`).
pub(super) fn activation_state_address() -> usize {
    current() as usize
}

/// Unwinds from a host function (called by wasm) to the innermost [`catch_traps`].
///
/// # Safety
/// Must be called on a thread inside `catch_traps`, from a host entry shim whose
/// own frame holds nothing that needs dropping.
pub unsafe fn raise(unwind: Unwind) -> ! {
    let state = current();
    assert!(
        !state.is_null(),
        "host function called from wasm outside of catch_traps"
    );
    // SAFETY: state points to the live CallThreadState of the innermost entry;
    // by the caller's promise nothing between here and its landing pad needs
    // dropping (`unwind` moves into the state first).
    unsafe {
        *(*state).unwind.get() = Some(unwind);
        tern_longjmp((*state).jmp_buf.get())
    }
}

/// The wasm frames below the most recent wasm-to-host trampoline, for a host
/// error's backtrace.
pub fn host_exit_backtrace() -> Vec<usize> {
    let state = current();
    if state.is_null() {
        return Vec::new();
    }
    // SAFETY: the state is live, and its limits belong to the running store.
    let fp = unsafe { *(*(*state).limits).last_wasm_exit_fp.get() };
    let mut pcs = Vec::new();
    // SAFETY: fp is the frame pointer of a wasm-to-host trampoline that is still
    // on the stack (we are inside the host call it made).
    unsafe {
        walk_frames(fp, |pc| {
            pcs.push(pc);
            pcs.len() < thread_stack::MAX_FRAMES
        })
    };
    pcs
}

/// Calls `visit` with the return address of each wasm frame of the chain
/// starting at `fp`, innermost first, until it returns `false` or the chain
/// leaves wasm. Allocates nothing (the signal handler uses it).
///
/// # Safety
/// `fp` must be 0 or the frame pointer of a live Cranelift frame whose callers,
/// up to the first non-wasm frame, all keep frame pointers.
unsafe fn walk_frames(mut fp: usize, mut visit: impl FnMut(usize) -> bool) {
    while fp != 0 {
        // SAFETY: fp is a live frame (the caller's promise, then the loop's
        // invariant): [fp] is the caller's fp and [fp + 8] the return address.
        let (next_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if registry::with_code_at(ret.wrapping_sub(1), |_, _| ()).is_none() {
            break;
        }
        if !visit(ret) {
            break;
        }
        fp = next_fp;
    }
}

static mut PREVIOUS: [libc::sigaction; 4] = [const_zeroed_sigaction(); 4];
const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

const fn const_zeroed_sigaction() -> libc::sigaction {
    // SAFETY: sigaction is a plain C struct for which all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// Installs Tern's trap handler once per process; `thread_stack` calls it when
/// a thread first enters wasm, so it has run before any wasm does.
pub(super) fn init_signal_handlers() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        for (i, sig) in SIGNALS.iter().enumerate() {
            // SAFETY: installing a handler with a zeroed-then-filled sigaction;
            // PREVIOUS[i] is written only here, once (under `Once`), by the same
            // call that installs our handler for `sig`, so before that handler
            // can read it.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = trap_handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let prev = ptr::addr_of_mut!(PREVIOUS[i]);
                if libc::sigaction(*sig, &action, prev) != 0 {
                    panic!("failed to install the signal handler for signal {sig}");
                }
            }
        }
    });
}

/// The program counter and frame pointer at the signal.
///
/// # Safety
/// `ctx` must be the `ucontext_t` the kernel passed to the handler.
unsafe fn pc_and_fp(ctx: *mut c_void) -> (usize, usize) {
    // SAFETY: guaranteed by the caller.
    let uc = unsafe { &*(ctx as *const libc::ucontext_t) };
    #[cfg(target_arch = "x86_64")]
    {
        (
            uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize,
            uc.uc_mcontext.gregs[libc::REG_RBP as usize] as usize,
        )
    }
    #[cfg(target_arch = "aarch64")]
    {
        (uc.uc_mcontext.pc as usize, uc.uc_mcontext.regs[29] as usize)
    }
}

/// The handler for the signals a wasm trap raises (see the module docs for why
/// it is async-signal-safe).
///
/// # Safety
/// Only the kernel calls it, as an `SA_SIGINFO` handler, with the signal's
/// `siginfo_t` and `ucontext_t`.
unsafe extern "C" fn trap_handler(
    signum: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut c_void,
) {
    let state = current();
    if !state.is_null() {
        // The embedder's handler (`Store::set_signal_handler`) sees wasm's signals first.
        // SAFETY: a non-null CURRENT is the live state of the innermost
        // activation, whose handler the store keeps alive (`catch_traps`'s
        // contract); these are the kernel's arguments to this handler.
        let handler = unsafe { (*state).signal_handler };
        // SAFETY: as above.
        if unsafe { super::signal_handler::consult(handler, signum, info, ctx) } {
            return;
        }
        // SAFETY: the kernel passes a valid ucontext to SA_SIGINFO handlers.
        let (pc, fp) = unsafe { pc_and_fp(ctx) };
        let kind = registry::with_code_at(pc, |info, offset| info.trap_at(offset)).flatten();
        if let Some(kind) = kind {
            // SAFETY: a non-null CURRENT is the live state of the innermost
            // activation on this thread, and the faulting PC is wasm it called.
            let state = unsafe { &*state };
            let trace = state.trace.get();
            let mut frames = 0;
            let mut record = |pc: usize| {
                if frames == trace.cap {
                    return false;
                }
                // SAFETY: `frames < cap` slots of this thread's trace buffer,
                // which nothing else uses while this thread runs wasm.
                unsafe { trace.ptr.add(frames).write(pc) };
                frames += 1;
                true
            };
            record(pc);
            // SAFETY: the faulting frame is a wasm frame (its PC is a registered
            // trap site), and Cranelift keeps frame pointers (module docs).
            unsafe { walk_frames(fp, &mut record) };
            state.trap.set(Some((kind, frames)));
            // SAFETY: between here and the landing pad there are only this
            // handler's frame (nothing to drop) and wasm frames entered under
            // `catch_traps`'s contract.
            unsafe { tern_longjmp(state.jmp_buf.get()) }
        }
    }
    // A fault on the guard page of the fiber running here: host code called
    // from wasm outgrew the fiber's stack (wasm itself is stopped earlier by
    // the stack limit). Say so and abort, as Rust does for thread stacks.
    let (guard_start, guard_end) = FIBER_GUARD.with(|g| g.get());
    if signum == libc::SIGSEGV || signum == libc::SIGBUS {
        // SAFETY: the kernel passes a valid siginfo for these signals.
        let addr = unsafe { (*info).si_addr() } as usize;
        if guard_start <= addr && addr < guard_end {
            let msg = b"\nfatal: code running on a Tern fiber overflowed its stack (see Config::async_stack_size)\n";
            // SAFETY: write(2) and abort(3) are async-signal-safe; `msg` is a
            // static buffer of that length.
            unsafe {
                libc::write(2, msg.as_ptr().cast(), msg.len());
                libc::abort();
            }
        }
    }
    // Not a wasm trap: hand the signal to whoever handled it before us.
    let index = SIGNALS.iter().position(|s| *s == signum).unwrap_or(0);
    // SAFETY: PREVIOUS[index] was filled by the very `sigaction` call that
    // installed this handler for `signum`, and is never written again.
    let prev = unsafe { &*ptr::addr_of!(PREVIOUS[index]) };
    if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // Restore the default disposition; returning re-executes the faulting
        // instruction, which then takes the default action.
        // SAFETY: reinstalling a previously valid sigaction.
        unsafe { libc::sigaction(signum, prev, ptr::null_mut()) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with this signature.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
                std::mem::transmute(prev.sa_sigaction);
            f(signum, info, ctx);
        }
    } else {
        // SAFETY: the previous handler was installed with this signature.
        unsafe {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev.sa_sigaction);
            f(signum);
        }
    }
}

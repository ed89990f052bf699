//! The exception unwinder: from the frame that threw to the innermost wasm
//! frame stopped at a call with a handler, or out of the activation.
//!
//! Compiled code calls a handler-less call plainly and a call inside a
//! `try_table` as a Cranelift `try_call`, whose handler is recorded per
//! return address (`tern_environ::ExceptionHandlers`, in each module's
//! `CodeInfo`); see `tern-cranelift`'s `translate/exceptions.rs`. An
//! exception that leaves a function starts here, from one of two places:
//!
//! * the `throw` libcall ([`tern_throw_body`], entered through the C entry
//!   `tern_throw_entry` in `libcall_entry.c`, which passes its own frame
//!   address: `[fp]` is the throwing wasm frame's frame pointer and
//!   `[fp + 8]` the return address into it);
//! * a host function that returned `ThrownException` (`host_func.rs`), after
//!   it has fully returned to its entry shim, from the frame pointer the
//!   wasm-to-host trampoline recorded (`last_wasm_exit_fp`).
//!
//! [`throw_from`] walks the frame-pointer chain upwards. For each return
//! address inside registered wasm code it asks that module's handler table;
//! the first call site with a handler wins, and [`resume`] jumps there with
//! the stack pointer at `fp - frame_offset` and the frame pointer `fp` of
//! the frame that made the call, and the exnref in the first
//! exception-payload register (Cranelift's `tail` convention: `rax` on
//! x86-64, `x0` on AArch64). The handler's code then matches tags itself.
//! The walk ends at the first return address outside wasm code (the
//! array-call trampoline's caller, or a host function's shim), or at this
//! activation's `CallThreadState`, which lives in the `catch_traps` frame
//! below which every wasm frame of the activation lies: the exception then
//! escapes the activation exactly as before — it becomes the store's
//! in-flight exception (`VMRuntimeLimits::pending_exn`/`pending_tag`) and
//! the same `longjmp` that traps use takes it to `catch_traps`, where
//! `call_wasm` turns it into a `ThrownException` error.
//!
//! # What resuming jumps over
//! Only frames that own nothing: the wasm frames between the thrower and the
//! handler (Cranelift frames), the C entry, this file's Rust frames (which
//! hold only plain words when [`resume`] runs), and — for a host function's
//! exception — the host entry shim after it dropped everything it owned.
//! Host Rust frames *between* wasm frames (wasm → host → wasm) are never
//! jumped over by a resume: the walk stops at the first non-wasm return
//! address and leaves through `longjmp` to the activation's `catch_traps`,
//! whose caller (the host function) gets the error and returns normally.
//! No collection runs during the walk (it allocates nothing), so the
//! exnref word stays valid; the handler's code reloads spilled references
//! from their stack slots (Cranelift's safepoint spilling covers the
//! handler edge of a `try_call`).

use super::registry;
use super::traphandlers::{activation_state_address, raise, Unwind};
use super::vmcontext::{VMContext, VMContextHeader, VMRuntimeLimits, VMTagDefinition};

extern "C" {
    /// The C entry of `throw` (see the module note): calls
    /// [`tern_throw_body`] with its frame address.
    #[link_name = "tern_throw_entry"]
    pub(super) fn throw(vmctx: *mut VMContext, exn: u64, tag: u64);
    /// Sets the stack and frame pointers and the first exception-payload
    /// register, and jumps to `pc` (`helpers.c`).
    fn tern_resume(pc: usize, sp: usize, fp: usize, payload: u64) -> !;
}

/// The `throw` libcall's body: unwinds exception `exn` (of tag identity
/// `tag`) from the wasm frame that called the C entry whose frame is
/// `exit_fp`.
///
/// # Safety
/// Only the C entry `tern_throw_entry` calls it, with `exit_fp` its own frame
/// address, called by compiled code through the `VMBuiltins` table, passing
/// its own live instance vmctx, from inside `catch_traps`; `exn` is a live
/// exception object of the store's heap and `tag` its tag's definition.
#[no_mangle]
unsafe extern "C" fn tern_throw_body(vmctx: *mut VMContext, exn: u64, tag: u64, exit_fp: usize) {
    // SAFETY: the caller passes a live instance vmctx.
    let limits = unsafe { VMContextHeader::of(vmctx) }.runtime_limits;
    // SAFETY: `exit_fp` is the C entry's frame, called from wasm inside
    // `catch_traps`; this frame holds only plain words.
    unsafe { throw_from(limits, exit_fp, exn, tag as usize as *const VMTagDefinition) }
}

/// Unwinds exception `exn` of tag identity `tag` from the frame `exit_fp`,
/// whose caller is the wasm frame that threw: resumes at the innermost
/// handler of the activation, or leaves it through `catch_traps` with the
/// exception in flight in `limits`.
///
/// # Safety
/// Must be called on the thread running the store's wasm, inside
/// `catch_traps`, with `exit_fp` the frame pointer of a live frame (a C
/// entry or a wasm-to-host trampoline) called directly by wasm of the
/// innermost activation; `limits` must be that store's live runtime
/// limits. Every frame between here and the handler (or `catch_traps`)
/// must own nothing that needs dropping: it is jumped over.
pub(super) unsafe fn throw_from(
    limits: *const VMRuntimeLimits,
    exit_fp: usize,
    exn: u64,
    tag: *const VMTagDefinition,
) -> ! {
    // Every wasm frame of this activation lies below its `CallThreadState`.
    let high = activation_state_address();
    let mut fp = exit_fp;
    while fp != 0 && fp.is_multiple_of(8) && fp.saturating_add(16) <= high {
        // SAFETY: `fp` is an aligned frame of this activation's live stack
        // (the caller's promise for `exit_fp`, then the chain of frame
        // records Cranelift keeps, checked to stay below `high`):
        // `[fp]` is the caller's frame pointer, `[fp + 8]` the return address.
        let (next_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        let site = registry::with_code_at(ret.wrapping_sub(1), |info, offset| {
            let base = ret - 1 - offset as usize;
            info.handler_at(offset + 1).map(|s| (base, s))
        });
        match site {
            // Left the activation's wasm frames.
            None => break,
            Some(None) => {}
            Some(Some((base, site))) => {
                let pc = base + site.handler as usize;
                let sp = next_fp - site.frame_offset as usize;
                // SAFETY: `next_fp` is the frame pointer of the live wasm
                // frame stopped at this `try_call` (its callee saved it), and
                // the handler expects exactly this frame with the exnref in
                // the payload register; the frames jumped over own nothing
                // (this function's contract).
                unsafe { tern_resume(pc, sp, next_fp, exn) }
            }
        }
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
    // SAFETY: the caller promises live limits of the running store.
    unsafe { (*limits).set_pending_exception(Some((exn, tag))) };
    // SAFETY: inside `catch_traps`, and nothing between here and it owns
    // anything (this function's contract); `raise` moves its argument into
    // the activation's state before jumping.
    unsafe {
        raise(Unwind::Error {
            error: anyhow::Error::new(crate::ThrownException),
            pcs: Vec::new(),
        })
    }
}

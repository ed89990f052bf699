//! Calling compiled code from the host: through an array-call trampoline, under
//! `catch_traps`.
//!
//! The functions here are safe to call because their pointer arguments come in
//! types that only the store and engine construct, for objects they keep alive:
//! [`FuncRefPtr`] (a live funcref owned by a store) and [`ArrayTrampoline`]
//! (compiled code for one exact signature, in a module the store keeps alive).

use super::traphandlers::{catch_traps, ArrayCall, Unwind};
use super::vmcontext::{VMFuncRef, VMRuntimeLimits, ValRaw};
use crate::store::StoreInner;

/// A pointer to a live `VMFuncRef` owned by a store (or null for a null reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FuncRefPtr(pub *const VMFuncRef);

// SAFETY: moves between threads only with its store.
unsafe impl Send for FuncRefPtr {}
// SAFETY: as above.
unsafe impl Sync for FuncRefPtr {}

impl FuncRefPtr {
    /// The function's engine signature id.
    pub fn type_id(self) -> u32 {
        // SAFETY: the type's invariant: the funcref is live.
        unsafe { (*self.0).type_id }
    }

    /// The function's code address.
    pub fn wasm_call(self) -> *const u8 {
        // SAFETY: as above.
        unsafe { (*self.0).wasm_call }
    }

    /// The callee context the funcref carries.
    pub fn vmctx(self) -> usize {
        // SAFETY: as above.
        unsafe { (*self.0).vmctx as usize }
    }
}

/// The address of an array-to-wasm trampoline for one signature, in the code of
/// a module the store keeps alive (`func/trampolines.rs`).
#[derive(Debug, Clone, Copy)]
pub struct ArrayTrampoline(pub *const u8);

// SAFETY: code pointers are plain addresses of immutable code.
unsafe impl Send for ArrayTrampoline {}
// SAFETY: as above.
unsafe impl Sync for ArrayTrampoline {}

/// Calls the wasm function `funcref` of `store` with arguments in `values`
/// (results are written back into it) through `trampoline`.
///
/// The caller (in this crate) guarantees that `funcref` is a wasm function of
/// `store`, that `trampoline` was compiled for its exact signature, and that
/// `values` has a slot for every parameter and result; the types of the
/// arguments carry those invariants (see the module docs).
///
/// From the moment it is called until wasm returns, the store is reached only
/// through one raw pointer derived from `store`: host functions and libcalls
/// that wasm calls rebuild their `&mut` from that pointer (see
/// `VMContextHeader::entered_store`), so no two live `&mut StoreInner` alias.
///
/// Inlined into `Func::call_raw_as`, so that the common host→wasm call is
/// one Rust frame around the assembly entry.
///
/// # Errors
/// Returns how execution unwound when wasm did not return normally.
#[inline(always)]
pub fn call_wasm<T>(
    store: &mut StoreInner<T>,
    trampoline: ArrayTrampoline,
    funcref: FuncRefPtr,
    values: &mut [ValRaw],
) -> Result<(), Unwind> {
    // A safe point for pruning host `externref`s: the arguments are in
    // `values` only (`store/externrefs.rs`).
    store.opaque.externref_safe_point(values);
    let max_wasm_stack = store.opaque.engine.config().max_wasm_stack;
    let signal_handler = store
        .opaque
        .signal_handler
        .as_deref()
        .map(std::ptr::from_ref);
    // From here on, only raw pointers derived from `store`.
    let store: *mut StoreInner<T> = store;
    // SAFETY: `store` is valid (it comes from a live `&mut`); the limits live in
    // their own allocation owned by the store.
    let limits: *const VMRuntimeLimits = unsafe { &raw const *(*store).opaque.limits };
    // SAFETY: FuncRefPtr's invariant: the funcref is live.
    let (vmctx, wasm_call) = unsafe { ((*funcref.0).vmctx.cast::<u8>(), (*funcref.0).wasm_call) };
    let call = ArrayCall {
        trampoline: trampoline.0,
        vmctx,
        values: values.as_mut_ptr(),
        wasm_call,
    };
    // SAFETY: the contract above: a trampoline for this funcref's exact
    // signature (ArrayTrampoline's invariant), a live vmctx and enough value
    // slots; `limits` and `store` belong to the store whose wasm it runs, and
    // `store` is not used until this returns; the store owns the signal
    // handler and cannot drop it while borrowed.
    let result = unsafe { catch_traps(store.cast(), limits, max_wasm_stack, signal_handler, call) };
    // SAFETY: wasm has returned (or unwound): ours is again the only use of
    // the store pointer, derived from the `&mut` this function was given.
    let opaque = unsafe { &mut (*store).opaque };
    match result {
        Ok(()) => Ok(()),
        // An exception no wasm handler caught (`vm::unwind`): it becomes the
        // store's pending exception and the call's error is
        // `ThrownException` (`crate::exn`).
        Err(_) if opaque.exception_escaped() => Err(Unwind::Error {
            error: anyhow::Error::new(crate::ThrownException),
            pcs: Vec::new(),
        }),
        Err(unwind) => Err(unwind),
    }
}

//! Calling compiled code from the host: through an array-call trampoline, under
//! `catch_traps`.
//!
//! The functions here are safe to call because their pointer arguments come in
//! types that only the store and engine construct, for objects they keep alive:
//! [`FuncRefPtr`] (a live funcref owned by a store) and [`ArrayTrampoline`]
//! (compiled code for one exact signature, in a module the store keeps alive).

use super::traphandlers::{catch_traps, Unwind};
use super::vmcontext::{VMFuncRef, VMRuntimeLimits, ValRaw};

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

type ArrayEntry = unsafe extern "C" fn(*mut u8, *mut u8, *mut ValRaw, *const u8);

/// Calls the wasm function `funcref` with arguments in `values` (results are
/// written back into it) through `trampoline`.
///
/// The caller (in this crate) guarantees that `funcref` is a wasm function of the
/// store whose `limits` are given, that `trampoline` was compiled for its exact
/// signature, and that `values` has a slot for every parameter and result.
pub fn call_wasm(
    limits: &VMRuntimeLimits,
    max_wasm_stack: usize,
    trampoline: ArrayTrampoline,
    funcref: FuncRefPtr,
    values: &mut [ValRaw],
) -> Result<(), Unwind> {
    // SAFETY: FuncRefPtr's invariant.
    let (vmctx, wasm_call) = unsafe { ((*funcref.0).vmctx.cast::<u8>(), (*funcref.0).wasm_call) };
    // SAFETY: ArrayTrampoline's invariant: compiled code with the `ArrayEntry` ABI.
    let entry: ArrayEntry = unsafe { std::mem::transmute(trampoline.0) };
    let values = values.as_mut_ptr();
    catch_traps(limits, max_wasm_stack, || {
        // SAFETY: see the function's contract; traps are caught by catch_traps.
        unsafe { entry(vmctx, vmctx, values, wasm_call) }
    })
}

//! Host functions as wasm sees them: a context whose first word is the entry
//! shim a wasm-to-host trampoline calls, followed by the function's `VMFuncRef`.
//!
//! The shim rebuilds the store from the caller's vmctx, runs the closure under
//! `catch_unwind`, and on an error or panic unwinds the wasm frames with `raise`
//! after everything it owned has been moved out or dropped.

use super::traphandlers::{current_store, host_exit_backtrace, raise, Unwind};
use super::vmcontext::{VMContext, VMContextHeader, VMFuncRef, ValRaw};
use crate::func::HostFn;
use crate::store::StoreInner;
use crate::Caller;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

type Entry = unsafe extern "C" fn(*mut HostFuncCtx, *mut VMContext, *mut ValRaw, u64);

/// A host function's context; boxed so that its funcref's address is stable.
#[repr(C)]
pub struct HostFuncCtx {
    entry: Entry,
    funcref: VMFuncRef,
    func: Box<dyn Any + Send + Sync>,
}

const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(HostFuncCtx, entry) == tern_environ::HOSTCTX_ENTRY as usize);
    assert!(offset_of!(HostFuncCtx, funcref) == tern_environ::HOSTCTX_FUNCREF as usize);
};

impl std::fmt::Debug for HostFuncCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFuncCtx")
            .field("funcref", &self.funcref)
            .finish_non_exhaustive()
    }
}

// SAFETY: the context moves between threads only with its store; the closure is
// Send + Sync.
unsafe impl Send for HostFuncCtx {}
// SAFETY: as above.
unsafe impl Sync for HostFuncCtx {}

impl HostFuncCtx {
    /// Wraps `func` for stores of data type `T`; `wasm_call` is the wasm-to-host
    /// trampoline for its signature (null until the store has one: see
    /// [`HostFuncCtx::set_wasm_call`]) and `type_id` the signature's engine id.
    pub fn new<T: 'static>(func: Arc<HostFn<T>>, wasm_call: *const u8, type_id: u32) -> Box<Self> {
        let mut ctx = Box::new(Self {
            entry: host_entry::<T>,
            funcref: VMFuncRef {
                wasm_call,
                vmctx: std::ptr::null_mut(),
                type_id,
            },
            func: Box::new(func),
        });
        ctx.funcref.vmctx = (&mut *ctx as *mut HostFuncCtx).cast();
        ctx
    }

    /// The signature's engine id.
    pub fn type_id(&self) -> u32 {
        self.funcref.type_id
    }

    /// Sets the wasm-to-host trampoline wasm enters this function through: code
    /// for exactly this function's signature that stays mapped while the store
    /// lives (the store's registry of module trampolines guarantees both). Wasm
    /// can reach a funcref only through a signature its module declares, and
    /// modules are registered before their code runs, so a null `wasm_call` is
    /// never called.
    pub fn set_wasm_call(&mut self, wasm_call: *const u8) {
        self.funcref.wasm_call = wasm_call;
    }

    /// The funcref wasm calls this function through.
    pub fn funcref(&self) -> *const VMFuncRef {
        &self.funcref
    }

    /// The closure, if this function was made for stores of type `T`.
    pub fn func<T: 'static>(&self) -> Option<Arc<HostFn<T>>> {
        self.func.downcast_ref::<Arc<HostFn<T>>>().cloned()
    }
}

/// The entry shim of a host function made for `Store<T>`s.
///
/// # Safety
/// Only a wasm-to-host trampoline calls it, inside `catch_traps`, with the
/// context it was stored in, the calling instance's vmctx, and a stack array
/// of `len` value slots.
unsafe extern "C" fn host_entry<T: 'static>(
    ctx: *mut HostFuncCtx,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: u64,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the trampoline passes the context this entry was stored in.
        let ctx = unsafe { &*ctx };
        let func = ctx
            .func
            .downcast_ref::<Arc<HostFn<T>>>()
            .expect("host function of another store type");
        // The store is borrowed by the `Func::call` that entered wasm, suspended
        // while we run; we reach it through the raw pointer that call derived
        // from its borrow (`current_store`), never through an older one.
        let store = current_store().cast::<StoreInner<T>>();
        // SAFETY: the caller's vmctx is a live instance vmctx.
        let header = unsafe { VMContextHeader::of(caller_vmctx) };
        // Checked in every build: one comparison per host call, and a panic here
        // is caught below like any host panic.
        assert_eq!(
            store.cast::<u8>(),
            header.store,
            "the innermost wasm entry is not the calling instance's store"
        );
        // SAFETY: `header.instance` is the caller's live instance record; only
        // its index is copied.
        let caller = unsafe { (*header.instance).store_index };
        // SAFETY: the innermost entry's store is the calling wasm's store, a
        // `StoreInner<T>` (this entry is only stored in `Store<T>`s); nothing
        // else uses it until we return.
        let store = unsafe { &mut *store };
        // SAFETY: the trampoline passes a stack array of `len` slots.
        let values = unsafe { std::slice::from_raw_parts_mut(values, len as usize) };
        match func(Caller::new(&mut *store, Some(caller)), values) {
            // The host throws a wasm exception (`Store::throw`, or rethrowing
            // one a nested call returned): put it in flight and return
            // normally; the calling wasm checks for it after the call.
            Err(e) if e.is::<crate::ThrownException>() && store.opaque.exception_rethrown() => {
                Ok(())
            }
            other => other,
        }
    }));
    let unwind = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(error)) => Unwind::Error {
            error,
            pcs: host_exit_backtrace(),
        },
        Err(panic) => Unwind::Panic(panic),
    };
    // SAFETY: we are called from wasm inside `catch_traps`, and this frame now
    // owns nothing but `unwind`, which moves into the trap state.
    unsafe { raise(unwind) }
}

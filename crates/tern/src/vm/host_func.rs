//! Host functions as wasm sees them: a context whose first word is the entry
//! shim a wasm-to-host trampoline calls, followed by the function's `VMFuncRef`
//! and then the Rust closure itself.
//!
//! The context is generic over the closure type `F` and its shim is
//! monomorphised for `(T, F)`, so a call from wasm reaches the closure with no
//! dynamic dispatch and no lookup: the shim knows the closure's type and the
//! store's data type statically. Stores keep contexts type-erased
//! (`Box<HostFuncCtx>`, whose tail is `dyn Any`); host-side calls go through a
//! second monomorphised function whose store type is checked by `TypeId`.
//!
//! The shim rebuilds the store from the innermost wasm entry
//! (`traphandlers::current_store`), runs the closure (with the store's call hook,
//! if any, via `func::invoke_host`) under `catch_unwind`, and on an error or
//! panic unwinds the wasm frames with `raise` after everything it owned has been
//! moved out or dropped.

use super::traphandlers::{current_store, host_exit_backtrace, raise, Unwind};
use super::vmcontext::{VMContext, VMContextHeader, VMFuncRef, ValRaw};
use crate::func::invoke_host;
use crate::store::StoreInner;
use crate::Caller;
use anyhow::Result;
use std::any::{Any, TypeId};
use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

type Entry = unsafe extern "C" fn(*mut HostFuncCtx<()>, *mut VMContext, *mut ValRaw, u64);

/// A host function's context; boxed so that its funcref's address is stable.
/// `F` is the closure; stores hold it erased as `HostFuncCtx` (`F = dyn Any`).
#[repr(C)]
pub struct HostFuncCtx<F: ?Sized = dyn Any + Send + Sync> {
    entry: Entry,
    /// Interior-mutable: the store sets `wasm_call` when a module brings the
    /// trampoline, possibly while the closure (in `func`) is running.
    funcref: UnsafeCell<VMFuncRef>,
    /// `TypeId` of the store data type `T` the closure was made for.
    store_type: TypeId,
    /// `host_call::<T, F>`, erased (see [`HostFuncCtx::call`]).
    host_call: *const (),
    func: F,
}

const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(HostFuncCtx<()>, entry) == tern_environ::HOSTCTX_ENTRY as usize);
    assert!(offset_of!(HostFuncCtx<()>, funcref) == tern_environ::HOSTCTX_FUNCREF as usize);
};

impl std::fmt::Debug for HostFuncCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFuncCtx")
            .field("type_id", &self.type_id())
            .finish_non_exhaustive()
    }
}

// SAFETY: the context moves between threads only with its store; the closure is
// Send + Sync, and `host_call` is a plain code address.
unsafe impl<F: ?Sized + Send + Sync> Send for HostFuncCtx<F> {}
// SAFETY: as above.
unsafe impl<F: ?Sized + Send + Sync> Sync for HostFuncCtx<F> {}

/// What [`HostFuncCtx::call`] calls: `host_call::<T, F>`.
type HostCall<T> = unsafe fn(*const HostFuncCtx<()>, Caller<'_, T>, &mut [ValRaw]) -> Result<()>;

impl HostFuncCtx {
    /// Wraps `func` for stores of data type `T`; `wasm_call` is the wasm-to-host
    /// trampoline for its signature (null until the store has one: see
    /// [`HostFuncCtx::set_wasm_call`]) and `type_id` the signature's engine id.
    pub fn new<T, F>(func: F, wasm_call: *const u8, type_id: u32) -> Box<Self>
    where
        T: 'static,
        F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    {
        let host_call: HostCall<T> = host_call::<T, F>;
        let mut ctx: Box<HostFuncCtx<F>> = Box::new(HostFuncCtx {
            entry: host_entry::<T, F>,
            funcref: UnsafeCell::new(VMFuncRef {
                wasm_call,
                vmctx: std::ptr::null_mut(),
                type_id,
            }),
            store_type: TypeId::of::<T>(),
            host_call: host_call as *const (),
            func,
        });
        ctx.funcref.get_mut().vmctx = (&raw mut *ctx).cast();
        ctx
    }

    /// The signature's engine id.
    pub fn type_id(&self) -> u32 {
        // SAFETY: only `set_wasm_call` writes the funcref, on this thread (the
        // store is not shared), never concurrently with this read.
        unsafe { (*self.funcref.get()).type_id }
    }

    /// Sets the wasm-to-host trampoline wasm enters this function through: code
    /// for exactly this function's signature that stays mapped while the store
    /// lives (the store's registry of module trampolines guarantees both). Wasm
    /// can reach a funcref only through a signature its module declares, and
    /// modules are registered before their code runs, so a null `wasm_call` is
    /// never called.
    pub fn set_wasm_call(&self, wasm_call: *const u8) {
        // SAFETY: the funcref is interior-mutable; the store is used by one
        // thread at a time and no reference to the funcref is held across this
        // write (compiled code reads it through raw pointers, only while running).
        unsafe { (*self.funcref.get()).wasm_call = wasm_call };
    }

    /// The funcref wasm calls this function through.
    pub fn funcref(&self) -> *const VMFuncRef {
        self.funcref.get()
    }
}

/// Calls host function `ctx` from the host (no wasm frames involved), with the
/// store's call hook; `None` when it was made for stores of another type.
///
/// Takes the context as a raw pointer because the store that owns it is lent to
/// the closure (in `caller`): the context is its own heap allocation, which the
/// store never moves, frees or borrows mutably while it lives, and only the
/// closure and the immutable fields are read through it.
pub fn call_from_host<T: 'static>(
    ctx: *const HostFuncCtx,
    caller: Caller<'_, T>,
    raw: &mut [ValRaw],
) -> Option<Result<()>> {
    // SAFETY: `ctx` is a live context of `caller`'s store (this function's
    // contract, upheld by `Func::call_raw_as`); the fields read are never written
    // after construction.
    let (store_type, host_call) = unsafe { ((*ctx).store_type, (*ctx).host_call) };
    if store_type != TypeId::of::<T>() {
        return None;
    }
    // SAFETY: `host_call` was stored by `new::<T, F>` as a `HostCall<T>` for this
    // context's `F`, and `T` was just checked.
    let call = unsafe { std::mem::transmute::<*const (), HostCall<T>>(host_call) };
    // SAFETY: `ctx` is a live context made by `new::<T, F>` (host_call's contract).
    Some(unsafe { call(ctx.cast(), caller, raw) })
}

/// Calls the closure of `ctx` from the host.
///
/// # Safety
/// `ctx` must be a live context made by `HostFuncCtx::new::<T, F>`.
unsafe fn host_call<T, F>(
    ctx: *const HostFuncCtx<()>,
    caller: Caller<'_, T>,
    raw: &mut [ValRaw],
) -> Result<()>
where
    T: 'static,
    F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    // SAFETY: by the caller's promise the context's closure is an `F`; only the
    // closure is borrowed (the funcref may change meanwhile).
    let func = unsafe { &(*ctx.cast::<HostFuncCtx<F>>()).func };
    invoke_host(func, caller, raw)
}

/// The entry shim of a host function `F` made for `Store<T>`s.
///
/// # Safety
/// Only a wasm-to-host trampoline calls it, inside `catch_traps`, with the
/// context it was stored in (made by `HostFuncCtx::new::<T, F>`), the calling
/// instance's vmctx, and a stack array of `len` value slots.
unsafe extern "C" fn host_entry<T, F>(
    ctx: *mut HostFuncCtx<()>,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: u64,
) where
    T: 'static,
    F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the trampoline passes the context this entry was stored in,
        // whose closure is an `F` (this entry is only stored by `new::<T, F>`);
        // only the closure is borrowed (the funcref may change meanwhile).
        let func = unsafe { &(*ctx.cast::<HostFuncCtx<F>>()).func };
        // The store is borrowed by the `Func::call` that entered wasm, suspended
        // while we run; we reach it through the raw pointer that call derived
        // from its borrow (`current_store`), never through an older one.
        let store = current_store().cast::<StoreInner<T>>();
        // SAFETY: the caller's vmctx is a live instance vmctx.
        let header = unsafe { VMContextHeader::of(caller_vmctx) };
        // Wasm calls only functions of its own store, and every entry into
        // another store's wasm pushes its own activation.
        debug_assert_eq!(
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
        match invoke_host(func, Caller::new(&mut *store, Some(caller)), values) {
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

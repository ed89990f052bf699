//! Host functions as wasm sees them: a context whose first word is the entry
//! shim a wasm-to-host trampoline calls, followed by the function's `VMFuncRef`
//! and then the Rust closure itself.
//!
//! The context is generic over the closure type `F` and its shims are
//! monomorphised for `(T, F)`, so a call from wasm reaches the closure with no
//! dynamic dispatch and no lookup: the shim knows the closure's type and the
//! store's data type statically. Stores keep contexts type-erased
//! ([`HostFuncBox`]: a pointer to the context's header plus a monomorphised drop
//! function), not as `dyn Any`: `Any` needs `'static` types, and the closure's
//! type mentions the store's data type `T`, which (as in wasmtime 12) need not
//! be `'static` (`Store<&'a mut Foo>`).
//!
//! The one invariant every cast here rests on: **a context stored in a
//! `Store<T>` was made for that `T`**. It holds by construction, since
//! [`define`] is the only way to make a context and it pushes it into the very
//! `StoreInner<T>` it is typed by (`Store<T>` is invariant in `T`, so the `T`
//! seen later is the same type, lifetimes included).
//!
//! Dropping an erased closure is sound after the store's data is gone because
//! [`define`] accepts only closures that borrow nothing (`F: 'static`) or a shared
//! `Arc<HostFn<T>>`, whose pointee is such a closure: neither owns anything
//! whose drop could reach data borrowed for `T`'s lifetimes; `T` appears only in
//! their signatures.
//!
//! The shim rebuilds the store from the innermost wasm entry into the calling
//! vmctx's store (`VMContextHeader::entered_store`), runs the closure (with the store's call hook,
//! if any, via `func::invoke_host`) under `catch_unwind`, and on an error or
//! panic unwinds the wasm frames with `raise` after everything it owned has been
//! moved out or dropped.

use super::traphandlers::{host_exit_backtrace, raise, Unwind};
use super::vmcontext::{VMContext, VMContextHeader, VMFuncRef, ValRaw};
use crate::func::{invoke_host, HostFn};
use crate::store::StoreInner;
use crate::Caller;
use anyhow::Result;
use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Arc;

type Entry = unsafe extern "C" fn(*mut HostFuncCtx<()>, *mut VMContext, *mut ValRaw, u64);

/// A host function's context; boxed so that its funcref's address is stable.
/// `F` is the closure; stores hold it erased as [`HostFuncBox`], whose header
/// view is `HostFuncCtx<()>` (`repr(C)`: the header fields come first and have
/// the same offsets whatever `F` is).
#[repr(C)]
pub struct HostFuncCtx<F = ()> {
    entry: Entry,
    /// Interior-mutable: the store sets `wasm_call` when a module brings the
    /// trampoline, possibly while the closure (in `func`) is running.
    funcref: UnsafeCell<VMFuncRef>,
    /// `host_call::<T, F>`, erased (see [`call_from_host`]).
    host_call: *const (),
    /// `drop_ctx::<F>`: frees the whole `Box<HostFuncCtx<F>>`.
    drop: unsafe fn(NonNull<HostFuncCtx<()>>),
    func: F,
}

const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(HostFuncCtx<()>, entry) == tern_environ::HOSTCTX_ENTRY as usize);
    assert!(offset_of!(HostFuncCtx<()>, funcref) == tern_environ::HOSTCTX_FUNCREF as usize);
};

/// What [`call_from_host`] calls: `host_call::<T, F>`.
type HostCall<T> = unsafe fn(*const HostFuncCtx<()>, Caller<'_, T>, &mut [ValRaw]) -> Result<()>;

/// A closure a context may hold (see the module note on dropping).
trait HostClosure<T>: Send + Sync {
    fn call(&self, caller: Caller<'_, T>, raw: &mut [ValRaw]) -> Result<()>;
}

/// A closure that borrows nothing.
struct Owned<F>(F);

impl<T, F> HostClosure<T> for Owned<F>
where
    F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    #[inline]
    fn call(&self, caller: Caller<'_, T>, raw: &mut [ValRaw]) -> Result<()> {
        invoke_host(&self.0, caller, raw)
    }
}

/// A closure shared with a `Linker` (and the other stores it instantiates into).
struct Shared<T>(Arc<HostFn<T>>);

impl<T> HostClosure<T> for Shared<T> {
    #[inline]
    fn call(&self, caller: Caller<'_, T>, raw: &mut [ValRaw]) -> Result<()> {
        invoke_host(&*self.0, caller, raw)
    }
}

/// An owned, type-erased host function context (what `StoreOpaque` keeps).
pub struct HostFuncBox(NonNull<HostFuncCtx<()>>);

// SAFETY: the context moves between threads only with its store; its closure
// is `Send + Sync` (both `HostClosure` impls require it), and the other fields
// are code addresses and the funcref, written only through `&mut` store access.
unsafe impl Send for HostFuncBox {}
// SAFETY: as above.
unsafe impl Sync for HostFuncBox {}

impl std::fmt::Debug for HostFuncBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFuncBox")
            .field("type_id", &self.type_id())
            .finish_non_exhaustive()
    }
}

impl Drop for HostFuncBox {
    fn drop(&mut self) {
        let drop = self.header().drop;
        // SAFETY: the pointer came from `Box::leak` in `erase` and is freed only
        // here; `drop` is `drop_ctx::<C>` for the context's own closure type.
        unsafe { drop(self.0) }
    }
}

/// Frees a context made by `erase::<T, F>`.
///
/// # Safety
/// `ctx` must come from a leaked `Box<HostFuncCtx<F>>` and not be used after.
unsafe fn drop_ctx<F>(ctx: NonNull<HostFuncCtx<()>>) {
    // SAFETY: by the caller's promise it is the pointer of a `Box<HostFuncCtx<F>>`.
    drop(unsafe { Box::from_raw(ctx.cast::<HostFuncCtx<F>>().as_ptr()) });
}

impl HostFuncBox {
    fn header(&self) -> &HostFuncCtx<()> {
        // SAFETY: the box owns a live `HostFuncCtx<F>` whose `repr(C)` header is a
        // `HostFuncCtx<()>` (the zero-sized `func` adds no bytes); only header
        // fields are read through it, and `funcref` is interior-mutable.
        unsafe { self.0.as_ref() }
    }

    /// The signature's engine id.
    pub fn type_id(&self) -> u32 {
        // SAFETY: only `set_wasm_call` writes the funcref, on this thread (the
        // store is not shared), never concurrently with this read.
        unsafe { (*self.header().funcref.get()).type_id }
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
        unsafe { (*self.header().funcref.get()).wasm_call = wasm_call };
    }

    /// The funcref wasm calls this function through.
    pub fn funcref(&self) -> *const VMFuncRef {
        self.header().funcref.get()
    }
}

/// Defines host closure `func` in `store` (its index in `host_funcs` is
/// returned); `wasm_call` is the wasm-to-host trampoline for its signature (null
/// until the store has one: see [`HostFuncBox::set_wasm_call`]) and `type_id`
/// the signature's engine id.
pub fn define<T, F>(store: &mut StoreInner<T>, func: F, wasm_call: *const u8, type_id: u32) -> usize
where
    F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    push(store, erase::<T, _>(Owned(func), wasm_call, type_id))
}

/// [`define`] for a closure shared with a linker: no second closure wraps it.
pub fn define_shared<T>(
    store: &mut StoreInner<T>,
    func: Arc<HostFn<T>>,
    wasm_call: *const u8,
    type_id: u32,
) -> usize {
    push(store, erase::<T, _>(Shared(func), wasm_call, type_id))
}

fn push<T>(store: &mut StoreInner<T>, ctx: HostFuncBox) -> usize {
    store.opaque.host_funcs.push(ctx);
    store.opaque.host_funcs.len() - 1
}

/// Boxes `func` with its shims for stores of data type `T`.
fn erase<T, C: HostClosure<T>>(func: C, wasm_call: *const u8, type_id: u32) -> HostFuncBox {
    let host_call: HostCall<T> = host_call::<T, C>;
    let mut ctx: Box<HostFuncCtx<C>> = Box::new(HostFuncCtx {
        entry: host_entry::<T, C>,
        funcref: UnsafeCell::new(VMFuncRef {
            wasm_call,
            vmctx: std::ptr::null_mut(),
            type_id,
        }),
        host_call: host_call as *const (),
        drop: drop_ctx::<C>,
        func,
    });
    ctx.funcref.get_mut().vmctx = (&raw mut *ctx).cast();
    let raw = NonNull::from(Box::leak(ctx)).cast::<HostFuncCtx<()>>();
    HostFuncBox(raw)
}

/// Calls host function number `index` of `store` from the host (no wasm frames
/// involved), with the store's call hook; `caller` is the instance (a store
/// index) the closure sees as its caller.
///
/// # Panics
/// Panics if `index` is not a host function of `store`.
pub fn call_from_host<T>(
    store: &mut StoreInner<T>,
    index: usize,
    caller: Option<usize>,
    raw: &mut [ValRaw],
) -> Result<()> {
    // The context is its own heap allocation, which the store never moves,
    // frees or borrows mutably while it lives; the store itself is lent to the
    // closure (in `Caller`), so the context is reached through a raw pointer.
    let ctx: *const HostFuncCtx<()> = store.opaque.host_funcs[index].0.as_ptr();
    // SAFETY: `ctx` is live (above); `host_call` is never written after
    // construction.
    let host_call = unsafe { (*ctx).host_call };
    // SAFETY: `host_call` was stored by `erase::<T, C>` as a `HostCall<T>`, and
    // a context in a `Store<T>` was made for that `T` (module note).
    let call = unsafe { std::mem::transmute::<*const (), HostCall<T>>(host_call) };
    // SAFETY: `ctx` is a live context made by `erase::<T, C>` (host_call's contract).
    unsafe { call(ctx, Caller::new(store, caller), raw) }
}

/// Calls the closure of `ctx` from the host.
///
/// # Safety
/// `ctx` must be a live context made by `erase::<T, C>`.
unsafe fn host_call<T, C: HostClosure<T>>(
    ctx: *const HostFuncCtx<()>,
    caller: Caller<'_, T>,
    raw: &mut [ValRaw],
) -> Result<()> {
    // SAFETY: by the caller's promise the context's closure is a `C`; only the
    // closure is borrowed (the funcref may change meanwhile).
    let func = unsafe { &(*ctx.cast::<HostFuncCtx<C>>()).func };
    func.call(caller, raw)
}

/// The entry shim of a host function `C` made for `Store<T>`s.
///
/// # Safety
/// Only a wasm-to-host trampoline calls it, inside `catch_traps`, with the
/// context it was stored in (made by `erase::<T, C>`), the calling
/// instance's vmctx, and a stack array of `len` value slots.
unsafe extern "C" fn host_entry<T, C: HostClosure<T>>(
    ctx: *mut HostFuncCtx<()>,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: u64,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the trampoline passes the context this entry was stored in,
        // whose closure is a `C` (this entry is only stored by `erase::<T, C>`);
        // only the closure is borrowed (the funcref may change meanwhile).
        let func = unsafe { &(*ctx.cast::<HostFuncCtx<C>>()).func };
        // The store is borrowed by the `Func::call` that entered wasm, suspended
        // while we run; we reach it through the raw pointer that call derived
        // from its borrow (kept in the store's limits), never through an older one.
        // SAFETY: the caller's vmctx is a live instance vmctx whose wasm runs.
        let store = unsafe { VMContextHeader::entered_store(caller_vmctx) };
        let store = store.cast::<StoreInner<T>>();
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
        match func.call(Caller::new(&mut *store, Some(caller)), values) {
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

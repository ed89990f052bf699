//! Host functions as wasm sees them: a context whose first word is the entry
//! shim a wasm-to-host trampoline calls, followed by the Rust closure itself,
//! and per store a `VMFuncRef` whose callee context is that context.
//!
//! The context is generic over the closure type `F` and its shims are
//! monomorphised for `(T, F)`, so a call from wasm reaches the closure with no
//! dynamic dispatch and no lookup: the shim knows the closure's type and the
//! store's data type statically. Contexts are reference-counted and made once
//! per definition ([`HostFuncDef`]: `Func::wrap`, or once per `Linker`
//! definition however many stores it is instantiated into); stores keep
//! type-erased strong references ([`HostFuncs`]: a pointer to the context's
//! header, whose monomorphised `retain`/`release` manage the count; or one
//! reference to a whole [`HostFuncList`], an `InstancePre`'s imports, which
//! keeps each of its contexts alive, so instantiating it costs one reference
//! count however many host functions it imports), not
//! `dyn Any`: `Any` needs `'static` types, and the closure's type mentions the
//! store's data type `T`, which (as in wasmtime 12) need not be `'static`
//! (`Store<&'a mut Foo>`).
//!
//! The one invariant every cast here rests on: **a context referenced by a
//! `Store<T>` was made for that `T`**. It holds by construction: a context is
//! made only inside a [`HostFuncDef<T>`], which is invariant in `T`, and
//! [`define`] only puts a `HostFuncDef<T>`'s context into a `StoreInner<T>`
//! (`Store<T>` is invariant in `T` too, so the `T` seen later is the same type,
//! lifetimes included).
//!
//! Dropping an erased closure is sound after the store's data is gone because
//! [`HostFuncDef`] accepts only closures that borrow nothing (`F: 'static`) or a
//! shared `Arc<HostFn<T>>`, whose pointee is such a closure: neither owns
//! anything whose drop could reach data borrowed for `T`'s lifetimes; `T`
//! appears only in their signatures.
//!
//! The shim rebuilds the store from the innermost wasm entry into the calling
//! vmctx's store (`VMContextHeader::entered_store`), runs the closure (with the
//! store's call hook, if any, via `func::invoke_host`) under `catch_unwind`,
//! and on an error or panic unwinds the wasm frames with `raise` after
//! everything it owned has been moved out or dropped.

use super::traphandlers::{host_exit_backtrace, raise, Unwind};
use super::unwind::throw_from;
use super::vmcontext::{VMContext, VMContextHeader, VMFuncRef, ValRaw};
use crate::func::{invoke_host, HostFn};
use crate::store::StoreInner;
use crate::Caller;
use anyhow::Result;
use smallvec::SmallVec;
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Arc;

type Entry = unsafe extern "C" fn(*mut HostFuncCtx<()>, *mut VMContext, *mut ValRaw, u64);

/// A host function's context, shared (reference-counted, as an `Arc`) by the
/// `Linker` that defined it and every store it was instantiated into, so its
/// address is stable and instantiating it allocates nothing. `F` is the
/// closure; handles keep it erased ([`HostCtxRef`]), whose header view is
/// `HostFuncCtx<()>` (`repr(C)`: the header fields come first and have the same
/// offsets whatever `F` is). The per-store part of a host function, its
/// `VMFuncRef` (whose `wasm_call` is a trampoline of a module of that store),
/// lives in the store's [`HostFuncs`].
#[repr(C)]
pub struct HostFuncCtx<F = ()> {
    entry: Entry,
    /// `host_call::<T, F>`, erased (see [`call_from_host`]).
    host_call: *const (),
    /// `retain::<F>`: one more strong reference to the context's `Arc`.
    retain: unsafe fn(NonNull<HostFuncCtx<()>>),
    /// `release::<F>`: one strong reference less (frees it after the last).
    release: unsafe fn(NonNull<HostFuncCtx<()>>),
    func: F,
}

const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(HostFuncCtx<()>, entry) == tern_environ::HOSTCTX_ENTRY as usize);
};

/// What [`call_from_host`] calls: `host_call::<T, F>`.
type HostCall<T> = unsafe fn(*const HostFuncCtx<()>, Caller<'_, T>, &mut [ValRaw]) -> Result<()>;

/// A closure a context may hold (see the module note on dropping).
trait HostClosure<T>: Send + Sync {
    fn call(&self, caller: Caller<'_, T>, raw: &mut [ValRaw]) -> Result<()>;
}

/// A closure that borrows nothing, called with no dynamic dispatch.
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

/// A closure already shared as a trait object (a `Val` adapter, a
/// component's lowering).
struct Shared<T>(Arc<HostFn<T>>);

impl<T> HostClosure<T> for Shared<T> {
    #[inline]
    fn call(&self, caller: Caller<'_, T>, raw: &mut [ValRaw]) -> Result<()> {
        invoke_host(&*self.0, caller, raw)
    }
}

/// One strong reference to a type-erased context.
struct HostCtxRef(NonNull<HostFuncCtx<()>>);

// SAFETY: the context is immutable after construction; its closure is `Send +
// Sync` (both `HostClosure` impls require it) and the other fields are code
// addresses; the reference count is atomic (`Arc`).
unsafe impl Send for HostCtxRef {}
// SAFETY: as above.
unsafe impl Sync for HostCtxRef {}

impl HostCtxRef {
    fn header(&self) -> &HostFuncCtx<()> {
        // SAFETY: we hold a strong reference to a live `HostFuncCtx<F>` whose
        // `repr(C)` header is a `HostFuncCtx<()>` (the zero-sized `func` adds no
        // bytes); only header fields are read through it.
        unsafe { self.0.as_ref() }
    }
}

impl Clone for HostCtxRef {
    fn clone(&self) -> Self {
        // SAFETY: `retain` is `retain::<F>` for the context's own closure type,
        // and we hold a strong reference, so the `Arc` is live.
        unsafe { (self.header().retain)(self.0) };
        Self(self.0)
    }
}

impl Drop for HostCtxRef {
    fn drop(&mut self) {
        let release = self.header().release;
        // SAFETY: `release` is `release::<F>` for the context's own closure
        // type, and this gives up the strong reference we held.
        unsafe { release(self.0) }
    }
}

/// Adds a strong reference to a context made by [`make_ctx::<T, C>`].
///
/// # Safety
/// `ctx` must come from `Arc::<HostFuncCtx<C>>::into_raw` and be live.
unsafe fn retain<C>(ctx: NonNull<HostFuncCtx<()>>) {
    // SAFETY: by the caller's promise.
    unsafe { Arc::increment_strong_count(ctx.cast::<HostFuncCtx<C>>().as_ptr()) }
}

/// Drops a strong reference to a context made by [`make_ctx::<T, C>`].
///
/// # Safety
/// `ctx` must come from `Arc::<HostFuncCtx<C>>::into_raw`, and the caller gives
/// up one strong reference it held.
unsafe fn release<C>(ctx: NonNull<HostFuncCtx<()>>) {
    // SAFETY: by the caller's promise.
    drop(unsafe { Arc::from_raw(ctx.cast::<HostFuncCtx<C>>().as_ptr()) });
}

/// Makes a context for `func`, with its shims for stores of data type `T`.
fn make_ctx<T, C: HostClosure<T>>(func: C) -> HostCtxRef {
    let host_call: HostCall<T> = host_call::<T, C>;
    let ctx = Arc::new(HostFuncCtx {
        entry: host_entry::<T, C>,
        host_call: host_call as *const (),
        retain: retain::<C>,
        release: release::<C>,
        func,
    });
    let raw = Arc::into_raw(ctx).cast::<HostFuncCtx<()>>().cast_mut();
    HostCtxRef(NonNull::new(raw).expect("Arc::into_raw is never null"))
}

/// A host function's context made for stores of data type `T` (the closure and
/// its entry shim), not yet tied to any store: what a `Linker` keeps, so that
/// every instantiation shares it instead of making one per store.
pub struct HostFuncDef<T> {
    ctx: HostCtxRef,
    _marker: PhantomData<fn(T) -> T>,
}

impl<T> Clone for HostFuncDef<T> {
    fn clone(&self) -> Self {
        Self {
            ctx: self.ctx.clone(),
            _marker: PhantomData,
        }
    }
}

impl<T> HostFuncDef<T> {
    /// A context for closure `func`, which the entry shim calls directly.
    pub fn new<F>(func: F) -> Self
    where
        F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    {
        Self {
            ctx: make_ctx::<T, _>(Owned(func)),
            _marker: PhantomData,
        }
    }

    /// A context for a closure already shared as a trait object (no second
    /// closure wraps it).
    pub fn from_arc(func: Arc<HostFn<T>>) -> Self {
        Self {
            ctx: make_ctx::<T, _>(Shared(func)),
            _marker: PhantomData,
        }
    }
}

/// Host-function contexts shared as one list (an `InstancePre`'s host imports,
/// in order): a store that defines functions from it ([`define_list`]) keeps
/// one reference to the list instead of one per function.
pub struct HostFuncList<T> {
    /// The list, behind a thin pointer so that it can be erased ([`ListRef`]).
    defs: Arc<Vec<HostFuncDef<T>>>,
}

impl<T> Clone for HostFuncList<T> {
    fn clone(&self) -> Self {
        Self {
            defs: self.defs.clone(),
        }
    }
}

impl<T> HostFuncList<T> {
    /// A list of `defs`.
    pub fn new(defs: Vec<HostFuncDef<T>>) -> Self {
        Self {
            defs: Arc::new(defs),
        }
    }
}

/// One strong reference to a type-erased [`HostFuncList`]'s `Arc`.
struct ListRef {
    list: NonNull<()>,
    /// `release_list::<T>`: drops the reference.
    release: unsafe fn(NonNull<()>),
}

// SAFETY: the list is immutable; it holds `HostFuncDef`s, whose contexts are
// `Send + Sync` (see `HostCtxRef`), and the count is atomic (`Arc`).
unsafe impl Send for ListRef {}
// SAFETY: as above.
unsafe impl Sync for ListRef {}

impl Drop for ListRef {
    fn drop(&mut self) {
        // SAFETY: `release` is `release_list::<T>` for the list's own `T`, and
        // this gives up the strong reference we held.
        unsafe { (self.release)(self.list) }
    }
}

/// Drops a strong reference to a list made by [`HostFuncList::<T>::new`].
///
/// # Safety
/// `list` must come from `Arc::<Vec<HostFuncDef<T>>>::into_raw`, and the
/// caller gives up one strong reference it held.
unsafe fn release_list<T>(list: NonNull<()>) {
    // SAFETY: by the caller's promise.
    drop(unsafe { Arc::from_raw(list.cast::<Vec<HostFuncDef<T>>>().as_ptr()) });
}

/// What keeps the contexts of a store's host functions alive.
enum Owner {
    /// One function's context.
    #[allow(
        dead_code,
        reason = "held for ownership: dropping it releases the context"
    )]
    Context(HostCtxRef),
    /// A whole list's contexts.
    #[allow(
        dead_code,
        reason = "held for ownership: dropping it releases the list"
    )]
    List(ListRef),
}

/// Funcrefs per chunk of [`HostFuncs`].
const CHUNK: usize = 16;

/// A store's host functions: each one's (shared) context, kept alive by
/// `owners`, and each one's `VMFuncRef` for this store, in chunks that never
/// move (compiled code holds pointers to them) so that defining one usually
/// allocates nothing.
#[derive(Default)]
pub struct HostFuncs {
    /// How many functions there are (each one's context is its funcref's
    /// `vmctx`, alive as long as `owners` is).
    len: usize,
    /// Strong references to every function's context (the first one inline:
    /// a store whose host functions came from one `InstancePre` allocates no
    /// list for it).
    owners: SmallVec<[Owner; 1]>,
    /// Boxed chunks, because compiled code holds pointers to the funcrefs: a
    /// chunk must not move when the list grows (the first box's pointer is
    /// inline, as for `owners`).
    funcrefs: SmallVec<[Box<[UnsafeCell<VMFuncRef>; CHUNK]>; 1]>,
}

// SAFETY: the funcrefs are plain words, written only through `&mut` store
// access or by the store's own thread (`set_wasm_call`); the contexts are
// `Send + Sync` (`HostCtxRef`).
unsafe impl Send for HostFuncs {}
// SAFETY: as above.
unsafe impl Sync for HostFuncs {}

impl std::fmt::Debug for HostFuncs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFuncs")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl HostFuncs {
    fn slot(&self, index: usize) -> &UnsafeCell<VMFuncRef> {
        &self.funcrefs[index / CHUNK][index % CHUNK]
    }

    /// The signature's engine id of host function `index`.
    ///
    /// # Panics
    /// Panics if there is no such host function.
    pub fn type_id(&self, index: usize) -> u32 {
        assert!(index < self.len, "no host function {index}");
        // SAFETY: only `set_wasm_call` writes a funcref, on this thread (the
        // store is not shared), never concurrently with this read.
        unsafe { (*self.slot(index).get()).type_id }
    }

    /// Sets the wasm-to-host trampoline wasm enters host function `index`
    /// through: code for exactly this function's signature that stays mapped
    /// while the store lives (the store's registry of module trampolines
    /// guarantees both). Wasm can reach a funcref only through a signature its
    /// module declares, and modules are registered before their code runs, so
    /// a null `wasm_call` is never called.
    ///
    /// # Panics
    /// Panics if there is no such host function.
    pub fn set_wasm_call(&self, index: usize, wasm_call: *const u8) {
        assert!(index < self.len, "no host function {index}");
        // SAFETY: the funcref is interior-mutable; the store is used by one
        // thread at a time and no reference to the funcref is held across this
        // write (compiled code reads it through raw pointers, only while running).
        unsafe { (*self.slot(index).get()).wasm_call = wasm_call };
    }

    /// The context of host function `index` (its funcref's `vmctx`), alive as
    /// long as the store.
    ///
    /// # Panics
    /// Panics if there is no such host function.
    fn ctx(&self, index: usize) -> *const HostFuncCtx<()> {
        assert!(index < self.len, "no host function {index}");
        // SAFETY: only `set_wasm_call` writes a funcref after `push`, and only
        // its `wasm_call`, on this thread; `vmctx` was set by `push` to the
        // context and never changes.
        unsafe { (*self.slot(index).get()).vmctx.cast::<HostFuncCtx<()>>() }
    }

    /// The funcref wasm calls host function `index` through.
    ///
    /// # Panics
    /// Panics if there is no such host function.
    pub fn funcref(&self, index: usize) -> *const VMFuncRef {
        assert!(index < self.len, "no host function {index}");
        self.slot(index).get()
    }

    /// Makes room for `n` more host functions.
    pub fn reserve(&mut self, n: usize) {
        let chunks = (self.len + n).div_ceil(CHUNK);
        self.funcrefs
            .reserve(chunks.saturating_sub(self.funcrefs.len()));
    }

    /// Adds a function whose context `ctx` points to; the caller has put a
    /// strong reference to it in `owners`.
    fn push(&mut self, ctx: NonNull<HostFuncCtx<()>>, wasm_call: *const u8, type_id: u32) -> usize {
        let index = self.len;
        if index.is_multiple_of(CHUNK) {
            let empty = VMFuncRef {
                wasm_call: std::ptr::null(),
                vmctx: std::ptr::null_mut(),
                type_id: 0,
            };
            self.funcrefs
                .push(Box::new(std::array::from_fn(|_| UnsafeCell::new(empty))));
        }
        let vmctx = ctx.as_ptr().cast::<VMContext>();
        self.len += 1;
        // SAFETY: a fresh slot; no reference to it exists yet.
        unsafe {
            *self.slot(index).get() = VMFuncRef {
                wasm_call,
                vmctx,
                type_id,
            }
        };
        index
    }
}

/// Makes host function `def` a function of `store` (its index in
/// `host_funcs` is returned): one more reference to the shared context and a
/// funcref of the store. `wasm_call` is the wasm-to-host trampoline for its
/// signature (null until the store has one: see [`HostFuncs::set_wasm_call`])
/// and `type_id` the signature's engine id.
pub fn define<T>(
    store: &mut StoreInner<T>,
    def: &HostFuncDef<T>,
    wasm_call: *const u8,
    type_id: u32,
) -> usize {
    // A `HostFuncDef<T>` was made for `T`, so the module note's invariant holds.
    let funcs = &mut store.opaque.host_funcs;
    let ctx = def.ctx.clone();
    let ptr = ctx.0;
    funcs.owners.push(Owner::Context(ctx));
    funcs.push(ptr, wasm_call, type_id)
}

/// Makes every host function of `list` a function of `store`, with one more
/// reference to the list (not one per function); `wasm_call_and_type` gives
/// the `wasm_call` and `type_id` of the list's function `k` (see [`define`]).
/// Returns the index in `host_funcs` of the list's first function; the others
/// follow it in order.
pub fn define_list<T>(
    store: &mut StoreInner<T>,
    list: &HostFuncList<T>,
    mut wasm_call_and_type: impl FnMut(&StoreInner<T>, usize) -> (*const u8, u32),
) -> usize {
    // A `HostFuncList<T>` holds `HostFuncDef<T>`s, made for `T`: the module
    // note's invariant holds for each context.
    let raw = Arc::into_raw(list.defs.clone()).cast_mut();
    let owner = ListRef {
        list: NonNull::new(raw)
            .expect("Arc::into_raw is never null")
            .cast(),
        release: release_list::<T>,
    };
    store.opaque.host_funcs.reserve(list.defs.len());
    store.opaque.host_funcs.owners.push(Owner::List(owner));
    let first = store.opaque.host_funcs.len;
    for (k, def) in list.defs.iter().enumerate() {
        // The list, kept alive above, holds a strong reference to the context.
        let (wasm_call, type_id) = wasm_call_and_type(store, k);
        store.opaque.host_funcs.push(def.ctx.0, wasm_call, type_id);
    }
    first
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
    let ctx: *const HostFuncCtx<()> = store.opaque.host_funcs.ctx(index);
    // SAFETY: `ctx` is live (above); `host_call` is never written after
    // construction.
    let host_call = unsafe { (*ctx).host_call };
    // SAFETY: `host_call` was stored by `make_ctx::<T, C>` as a `HostCall<T>`, and
    // a context in a `Store<T>` was made for that `T` (module note).
    let call = unsafe { std::mem::transmute::<*const (), HostCall<T>>(host_call) };
    // SAFETY: `ctx` is a live context made by `make_ctx::<T, C>` (host_call's contract).
    unsafe { call(ctx, Caller::new(store, caller), raw) }
}

/// Calls the closure of `ctx` from the host.
///
/// # Safety
/// `ctx` must be a live context made by `make_ctx::<T, C>`.
unsafe fn host_call<T, C: HostClosure<T>>(
    ctx: *const HostFuncCtx<()>,
    caller: Caller<'_, T>,
    raw: &mut [ValRaw],
) -> Result<()> {
    // SAFETY: by the caller's promise the context's closure is a `C`; the
    // context is immutable.
    let func = unsafe { &(*ctx.cast::<HostFuncCtx<C>>()).func };
    func.call(caller, raw)
}

/// The entry shim of a host function `C` made for `Store<T>`s.
///
/// # Safety
/// Only a wasm-to-host trampoline calls it, inside `catch_traps`, with the
/// context it was stored in (made by `make_ctx::<T, C>`), the calling
/// instance's vmctx, and a stack array of `len` value slots.
unsafe extern "C" fn host_entry<T, C: HostClosure<T>>(
    ctx: *mut HostFuncCtx<()>,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: u64,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the trampoline passes the context this entry was stored in,
        // whose closure is a `C` (this entry is only stored by
        // `make_ctx::<T, C>`); the context is immutable and the store holds a
        // strong reference to it.
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
        // `StoreInner<T>` (this entry is only in `Store<T>`s); nothing
        // else uses it until we return.
        let store = unsafe { &mut *store };
        // SAFETY: the trampoline passes a stack array of `len` slots.
        let values = unsafe { std::slice::from_raw_parts_mut(values, len as usize) };
        // The calling wasm is stopped at this trampoline's recorded exit
        // until we return, which makes this a safe point for pruning host
        // `externref`s; the arguments are in `values` only
        // (`store/externrefs.rs`).
        store.opaque.externref_safe_point(values);
        let result = func.call(Caller::new(&mut *store, Some(caller)), values);
        match result {
            // The host throws a wasm exception (`Store::throw`, or rethrowing
            // one a nested call returned): unwind it into the calling wasm
            // once this closure has returned and dropped what it holds.
            Err(e) if e.is::<crate::ThrownException>() => match store.opaque.exception_rethrown() {
                Some(thrown) => Ok(Some(thrown)),
                None => Err(e),
            },
            Ok(()) => Ok(None),
            Err(e) => Err(e),
        }
    }));
    let unwind = match outcome {
        Ok(Ok(None)) => return,
        Ok(Ok(Some((exn, tag)))) => {
            // SAFETY: the caller's vmctx is a live instance vmctx.
            let limits = unsafe { VMContextHeader::of(caller_vmctx) }.runtime_limits;
            // SAFETY: the wasm-to-host trampoline that called us recorded its
            // frame pointer there (nested entries restore it), and its caller
            // is wasm of the innermost activation; this frame now owns
            // nothing (the closure's values are dropped, `exn` and `tag` are
            // plain words), so it may be jumped over.
            unsafe {
                let exit_fp = *(*limits).last_wasm_exit_fp.get();
                throw_from(limits, exit_fp, exn, tag)
            }
        }
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

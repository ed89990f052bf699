//! The two places the runtime turns an untyped store pointer back into a typed
//! one: libcalls finding their store, and the limiter hook recovering
//! `StoreInner<T>` from a `StoreOpaque`.

use super::vmcontext::{VMContext, VMContextHeader};
use crate::limits::{Limiter, ResourceLimiter, ResourceLimiterAsync};
use crate::store::{LimiterFns, StoreInner, StoreOpaque};

/// The store that owns the instance whose vmctx compiled code passed.
///
/// It is the pointer the entering `call_wasm` derived from its exclusive
/// borrow, kept in the store's runtime limits while wasm runs (not the
/// vmctx's store field, which was written at instantiation from an older
/// borrow); debug builds check that both name the same store.
///
/// # Safety
/// `vmctx` must be a live instance vmctx, called from its wasm inside
/// `catch_traps` (so the store is borrowed only by the suspended call that
/// entered wasm), and the caller must not hold any other reference into the
/// store while using the result.
pub unsafe fn store_from_vmctx<'a>(vmctx: *mut VMContext) -> &'a mut StoreOpaque {
    // SAFETY: the caller promises a live instance vmctx whose wasm runs.
    let store = unsafe { VMContextHeader::entered_store(vmctx) };
    // SAFETY: the caller promises a live instance vmctx.
    debug_assert_eq!(store, unsafe { VMContextHeader::of(vmctx) }.store);
    // SAFETY: the innermost entry's store is the running wasm's store, a
    // `StoreInner<T>` (`repr(C)`, `StoreOpaque` first) whose borrow is
    // suspended; the caller promises no other reference is used meanwhile.
    unsafe { &mut *store.cast::<StoreOpaque>() }
}

/// The limiter of a `Store<T>`; installed as the store's limiter hook by
/// `Store::<T>::limiter` and `Store::<T>::limiter_async`, so `opaque` is
/// always the head of a `StoreInner<T>`.
///
/// `T` need not be `'static`, and the hook's type cannot name it, so the
/// borrow of the data is made for this body and then given `opaque`'s
/// lifetime: the data lives in the same allocation as `opaque` (a `Store<T>`
/// cannot outlive its data's borrows), so it is alive as long as `opaque` is
/// borrowed, and that borrow is exclusive.
pub fn limiter_of<'a, T>(opaque: &'a mut StoreOpaque) -> Option<Limiter<'a>> {
    let acx = opaque.async_cx.on_fiber().then(|| opaque.async_cx.ptr());
    let inner = (opaque as *mut StoreOpaque).cast::<StoreInner<T>>();
    // SAFETY: `StoreInner<T>` is `repr(C)` with `opaque` first, and this function
    // is only installed on stores created as `Store<T>` for this very `T`; the
    // exclusive borrow of `opaque` covers the whole store, which we use only here.
    let inner = unsafe { &mut *inner };
    Some(match inner.limiter.as_mut()? {
        LimiterFns::Sync(find) => {
            let found: &mut dyn ResourceLimiter = find(&mut inner.data);
            // SAFETY: only lifetimes change: the limiter is in the store's data,
            // which stays alive and exclusively borrowed for `'a` (see above).
            Limiter::Sync(unsafe {
                std::mem::transmute::<&mut dyn ResourceLimiter, &'a mut dyn ResourceLimiter>(found)
            })
        }
        LimiterFns::Async(find) => {
            let found: &mut dyn ResourceLimiterAsync = find(&mut inner.data);
            // SAFETY: as for the synchronous limiter just above.
            let found = unsafe {
                std::mem::transmute::<&mut dyn ResourceLimiterAsync, &'a mut dyn ResourceLimiterAsync>(
                    found,
                )
            };
            Limiter::Async(found, acx)
        }
    })
}

/// Runs the epoch deadline callback of a `Store<T>`; installed as the store's
/// epoch hook by `Store::<T>::epoch_deadline_callback`, so `opaque` is always
/// the head of a `StoreInner<T>`. `None` when the callback is not in the
/// store (it is running: this is a nested call).
///
/// The callback is taken out while it runs, so it gets the whole store as a
/// `StoreContextMut<T>`; it goes back afterwards unless the callback chose
/// another epoch behaviour meanwhile.
pub fn epoch_callback_of<T>(
    opaque: &mut StoreOpaque,
) -> Option<anyhow::Result<crate::UpdateDeadline>> {
    let inner = (opaque as *mut StoreOpaque).cast::<StoreInner<T>>();
    // SAFETY: as in `limiter_of`: `StoreInner<T>` is `repr(C)` with `opaque`
    // first, this hook is only installed on stores created as `Store<T>` for
    // this `T`, and the exclusive borrow of `opaque` covers the whole store,
    // which is used only through `inner` until this function returns.
    let inner = unsafe { &mut *inner };
    let mut callback = inner.epoch_callback.take()?;
    let update = callback(crate::StoreContextMut(&mut *inner));
    let still_ours = matches!(
        inner.opaque.epoch_behavior,
        crate::store::EpochBehavior::Callback(_)
    );
    if still_ours && inner.epoch_callback.is_none() {
        inner.epoch_callback = Some(callback);
    }
    Some(update)
}

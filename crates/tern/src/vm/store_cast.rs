//! The two places the runtime turns an untyped store pointer back into a typed
//! one: libcalls finding their store from a vmctx, and the limiter hook
//! recovering `StoreInner<T>` from a `StoreOpaque`.

use super::vmcontext::VMContext;
use crate::limits::ResourceLimiter;
use crate::store::{StoreInner, StoreOpaque};

/// Offset of the store pointer in every vmctx (see `VMOffsets::store`).
const STORE_OFFSET: usize = 16;

/// The store that owns the instance whose vmctx compiled code passed.
///
/// # Safety
/// `vmctx` must be a live instance vmctx, called from its wasm (so the store is
/// borrowed only by the suspended `Func::call` that entered wasm), and the caller
/// must not hold any other reference into the store while using the result.
pub unsafe fn store_from_vmctx<'a>(vmctx: *mut VMContext) -> &'a mut StoreOpaque {
    // SAFETY: guaranteed by the caller; the field was written at instantiation.
    unsafe { &mut *(*(vmctx.cast::<u8>().add(STORE_OFFSET) as *const *mut StoreOpaque)) }
}

/// The limiter of a `Store<T>`; installed as the store's limiter hook by
/// `Store::<T>::limiter`, so `opaque` is always the head of a `StoreInner<T>`.
pub fn limiter_of<T: 'static>(opaque: &mut StoreOpaque) -> Option<&mut dyn ResourceLimiter> {
    // SAFETY: `StoreInner<T>` is `repr(C)` with `opaque` first, and this function
    // is only installed on stores created as `Store<T>` for this very `T`.
    let inner = unsafe { &mut *(opaque as *mut StoreOpaque as *mut StoreInner<T>) };
    let limiter = inner.limiter.as_mut()?;
    Some(limiter(&mut inner.data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn store_offset_matches_vmoffsets() {
        let offsets = tern_environ::VMOffsets::new(&tern_environ::Module::default());
        assert_eq!(offsets.store() as usize, super::STORE_OFFSET);
    }
}

//! Reading and writing global storage (a `VMGlobalDefinition`, either in a vmctx
//! or boxed by the store for host-created globals).

use super::vmcontext::{VMGlobalDefinition, ValRaw};

/// A pointer to live global storage. The store only hands these out for storage
/// it owns, so reading and writing through them is sound while the store lives
/// and no wasm runs (which the `&`/`&mut` store borrows of the API guarantee).
#[derive(Debug, Clone, Copy)]
pub struct GlobalPtr(pub *mut VMGlobalDefinition);

// SAFETY: moves between threads only with its store.
unsafe impl Send for GlobalPtr {}
// SAFETY: as above.
unsafe impl Sync for GlobalPtr {}

impl GlobalPtr {
    /// The global's 16 bytes as a `ValRaw`.
    pub fn get(self) -> ValRaw {
        // SAFETY: see the type's invariant; ValRaw and the storage are both 16
        // bytes with 16-byte alignment.
        unsafe { *((*self.0).storage.get() as *const ValRaw) }
    }

    /// Overwrites the global's 16 bytes.
    pub fn set(self, value: ValRaw) {
        // SAFETY: as in `get`.
        unsafe { *((*self.0).storage.get() as *mut ValRaw) = value }
    }
}

/// Allocates storage for a host-created global.
pub fn new_host_global(value: ValRaw) -> Box<VMGlobalDefinition> {
    let g = Box::<VMGlobalDefinition>::default();
    GlobalPtr(&*g as *const VMGlobalDefinition as *mut VMGlobalDefinition).set(value);
    g
}

/// Allocates `n` contiguous global slots, each holding `value`: the storage of
/// a component VMContext (see `tern_environ::component::VMComponentOffsets`),
/// whose slots compiled adapters import as globals.
pub fn new_host_global_block(n: usize, value: ValRaw) -> Box<[VMGlobalDefinition]> {
    let block: Box<[VMGlobalDefinition]> = (0..n).map(|_| VMGlobalDefinition::default()).collect();
    for slot in block.iter() {
        GlobalPtr::of(slot).set(value);
    }
    block
}

impl GlobalPtr {
    /// A pointer to `slot`, which must be storage the store owns (see the
    /// type's invariant); writes through it go through the slot's `UnsafeCell`.
    pub fn of(slot: &VMGlobalDefinition) -> Self {
        GlobalPtr(slot as *const VMGlobalDefinition as *mut VMGlobalDefinition)
    }
}

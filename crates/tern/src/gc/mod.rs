//! The GC heap's values in the API (see `docs/design/gc.md`): [`AnyRef`] and
//! [`I31`], [`StructRef`] and [`ArrayRef`] with their allocators
//! ([`StructRefPre`], [`ArrayRefPre`]) and types ([`StructType`],
//! [`ArrayType`], [`FieldType`], [`StorageType`]), with
//! later wasmtime's names.
//!
//! **Handles are root slots.** A host handle to a heap object never holds
//! the object's heap offset: it names a slot of its store's root table
//! (`StoreOpaque::gc_roots`), which holds the offset, so a moving collector
//! (phase 3) only has to update the table. In phase 2 nothing is collected,
//! and a slot lives until its store is dropped: every object handed to the
//! host takes one slot (4 bytes). Phase 3 replaces this with scoped
//! (`Rooted`) and manual (`ManuallyRooted`) roots that release their slots.
//! A handle used with another store is an `Err`.

mod anyref;
pub(crate) mod collect;
pub(crate) mod const_eval;
pub(crate) mod heap;
mod objects;
mod types;

pub(crate) use anyref::EXTERNALIZED;
pub use anyref::{AnyRef, I31};
pub use objects::{ArrayRef, ArrayRefPre, StructRef, StructRefPre};
pub use types::{ArrayType, FieldType, StorageType, StructType};

use crate::store::StoreOpaque;
use anyhow::{bail, Result};

/// A slot of a store's root table: what a host handle to an object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GcRoot {
    store_id: u64,
    slot: u32,
}

impl StoreOpaque {
    /// Roots the object at heap offset `at` for a host handle.
    pub(crate) fn gc_root(&mut self, at: u64) -> GcRoot {
        let slot = self.gc_roots.len() as u32;
        self.gc_roots.push(at as u32);
        GcRoot {
            store_id: self.id(),
            slot,
        }
    }

    /// The heap offset of the object `root` names.
    ///
    /// # Errors
    /// Fails if `root` belongs to another store.
    pub(crate) fn gc_rooted(&self, root: GcRoot) -> Result<u64> {
        if root.store_id != self.id() {
            bail!("GC reference used with the wrong store");
        }
        match self.gc_roots.get(root.slot as usize) {
            Some(at) => Ok(u64::from(*at)),
            None => bail!("stale GC reference"),
        }
    }
}

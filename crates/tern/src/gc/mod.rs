//! The GC heap's values in the API (see `docs/design/gc.md`): [`AnyRef`] and
//! [`I31`], [`StructRef`], [`ArrayRef`] and [`ExnRef`] with their
//! allocators ([`StructRefPre`], [`ArrayRefPre`], [`ExnRefPre`]) and types
//! ([`StructType`], [`ArrayType`], [`ExnType`], [`FieldType`],
//! [`StorageType`]), with later wasmtime's names.
//!
//! **Handles are roots.** A host handle to a GC value never holds its heap
//! word: it names an entry of its store's root table (`roots.rs`), which
//! holds the word, so a moving collector only has to update the table. The
//! handles are later wasmtime's: [`Rooted`] (released when its
//! [`RootScope`] ends), [`ManuallyRooted`] and [`OwnedRooted`]
//! (`rooting.rs`, which also states when each is released). A handle used
//! after its root was released, or with another store, is an `Err`.

mod anyref;
pub(crate) mod collect;
pub(crate) mod const_eval;
mod exnref;
pub(crate) mod heap;
mod objects;
pub(crate) mod rooting;
pub(crate) mod roots;
mod types;

pub(crate) use anyref::EXTERNALIZED;
pub use anyref::{AnyRef, I31};
pub use exnref::{ExnRef, ExnRefPre, ExnType};
pub use objects::{ArrayRef, ArrayRefPre, StructRef, StructRefPre};
pub use rooting::{GcRef, ManuallyRooted, OwnedRooted, RootScope, Rooted, RootedGcRef};
#[doc(hidden)]
pub use roots::GcRootCounts;
pub use types::{ArrayType, FieldType, StorageType, StructType};

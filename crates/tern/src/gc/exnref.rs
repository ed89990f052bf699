//! Exception objects in the API, with later wasmtime's names and shapes:
//! [`ExnType`] (an exception's payload type), [`ExnRefPre`] (what allocating
//! exceptions of one type in one store needs) and [`ExnRef`], a plain handle
//! that the API hands out rooted ([`Rooted<ExnRef>`](super::Rooted) and the
//! other rooted forms), like [`StructRef`](super::StructRef).
//!
//! An exception is an object of the store's GC heap (`crate::exn` explains
//! its layout and how it crosses the host boundary); an `ExnRef` names an
//! entry of the store's root table (`gc/roots.rs`), never the offset itself,
//! so a moving collector only updates the table.

use super::rooting::sealed::GcRefImpl;
use super::roots::GcRootIndex;
use super::{FieldType, Rooted, StorageType};
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, Engine, FuncType, Mutability, Tag, TagType, Val, ValType};
use anyhow::{bail, Result};
use tern_environ::{gc_exn_layout, WasmStorageType};

/// The type of an exception object: its payload's field types, which are
/// a tag type's parameters.
///
/// (Deviation: Tern's tag types are not registered per engine, so an
/// `ExnType` holds no engine and [`ExnType::new`] only checks nothing.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExnType {
    params: Vec<ValType>,
}

impl ExnType {
    /// The exception type whose payload has `fields`.
    ///
    /// # Errors
    /// Never in Tern (the result keeps wasmtime's signature).
    pub fn new(engine: &Engine, fields: impl IntoIterator<Item = ValType>) -> Result<Self> {
        let _ = engine;
        Ok(Self {
            params: fields.into_iter().collect(),
        })
    }

    /// The exception type of tag type `tag`: its parameters.
    ///
    /// # Errors
    /// Fails if `tag` has results (a tag type's results are always empty).
    pub fn from_tag_type(tag: &TagType) -> Result<Self> {
        if tag.ty().results().len() != 0 {
            bail!("non-empty tag result type");
        }
        Ok(Self {
            params: tag.ty().params().collect(),
        })
    }

    /// The tag type whose parameters this payload is.
    pub fn tag_type(&self) -> TagType {
        TagType::new(FuncType::new(self.params.iter().copied(), []))
    }

    /// The type of payload field `index`, if it exists (fields are immutable).
    pub fn field(&self, index: usize) -> Option<FieldType> {
        self.params.get(index).map(field_type)
    }

    /// The payload's field types, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldType> + '_ {
        self.params.iter().map(field_type)
    }
}

fn field_type(ty: &ValType) -> FieldType {
    FieldType::new(Mutability::Const, StorageType::ValType(*ty))
}

/// What allocating exceptions of one type in one store needs (later
/// wasmtime's allocator handle, like [`StructRefPre`](super::StructRefPre)).
#[derive(Debug, Clone)]
pub struct ExnRefPre {
    store_id: u64,
    ty: ExnType,
}

impl ExnRefPre {
    /// Prepares allocating exceptions of type `ty` in `store`.
    pub fn new(mut store: impl AsContextMut, ty: ExnType) -> Self {
        let store_id = store.as_context_mut().0.opaque.id();
        Self { store_id, ty }
    }
}

/// A reference to an exception object (`exnref`) of a store's GC heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExnRef {
    root: GcRootIndex,
}

impl GcRefImpl for ExnRef {
    fn root_index(&self) -> GcRootIndex {
        self.root
    }
    fn from_root_index(root: GcRootIndex) -> Self {
        Self { root }
    }
}

impl ExnRef {
    /// Allocates an exception of `tag` with payload `fields`, to throw with
    /// [`Store::throw`](crate::Store::throw); rooted in `store`'s current
    /// scope.
    ///
    /// # Errors
    /// Fails when the allocator or the tag belongs to another store, when
    /// the tag's type is not the allocator's, when the fields do not match
    /// the tag's parameters (or are references of another store), or with
    /// `Trap::GcHeapOutOfMemory` when the store's GC heap cannot hold the
    /// exception.
    pub fn new(
        mut store: impl AsContextMut,
        allocator: &ExnRefPre,
        tag: &Tag,
        fields: &[Val],
    ) -> Result<Rooted<ExnRef>> {
        let store = &mut store.as_context_mut().0.opaque;
        if allocator.store_id != store.id() {
            bail!("exception allocator used with the wrong store");
        }
        store.check(tag.0)?;
        let ty = store.tags[tag.0.index].ty.ty().clone();
        if !ty.params().eq(allocator.ty.params.iter().copied()) {
            bail!(
                "the tag's type {} is not the allocator's exception type",
                ty
            );
        }
        if ty.params().len() != fields.len() {
            bail!(
                "exception payload has {} fields, the tag's type {} needs {}",
                fields.len(),
                ty,
                ty.params().len()
            );
        }
        for (v, t) in fields.iter().zip(ty.params()) {
            if v.ty() != t {
                bail!("exception field of type {} where {t} is expected", v.ty());
            }
        }
        let at = store.new_exception(tag.0.index, fields)?;
        Ok(Rooted::from_inner(ExnRef::from_root_index(
            store.gc_root(at),
        )))
    }

    /// The exception's type.
    ///
    /// # Errors
    /// Fails when the exception's root was released or belongs to another
    /// store.
    pub fn ty(&self, store: impl AsContext) -> Result<ExnType> {
        let store = &store.as_context().0.opaque;
        let at = store.gc_rooted(self.root)?;
        let params = store.exception_params(at)?;
        Ok(ExnType {
            params: params.into_iter().map(ValType::from_wasm).collect(),
        })
    }

    /// The exception's tag.
    ///
    /// # Errors
    /// Fails when the exception's root was released or belongs to another
    /// store.
    pub fn tag(&self, store: impl AsContext) -> Result<Tag> {
        let store = &store.as_context().0.opaque;
        let at = store.gc_rooted(self.root)?;
        let tag = store.exception_tag(at)?;
        Ok(Tag(store.stored(tag)))
    }

    /// Payload field `index`.
    ///
    /// # Errors
    /// Fails when the exception's root was released, belongs to another
    /// store, or has no such field.
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let at = store.gc_rooted(self.root)?;
        let params = store.exception_params(at)?;
        let Some(t) = params.get(index).copied() else {
            bail!("exception field {index} out of range");
        };
        let offset = gc_exn_layout(&params).fields[index + 1];
        Ok(store.gc_read_value(WasmStorageType::Val(t), at + u64::from(offset)))
    }

    /// Every payload field, in order.
    ///
    /// # Errors
    /// As for [`Self::field`].
    pub fn fields(&self, mut store: impl AsContextMut) -> Result<Vec<Val>> {
        let mut store = store.as_context_mut();
        let n = {
            let opaque = &store.0.opaque;
            let at = opaque.gc_rooted(self.root)?;
            opaque.exception_params(at)?.len()
        };
        (0..n).map(|i| self.field(&mut store, i)).collect()
    }

    /// The raw value wasm holds for this exception (its heap offset).
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<u64> {
        store.gc_rooted(self.root)
    }

    /// The exception behind a raw value read from wasm (0 is null), rooted
    /// in the store's current scope.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: u64) -> Option<Rooted<ExnRef>> {
        (raw != 0).then(|| Rooted::from_inner(ExnRef::from_root_index(store.gc_root(raw))))
    }
}

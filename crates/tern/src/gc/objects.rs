//! Host handles to structs and arrays ([`StructRef`], [`ArrayRef`]) and
//! their allocators ([`StructRefPre`], [`ArrayRefPre`]), with later
//! wasmtime's names. A handle names a root of its store (see the `gc`
//! module note); every access checks the store, the root and the object's
//! shape, so a handle used wrongly is an `Err`, never a read outside the
//! object. Allocation returns the handle rooted in the store's current scope.

use super::rooting::sealed::GcRefImpl;
use super::roots::GcRootIndex;
use super::{ArrayType, Rooted, StructType};
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, Trap, Val};
use anyhow::{bail, Result};
use tern_environ::{gc_array_layout, gc_struct_layout, GcKind, GC_ARRAY_LENGTH};

/// What allocating structs of one type in one store needs (later
/// wasmtime's `StructRefPre`): the type, checked against the store's engine.
#[derive(Debug, Clone)]
pub struct StructRefPre {
    store_id: u64,
    ty: StructType,
}

impl StructRefPre {
    /// Prepares allocating structs of type `ty` in `store`.
    pub fn new(mut store: impl AsContextMut, ty: StructType) -> Self {
        let store_id = store.as_context_mut().0.opaque.id();
        Self { store_id, ty }
    }
}

/// What allocating arrays of one type in one store needs.
#[derive(Debug, Clone)]
pub struct ArrayRefPre {
    store_id: u64,
    ty: ArrayType,
}

impl ArrayRefPre {
    /// Prepares allocating arrays of type `ty` in `store`.
    pub fn new(mut store: impl AsContextMut, ty: ArrayType) -> Self {
        let store_id = store.as_context_mut().0.opaque.id();
        Self { store_id, ty }
    }
}

/// A struct in a store's GC heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StructRef {
    root: GcRootIndex,
}

/// An array in a store's GC heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayRef {
    root: GcRootIndex,
}

impl GcRefImpl for StructRef {
    fn root_index(&self) -> GcRootIndex {
        self.root
    }
    fn from_root_index(root: GcRootIndex) -> Self {
        Self { root }
    }
}

impl GcRefImpl for ArrayRef {
    fn root_index(&self) -> GcRootIndex {
        self.root
    }
    fn from_root_index(root: GcRootIndex) -> Self {
        Self { root }
    }
}

fn check_store(store: &StoreOpaque, id: u64) -> Result<()> {
    if store.id() != id {
        bail!("allocator used with the wrong store");
    }
    Ok(())
}

impl StructRef {
    /// Allocates a struct of `pre`'s type with `fields` (one value per field,
    /// in order).
    ///
    /// # Errors
    /// Fails if the values do not match the fields, when the GC heap is full
    /// (`Trap::GcHeapOutOfMemory`), or if `pre` belongs to another store.
    pub fn new(
        mut store: impl AsContextMut,
        pre: &StructRefPre,
        fields: &[Val],
    ) -> Result<Rooted<Self>> {
        let store = &mut store.as_context_mut().0.opaque;
        check_store(store, pre.store_id)?;
        let ty = pre.ty.wasm();
        if fields.len() != ty.fields.len() {
            bail!(
                "struct type has {} fields but {} values were given",
                ty.fields.len(),
                fields.len()
            );
        }
        let layout = gc_struct_layout(ty);
        for (f, v) in ty.fields.iter().zip(fields) {
            let expected = super::heap::unpacked(f.element);
            if !v.matches_ty(store, &expected)? {
                bail!(
                    "value of type {:?} does not match field type {expected:?}",
                    v.ty()
                );
            }
        }
        let at = store
            .gc_alloc_object(pre.ty.id(), GcKind::Struct, u64::from(layout.size))?
            .ok_or(Trap::GcHeapOutOfMemory)?;
        for ((f, offset), v) in ty.fields.iter().zip(&layout.fields).zip(fields) {
            store.gc_write_value(f.element, at + u64::from(*offset), v)?;
        }
        Ok(Rooted::from_inner(Self::from_root_index(store.gc_root(at))))
    }

    /// The struct's type.
    ///
    /// # Errors
    /// Fails if the handle's root was released or belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> Result<StructType> {
        let store = &store.as_context().0.opaque;
        let (_, ty) = self.object(store)?;
        Ok(ty)
    }

    /// The heap offset and type of this struct.
    fn object(&self, store: &StoreOpaque) -> Result<(u64, StructType)> {
        let at = store.gc_rooted(self.root)?;
        let (id, _) = store.gc_header(at);
        match StructType::from_id(store.engine(), id) {
            Some(ty) => Ok((at, ty)),
            None => bail!("not a struct"),
        }
    }

    /// The value of field `index` (packed fields zero-extended to `i32`).
    ///
    /// # Errors
    /// Fails if there is no such field, or the handle's root was released or belongs to another store.
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let (at, ty) = self.object(store)?;
        let Some(f) = ty.wasm().fields.get(index).copied() else {
            bail!("struct has no field {index}");
        };
        let offset = gc_struct_layout(ty.wasm()).fields[index];
        Ok(store.gc_read_value(f.element, at + u64::from(offset)))
    }

    /// Sets field `index` to `value`.
    ///
    /// # Errors
    /// Fails if there is no such field, it is immutable, `value` does not
    /// match its type, or the handle's root was released or belongs to another store.
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (at, ty) = self.object(store)?;
        let Some(f) = ty.wasm().fields.get(index).copied() else {
            bail!("struct has no field {index}");
        };
        if !f.mutable {
            bail!("field {index} is immutable");
        }
        let offset = gc_struct_layout(ty.wasm()).fields[index];
        store.gc_write_value(f.element, at + u64::from(offset), &value)
    }
}

impl ArrayRef {
    /// Allocates an array of `pre`'s type with `len` copies of `elem`.
    ///
    /// # Errors
    /// Fails if `elem` does not match the element type, when the GC heap is
    /// full (`Trap::GcHeapOutOfMemory`), or if `pre` belongs to another store.
    pub fn new(
        mut store: impl AsContextMut,
        pre: &ArrayRefPre,
        elem: &Val,
        len: u32,
    ) -> Result<Rooted<Self>> {
        let store = &mut store.as_context_mut().0.opaque;
        Self::alloc(store, pre, len, |_| elem)
    }

    /// Allocates an array of `pre`'s type holding `elems`.
    ///
    /// # Errors
    /// As for [`Self::new`].
    pub fn new_fixed(
        mut store: impl AsContextMut,
        pre: &ArrayRefPre,
        elems: &[Val],
    ) -> Result<Rooted<Self>> {
        let store = &mut store.as_context_mut().0.opaque;
        let Ok(len) = u32::try_from(elems.len()) else {
            bail!("too many array elements");
        };
        Self::alloc(store, pre, len, |i| &elems[i as usize])
    }

    fn alloc<'v>(
        store: &mut StoreOpaque,
        pre: &ArrayRefPre,
        len: u32,
        elem: impl Fn(u32) -> &'v Val,
    ) -> Result<Rooted<Self>> {
        check_store(store, pre.store_id)?;
        let ty = pre.ty.wasm();
        let expected = super::heap::unpacked(ty.0.element);
        for i in 0..len.min(1) {
            if !elem(i).matches_ty(store, &expected)? {
                bail!(
                    "value of type {:?} does not match element type {expected:?}",
                    elem(i).ty()
                );
            }
        }
        let layout = gc_array_layout(&ty);
        let size = layout.size(len).ok_or(Trap::GcHeapOutOfMemory)?;
        let at = store
            .gc_alloc_object(pre.ty.id(), GcKind::Array, size)?
            .ok_or(Trap::GcHeapOutOfMemory)?;
        store.gc_write(at + u64::from(GC_ARRAY_LENGTH), &len.to_le_bytes());
        for i in 0..len {
            let slot =
                at + u64::from(layout.elems_offset) + u64::from(i) * u64::from(layout.elem_size);
            store.gc_write_value(ty.0.element, slot, elem(i))?;
        }
        Ok(Rooted::from_inner(Self::from_root_index(store.gc_root(at))))
    }

    /// The array's type.
    ///
    /// # Errors
    /// Fails if the handle's root was released or belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> Result<ArrayType> {
        let store = &store.as_context().0.opaque;
        Ok(self.object(store)?.1)
    }

    fn object(&self, store: &StoreOpaque) -> Result<(u64, ArrayType)> {
        let at = store.gc_rooted(self.root)?;
        let (id, _) = store.gc_header(at);
        match ArrayType::from_id(store.engine(), id) {
            Some(ty) => Ok((at, ty)),
            None => bail!("not an array"),
        }
    }

    /// The number of elements.
    ///
    /// # Errors
    /// Fails if the handle's root was released or belongs to another store.
    pub fn len(&self, store: impl AsContext) -> Result<u32> {
        let store = &store.as_context().0.opaque;
        let (at, _) = self.object(store)?;
        Ok(store.gc_read_u32(at + u64::from(GC_ARRAY_LENGTH)))
    }

    /// Element `index` (packed elements zero-extended to `i32`).
    ///
    /// # Errors
    /// Fails if `index` is out of bounds, or the handle's root was released or belongs to another store.
    pub fn get(&self, mut store: impl AsContextMut, index: u32) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let (slot, ty) = self.slot(store, index)?;
        Ok(store.gc_read_value(ty.0.element, slot))
    }

    /// Sets element `index` to `value`.
    ///
    /// # Errors
    /// Fails if `index` is out of bounds, the elements are immutable, `value`
    /// does not match their type, or the handle's root was released or belongs to another store.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (slot, ty) = self.slot(store, index)?;
        if !ty.0.mutable {
            bail!("array elements are immutable");
        }
        store.gc_write_value(ty.0.element, slot, &value)
    }

    /// The heap offset of element `index` (checked), and the array's type.
    fn slot(&self, store: &StoreOpaque, index: u32) -> Result<(u64, tern_environ::WasmArrayType)> {
        let (at, ty) = self.object(store)?;
        let len = store.gc_read_u32(at + u64::from(GC_ARRAY_LENGTH));
        if index >= len {
            bail!(Trap::ArrayOutOfBounds);
        }
        let layout = gc_array_layout(&ty.wasm());
        let slot =
            at + u64::from(layout.elems_offset) + u64::from(index) * u64::from(layout.elem_size);
        Ok((slot, ty.wasm()))
    }
}

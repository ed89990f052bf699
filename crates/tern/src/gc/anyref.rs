//! Values of the GC `any` hierarchy in the API: [`AnyRef`] and [`I31`].
//!
//! An [`AnyRef`] names an entry of its store's root table (see the `gc`
//! module note), which holds either an unboxed 31-bit integer (`i31ref`) or
//! the offset of a heap object (a struct, an array, or an `externref`
//! converted with `any.convert_extern`). The API hands it out rooted
//! ([`Rooted<AnyRef>`](super::Rooted) and the other rooted forms), as later
//! wasmtime does; `==` compares roots, not objects (see `Rooted::ref_eq`).

use super::rooting::sealed::GcRefImpl;
use super::roots::GcRootIndex;
use super::{ArrayRef, OwnedRooted, Rooted, StructRef};
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, ExternRef, Trap};
use anyhow::{bail, Result};
use tern_environ::{
    GcKind, TypeIndex, WasmHeapType, GC_EXTERN_PAYLOAD, GC_EXTERN_SIZE, GC_EXTERN_TYPE_ID,
};

/// An unboxed 31-bit integer (`i31ref`), as in wasmtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `v` (the top bit is dropped).
    pub fn wrapping_u32(v: u32) -> Self {
        Self(v & 0x7fff_ffff)
    }

    /// The low 31 bits of `v`, as two's complement (the top bit is dropped).
    pub fn wrapping_i32(v: i32) -> Self {
        Self::wrapping_u32(v as u32)
    }

    /// `v` if it fits in 31 unsigned bits.
    pub fn new_u32(v: u32) -> Option<Self> {
        (v <= 0x7fff_ffff).then_some(Self(v))
    }

    /// `v` if it fits in 31 signed bits.
    pub fn new_i32(v: i32) -> Option<Self> {
        (-(1 << 30)..(1 << 30))
            .contains(&v)
            .then(|| Self::wrapping_i32(v))
    }

    /// The value zero-extended (what `i31.get_u` returns).
    pub fn get_u32(self) -> u32 {
        self.0
    }

    /// The value sign-extended (what `i31.get_s` returns).
    pub fn get_i32(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}

/// A non-null reference of the `any` hierarchy (`anyref`, `eqref`,
/// `i31ref`, `structref`, `arrayref`, and internalized `externref`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyRef {
    root: GcRootIndex,
}

impl GcRefImpl for AnyRef {
    fn root_index(&self) -> GcRootIndex {
        self.root
    }
    fn from_root_index(root: GcRootIndex) -> Self {
        Self { root }
    }
}

/// The bit `extern.convert_any` sets on an `anyref` word (the code
/// generator's `gc` module note explains the encoding).
pub(crate) const EXTERNALIZED: u64 = 1 << 63;

impl AnyRef {
    /// The `i31ref` holding `i`, rooted in `store`'s current scope.
    pub fn from_i31(mut store: impl AsContextMut, i: I31) -> Rooted<Self> {
        let store = &mut store.as_context_mut().0.opaque;
        let word = tern_environ::i31_word(i.get_u32() as i32);
        Rooted::from_inner(Self::from_root_index(store.gc_root(word)))
    }

    /// The word this names.
    fn word(&self, store: &StoreOpaque) -> Result<u64> {
        store.gc_rooted(self.root)
    }

    /// Whether this is an `i31ref`.
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub fn is_i31(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.word(&store.as_context().0.opaque)? & 1 == 1)
    }

    /// The integer, if this is an `i31ref`.
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub fn as_i31(&self, store: impl AsContext) -> Result<Option<I31>> {
        let word = self.word(&store.as_context().0.opaque)?;
        Ok((word & 1 == 1).then(|| I31::wrapping_u32((word as u32) >> 1)))
    }

    /// The integer; an error if this is not an `i31ref`.
    ///
    /// # Errors
    /// As for [`Self::as_i31`], and when this is not an `i31ref`.
    pub fn unwrap_i31(&self, store: impl AsContext) -> Result<I31> {
        match self.as_i31(store)? {
            Some(i) => Ok(i),
            None => bail!("anyref is not an i31"),
        }
    }

    /// Whether this is a struct.
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub fn is_struct(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.kind(&store.as_context().0.opaque)? == Some(GcKind::Struct))
    }

    /// The struct, if this is one (the same root).
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub fn as_struct(&self, store: impl AsContext) -> Result<Option<StructRef>> {
        Ok(self
            .is_struct(store)?
            .then(|| StructRef::from_root_index(self.root)))
    }

    /// The struct; an error if this is not one.
    ///
    /// # Errors
    /// As for [`Self::as_struct`], and when this is not a struct.
    pub fn unwrap_struct(&self, store: impl AsContext) -> Result<StructRef> {
        match self.as_struct(store)? {
            Some(s) => Ok(s),
            None => bail!("anyref is not a struct"),
        }
    }

    /// Whether this is an array.
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub fn is_array(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.kind(&store.as_context().0.opaque)? == Some(GcKind::Array))
    }

    /// The array, if this is one (the same root).
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub fn as_array(&self, store: impl AsContext) -> Result<Option<ArrayRef>> {
        Ok(self
            .is_array(store)?
            .then(|| ArrayRef::from_root_index(self.root)))
    }

    /// The array; an error if this is not one.
    ///
    /// # Errors
    /// As for [`Self::as_array`], and when this is not an array.
    pub fn unwrap_array(&self, store: impl AsContext) -> Result<ArrayRef> {
        match self.as_array(store)? {
            Some(a) => Ok(a),
            None => bail!("anyref is not an array"),
        }
    }

    /// `any.convert_extern`: the host reference `e` seen as an `anyref`
    /// (an `externref` that came from `extern.convert_any` turns back into
    /// the `anyref` it was), rooted in `store`'s current scope.
    ///
    /// # Errors
    /// Fails when the GC heap is full, or `e` wraps a reference of another store.
    pub fn convert_extern(mut store: impl AsContextMut, e: ExternRef) -> Result<Rooted<Self>> {
        let store = &mut store.as_context_mut().0.opaque;
        if let Some(any) = e.data().downcast_ref::<OwnedRooted<AnyRef>>() {
            let word = any.word(store)?;
            return Ok(Rooted::from_inner(Self::from_root_index(
                store.gc_root(word),
            )));
        }
        let word = store.register_externref(&e);
        let at = store
            .gc_alloc_object(GC_EXTERN_TYPE_ID, GcKind::Extern, u64::from(GC_EXTERN_SIZE))?
            .ok_or(Trap::GcHeapOutOfMemory)?;
        store.gc_write(at + u64::from(GC_EXTERN_PAYLOAD), &word.to_le_bytes());
        Ok(Rooted::from_inner(Self::from_root_index(store.gc_root(at))))
    }

    /// The kind of the object this names (`None` for an i31).
    fn kind(&self, store: &StoreOpaque) -> Result<Option<GcKind>> {
        Ok(self.header(store)?.and_then(|(_, kind)| kind))
    }

    /// The engine type id and kind of the object this names (`None` for an i31).
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub(crate) fn header(&self, store: &StoreOpaque) -> Result<Option<(u32, Option<GcKind>)>> {
        let word = self.word(store)?;
        Ok((word & 1 == 0).then(|| store.gc_header(word)))
    }

    /// The word compiled code holds for this reference.
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<u64> {
        self.word(store)
    }

    /// The reference of a word compiled code produced (`None` for null),
    /// rooted in the store's current scope.
    pub(crate) fn from_raw(store: &mut StoreOpaque, word: u64) -> Option<Rooted<Self>> {
        (word != 0).then(|| Rooted::from_inner(Self::from_root_index(store.gc_root(word))))
    }

    /// Like [`Self::from_raw`], as an owned root (for an `ExternRef` that
    /// holds an externalized `anyref`, which lives as long as it does).
    pub(crate) fn owned_from_raw(store: &mut StoreOpaque, word: u64) -> Option<OwnedRooted<Self>> {
        (word != 0).then(|| OwnedRooted::new(store, word))
    }

    /// Whether this reference is a value of heap type `heap` (canonical).
    ///
    /// # Errors
    /// Fails if the root was released or belongs to another store.
    pub(crate) fn matches(&self, store: &StoreOpaque, heap: WasmHeapType) -> Result<bool> {
        use WasmHeapType as H;
        let Some((type_id, kind)) = self.header(store)? else {
            return Ok(matches!(heap, H::Any | H::Eq | H::I31));
        };
        Ok(match (kind, heap) {
            (_, H::Any) => true,
            (Some(GcKind::Struct), H::Eq | H::Struct) => true,
            (Some(GcKind::Array), H::Eq | H::Array) => true,
            (Some(GcKind::Struct), H::ConcreteStruct(TypeIndex::Engine(id)))
            | (Some(GcKind::Array), H::ConcreteArray(TypeIndex::Engine(id))) => {
                store.engine.is_subtype(type_id, id)
            }
            _ => false,
        })
    }
}

//! Values of the GC `any` hierarchy in the API: [`AnyRef`] and [`I31`].
//!
//! An [`AnyRef`] is either an unboxed 31-bit integer (`i31ref`), which it
//! holds by value, or a heap object (a struct, an array, or an `externref`
//! converted with `any.convert_extern`), which it names by a root slot of its
//! store (see the `gc` module note). It is `Copy`, as wasmtime's
//! `Rooted<AnyRef>` is; `==` compares handles, not objects.

use super::{ArrayRef, GcRoot, StructRef};
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, ExternRef, Trap};
use anyhow::Result;
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
    repr: Repr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Repr {
    /// An i31: the word compiled code holds (odd).
    I31(u64),
    /// A heap object.
    Object(GcRoot),
}

/// The bit `extern.convert_any` sets on an `anyref` word (the code
/// generator's `gc` module note explains the encoding).
pub(crate) const EXTERNALIZED: u64 = 1 << 63;

impl AnyRef {
    /// The `i31ref` holding `i`.
    pub fn from_i31(i: I31) -> Self {
        Self {
            repr: Repr::I31(tern_environ::i31_word(i.get_u32() as i32)),
        }
    }

    /// Whether this is an `i31ref`.
    pub fn is_i31(&self) -> bool {
        matches!(self.repr, Repr::I31(_))
    }

    /// The integer, if this is an `i31ref`.
    pub fn as_i31(&self) -> Option<I31> {
        match self.repr {
            Repr::I31(word) => Some(I31::wrapping_u32((word as u32) >> 1)),
            Repr::Object(_) => None,
        }
    }

    /// Whether this is a struct.
    ///
    /// # Errors
    /// Fails if the reference belongs to another store.
    pub fn is_struct(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.kind(&store.as_context().0.opaque)? == Some(GcKind::Struct))
    }

    /// The struct, if this is one.
    ///
    /// # Errors
    /// Fails if the reference belongs to another store.
    pub fn as_struct(&self, store: impl AsContext) -> Result<Option<StructRef>> {
        Ok(match self.repr {
            Repr::Object(root) if self.is_struct(store)? => Some(StructRef::from_root(root)),
            _ => None,
        })
    }

    /// Whether this is an array.
    ///
    /// # Errors
    /// Fails if the reference belongs to another store.
    pub fn is_array(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.kind(&store.as_context().0.opaque)? == Some(GcKind::Array))
    }

    /// The array, if this is one.
    ///
    /// # Errors
    /// Fails if the reference belongs to another store.
    pub fn as_array(&self, store: impl AsContext) -> Result<Option<ArrayRef>> {
        Ok(match self.repr {
            Repr::Object(root) if self.is_array(store)? => Some(ArrayRef::from_root(root)),
            _ => None,
        })
    }

    /// `any.convert_extern`: the host reference `e` seen as an `anyref`
    /// (an `externref` that came from `extern.convert_any` turns back into
    /// the `anyref` it was).
    ///
    /// # Errors
    /// Fails when the GC heap is full, or `e` wraps a reference of another store.
    pub fn convert_extern(mut store: impl AsContextMut, e: ExternRef) -> Result<Self> {
        let store = &mut store.as_context_mut().0.opaque;
        if let Some(any) = e.data().downcast_ref::<AnyRef>() {
            any.to_raw(store)?;
            return Ok(*any);
        }
        let word = store.register_externref(&e);
        let at = store
            .gc_alloc_object(GC_EXTERN_TYPE_ID, GcKind::Extern, u64::from(GC_EXTERN_SIZE))?
            .ok_or(Trap::GcHeapOutOfMemory)?;
        store.gc_write(at + u64::from(GC_EXTERN_PAYLOAD), &word.to_le_bytes());
        Ok(Self {
            repr: Repr::Object(store.gc_root(at)),
        })
    }

    /// The kind of the object this names (`None` for an i31).
    fn kind(&self, store: &StoreOpaque) -> Result<Option<GcKind>> {
        match self.repr {
            Repr::I31(_) => Ok(None),
            Repr::Object(root) => Ok(store.gc_header(store.gc_rooted(root)?).1),
        }
    }

    /// The engine type id and kind of the object this names (`None` for an i31).
    pub(crate) fn header(&self, store: &StoreOpaque) -> Result<Option<(u32, Option<GcKind>)>> {
        match self.repr {
            Repr::I31(_) => Ok(None),
            Repr::Object(root) => Ok(Some(store.gc_header(store.gc_rooted(root)?))),
        }
    }

    /// A handle to the object at heap offset `at`.
    pub(crate) fn from_root(root: GcRoot) -> Self {
        Self {
            repr: Repr::Object(root),
        }
    }

    /// The word compiled code holds for this reference.
    ///
    /// # Errors
    /// Fails if the reference belongs to another store.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<u64> {
        match self.repr {
            Repr::I31(word) => Ok(word),
            Repr::Object(root) => store.gc_rooted(root),
        }
    }

    /// The reference of a word compiled code produced (`None` for null).
    pub(crate) fn from_raw(store: &mut StoreOpaque, word: u64) -> Option<Self> {
        match word {
            0 => None,
            w if w & 1 == 1 => Some(Self { repr: Repr::I31(w) }),
            at => Some(Self {
                repr: Repr::Object(store.gc_root(at)),
            }),
        }
    }

    /// Whether this reference is a value of heap type `heap` (canonical).
    ///
    /// # Errors
    /// Fails if the reference belongs to another store.
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

impl From<I31> for AnyRef {
    fn from(i: I31) -> Self {
        Self::from_i31(i)
    }
}

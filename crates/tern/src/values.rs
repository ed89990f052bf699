//! [`Val`]: a dynamically typed WebAssembly value, and its conversion to and from
//! the raw 16-byte slots compiled code uses.

use crate::store::StoreOpaque;
use crate::{Func, ValType};
use anyhow::{bail, Result};
use std::any::Any;
use std::sync::Arc;
use tern_environ::{TypeIndex, WasmHeapType};

/// A reference to a host value that wasm can hold (`externref`) but not inspect.
///
/// Cheap to clone. A store holds one handle to every `ExternRef` wasm may
/// still reach (in a table, a global, a live wasm local, an exception or a
/// GC object) and drops the handles of the others as references accumulate
/// or on [`Store::gc`](crate::Store::gc), so the host value drops once
/// neither the embedder nor any store's wasm can reach it.
#[derive(Clone)]
pub struct ExternRef {
    inner: Arc<ExternData>,
}

struct ExternData {
    value: Box<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for ExternRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternRef").finish_non_exhaustive()
    }
}

impl ExternRef {
    /// Wraps `value`.
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Self {
            inner: Arc::new(ExternData {
                value: Box::new(value),
            }),
        }
    }

    /// The wrapped value, to downcast.
    pub fn data(&self) -> &(dyn Any + Send + Sync) {
        &*self.inner.value
    }

    /// `extern.convert_any`: the `anyref` `any` seen as an `externref`. An
    /// internalized host reference turns back into itself; any other
    /// `anyref` becomes an `ExternRef` whose [`data`](Self::data) is an
    /// [`OwnedRooted<AnyRef>`](crate::OwnedRooted) of it, which keeps it
    /// alive as long as the `ExternRef` lives (and `AnyRef::convert_extern`
    /// turns it back).
    ///
    /// # Errors
    /// Fails if `any`'s root was released or belongs to another store.
    pub fn convert_any(
        mut store: impl crate::AsContextMut,
        any: crate::Rooted<crate::AnyRef>,
    ) -> Result<Self> {
        let store = &mut store.as_context_mut().0.opaque;
        let word = any.to_raw(store)?;
        if let Some((_, Some(tern_environ::GcKind::Extern))) = any.header(store)? {
            let payload = u64::from_le_bytes(
                store.gc_read(word + u64::from(tern_environ::GC_EXTERN_PAYLOAD)),
            );
            if let Some(r) = store.externref_from_raw(payload) {
                return Ok(r);
            }
        }
        Ok(Self::new(crate::OwnedRooted::<crate::AnyRef>::new(
            store, word,
        )))
    }

    /// Whether two references point to the same value.
    pub fn ptr_eq(&self, other: &ExternRef) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// How many handles to this reference exist: the embedder's clones, plus
    /// one held by each store whose wasm may still reach it (until that
    /// store's next prune finds it unreachable, see [`Store::gc`](crate::Store::gc)).
    pub fn strong_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// The word wasm holds for this reference: its address tagged with
    /// bit 62 (`store/externrefs.rs`). User-space addresses on the 64-bit
    /// hosts Tern supports are below 2^57, so the tag bits are free.
    pub(crate) fn word(&self) -> u64 {
        let address = Arc::as_ptr(&self.inner) as usize as u64;
        debug_assert!(address >> 62 == 0, "host address uses the tag bits");
        address | crate::store::HOST_EXTERN
    }
}

pub use crate::vm::ValRaw;

/// A 128-bit SIMD value, for typed calls (`TypedFunc<V128, V128>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct V128(u128);

impl V128 {
    /// The value as an integer (lane 0 in the low bits).
    pub fn as_u128(&self) -> u128 {
        self.0
    }
}

impl From<u128> for V128 {
    fn from(v: u128) -> Self {
        Self(v)
    }
}

impl From<V128> for u128 {
    fn from(v: V128) -> Self {
        v.0
    }
}

/// A WebAssembly value.
#[derive(Debug, Clone)]
pub enum Val {
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float, as its bits (so NaN payloads survive).
    F32(u32),
    /// A 64-bit float, as its bits.
    F64(u64),
    /// A 128-bit vector.
    V128(u128),
    /// A function reference (`None` is null).
    FuncRef(Option<Func>),
    /// A host reference (`None` is null).
    ExternRef(Option<ExternRef>),
    /// An exception reference (`None` is null).
    ExnRef(Option<crate::Rooted<crate::ExnRef>>),
    /// A reference of the GC `any` hierarchy (`None` is null): an `i31ref`,
    /// a struct, an array, or an internalized `externref` (see [`crate::AnyRef`]).
    AnyRef(Option<crate::Rooted<crate::AnyRef>>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Self::I32(_) => ValType::I32,
            Self::I64(_) => ValType::I64,
            Self::F32(_) => ValType::F32,
            Self::F64(_) => ValType::F64,
            Self::V128(_) => ValType::V128,
            Self::FuncRef(_) => ValType::FuncRef,
            Self::ExternRef(_) => ValType::ExternRef,
            Self::ExnRef(_) => ValType::EXNREF,
            Self::AnyRef(_) => ValType::ANYREF,
        }
    }

    /// A null reference of `ty`, or zero of a numeric type; `None` for a
    /// non-nullable reference type (which has no default) and for the GC and
    /// exception hierarchies, whose values Tern cannot represent yet.
    pub fn default_for_ty(ty: ValType) -> Option<Self> {
        Some(match ty {
            ValType::I32 => Self::I32(0),
            ValType::I64 => Self::I64(0),
            ValType::F32 => Self::F32(0),
            ValType::F64 => Self::F64(0),
            ValType::V128 => Self::V128(0),
            ValType::Ref(r) if !r.is_nullable() => return None,
            ValType::Ref(r) => match r.heap_type().to_wasm().top() {
                WasmHeapType::Func => Self::FuncRef(None),
                WasmHeapType::Extern => Self::ExternRef(None),
                WasmHeapType::Exn => Self::ExnRef(None),
                WasmHeapType::Any => Self::AnyRef(None),
                _ => return None,
            },
        })
    }

    /// Whether this value is of type `ty` (or a subtype), as `Table::set`,
    /// `Global::set` and host calls check it. A function is typed by its
    /// concrete signature.
    ///
    /// # Errors
    /// Fails if a function reference belongs to another store.
    pub(crate) fn matches_ty(&self, store: &StoreOpaque, ty: &ValType) -> Result<bool> {
        let ValType::Ref(r) = ty else {
            return Ok(self.ty() == *ty);
        };
        let heap = r.heap_type().to_wasm();
        Ok(match self {
            Self::FuncRef(None) => r.is_nullable() && heap.top() == WasmHeapType::Func,
            Self::ExternRef(None) => r.is_nullable() && heap.top() == WasmHeapType::Extern,
            Self::ExternRef(Some(_)) => heap == WasmHeapType::Extern,
            Self::ExnRef(None) => r.is_nullable() && heap.top() == WasmHeapType::Exn,
            Self::ExnRef(Some(_)) => heap == WasmHeapType::Exn,
            Self::AnyRef(None) => r.is_nullable() && heap.top() == WasmHeapType::Any,
            Self::AnyRef(Some(a)) => a.matches(store, heap)?,
            Self::FuncRef(Some(f)) => {
                if !f.comes_from_same_store(store) {
                    bail!("cross-`Store` values are not supported");
                }
                let id = store.func_data(f).funcref.type_id();
                let actual = tern_environ::WasmRefType {
                    nullable: false,
                    heap: WasmHeapType::ConcreteFunc(TypeIndex::Engine(id)),
                };
                store.engine.ref_matches(actual, r.to_wasm())
            }
            _ => false,
        })
    }

    /// The i32, if this is one.
    pub fn i32(&self) -> Option<i32> {
        if let Self::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The i64, if this is one.
    pub fn i64(&self) -> Option<i64> {
        if let Self::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The f32, if this is one.
    pub fn f32(&self) -> Option<f32> {
        if let Self::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }
    /// The f64, if this is one.
    pub fn f64(&self) -> Option<f64> {
        if let Self::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }
    /// The i32.
    ///
    /// # Panics
    /// Panics if this is not an `i32`.
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("expected i32")
    }
    /// The i64.
    ///
    /// # Panics
    /// Panics if this is not an `i64`.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("expected i64")
    }
    /// The f32.
    ///
    /// # Panics
    /// Panics if this is not an `f32`.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("expected f32")
    }
    /// The f64.
    ///
    /// # Panics
    /// Panics if this is not an `f64`.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("expected f64")
    }
    /// The function reference, if this is one.
    pub fn funcref(&self) -> Option<Option<&Func>> {
        if let Self::FuncRef(f) = self {
            Some(f.as_ref())
        } else {
            None
        }
    }

    /// The host reference (`Some(None)` for null), if this is an `externref`.
    pub fn externref(&self) -> Option<Option<ExternRef>> {
        if let Self::ExternRef(r) = self {
            Some(r.clone())
        } else {
            None
        }
    }

    /// The host reference (`None` for null).
    ///
    /// # Panics
    /// Panics if this is not an `externref`.
    pub fn unwrap_externref(&self) -> Option<ExternRef> {
        self.externref().expect("expected externref")
    }

    /// The function reference (`None` for null).
    ///
    /// # Panics
    /// Panics if this is not a `funcref`.
    pub fn unwrap_funcref(&self) -> Option<&Func> {
        self.funcref().expect("expected funcref")
    }

    /// The vector's bits, if this is a `v128` (a `u128`, as in wasmtime 12).
    pub fn v128(&self) -> Option<u128> {
        if let Self::V128(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The vector's bits.
    ///
    /// # Panics
    /// Panics if this is not a `v128`.
    pub fn unwrap_v128(&self) -> u128 {
        self.v128().expect("expected v128")
    }

    /// A null `externref`.
    pub fn null() -> Self {
        Self::ExternRef(None)
    }

    /// Converts to a raw slot, checking the store of references.
    pub(crate) fn to_raw(&self, store: &mut StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Self::I32(v) => ValRaw::i32(*v),
            Self::I64(v) => ValRaw::i64(*v),
            Self::F32(v) => ValRaw::f32(*v),
            Self::F64(v) => ValRaw::f64(*v),
            Self::V128(v) => ValRaw::v128(*v),
            Self::FuncRef(None) => ValRaw::u64(0),
            Self::FuncRef(Some(f)) => {
                if !f.comes_from_same_store(store) {
                    bail!("cross-`Store` values are not supported");
                }
                ValRaw::u64(store.func_data(f).funcref.0 as u64)
            }
            Self::ExternRef(None) => ValRaw::u64(0),
            Self::ExternRef(Some(r)) => {
                match r.data().downcast_ref::<crate::OwnedRooted<crate::AnyRef>>() {
                    // An externalized `anyref` (see `ExternRef::convert_any`).
                    Some(a) => ValRaw::u64(a.to_raw(store)? | crate::gc::EXTERNALIZED),
                    None => ValRaw::u64(store.register_externref(r)),
                }
            }
            Self::ExnRef(None) => ValRaw::u64(0),
            Self::ExnRef(Some(e)) => ValRaw::u64(e.to_raw(store)?),
            Self::AnyRef(None) => ValRaw::u64(0),
            Self::AnyRef(Some(a)) => ValRaw::u64(a.to_raw(store)?),
        })
    }

    /// Reads a raw slot of type `ty`.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Self {
        match ty {
            ValType::I32 => Self::I32(raw.get_i32()),
            ValType::I64 => Self::I64(raw.get_i64()),
            ValType::F32 => Self::F32(raw.get_f32()),
            ValType::F64 => Self::F64(raw.get_f64()),
            ValType::V128 => Self::V128(raw.get_v128()),
            ValType::Ref(r) => match r.heap_type().to_wasm().top() {
                WasmHeapType::Extern => Self::ExternRef(store.externref_from_raw(raw.get_u64())),
                WasmHeapType::Exn => Self::ExnRef(crate::ExnRef::from_raw(store, raw.get_u64())),
                WasmHeapType::Any => Self::AnyRef(crate::AnyRef::from_raw(store, raw.get_u64())),
                _ => Self::FuncRef(store.func_from_raw(raw.get_u64() as usize)),
            },
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Self {
        Self::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Self {
        Self::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Self::F64(v.to_bits())
    }
}
impl From<ExternRef> for Val {
    fn from(r: ExternRef) -> Self {
        Self::ExternRef(Some(r))
    }
}
impl From<Func> for Val {
    fn from(f: Func) -> Self {
        Self::FuncRef(Some(f))
    }
}
impl From<Option<ExternRef>> for Val {
    fn from(r: Option<ExternRef>) -> Self {
        Self::ExternRef(r)
    }
}
impl From<Option<Func>> for Val {
    fn from(f: Option<Func>) -> Self {
        Self::FuncRef(f)
    }
}
impl From<V128> for Val {
    fn from(v: V128) -> Self {
        Self::V128(v.as_u128())
    }
}
impl From<u128> for Val {
    fn from(v: u128) -> Self {
        Self::V128(v)
    }
}

//! The entries of a type section under WebAssembly 3.0 (garbage collection):
//! a [`WasmSubType`] is a composite type (function, struct or array) plus its
//! finality and declared supertype. Modules without GC only have `final`
//! function types with no supertype.
//!
//! Type indices inside these types follow [`TypeIndex`]: module-local while a
//! module is translated, group-relative in the engine registry's key of a
//! recursion group, engine ids once canonicalised (see `docs/design/gc.md`).

use crate::{TypeIndex, WasmFuncType, WasmHeapType, WasmRefType, WasmValType};
use anyhow::Result;

/// Which kind of composite type a type index names; enough to classify a
/// concrete heap type (`ConcreteFunc`/`ConcreteStruct`/`ConcreteArray`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CompositeKind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

impl CompositeKind {
    /// The kind of a wasmparser composite type.
    pub fn of(ty: &wasmparser::CompositeType) -> Self {
        match ty.inner {
            wasmparser::CompositeInnerType::Struct(_) => Self::Struct,
            wasmparser::CompositeInnerType::Array(_) => Self::Array,
            _ => Self::Func,
        }
    }

    /// The concrete heap type of this kind at `index`.
    pub fn heap_type(self, index: TypeIndex) -> WasmHeapType {
        match self {
            Self::Func => WasmHeapType::ConcreteFunc(index),
            Self::Struct => WasmHeapType::ConcreteStruct(index),
            Self::Array => WasmHeapType::ConcreteArray(index),
        }
    }
}

/// What a struct field or array element stores: a packed integer or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmStorageType {
    /// A packed 8-bit integer (read with `_s`/`_u` extension).
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A full value.
    Val(WasmValType),
}

/// One struct field or an array's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmFieldType {
    /// What is stored.
    pub element: WasmStorageType,
    /// Whether `struct.set`/`array.set` may change it.
    pub mutable: bool,
}

/// A struct type: its fields in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmStructType {
    /// The fields.
    pub fields: Box<[WasmFieldType]>,
}

/// An array type: its element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmArrayType(pub WasmFieldType);

/// A function, struct or array type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmCompositeType {
    /// A function signature.
    Func(WasmFuncType),
    /// A struct.
    Struct(WasmStructType),
    /// An array.
    Array(WasmArrayType),
}

/// One entry of a type section: a composite type, whether it is `final`, and
/// its declared supertype.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmSubType {
    /// Whether no type may declare this one as its supertype.
    pub is_final: bool,
    /// The declared supertype, if any.
    pub supertype: Option<TypeIndex>,
    /// The type itself.
    pub composite: WasmCompositeType,
}

impl WasmSubType {
    /// A `final` function type with no supertype: what `(type (func …))` and
    /// every type without GC is.
    pub fn func(ty: WasmFuncType) -> Self {
        Self {
            is_final: true,
            supertype: None,
            composite: WasmCompositeType::Func(ty),
        }
    }

    /// Converts a wasmparser sub type; `kinds` classifies every type index the
    /// type may name (the module's types so far and its own group).
    ///
    /// # Errors
    /// Fails on types Tern does not support (shared types, descriptors).
    pub fn from_wasmparser(ty: &wasmparser::SubType, kinds: &[CompositeKind]) -> Result<Self> {
        if ty.composite_type.shared {
            anyhow::bail!("shared composite types are not supported");
        }
        if ty.composite_type.descriptor_idx.is_some() || ty.composite_type.describes_idx.is_some() {
            anyhow::bail!("custom descriptors are not supported");
        }
        let composite = match &ty.composite_type.inner {
            wasmparser::CompositeInnerType::Func(f) => {
                WasmCompositeType::Func(WasmFuncType::from_wasmparser_in(f, kinds)?)
            }
            wasmparser::CompositeInnerType::Struct(s) => {
                WasmCompositeType::Struct(WasmStructType {
                    fields: s
                        .fields
                        .iter()
                        .map(|f| WasmFieldType::from_wasmparser(*f, kinds))
                        .collect::<Result<_>>()?,
                })
            }
            wasmparser::CompositeInnerType::Array(a) => {
                WasmCompositeType::Array(WasmArrayType(WasmFieldType::from_wasmparser(a.0, kinds)?))
            }
            wasmparser::CompositeInnerType::Cont(_) => {
                anyhow::bail!("stack-switching continuation types are not supported")
            }
        };
        let supertype = match ty.supertype_idxs.first() {
            None => None,
            Some(idx) => match idx.unpack() {
                wasmparser::UnpackedIndex::Module(i) => Some(TypeIndex::Module(i)),
                other => anyhow::bail!("unsupported supertype index {other}"),
            },
        };
        Ok(Self {
            is_final: ty.is_final,
            supertype,
            composite,
        })
    }

    /// The function type, if this is one.
    pub fn as_func(&self) -> Option<&WasmFuncType> {
        match &self.composite {
            WasmCompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The function type; for indices validation proves to be function types
    /// (a function's or tag's type, `call_indirect`'s, `call_ref`'s).
    ///
    /// # Panics
    /// Panics if this is a struct or array type, which validated modules never
    /// use where a function type is required.
    pub fn unwrap_func(&self) -> &WasmFuncType {
        self.as_func()
            .expect("validation guarantees a function type here")
    }

    /// Which kind of composite type this is.
    pub fn kind(&self) -> CompositeKind {
        match self.composite {
            WasmCompositeType::Func(_) => CompositeKind::Func,
            WasmCompositeType::Struct(_) => CompositeKind::Struct,
            WasmCompositeType::Array(_) => CompositeKind::Array,
        }
    }

    /// This type with every type index `i` it names (in fields, parameters
    /// and the supertype) replaced by `map(i)`.
    pub fn map_indices(&self, mut map: impl FnMut(TypeIndex) -> TypeIndex) -> Self {
        let field =
            |f: &WasmFieldType, map: &mut dyn FnMut(TypeIndex) -> TypeIndex| WasmFieldType {
                element: match f.element {
                    WasmStorageType::Val(v) => WasmStorageType::Val(v.map_type_indices(map)),
                    other => other,
                },
                mutable: f.mutable,
            };
        let composite = match &self.composite {
            WasmCompositeType::Func(f) => WasmCompositeType::Func(WasmFuncType {
                params: f
                    .params
                    .iter()
                    .map(|t| t.map_type_indices(&mut map))
                    .collect(),
                results: f
                    .results
                    .iter()
                    .map(|t| t.map_type_indices(&mut map))
                    .collect(),
            }),
            WasmCompositeType::Struct(s) => WasmCompositeType::Struct(WasmStructType {
                fields: s.fields.iter().map(|f| field(f, &mut map)).collect(),
            }),
            WasmCompositeType::Array(a) => {
                WasmCompositeType::Array(WasmArrayType(field(&a.0, &mut map)))
            }
        };
        Self {
            is_final: self.is_final,
            supertype: self.supertype.map(&mut map),
            composite,
        }
    }
}

impl WasmFieldType {
    fn from_wasmparser(f: wasmparser::FieldType, kinds: &[CompositeKind]) -> Result<Self> {
        Ok(Self {
            element: match f.element_type {
                wasmparser::StorageType::I8 => WasmStorageType::I8,
                wasmparser::StorageType::I16 => WasmStorageType::I16,
                wasmparser::StorageType::Val(v) => {
                    WasmStorageType::Val(WasmValType::from_wasmparser_in(v, kinds)?)
                }
            },
            mutable: f.mutable,
        })
    }
}

impl WasmRefType {
    /// This reference type with every type index replaced by `map(i)`.
    pub fn map_type_indices(self, map: &mut dyn FnMut(TypeIndex) -> TypeIndex) -> Self {
        let heap = match self.heap {
            WasmHeapType::ConcreteFunc(i) => WasmHeapType::ConcreteFunc(map(i)),
            WasmHeapType::ConcreteStruct(i) => WasmHeapType::ConcreteStruct(map(i)),
            WasmHeapType::ConcreteArray(i) => WasmHeapType::ConcreteArray(map(i)),
            other => other,
        };
        Self { heap, ..self }
    }
}

impl WasmValType {
    /// This value type with every type index replaced by `map(i)`.
    pub fn map_type_indices(self, map: &mut dyn FnMut(TypeIndex) -> TypeIndex) -> Self {
        match self {
            Self::Ref(r) => Self::Ref(r.map_type_indices(map)),
            other => other,
        }
    }
}

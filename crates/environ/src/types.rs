//! Value, function, table and memory types as the rest of Tern sees them.
//!
//! These are small owned copies of wasmparser's types, so that later stages
//! (code generation, the runtime, artifacts) do not depend on parser lifetimes.
//!
//! Reference types follow WebAssembly 3.0: a [`WasmRefType`] is a nullability
//! plus a [`WasmHeapType`], which is either abstract (`func`, `extern`, and the
//! GC hierarchy's `any`/`eq`/`i31`/`struct`/`array`/`none`, and the bottoms) or
//! concrete (a type index). A concrete index is a module's own type index while
//! the module is being translated and compiled ([`TypeIndex::Module`]); the
//! engine's registry rewrites it to the engine-wide id ([`TypeIndex::Engine`])
//! when it canonicalises a signature, so two modules' types compare equal exactly
//! when they are the same type. Without GC every type is final and has no
//! declared supertype, so a concrete type is a subtype only of itself and its
//! abstract tops; with GC, [`WasmHeapType::matches_with`] follows the declared
//! supertypes the engine's registry records (see `docs/design/gc.md`).

use std::fmt;

/// The index of a concrete (defined) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TypeIndex {
    /// An index into the module's type section (module-local).
    Module(u32),
    /// An engine-wide type id (after canonicalisation by the engine).
    Engine(u32),
    /// The `i`th type of the recursion group being canonicalised: how the
    /// engine's registry writes a group's references to its own members, so
    /// that structurally identical groups have equal keys (iso-recursive
    /// type equivalence). Never seen outside the registry.
    RecGroup(u32),
}

/// The heap type a reference points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmHeapType {
    /// Any function (`func`).
    Func,
    /// A function of a given signature (`$t`).
    ConcreteFunc(TypeIndex),
    /// A struct of a given struct type (GC).
    ConcreteStruct(TypeIndex),
    /// An array of a given array type (GC).
    ConcreteArray(TypeIndex),
    /// The bottom of the function hierarchy (`nofunc`): only null.
    NoFunc,
    /// Any host reference (`extern`).
    Extern,
    /// The bottom of the extern hierarchy (`noextern`): only null.
    NoExtern,
    /// The top of the GC hierarchy (`any`) (GC).
    Any,
    /// Comparable references (`eq`) (GC).
    Eq,
    /// Unboxed 31-bit integers (`i31`) (GC).
    I31,
    /// Any struct (`struct`) (GC).
    Struct,
    /// Any array (`array`) (GC).
    Array,
    /// The bottom of the GC hierarchy (`none`).
    None,
    /// Exception references (`exn`).
    Exn,
    /// The bottom of the exception hierarchy (`noexn`).
    NoExn,
}

impl WasmHeapType {
    /// Converts a wasmparser heap type; concrete types keep the module's index
    /// and are taken as function types (use [`Self::from_wasmparser_in`] when
    /// the module may define struct or array types).
    ///
    /// # Errors
    /// Fails for shared and stack-switching heap types, which Tern does not support.
    pub fn from_wasmparser(ty: wasmparser::HeapType) -> anyhow::Result<Self> {
        Self::from_wasmparser_in(ty, &[])
    }

    /// Converts a wasmparser heap type; a concrete index `i` keeps the module's
    /// index and is classified by `kinds[i]` (an index past `kinds` is a
    /// function type, the only kind without GC).
    ///
    /// # Errors
    /// As [`Self::from_wasmparser`].
    pub fn from_wasmparser_in(
        ty: wasmparser::HeapType,
        kinds: &[crate::CompositeKind],
    ) -> anyhow::Result<Self> {
        use wasmparser::AbstractHeapType as A;
        Ok(match ty {
            wasmparser::HeapType::Abstract { shared: true, .. } => {
                anyhow::bail!("shared heap types are not supported")
            }
            wasmparser::HeapType::Abstract { ty, .. } => match ty {
                A::Func => Self::Func,
                A::Extern => Self::Extern,
                A::Any => Self::Any,
                A::None => Self::None,
                A::NoExtern => Self::NoExtern,
                A::NoFunc => Self::NoFunc,
                A::Eq => Self::Eq,
                A::Struct => Self::Struct,
                A::Array => Self::Array,
                A::I31 => Self::I31,
                A::Exn => Self::Exn,
                A::NoExn => Self::NoExn,
                A::Cont | A::NoCont => anyhow::bail!("stack-switching types are not supported"),
            },
            wasmparser::HeapType::Concrete(idx) | wasmparser::HeapType::Exact(idx) => match idx {
                wasmparser::UnpackedIndex::Module(i) => kinds
                    .get(i as usize)
                    .copied()
                    .unwrap_or(crate::CompositeKind::Func)
                    .heap_type(TypeIndex::Module(i)),
                other => anyhow::bail!("unsupported type index {other}"),
            },
        })
    }

    /// The top of this type's hierarchy (`func`, `extern`, `any` or `exn`).
    pub fn top(self) -> Self {
        match self {
            Self::Func | Self::ConcreteFunc(_) | Self::NoFunc => Self::Func,
            Self::Extern | Self::NoExtern => Self::Extern,
            Self::Exn | Self::NoExn => Self::Exn,
            Self::Any
            | Self::Eq
            | Self::I31
            | Self::Struct
            | Self::Array
            | Self::None
            | Self::ConcreteStruct(_)
            | Self::ConcreteArray(_) => Self::Any,
        }
    }

    /// The bottom of this type's hierarchy (`nofunc`, `noextern`, `none` or `noexn`).
    pub fn bottom(self) -> Self {
        match self.top() {
            Self::Func => Self::NoFunc,
            Self::Extern => Self::NoExtern,
            Self::Exn => Self::NoExn,
            _ => Self::None,
        }
    }

    /// The concrete type index, if this is a concrete heap type.
    pub fn concrete_index(self) -> Option<TypeIndex> {
        match self {
            Self::ConcreteFunc(i) | Self::ConcreteStruct(i) | Self::ConcreteArray(i) => Some(i),
            _ => None,
        }
    }

    /// Whether `self` is a subtype of `other` (both in the same index space),
    /// for types with no declared supertypes: a concrete type then matches
    /// only itself and the abstract types above it. With GC's `sub`, use
    /// [`Self::matches_with`].
    pub fn matches(self, other: Self) -> bool {
        self.matches_with(other, &|_| None)
    }

    /// Whether `self` is a subtype of `other` (both in the same index space),
    /// where `supertype(i)` is concrete type `i`'s declared supertype. The
    /// declared supertype chain is finite (validation forbids cycles).
    pub fn matches_with(
        self,
        other: Self,
        supertype: &dyn Fn(TypeIndex) -> Option<TypeIndex>,
    ) -> bool {
        if self == other {
            return true;
        }
        if self.top() != other.top() {
            return false;
        }
        if self == self.bottom() || other == other.top() {
            return true;
        }
        match (self, other) {
            (Self::I31 | Self::Struct | Self::Array, Self::Eq) => true,
            (Self::ConcreteStruct(_) | Self::ConcreteArray(_), Self::Eq) => true,
            (Self::ConcreteStruct(_), Self::Struct) => true,
            (Self::ConcreteArray(_), Self::Array) => true,
            (Self::ConcreteFunc(a), Self::ConcreteFunc(b))
            | (Self::ConcreteStruct(a), Self::ConcreteStruct(b))
            | (Self::ConcreteArray(a), Self::ConcreteArray(b)) => {
                let mut cur = supertype(a);
                while let Some(t) = cur {
                    if t == b {
                        return true;
                    }
                    cur = supertype(t);
                }
                false
            }
            _ => false,
        }
    }
}

impl fmt::Display for WasmHeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Func => f.write_str("func"),
            Self::ConcreteFunc(TypeIndex::Module(i))
            | Self::ConcreteStruct(TypeIndex::Module(i))
            | Self::ConcreteArray(TypeIndex::Module(i)) => write!(f, "{i}"),
            Self::ConcreteFunc(TypeIndex::Engine(i))
            | Self::ConcreteStruct(TypeIndex::Engine(i))
            | Self::ConcreteArray(TypeIndex::Engine(i)) => write!(f, "<engine type {i}>"),
            Self::ConcreteFunc(TypeIndex::RecGroup(i))
            | Self::ConcreteStruct(TypeIndex::RecGroup(i))
            | Self::ConcreteArray(TypeIndex::RecGroup(i)) => write!(f, "<rec group type {i}>"),
            Self::NoFunc => f.write_str("nofunc"),
            Self::Extern => f.write_str("extern"),
            Self::NoExtern => f.write_str("noextern"),
            Self::Any => f.write_str("any"),
            Self::Eq => f.write_str("eq"),
            Self::I31 => f.write_str("i31"),
            Self::Struct => f.write_str("struct"),
            Self::Array => f.write_str("array"),
            Self::None => f.write_str("none"),
            Self::Exn => f.write_str("exn"),
            Self::NoExn => f.write_str("noexn"),
        }
    }
}

/// A reference type: `(ref null? heap)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmRefType {
    /// Whether null is a value of this type.
    pub nullable: bool,
    /// What the reference points to.
    pub heap: WasmHeapType,
}

impl WasmRefType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FUNCREF: Self = Self {
        nullable: true,
        heap: WasmHeapType::Func,
    };
    /// `externref`, i.e. `(ref null extern)`.
    pub const EXTERNREF: Self = Self {
        nullable: true,
        heap: WasmHeapType::Extern,
    };

    /// Converts a wasmparser reference type.
    ///
    /// # Errors
    /// As [`WasmHeapType::from_wasmparser`].
    pub fn from_wasmparser(ty: wasmparser::RefType) -> anyhow::Result<Self> {
        Self::from_wasmparser_in(ty, &[])
    }

    /// Converts a wasmparser reference type whose concrete index is classified
    /// by `kinds` (see [`WasmHeapType::from_wasmparser_in`]).
    ///
    /// # Errors
    /// As [`WasmHeapType::from_wasmparser`].
    pub fn from_wasmparser_in(
        ty: wasmparser::RefType,
        kinds: &[crate::CompositeKind],
    ) -> anyhow::Result<Self> {
        Ok(Self {
            nullable: ty.is_nullable(),
            heap: WasmHeapType::from_wasmparser_in(ty.heap_type(), kinds)?,
        })
    }

    /// Whether `self` is a subtype of `other` (no declared supertypes: see
    /// [`WasmHeapType::matches`]).
    pub fn matches(self, other: Self) -> bool {
        self.matches_with(other, &|_| None)
    }

    /// Whether `self` is a subtype of `other` given the declared supertypes
    /// (see [`WasmHeapType::matches_with`]).
    pub fn matches_with(
        self,
        other: Self,
        supertype: &dyn Fn(TypeIndex) -> Option<TypeIndex>,
    ) -> bool {
        (other.nullable || !self.nullable) && self.heap.matches_with(other.heap, supertype)
    }

    /// Whether values of this type are function references (the `func` hierarchy).
    pub fn is_func(self) -> bool {
        self.heap.top() == WasmHeapType::Func
    }
}

impl fmt::Display for WasmRefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, WasmHeapType::Func) => f.write_str("funcref"),
            (true, WasmHeapType::Extern) => f.write_str("externref"),
            (true, WasmHeapType::Any) => f.write_str("anyref"),
            (true, WasmHeapType::Exn) => f.write_str("exnref"),
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
        }
    }
}

/// A WebAssembly value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(WasmRefType),
}

impl WasmValType {
    /// `funcref`.
    pub const FUNCREF: Self = Self::Ref(WasmRefType::FUNCREF);
    /// `externref`.
    pub const EXTERNREF: Self = Self::Ref(WasmRefType::EXTERNREF);

    /// Converts a wasmparser value type; fails for types Tern does not support yet.
    pub fn from_wasmparser(ty: wasmparser::ValType) -> anyhow::Result<Self> {
        Self::from_wasmparser_in(ty, &[])
    }

    /// Converts a wasmparser value type whose concrete indices are classified
    /// by `kinds` (see [`WasmHeapType::from_wasmparser_in`]).
    ///
    /// # Errors
    /// As [`WasmHeapType::from_wasmparser`].
    pub fn from_wasmparser_in(
        ty: wasmparser::ValType,
        kinds: &[crate::CompositeKind],
    ) -> anyhow::Result<Self> {
        use wasmparser::ValType as V;
        Ok(match ty {
            V::I32 => Self::I32,
            V::I64 => Self::I64,
            V::F32 => Self::F32,
            V::F64 => Self::F64,
            V::V128 => Self::V128,
            V::Ref(r) => Self::Ref(WasmRefType::from_wasmparser_in(r, kinds)?),
        })
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, Self::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref_type(self) -> Option<WasmRefType> {
        match self {
            Self::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether `self` is a subtype of `other`.
    pub fn matches(self, other: Self) -> bool {
        match (self, other) {
            (Self::Ref(a), Self::Ref(b)) => a.matches(b),
            (a, b) => a == b,
        }
    }

    /// This type with every module-local type index `i` replaced by `map(i)`.
    pub fn map_indices(self, map: &mut impl FnMut(u32) -> TypeIndex) -> Self {
        self.map_type_indices(&mut |i| match i {
            TypeIndex::Module(i) => map(i),
            other => other,
        })
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::I32 => f.write_str("i32"),
            Self::I64 => f.write_str("i64"),
            Self::F32 => f.write_str("f32"),
            Self::F64 => f.write_str("f64"),
            Self::V128 => f.write_str("v128"),
            Self::Ref(r) => r.fmt(f),
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmFuncType {
    /// Parameter types.
    pub params: Box<[WasmValType]>,
    /// Result types.
    pub results: Box<[WasmValType]>,
}

impl WasmFuncType {
    /// Converts a wasmparser function type.
    pub fn from_wasmparser(ty: &wasmparser::FuncType) -> anyhow::Result<Self> {
        Self::from_wasmparser_in(ty, &[])
    }

    /// Converts a wasmparser function type whose concrete indices are
    /// classified by `kinds` (see [`WasmHeapType::from_wasmparser_in`]).
    ///
    /// # Errors
    /// As [`WasmHeapType::from_wasmparser`].
    pub fn from_wasmparser_in(
        ty: &wasmparser::FuncType,
        kinds: &[crate::CompositeKind],
    ) -> anyhow::Result<Self> {
        Ok(Self {
            params: ty
                .params()
                .iter()
                .map(|t| WasmValType::from_wasmparser_in(*t, kinds))
                .collect::<anyhow::Result<_>>()?,
            results: ty
                .results()
                .iter()
                .map(|t| WasmValType::from_wasmparser_in(*t, kinds))
                .collect::<anyhow::Result<_>>()?,
        })
    }
}

impl WasmFuncType {
    /// This signature with every module-local type index `i` replaced by `map(i)`.
    pub fn map_indices(&self, mut map: impl FnMut(u32) -> TypeIndex) -> Self {
        Self {
            params: self
                .params
                .iter()
                .map(|t| t.map_indices(&mut map))
                .collect(),
            results: self
                .results
                .iter()
                .map(|t| t.map_indices(&mut map))
                .collect(),
        }
    }
}

impl fmt::Display for WasmFuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.params.is_empty() {
            f.write_str(" (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            f.write_str(")")?;
        }
        if !self.results.is_empty() {
            f.write_str(" (result")?;
            for r in self.results.iter() {
                write!(f, " {r}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// A table's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TablePlan {
    /// Element type (a reference type).
    pub element: WasmRefType,
    /// Initial number of elements.
    pub minimum: u64,
    /// Maximum number of elements, if bounded.
    pub maximum: Option<u64>,
    /// Whether the table is indexed with 64-bit values (memory64 proposal).
    pub table64: bool,
}

/// A linear memory's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MemoryPlan {
    /// Initial size in 64 KiB pages.
    pub minimum: u64,
    /// Maximum size in pages, if bounded.
    pub maximum: Option<u64>,
    /// Whether the memory is indexed with 64-bit addresses.
    pub memory64: bool,
    /// Whether the memory is shared between threads.
    pub shared: bool,
}

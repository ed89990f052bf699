//! The public type descriptions: value, function, global, memory, table, extern,
//! import and export types, with wasmtime's names.

use std::fmt;
use tern_environ::{
    MemoryPlan, TablePlan, TypeIndex, WasmFuncType, WasmHeapType, WasmRefType, WasmValType,
};

/// A WebAssembly value type.
///
/// WebAssembly 3.0 made reference types a family (`(ref null? heap)`), so the
/// two reference variants of wasmtime 12 became [`ValType::Ref`]. The wasmtime
/// 12 spellings `ValType::FuncRef` and `ValType::ExternRef` remain as constants
/// (`funcref` and `externref`), usable both as values and as `match` patterns;
/// only a `match` that was exhaustive over wasmtime 12's seven variants now
/// needs an arm for the other reference types (`ValType::Ref(_)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference type.
    Ref(RefType),
}

#[allow(
    non_upper_case_globals,
    reason = "wasmtime 12 spelled these as enum variants; constants of the same name keep that code compiling"
)]
impl ValType {
    /// `funcref` (wasmtime 12's variant spelling).
    pub const FuncRef: Self = Self::Ref(RefType::FUNCREF);
    /// `externref` (wasmtime 12's variant spelling).
    pub const ExternRef: Self = Self::Ref(RefType::EXTERNREF);
    /// `funcref`, i.e. `(ref null func)`.
    pub const FUNCREF: Self = Self::Ref(RefType::FUNCREF);
    /// `externref`, i.e. `(ref null extern)`.
    pub const EXTERNREF: Self = Self::Ref(RefType::EXTERNREF);
    /// `nullfuncref`, i.e. `(ref null nofunc)`.
    pub const NULLFUNCREF: Self = Self::Ref(RefType::NULLFUNCREF);
    /// `exnref`, i.e. `(ref null exn)` (exception handling).
    pub const EXNREF: Self = Self::Ref(RefType::EXNREF);
    /// `anyref`, i.e. `(ref null any)` (GC).
    pub const ANYREF: Self = Self::Ref(RefType::ANYREF);

    pub(crate) fn from_wasm(ty: WasmValType) -> Self {
        match ty {
            WasmValType::I32 => Self::I32,
            WasmValType::I64 => Self::I64,
            WasmValType::F32 => Self::F32,
            WasmValType::F64 => Self::F64,
            WasmValType::V128 => Self::V128,
            WasmValType::Ref(r) => Self::Ref(RefType::from_wasm(r)),
        }
    }

    pub(crate) fn to_wasm(self) -> WasmValType {
        match self {
            Self::I32 => WasmValType::I32,
            Self::I64 => WasmValType::I64,
            Self::F32 => WasmValType::F32,
            Self::F64 => WasmValType::F64,
            Self::V128 => WasmValType::V128,
            Self::Ref(r) => WasmValType::Ref(r.to_wasm()),
        }
    }

    /// Whether this is `i32`, `i64`, `f32` or `f64`.
    pub fn is_num(&self) -> bool {
        matches!(self, Self::I32 | Self::I64 | Self::F32 | Self::F64)
    }

    /// Whether this is a reference type.
    pub fn is_ref(&self) -> bool {
        matches!(self, Self::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(&self) -> Option<&RefType> {
        match self {
            Self::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this is exactly `funcref`.
    pub fn is_funcref(&self) -> bool {
        *self == Self::FUNCREF
    }

    /// Whether this is exactly `externref`.
    pub fn is_externref(&self) -> bool {
        *self == Self::EXTERNREF
    }

    /// Whether a value of type `self` can be used where `other` is expected
    /// (`self` is a subtype of `other`). Both must come from the same engine.
    pub fn matches(&self, other: &ValType) -> bool {
        self.to_wasm().matches(other.to_wasm())
    }
}

/// A reference type: a nullability and a [`HeapType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    nullable: bool,
    heap: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: Self = Self {
        nullable: true,
        heap: HeapType::Func,
    };
    /// `externref`.
    pub const EXTERNREF: Self = Self {
        nullable: true,
        heap: HeapType::Extern,
    };
    /// `nullfuncref`.
    pub const NULLFUNCREF: Self = Self {
        nullable: true,
        heap: HeapType::NoFunc,
    };
    /// `exnref`.
    pub const EXNREF: Self = Self {
        nullable: true,
        heap: HeapType::Exn,
    };
    /// `anyref` (GC).
    pub const ANYREF: Self = Self {
        nullable: true,
        heap: HeapType::Any,
    };

    /// `(ref null heap)` when `nullable`, else `(ref heap)`.
    pub fn new(nullable: bool, heap: HeapType) -> Self {
        Self { nullable, heap }
    }

    /// Whether null is a value of this type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// The heap type.
    pub fn heap_type(&self) -> &HeapType {
        &self.heap
    }

    /// Whether `self` is a subtype of `other`.
    pub fn matches(&self, other: &RefType) -> bool {
        self.to_wasm().matches(other.to_wasm())
    }

    pub(crate) fn from_wasm(r: WasmRefType) -> Self {
        Self {
            nullable: r.nullable,
            heap: HeapType::from_wasm(r.heap),
        }
    }

    pub(crate) fn to_wasm(self) -> WasmRefType {
        WasmRefType {
            nullable: self.nullable,
            heap: self.heap.to_wasm(),
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_wasm().fmt(f)
    }
}

/// The engine-wide identity of a function type: what a concrete heap type
/// (`(ref $t)`) names once its module is loaded. Two modules' types have the
/// same index exactly when they are the same type. Only meaningful within the
/// engine that made it (see [`HeapType::concrete_func`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharedTypeIndex(pub(crate) u32);

/// What a reference points to: an abstract type of one of the hierarchies
/// (functions, host references, exceptions, and GC's `any`), or a concrete
/// function type.
///
/// Garbage collection is not implemented: the GC heap types describe modules'
/// types and print, but no value of them exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function.
    Func,
    /// Functions of one signature.
    ConcreteFunc(SharedTypeIndex),
    /// Structs of one struct type (GC).
    ConcreteStruct(SharedTypeIndex),
    /// Arrays of one array type (GC).
    ConcreteArray(SharedTypeIndex),
    /// No function (the bottom of the function hierarchy; only null).
    NoFunc,
    /// Any host reference.
    Extern,
    /// No host reference (only null).
    NoExtern,
    /// The top of the GC hierarchy.
    Any,
    /// Comparable GC references.
    Eq,
    /// Unboxed 31-bit integers.
    I31,
    /// Any GC struct.
    Struct,
    /// Any GC array.
    Array,
    /// The bottom of the GC hierarchy.
    None,
    /// Exception references.
    Exn,
    /// The bottom of the exception hierarchy.
    NoExn,
}

impl HeapType {
    /// The concrete heap type of functions of type `ty`, registered in `engine`.
    pub fn concrete_func(engine: &crate::Engine, ty: &FuncType) -> Self {
        Self::ConcreteFunc(SharedTypeIndex(engine.signature_id(&ty.ty)))
    }

    /// Whether `self` is a subtype of `other`. GC phase 1: a concrete type
    /// matches itself and the abstract types above it; declared `sub`
    /// supertypes are not consulted here (they are wherever Tern checks
    /// values and imports: linking, `Table::set`, `Global::set`, host calls).
    pub fn matches(&self, other: &HeapType) -> bool {
        self.to_wasm().matches(other.to_wasm())
    }

    pub(crate) fn from_wasm(h: WasmHeapType) -> Self {
        match h {
            WasmHeapType::Func => Self::Func,
            WasmHeapType::ConcreteFunc(TypeIndex::Engine(i)) => {
                Self::ConcreteFunc(SharedTypeIndex(i))
            }
            WasmHeapType::ConcreteStruct(TypeIndex::Engine(i)) => {
                Self::ConcreteStruct(SharedTypeIndex(i))
            }
            WasmHeapType::ConcreteArray(TypeIndex::Engine(i)) => {
                Self::ConcreteArray(SharedTypeIndex(i))
            }
            // Public types are made from canonical (engine-indexed) types only;
            // another index cannot reach here, and the abstract type is its truthful top.
            WasmHeapType::ConcreteFunc(_) => Self::Func,
            WasmHeapType::ConcreteStruct(_) => Self::Struct,
            WasmHeapType::ConcreteArray(_) => Self::Array,
            WasmHeapType::NoFunc => Self::NoFunc,
            WasmHeapType::Extern => Self::Extern,
            WasmHeapType::NoExtern => Self::NoExtern,
            WasmHeapType::Any => Self::Any,
            WasmHeapType::Eq => Self::Eq,
            WasmHeapType::I31 => Self::I31,
            WasmHeapType::Struct => Self::Struct,
            WasmHeapType::Array => Self::Array,
            WasmHeapType::None => Self::None,
            WasmHeapType::Exn => Self::Exn,
            WasmHeapType::NoExn => Self::NoExn,
        }
    }

    pub(crate) fn to_wasm(self) -> WasmHeapType {
        match self {
            Self::Func => WasmHeapType::Func,
            Self::ConcreteFunc(SharedTypeIndex(i)) => {
                WasmHeapType::ConcreteFunc(TypeIndex::Engine(i))
            }
            Self::ConcreteStruct(SharedTypeIndex(i)) => {
                WasmHeapType::ConcreteStruct(TypeIndex::Engine(i))
            }
            Self::ConcreteArray(SharedTypeIndex(i)) => {
                WasmHeapType::ConcreteArray(TypeIndex::Engine(i))
            }
            Self::NoFunc => WasmHeapType::NoFunc,
            Self::Extern => WasmHeapType::Extern,
            Self::NoExtern => WasmHeapType::NoExtern,
            Self::Any => WasmHeapType::Any,
            Self::Eq => WasmHeapType::Eq,
            Self::I31 => WasmHeapType::I31,
            Self::Struct => WasmHeapType::Struct,
            Self::Array => WasmHeapType::Array,
            Self::None => WasmHeapType::None,
            Self::Exn => WasmHeapType::Exn,
            Self::NoExn => WasmHeapType::NoExn,
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_wasm().fmt(f)
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_wasm().fmt(f)
    }
}

/// A function's signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    pub(crate) ty: WasmFuncType,
}

impl FuncType {
    /// A signature with these parameters and results.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        Self {
            ty: WasmFuncType {
                params: params.into_iter().map(ValType::to_wasm).collect(),
                results: results.into_iter().map(ValType::to_wasm).collect(),
            },
        }
    }

    pub(crate) fn from_wasm(ty: WasmFuncType) -> Self {
        Self { ty }
    }

    /// Parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.ty.params.iter().map(|t| ValType::from_wasm(*t))
    }

    /// Result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.ty.results.iter().map(|t| ValType::from_wasm(*t))
    }

    /// Whether a function of type `self` may be used where one of type `other`
    /// is expected (`self` is a subtype of `other`). Function types are final
    /// and declare no supertypes without the GC proposal, so this is type
    /// equality (of the canonical types, so two modules' copies of one type
    /// match); with GC's declared subtypes it will also walk `self`'s supertypes.
    pub fn matches(&self, other: &FuncType) -> bool {
        self == other
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ty.fmt(f)
    }
}

/// Whether a global can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// A global's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        Self {
            content,
            mutability,
        }
    }
    /// The value type.
    pub fn content(&self) -> &ValType {
        &self.content
    }
    /// Whether it is mutable.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mutability {
            Mutability::Const => write!(f, "(global {})", self.content),
            Mutability::Var => write!(f, "(global (mut {}))", self.content),
        }
    }
}

/// A linear memory's type (sizes in 64 KiB pages).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoryType {
    pub(crate) plan: MemoryPlan,
}

impl MemoryType {
    /// A 32-bit memory of `minimum` pages, growable to `maximum`.
    pub fn new(minimum: u32, maximum: Option<u32>) -> Self {
        Self {
            plan: MemoryPlan {
                minimum: u64::from(minimum),
                maximum: maximum.map(u64::from),
                memory64: false,
                shared: false,
            },
        }
    }
    /// A 64-bit memory (memory64 proposal) of `minimum` pages, growable to `maximum`.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> Self {
        Self {
            plan: MemoryPlan {
                minimum,
                maximum,
                memory64: true,
                shared: false,
            },
        }
    }

    /// Initial size in pages.
    pub fn minimum(&self) -> u64 {
        self.plan.minimum
    }
    /// Maximum size in pages.
    pub fn maximum(&self) -> Option<u64> {
        self.plan.maximum
    }
    /// Whether addresses are 64-bit.
    pub fn is_64(&self) -> bool {
        self.plan.memory64
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(memory {}", self.plan.minimum)?;
        if let Some(m) = self.plan.maximum {
            write!(f, " {m}")?;
        }
        f.write_str(")")
    }
}

/// A table's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableType {
    pub(crate) plan: TablePlan,
    /// The element type as given. It is `ValType::Ref(plan.element)` except
    /// when [`TableType::new`] was handed a non-reference type, which it
    /// accepts as wasmtime does and [`crate::Table::new`] then refuses.
    element: ValType,
}

impl TableType {
    /// A table of `element` references with `min` initial and `max` maximum elements.
    pub fn new(element: ValType, min: u32, max: Option<u32>) -> Self {
        Self {
            plan: TablePlan {
                element: element
                    .as_ref()
                    .map_or(WasmRefType::FUNCREF, |r| r.to_wasm()),
                minimum: u64::from(min),
                maximum: max.map(u64::from),
                table64: false,
            },
            element,
        }
    }

    pub(crate) fn from_plan(plan: TablePlan) -> Self {
        Self {
            plan,
            element: ValType::Ref(RefType::from_wasm(plan.element)),
        }
    }

    /// The element type.
    pub fn element(&self) -> ValType {
        self.element
    }
    /// Initial size.
    pub fn minimum(&self) -> u32 {
        self.plan.minimum as u32
    }
    /// Maximum size.
    pub fn maximum(&self) -> Option<u32> {
        self.plan.maximum.map(|m| m as u32)
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(table {}", self.plan.minimum)?;
        if let Some(m) = self.plan.maximum {
            write!(f, " {m}")?;
        }
        write!(f, " {})", self.element)
    }
}

/// The type of any external item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// An exception tag.
    Tag(crate::TagType),
}

impl ExternType {
    /// The tag type, if this is one.
    pub fn tag(&self) -> Option<&crate::TagType> {
        match self {
            Self::Tag(t) => Some(t),
            _ => None,
        }
    }
    /// The function type, if this is one.
    pub fn func(&self) -> Option<&FuncType> {
        match self {
            Self::Func(f) => Some(f),
            _ => None,
        }
    }
    /// The global type, if this is one.
    pub fn global(&self) -> Option<&GlobalType> {
        match self {
            Self::Global(g) => Some(g),
            _ => None,
        }
    }
    /// The table type, if this is one.
    pub fn table(&self) -> Option<&TableType> {
        match self {
            Self::Table(t) => Some(t),
            _ => None,
        }
    }
    /// The memory type, if this is one.
    pub fn memory(&self) -> Option<&MemoryType> {
        match self {
            Self::Memory(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Func(t) => t.fmt(f),
            Self::Global(t) => t.fmt(f),
            Self::Table(t) => t.fmt(f),
            Self::Memory(t) => t.fmt(f),
            Self::Tag(t) => t.fmt(f),
        }
    }
}

/// One import of a module.
#[derive(Debug, Clone)]
pub struct ImportType<'module> {
    pub(crate) module: &'module str,
    pub(crate) name: &'module str,
    pub(crate) ty: ExternType,
}

impl<'module> ImportType<'module> {
    /// The module name.
    pub fn module(&self) -> &'module str {
        self.module
    }
    /// The field name.
    pub fn name(&self) -> &'module str {
        self.name
    }
    /// The expected type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module.
#[derive(Debug, Clone)]
pub struct ExportType<'module> {
    pub(crate) name: &'module str,
    pub(crate) ty: ExternType,
}

impl<'module> ExportType<'module> {
    /// The export name.
    pub fn name(&self) -> &'module str {
        self.name
    }
    /// The exported item's type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

//! The public type descriptions: value, function, global, memory, table, extern,
//! import and export types, with wasmtime's names.

use std::fmt;
use tern_environ::{MemoryPlan, TablePlan, WasmFuncType, WasmValType};

/// A WebAssembly value type.
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
    /// Function reference.
    FuncRef,
    /// Host reference.
    ExternRef,
    /// Exception reference (`exnref`, exception handling).
    ExnRef,
}

impl ValType {
    pub(crate) fn from_wasm(ty: WasmValType) -> Self {
        match ty {
            WasmValType::I32 => Self::I32,
            WasmValType::I64 => Self::I64,
            WasmValType::F32 => Self::F32,
            WasmValType::F64 => Self::F64,
            WasmValType::V128 => Self::V128,
            WasmValType::FuncRef => Self::FuncRef,
            WasmValType::ExternRef => Self::ExternRef,
            WasmValType::ExnRef => Self::ExnRef,
        }
    }

    pub(crate) fn to_wasm(self) -> WasmValType {
        match self {
            Self::I32 => WasmValType::I32,
            Self::I64 => WasmValType::I64,
            Self::F32 => WasmValType::F32,
            Self::F64 => WasmValType::F64,
            Self::V128 => WasmValType::V128,
            Self::FuncRef => WasmValType::FuncRef,
            Self::ExternRef => WasmValType::ExternRef,
            Self::ExnRef => WasmValType::ExnRef,
        }
    }

    /// Whether this is `i32`, `i64`, `f32` or `f64`.
    pub fn is_num(&self) -> bool {
        matches!(self, Self::I32 | Self::I64 | Self::F32 | Self::F64)
    }

    /// Whether this is a reference type.
    pub fn is_ref(&self) -> bool {
        matches!(self, Self::FuncRef | Self::ExternRef | Self::ExnRef)
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
}

impl TableType {
    /// A table of `element` references with `min` initial and `max` maximum elements.
    pub fn new(element: ValType, min: u32, max: Option<u32>) -> Self {
        Self {
            plan: TablePlan {
                element: element.to_wasm(),
                minimum: u64::from(min),
                maximum: max.map(u64::from),
                table64: false,
            },
        }
    }
    /// The element type.
    pub fn element(&self) -> ValType {
        ValType::from_wasm(self.plan.element)
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
        write!(f, " {})", self.plan.element)
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

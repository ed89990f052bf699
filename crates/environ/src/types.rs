//! Value, function, table and memory types as the rest of Tern sees them.
//!
//! These are small owned copies of wasmparser's types, so that later stages
//! (code generation, the runtime, artifacts) do not depend on parser lifetimes.

use std::fmt;

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
    /// Nullable reference to a function.
    FuncRef,
    /// Nullable reference to a host value.
    ExternRef,
    /// Nullable reference to a caught exception (exception handling).
    ExnRef,
}

impl WasmValType {
    /// Converts a wasmparser value type; fails for types Tern does not support yet.
    pub fn from_wasmparser(ty: wasmparser::ValType) -> anyhow::Result<Self> {
        use wasmparser::ValType as V;
        Ok(match ty {
            V::I32 => Self::I32,
            V::I64 => Self::I64,
            V::F32 => Self::F32,
            V::F64 => Self::F64,
            V::V128 => Self::V128,
            V::Ref(r) if r == wasmparser::RefType::FUNCREF => Self::FuncRef,
            V::Ref(r) if r == wasmparser::RefType::EXTERNREF => Self::ExternRef,
            // `(ref exn)` and `(ref null exn)` share one representation;
            // non-nullability is checked by validation.
            V::Ref(r)
                if r.heap_type()
                    == wasmparser::HeapType::Abstract {
                        shared: false,
                        ty: wasmparser::AbstractHeapType::Exn,
                    } =>
            {
                Self::ExnRef
            }
            V::Ref(r) => anyhow::bail!("unsupported reference type `{r}`"),
        })
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, Self::FuncRef | Self::ExternRef | Self::ExnRef)
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::V128 => "v128",
            Self::FuncRef => "funcref",
            Self::ExternRef => "externref",
            Self::ExnRef => "exnref",
        })
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
        Ok(Self {
            params: ty
                .params()
                .iter()
                .map(|t| WasmValType::from_wasmparser(*t))
                .collect::<anyhow::Result<_>>()?,
            results: ty
                .results()
                .iter()
                .map(|t| WasmValType::from_wasmparser(*t))
                .collect::<anyhow::Result<_>>()?,
        })
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
    /// Element type (`FuncRef` or `ExternRef`).
    pub element: WasmValType,
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

//! Constant expressions (global initialisers and segment offsets) in an owned form
//! that the runtime evaluates at instantiation.

use anyhow::{bail, Result};

/// One operator of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ConstOp {
    /// Push an i32.
    I32Const(i32),
    /// Push an i64.
    I64Const(i64),
    /// Push an f32 (raw bits).
    F32Const(u32),
    /// Push an f64 (raw bits).
    F64Const(u64),
    /// Push a v128.
    V128Const(u128),
    /// Push the value of a global (in the module's global index space).
    GlobalGet(u32),
    /// Push a null reference.
    RefNull,
    /// Push a reference to a function.
    RefFunc(u32),
    /// i32 addition (extended-const).
    I32Add,
    /// i32 subtraction (extended-const).
    I32Sub,
    /// i32 multiplication (extended-const).
    I32Mul,
    /// i64 addition (extended-const).
    I64Add,
    /// i64 subtraction (extended-const).
    I64Sub,
    /// i64 multiplication (extended-const).
    I64Mul,
    /// `ref.i31` (GC): the i32 on the stack as an `i31ref`, `(v << 1) | 1`
    /// (see `docs/design/gc.md`).
    RefI31,
    /// `struct.new` of module type index (GC): pops one value per field.
    StructNew(u32),
    /// `struct.new_default` of module type index (GC).
    StructNewDefault(u32),
    /// `array.new` of module type index (GC): pops the value and the length.
    ArrayNew(u32),
    /// `array.new_default` of module type index (GC): pops the length.
    ArrayNewDefault(u32),
    /// `array.new_fixed` of module type index with this many elements (GC).
    ArrayNewFixed(u32, u32),
    /// `any.convert_extern` (GC).
    AnyConvertExtern,
    /// `extern.convert_any` (GC).
    ExternConvertAny,
}

/// The `i31ref` word of `v`: its low 31 bits, shifted left, with bit 0 set.
/// The one definition of the encoding, shared by constant expressions and
/// the runtime (compiled code emits the same shift and or).
pub fn i31_word(v: i32) -> u64 {
    u64::from(((v as u32) << 1) | 1)
}

/// A validated constant expression: a short stack program producing one value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConstExpr {
    /// The operators, in order.
    pub ops: Vec<ConstOp>,
}

impl ConstExpr {
    /// Converts a (validated) wasmparser constant expression.
    pub fn from_wasmparser(expr: &wasmparser::ConstExpr<'_>) -> Result<Self> {
        use wasmparser::Operator as O;
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let op = reader.read()?;
            ops.push(match op {
                O::I32Const { value } => ConstOp::I32Const(value),
                O::I64Const { value } => ConstOp::I64Const(value),
                O::F32Const { value } => ConstOp::F32Const(value.bits()),
                O::F64Const { value } => ConstOp::F64Const(value.bits()),
                O::V128Const { value } => ConstOp::V128Const(u128::from_le_bytes(*value.bytes())),
                O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                O::RefNull { .. } => ConstOp::RefNull,
                O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                O::I32Add => ConstOp::I32Add,
                O::I32Sub => ConstOp::I32Sub,
                O::I32Mul => ConstOp::I32Mul,
                O::I64Add => ConstOp::I64Add,
                O::I64Sub => ConstOp::I64Sub,
                O::I64Mul => ConstOp::I64Mul,
                O::RefI31 => ConstOp::RefI31,
                O::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                O::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                O::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                O::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                O::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                O::AnyConvertExtern => ConstOp::AnyConvertExtern,
                O::ExternConvertAny => ConstOp::ExternConvertAny,
                O::End => break,
                other => bail!("unsupported operator in constant expression: {other:?}"),
            });
        }
        Ok(Self { ops })
    }

    /// The single constant this expression pushes when it is one `i32.const`/`i64.const`.
    pub fn as_const_int(&self) -> Option<i64> {
        match self.ops.as_slice() {
            [ConstOp::I32Const(v)] => Some(i64::from(*v)),
            [ConstOp::I64Const(v)] => Some(*v),
            _ => None,
        }
    }
}

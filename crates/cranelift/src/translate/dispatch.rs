//! The one dispatch from a wasm operator to its translation.
//!
//! `wasmparser::Operator` is `#[non_exhaustive]`, so no `match` over it can be
//! checked for completeness: a new operator would silently fall into a `_` arm.
//! wasmparser's `VisitOperator` and `VisitSimdOperator` traits, however, have
//! one required method per operator, so [`Dispatch`] implements them, and the
//! compiler checks that every operator is handled:
//! - `route!` decides per proposal: an operator of a proposal Tern implements
//!   goes to its topic translator (through `topic!`); one of a proposal Tern
//!   does not implement (threads, legacy exceptions, stack switching, …) is a clear
//!   error naming the operator and the proposal. A proposal that a future
//!   wasmparser adds has no `route!` rule and stops the build.
//! - `topic!` names, once, the file whose translator handles each operator of a
//!   supported proposal: `control`, `memory`, `tables`, `funcref`, `numeric` or `simd`. An
//!   operator missing from it stops the build too. GC operators all go to `gc`,
//!   which hands `struct.*`/`array.*` to `gc_objects` and refuses the rest by name.
//!
//! Each topic translator matches the operators routed to it; its final arm
//! (reached only if `topic!` routes an operator to the wrong file) is an error,
//! not a panic.

use super::FuncState;
use anyhow::{anyhow, Result};
use wasmparser::{Operator, VisitOperator, VisitSimdOperator};

/// Hands each operator to its translator. `op` is the operator being visited
/// (the translators take the whole operator; the visit methods' arguments are
/// its fields).
pub(crate) struct Dispatch<'s, 'a, 'f, 'o> {
    pub(crate) state: &'s mut FuncState<'a, 'f>,
    pub(crate) op: &'s Operator<'o>,
}

/// The error for an operator of a proposal Tern does not implement (validation
/// normally rejects these first, as the proposals are disabled).
fn unsupported(op: &str, proposal: &str) -> anyhow::Error {
    anyhow!("unsupported operator {op}: Tern does not implement the {proposal} proposal")
}

/// The error of a topic translator handed an operator it has no case for.
pub(crate) fn misrouted(op: &Operator<'_>, topic: &str) -> anyhow::Error {
    anyhow!("internal error: operator {op:?} was routed to the {topic} translator, which does not handle it")
}

impl FuncState<'_, '_> {
    /// Operators of supported proposals that validation always rejects
    /// (`select` with several result types).
    fn translate_invalid(&mut self, op: &Operator<'_>) -> Result<()> {
        Err(anyhow!("unsupported operator {op:?}"))
    }
}

/// The topic translator of each operator of a supported proposal.
#[rustfmt::skip]
macro_rules! topic {
    // @mvp
    (Unreachable) => { FuncState::translate_control };
    (Nop) => { FuncState::translate_control };
    (Block) => { FuncState::translate_control };
    (Loop) => { FuncState::translate_control };
    (If) => { FuncState::translate_control };
    (Else) => { FuncState::translate_control };
    (End) => { FuncState::translate_control };
    (Br) => { FuncState::translate_control };
    (BrIf) => { FuncState::translate_control };
    (BrTable) => { FuncState::translate_control };
    (Return) => { FuncState::translate_control };
    (Call) => { FuncState::translate_control };
    (CallIndirect) => { FuncState::translate_control };
    (Drop) => { FuncState::translate_control };
    (Select) => { FuncState::translate_control };
    (LocalGet) => { FuncState::translate_control };
    (LocalSet) => { FuncState::translate_control };
    (LocalTee) => { FuncState::translate_control };
    (GlobalGet) => { FuncState::translate_memory };
    (GlobalSet) => { FuncState::translate_memory };
    (I32Load) => { FuncState::translate_memory };
    (I64Load) => { FuncState::translate_memory };
    (F32Load) => { FuncState::translate_memory };
    (F64Load) => { FuncState::translate_memory };
    (I32Load8S) => { FuncState::translate_memory };
    (I32Load8U) => { FuncState::translate_memory };
    (I32Load16S) => { FuncState::translate_memory };
    (I32Load16U) => { FuncState::translate_memory };
    (I64Load8S) => { FuncState::translate_memory };
    (I64Load8U) => { FuncState::translate_memory };
    (I64Load16S) => { FuncState::translate_memory };
    (I64Load16U) => { FuncState::translate_memory };
    (I64Load32S) => { FuncState::translate_memory };
    (I64Load32U) => { FuncState::translate_memory };
    (I32Store) => { FuncState::translate_memory };
    (I64Store) => { FuncState::translate_memory };
    (F32Store) => { FuncState::translate_memory };
    (F64Store) => { FuncState::translate_memory };
    (I32Store8) => { FuncState::translate_memory };
    (I32Store16) => { FuncState::translate_memory };
    (I64Store8) => { FuncState::translate_memory };
    (I64Store16) => { FuncState::translate_memory };
    (I64Store32) => { FuncState::translate_memory };
    (MemorySize) => { FuncState::translate_memory };
    (MemoryGrow) => { FuncState::translate_memory };
    (I32Const) => { FuncState::translate_numeric };
    (I64Const) => { FuncState::translate_numeric };
    (F32Const) => { FuncState::translate_numeric };
    (F64Const) => { FuncState::translate_numeric };
    (I32Eqz) => { FuncState::translate_numeric };
    (I32Eq) => { FuncState::translate_numeric };
    (I32Ne) => { FuncState::translate_numeric };
    (I32LtS) => { FuncState::translate_numeric };
    (I32LtU) => { FuncState::translate_numeric };
    (I32GtS) => { FuncState::translate_numeric };
    (I32GtU) => { FuncState::translate_numeric };
    (I32LeS) => { FuncState::translate_numeric };
    (I32LeU) => { FuncState::translate_numeric };
    (I32GeS) => { FuncState::translate_numeric };
    (I32GeU) => { FuncState::translate_numeric };
    (I64Eqz) => { FuncState::translate_numeric };
    (I64Eq) => { FuncState::translate_numeric };
    (I64Ne) => { FuncState::translate_numeric };
    (I64LtS) => { FuncState::translate_numeric };
    (I64LtU) => { FuncState::translate_numeric };
    (I64GtS) => { FuncState::translate_numeric };
    (I64GtU) => { FuncState::translate_numeric };
    (I64LeS) => { FuncState::translate_numeric };
    (I64LeU) => { FuncState::translate_numeric };
    (I64GeS) => { FuncState::translate_numeric };
    (I64GeU) => { FuncState::translate_numeric };
    (F32Eq) => { FuncState::translate_numeric };
    (F32Ne) => { FuncState::translate_numeric };
    (F32Lt) => { FuncState::translate_numeric };
    (F32Gt) => { FuncState::translate_numeric };
    (F32Le) => { FuncState::translate_numeric };
    (F32Ge) => { FuncState::translate_numeric };
    (F64Eq) => { FuncState::translate_numeric };
    (F64Ne) => { FuncState::translate_numeric };
    (F64Lt) => { FuncState::translate_numeric };
    (F64Gt) => { FuncState::translate_numeric };
    (F64Le) => { FuncState::translate_numeric };
    (F64Ge) => { FuncState::translate_numeric };
    (I32Clz) => { FuncState::translate_numeric };
    (I32Ctz) => { FuncState::translate_numeric };
    (I32Popcnt) => { FuncState::translate_numeric };
    (I32Add) => { FuncState::translate_numeric };
    (I32Sub) => { FuncState::translate_numeric };
    (I32Mul) => { FuncState::translate_numeric };
    (I32DivS) => { FuncState::translate_numeric };
    (I32DivU) => { FuncState::translate_numeric };
    (I32RemS) => { FuncState::translate_numeric };
    (I32RemU) => { FuncState::translate_numeric };
    (I32And) => { FuncState::translate_numeric };
    (I32Or) => { FuncState::translate_numeric };
    (I32Xor) => { FuncState::translate_numeric };
    (I32Shl) => { FuncState::translate_numeric };
    (I32ShrS) => { FuncState::translate_numeric };
    (I32ShrU) => { FuncState::translate_numeric };
    (I32Rotl) => { FuncState::translate_numeric };
    (I32Rotr) => { FuncState::translate_numeric };
    (I64Clz) => { FuncState::translate_numeric };
    (I64Ctz) => { FuncState::translate_numeric };
    (I64Popcnt) => { FuncState::translate_numeric };
    (I64Add) => { FuncState::translate_numeric };
    (I64Sub) => { FuncState::translate_numeric };
    (I64Mul) => { FuncState::translate_numeric };
    (I64DivS) => { FuncState::translate_numeric };
    (I64DivU) => { FuncState::translate_numeric };
    (I64RemS) => { FuncState::translate_numeric };
    (I64RemU) => { FuncState::translate_numeric };
    (I64And) => { FuncState::translate_numeric };
    (I64Or) => { FuncState::translate_numeric };
    (I64Xor) => { FuncState::translate_numeric };
    (I64Shl) => { FuncState::translate_numeric };
    (I64ShrS) => { FuncState::translate_numeric };
    (I64ShrU) => { FuncState::translate_numeric };
    (I64Rotl) => { FuncState::translate_numeric };
    (I64Rotr) => { FuncState::translate_numeric };
    (F32Abs) => { FuncState::translate_numeric };
    (F32Neg) => { FuncState::translate_numeric };
    (F32Ceil) => { FuncState::translate_numeric };
    (F32Floor) => { FuncState::translate_numeric };
    (F32Trunc) => { FuncState::translate_numeric };
    (F32Nearest) => { FuncState::translate_numeric };
    (F32Sqrt) => { FuncState::translate_numeric };
    (F32Add) => { FuncState::translate_numeric };
    (F32Sub) => { FuncState::translate_numeric };
    (F32Mul) => { FuncState::translate_numeric };
    (F32Div) => { FuncState::translate_numeric };
    (F32Min) => { FuncState::translate_numeric };
    (F32Max) => { FuncState::translate_numeric };
    (F32Copysign) => { FuncState::translate_numeric };
    (F64Abs) => { FuncState::translate_numeric };
    (F64Neg) => { FuncState::translate_numeric };
    (F64Ceil) => { FuncState::translate_numeric };
    (F64Floor) => { FuncState::translate_numeric };
    (F64Trunc) => { FuncState::translate_numeric };
    (F64Nearest) => { FuncState::translate_numeric };
    (F64Sqrt) => { FuncState::translate_numeric };
    (F64Add) => { FuncState::translate_numeric };
    (F64Sub) => { FuncState::translate_numeric };
    (F64Mul) => { FuncState::translate_numeric };
    (F64Div) => { FuncState::translate_numeric };
    (F64Min) => { FuncState::translate_numeric };
    (F64Max) => { FuncState::translate_numeric };
    (F64Copysign) => { FuncState::translate_numeric };
    (I32WrapI64) => { FuncState::translate_numeric };
    (I32TruncF32S) => { FuncState::translate_numeric };
    (I32TruncF32U) => { FuncState::translate_numeric };
    (I32TruncF64S) => { FuncState::translate_numeric };
    (I32TruncF64U) => { FuncState::translate_numeric };
    (I64ExtendI32S) => { FuncState::translate_numeric };
    (I64ExtendI32U) => { FuncState::translate_numeric };
    (I64TruncF32S) => { FuncState::translate_numeric };
    (I64TruncF32U) => { FuncState::translate_numeric };
    (I64TruncF64S) => { FuncState::translate_numeric };
    (I64TruncF64U) => { FuncState::translate_numeric };
    (F32ConvertI32S) => { FuncState::translate_numeric };
    (F32ConvertI32U) => { FuncState::translate_numeric };
    (F32ConvertI64S) => { FuncState::translate_numeric };
    (F32ConvertI64U) => { FuncState::translate_numeric };
    (F32DemoteF64) => { FuncState::translate_numeric };
    (F64ConvertI32S) => { FuncState::translate_numeric };
    (F64ConvertI32U) => { FuncState::translate_numeric };
    (F64ConvertI64S) => { FuncState::translate_numeric };
    (F64ConvertI64U) => { FuncState::translate_numeric };
    (F64PromoteF32) => { FuncState::translate_numeric };
    (I32ReinterpretF32) => { FuncState::translate_numeric };
    (I64ReinterpretF64) => { FuncState::translate_numeric };
    (F32ReinterpretI32) => { FuncState::translate_numeric };
    (F64ReinterpretI64) => { FuncState::translate_numeric };
    // @sign_extension
    (I32Extend8S) => { FuncState::translate_numeric };
    (I32Extend16S) => { FuncState::translate_numeric };
    (I64Extend8S) => { FuncState::translate_numeric };
    (I64Extend16S) => { FuncState::translate_numeric };
    (I64Extend32S) => { FuncState::translate_numeric };
    // @saturating_float_to_int
    (I32TruncSatF32S) => { FuncState::translate_numeric };
    (I32TruncSatF32U) => { FuncState::translate_numeric };
    (I32TruncSatF64S) => { FuncState::translate_numeric };
    (I32TruncSatF64U) => { FuncState::translate_numeric };
    (I64TruncSatF32S) => { FuncState::translate_numeric };
    (I64TruncSatF32U) => { FuncState::translate_numeric };
    (I64TruncSatF64S) => { FuncState::translate_numeric };
    (I64TruncSatF64U) => { FuncState::translate_numeric };
    // @bulk_memory
    (MemoryInit) => { FuncState::translate_tables };
    (DataDrop) => { FuncState::translate_tables };
    (MemoryCopy) => { FuncState::translate_bulk_memory };
    (MemoryFill) => { FuncState::translate_bulk_memory };
    (TableInit) => { FuncState::translate_tables };
    (ElemDrop) => { FuncState::translate_tables };
    (TableCopy) => { FuncState::translate_tables };
    // @reference_types
    (TypedSelect) => { FuncState::translate_control };
    (TypedSelectMulti) => { FuncState::translate_invalid };
    (RefNull) => { FuncState::translate_tables };
    (RefIsNull) => { FuncState::translate_tables };
    (RefFunc) => { FuncState::translate_tables };
    (TableFill) => { FuncState::translate_tables };
    (TableGet) => { FuncState::translate_tables };
    (TableSet) => { FuncState::translate_tables };
    (TableGrow) => { FuncState::translate_tables };
    (TableSize) => { FuncState::translate_tables };
    // @exceptions
    (TryTable) => { FuncState::translate_exceptions };
    (Throw) => { FuncState::translate_exceptions };
    (ThrowRef) => { FuncState::translate_exceptions };
    // @tail_call
    (ReturnCall) => { FuncState::translate_control };
    (ReturnCallIndirect) => { FuncState::translate_control };
    // @simd
    (V128Load) => { FuncState::translate_simd };
    (V128Load8x8S) => { FuncState::translate_simd };
    (V128Load8x8U) => { FuncState::translate_simd };
    (V128Load16x4S) => { FuncState::translate_simd };
    (V128Load16x4U) => { FuncState::translate_simd };
    (V128Load32x2S) => { FuncState::translate_simd };
    (V128Load32x2U) => { FuncState::translate_simd };
    (V128Load8Splat) => { FuncState::translate_simd };
    (V128Load16Splat) => { FuncState::translate_simd };
    (V128Load32Splat) => { FuncState::translate_simd };
    (V128Load64Splat) => { FuncState::translate_simd };
    (V128Load32Zero) => { FuncState::translate_simd };
    (V128Load64Zero) => { FuncState::translate_simd };
    (V128Store) => { FuncState::translate_simd };
    (V128Load8Lane) => { FuncState::translate_simd };
    (V128Load16Lane) => { FuncState::translate_simd };
    (V128Load32Lane) => { FuncState::translate_simd };
    (V128Load64Lane) => { FuncState::translate_simd };
    (V128Store8Lane) => { FuncState::translate_simd };
    (V128Store16Lane) => { FuncState::translate_simd };
    (V128Store32Lane) => { FuncState::translate_simd };
    (V128Store64Lane) => { FuncState::translate_simd };
    (V128Const) => { FuncState::translate_simd };
    (I8x16Shuffle) => { FuncState::translate_simd };
    (I8x16ExtractLaneS) => { FuncState::translate_simd };
    (I8x16ExtractLaneU) => { FuncState::translate_simd };
    (I8x16ReplaceLane) => { FuncState::translate_simd };
    (I16x8ExtractLaneS) => { FuncState::translate_simd };
    (I16x8ExtractLaneU) => { FuncState::translate_simd };
    (I16x8ReplaceLane) => { FuncState::translate_simd };
    (I32x4ExtractLane) => { FuncState::translate_simd };
    (I32x4ReplaceLane) => { FuncState::translate_simd };
    (I64x2ExtractLane) => { FuncState::translate_simd };
    (I64x2ReplaceLane) => { FuncState::translate_simd };
    (F32x4ExtractLane) => { FuncState::translate_simd };
    (F32x4ReplaceLane) => { FuncState::translate_simd };
    (F64x2ExtractLane) => { FuncState::translate_simd };
    (F64x2ReplaceLane) => { FuncState::translate_simd };
    (I8x16Swizzle) => { FuncState::translate_simd };
    (I8x16Splat) => { FuncState::translate_simd };
    (I16x8Splat) => { FuncState::translate_simd };
    (I32x4Splat) => { FuncState::translate_simd };
    (I64x2Splat) => { FuncState::translate_simd };
    (F32x4Splat) => { FuncState::translate_simd };
    (F64x2Splat) => { FuncState::translate_simd };
    (I8x16Eq) => { FuncState::translate_simd };
    (I8x16Ne) => { FuncState::translate_simd };
    (I8x16LtS) => { FuncState::translate_simd };
    (I8x16LtU) => { FuncState::translate_simd };
    (I8x16GtS) => { FuncState::translate_simd };
    (I8x16GtU) => { FuncState::translate_simd };
    (I8x16LeS) => { FuncState::translate_simd };
    (I8x16LeU) => { FuncState::translate_simd };
    (I8x16GeS) => { FuncState::translate_simd };
    (I8x16GeU) => { FuncState::translate_simd };
    (I16x8Eq) => { FuncState::translate_simd };
    (I16x8Ne) => { FuncState::translate_simd };
    (I16x8LtS) => { FuncState::translate_simd };
    (I16x8LtU) => { FuncState::translate_simd };
    (I16x8GtS) => { FuncState::translate_simd };
    (I16x8GtU) => { FuncState::translate_simd };
    (I16x8LeS) => { FuncState::translate_simd };
    (I16x8LeU) => { FuncState::translate_simd };
    (I16x8GeS) => { FuncState::translate_simd };
    (I16x8GeU) => { FuncState::translate_simd };
    (I32x4Eq) => { FuncState::translate_simd };
    (I32x4Ne) => { FuncState::translate_simd };
    (I32x4LtS) => { FuncState::translate_simd };
    (I32x4LtU) => { FuncState::translate_simd };
    (I32x4GtS) => { FuncState::translate_simd };
    (I32x4GtU) => { FuncState::translate_simd };
    (I32x4LeS) => { FuncState::translate_simd };
    (I32x4LeU) => { FuncState::translate_simd };
    (I32x4GeS) => { FuncState::translate_simd };
    (I32x4GeU) => { FuncState::translate_simd };
    (I64x2Eq) => { FuncState::translate_simd };
    (I64x2Ne) => { FuncState::translate_simd };
    (I64x2LtS) => { FuncState::translate_simd };
    (I64x2GtS) => { FuncState::translate_simd };
    (I64x2LeS) => { FuncState::translate_simd };
    (I64x2GeS) => { FuncState::translate_simd };
    (F32x4Eq) => { FuncState::translate_simd };
    (F32x4Ne) => { FuncState::translate_simd };
    (F32x4Lt) => { FuncState::translate_simd };
    (F32x4Gt) => { FuncState::translate_simd };
    (F32x4Le) => { FuncState::translate_simd };
    (F32x4Ge) => { FuncState::translate_simd };
    (F64x2Eq) => { FuncState::translate_simd };
    (F64x2Ne) => { FuncState::translate_simd };
    (F64x2Lt) => { FuncState::translate_simd };
    (F64x2Gt) => { FuncState::translate_simd };
    (F64x2Le) => { FuncState::translate_simd };
    (F64x2Ge) => { FuncState::translate_simd };
    (V128Not) => { FuncState::translate_simd };
    (V128And) => { FuncState::translate_simd };
    (V128AndNot) => { FuncState::translate_simd };
    (V128Or) => { FuncState::translate_simd };
    (V128Xor) => { FuncState::translate_simd };
    (V128Bitselect) => { FuncState::translate_simd };
    (V128AnyTrue) => { FuncState::translate_simd };
    (I8x16Abs) => { FuncState::translate_simd };
    (I8x16Neg) => { FuncState::translate_simd };
    (I8x16Popcnt) => { FuncState::translate_simd };
    (I8x16AllTrue) => { FuncState::translate_simd };
    (I8x16Bitmask) => { FuncState::translate_simd };
    (I8x16NarrowI16x8S) => { FuncState::translate_simd };
    (I8x16NarrowI16x8U) => { FuncState::translate_simd };
    (I8x16Shl) => { FuncState::translate_simd };
    (I8x16ShrS) => { FuncState::translate_simd };
    (I8x16ShrU) => { FuncState::translate_simd };
    (I8x16Add) => { FuncState::translate_simd };
    (I8x16AddSatS) => { FuncState::translate_simd };
    (I8x16AddSatU) => { FuncState::translate_simd };
    (I8x16Sub) => { FuncState::translate_simd };
    (I8x16SubSatS) => { FuncState::translate_simd };
    (I8x16SubSatU) => { FuncState::translate_simd };
    (I8x16MinS) => { FuncState::translate_simd };
    (I8x16MinU) => { FuncState::translate_simd };
    (I8x16MaxS) => { FuncState::translate_simd };
    (I8x16MaxU) => { FuncState::translate_simd };
    (I8x16AvgrU) => { FuncState::translate_simd };
    (I16x8ExtAddPairwiseI8x16S) => { FuncState::translate_simd };
    (I16x8ExtAddPairwiseI8x16U) => { FuncState::translate_simd };
    (I16x8Abs) => { FuncState::translate_simd };
    (I16x8Neg) => { FuncState::translate_simd };
    (I16x8Q15MulrSatS) => { FuncState::translate_simd };
    (I16x8AllTrue) => { FuncState::translate_simd };
    (I16x8Bitmask) => { FuncState::translate_simd };
    (I16x8NarrowI32x4S) => { FuncState::translate_simd };
    (I16x8NarrowI32x4U) => { FuncState::translate_simd };
    (I16x8ExtendLowI8x16S) => { FuncState::translate_simd };
    (I16x8ExtendHighI8x16S) => { FuncState::translate_simd };
    (I16x8ExtendLowI8x16U) => { FuncState::translate_simd };
    (I16x8ExtendHighI8x16U) => { FuncState::translate_simd };
    (I16x8Shl) => { FuncState::translate_simd };
    (I16x8ShrS) => { FuncState::translate_simd };
    (I16x8ShrU) => { FuncState::translate_simd };
    (I16x8Add) => { FuncState::translate_simd };
    (I16x8AddSatS) => { FuncState::translate_simd };
    (I16x8AddSatU) => { FuncState::translate_simd };
    (I16x8Sub) => { FuncState::translate_simd };
    (I16x8SubSatS) => { FuncState::translate_simd };
    (I16x8SubSatU) => { FuncState::translate_simd };
    (I16x8Mul) => { FuncState::translate_simd };
    (I16x8MinS) => { FuncState::translate_simd };
    (I16x8MinU) => { FuncState::translate_simd };
    (I16x8MaxS) => { FuncState::translate_simd };
    (I16x8MaxU) => { FuncState::translate_simd };
    (I16x8AvgrU) => { FuncState::translate_simd };
    (I16x8ExtMulLowI8x16S) => { FuncState::translate_simd };
    (I16x8ExtMulHighI8x16S) => { FuncState::translate_simd };
    (I16x8ExtMulLowI8x16U) => { FuncState::translate_simd };
    (I16x8ExtMulHighI8x16U) => { FuncState::translate_simd };
    (I32x4ExtAddPairwiseI16x8S) => { FuncState::translate_simd };
    (I32x4ExtAddPairwiseI16x8U) => { FuncState::translate_simd };
    (I32x4Abs) => { FuncState::translate_simd };
    (I32x4Neg) => { FuncState::translate_simd };
    (I32x4AllTrue) => { FuncState::translate_simd };
    (I32x4Bitmask) => { FuncState::translate_simd };
    (I32x4ExtendLowI16x8S) => { FuncState::translate_simd };
    (I32x4ExtendHighI16x8S) => { FuncState::translate_simd };
    (I32x4ExtendLowI16x8U) => { FuncState::translate_simd };
    (I32x4ExtendHighI16x8U) => { FuncState::translate_simd };
    (I32x4Shl) => { FuncState::translate_simd };
    (I32x4ShrS) => { FuncState::translate_simd };
    (I32x4ShrU) => { FuncState::translate_simd };
    (I32x4Add) => { FuncState::translate_simd };
    (I32x4Sub) => { FuncState::translate_simd };
    (I32x4Mul) => { FuncState::translate_simd };
    (I32x4MinS) => { FuncState::translate_simd };
    (I32x4MinU) => { FuncState::translate_simd };
    (I32x4MaxS) => { FuncState::translate_simd };
    (I32x4MaxU) => { FuncState::translate_simd };
    (I32x4DotI16x8S) => { FuncState::translate_simd };
    (I32x4ExtMulLowI16x8S) => { FuncState::translate_simd };
    (I32x4ExtMulHighI16x8S) => { FuncState::translate_simd };
    (I32x4ExtMulLowI16x8U) => { FuncState::translate_simd };
    (I32x4ExtMulHighI16x8U) => { FuncState::translate_simd };
    (I64x2Abs) => { FuncState::translate_simd };
    (I64x2Neg) => { FuncState::translate_simd };
    (I64x2AllTrue) => { FuncState::translate_simd };
    (I64x2Bitmask) => { FuncState::translate_simd };
    (I64x2ExtendLowI32x4S) => { FuncState::translate_simd };
    (I64x2ExtendHighI32x4S) => { FuncState::translate_simd };
    (I64x2ExtendLowI32x4U) => { FuncState::translate_simd };
    (I64x2ExtendHighI32x4U) => { FuncState::translate_simd };
    (I64x2Shl) => { FuncState::translate_simd };
    (I64x2ShrS) => { FuncState::translate_simd };
    (I64x2ShrU) => { FuncState::translate_simd };
    (I64x2Add) => { FuncState::translate_simd };
    (I64x2Sub) => { FuncState::translate_simd };
    (I64x2Mul) => { FuncState::translate_simd };
    (I64x2ExtMulLowI32x4S) => { FuncState::translate_simd };
    (I64x2ExtMulHighI32x4S) => { FuncState::translate_simd };
    (I64x2ExtMulLowI32x4U) => { FuncState::translate_simd };
    (I64x2ExtMulHighI32x4U) => { FuncState::translate_simd };
    (F32x4Ceil) => { FuncState::translate_simd };
    (F32x4Floor) => { FuncState::translate_simd };
    (F32x4Trunc) => { FuncState::translate_simd };
    (F32x4Nearest) => { FuncState::translate_simd };
    (F32x4Abs) => { FuncState::translate_simd };
    (F32x4Neg) => { FuncState::translate_simd };
    (F32x4Sqrt) => { FuncState::translate_simd };
    (F32x4Add) => { FuncState::translate_simd };
    (F32x4Sub) => { FuncState::translate_simd };
    (F32x4Mul) => { FuncState::translate_simd };
    (F32x4Div) => { FuncState::translate_simd };
    (F32x4Min) => { FuncState::translate_simd };
    (F32x4Max) => { FuncState::translate_simd };
    (F32x4PMin) => { FuncState::translate_simd };
    (F32x4PMax) => { FuncState::translate_simd };
    (F64x2Ceil) => { FuncState::translate_simd };
    (F64x2Floor) => { FuncState::translate_simd };
    (F64x2Trunc) => { FuncState::translate_simd };
    (F64x2Nearest) => { FuncState::translate_simd };
    (F64x2Abs) => { FuncState::translate_simd };
    (F64x2Neg) => { FuncState::translate_simd };
    (F64x2Sqrt) => { FuncState::translate_simd };
    (F64x2Add) => { FuncState::translate_simd };
    (F64x2Sub) => { FuncState::translate_simd };
    (F64x2Mul) => { FuncState::translate_simd };
    (F64x2Div) => { FuncState::translate_simd };
    (F64x2Min) => { FuncState::translate_simd };
    (F64x2Max) => { FuncState::translate_simd };
    (F64x2PMin) => { FuncState::translate_simd };
    (F64x2PMax) => { FuncState::translate_simd };
    (I32x4TruncSatF32x4S) => { FuncState::translate_simd };
    (I32x4TruncSatF32x4U) => { FuncState::translate_simd };
    (F32x4ConvertI32x4S) => { FuncState::translate_simd };
    (F32x4ConvertI32x4U) => { FuncState::translate_simd };
    (I32x4TruncSatF64x2SZero) => { FuncState::translate_simd };
    (I32x4TruncSatF64x2UZero) => { FuncState::translate_simd };
    (F64x2ConvertLowI32x4S) => { FuncState::translate_simd };
    (F64x2ConvertLowI32x4U) => { FuncState::translate_simd };
    (F32x4DemoteF64x2Zero) => { FuncState::translate_simd };
    (F64x2PromoteLowF32x4) => { FuncState::translate_simd };
    // @function_references
    (CallRef) => { FuncState::translate_funcref };
    (ReturnCallRef) => { FuncState::translate_funcref };
    (RefAsNonNull) => { FuncState::translate_funcref };
    (BrOnNull) => { FuncState::translate_funcref };
    (BrOnNonNull) => { FuncState::translate_funcref };
    // @relaxed_simd
    (I8x16RelaxedSwizzle) => { FuncState::translate_simd };
    (I32x4RelaxedTruncF32x4S) => { FuncState::translate_simd };
    (I32x4RelaxedTruncF32x4U) => { FuncState::translate_simd };
    (I32x4RelaxedTruncF64x2SZero) => { FuncState::translate_simd };
    (I32x4RelaxedTruncF64x2UZero) => { FuncState::translate_simd };
    (F32x4RelaxedMadd) => { FuncState::translate_simd };
    (F32x4RelaxedNmadd) => { FuncState::translate_simd };
    (F64x2RelaxedMadd) => { FuncState::translate_simd };
    (F64x2RelaxedNmadd) => { FuncState::translate_simd };
    (I8x16RelaxedLaneselect) => { FuncState::translate_simd };
    (I16x8RelaxedLaneselect) => { FuncState::translate_simd };
    (I32x4RelaxedLaneselect) => { FuncState::translate_simd };
    (I64x2RelaxedLaneselect) => { FuncState::translate_simd };
    (F32x4RelaxedMin) => { FuncState::translate_simd };
    (F32x4RelaxedMax) => { FuncState::translate_simd };
    (F64x2RelaxedMin) => { FuncState::translate_simd };
    (F64x2RelaxedMax) => { FuncState::translate_simd };
    (I16x8RelaxedQ15mulrS) => { FuncState::translate_simd };
    (I16x8RelaxedDotI8x16I7x16S) => { FuncState::translate_simd };
    (I32x4RelaxedDotI8x16I7x16AddS) => { FuncState::translate_simd };
    // @wide_arithmetic
    (I64Add128) => { FuncState::translate_numeric };
    (I64Sub128) => { FuncState::translate_numeric };
    (I64MulWideS) => { FuncState::translate_numeric };
    (I64MulWideU) => { FuncState::translate_numeric };
}

/// What to do with an operator, by proposal.
macro_rules! route {
    (@mvp $op:ident $s:ident) => { route!(translate $op $s) };
    (@sign_extension $op:ident $s:ident) => { route!(translate $op $s) };
    (@saturating_float_to_int $op:ident $s:ident) => { route!(translate $op $s) };
    (@bulk_memory $op:ident $s:ident) => { route!(translate $op $s) };
    (@reference_types $op:ident $s:ident) => { route!(translate $op $s) };
    (@tail_call $op:ident $s:ident) => { route!(translate $op $s) };
    (@simd $op:ident $s:ident) => { route!(translate $op $s) };
    (@relaxed_simd $op:ident $s:ident) => { route!(translate $op $s) };
    (@threads $op:ident $s:ident) => { route!(reject threads $op) };
    (@shared_everything_threads $op:ident $s:ident) => { route!(reject shared_everything_threads $op) };
    (@acquire_release_atomics $op:ident $s:ident) => { route!(reject acquire_release_atomics $op) };
    // Phase 1 of GC: `gc` translates what needs no heap objects and refuses the rest.
    (@gc $op:ident $s:ident) => { $s.state.translate_gc($s.op) };
    (@custom_descriptors $op:ident $s:ident) => { route!(reject custom_descriptors $op) };
    (@function_references $op:ident $s:ident) => { route!(translate $op $s) };
    (@exceptions $op:ident $s:ident) => { route!(translate $op $s) };
    (@legacy_exceptions $op:ident $s:ident) => { route!(reject legacy_exceptions $op) };
    (@stack_switching $op:ident $s:ident) => { route!(reject stack_switching $op) };
    (@wide_arithmetic $op:ident $s:ident) => { route!(translate $op $s) };
    (@memory_control $op:ident $s:ident) => { route!(reject memory_control $op) };
    (translate $op:ident $s:ident) => {{
        let translate = topic!($op);
        translate($s.state, $s.op)
    }};
    (reject $proposal:ident $op:ident) => {
        Err(unsupported(stringify!($op), stringify!($proposal)))
    };
}

/// One visit method per operator, each routed by its proposal.
macro_rules! define_visits {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Result<()> {
                // The fields are read from `self.op` by the translator.
                $($(let _ = $arg;)*)?
                route!(@$proposal $op self)
            }
        )*
    };
}

// The lifetime is named `'a` because wasmparser's operator list spells
// `BrTable<'a>`.
impl<'a> VisitOperator<'a> for Dispatch<'_, '_, '_, 'a> {
    type Output = Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_visits);
}

impl<'a> VisitSimdOperator<'a> for Dispatch<'_, '_, '_, 'a> {
    wasmparser::for_each_visit_simd_operator!(define_visits);
}

//! NaN canonicalisation (`Config::cranelift_nan_canonicalization`): with the
//! tunable on, every float operator that can *compute* a NaN yields the
//! canonical NaN of its type, so a program's bits do not depend on the CPU.
//!
//! WebAssembly lets an arithmetic operator return any "arithmetic" NaN
//! (quiet bit set, any sign and payload), and hardware differs: on x86-64,
//! `0/0` gives the negative quiet NaN and `NaN + 1` keeps the operand's
//! payload, while AArch64 in its default mode returns the positive canonical
//! NaN for `0/0`. The canonical NaNs are `0x7fc0_0000` (f32) and
//! `0x7ff8_0000_0000_0000` (f64), lane by lane for `f32x4`/`f64x2`; both
//! satisfy the spec's `nan:canonical` and `nan:arithmetic` results.
//!
//! Which operators are canonicalised (the callers in `numeric` and `simd`):
//! `add`, `sub`, `mul`, `div`, `sqrt`, `min`, `max`, `ceil`, `floor`,
//! `trunc`, `nearest` of f32, f64, f32x4 and f64x2; `f32.demote_f64`,
//! `f64.promote_f32`, `f32x4.demote_f64x2_zero`, `f64x2.promote_low_f32x4`;
//! relaxed SIMD's `relaxed_min`, `relaxed_max`, `relaxed_madd` and
//! `relaxed_nmadd`. The operators the spec defines on bits alone — `neg`,
//! `abs`, `copysign`, reinterpretations, loads, stores, constants, lane
//! moves, `pmin`/`pmax` (which return one operand unchanged) — pass NaNs
//! through untouched, as the spec requires.
//!
//! The check is branch-free: compare the result unordered with itself, then
//! pick the canonical NaN with a bit-select. A scalar is checked in lane 0 of
//! a vector register (both of Tern's targets have 128-bit vectors), because a
//! scalar `select` between floats lowers to a branch on x86-64. With the
//! tunable off, nothing here emits an instruction, so the code is unchanged.

use super::FuncState;
use cranelift_codegen::ir::{
    condcodes::FloatCC,
    types::{self, Type},
    ConstantData, Endianness, InstBuilder, MemFlagsData, Value,
};

/// The canonical f32 NaN: positive, quiet bit only.
const CANONICAL_NAN_F32: u32 = 0x7fc0_0000;
/// The canonical f64 NaN: positive, quiet bit only.
const CANONICAL_NAN_F64: u64 = 0x7ff8_0000_0000_0000;

impl FuncState<'_, '_> {
    /// `v`, the result of a NaN-producing float operator, with any NaN
    /// replaced by the canonical one when the tunable asks for it (see the
    /// module note); `v` itself otherwise.
    pub(crate) fn canon_nan(&mut self, v: Value) -> Value {
        if !self.compiler.settings().tunables.nan_canonicalization {
            return v;
        }
        let ty = self.builder.func.dfg.value_type(v);
        let (vector, lane_bytes) = match ty {
            types::F32 | types::F32X4 => (types::F32X4, CANONICAL_NAN_F32.to_le_bytes().to_vec()),
            types::F64 | types::F64X2 => (types::F64X2, CANONICAL_NAN_F64.to_le_bytes().to_vec()),
            // Every caller passes a float or float vector; anything else is
            // not a float result, so there is no NaN to replace.
            _ => return v,
        };
        let canon_bytes: Vec<u8> = lane_bytes.repeat(16 / lane_bytes.len());
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(canon_bytes));
        let canon = self.builder.ins().vconst(vector, c);
        let x = if ty.is_vector() {
            v
        } else {
            self.builder.ins().scalar_to_vector(vector, v)
        };
        let picked = self.select_canonical(vector, x, canon);
        if ty.is_vector() {
            picked
        } else {
            self.builder.ins().extractlane(picked, 0)
        }
    }

    /// Lane-wise `x` where `x` is ordered, `canon` where it is a NaN.
    fn select_canonical(&mut self, vector: Type, x: Value, canon: Value) -> Value {
        let is_nan = self.builder.ins().fcmp(FloatCC::Unordered, x, x);
        let flags = MemFlagsData::new().with_endianness(Endianness::Little);
        let mask = self.builder.ins().bitcast(vector, flags, is_nan);
        self.builder.ins().bitselect(mask, canon, x)
    }
}

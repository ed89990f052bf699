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
//! The check compares the result unordered with itself and picks the
//! canonical NaN where it holds. For a vector that is a branch-free
//! bit-select. For a scalar it is a Cranelift `select`, which x86-64 lowers
//! to a compare, a never-taken branch and a register move: the branch is
//! predicted, so the check stays off the result's dependency chain. The
//! branch-free alternative (the scalar checked in lane 0 of a vector
//! register with a blend) made float-bound code much slower: `run_nbody
//! 2000000` of `benches/workloads` took 1.3 s instead of 0.2 s unchecked,
//! and 0.53 s with `select` (`tern run -W nan-canonicalization --invoke`,
//! December 2026, three runs each). With the tunable off, nothing here
//! emits an instruction, so the code is unchanged.

use super::FuncState;
use cranelift_codegen::ir::{
    condcodes::FloatCC,
    immediates::{Ieee32, Ieee64},
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
        let canon = match ty {
            types::F32 => self
                .builder
                .ins()
                .f32const(Ieee32::with_bits(CANONICAL_NAN_F32)),
            types::F64 => self
                .builder
                .ins()
                .f64const(Ieee64::with_bits(CANONICAL_NAN_F64)),
            types::F32X4 => self.splat_constant(ty, &CANONICAL_NAN_F32.to_le_bytes()),
            types::F64X2 => self.splat_constant(ty, &CANONICAL_NAN_F64.to_le_bytes()),
            // Every caller passes a float or float vector; anything else is
            // not a float result, so there is no NaN to replace.
            _ => return v,
        };
        let is_nan = self.builder.ins().fcmp(FloatCC::Unordered, v, v);
        if ty.is_vector() {
            let flags = MemFlagsData::new().with_endianness(Endianness::Little);
            let mask = self.builder.ins().bitcast(ty, flags, is_nan);
            self.builder.ins().bitselect(mask, canon, v)
        } else {
            self.builder.ins().select(is_nan, canon, v)
        }
    }

    /// A constant vector of type `ty` with `lane` (little-endian bytes) in
    /// every lane.
    fn splat_constant(&mut self, ty: Type, lane: &[u8]) -> Value {
        let bytes = lane.repeat(16 / lane.len());
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(bytes));
        self.builder.ins().vconst(ty, c)
    }
}

//! 128-bit SIMD (and relaxed SIMD), lowered to Cranelift's vector instructions.
//!
//! A `v128` has no lane shape in wasm, but Cranelift vectors do. Values on the
//! operand stack keep whatever vector type produced them; each operator casts its
//! operands to the shape it needs (a free bitcast), and values that flow into
//! block parameters, locals, calls and returns are canonicalised to `i8x16`
//! (`FuncState::canonical`), so every join point agrees on one type.

use super::FuncState;
use anyhow::Result;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    types::{self, Type},
    ConstantData, Endianness, InstBuilder, MemFlagsData, Value,
};
use wasmparser::{MemArg, Operator};

use types::{F32X4, F64X2, I16, I16X8, I32, I32X4, I64, I64X2, I8, I8X16};

/// Flags for bitcasts between vector shapes: lane order is little-endian.
fn lanes_le() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl FuncState<'_, '_> {
    /// `v` as a vector of type `ty`.
    pub(crate) fn as_vector(&mut self, v: Value, ty: Type) -> Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder.ins().bitcast(ty, lanes_le(), v)
        }
    }

    /// `v`, with any vector type turned into the canonical `i8x16`.
    pub(crate) fn canonical(&mut self, v: Value) -> Value {
        let ty = self.builder.func.dfg.value_type(v);
        if ty.is_vector() && ty != I8X16 {
            self.builder.ins().bitcast(I8X16, lanes_le(), v)
        } else {
            v
        }
    }

    fn pop_vec(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.as_vector(v, ty)
    }

    fn vun(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop_vec(ty);
        let v = f(self, a);
        self.push(v);
    }

    fn vbin(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        let v = f(self, a, b);
        self.push(v);
    }

    /// A lane-wise float operator that can compute a NaN, of one operand:
    /// its result goes through `canon_nan` (see `nan_canon`).
    fn vfarith1(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        self.vun(ty, |s, a| {
            let r = f(s, a);
            s.canon_nan(r)
        });
    }

    /// As [`Self::vfarith1`], of two operands.
    fn vfarith2(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        self.vbin(ty, |s, a, b| {
            let r = f(s, a, b);
            s.canon_nan(r)
        });
    }

    fn vicmp(&mut self, ty: Type, cc: IntCC) {
        self.vbin(ty, |s, a, b| s.builder.ins().icmp(cc, a, b));
    }

    fn vfcmp(&mut self, ty: Type, cc: FloatCC) {
        self.vbin(ty, |s, a, b| s.builder.ins().fcmp(cc, a, b));
    }

    fn vshift(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let amount = self.pop();
        let v = self.pop_vec(ty);
        let r = f(self, v, amount);
        self.push(r);
    }

    /// Pushes an i32 from a boolean-like i8.
    fn push_bool(&mut self, b: Value) {
        let v = self.builder.ins().uextend(I32, b);
        self.push(v);
    }

    fn splat(&mut self, ty: Type) {
        let x = self.pop();
        let lane = ty.lane_type();
        let x = if lane == I8 || lane == I16 {
            self.builder.ins().ireduce(lane, x)
        } else {
            x
        };
        let v = self.builder.ins().splat(ty, x);
        self.push(v);
    }

    fn extract(&mut self, ty: Type, lane: u8, extend: Option<bool>) {
        let v = self.pop_vec(ty);
        let x = self.builder.ins().extractlane(v, lane);
        let x = match extend {
            Some(true) => self.builder.ins().sextend(I32, x),
            Some(false) => self.builder.ins().uextend(I32, x),
            None => x,
        };
        self.push(x);
    }

    fn replace(&mut self, ty: Type, lane: u8) {
        let x = self.pop();
        let v = self.pop_vec(ty);
        let l = ty.lane_type();
        let x = if l == I8 || l == I16 {
            self.builder.ins().ireduce(l, x)
        } else {
            x
        };
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push(r);
    }

    fn zeros(&mut self, ty: Type) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(vec![0u8; 16]));
        let z = self.builder.ins().vconst(I8X16, c);
        self.as_vector(z, ty)
    }

    fn vload(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut Self, MemFlagsData, Value, i32) -> Value,
    ) {
        let (addr, offset) = self.memory_address(memarg, size);
        let flags = self.heap_flags();
        let v = f(self, flags, addr, offset);
        self.push(v);
    }

    fn load_splat(&mut self, memarg: &MemArg, lane: Type, ty: Type) {
        self.vload(memarg, lane.bytes(), |s, f, a, o| {
            let x = s.builder.ins().load(lane, f, a, o);
            s.builder.ins().splat(ty, x)
        });
    }

    fn load_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) {
        let v = self.pop_vec(ty);
        let (addr, offset) = self.memory_address(memarg, ty.lane_type().bytes());
        let flags = self.heap_flags();
        let x = self.builder.ins().load(ty.lane_type(), flags, addr, offset);
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push(r);
    }

    fn store_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) {
        let v = self.pop_vec(ty);
        let (addr, offset) = self.memory_address(memarg, ty.lane_type().bytes());
        let x = self.builder.ins().extractlane(v, lane);
        let flags = self.heap_flags();
        self.builder.ins().store(flags, x, addr, offset);
    }

    /// Lane-wise `pmin(a, b) = b < a ? b : a` and `pmax(a, b) = a < b ? b : a`,
    /// as wasm defines them: both pick `b` where the comparison holds.
    fn pminmax(&mut self, ty: Type, max: bool) {
        self.vbin(ty, |s, a, b| {
            let (x, y) = if max { (a, b) } else { (b, a) };
            let mask = s.builder.ins().fcmp(FloatCC::LessThan, x, y);
            let mask = s.as_vector(mask, ty);
            s.builder.ins().bitselect(mask, b, a)
        });
    }

    fn widen_mul(&mut self, from: Type, high: bool, signed: bool) {
        self.vbin(from, |s, a, b| {
            let (a, b) = match (high, signed) {
                (false, true) => (s.builder.ins().swiden_low(a), s.builder.ins().swiden_low(b)),
                (true, true) => (
                    s.builder.ins().swiden_high(a),
                    s.builder.ins().swiden_high(b),
                ),
                (false, false) => (s.builder.ins().uwiden_low(a), s.builder.ins().uwiden_low(b)),
                (true, false) => (
                    s.builder.ins().uwiden_high(a),
                    s.builder.ins().uwiden_high(b),
                ),
            };
            s.builder.ins().imul(a, b)
        });
    }

    fn ext_add_pairwise(&mut self, from: Type, signed: bool) {
        self.vun(from, |s, a| {
            let (lo, hi) = if signed {
                (
                    s.builder.ins().swiden_low(a),
                    s.builder.ins().swiden_high(a),
                )
            } else {
                (
                    s.builder.ins().uwiden_low(a),
                    s.builder.ins().uwiden_high(a),
                )
            };
            s.builder.ins().iadd_pairwise(lo, hi)
        });
    }

    /// `i32x4.trunc_sat_f64x2_{s,u}_zero`, all in vector registers: clamp to the
    /// i32 (or u32) range (NaN stays NaN), truncate, then add 2^52 + 2^51 (or
    /// 2^52) so the integer appears in the low 32 bits of each lane's bit
    /// pattern; NaN lanes are masked to zero, and the two low halves are moved to
    /// lanes 0 and 1 with lanes 2 and 3 zeroed.
    fn trunc_sat_f64x2_zero(&mut self, signed: bool) {
        let a = self.pop_vec(F64X2);
        let (lo, hi, magic) = if signed {
            (-2147483648.0f64, 2147483647.0f64, 6755399441055744.0f64)
        } else {
            (0.0, 4294967295.0, 4503599627370496.0)
        };
        let [lo, hi, magic] = [lo, hi, magic].map(|c| {
            let c = self.builder.ins().f64const(c);
            self.builder.ins().splat(F64X2, c)
        });
        let clamped = self.builder.ins().fmax(a, lo);
        let clamped = self.builder.ins().fmin(clamped, hi);
        let whole = self.builder.ins().trunc(clamped);
        let shifted = self.builder.ins().fadd(whole, magic);
        let ordered = self.builder.ins().fcmp(FloatCC::Equal, a, a);
        let bits = self.as_vector(shifted, I64X2);
        let ordered = self.as_vector(ordered, I64X2);
        let bits = self.builder.ins().band(bits, ordered);
        let bits = self.as_vector(bits, I8X16);
        let zeros = self.zeros(I8X16);
        let mask: Vec<u8> = vec![0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 16, 17, 18, 19];
        let mask = self
            .builder
            .func
            .dfg
            .immediates
            .push(ConstantData::from(mask));
        let v = self.builder.ins().shuffle(bits, zeros, mask);
        self.push(v);
    }

    /// Signed 8-bit dot products summed in pairs into `i16x8` lanes.
    fn dot_i8x16(&mut self, a: Value, b: Value) -> Value {
        let lo = {
            let (x, y) = (
                self.builder.ins().swiden_low(a),
                self.builder.ins().swiden_low(b),
            );
            self.builder.ins().imul(x, y)
        };
        let hi = {
            let (x, y) = (
                self.builder.ins().swiden_high(a),
                self.builder.ins().swiden_high(b),
            );
            self.builder.ins().imul(x, y)
        };
        self.builder.ins().iadd_pairwise(lo, hi)
    }

    /// Translates SIMD operators; the operators `dispatch` routes here.
    pub(crate) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::V128Load { memarg } => self.vload(memarg, 16, |s, f, a, o| {
                s.builder.ins().load(I8X16, f, a, o)
            }),
            Operator::V128Load8x8S { memarg } => {
                self.vload(memarg, 8, |s, f, a, o| s.builder.ins().sload8x8(f, a, o))
            }
            Operator::V128Load8x8U { memarg } => {
                self.vload(memarg, 8, |s, f, a, o| s.builder.ins().uload8x8(f, a, o))
            }
            Operator::V128Load16x4S { memarg } => {
                self.vload(memarg, 8, |s, f, a, o| s.builder.ins().sload16x4(f, a, o))
            }
            Operator::V128Load16x4U { memarg } => {
                self.vload(memarg, 8, |s, f, a, o| s.builder.ins().uload16x4(f, a, o))
            }
            Operator::V128Load32x2S { memarg } => {
                self.vload(memarg, 8, |s, f, a, o| s.builder.ins().sload32x2(f, a, o))
            }
            Operator::V128Load32x2U { memarg } => {
                self.vload(memarg, 8, |s, f, a, o| s.builder.ins().uload32x2(f, a, o))
            }
            Operator::V128Load8Splat { memarg } => self.load_splat(memarg, I8, I8X16),
            Operator::V128Load16Splat { memarg } => self.load_splat(memarg, I16, I16X8),
            Operator::V128Load32Splat { memarg } => self.load_splat(memarg, I32, I32X4),
            Operator::V128Load64Splat { memarg } => self.load_splat(memarg, I64, I64X2),
            Operator::V128Load32Zero { memarg } => self.vload(memarg, 4, |s, f, a, o| {
                let x = s.builder.ins().load(I32, f, a, o);
                s.builder.ins().scalar_to_vector(I32X4, x)
            }),
            Operator::V128Load64Zero { memarg } => self.vload(memarg, 8, |s, f, a, o| {
                let x = s.builder.ins().load(I64, f, a, o);
                s.builder.ins().scalar_to_vector(I64X2, x)
            }),
            Operator::V128Store { memarg } => {
                let v = self.pop();
                let (addr, offset) = self.memory_address(memarg, 16);
                let flags = self.heap_flags();
                self.builder.ins().store(flags, v, addr, offset);
            }
            Operator::V128Load8Lane { memarg, lane } => self.load_lane(memarg, I8X16, *lane),
            Operator::V128Load16Lane { memarg, lane } => self.load_lane(memarg, I16X8, *lane),
            Operator::V128Load32Lane { memarg, lane } => self.load_lane(memarg, I32X4, *lane),
            Operator::V128Load64Lane { memarg, lane } => self.load_lane(memarg, I64X2, *lane),
            Operator::V128Store8Lane { memarg, lane } => self.store_lane(memarg, I8X16, *lane),
            Operator::V128Store16Lane { memarg, lane } => self.store_lane(memarg, I16X8, *lane),
            Operator::V128Store32Lane { memarg, lane } => self.store_lane(memarg, I32X4, *lane),
            Operator::V128Store64Lane { memarg, lane } => self.store_lane(memarg, I64X2, *lane),

            Operator::V128Const { value } => {
                let c = self
                    .builder
                    .func
                    .dfg
                    .constants
                    .insert(ConstantData::from(value.bytes().to_vec()));
                let v = self.builder.ins().vconst(I8X16, c);
                self.push(v);
            }
            Operator::I8x16Shuffle { lanes } => {
                let b = self.pop_vec(I8X16);
                let a = self.pop_vec(I8X16);
                let mask = self
                    .builder
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(lanes.to_vec()));
                let v = self.builder.ins().shuffle(a, b, mask);
                self.push(v);
            }
            Operator::I8x16Swizzle | Operator::I8x16RelaxedSwizzle => {
                self.vbin(I8X16, |s, a, b| s.builder.ins().swizzle(a, b))
            }
            Operator::I8x16Splat => self.splat(I8X16),
            Operator::I16x8Splat => self.splat(I16X8),
            Operator::I32x4Splat => self.splat(I32X4),
            Operator::I64x2Splat => self.splat(I64X2),
            Operator::F32x4Splat => self.splat(F32X4),
            Operator::F64x2Splat => self.splat(F64X2),
            Operator::I8x16ExtractLaneS { lane } => self.extract(I8X16, *lane, Some(true)),
            Operator::I8x16ExtractLaneU { lane } => self.extract(I8X16, *lane, Some(false)),
            Operator::I16x8ExtractLaneS { lane } => self.extract(I16X8, *lane, Some(true)),
            Operator::I16x8ExtractLaneU { lane } => self.extract(I16X8, *lane, Some(false)),
            Operator::I32x4ExtractLane { lane } => self.extract(I32X4, *lane, None),
            Operator::I64x2ExtractLane { lane } => self.extract(I64X2, *lane, None),
            Operator::F32x4ExtractLane { lane } => self.extract(F32X4, *lane, None),
            Operator::F64x2ExtractLane { lane } => self.extract(F64X2, *lane, None),
            Operator::I8x16ReplaceLane { lane } => self.replace(I8X16, *lane),
            Operator::I16x8ReplaceLane { lane } => self.replace(I16X8, *lane),
            Operator::I32x4ReplaceLane { lane } => self.replace(I32X4, *lane),
            Operator::I64x2ReplaceLane { lane } => self.replace(I64X2, *lane),
            Operator::F32x4ReplaceLane { lane } => self.replace(F32X4, *lane),
            Operator::F64x2ReplaceLane { lane } => self.replace(F64X2, *lane),

            Operator::I8x16Eq => self.vicmp(I8X16, IntCC::Equal),
            Operator::I8x16Ne => self.vicmp(I8X16, IntCC::NotEqual),
            Operator::I8x16LtS => self.vicmp(I8X16, IntCC::SignedLessThan),
            Operator::I8x16LtU => self.vicmp(I8X16, IntCC::UnsignedLessThan),
            Operator::I8x16GtS => self.vicmp(I8X16, IntCC::SignedGreaterThan),
            Operator::I8x16GtU => self.vicmp(I8X16, IntCC::UnsignedGreaterThan),
            Operator::I8x16LeS => self.vicmp(I8X16, IntCC::SignedLessThanOrEqual),
            Operator::I8x16LeU => self.vicmp(I8X16, IntCC::UnsignedLessThanOrEqual),
            Operator::I8x16GeS => self.vicmp(I8X16, IntCC::SignedGreaterThanOrEqual),
            Operator::I8x16GeU => self.vicmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I16x8Eq => self.vicmp(I16X8, IntCC::Equal),
            Operator::I16x8Ne => self.vicmp(I16X8, IntCC::NotEqual),
            Operator::I16x8LtS => self.vicmp(I16X8, IntCC::SignedLessThan),
            Operator::I16x8LtU => self.vicmp(I16X8, IntCC::UnsignedLessThan),
            Operator::I16x8GtS => self.vicmp(I16X8, IntCC::SignedGreaterThan),
            Operator::I16x8GtU => self.vicmp(I16X8, IntCC::UnsignedGreaterThan),
            Operator::I16x8LeS => self.vicmp(I16X8, IntCC::SignedLessThanOrEqual),
            Operator::I16x8LeU => self.vicmp(I16X8, IntCC::UnsignedLessThanOrEqual),
            Operator::I16x8GeS => self.vicmp(I16X8, IntCC::SignedGreaterThanOrEqual),
            Operator::I16x8GeU => self.vicmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I32x4Eq => self.vicmp(I32X4, IntCC::Equal),
            Operator::I32x4Ne => self.vicmp(I32X4, IntCC::NotEqual),
            Operator::I32x4LtS => self.vicmp(I32X4, IntCC::SignedLessThan),
            Operator::I32x4LtU => self.vicmp(I32X4, IntCC::UnsignedLessThan),
            Operator::I32x4GtS => self.vicmp(I32X4, IntCC::SignedGreaterThan),
            Operator::I32x4GtU => self.vicmp(I32X4, IntCC::UnsignedGreaterThan),
            Operator::I32x4LeS => self.vicmp(I32X4, IntCC::SignedLessThanOrEqual),
            Operator::I32x4LeU => self.vicmp(I32X4, IntCC::UnsignedLessThanOrEqual),
            Operator::I32x4GeS => self.vicmp(I32X4, IntCC::SignedGreaterThanOrEqual),
            Operator::I32x4GeU => self.vicmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I64x2Eq => self.vicmp(I64X2, IntCC::Equal),
            Operator::I64x2Ne => self.vicmp(I64X2, IntCC::NotEqual),
            Operator::I64x2LtS => self.vicmp(I64X2, IntCC::SignedLessThan),
            Operator::I64x2GtS => self.vicmp(I64X2, IntCC::SignedGreaterThan),
            Operator::I64x2LeS => self.vicmp(I64X2, IntCC::SignedLessThanOrEqual),
            Operator::I64x2GeS => self.vicmp(I64X2, IntCC::SignedGreaterThanOrEqual),
            Operator::F32x4Eq => self.vfcmp(F32X4, FloatCC::Equal),
            Operator::F32x4Ne => self.vfcmp(F32X4, FloatCC::NotEqual),
            Operator::F32x4Lt => self.vfcmp(F32X4, FloatCC::LessThan),
            Operator::F32x4Gt => self.vfcmp(F32X4, FloatCC::GreaterThan),
            Operator::F32x4Le => self.vfcmp(F32X4, FloatCC::LessThanOrEqual),
            Operator::F32x4Ge => self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual),
            Operator::F64x2Eq => self.vfcmp(F64X2, FloatCC::Equal),
            Operator::F64x2Ne => self.vfcmp(F64X2, FloatCC::NotEqual),
            Operator::F64x2Lt => self.vfcmp(F64X2, FloatCC::LessThan),
            Operator::F64x2Gt => self.vfcmp(F64X2, FloatCC::GreaterThan),
            Operator::F64x2Le => self.vfcmp(F64X2, FloatCC::LessThanOrEqual),
            Operator::F64x2Ge => self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual),

            Operator::V128Not => self.vun(I8X16, |s, a| s.builder.ins().bnot(a)),
            Operator::V128And => self.vbin(I8X16, |s, a, b| s.builder.ins().band(a, b)),
            Operator::V128AndNot => self.vbin(I8X16, |s, a, b| s.builder.ins().band_not(a, b)),
            Operator::V128Or => self.vbin(I8X16, |s, a, b| s.builder.ins().bor(a, b)),
            Operator::V128Xor => self.vbin(I8X16, |s, a, b| s.builder.ins().bxor(a, b)),
            Operator::V128Bitselect
            | Operator::I8x16RelaxedLaneselect
            | Operator::I16x8RelaxedLaneselect
            | Operator::I32x4RelaxedLaneselect
            | Operator::I64x2RelaxedLaneselect => {
                let c = self.pop_vec(I8X16);
                let b = self.pop_vec(I8X16);
                let a = self.pop_vec(I8X16);
                let v = self.builder.ins().bitselect(c, a, b);
                self.push(v);
            }
            Operator::V128AnyTrue => {
                let v = self.pop_vec(I8X16);
                let b = self.builder.ins().vany_true(v);
                self.push_bool(b);
            }

            Operator::I8x16AllTrue
            | Operator::I16x8AllTrue
            | Operator::I32x4AllTrue
            | Operator::I64x2AllTrue => {
                let ty = match op {
                    Operator::I8x16AllTrue => I8X16,
                    Operator::I16x8AllTrue => I16X8,
                    Operator::I32x4AllTrue => I32X4,
                    _ => I64X2,
                };
                let v = self.pop_vec(ty);
                let b = self.builder.ins().vall_true(v);
                self.push_bool(b);
            }
            Operator::I8x16Bitmask
            | Operator::I16x8Bitmask
            | Operator::I32x4Bitmask
            | Operator::I64x2Bitmask => {
                let ty = match op {
                    Operator::I8x16Bitmask => I8X16,
                    Operator::I16x8Bitmask => I16X8,
                    Operator::I32x4Bitmask => I32X4,
                    _ => I64X2,
                };
                let v = self.pop_vec(ty);
                let m = self.builder.ins().vhigh_bits(I32, v);
                self.push(m);
            }

            Operator::I8x16Abs => self.vun(I8X16, |s, a| s.builder.ins().iabs(a)),
            Operator::I16x8Abs => self.vun(I16X8, |s, a| s.builder.ins().iabs(a)),
            Operator::I32x4Abs => self.vun(I32X4, |s, a| s.builder.ins().iabs(a)),
            Operator::I64x2Abs => self.vun(I64X2, |s, a| s.builder.ins().iabs(a)),
            Operator::I8x16Neg => self.vun(I8X16, |s, a| s.builder.ins().ineg(a)),
            Operator::I16x8Neg => self.vun(I16X8, |s, a| s.builder.ins().ineg(a)),
            Operator::I32x4Neg => self.vun(I32X4, |s, a| s.builder.ins().ineg(a)),
            Operator::I64x2Neg => self.vun(I64X2, |s, a| s.builder.ins().ineg(a)),
            Operator::I8x16Popcnt => self.vun(I8X16, |s, a| s.builder.ins().popcnt(a)),
            Operator::I8x16NarrowI16x8S => {
                self.vbin(I16X8, |s, a, b| s.builder.ins().snarrow(a, b))
            }
            Operator::I8x16NarrowI16x8U => {
                self.vbin(I16X8, |s, a, b| s.builder.ins().unarrow(a, b))
            }
            Operator::I16x8NarrowI32x4S => {
                self.vbin(I32X4, |s, a, b| s.builder.ins().snarrow(a, b))
            }
            Operator::I16x8NarrowI32x4U => {
                self.vbin(I32X4, |s, a, b| s.builder.ins().unarrow(a, b))
            }

            Operator::I8x16Shl => self.vshift(I8X16, |s, v, n| s.builder.ins().ishl(v, n)),
            Operator::I8x16ShrS => self.vshift(I8X16, |s, v, n| s.builder.ins().sshr(v, n)),
            Operator::I8x16ShrU => self.vshift(I8X16, |s, v, n| s.builder.ins().ushr(v, n)),
            Operator::I16x8Shl => self.vshift(I16X8, |s, v, n| s.builder.ins().ishl(v, n)),
            Operator::I16x8ShrS => self.vshift(I16X8, |s, v, n| s.builder.ins().sshr(v, n)),
            Operator::I16x8ShrU => self.vshift(I16X8, |s, v, n| s.builder.ins().ushr(v, n)),
            Operator::I32x4Shl => self.vshift(I32X4, |s, v, n| s.builder.ins().ishl(v, n)),
            Operator::I32x4ShrS => self.vshift(I32X4, |s, v, n| s.builder.ins().sshr(v, n)),
            Operator::I32x4ShrU => self.vshift(I32X4, |s, v, n| s.builder.ins().ushr(v, n)),
            Operator::I64x2Shl => self.vshift(I64X2, |s, v, n| s.builder.ins().ishl(v, n)),
            Operator::I64x2ShrS => self.vshift(I64X2, |s, v, n| s.builder.ins().sshr(v, n)),
            Operator::I64x2ShrU => self.vshift(I64X2, |s, v, n| s.builder.ins().ushr(v, n)),

            Operator::I8x16Add => self.vbin(I8X16, |s, a, b| s.builder.ins().iadd(a, b)),
            Operator::I16x8Add => self.vbin(I16X8, |s, a, b| s.builder.ins().iadd(a, b)),
            Operator::I32x4Add => self.vbin(I32X4, |s, a, b| s.builder.ins().iadd(a, b)),
            Operator::I64x2Add => self.vbin(I64X2, |s, a, b| s.builder.ins().iadd(a, b)),
            Operator::I8x16Sub => self.vbin(I8X16, |s, a, b| s.builder.ins().isub(a, b)),
            Operator::I16x8Sub => self.vbin(I16X8, |s, a, b| s.builder.ins().isub(a, b)),
            Operator::I32x4Sub => self.vbin(I32X4, |s, a, b| s.builder.ins().isub(a, b)),
            Operator::I64x2Sub => self.vbin(I64X2, |s, a, b| s.builder.ins().isub(a, b)),
            Operator::I16x8Mul => self.vbin(I16X8, |s, a, b| s.builder.ins().imul(a, b)),
            Operator::I32x4Mul => self.vbin(I32X4, |s, a, b| s.builder.ins().imul(a, b)),
            Operator::I64x2Mul => self.vbin(I64X2, |s, a, b| s.builder.ins().imul(a, b)),
            Operator::I8x16AddSatS => self.vbin(I8X16, |s, a, b| s.builder.ins().sadd_sat(a, b)),
            Operator::I8x16AddSatU => self.vbin(I8X16, |s, a, b| s.builder.ins().uadd_sat(a, b)),
            Operator::I8x16SubSatS => self.vbin(I8X16, |s, a, b| s.builder.ins().ssub_sat(a, b)),
            Operator::I8x16SubSatU => self.vbin(I8X16, |s, a, b| s.builder.ins().usub_sat(a, b)),
            Operator::I16x8AddSatS => self.vbin(I16X8, |s, a, b| s.builder.ins().sadd_sat(a, b)),
            Operator::I16x8AddSatU => self.vbin(I16X8, |s, a, b| s.builder.ins().uadd_sat(a, b)),
            Operator::I16x8SubSatS => self.vbin(I16X8, |s, a, b| s.builder.ins().ssub_sat(a, b)),
            Operator::I16x8SubSatU => self.vbin(I16X8, |s, a, b| s.builder.ins().usub_sat(a, b)),
            Operator::I8x16MinS => self.vbin(I8X16, |s, a, b| s.builder.ins().smin(a, b)),
            Operator::I8x16MinU => self.vbin(I8X16, |s, a, b| s.builder.ins().umin(a, b)),
            Operator::I8x16MaxS => self.vbin(I8X16, |s, a, b| s.builder.ins().smax(a, b)),
            Operator::I8x16MaxU => self.vbin(I8X16, |s, a, b| s.builder.ins().umax(a, b)),
            Operator::I16x8MinS => self.vbin(I16X8, |s, a, b| s.builder.ins().smin(a, b)),
            Operator::I16x8MinU => self.vbin(I16X8, |s, a, b| s.builder.ins().umin(a, b)),
            Operator::I16x8MaxS => self.vbin(I16X8, |s, a, b| s.builder.ins().smax(a, b)),
            Operator::I16x8MaxU => self.vbin(I16X8, |s, a, b| s.builder.ins().umax(a, b)),
            Operator::I32x4MinS => self.vbin(I32X4, |s, a, b| s.builder.ins().smin(a, b)),
            Operator::I32x4MinU => self.vbin(I32X4, |s, a, b| s.builder.ins().umin(a, b)),
            Operator::I32x4MaxS => self.vbin(I32X4, |s, a, b| s.builder.ins().smax(a, b)),
            Operator::I32x4MaxU => self.vbin(I32X4, |s, a, b| s.builder.ins().umax(a, b)),
            Operator::I8x16AvgrU => self.vbin(I8X16, |s, a, b| s.builder.ins().avg_round(a, b)),
            Operator::I16x8AvgrU => self.vbin(I16X8, |s, a, b| s.builder.ins().avg_round(a, b)),
            Operator::I16x8Q15MulrSatS | Operator::I16x8RelaxedQ15mulrS => {
                self.vbin(I16X8, |s, a, b| s.builder.ins().sqmul_round_sat(a, b))
            }

            Operator::I16x8ExtAddPairwiseI8x16S => self.ext_add_pairwise(I8X16, true),
            Operator::I16x8ExtAddPairwiseI8x16U => self.ext_add_pairwise(I8X16, false),
            Operator::I32x4ExtAddPairwiseI16x8S => self.ext_add_pairwise(I16X8, true),
            Operator::I32x4ExtAddPairwiseI16x8U => self.ext_add_pairwise(I16X8, false),
            Operator::I16x8ExtendLowI8x16S => self.vun(I8X16, |s, a| s.builder.ins().swiden_low(a)),
            Operator::I16x8ExtendHighI8x16S => {
                self.vun(I8X16, |s, a| s.builder.ins().swiden_high(a))
            }
            Operator::I16x8ExtendLowI8x16U => self.vun(I8X16, |s, a| s.builder.ins().uwiden_low(a)),
            Operator::I16x8ExtendHighI8x16U => {
                self.vun(I8X16, |s, a| s.builder.ins().uwiden_high(a))
            }
            Operator::I32x4ExtendLowI16x8S => self.vun(I16X8, |s, a| s.builder.ins().swiden_low(a)),
            Operator::I32x4ExtendHighI16x8S => {
                self.vun(I16X8, |s, a| s.builder.ins().swiden_high(a))
            }
            Operator::I32x4ExtendLowI16x8U => self.vun(I16X8, |s, a| s.builder.ins().uwiden_low(a)),
            Operator::I32x4ExtendHighI16x8U => {
                self.vun(I16X8, |s, a| s.builder.ins().uwiden_high(a))
            }
            Operator::I64x2ExtendLowI32x4S => self.vun(I32X4, |s, a| s.builder.ins().swiden_low(a)),
            Operator::I64x2ExtendHighI32x4S => {
                self.vun(I32X4, |s, a| s.builder.ins().swiden_high(a))
            }
            Operator::I64x2ExtendLowI32x4U => self.vun(I32X4, |s, a| s.builder.ins().uwiden_low(a)),
            Operator::I64x2ExtendHighI32x4U => {
                self.vun(I32X4, |s, a| s.builder.ins().uwiden_high(a))
            }
            Operator::I16x8ExtMulLowI8x16S => self.widen_mul(I8X16, false, true),
            Operator::I16x8ExtMulHighI8x16S => self.widen_mul(I8X16, true, true),
            Operator::I16x8ExtMulLowI8x16U => self.widen_mul(I8X16, false, false),
            Operator::I16x8ExtMulHighI8x16U => self.widen_mul(I8X16, true, false),
            Operator::I32x4ExtMulLowI16x8S => self.widen_mul(I16X8, false, true),
            Operator::I32x4ExtMulHighI16x8S => self.widen_mul(I16X8, true, true),
            Operator::I32x4ExtMulLowI16x8U => self.widen_mul(I16X8, false, false),
            Operator::I32x4ExtMulHighI16x8U => self.widen_mul(I16X8, true, false),
            Operator::I64x2ExtMulLowI32x4S => self.widen_mul(I32X4, false, true),
            Operator::I64x2ExtMulHighI32x4S => self.widen_mul(I32X4, true, true),
            Operator::I64x2ExtMulLowI32x4U => self.widen_mul(I32X4, false, false),
            Operator::I64x2ExtMulHighI32x4U => self.widen_mul(I32X4, true, false),
            Operator::I32x4DotI16x8S => self.vbin(I16X8, |s, a, b| {
                let lo = {
                    let (x, y) = (s.builder.ins().swiden_low(a), s.builder.ins().swiden_low(b));
                    s.builder.ins().imul(x, y)
                };
                let hi = {
                    let (x, y) = (
                        s.builder.ins().swiden_high(a),
                        s.builder.ins().swiden_high(b),
                    );
                    s.builder.ins().imul(x, y)
                };
                s.builder.ins().iadd_pairwise(lo, hi)
            }),
            Operator::I16x8RelaxedDotI8x16I7x16S => self.vbin(I8X16, |s, a, b| s.dot_i8x16(a, b)),
            Operator::I32x4RelaxedDotI8x16I7x16AddS => {
                let c = self.pop_vec(I32X4);
                let b = self.pop_vec(I8X16);
                let a = self.pop_vec(I8X16);
                let d = self.dot_i8x16(a, b);
                let (lo, hi) = (
                    self.builder.ins().swiden_low(d),
                    self.builder.ins().swiden_high(d),
                );
                let sum = self.builder.ins().iadd_pairwise(lo, hi);
                let v = self.builder.ins().iadd(sum, c);
                self.push(v);
            }

            Operator::F32x4Ceil => self.vfarith1(F32X4, |s, a| s.builder.ins().ceil(a)),
            Operator::F32x4Floor => self.vfarith1(F32X4, |s, a| s.builder.ins().floor(a)),
            Operator::F32x4Trunc => self.vfarith1(F32X4, |s, a| s.builder.ins().trunc(a)),
            Operator::F32x4Nearest => self.vfarith1(F32X4, |s, a| s.builder.ins().nearest(a)),
            Operator::F32x4Abs => self.vun(F32X4, |s, a| s.builder.ins().fabs(a)),
            Operator::F32x4Neg => self.vun(F32X4, |s, a| s.builder.ins().fneg(a)),
            Operator::F32x4Sqrt => self.vfarith1(F32X4, |s, a| s.builder.ins().sqrt(a)),
            Operator::F32x4Add => self.vfarith2(F32X4, |s, a, b| s.builder.ins().fadd(a, b)),
            Operator::F32x4Sub => self.vfarith2(F32X4, |s, a, b| s.builder.ins().fsub(a, b)),
            Operator::F32x4Mul => self.vfarith2(F32X4, |s, a, b| s.builder.ins().fmul(a, b)),
            Operator::F32x4Div => self.vfarith2(F32X4, |s, a, b| s.builder.ins().fdiv(a, b)),
            Operator::F32x4Min | Operator::F32x4RelaxedMin => {
                self.vfarith2(F32X4, |s, a, b| s.builder.ins().fmin(a, b))
            }
            Operator::F32x4Max | Operator::F32x4RelaxedMax => {
                self.vfarith2(F32X4, |s, a, b| s.builder.ins().fmax(a, b))
            }
            Operator::F32x4PMin => self.pminmax(F32X4, false),
            Operator::F32x4PMax => self.pminmax(F32X4, true),
            Operator::F64x2Ceil => self.vfarith1(F64X2, |s, a| s.builder.ins().ceil(a)),
            Operator::F64x2Floor => self.vfarith1(F64X2, |s, a| s.builder.ins().floor(a)),
            Operator::F64x2Trunc => self.vfarith1(F64X2, |s, a| s.builder.ins().trunc(a)),
            Operator::F64x2Nearest => self.vfarith1(F64X2, |s, a| s.builder.ins().nearest(a)),
            Operator::F64x2Abs => self.vun(F64X2, |s, a| s.builder.ins().fabs(a)),
            Operator::F64x2Neg => self.vun(F64X2, |s, a| s.builder.ins().fneg(a)),
            Operator::F64x2Sqrt => self.vfarith1(F64X2, |s, a| s.builder.ins().sqrt(a)),
            Operator::F64x2Add => self.vfarith2(F64X2, |s, a, b| s.builder.ins().fadd(a, b)),
            Operator::F64x2Sub => self.vfarith2(F64X2, |s, a, b| s.builder.ins().fsub(a, b)),
            Operator::F64x2Mul => self.vfarith2(F64X2, |s, a, b| s.builder.ins().fmul(a, b)),
            Operator::F64x2Div => self.vfarith2(F64X2, |s, a, b| s.builder.ins().fdiv(a, b)),
            Operator::F64x2Min | Operator::F64x2RelaxedMin => {
                self.vfarith2(F64X2, |s, a, b| s.builder.ins().fmin(a, b))
            }
            Operator::F64x2Max | Operator::F64x2RelaxedMax => {
                self.vfarith2(F64X2, |s, a, b| s.builder.ins().fmax(a, b))
            }
            Operator::F64x2PMin => self.pminmax(F64X2, false),
            Operator::F64x2PMax => self.pminmax(F64X2, true),
            Operator::F32x4RelaxedMadd
            | Operator::F32x4RelaxedNmadd
            | Operator::F64x2RelaxedMadd
            | Operator::F64x2RelaxedNmadd => {
                let ty = if matches!(op, Operator::F32x4RelaxedMadd | Operator::F32x4RelaxedNmadd) {
                    F32X4
                } else {
                    F64X2
                };
                let c = self.pop_vec(ty);
                let b = self.pop_vec(ty);
                let a = self.pop_vec(ty);
                let a = if matches!(
                    op,
                    Operator::F32x4RelaxedNmadd | Operator::F64x2RelaxedNmadd
                ) {
                    self.builder.ins().fneg(a)
                } else {
                    a
                };
                // The deterministic profile rounds the product, then the
                // sum; otherwise one fused rounding, the same on every host.
                let v = if self.compiler.settings().tunables.relaxed_simd_deterministic {
                    let product = self.builder.ins().fmul(a, b);
                    self.builder.ins().fadd(product, c)
                } else {
                    self.builder.ins().fma(a, b, c)
                };
                let v = self.canon_nan(v);
                self.push(v);
            }

            Operator::I32x4TruncSatF32x4S | Operator::I32x4RelaxedTruncF32x4S => {
                self.vun(F32X4, |s, a| s.builder.ins().fcvt_to_sint_sat(I32X4, a))
            }
            Operator::I32x4TruncSatF32x4U | Operator::I32x4RelaxedTruncF32x4U => {
                self.vun(F32X4, |s, a| s.builder.ins().fcvt_to_uint_sat(I32X4, a))
            }
            Operator::F32x4ConvertI32x4S => {
                self.vun(I32X4, |s, a| s.builder.ins().fcvt_from_sint(F32X4, a))
            }
            Operator::F32x4ConvertI32x4U => {
                self.vun(I32X4, |s, a| s.builder.ins().fcvt_from_uint(F32X4, a))
            }
            Operator::I32x4TruncSatF64x2SZero | Operator::I32x4RelaxedTruncF64x2SZero => {
                self.trunc_sat_f64x2_zero(true)
            }
            Operator::I32x4TruncSatF64x2UZero | Operator::I32x4RelaxedTruncF64x2UZero => {
                self.trunc_sat_f64x2_zero(false)
            }
            Operator::F64x2ConvertLowI32x4S => self.vun(I32X4, |s, a| {
                let w = s.builder.ins().swiden_low(a);
                s.builder.ins().fcvt_from_sint(F64X2, w)
            }),
            Operator::F64x2ConvertLowI32x4U => self.vun(I32X4, |s, a| {
                let w = s.builder.ins().uwiden_low(a);
                s.builder.ins().fcvt_from_uint(F64X2, w)
            }),
            Operator::F32x4DemoteF64x2Zero => {
                self.vfarith1(F64X2, |s, a| s.builder.ins().fvdemote(a))
            }
            Operator::F64x2PromoteLowF32x4 => {
                self.vfarith1(F32X4, |s, a| s.builder.ins().fvpromote_low(a))
            }
            other => return Err(super::dispatch::misrouted(other, "simd")),
        }
        Ok(())
    }
}

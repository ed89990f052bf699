//! Operators that only touch the operand stack: constants, integer and float
//! arithmetic, comparisons and conversions, and wide arithmetic's 128-bit
//! operators (done on Cranelift `i128` values, split back into i64 halves).
//!
//! Cranelift's instructions already have WebAssembly's semantics where it matters:
//! shifts mask their amount, `sdiv`/`udiv`/`srem`/`urem` trap on zero (and `sdiv`
//! on overflow), `fmin`/`fmax` propagate NaN and order the zeros, and
//! `fcvt_to_{s,u}int` trap on NaN and overflow.

use super::FuncState;
use anyhow::Result;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    immediates::{Ieee32, Ieee64},
    types, InstBuilder, MemFlagsData, Value,
};
use wasmparser::Operator;

impl FuncState<'_, '_> {
    fn unop(&mut self, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop();
        let v = f(self, a);
        self.push(v);
    }

    fn binop(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let v = f(self, a, b);
        self.push(v);
    }

    /// A float operator that can compute a NaN, of one operand: its result
    /// goes through `canon_nan` (see `nan_canon`).
    fn farith1(&mut self, f: impl FnOnce(&mut Self, Value) -> Value) {
        self.unop(|s, a| {
            let r = f(s, a);
            s.canon_nan(r)
        });
    }

    /// As [`Self::farith1`], of two operands.
    fn farith2(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        self.binop(|s, a, b| {
            let r = f(s, a, b);
            s.canon_nan(r)
        });
    }

    fn icmp(&mut self, cc: IntCC) {
        self.binop(|s, a, b| {
            let c = s.builder.ins().icmp(cc, a, b);
            s.builder.ins().uextend(types::I32, c)
        });
    }

    fn fcmp(&mut self, cc: FloatCC) {
        self.binop(|s, a, b| {
            let c = s.builder.ins().fcmp(cc, a, b);
            s.builder.ins().uextend(types::I32, c)
        });
    }

    fn eqz(&mut self) {
        self.unop(|s, a| {
            let c = s.builder.ins().icmp_imm_u(IntCC::Equal, a, 0);
            s.builder.ins().uextend(types::I32, c)
        });
    }

    /// Sign-extends the low `from` bits of the top value in place (`i32.extend8_s` & co.).
    fn extend_s(&mut self, ty: types::Type, from: types::Type) {
        self.unop(|s, a| {
            let narrow = s.builder.ins().ireduce(from, a);
            s.builder.ins().sextend(ty, narrow)
        });
    }

    /// A 128-bit operation on two (low, high) pairs of i64 halves, pushing the
    /// result's halves (`i64.add128`, `i64.sub128`): wrap-around, no traps.
    fn op128(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let [a_lo, a_hi, b_lo, b_hi]: [Value; 4] =
            self.popn(4).try_into().expect("validated operand stack");
        let a = self.builder.ins().iconcat(a_lo, a_hi);
        let b = self.builder.ins().iconcat(b_lo, b_hi);
        let r = f(self, a, b);
        let (lo, hi) = self.builder.ins().isplit(r);
        self.push(lo);
        self.push(hi);
    }

    /// The full 128-bit product of two i64s as (low, high) halves
    /// (`i64.mul_wide_s`, `i64.mul_wide_u`); `high` picks the signedness.
    fn mul_wide(&mut self, high: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let lo = self.builder.ins().imul(a, b);
        let hi = high(self, a, b);
        self.push(lo);
        self.push(hi);
    }

    /// Translates the numeric operators `dispatch` routes here.
    pub(crate) fn translate_numeric(&mut self, op: &Operator<'_>) -> Result<()> {
        use types::{F32, F64, I16, I32, I64, I8};
        match op {
            Operator::I32Const { value } => {
                let v = self.builder.ins().iconst(I32, i64::from(*value));
                self.push(v);
            }
            Operator::I64Const { value } => {
                let v = self.builder.ins().iconst(I64, *value);
                self.push(v);
            }
            Operator::F32Const { value } => {
                let v = self.builder.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            Operator::F64Const { value } => {
                let v = self.builder.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            Operator::I32Eqz | Operator::I64Eqz => self.eqz(),
            Operator::I32Eq | Operator::I64Eq => self.icmp(IntCC::Equal),
            Operator::I32Ne | Operator::I64Ne => self.icmp(IntCC::NotEqual),
            Operator::I32LtS | Operator::I64LtS => self.icmp(IntCC::SignedLessThan),
            Operator::I32LtU | Operator::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            Operator::I32GtS | Operator::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            Operator::I32GtU | Operator::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            Operator::I32LeS | Operator::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            Operator::I32LeU | Operator::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            Operator::I32GeS | Operator::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            Operator::I32GeU | Operator::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            Operator::F32Eq | Operator::F64Eq => self.fcmp(FloatCC::Equal),
            Operator::F32Ne | Operator::F64Ne => self.fcmp(FloatCC::NotEqual),
            Operator::F32Lt | Operator::F64Lt => self.fcmp(FloatCC::LessThan),
            Operator::F32Gt | Operator::F64Gt => self.fcmp(FloatCC::GreaterThan),
            Operator::F32Le | Operator::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            Operator::F32Ge | Operator::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            Operator::I32Clz | Operator::I64Clz => self.unop(|s, a| s.builder.ins().clz(a)),
            Operator::I32Ctz | Operator::I64Ctz => self.unop(|s, a| s.builder.ins().ctz(a)),
            Operator::I32Popcnt | Operator::I64Popcnt => {
                self.unop(|s, a| s.builder.ins().popcnt(a))
            }
            Operator::I32Add | Operator::I64Add => self.binop(|s, a, b| s.builder.ins().iadd(a, b)),
            Operator::I32Sub | Operator::I64Sub => self.binop(|s, a, b| s.builder.ins().isub(a, b)),
            Operator::I32Mul | Operator::I64Mul => self.binop(|s, a, b| s.builder.ins().imul(a, b)),
            Operator::I32DivS | Operator::I64DivS => {
                self.binop(|s, a, b| s.builder.ins().sdiv(a, b))
            }
            Operator::I32DivU | Operator::I64DivU => {
                self.binop(|s, a, b| s.builder.ins().udiv(a, b))
            }
            Operator::I32RemS | Operator::I64RemS => {
                self.binop(|s, a, b| s.builder.ins().srem(a, b))
            }
            Operator::I32RemU | Operator::I64RemU => {
                self.binop(|s, a, b| s.builder.ins().urem(a, b))
            }
            Operator::I32And | Operator::I64And => self.binop(|s, a, b| s.builder.ins().band(a, b)),
            Operator::I32Or | Operator::I64Or => self.binop(|s, a, b| s.builder.ins().bor(a, b)),
            Operator::I32Xor | Operator::I64Xor => self.binop(|s, a, b| s.builder.ins().bxor(a, b)),
            Operator::I32Shl | Operator::I64Shl => self.binop(|s, a, b| s.builder.ins().ishl(a, b)),
            Operator::I32ShrS | Operator::I64ShrS => {
                self.binop(|s, a, b| s.builder.ins().sshr(a, b))
            }
            Operator::I32ShrU | Operator::I64ShrU => {
                self.binop(|s, a, b| s.builder.ins().ushr(a, b))
            }
            Operator::I32Rotl | Operator::I64Rotl => {
                self.binop(|s, a, b| s.builder.ins().rotl(a, b))
            }
            Operator::I32Rotr | Operator::I64Rotr => {
                self.binop(|s, a, b| s.builder.ins().rotr(a, b))
            }

            Operator::F32Abs | Operator::F64Abs => self.unop(|s, a| s.builder.ins().fabs(a)),
            Operator::F32Neg | Operator::F64Neg => self.unop(|s, a| s.builder.ins().fneg(a)),
            Operator::F32Ceil | Operator::F64Ceil => self.farith1(|s, a| s.builder.ins().ceil(a)),
            Operator::F32Floor | Operator::F64Floor => {
                self.farith1(|s, a| s.builder.ins().floor(a))
            }
            Operator::F32Trunc | Operator::F64Trunc => {
                self.farith1(|s, a| s.builder.ins().trunc(a))
            }
            Operator::F32Nearest | Operator::F64Nearest => {
                self.farith1(|s, a| s.builder.ins().nearest(a))
            }
            Operator::F32Sqrt | Operator::F64Sqrt => self.farith1(|s, a| s.builder.ins().sqrt(a)),
            Operator::F32Add | Operator::F64Add => {
                self.farith2(|s, a, b| s.builder.ins().fadd(a, b))
            }
            Operator::F32Sub | Operator::F64Sub => {
                self.farith2(|s, a, b| s.builder.ins().fsub(a, b))
            }
            Operator::F32Mul | Operator::F64Mul => {
                self.farith2(|s, a, b| s.builder.ins().fmul(a, b))
            }
            Operator::F32Div | Operator::F64Div => {
                self.farith2(|s, a, b| s.builder.ins().fdiv(a, b))
            }
            Operator::F32Min | Operator::F64Min => {
                self.farith2(|s, a, b| s.builder.ins().fmin(a, b))
            }
            Operator::F32Max | Operator::F64Max => {
                self.farith2(|s, a, b| s.builder.ins().fmax(a, b))
            }
            Operator::F32Copysign | Operator::F64Copysign => {
                self.binop(|s, a, b| s.builder.ins().fcopysign(a, b))
            }

            Operator::I32WrapI64 => self.unop(|s, a| s.builder.ins().ireduce(I32, a)),
            Operator::I64ExtendI32S => self.unop(|s, a| s.builder.ins().sextend(I64, a)),
            Operator::I64ExtendI32U => self.unop(|s, a| s.builder.ins().uextend(I64, a)),
            Operator::I32TruncF32S | Operator::I32TruncF64S => {
                self.unop(|s, a| s.builder.ins().fcvt_to_sint(I32, a))
            }
            Operator::I32TruncF32U | Operator::I32TruncF64U => {
                self.unop(|s, a| s.builder.ins().fcvt_to_uint(I32, a))
            }
            Operator::I64TruncF32S | Operator::I64TruncF64S => {
                self.unop(|s, a| s.builder.ins().fcvt_to_sint(I64, a))
            }
            Operator::I64TruncF32U | Operator::I64TruncF64U => {
                self.unop(|s, a| s.builder.ins().fcvt_to_uint(I64, a))
            }
            Operator::I32TruncSatF32S | Operator::I32TruncSatF64S => {
                self.unop(|s, a| s.builder.ins().fcvt_to_sint_sat(I32, a))
            }
            Operator::I32TruncSatF32U | Operator::I32TruncSatF64U => {
                self.unop(|s, a| s.builder.ins().fcvt_to_uint_sat(I32, a))
            }
            Operator::I64TruncSatF32S | Operator::I64TruncSatF64S => {
                self.unop(|s, a| s.builder.ins().fcvt_to_sint_sat(I64, a))
            }
            Operator::I64TruncSatF32U | Operator::I64TruncSatF64U => {
                self.unop(|s, a| s.builder.ins().fcvt_to_uint_sat(I64, a))
            }
            Operator::F32ConvertI32S | Operator::F32ConvertI64S => {
                self.unop(|s, a| s.builder.ins().fcvt_from_sint(F32, a))
            }
            Operator::F32ConvertI32U | Operator::F32ConvertI64U => {
                self.unop(|s, a| s.builder.ins().fcvt_from_uint(F32, a))
            }
            Operator::F64ConvertI32S | Operator::F64ConvertI64S => {
                self.unop(|s, a| s.builder.ins().fcvt_from_sint(F64, a))
            }
            Operator::F64ConvertI32U | Operator::F64ConvertI64U => {
                self.unop(|s, a| s.builder.ins().fcvt_from_uint(F64, a))
            }
            Operator::F32DemoteF64 => self.farith1(|s, a| s.builder.ins().fdemote(F32, a)),
            Operator::F64PromoteF32 => self.farith1(|s, a| s.builder.ins().fpromote(F64, a)),
            Operator::I32ReinterpretF32 => {
                self.unop(|s, a| s.builder.ins().bitcast(I32, MemFlagsData::new(), a))
            }
            Operator::I64ReinterpretF64 => {
                self.unop(|s, a| s.builder.ins().bitcast(I64, MemFlagsData::new(), a))
            }
            Operator::F32ReinterpretI32 => {
                self.unop(|s, a| s.builder.ins().bitcast(F32, MemFlagsData::new(), a))
            }
            Operator::F64ReinterpretI64 => {
                self.unop(|s, a| s.builder.ins().bitcast(F64, MemFlagsData::new(), a))
            }

            Operator::I32Extend8S => self.extend_s(I32, I8),
            Operator::I32Extend16S => self.extend_s(I32, I16),
            Operator::I64Extend8S => self.extend_s(I64, I8),
            Operator::I64Extend16S => self.extend_s(I64, I16),
            Operator::I64Extend32S => self.extend_s(I64, I32),

            Operator::I64Add128 => self.op128(|s, a, b| s.builder.ins().iadd(a, b)),
            Operator::I64Sub128 => self.op128(|s, a, b| s.builder.ins().isub(a, b)),
            Operator::I64MulWideS => self.mul_wide(|s, a, b| s.builder.ins().smulhi(a, b)),
            Operator::I64MulWideU => self.mul_wide(|s, a, b| s.builder.ins().umulhi(a, b)),

            other => return Err(super::dispatch::misrouted(other, "numeric")),
        }
        Ok(())
    }
}

//! Garbage collection operators, phase 1 (see `docs/design/gc.md`): `ref.i31`,
//! `i31.get_s`/`i31.get_u`, `ref.eq`, and `ref.test`/`ref.cast`/`br_on_cast`/
//! `br_on_cast_fail`. Every other GC operator needs heap objects, which do not
//! exist yet, and is refused with an error saying so.
//!
//! A reference is one `i64` word. In the `any` hierarchy, 0 is null and a word
//! with bit 0 set is an `i31` holding `(v << 1) | 1`; no other value exists in
//! phase 1 (no struct or array can be allocated). A cast to a struct or array
//! type is refused at compile time rather than answered for objects that
//! cannot exist, so phase 2 cannot silently inherit a wrong answer.
//! Function references are `*const VMFuncRef` whose engine type id is compared
//! with the target's; only when the target type is not `final` does a
//! mismatch ask the engine (libcall `is_subtype`) about declared supertypes.

use super::FuncState;
use anyhow::{bail, Result};
use cranelift_codegen::ir::{self, condcodes::IntCC, types, InstBuilder, Value};
use tern_environ::{
    Builtin, CompositeKind, TrapKind, WasmHeapType, WasmRefType, VMFUNCREF_TYPE_ID,
};
use wasmparser::Operator;

impl FuncState<'_, '_> {
    /// Translates the GC operators `dispatch` routes here.
    pub(crate) fn translate_gc(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::RefI31 => {
                let x = self.pop();
                let shifted = self.builder.ins().ishl_imm_u(x, 1);
                let tagged = self.builder.ins().bor_imm_u(shifted, 1);
                let word = self.builder.ins().uextend(types::I64, tagged);
                self.push(word);
            }
            Operator::I31GetS | Operator::I31GetU => {
                let r = self.pop();
                let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
                self.trap_if(is_null, TrapKind::NullI31Reference);
                let low = self.builder.ins().ireduce(types::I32, r);
                let v = if matches!(op, Operator::I31GetS) {
                    self.builder.ins().sshr_imm_u(low, 1)
                } else {
                    self.builder.ins().ushr_imm_u(low, 1)
                };
                self.push(v);
            }
            Operator::RefEq => {
                let (a, b) = self.pop2();
                let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
                let v = self.builder.ins().uextend(types::I32, eq);
                self.push(v);
            }
            Operator::RefTestNonNull { hty } | Operator::RefTestNullable { hty } => {
                let target = self.ref_type(*hty, matches!(op, Operator::RefTestNullable { .. }))?;
                let r = self.pop();
                let ok = self.cast_test(r, target)?;
                let v = self.builder.ins().uextend(types::I32, ok);
                self.push(v);
            }
            Operator::RefCastNonNull { hty } | Operator::RefCastNullable { hty } => {
                let target = self.ref_type(*hty, matches!(op, Operator::RefCastNullable { .. }))?;
                let r = *self.stack.last().expect("validated operand stack");
                let ok = self.cast_test(r, target)?;
                let failed = self.builder.ins().icmp_imm_u(IntCC::Equal, ok, 0);
                self.trap_if(failed, TrapKind::CastFailure);
            }
            Operator::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | Operator::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let target = self.ref_type(to_ref_type.heap_type(), to_ref_type.is_nullable())?;
                let r = self.pop();
                let ok = self.cast_test(r, target)?;
                let (dest, arity) = self.branch_target(*relative_depth);
                // The label's last value is the reference itself.
                let mut args = self.stack[self.stack.len() + 1 - arity..].to_vec();
                args.push(r);
                let args = self.block_args(&args);
                let cont = self.builder.create_block();
                if matches!(op, Operator::BrOnCast { .. }) {
                    self.builder.ins().brif(ok, dest, &args, cont, &[]);
                } else {
                    self.builder.ins().brif(ok, cont, &[], dest, &args);
                }
                self.builder.seal_block(cont);
                self.builder.switch_to_block(cont);
                self.push(r);
            }
            other => bail!(
                "GC operator {} is not implemented yet (GC phase 1 has no heap objects: see docs/design/gc.md)",
                operator_name(other)
            ),
        }
        Ok(())
    }

    /// The reference type `(ref null? hty)` of an operator's immediate, with
    /// concrete indices classified by the module's types.
    fn ref_type(&self, hty: wasmparser::HeapType, nullable: bool) -> Result<WasmRefType> {
        let kinds: Vec<CompositeKind> = self.module.types.iter().map(|t| t.kind()).collect();
        Ok(WasmRefType {
            nullable,
            heap: WasmHeapType::from_wasmparser_in(hty, &kinds)?,
        })
    }

    /// An `i8` that is 1 when reference `r` (validated to be in `target`'s
    /// hierarchy) is a value of `target`, else 0.
    fn cast_test(&mut self, r: Value, target: WasmRefType) -> Result<Value> {
        use WasmHeapType as H;
        // What a non-null reference answers, decided without blocks when it can be.
        enum NonNull {
            Const(bool),
            I31Bit,
            Func { type_index: u32, is_final: bool },
        }
        let non_null = match target.heap {
            H::Func | H::Extern | H::Exn | H::Any | H::Eq => NonNull::Const(true),
            H::NoFunc | H::NoExtern | H::NoExn | H::None => NonNull::Const(false),
            H::I31 => NonNull::I31Bit,
            H::ConcreteFunc(tern_environ::TypeIndex::Module(i)) => NonNull::Func {
                type_index: i,
                is_final: self.module.types[i as usize].is_final,
            },
            H::Struct | H::Array | H::ConcreteStruct(_) | H::ConcreteArray(_) => bail!(
                "casts to struct and array types are not implemented yet (GC phase 1 has no heap objects: see docs/design/gc.md)"
            ),
            H::ConcreteFunc(other) => bail!("internal error: unexpected type index {other:?} in a function body"),
        };
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
        let null_answer = self
            .builder
            .ins()
            .iconst(types::I8, i64::from(target.nullable));
        Ok(match non_null {
            NonNull::Const(b) => {
                let answer = self.builder.ins().iconst(types::I8, i64::from(b));
                self.builder.ins().select(is_null, null_answer, answer)
            }
            NonNull::I31Bit => {
                let bit = self.builder.ins().band_imm_u(r, 1);
                let is_i31 = self.builder.ins().icmp_imm_u(IntCC::NotEqual, bit, 0);
                self.builder.ins().select(is_null, null_answer, is_i31)
            }
            NonNull::Func {
                type_index,
                is_final,
            } => self.func_cast_test(r, is_null, null_answer, type_index, is_final),
        })
    }

    /// The `cast_test` of a function reference against concrete type `type_index`.
    fn func_cast_test(
        &mut self,
        r: Value,
        is_null: Value,
        null_answer: Value,
        type_index: u32,
        is_final: bool,
    ) -> Value {
        let done = self.builder.create_block();
        let answer = self.builder.append_block_param(done, types::I8);
        let non_null = self.builder.create_block();
        self.builder
            .ins()
            .brif(is_null, done, &[null_answer.into()], non_null, &[]);
        self.builder.seal_block(non_null);
        self.builder.switch_to_block(non_null);
        // The reference is non-null only here: these loads must not move.
        let fixed = ir::MemFlagsData::trusted().with_readonly();
        let actual = self
            .builder
            .ins()
            .load(types::I32, fixed, r, VMFUNCREF_TYPE_ID as i32);
        let vmctx = self.vmctx();
        let expected = self.builder.ins().load(
            types::I32,
            Self::readonly_flags(),
            vmctx,
            self.offsets.type_id(type_index) as i32,
        );
        let same = self.builder.ins().icmp(IntCC::Equal, actual, expected);
        if is_final {
            // A final type has no subtypes: the exact id is the whole answer.
            self.builder.ins().jump(done, &[same.into()]);
        } else {
            let slow = self.builder.create_block();
            self.builder
                .ins()
                .brif(same, done, &[same.into()], slow, &[]);
            self.builder.seal_block(slow);
            self.builder.switch_to_block(slow);
            let res = self.call_builtin(Builtin::IsSubtype, &[actual, expected]);
            let sub = self.builder.ins().icmp_imm_u(IntCC::NotEqual, res[0], 0);
            self.builder.ins().jump(done, &[sub.into()]);
        }
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        answer
    }
}

/// The name of a GC operator for error messages (`struct.new`, …).
fn operator_name(op: &Operator<'_>) -> String {
    let debug = format!("{op:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

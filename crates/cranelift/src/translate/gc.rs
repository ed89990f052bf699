//! Garbage collection operators that need no object layout (see
//! `docs/design/gc.md`): `ref.i31`, `i31.get_s`/`i31.get_u`, `ref.eq`,
//! `ref.test`/`ref.cast`/`br_on_cast`/`br_on_cast_fail`, and
//! `any.convert_extern`/`extern.convert_any`. The `struct.*`/`array.*`
//! operators are in `gc_objects`.
//!
//! A reference is one `i64` word. In the `any` hierarchy, 0 is null, a word
//! with bit 0 set is an `i31` holding `(v << 1) | 1`, and any other word is
//! the heap offset of an object whose header names its engine type id and
//! kind (struct, array, or an internalized `externref`). A cast to a concrete
//! struct or array type compares the header's type id with the target's; as
//! for function references (`*const VMFuncRef`, whose type id is compared the
//! same way), only when the target type is not `final` does a mismatch ask the
//! engine (libcall `is_subtype`) about declared supertypes.
//!
//! **Conversions**: a host `externref` word is a host pointer tagged with
//! bit 62, never bit 63 (the runtime's `store/externrefs.rs`; compiled code
//! never dereferences it). `extern.convert_any` of an i31
//! or struct/array object sets bit 63 of its word; `any.convert_extern` of
//! such a word clears it again, and of a host pointer allocates an *extern*
//! object holding it, which `extern.convert_any` unwraps. So both directions
//! round-trip, and an internalized host reference is neither `eq`, `i31`,
//! `struct` nor `array`.

use super::FuncState;
use anyhow::{bail, Result};
use cranelift_codegen::ir::{self, condcodes::IntCC, types, InstBuilder, Value};
use tern_environ::{
    Builtin, CompositeKind, GcKind, TrapKind, WasmHeapType, WasmRefType, GC_EXTERN_PAYLOAD,
    GC_EXTERN_SIZE, GC_EXTERN_TYPE_ID, GC_HEADER_KIND, GC_HEADER_TYPE_ID, VMFUNCREF_TYPE_ID,
};

/// The bit `extern.convert_any` sets on an `anyref` word (see the module note).
const EXTERNALIZED: i64 = i64::MIN;

/// What a cast to an object type checks in the header.
#[derive(Clone, Copy)]
enum ObjectCheck {
    /// `eq`: a struct or an array.
    Eq,
    /// `struct` or `array`: the kind.
    Kind(GcKind),
    /// A concrete type: the type id, then its declared supertypes.
    Type { type_index: u32, is_final: bool },
}
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
            Operator::AnyConvertExtern => {
                let e = self.pop();
                let v = self.any_convert_extern(e);
                self.push(v);
            }
            Operator::ExternConvertAny => {
                let a = self.pop();
                let v = self.extern_convert_any(a);
                self.push(v);
            }
            Operator::StructNew { .. }
            | Operator::StructNewDefault { .. }
            | Operator::StructGet { .. }
            | Operator::StructGetS { .. }
            | Operator::StructGetU { .. }
            | Operator::StructSet { .. }
            | Operator::ArrayNew { .. }
            | Operator::ArrayNewDefault { .. }
            | Operator::ArrayNewFixed { .. }
            | Operator::ArrayNewData { .. }
            | Operator::ArrayNewElem { .. }
            | Operator::ArrayGet { .. }
            | Operator::ArrayGetS { .. }
            | Operator::ArrayGetU { .. }
            | Operator::ArraySet { .. }
            | Operator::ArrayLen
            | Operator::ArrayFill { .. }
            | Operator::ArrayCopy { .. }
            | Operator::ArrayInitData { .. }
            | Operator::ArrayInitElem { .. } => self.translate_gc_object(op)?,
            other => bail!(
                "GC operator {} is not supported (see docs/design/gc.md)",
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
            Object { i31: bool, check: ObjectCheck },
        }
        let non_null = match target.heap {
            H::Func | H::Extern | H::Exn | H::Any => NonNull::Const(true),
            H::NoFunc | H::NoExtern | H::NoExn | H::None => NonNull::Const(false),
            H::I31 => NonNull::I31Bit,
            H::ConcreteFunc(tern_environ::TypeIndex::Module(i)) => NonNull::Func {
                type_index: i,
                is_final: self.module.types[i as usize].is_final,
            },
            H::Eq => NonNull::Object {
                i31: true,
                check: ObjectCheck::Eq,
            },
            H::Struct => NonNull::Object {
                i31: false,
                check: ObjectCheck::Kind(GcKind::Struct),
            },
            H::Array => NonNull::Object {
                i31: false,
                check: ObjectCheck::Kind(GcKind::Array),
            },
            H::ConcreteStruct(tern_environ::TypeIndex::Module(i))
            | H::ConcreteArray(tern_environ::TypeIndex::Module(i)) => NonNull::Object {
                i31: false,
                check: ObjectCheck::Type {
                    type_index: i,
                    is_final: self.module.types[i as usize].is_final,
                },
            },
            H::ConcreteFunc(other) | H::ConcreteStruct(other) | H::ConcreteArray(other) => {
                bail!("internal error: unexpected type index {other:?} in a function body")
            }
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
            NonNull::Object { i31, check } => {
                self.object_cast_test(r, is_null, null_answer, i31, check)
            }
        })
    }

    /// The `cast_test` of an `any` reference against an object type: null
    /// answers `null_answer`, an i31 answers `i31`, an object its header.
    fn object_cast_test(
        &mut self,
        r: Value,
        is_null: Value,
        null_answer: Value,
        i31: bool,
        check: ObjectCheck,
    ) -> Value {
        let done = self.builder.create_block();
        let answer = self.builder.append_block_param(done, types::I8);
        let non_null = self.builder.create_block();
        let object = self.builder.create_block();
        self.builder
            .ins()
            .brif(is_null, done, &[null_answer.into()], non_null, &[]);
        self.builder.seal_block(non_null);
        self.builder.switch_to_block(non_null);
        let bit = self.builder.ins().band_imm_u(r, 1);
        let i31_answer = self.builder.ins().iconst(types::I8, i64::from(i31));
        self.builder
            .ins()
            .brif(bit, done, &[i31_answer.into()], object, &[]);
        self.builder.seal_block(object);
        self.builder.switch_to_block(object);
        // Only objects get here: the header loads must not move above the tests.
        let fixed = ir::MemFlagsData::trusted();
        let addr = self.object_address(r);
        match check {
            ObjectCheck::Eq | ObjectCheck::Kind(_) => {
                let kind = self
                    .builder
                    .ins()
                    .load(types::I32, fixed, addr, GC_HEADER_KIND as i32);
                let kind = self.builder.ins().band_imm_u(kind, 0xff);
                let ok = match check {
                    ObjectCheck::Kind(k) => {
                        self.builder.ins().icmp_imm_u(IntCC::Equal, kind, k as i64)
                    }
                    _ => {
                        let s = self.builder.ins().icmp_imm_u(
                            IntCC::Equal,
                            kind,
                            GcKind::Struct as i64,
                        );
                        let a =
                            self.builder
                                .ins()
                                .icmp_imm_u(IntCC::Equal, kind, GcKind::Array as i64);
                        self.builder.ins().bor(s, a)
                    }
                };
                self.builder.ins().jump(done, &[ok.into()]);
            }
            ObjectCheck::Type {
                type_index,
                is_final,
            } => {
                let actual =
                    self.builder
                        .ins()
                        .load(types::I32, fixed, addr, GC_HEADER_TYPE_ID as i32);
                let expected = self.type_id_value(type_index);
                let same = self.builder.ins().icmp(IntCC::Equal, actual, expected);
                if is_final {
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
            }
        }
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        answer
    }

    /// `any.convert_extern` (see the module note).
    fn any_convert_extern(&mut self, e: Value) -> Value {
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, types::I64);
        let non_null = self.builder.create_block();
        let wrap = self.builder.create_block();
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, e, 0);
        self.builder
            .ins()
            .brif(is_null, done, &[e.into()], non_null, &[]);
        self.builder.seal_block(non_null);
        self.builder.switch_to_block(non_null);
        let external = self.builder.ins().band_imm_u(e, EXTERNALIZED);
        let inner = self.builder.ins().band_imm_u(e, i64::MAX);
        self.builder
            .ins()
            .brif(external, done, &[inner.into()], wrap, &[]);
        self.builder.seal_block(wrap);
        self.builder.switch_to_block(wrap);
        let type_id = self
            .builder
            .ins()
            .iconst(types::I32, i64::from(GC_EXTERN_TYPE_ID as i32));
        let size = self
            .builder
            .ins()
            .iconst(types::I64, i64::from(GC_EXTERN_SIZE));
        let obj = self.alloc_object(type_id, size, GcKind::Extern);
        let addr = self.object_address(obj);
        self.builder.ins().store(
            ir::MemFlagsData::trusted(),
            e,
            addr,
            GC_EXTERN_PAYLOAD as i32,
        );
        self.builder.ins().jump(done, &[obj.into()]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        result
    }

    /// `extern.convert_any` (see the module note).
    fn extern_convert_any(&mut self, a: Value) -> Value {
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, types::I64);
        let non_null = self.builder.create_block();
        let object = self.builder.create_block();
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, a, 0);
        self.builder
            .ins()
            .brif(is_null, done, &[a.into()], non_null, &[]);
        self.builder.seal_block(non_null);
        self.builder.switch_to_block(non_null);
        let marked = self.builder.ins().bor_imm_u(a, EXTERNALIZED);
        let bit = self.builder.ins().band_imm_u(a, 1);
        self.builder
            .ins()
            .brif(bit, done, &[marked.into()], object, &[]);
        self.builder.seal_block(object);
        self.builder.switch_to_block(object);
        let fixed = ir::MemFlagsData::trusted();
        let addr = self.object_address(a);
        let kind = self
            .builder
            .ins()
            .load(types::I32, fixed, addr, GC_HEADER_KIND as i32);
        let kind = self.builder.ins().band_imm_u(kind, 0xff);
        let is_extern = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, kind, GcKind::Extern as i64);
        // Only an extern object has a payload to read (a struct may end here).
        let unwrap = self.builder.create_block();
        self.builder
            .ins()
            .brif(is_extern, unwrap, &[], done, &[marked.into()]);
        self.builder.seal_block(unwrap);
        self.builder.switch_to_block(unwrap);
        let payload = self
            .builder
            .ins()
            .load(types::I64, fixed, addr, GC_EXTERN_PAYLOAD as i32);
        self.builder.ins().jump(done, &[payload.into()]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        result
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

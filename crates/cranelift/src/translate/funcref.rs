//! Typed function references: `call_ref`, `return_call_ref`,
//! `ref.as_non_null`, `br_on_null` and `br_on_non_null`.
//!
//! A reference is a pointer (`i64`, null is 0) in Tern's IR whatever its static
//! type, so these operators are null tests plus the branch or call they guard.
//! `call_ref` needs no signature check: validation proves the reference has the
//! type the immediate names, and a null reference traps with
//! `TrapKind::NullReference` before anything is loaded through it.

use super::FuncState;
use anyhow::Result;
use cranelift_codegen::ir::{condcodes::IntCC, InstBuilder};
use tern_environ::TrapKind;
use wasmparser::Operator;

impl FuncState<'_, '_> {
    /// Translates the typed-function-references operators `dispatch` routes here.
    pub(crate) fn translate_funcref(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::CallRef { type_index } => self.translate_call_ref(*type_index, false),
            Operator::ReturnCallRef { type_index } => {
                self.translate_call_ref(*type_index, true);
                self.reachable = false;
            }
            Operator::RefAsNonNull => {
                let r = *self.stack.last().expect("validated operand stack");
                let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
                self.trap_if(is_null, TrapKind::NullReference);
            }
            Operator::BrOnNull { relative_depth } => {
                let r = self.pop();
                let (dest, arity) = self.branch_target(*relative_depth);
                let args = self.stack[self.stack.len() - arity..].to_vec();
                let args = self.block_args(&args);
                let cont = self.builder.create_block();
                let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
                self.builder.ins().brif(is_null, dest, &args, cont, &[]);
                self.builder.seal_block(cont);
                self.builder.switch_to_block(cont);
                self.push(r);
            }
            Operator::BrOnNonNull { relative_depth } => {
                let r = self.pop();
                let (dest, arity) = self.branch_target(*relative_depth);
                // The label's last value is the reference itself.
                let mut args = self.stack[self.stack.len() + 1 - arity..].to_vec();
                args.push(r);
                let args = self.block_args(&args);
                let cont = self.builder.create_block();
                self.builder.ins().brif(r, dest, &args, cont, &[]);
                self.builder.seal_block(cont);
                self.builder.switch_to_block(cont);
            }
            other => return Err(super::dispatch::misrouted(other, "funcref")),
        }
        Ok(())
    }

    /// `call_ref $t` (or, with `tail`, `return_call_ref $t`).
    fn translate_call_ref(&mut self, type_index: u32, tail: bool) {
        let funcref = self.pop();
        let num_params = self.module.signature(type_index).params.len();
        let args = self.popn(num_params);
        let args = self.canonical_all(args);
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, funcref, 0);
        self.trap_if(is_null, TrapKind::NullReference);
        self.call_funcref(type_index, funcref, args, tail);
    }
}

//! Control flow and calls: blocks, loops, `if`, branches, `return`, `call`,
//! `call_indirect`, and the bookkeeping for unreachable code.

use super::exceptions::Callee;
use super::FuncState;
use crate::signature::{ir_type, ir_type_of, wasm_signature};
use anyhow::Result;
use cranelift_codegen::ir::{
    self, condcodes::IntCC, types, BlockArg, BlockCall, ExtFuncData, ExternalName, InstBuilder,
    JumpTableData, UserExternalName, Value,
};
use tern_environ::{Builtin, TrapKind, VMFUNCREF_TYPE_ID, VMFUNCREF_VMCTX, VMFUNCREF_WASM_CALL};
use wasmparser::{BlockType, Operator};

/// What kind of structure a control frame is.
pub(crate) enum FrameKind {
    /// The function body itself; its end returns.
    Function,
    /// `block`.
    Block,
    /// `loop`; branches go back to `header`.
    Loop { header: ir::Block },
    /// `if`; `else_block` receives the parameters when the condition is false.
    If {
        else_block: ir::Block,
        else_seen: bool,
    },
    /// `try_table`: its resolved `catch` clauses and, once something inside
    /// can throw (a call or a `throw`), its landing block (see `exceptions`).
    TryTable {
        catches: Vec<super::exceptions::CatchTarget>,
        landing: Option<ir::Block>,
    },
    /// A structure opened in unreachable code: no IR exists for it.
    Dead,
}

/// One enclosing control structure.
pub(crate) struct ControlFrame {
    pub(crate) kind: FrameKind,
    /// The block after the structure; its parameters are the structure's results.
    pub(crate) next: ir::Block,
    pub(crate) num_params: usize,
    pub(crate) num_results: usize,
    /// Operand stack height below the structure's parameters.
    pub(crate) stack_base: usize,
    /// Whether anything jumps (or falls through) to `next`.
    pub(crate) exit_reachable: bool,
}

impl FuncState<'_, '_> {
    /// Branch arguments for `values`, with vectors in their canonical shape.
    pub(crate) fn block_args(&mut self, values: &[Value]) -> Vec<BlockArg> {
        values
            .iter()
            .map(|v| BlockArg::Value(self.canonical(*v)))
            .collect()
    }

    /// `values` with vectors in their canonical shape (for calls and returns).
    pub(crate) fn canonical_all(&mut self, values: Vec<Value>) -> Vec<Value> {
        values.into_iter().map(|v| self.canonical(v)).collect()
    }

    pub(crate) fn push_function_frame(&mut self, results: &[tern_environ::WasmValType]) {
        let next = self.builder.create_block();
        for r in results {
            self.builder.append_block_param(next, ir_type(*r));
        }
        self.control.push(ControlFrame {
            kind: FrameKind::Function,
            next,
            num_params: 0,
            num_results: results.len(),
            stack_base: 0,
            exit_reachable: false,
        });
    }

    /// The parameter and result types of a block type.
    pub(crate) fn block_signature(&self, ty: BlockType) -> (Vec<ir::Type>, Vec<ir::Type>) {
        match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![ir_type_of(t)]),
            BlockType::FuncType(idx) => {
                let ft = self.module.signature(idx);
                (
                    ft.params.iter().map(|t| ir_type(*t)).collect(),
                    ft.results.iter().map(|t| ir_type(*t)).collect(),
                )
            }
        }
    }

    pub(crate) fn new_block_with(&mut self, tys: &[ir::Type]) -> ir::Block {
        let b = self.builder.create_block();
        for t in tys {
            self.builder.append_block_param(b, *t);
        }
        b
    }

    /// Handles the few operators that matter while the current code is unreachable.
    pub(crate) fn translate_unreachable(&mut self, op: &Operator<'_>) {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                let next = self.builder.create_block();
                let stack_base = self.stack.len();
                self.control.push(ControlFrame {
                    kind: FrameKind::Dead,
                    next,
                    num_params: 0,
                    num_results: 0,
                    stack_base,
                    exit_reachable: false,
                });
            }
            Operator::Else
                if !matches!(self.control.last().map(|f| &f.kind), Some(FrameKind::Dead)) =>
            {
                self.translate_else();
            }
            Operator::End => {
                if matches!(self.control.last().map(|f| &f.kind), Some(FrameKind::Dead)) {
                    self.control.pop();
                } else {
                    self.translate_end();
                }
            }
            _ => {}
        }
    }

    fn translate_else(&mut self) {
        let frame = self.control.last_mut().expect("validated if");
        let (else_block, num_results, next, base) = match &mut frame.kind {
            FrameKind::If {
                else_block,
                else_seen,
            } => {
                *else_seen = true;
                (*else_block, frame.num_results, frame.next, frame.stack_base)
            }
            _ => unreachable!("validated else"),
        };
        if self.reachable {
            let results = self.popn(num_results);
            let results_args = self.block_args(&results);
            self.builder.ins().jump(next, &results_args);
            self.control.last_mut().unwrap().exit_reachable = true;
        }
        self.stack.truncate(base);
        self.builder.switch_to_block(else_block);
        let params = self.builder.block_params(else_block).to_vec();
        self.push_all(params);
        // An `if` frame only exists when its start was reachable.
        self.reachable = true;
    }

    fn translate_end(&mut self) {
        let mut frame = self.control.pop().expect("validated end");
        if matches!(frame.kind, FrameKind::Function) && !frame.exit_reachable {
            // No branch targets the function's end: return right here rather
            // than through an exit block. Its parameters would be a second
            // copy of the results (Cranelift's constant-phi pass cannot
            // remove a parameter fed by another block's parameter), which
            // costs a register move on the path through an `if`'s results.
            if self.reachable {
                let results = self.popn(frame.num_results);
                let results = self.canonical_all(results);
                self.builder.ins().return_(&results);
            }
            self.stack.truncate(frame.stack_base);
            self.reachable = false;
            return;
        }
        if self.reachable {
            let results = self.popn(frame.num_results);
            let results_args = self.block_args(&results);
            self.builder.ins().jump(frame.next, &results_args);
            frame.exit_reachable = true;
        }
        if let FrameKind::If {
            else_block,
            else_seen: false,
        } = frame.kind
        {
            // No `else`: the false branch passes the parameters through.
            self.builder.switch_to_block(else_block);
            let params = self.builder.block_params(else_block).to_vec();
            let params_args = self.block_args(&params);
            self.builder.ins().jump(frame.next, &params_args);
            frame.exit_reachable = true;
        }
        if let FrameKind::Loop { header } = frame.kind {
            self.builder.seal_block(header);
        }
        if let FrameKind::TryTable {
            catches,
            landing: Some(landing),
        } = &frame.kind
        {
            self.finish_try_table(catches, *landing);
        }
        self.stack.truncate(frame.stack_base);
        self.builder.switch_to_block(frame.next);
        self.builder.seal_block(frame.next);
        let results = self.builder.block_params(frame.next).to_vec();
        self.reachable = frame.exit_reachable;
        if let FrameKind::Function = frame.kind {
            if self.reachable {
                let results = self.canonical_all(results);
                self.builder.ins().return_(&results);
            }
            self.reachable = false;
        } else {
            self.push_all(results);
        }
    }

    /// The branch target and argument count of the frame `depth` levels out.
    pub(crate) fn branch_target(&mut self, depth: u32) -> (ir::Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[i];
        match frame.kind {
            FrameKind::Loop { header } => (header, frame.num_params),
            _ => {
                frame.exit_reachable = true;
                (frame.next, frame.num_results)
            }
        }
    }

    /// Translates control-flow and call operators; the operators `dispatch` routes here.
    pub(crate) fn translate_control(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.trap(TrapKind::UnreachableCodeReached);
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                let (params, results) = self.block_signature(*blockty);
                let next = self.new_block_with(&results);
                let stack_base = self.stack.len() - params.len();
                self.control.push(ControlFrame {
                    kind: FrameKind::Block,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_base,
                    exit_reachable: false,
                });
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_signature(*blockty);
                let header = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                let args = self.popn(params.len());
                let args_args = self.block_args(&args);
                self.builder.ins().jump(header, &args_args);
                self.builder.switch_to_block(header);
                let stack_base = self.stack.len();
                let header_params = self.builder.block_params(header).to_vec();
                self.push_all(header_params);
                self.control.push(ControlFrame {
                    kind: FrameKind::Loop { header },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_base,
                    exit_reachable: false,
                });
            }
            Operator::If { blockty } => {
                let cond = self.pop();
                let (params, results) = self.block_signature(*blockty);
                let then_block = self.builder.create_block();
                let else_block = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                let args = self.stack[self.stack.len() - params.len()..].to_vec();
                let args_args = self.block_args(&args);
                self.builder
                    .ins()
                    .brif(cond, then_block, &[], else_block, &args_args);
                self.builder.seal_block(then_block);
                self.builder.seal_block(else_block);
                self.builder.switch_to_block(then_block);
                let stack_base = self.stack.len() - params.len();
                self.control.push(ControlFrame {
                    kind: FrameKind::If {
                        else_block,
                        else_seen: false,
                    },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_base,
                    exit_reachable: false,
                });
            }
            Operator::Else => self.translate_else(),
            Operator::End => self.translate_end(),
            Operator::Br { relative_depth } => {
                let (dest, arity) = self.branch_target(*relative_depth);
                let args = self.stack[self.stack.len() - arity..].to_vec();
                let args_args = self.block_args(&args);
                self.builder.ins().jump(dest, &args_args);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                let (dest, arity) = self.branch_target(*relative_depth);
                let args = self.stack[self.stack.len() - arity..].to_vec();
                let cont = self.builder.create_block();
                let args_args = self.block_args(&args);
                self.builder.ins().brif(cond, dest, &args_args, cont, &[]);
                self.builder.seal_block(cont);
                self.builder.switch_to_block(cont);
            }
            Operator::BrTable { targets } => {
                let index = self.pop();
                let mut calls = Vec::with_capacity(targets.len() as usize);
                let mut arity = 0;
                for depth in targets.targets() {
                    let (dest, n) = self.branch_target(depth?);
                    arity = n;
                    calls.push(dest);
                }
                let (default, n) = self.branch_target(targets.default());
                arity = arity.max(n);
                let top = self.stack[self.stack.len() - arity..].to_vec();
                let args = self.block_args(&top);
                let pool = &mut self.builder.func.dfg.value_lists;
                let default = BlockCall::new(default, args.iter().copied(), pool);
                let calls: Vec<BlockCall> = calls
                    .into_iter()
                    .map(|b| BlockCall::new(b, args.iter().copied(), pool))
                    .collect();
                let jt = self
                    .builder
                    .create_jump_table(JumpTableData::new(default, &calls));
                self.builder.ins().br_table(index, jt);
                self.reachable = false;
            }
            Operator::Return => {
                let n = self.control[0].num_results;
                let results = self.stack[self.stack.len() - n..].to_vec();
                let results = self.canonical_all(results);
                self.builder.ins().return_(&results);
                self.reachable = false;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let cond = self.pop();
                let (a, b) = self.pop2();
                let (a, b) = (self.canonical(a), self.canonical(b));
                let v = self.builder.ins().select(cond, a, b);
                self.push(v);
            }
            Operator::LocalGet { local_index } => {
                let v = self.builder.use_var(self.locals[*local_index as usize]);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                let v = self.canonical(v);
                self.builder.def_var(self.locals[*local_index as usize], v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated stack");
                let v = self.canonical(v);
                self.builder.def_var(self.locals[*local_index as usize], v);
            }
            Operator::Call { function_index } => self.translate_call(*function_index, false),
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(*type_index, *table_index, false),
            Operator::ReturnCall { function_index } => {
                self.translate_call(*function_index, true);
                self.reachable = false;
            }
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                self.translate_call_indirect(*type_index, *table_index, true);
                self.reachable = false;
            }
            other => return Err(super::dispatch::misrouted(other, "control")),
        }
        Ok(())
    }

    fn signature_for_type(&mut self, type_index: u32) -> ir::SigRef {
        if let Some(s) = self.signatures.get(&type_index) {
            return *s;
        }
        let sig = wasm_signature(
            self.compiler.wasm_call_conv(),
            self.module.signature(type_index),
        );
        let s = self.builder.import_signature(sig);
        self.signatures.insert(type_index, s);
        s
    }

    /// A direct call; with `tail`, a `return_call` that replaces this frame.
    fn translate_call(&mut self, func_index: u32, tail: bool) {
        let type_index = self.module.functions[func_index as usize];
        let num_params = self.module.signature(type_index).params.len();
        let args = self.popn(num_params);
        let args = self.canonical_all(args);
        let vmctx = self.vmctx();
        let results = if self.module.is_imported_func(func_index) {
            let sig = self.signature_for_type(type_index);
            let at = self.offsets.funcref(func_index) as i32;
            let flags = Self::readonly_flags();
            let code =
                self.builder
                    .ins()
                    .load(types::I64, flags, vmctx, at + VMFUNCREF_WASM_CALL as i32);
            let callee_vmctx =
                self.builder
                    .ins()
                    .load(types::I64, flags, vmctx, at + VMFUNCREF_VMCTX as i32);
            let mut all = vec![callee_vmctx, vmctx];
            all.extend(args);
            if tail {
                self.builder.ins().return_call_indirect(sig, code, &all);
                return;
            }
            self.emit_call(Callee::Indirect(sig, code), &all)
        } else {
            let fref = match self.direct_calls.get(&func_index) {
                Some(f) => *f,
                None => {
                    let sig = self.signature_for_type(type_index);
                    let name = self
                        .builder
                        .func
                        .declare_imported_user_function(UserExternalName {
                            namespace: 0,
                            index: func_index,
                        });
                    let f = self.builder.import_function(ExtFuncData {
                        name: ExternalName::user(name),
                        signature: sig,
                        colocated: true,
                        patchable: false,
                    });
                    self.direct_calls.insert(func_index, f);
                    f
                }
            };
            let mut all = vec![vmctx, vmctx];
            all.extend(args);
            if tail {
                self.builder.ins().return_call(fref, &all);
                return;
            }
            self.emit_call(Callee::Direct(fref), &all)
        };
        self.push_all(results);
    }

    /// An indirect call; with `tail`, a `return_call_indirect`.
    fn translate_call_indirect(&mut self, type_index: u32, table_index: u32, tail: bool) {
        let index = self.pop();
        let num_params = self.module.signature(type_index).params.len();
        let args = self.popn(num_params);
        let args = self.canonical_all(args);
        let vmctx = self.vmctx();
        let ro = Self::readonly_flags();
        let funcref = self.table_get(table_index, index);
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, funcref, 0);
        self.trap_if(is_null, TrapKind::IndirectCallToNull);
        // The funcref is known non-null only below the check: these loads must not move.
        let fixed = ir::MemFlagsData::trusted().with_readonly();
        let actual = self
            .builder
            .ins()
            .load(types::I32, fixed, funcref, VMFUNCREF_TYPE_ID as i32);
        let expected = self.builder.ins().load(
            types::I32,
            ro,
            vmctx,
            self.offsets.type_id(type_index) as i32,
        );
        if self.module.types[type_index as usize].is_final {
            // A final type has no subtypes (every type is final without GC).
            let mismatch = self.builder.ins().icmp(IntCC::NotEqual, actual, expected);
            self.trap_if(mismatch, TrapKind::BadSignature);
        } else {
            // GC: a subtype's function may be called; ask the engine on a mismatch.
            let same = self.builder.ins().icmp(IntCC::Equal, actual, expected);
            let slow = self.builder.create_block();
            let call = self.builder.create_block();
            self.builder.ins().brif(same, call, &[], slow, &[]);
            self.builder.seal_block(slow);
            self.builder.switch_to_block(slow);
            let sub = self.call_builtin(Builtin::IsSubtype, &[actual, expected]);
            let mismatch = self.builder.ins().icmp_imm_u(IntCC::Equal, sub[0], 0);
            self.trap_if(mismatch, TrapKind::BadSignature);
            self.builder.ins().jump(call, &[]);
            self.builder.seal_block(call);
            self.builder.switch_to_block(call);
        }
        self.call_funcref(type_index, funcref, args, tail);
    }

    /// Calls the non-null `funcref` (a `*const VMFuncRef` known to have
    /// signature `type_index`) with `args`; with `tail`, as a tail call.
    /// Shared by `call_indirect` and `call_ref`.
    pub(crate) fn call_funcref(
        &mut self,
        type_index: u32,
        funcref: Value,
        args: Vec<Value>,
        tail: bool,
    ) {
        let vmctx = self.vmctx();
        // The funcref is known non-null only below the caller's check: these loads must not move.
        let fixed = ir::MemFlagsData::trusted().with_readonly();
        let code = self
            .builder
            .ins()
            .load(types::I64, fixed, funcref, VMFUNCREF_WASM_CALL as i32);
        let callee_vmctx =
            self.builder
                .ins()
                .load(types::I64, fixed, funcref, VMFUNCREF_VMCTX as i32);
        let sig = self.signature_for_type(type_index);
        let mut all = vec![callee_vmctx, vmctx];
        all.extend(args);
        if tail {
            self.builder.ins().return_call_indirect(sig, code, &all);
            return;
        }
        let results = self.emit_call(Callee::Indirect(sig, code), &all);
        self.push_all(results);
    }
}

//! Exception handling: `throw`, `throw_ref`, `try_table`, and how calls
//! inside a `try_table` are compiled.
//!
//! # Exceptions are GC-heap objects
//! `throw` allocates an object of kind `GcKind::Exn` through the same inline
//! bump as `struct.new` (the `gc_alloc` libcall when the bump runs out; a
//! full heap traps with `GcHeapOutOfMemory`): the header (the tag's type id,
//! read from its `VMTagDefinition`), the tag's identity (the definition's
//! address) and the payload, laid out by `tern_environ::gc_exn_layout`. An
//! `exnref` is the object's heap offset. A catch reads the payload fields as
//! `struct.get` does.
//!
//! # Zero cost until something is thrown
//! A call outside every `try_table` of its function is a plain `call`: an
//! exception passing through its frame is the unwinder's business, and the
//! normal path pays nothing. A call inside a `try_table` is a Cranelift
//! `try_call` (`try_call_indirect`) whose exception table has one `Default`
//! entry: its handler (a small cold block) receives the exnref in the first
//! exception-payload register and jumps to the innermost `try_table`'s
//! *landing block*. The handlers of a function's `try_call`s are recorded
//! per return address (`tern_environ::ExceptionHandlers`) and stored with the
//! module; the runtime's unwinder (`tern::vm::unwind`) walks the frame-pointer
//! chain from the `throw` libcall, finds the first frame stopped at a call
//! with a handler, and resumes there (stack and frame pointers of that
//! frame, exnref in the payload register).
//!
//! A landing block (parameter: the exnref) reads the exception's tag
//! identity from the object and compares it with each `catch` clause's tag
//! (the `VMTagDefinition` address in this instance's vmctx, so an imported
//! tag matches by identity) in order; the first match reads the payload and
//! branches to the clause's label. When none matches, it jumps to the next
//! enclosing `try_table`'s landing block in the same function, and past the
//! outermost one calls the `throw` libcall, which unwinds further. Matching
//! in compiled code rather than in the unwinder keeps the unwinder free of
//! any knowledge of tags or vmctx layouts (it never reads an instance), at
//! the price of one more resume per frame whose `try_table` does not match.
//!
//! `throw` and `throw_ref` inside a `try_table` jump straight to its landing
//! block (no unwinding at all); outside every `try_table` they call the
//! `throw` libcall, which never returns.
//!
//! # Garbage collection
//! A `try_call` is a safe point like any call: Cranelift's frontend spills
//! the GC references live across it and records them in its stack map, and
//! reloads them on both successors (on the handler edge too), so a collection
//! inside the callee that moves objects is seen by the landing code. The
//! unwinder itself allocates nothing and never collects.

use super::control::{ControlFrame, FrameKind};
use super::FuncState;
use anyhow::Result;
use cranelift_codegen::ir::{
    self, condcodes::IntCC, types, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem,
    InstBuilder, Value,
};
use tern_environ::{
    gc_exn_layout, Builtin, GcKind, TrapKind, WasmStorageType, WasmValType, GC_EXN_TAG,
    VMTAG_TYPE_ID,
};
use wasmparser::{Catch, Operator};

/// One `catch` clause of a `try_table`, resolved when the `try_table` opens.
pub(crate) struct CatchTarget {
    /// The tag it catches, or `None` for `catch_all`/`catch_all_ref`.
    tag: Option<u32>,
    /// Whether the exnref is passed too (`catch_ref`, `catch_all_ref`).
    with_ref: bool,
    /// The label's block.
    dest: ir::Block,
}

/// What a call calls.
pub(crate) enum Callee {
    /// A function of this module, by reference.
    Direct(ir::FuncRef),
    /// Code at an address, with a signature.
    Indirect(ir::SigRef, Value),
}

impl FuncState<'_, '_> {
    /// The innermost `try_table`'s landing block (created on first use, with
    /// the exnref as its parameter), or `None` outside every `try_table`.
    fn landing(&mut self) -> Option<ir::Block> {
        let i = self
            .control
            .iter()
            .rposition(|f| matches!(f.kind, FrameKind::TryTable { .. }))?;
        if let FrameKind::TryTable {
            landing: Some(block),
            ..
        } = &self.control[i].kind
        {
            return Some(*block);
        }
        let fresh = self.builder.create_block();
        let exn = self.builder.append_block_param(fresh, types::I64);
        self.builder.declare_value_needs_stack_map(exn);
        self.builder.set_cold_block(fresh);
        if let FrameKind::TryTable { landing, .. } = &mut self.control[i].kind {
            *landing = Some(fresh);
        }
        Some(fresh)
    }

    /// Emits a wasm call (not a tail call) with `args` and returns its
    /// results: a plain call outside every `try_table`, a `try_call` whose
    /// handler leads to the innermost landing block inside one.
    pub(crate) fn emit_call(&mut self, callee: Callee, args: &[Value]) -> Vec<Value> {
        let Some(landing) = self.landing() else {
            let call = match callee {
                Callee::Direct(f) => self.builder.ins().call(f, args),
                Callee::Indirect(sig, code) => self.builder.ins().call_indirect(sig, code, args),
            };
            return self.builder.inst_results(call).to_vec();
        };
        let sig = match callee {
            Callee::Direct(f) => self.builder.func.dfg.ext_funcs[f].signature,
            Callee::Indirect(sig, _) => sig,
        };
        let returns: Vec<ir::Type> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let normal = self.builder.create_block();
        let mut ret_args = Vec::with_capacity(returns.len());
        for (i, ty) in returns.iter().enumerate() {
            self.builder.append_block_param(normal, *ty);
            ret_args.push(BlockArg::TryCallRet(i as u32));
        }
        let handler = self.builder.create_block();
        self.builder.append_block_param(handler, types::I64);
        self.builder.set_cold_block(handler);
        let pool = &mut self.builder.func.dfg.value_lists;
        let normal_call = BlockCall::new(normal, ret_args, pool);
        let handler_call = BlockCall::new(handler, [BlockArg::TryCallExn(0)], pool);
        let table = ExceptionTableData::new(
            sig,
            normal_call,
            [ExceptionTableItem::Default(handler_call)],
        );
        let table = self.builder.func.dfg.exception_tables.push(table);
        match callee {
            Callee::Direct(f) => self.builder.ins().try_call(f, args, table),
            Callee::Indirect(_, code) => self.builder.ins().try_call_indirect(code, args, table),
        };
        self.builder.seal_block(handler);
        self.builder.switch_to_block(handler);
        let exn = self.builder.block_params(handler)[0];
        self.builder.declare_value_needs_stack_map(exn);
        self.builder.ins().jump(landing, &[BlockArg::Value(exn)]);
        self.builder.seal_block(normal);
        self.builder.switch_to_block(normal);
        self.builder.block_params(normal).to_vec()
    }

    /// Sends exception `exn` of tag identity `tag` to the innermost landing
    /// block, or out of this function through the `throw` libcall; the rest
    /// of the block is unreachable.
    fn raise(&mut self, exn: Value, tag: Value) {
        match self.landing() {
            Some(landing) => {
                self.builder.ins().jump(landing, &[BlockArg::Value(exn)]);
            }
            None => self.throw_out(exn, tag),
        }
        self.reachable = false;
    }

    /// Calls the `throw` libcall, which never returns, and ends the block.
    fn throw_out(&mut self, exn: Value, tag: Value) {
        self.call_builtin(Builtin::Throw, &[exn, tag]);
        // Never reached: the libcall resumes at a handler or unwinds out of
        // wasm. Should it ever return, trapping is the safe outcome.
        self.trap(TrapKind::UnreachableCodeReached);
    }

    /// Translates `try_table`, `throw` and `throw_ref`.
    pub(crate) fn translate_exceptions(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::TryTable { try_table } => {
                let (params, results) = self.block_signature(try_table.ty);
                // Catch labels are relative to the context around the try_table.
                let mut catches = Vec::with_capacity(try_table.catches.len());
                for c in &try_table.catches {
                    let (tag, with_ref, label) = match *c {
                        Catch::One { tag, label } => (Some(tag), false, label),
                        Catch::OneRef { tag, label } => (Some(tag), true, label),
                        Catch::All { label } => (None, false, label),
                        Catch::AllRef { label } => (None, true, label),
                    };
                    let (dest, _) = self.branch_target(label);
                    catches.push(CatchTarget {
                        tag,
                        with_ref,
                        dest,
                    });
                }
                let next = self.new_block_with(&results);
                let stack_base = self.stack.len() - params.len();
                self.control.push(ControlFrame {
                    kind: FrameKind::TryTable {
                        catches,
                        landing: None,
                    },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_base,
                    exit_reachable: false,
                });
            }
            Operator::Throw { tag_index } => {
                let params = self.module.tag_type(*tag_index).params.to_vec();
                let args = self.popn(params.len());
                let layout = gc_exn_layout(&params);
                let vmctx = self.vmctx();
                let tag = self.builder.ins().load(
                    types::I64,
                    Self::readonly_flags(),
                    vmctx,
                    self.offsets.tag(*tag_index) as i32,
                );
                let type_id = self.builder.ins().load(
                    types::I32,
                    Self::readonly_flags(),
                    tag,
                    VMTAG_TYPE_ID as i32,
                );
                let size = self
                    .builder
                    .ins()
                    .iconst(types::I64, i64::from(layout.size));
                let exn = self.alloc_object(type_id, size, GcKind::Exn);
                let addr = self.object_address(exn);
                self.builder
                    .ins()
                    .store(Self::trusted_flags(), tag, addr, GC_EXN_TAG as i32);
                for ((a, t), offset) in args.into_iter().zip(params).zip(&layout.fields[1..]) {
                    let a = self.canonical(a);
                    self.store_at(WasmStorageType::Val(t), addr, *offset, a);
                }
                self.raise(exn, tag);
            }
            Operator::ThrowRef => {
                let exn = self.pop();
                let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, exn, 0);
                self.trap_if(is_null, TrapKind::NullReference);
                let addr = self.object_address(exn);
                let tag = self.builder.ins().load(
                    types::I64,
                    Self::trusted_flags(),
                    addr,
                    GC_EXN_TAG as i32,
                );
                self.raise(exn, tag);
            }
            other => return Err(super::dispatch::misrouted(other, "exceptions")),
        }
        Ok(())
    }

    /// Fills a `try_table`'s landing block (when anything can throw inside
    /// it); called when the `try_table` ends (it is no longer on the control
    /// stack), with the current block filled.
    pub(crate) fn finish_try_table(&mut self, catches: &[CatchTarget], landing: ir::Block) {
        self.builder.switch_to_block(landing);
        self.builder.seal_block(landing);
        let exn = self.builder.block_params(landing)[0];
        let exn_addr = self.object_address(exn);
        let thrown_tag = self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            exn_addr,
            GC_EXN_TAG as i32,
        );
        for c in catches {
            let matched = match c.tag {
                None => None,
                Some(tag) => {
                    let vmctx = self.vmctx();
                    let mine = self.builder.ins().load(
                        types::I64,
                        Self::readonly_flags(),
                        vmctx,
                        self.offsets.tag(tag) as i32,
                    );
                    let same = self.builder.ins().icmp(IntCC::Equal, mine, thrown_tag);
                    let matched = self.builder.create_block();
                    let next = self.builder.create_block();
                    self.builder.ins().brif(same, matched, &[], next, &[]);
                    self.builder.seal_block(matched);
                    self.builder.seal_block(next);
                    self.builder.switch_to_block(matched);
                    Some(next)
                }
            };
            let mut args: Vec<BlockArg> = Vec::new();
            if let Some(tag) = c.tag {
                let params: Vec<WasmValType> = self.module.tag_type(tag).params.to_vec();
                if !params.is_empty() {
                    let layout = gc_exn_layout(&params);
                    for (t, offset) in params.into_iter().zip(&layout.fields[1..]) {
                        let v = self.load_at(WasmStorageType::Val(t), exn_addr, *offset, false);
                        args.push(BlockArg::Value(v));
                    }
                }
            }
            if c.with_ref {
                args.push(BlockArg::Value(exn));
            }
            self.builder.ins().jump(c.dest, &args);
            match matched {
                Some(next) => self.builder.switch_to_block(next),
                // `catch_all` catches everything: later clauses are dead.
                None => return,
            }
        }
        // No clause matched: on to the enclosing handler.
        match self.landing() {
            Some(outer) => {
                self.builder.ins().jump(outer, &[BlockArg::Value(exn)]);
            }
            None => self.throw_out(exn, thrown_tag),
        }
    }
}

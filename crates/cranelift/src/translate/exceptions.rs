//! Exception handling: `throw`, `throw_ref`, `try_table` and the check after
//! every call that can let an exception leave its callee.
//!
//! # Exceptions are GC-heap objects
//! `throw` allocates an object of kind `GcKind::Exn` through the same inline
//! bump as `struct.new` (the `gc_alloc` libcall when the bump runs out; a
//! full heap traps with `GcHeapOutOfMemory`): the header (the tag's type id,
//! read from its `VMTagDefinition`), the tag's identity (the definition's
//! address) and the payload, laid out by `tern_environ::gc_exn_layout`. An
//! `exnref` is the object's heap offset. A catch reads the payload fields as
//! `struct.get` does. Nothing here calls into the runtime except to allocate.
//!
//! # The mechanism: a pending exception, checked after calls
//! An exception in flight is two words in the store's `VMRuntimeLimits`:
//! `pending_exn` (the exnref, 0 when nothing is thrown) and `pending_tag` (the
//! address of its tag's definition, the tag's identity). `throw` and
//! `throw_ref` set them and jump to the innermost *landing block*; every call
//! that can return (not `return_call*`) to a callee that may throw (see
//! `crate::may_throw`: a direct call to a function that provably cannot
//! throw needs no check) is followed by a load of `pending_exn` and a branch
//! to that landing block when it is set.
//! A `try_table`'s landing block compares `pending_tag` with each of its
//! `catch` clauses' tags in order; the first match clears `pending_exn`, reads
//! the payload and branches to the clause's label; when none
//! matches it goes on to the next enclosing `try_table`'s landing block, and
//! past the outermost one to the function's *propagation block*, which
//! returns zeros of the result types with the exception still pending, so the
//! caller's own check takes over. A host function that throws (an error that
//! is `ThrownException`) sets the same words and returns normally; the host
//! entry finds them set when wasm returns and reports `ThrownException`.
//!
//! Why not Cranelift's `try_call` with exception tables, which costs nothing
//! on the normal path? It needs a stack unwinder that walks wasm frames, finds
//! the handler for each return address and resumes there with the stack and
//! frame pointers restored (per-architecture assembly), plus the same walk
//! through host frames, which Tern crosses only by returning or by `longjmp`.
//! The explicit check is two loads and a predictable branch per call that
//! may throw, needs no platform code, and composes with the existing
//! `setjmp`/`longjmp` trap handling unchanged: a trap never meets a pending
//! exception, because nothing but returns and landing blocks runs while one
//! is pending (so no collection can run either). `try_call` can replace it
//! later without changing the runtime's view (the two words and the object
//! layout).

use super::control::{ControlFrame, FrameKind};
use super::FuncState;
use crate::signature::ir_type;
use anyhow::Result;
use cranelift_codegen::ir::{self, condcodes::IntCC, types, BlockArg, InstBuilder, Value};
use tern_environ::{
    gc_exn_layout, GcKind, TrapKind, WasmStorageType, WasmValType, GC_EXN_TAG,
    VMLIMITS_PENDING_EXN, VMLIMITS_PENDING_TAG, VMTAG_TYPE_ID,
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

impl FuncState<'_, '_> {
    /// The block an exception thrown here goes to: the innermost `try_table`'s
    /// landing block, or the function's propagation block (created on demand).
    fn landing(&mut self) -> ir::Block {
        let outer = self
            .control
            .iter()
            .rposition(|f| matches!(f.kind, FrameKind::TryTable { .. }));
        let existing = match outer {
            Some(i) => match &self.control[i].kind {
                FrameKind::TryTable { landing, .. } => *landing,
                _ => unreachable!("found above"),
            },
            None => self.propagate,
        };
        if let Some(block) = existing {
            return block;
        }
        let fresh = self.builder.create_block();
        match outer {
            Some(i) => {
                if let FrameKind::TryTable { landing, .. } = &mut self.control[i].kind {
                    *landing = Some(fresh);
                }
            }
            None => self.propagate = Some(fresh),
        }
        fresh
    }

    /// After a call that returned: branch to the landing block if the callee
    /// left an exception pending.
    pub(crate) fn check_pending_exception(&mut self) {
        if !self.compiler.settings().tunables.exceptions {
            return;
        }
        let limits = self.limits_ptr();
        let pending = self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            limits,
            VMLIMITS_PENDING_EXN as i32,
        );
        let landing = self.landing();
        let cont = self.builder.create_block();
        self.builder.ins().brif(pending, landing, &[], cont, &[]);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
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

    /// Puts exception `exn` of tag identity `tag` in flight and jumps to the
    /// landing block; the rest of the block is unreachable.
    fn raise(&mut self, exn: Value, tag: Value) {
        let limits = self.limits_ptr();
        let flags = Self::trusted_flags();
        self.builder
            .ins()
            .store(flags, exn, limits, VMLIMITS_PENDING_EXN as i32);
        self.builder
            .ins()
            .store(flags, tag, limits, VMLIMITS_PENDING_TAG as i32);
        let landing = self.landing();
        self.builder.ins().jump(landing, &[]);
        self.reachable = false;
    }

    /// Fills a `try_table`'s landing block (when anything can throw inside it);
    /// called when the `try_table` ends, with the current block filled.
    pub(crate) fn finish_try_table(&mut self, catches: &[CatchTarget], landing: ir::Block) {
        self.builder.switch_to_block(landing);
        self.builder.seal_block(landing);
        let limits = self.limits_ptr();
        let exn = self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            limits,
            VMLIMITS_PENDING_EXN as i32,
        );
        let thrown_tag = self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            limits,
            VMLIMITS_PENDING_TAG as i32,
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
            let zero = self.builder.ins().iconst(types::I64, 0);
            self.builder.ins().store(
                Self::trusted_flags(),
                zero,
                limits,
                VMLIMITS_PENDING_EXN as i32,
            );
            let mut args: Vec<BlockArg> = Vec::new();
            if let Some(tag) = c.tag {
                let params: Vec<WasmValType> = self.module.tag_type(tag).params.to_vec();
                if !params.is_empty() {
                    let layout = gc_exn_layout(&params);
                    let addr = self.object_address(exn);
                    for (t, offset) in params.into_iter().zip(&layout.fields[1..]) {
                        let v = self.load_at(WasmStorageType::Val(t), addr, *offset, false);
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
        let outer = self.landing();
        self.builder.ins().jump(outer, &[]);
    }

    /// Fills the propagation block, if anything used it: return zeros with the
    /// exception left pending for the caller.
    pub(crate) fn finish_propagation(&mut self, results: &[WasmValType]) {
        if let Some(block) = self.propagate.take() {
            self.builder.switch_to_block(block);
            self.builder.seal_block(block);
            let zeros: Vec<Value> = results
                .iter()
                .map(|t| super::zero_value(&mut self.builder, ir_type(*t)))
                .collect();
            self.builder.ins().return_(&zeros);
        }
    }
}

//! Exception handling: `throw`, `throw_ref`, `try_table` and the check after
//! every call that lets an exception leave a callee.
//!
//! # The mechanism: a pending exception, checked after every call
//! An exception in flight is two words in the store's `VMRuntimeLimits`:
//! `pending_exn` (the exnref, 0 when nothing is thrown) and `pending_tag` (the
//! address of its tag's definition, the tag's identity). `throw` and
//! `throw_ref` set them through a libcall and jump to the innermost *landing
//! block*; every call that can return (not `return_call*`) is followed by a
//! load of `pending_exn` and a branch to that landing block when it is set.
//! A `try_table`'s landing block compares `pending_tag` with each of its
//! `catch` clauses' tags in order; the first match clears `pending_exn`, reads
//! the payload (a libcall) and branches to the clause's label; when none
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
//! The explicit check is two loads and a predictable branch per call, needs
//! no platform code, and composes with the existing `setjmp`/`longjmp` trap
//! handling unchanged: a trap never meets a pending exception, because nothing
//! but returns and landing blocks runs while one is pending. It is the
//! simpler, obviously correct first step; `try_call` can replace it later
//! without changing the runtime's view (the two words and the libcalls).

use super::control::{ControlFrame, FrameKind};
use super::FuncState;
use crate::signature::ir_type;
use crate::trap_codes::trap_code;
use anyhow::Result;
use cranelift_codegen::ir::{
    self, condcodes::IntCC, types, BlockArg, InstBuilder, StackSlotData, StackSlotKind, Value,
};
use tern_environ::{
    Builtin, TrapKind, WasmValType, VALRAW_SIZE, VMLIMITS_PENDING_EXN, VMLIMITS_PENDING_TAG,
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
    fn limits(&mut self) -> Value {
        let vmctx = self.vmctx();
        self.builder.ins().load(
            types::I64,
            Self::readonly_flags(),
            vmctx,
            self.offsets.runtime_limits() as i32,
        )
    }

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
        let limits = self.limits();
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

    /// A stack slot of `n` `ValRaw`s and its address.
    fn valraw_slot(&mut self, n: usize) -> Value {
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n.max(1) as u32) * VALRAW_SIZE,
            4,
        ));
        self.builder.ins().stack_addr(types::I64, slot, 0)
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
                let ty = self.module.tag_type(*tag_index).clone();
                let args = self.popn(ty.params.len());
                let slot = self.valraw_slot(args.len());
                for (i, a) in args.into_iter().enumerate() {
                    let a = self.canonical(a);
                    self.builder.ins().store(
                        Self::trusted_flags(),
                        a,
                        slot,
                        (i as u32 * VALRAW_SIZE) as i32,
                    );
                }
                let tag = self.builder.ins().iconst(types::I32, i64::from(*tag_index));
                self.call_builtin(Builtin::ThrowNew, &[tag, slot]);
                let landing = self.landing();
                self.builder.ins().jump(landing, &[]);
                self.reachable = false;
            }
            Operator::ThrowRef => {
                let exn = self.pop();
                let status = self.call_builtin(Builtin::ThrowRef, &[exn])[0];
                self.builder
                    .ins()
                    .trapnz(status, trap_code(TrapKind::NullReference));
                let landing = self.landing();
                self.builder.ins().jump(landing, &[]);
                self.reachable = false;
            }
            other => return Err(super::dispatch::misrouted(other, "exceptions")),
        }
        Ok(())
    }

    /// Fills a `try_table`'s landing block (when anything can throw inside it);
    /// called when the `try_table` ends, with the current block filled.
    pub(crate) fn finish_try_table(&mut self, catches: &[CatchTarget], landing: ir::Block) {
        self.builder.switch_to_block(landing);
        self.builder.seal_block(landing);
        let limits = self.limits();
        let exn = self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            limits,
            VMLIMITS_PENDING_EXN as i32,
        );
        // The exnref stays live across the payload libcall (`catch_ref`).
        self.needs_stack_map(exn);
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
                    let slot = self.valraw_slot(params.len());
                    self.call_builtin(Builtin::ExnPayload, &[exn, slot]);
                    for (i, t) in params.iter().enumerate() {
                        let v = self.builder.ins().load(
                            ir_type(*t),
                            Self::trusted_flags(),
                            slot,
                            (i as u32 * VALRAW_SIZE) as i32,
                        );
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

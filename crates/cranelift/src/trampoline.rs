//! Trampolines between the host and wasm, one per function signature.
//!
//! * Array-to-wasm: `extern "C" fn(callee_vmctx, caller_vmctx, values, func)`.
//!   The host stores the arguments as 16-byte `ValRaw` slots; the trampoline loads
//!   them, calls `func` with the wasm calling convention and writes the results
//!   back into the same slots.
//! * Wasm-to-host: has the wasm signature, so it can sit in any `VMFuncRef`. It
//!   spills the arguments into a stack array, records its frame pointer in the
//!   store's runtime limits (where a backtrace starts), and calls the host entry
//!   found at the start of the callee context: `extern "C" fn(ctx, caller_vmctx,
//!   values, len)`; then it loads the results from the array.

use crate::compiler::{CompiledFunction, Compiler};
use crate::signature::{array_entry_signature, host_entry_signature, ir_type, wasm_signature};
use anyhow::Result;
use cranelift_codegen::ir::{
    types, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, UserFuncName,
};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use tern_environ::{
    WasmFuncType, HOSTCTX_ENTRY, VALRAW_SIZE, VMCTX_RUNTIME_LIMITS, VMLIMITS_LAST_EXIT_FP,
};

/// Which direction a trampoline crosses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrampolineKind {
    /// Host calls wasm through an array of values.
    ArrayToWasm,
    /// Wasm calls a host function.
    WasmToHost,
}

impl Compiler {
    /// Compiles a trampoline of `kind` for signature `ty`. The code has no relocations.
    ///
    /// # Errors
    /// Fails only if Cranelift rejects the generated code.
    pub fn compile_trampoline(
        &self,
        kind: TrampolineKind,
        ty: &WasmFuncType,
    ) -> Result<CompiledFunction> {
        let mut ctx = Context::new();
        let mut fctx = FunctionBuilderContext::new();
        let call_conv = self.call_conv();
        let flags = MemFlagsData::trusted();
        match kind {
            TrampolineKind::ArrayToWasm => {
                ctx.func.signature = array_entry_signature(call_conv);
                ctx.func.name = UserFuncName::user(1, 0);
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let entry = b.create_block();
                b.append_block_params_for_function_params(entry);
                b.switch_to_block(entry);
                b.seal_block(entry);
                let [callee_vmctx, caller_vmctx, values, func] =
                    b.block_params(entry).try_into().unwrap();
                let mut args = vec![callee_vmctx, caller_vmctx];
                for (i, t) in ty.params.iter().enumerate() {
                    args.push(b.ins().load(
                        ir_type(*t),
                        flags,
                        values,
                        (i as u32 * VALRAW_SIZE) as i32,
                    ));
                }
                let sig = b.import_signature(wasm_signature(self.wasm_call_conv(), ty));
                let call = b.ins().call_indirect(sig, func, &args);
                let results = b.inst_results(call).to_vec();
                for (i, r) in results.into_iter().enumerate() {
                    b.ins()
                        .store(flags, r, values, (i as u32 * VALRAW_SIZE) as i32);
                }
                b.ins().return_(&[]);
                b.finalize(self.isa().frontend_config());
            }
            TrampolineKind::WasmToHost => {
                ctx.func.signature = wasm_signature(self.wasm_call_conv(), ty);
                ctx.func.name = UserFuncName::user(1, 1);
                let slots = ty.params.len().max(ty.results.len()).max(1) as u32;
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let slot = b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    slots * VALRAW_SIZE,
                    4,
                ));
                let entry = b.create_block();
                b.append_block_params_for_function_params(entry);
                b.switch_to_block(entry);
                b.seal_block(entry);
                let params = b.block_params(entry).to_vec();
                let (host_ctx, caller_vmctx) = (params[0], params[1]);
                let values = b.ins().stack_addr(types::I64, slot, 0);
                for (i, p) in params[2..].iter().enumerate() {
                    b.ins()
                        .store(flags, *p, values, (i as u32 * VALRAW_SIZE) as i32);
                }
                // Record where wasm left off, for backtraces of host errors.
                let limits =
                    b.ins()
                        .load(types::I64, flags, caller_vmctx, VMCTX_RUNTIME_LIMITS as i32);
                let fp = b.ins().get_frame_pointer(types::I64);
                b.ins()
                    .store(flags, fp, limits, VMLIMITS_LAST_EXIT_FP as i32);
                let host_entry = b
                    .ins()
                    .load(types::I64, flags, host_ctx, HOSTCTX_ENTRY as i32);
                let len = b.ins().iconst(types::I64, i64::from(slots));
                let sig = b.import_signature(host_entry_signature(call_conv));
                b.ins()
                    .call_indirect(sig, host_entry, &[host_ctx, caller_vmctx, values, len]);
                let results: Vec<_> = ty
                    .results
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        b.ins()
                            .load(ir_type(*t), flags, values, (i as u32 * VALRAW_SIZE) as i32)
                    })
                    .collect();
                b.ins().return_(&results);
                b.finalize(self.isa().frontend_config());
            }
        }
        self.finish(&mut ctx)
    }
}

//! Trampolines between the host and wasm, one per function signature, compiled
//! with the module that needs them ([`needed_trampolines`]) and linked into its
//! text section, so that running a module, freshly compiled or loaded from an
//! artifact, never needs the compiler.
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
use std::collections::HashSet;
use tern_environ::{
    ConstOp, ElemItems, EntityIndex, Module, WasmFuncType, HOSTCTX_ENTRY, VALRAW_SIZE,
    VMCTX_RUNTIME_LIMITS, VMLIMITS_LAST_EXIT_FP,
};

/// Which direction a trampoline crosses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrampolineKind {
    /// Host calls wasm through an array of values.
    ArrayToWasm,
    /// Wasm calls a host function.
    WasmToHost,
}

/// One trampoline a module carries: its direction and its signature, as an
/// index into the module's type section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrampolineSpec {
    /// The direction.
    pub kind: TrampolineKind,
    /// The signature's index in the module's type section.
    pub type_index: u32,
}

/// Two types need only one trampoline when they get one engine id. A `final`
/// function type alone in its recursion group with no supertype (every type
/// without GC) is identified by its signature; any other type (GC recursion
/// groups and subtypes) by its own index, as its engine id depends on its group.
#[derive(PartialEq, Eq, Hash)]
enum DedupKey<'a> {
    Signature(&'a tern_environ::WasmFuncType),
    Index(u32),
}

fn dedup_key(module: &Module, index: u32) -> DedupKey<'_> {
    let ty = &module.types[index as usize];
    let alone = module
        .type_groups
        .get(index as usize)
        .is_some_and(|g| g.1 == 1);
    match ty.as_func() {
        Some(f) if alone && ty.is_final && ty.supertype.is_none() => DedupKey::Signature(f),
        _ => DedupKey::Index(index),
    }
}

/// The trampolines `module` needs, each signature once per kind (the first type
/// index of equal types stands for all of them):
///
/// * **wasm-to-host** for every function type of the type section. Wasm can
///   only call a function through a signature its own module declares (an
///   import's type, a `call_indirect` or `call_ref` type), so the caller's module
///   always carries the trampoline a host function needs to be called with it,
///   whether the host function came in as an import, through a table or global,
///   or as an argument.
/// * **array-to-wasm** for the signature of every defined function the host
///   can call: the start function, and every function that escapes: exported,
///   in an element segment (tables, and the declarations `ref.func` needs), or
///   in a global's or a table's initializer. A function the host can call was defined by a
///   module that carries its trampoline.
pub fn needed_trampolines(module: &Module) -> Vec<TrampolineSpec> {
    let mut specs = Vec::new();
    let mut seen = HashSet::new();
    for index in 0..module.types.len() as u32 {
        if module.types[index as usize].as_func().is_some() && seen.insert(dedup_key(module, index))
        {
            specs.push(TrampolineSpec {
                kind: TrampolineKind::WasmToHost,
                type_index: index,
            });
        }
    }
    let mut escaping: Vec<u32> = module
        .exports
        .iter()
        .filter_map(|e| match e.index {
            EntityIndex::Function(f) => Some(f),
            _ => None,
        })
        .chain(module.start)
        .collect();
    let ref_funcs = |ops: &[ConstOp], out: &mut Vec<u32>| {
        out.extend(ops.iter().filter_map(|op| match op {
            ConstOp::RefFunc(f) => Some(*f),
            _ => None,
        }));
    };
    for elem in &module.elems {
        match &elem.items {
            ElemItems::Functions(fs) => escaping.extend_from_slice(fs),
            ElemItems::Expressions(es) => {
                for e in es {
                    ref_funcs(&e.ops, &mut escaping);
                }
            }
        }
    }
    for global in &module.globals {
        if let Some(init) = &global.init {
            ref_funcs(&init.ops, &mut escaping);
        }
    }
    for init in module.table_inits.iter().flatten() {
        ref_funcs(&init.ops, &mut escaping);
    }
    let mut seen = HashSet::new();
    for func in escaping {
        if module.is_imported_func(func) {
            continue;
        }
        let Some(&type_index) = module.functions.get(func as usize) else {
            continue;
        };
        if seen.insert(dedup_key(module, type_index)) {
            specs.push(TrampolineSpec {
                kind: TrampolineKind::ArrayToWasm,
                type_index,
            });
        }
    }
    specs
}

impl Compiler {
    /// Compiles a trampoline of `kind` for signature `ty`. The code has no relocations.
    ///
    /// # Errors
    /// Fails only if Cranelift rejects the generated code.
    pub(crate) fn compile_trampoline(
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
                let &[callee_vmctx, caller_vmctx, values, func] = b.block_params(entry) else {
                    anyhow::bail!("the array-call entry signature has four parameters");
                };
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

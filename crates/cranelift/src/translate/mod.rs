//! Translation of one wasm function body to Cranelift IR.
//!
//! [`FuncTranslator`] walks the operators once, validating each with wasmparser's
//! per-function validator before translating it, and keeps a wasm operand stack of
//! SSA values plus a control stack of the enclosing blocks. Code that validation
//! proves unreachable (after `br`, `return`, `unreachable`) is skipped until the
//! control structure that ends it. `dispatch` hands each operator to its
//! topic translator, with the compiler checking that every operator wasmparser
//! knows is either translated or rejected by name: `control` (blocks, branches,
//! calls, locals), `memory` (loads, stores, globals), `tables` (references,
//! tables, bulk operations), `funcref` (typed function references:
//! `call_ref`, null tests and branches), `gc` (i31, `ref.eq`, casts, conversions), `gc_objects` (`struct.*`, `array.*`), `numeric` (scalar operators that only
//! touch the operand stack), `simd` (128-bit vectors) and `exceptions`
//! (`throw`, `try_table`, and the check after each call); `interrupts` meters fuel and
//! checks epochs; `stack_maps` marks the values of GC-heap reference types that
//! Cranelift must keep in stack maps; `bulk_memory` compiles `memory.fill`/`memory.copy`
//! (bounds checked inline; short constant lengths without a libcall); `regions` names the alias regions
//! of memory accesses; `nan_canon` turns computed NaNs into the canonical one
//! when `Config::cranelift_nan_canonicalization` asks for it.

mod bulk_memory;
mod control;
mod dispatch;
mod exceptions;
mod funcref;
mod gc;
mod gc_objects;
mod interrupts;
mod memory;
mod nan_canon;
mod numeric;
mod regions;
mod simd;
mod stack_maps;
mod tables;

use crate::compiler::Compiler;
use crate::signature::{ir_type, ir_type_of, wasm_signature};
use crate::trap_codes::trap_code;
use anyhow::Result;
use control::ControlFrame;
use cranelift_codegen::ir::{
    self, types, GlobalValueData, InstBuilder, MemFlagsData, UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use dispatch::Dispatch;
use std::collections::HashMap;
use tern_environ::{Module, TrapKind, VMOffsets, VMLIMITS_STACK_LIMIT};
use wasmparser::{FuncValidator, Operator, ValidatorResources, VisitOperator};

/// Translates one function; create one per function.
pub(crate) struct FuncTranslator<'a> {
    pub(crate) compiler: &'a Compiler,
    pub(crate) module: &'a Module,
    pub(crate) offsets: &'a VMOffsets,
    fctx: &'a mut FunctionBuilderContext,
}

/// Per-function translation state, alive while the builder is.
pub(crate) struct FuncState<'a, 'f> {
    pub(crate) builder: FunctionBuilder<'f>,
    pub(crate) compiler: &'a Compiler,
    pub(crate) module: &'a Module,
    pub(crate) offsets: &'a VMOffsets,
    /// The wasm operand stack.
    pub(crate) stack: Vec<Value>,
    /// Enclosing control structures, innermost last.
    pub(crate) control: Vec<ControlFrame>,
    /// Whether the code being translated can execute.
    pub(crate) reachable: bool,
    pub(crate) locals: Vec<Variable>,
    vmctx: Value,
    /// The straight-line run being charged for fuel, if one is open (see `interrupts`).
    pub(crate) fuel_run: Option<FuelRun>,
    pub(crate) direct_calls: HashMap<u32, ir::FuncRef>,
    pub(crate) signatures: HashMap<u32, ir::SigRef>,
    /// Values pushed since the current operator began (see `stack_maps`).
    pushes: usize,
}

impl<'a> FuncTranslator<'a> {
    pub(crate) fn new(
        compiler: &'a Compiler,
        module: &'a Module,
        offsets: &'a VMOffsets,
        fctx: &'a mut FunctionBuilderContext,
    ) -> Self {
        Self {
            compiler,
            module,
            offsets,
            fctx,
        }
    }

    /// Translates `body` of function `func_index` into `func`, validating it on the way.
    pub(crate) fn translate(
        self,
        func: &mut ir::Function,
        func_index: u32,
        body: &wasmparser::FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
    ) -> Result<()> {
        let ty = self.module.func_type(func_index);
        func.signature = wasm_signature(self.compiler.wasm_call_conv(), ty);
        func.name = UserFuncName::user(0, func_index);

        // The stack limit is `*(*(vmctx + runtime_limits) + stack_limit)`.
        let vmctx_gv = func.create_global_value(GlobalValueData::VMContext);
        let flags = func
            .dfg
            .mem_flags
            .insert(MemFlagsData::trusted().with_readonly())
            .expect("few mem flags");
        let limits_gv = func.create_global_value(GlobalValueData::Load {
            base: vmctx_gv,
            offset: (self.offsets.runtime_limits() as i32).into(),
            global_type: types::I64,
            flags,
        });
        let stack_flags = func
            .dfg
            .mem_flags
            .insert(MemFlagsData::trusted())
            .expect("few mem flags");
        let stack_limit = func.create_global_value(GlobalValueData::Load {
            base: limits_gv,
            offset: (VMLIMITS_STACK_LIMIT as i32).into(),
            global_type: types::I64,
            flags: stack_flags,
        });
        func.stack_limit = Some(stack_limit);

        let mut builder = FunctionBuilder::new(func, self.fctx);
        // Code before the first instruction maps to the body's start (see
        // `tern_environ::AddressMap`); each instruction then sets its own.
        builder.set_srcloc(ir::SourceLoc::new(body.range().start as u32));
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);

        let mut reader = body.get_binary_reader();
        reader.set_features(*validator.features());
        validator.read_locals(&mut reader)?;
        let mut locals = Vec::new();
        let params_vmctx = builder.block_params(entry)[0];
        let params: Vec<Value> = builder.block_params(entry)[2..].to_vec();
        for (i, p) in params.iter().enumerate() {
            let var = builder.declare_var(ir_type(ty.params[i]));
            if stack_maps::gc_ref_local(validator, i as u32) {
                builder.declare_var_needs_stack_map(var);
            }
            builder.def_var(var, *p);
            locals.push(var);
        }
        for i in params.len() as u32..validator.len_locals() {
            let wty = validator.get_local_type(i).expect("validated local");
            let ity = ir_type_of(wty);
            let var = builder.declare_var(ity);
            if stack_maps::gc_ref_local(validator, i) {
                builder.declare_var_needs_stack_map(var);
            }
            let zero = zero_value(&mut builder, ity);
            builder.def_var(var, zero);
            locals.push(var);
        }

        let mut state = FuncState {
            builder,
            compiler: self.compiler,
            module: self.module,
            offsets: self.offsets,
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            locals,
            vmctx: params_vmctx,
            fuel_run: None,
            direct_calls: HashMap::new(),
            signatures: HashMap::new(),
            pushes: 0,
        };
        state.push_function_frame(&ty.results);
        state.check_epoch();
        state.meter_function_entry();

        let mut ops = wasmparser::OperatorsReader::new(reader);
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            validator.op(offset, &op)?;
            state.builder.set_srcloc(ir::SourceLoc::new(offset as u32));
            state.translate_operator(&op)?;
            state.declare_pushed_refs(validator)?;
        }
        ops.finish()?;
        state.builder.seal_all_blocks();
        state
            .builder
            .finalize(self.compiler.isa().frontend_config());
        Ok(())
    }
}

/// A run of operators charged for fuel in one batch (see `interrupts`).
pub(crate) struct FuelRun {
    /// The `iconst` holding the run's cost, patched when the run ends.
    pub(crate) cost_inst: ir::Inst,
    /// The cost accumulated so far.
    pub(crate) cost: i64,
    /// The block the charge is in.
    pub(crate) block: ir::Block,
}

/// A zero of type `ty` (the initial value of a local).
pub(crate) fn zero_value(builder: &mut FunctionBuilder<'_>, ty: ir::Type) -> Value {
    match ty {
        types::F32 => builder.ins().f32const(0.0),
        types::F64 => builder.ins().f64const(0.0),
        types::I8X16 => {
            let c = builder.func.dfg.constants.insert(vec![0u8; 16].into());
            builder.ins().vconst(types::I8X16, c)
        }
        _ => builder.ins().iconst(ty, 0),
    }
}

impl FuncState<'_, '_> {
    /// The callee vmctx parameter of the function being compiled.
    pub(crate) fn vmctx(&mut self) -> Value {
        self.vmctx
    }

    pub(crate) fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated operand stack")
    }

    pub(crate) fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    pub(crate) fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    pub(crate) fn push(&mut self, v: Value) {
        self.pushes += 1;
        self.stack.push(v);
    }

    /// Pushes every value of `vs`, in order.
    pub(crate) fn push_all(&mut self, vs: impl IntoIterator<Item = Value>) {
        for v in vs {
            self.push(v);
        }
    }

    /// Emits an unconditional trap.
    pub(crate) fn trap(&mut self, kind: TrapKind) {
        self.builder.ins().trap(trap_code(kind));
    }

    /// Traps with `kind` if `cond` is non-zero.
    pub(crate) fn trap_if(&mut self, cond: Value, kind: TrapKind) {
        self.builder.ins().trapnz(cond, trap_code(kind));
    }

    /// Memory flags for loads of the runtime's own data structures that never change.
    pub(crate) fn readonly_flags() -> MemFlagsData {
        MemFlagsData::trusted().with_readonly().with_can_move()
    }

    /// Memory flags for loads of the runtime's mutable data structures.
    pub(crate) fn trusted_flags() -> MemFlagsData {
        MemFlagsData::trusted()
    }

    /// Translates one (validated) operator.
    fn translate_operator(&mut self, op: &Operator<'_>) -> Result<()> {
        if !self.reachable {
            self.translate_unreachable(op);
            return Ok(());
        }
        self.meter(op);
        VisitOperator::visit_operator(&mut Dispatch { state: self, op }, op)?;
        if matches!(op, Operator::Loop { .. }) {
            self.check_epoch();
        }
        Ok(())
    }
}

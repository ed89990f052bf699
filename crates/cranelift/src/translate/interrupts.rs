//! Fuel metering and epoch checks: how compiled code gives control back.
//!
//! With fuel on, costs follow wasmtime 12: every operator costs one unit except
//! the structural ones (`nop`, `drop`, `block`, `loop`, `if`'s `else`, `end`,
//! `unreachable`, `return`), and every function call costs one more unit (its
//! implicit final `end`). The cost of a straight-line run — up to and including
//! the next operator that can leave it (branches, calls, returns, `if`,
//! `else`, `end`, `loop`, `unreachable`) — is charged in one batch *before* the
//! run executes, so every loop iteration pays and a trap in the middle of a run
//! keeps what the run was charged. Translation is one pass, so the charge is
//! emitted with a placeholder constant when the run starts and the constant is
//! patched once the run's end is reached. Running out traps with `OutOfFuel`.
//! The counter lives in the store's `VMRuntimeLimits` as minus the fuel left.
//!
//! With epochs on, function entries and loop headers compare the engine's epoch
//! counter with the store's deadline and trap with `Interrupt` once it is reached.

use super::{FuelRun, FuncState};
use cranelift_codegen::ir::{
    condcodes::IntCC, immediates::Imm64, types, InstBuilder, InstructionData, MemFlagsData, Value,
};
use tern_environ::{
    Builtin, TrapKind, VMLIMITS_EPOCH_DEADLINE, VMLIMITS_EPOCH_PTR, VMLIMITS_FUEL_CONSUMED,
};
use wasmparser::Operator;

impl FuncState<'_, '_> {
    fn fuel_enabled(&self) -> bool {
        self.compiler.settings().tunables.consume_fuel
    }

    fn epochs_enabled(&self) -> bool {
        self.compiler.settings().tunables.epoch_interruption
    }

    /// The store's `VMRuntimeLimits` pointer.
    pub(crate) fn limits_ptr(&mut self) -> cranelift_codegen::ir::Value {
        let vmctx = self.vmctx();
        self.builder.ins().load(
            types::I64,
            Self::readonly_flags(),
            vmctx,
            self.offsets.runtime_limits() as i32,
        )
    }

    /// At a function's entry: opens its first run, charged the function's own unit.
    pub(crate) fn meter_function_entry(&mut self) {
        if self.fuel_enabled() {
            self.open_fuel_run();
            if let Some(run) = &mut self.fuel_run {
                run.cost += 1;
            }
        }
    }

    /// Accounts for `op` (called before translating it): opens a run at the
    /// first costed operator after the previous run ended, and closes the run
    /// (fixing its charge) at an operator that can leave it.
    pub(crate) fn meter(&mut self, op: &Operator<'_>) {
        if !self.fuel_enabled() {
            return;
        }
        let free = matches!(
            op,
            Operator::Nop
                | Operator::Drop
                | Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::End
                | Operator::Else
                | Operator::Unreachable
                | Operator::Return
        );
        if !free {
            // A run never spans blocks: one left without a run-ending operator
            // (a branch this list does not name) is closed where it was.
            let block = self.builder.current_block();
            if self
                .fuel_run
                .as_ref()
                .is_some_and(|run| Some(run.block) != block)
            {
                self.close_fuel_run();
            }
            if self.fuel_run.is_none() {
                self.open_fuel_run();
            }
            if let Some(run) = &mut self.fuel_run {
                run.cost += 1;
            }
        }
        let ends_run = matches!(
            op,
            Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Else
                | Operator::End
                | Operator::Br { .. }
                | Operator::BrIf { .. }
                | Operator::BrTable { .. }
                | Operator::Return
                | Operator::Call { .. }
                | Operator::CallIndirect { .. }
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::Unreachable
        );
        if ends_run {
            self.close_fuel_run();
        }
    }

    /// Fixes the open run's charge to what it accumulated.
    fn close_fuel_run(&mut self) {
        if let Some(run) = self.fuel_run.take() {
            if let InstructionData::UnaryImm { imm, .. } =
                &mut self.builder.func.dfg.insts[run.cost_inst]
            {
                *imm = Imm64::new(run.cost);
            }
        }
    }

    /// Emits the charge of a new run, with a cost to be patched when it ends.
    fn open_fuel_run(&mut self) {
        let limits = self.limits_ptr();
        let flags = MemFlagsData::trusted();
        let consumed =
            self.builder
                .ins()
                .load(types::I64, flags, limits, VMLIMITS_FUEL_CONSUMED as i32);
        let cost = self.builder.ins().iconst(types::I64, 0);
        let cost_inst = self
            .builder
            .func
            .dfg
            .value_def(cost)
            .inst()
            .expect("an iconst result");
        let consumed = self.builder.ins().iadd(consumed, cost);
        self.builder
            .ins()
            .store(flags, consumed, limits, VMLIMITS_FUEL_CONSUMED as i32);
        let out = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThan, consumed, 0);
        self.ask_runtime_if(out, Builtin::OutOfFuel, TrapKind::OutOfFuel);
        let block = self
            .builder
            .current_block()
            .expect("translating inside a block");
        self.fuel_run = Some(FuelRun {
            cost_inst,
            cost: 0,
            block,
        });
    }

    /// At a function entry or loop header: trap if the epoch deadline has passed.
    pub(crate) fn check_epoch(&mut self) {
        if !self.epochs_enabled() {
            return;
        }
        let limits = self.limits_ptr();
        let epoch_ptr = self.builder.ins().load(
            types::I64,
            MemFlagsData::trusted().with_readonly(),
            limits,
            VMLIMITS_EPOCH_PTR as i32,
        );
        // Another thread increments the counter: an atomic load, which Cranelift
        // never merges with an earlier load of the same address (a plain load
        // in a loop header would be, as nothing in the loop stores to it).
        let epoch = self
            .builder
            .ins()
            .atomic_load(types::I64, MemFlagsData::trusted(), epoch_ptr);
        let deadline = self.builder.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            limits,
            VMLIMITS_EPOCH_DEADLINE as i32,
        );
        let due = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
        self.ask_runtime_if(due, Builtin::NewEpoch, TrapKind::Interrupt);
    }

    /// When `cond` holds, calls `builtin` (on a cold path), which decides
    /// whether execution goes on (status 0: the store refilled fuel or moved
    /// the deadline, possibly after yielding to the async executor) or traps
    /// with `kind`. Execution continues in a new current block.
    fn ask_runtime_if(&mut self, cond: Value, builtin: Builtin, kind: TrapKind) {
        let slow = self.builder.create_block();
        let cont = self.builder.create_block();
        self.builder.ins().brif(cond, slow, &[], cont, &[]);
        self.builder.set_cold_block(slow);
        self.builder.switch_to_block(slow);
        self.builder.seal_block(slow);
        let status = self.call_builtin(builtin, &[])[0];
        self.trap_if(status, kind);
        self.builder.ins().jump(cont, &[]);
        self.builder.switch_to_block(cont);
        self.builder.seal_block(cont);
    }
}

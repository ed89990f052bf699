//! Fuel metering and epoch checks: how compiled code gives control back.
//!
//! With fuel on, every operator costs one unit (structural ones — `nop`,
//! `block`, `loop`, `end`, `else`, `drop` — are free). Costs accumulate at
//! translation time and are charged in one batch before each operator that
//! can leave the straight-line run (branches, calls, returns, `if`, `end`), so
//! every loop iteration pays; running out traps with `OutOfFuel`. The counter
//! lives in the store's `VMRuntimeLimits` as minus the fuel left.
//!
//! With epochs on, function entries and loop headers compare the engine's epoch
//! counter with the store's deadline and trap with `Interrupt` once it is reached.

use super::FuncState;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData};
use tern_environ::{TrapKind, VMLIMITS_EPOCH_DEADLINE, VMLIMITS_EPOCH_PTR, VMLIMITS_FUEL_CONSUMED};
use wasmparser::Operator;

impl FuncState<'_, '_> {
    fn fuel_enabled(&self) -> bool {
        self.compiler.settings().tunables.consume_fuel
    }

    fn epochs_enabled(&self) -> bool {
        self.compiler.settings().tunables.epoch_interruption
    }

    fn limits_ptr(&mut self) -> cranelift_codegen::ir::Value {
        let vmctx = self.vmctx();
        self.builder.ins().load(
            types::I64,
            Self::readonly_flags(),
            vmctx,
            self.offsets.runtime_limits() as i32,
        )
    }

    /// Accounts for `op` and, before an operator that ends a straight-line run,
    /// charges what has accumulated.
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
        );
        if !free {
            self.pending_fuel += 1;
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
        if ends_run && self.pending_fuel > 0 {
            let cost = std::mem::take(&mut self.pending_fuel);
            let limits = self.limits_ptr();
            let flags = MemFlagsData::trusted();
            let consumed =
                self.builder
                    .ins()
                    .load(types::I64, flags, limits, VMLIMITS_FUEL_CONSUMED as i32);
            let consumed = self.builder.ins().iadd_imm_s(consumed, cost);
            self.builder
                .ins()
                .store(flags, consumed, limits, VMLIMITS_FUEL_CONSUMED as i32);
            let out = self
                .builder
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThan, consumed, 0);
            self.trap_if(out, TrapKind::OutOfFuel);
        }
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
        self.trap_if(due, TrapKind::Interrupt);
    }
}

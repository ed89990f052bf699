//! Reference types and bulk operations: `ref.*`, `table.*`, `elem.drop`,
//! `memory.copy/fill/init` and `data.drop`.
//!
//! Table element access is inline (bounds check with a Spectre guard, load or
//! store; `call_indirect` uses the same `table_slot`); operations over
//! ranges go through libcalls, which return a status that compiled code turns
//! into a trap here, so the trap has a precise location and backtrace.
//!
//! Tables of function references are initialised lazily (see `tern::vm::table`):
//! a slot holds `funcref | 1` once initialised and 0 before, so a read
//! ([`FuncState::table_get`], shared with `call_indirect`) tests the loaded
//! word and, on a cold path, asks the runtime for an uninitialised slot's value
//! (`table_get_lazy_init_func_ref`); a write stores the value with the low bit set.

use super::FuncState;
use crate::trap_codes::trap_code;
use anyhow::Result;
use cranelift_codegen::ir::{condcodes::IntCC, types, BlockArg, InstBuilder, Value};
use tern_environ::{Builtin, TrapKind, VMTABLE_BASE, VMTABLE_LENGTH};
use wasmparser::Operator;

impl FuncState<'_, '_> {
    /// Widens an i32 index/length to i64 (64-bit ones pass through).
    pub(crate) fn widen_to_i64(&mut self, v: Value) -> Value {
        if self.builder.func.dfg.value_type(v) == types::I64 {
            v
        } else {
            self.builder.ins().uextend(types::I64, v)
        }
    }

    fn table_def(&mut self, table: u32) -> Value {
        let vmctx = self.vmctx();
        self.builder.ins().load(
            types::I64,
            Self::readonly_flags(),
            vmctx,
            self.offsets.table(table) as i32,
        )
    }

    /// The address of element `index` of `table`, trapping when out of bounds.
    /// Unless `Tunables::table_access_spectre_mitigation` is off, a
    /// `select_spectre_guard` makes a mispredicted check read element 0
    /// instead of memory past the table.
    pub(crate) fn table_slot(&mut self, table: u32, index: Value) -> Value {
        let def = self.table_def(table);
        let len = self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            def,
            VMTABLE_LENGTH as i32,
        );
        let index = self.widen_to_i64(index);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.trap_if(oob, TrapKind::TableOutOfBounds);
        let base =
            self.builder
                .ins()
                .load(types::I64, Self::trusted_flags(), def, VMTABLE_BASE as i32);
        let offset = self.builder.ins().ishl_imm_u(index, 3);
        let slot = self.builder.ins().iadd(base, offset);
        if self
            .compiler
            .settings()
            .tunables
            .table_access_spectre_mitigation
        {
            self.builder.ins().select_spectre_guard(oob, base, slot)
        } else {
            slot
        }
    }

    /// Whether `table` holds function references, stored lazily (see the module note).
    fn is_lazy_funcref_table(&self, table: u32) -> bool {
        self.module.tables[table as usize].element.is_func()
    }

    /// Element `index` of `table` (trapping when out of bounds): the
    /// reference word, resolving an uninitialised funcref slot on a cold path.
    pub(crate) fn table_get(&mut self, table: u32, index: Value) -> Value {
        let slot = self.table_slot(table, index);
        let word = self
            .builder
            .ins()
            .load(types::I64, Self::trusted_flags(), slot, 0);
        if !self.is_lazy_funcref_table(table) {
            return word;
        }
        let init = self.builder.create_block();
        let lazy = self.builder.create_block();
        let done = self.builder.create_block();
        let value = self.builder.append_block_param(done, types::I64);
        self.builder.ins().brif(word, init, &[], lazy, &[]);
        self.builder.switch_to_block(init);
        self.builder.seal_block(init);
        let decoded = self.builder.ins().band_imm_s(word, -2);
        self.builder.ins().jump(done, &[BlockArg::Value(decoded)]);
        self.builder.set_cold_block(lazy);
        self.builder.switch_to_block(lazy);
        self.builder.seal_block(lazy);
        let t = self.u32_const(table);
        let index = self.widen_to_i64(index);
        let resolved = self.call_builtin(Builtin::TableGetLazyInitFuncRef, &[t, index])[0];
        self.builder.ins().jump(done, &[BlockArg::Value(resolved)]);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
        value
    }

    fn is_table64(&self, table: u32) -> bool {
        self.module.tables[table as usize].table64
    }

    fn status_trap(&mut self, status: Value, kind: TrapKind) {
        self.builder.ins().trapnz(status, trap_code(kind));
    }

    fn u32_const(&mut self, v: u32) -> Value {
        self.builder.ins().iconst(types::I32, i64::from(v))
    }

    /// Translates reference and bulk operators; the operators `dispatch` routes here.
    pub(crate) fn translate_tables(&mut self, op: &Operator<'_>) -> Result<()> {
        use types::{I32, I64};
        match op {
            Operator::RefNull { .. } => {
                let v = self.builder.ins().iconst(I64, 0);
                self.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let c = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
                let v = self.builder.ins().uextend(I32, c);
                self.push(v);
            }
            Operator::RefFunc { function_index } => {
                let vmctx = self.vmctx();
                let v = if self.module.is_imported_func(*function_index) {
                    let at = self.offsets.imported_funcref_ptr(*function_index) as i32;
                    self.builder
                        .ins()
                        .load(I64, Self::readonly_flags(), vmctx, at)
                } else {
                    // Defined funcrefs are filled lazily by the runtime.
                    let index = self.builder.ins().iconst(I32, i64::from(*function_index));
                    self.call_builtin(Builtin::RefFunc, &[index])[0]
                };
                self.push(v);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let v = self.table_get(*table, index);
                self.push(v);
            }
            Operator::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                let value = if self.is_lazy_funcref_table(*table) {
                    self.builder.ins().bor_imm_u(value, 1)
                } else {
                    value
                };
                let slot = self.table_slot(*table, index);
                self.builder
                    .ins()
                    .store(Self::trusted_flags(), value, slot, 0);
            }
            Operator::TableSize { table } => {
                let def = self.table_def(*table);
                let len =
                    self.builder
                        .ins()
                        .load(I64, Self::trusted_flags(), def, VMTABLE_LENGTH as i32);
                let v = if self.is_table64(*table) {
                    len
                } else {
                    self.builder.ins().ireduce(I32, len)
                };
                self.push(v);
            }
            Operator::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let delta = self.widen_to_i64(delta);
                let t = self.u32_const(*table);
                let old = self.call_builtin(Builtin::TableGrow, &[t, init, delta])[0];
                let v = if self.is_table64(*table) {
                    old
                } else {
                    self.builder.ins().ireduce(I32, old)
                };
                self.push(v);
            }
            Operator::TableFill { table } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                let (len, dst) = (self.widen_to_i64(len), self.widen_to_i64(dst));
                let t = self.u32_const(*table);
                let s = self.call_builtin(Builtin::TableFill, &[t, dst, value, len])[0];
                self.status_trap(s, TrapKind::TableOutOfBounds);
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let (len, src, dst) = (
                    self.widen_to_i64(len),
                    self.widen_to_i64(src),
                    self.widen_to_i64(dst),
                );
                let (d, s) = (self.u32_const(*dst_table), self.u32_const(*src_table));
                let st = self.call_builtin(Builtin::TableCopy, &[d, s, dst, src, len])[0];
                self.status_trap(st, TrapKind::TableOutOfBounds);
            }
            Operator::TableInit { elem_index, table } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let dst = self.widen_to_i64(dst);
                let (t, e) = (self.u32_const(*table), self.u32_const(*elem_index));
                let st = self.call_builtin(Builtin::TableInit, &[t, e, dst, src, len])[0];
                self.status_trap(st, TrapKind::TableOutOfBounds);
            }
            Operator::ElemDrop { elem_index } => {
                let e = self.u32_const(*elem_index);
                self.call_builtin(Builtin::ElemDrop, &[e]);
            }
            Operator::MemoryInit { data_index, mem } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let dst = self.widen_to_i64(dst);
                let (m, d) = (self.u32_const(*mem), self.u32_const(*data_index));
                let st = self.call_builtin(Builtin::MemoryInit, &[m, d, dst, src, len])[0];
                self.status_trap(st, TrapKind::MemoryOutOfBounds);
            }
            Operator::DataDrop { data_index } => {
                let d = self.u32_const(*data_index);
                self.call_builtin(Builtin::DataDrop, &[d]);
            }
            other => return Err(super::dispatch::misrouted(other, "tables")),
        }
        Ok(())
    }
}

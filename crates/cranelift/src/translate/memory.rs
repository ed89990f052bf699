//! Linear memory and global access: loads, stores, `memory.size`, `memory.grow`,
//! `global.get`, `global.set`.
//!
//! A 32-bit memory is a fixed reservation of 4 GiB plus a guard region, so an
//! access whose static offset and size fit in the guard needs no bounds check:
//! an out-of-bounds address faults, and the trap table marks the faulting load or
//! store as `MemoryOutOfBounds`. Larger offsets and 64-bit memories get an
//! explicit check against the current length, followed (unless
//! `Tunables::heap_access_spectre_mitigation` is off) by a `select_spectre_guard`
//! that makes the address null when the check failed, so a mispredicted branch
//! cannot read outside the sandbox. `memory.copy/fill` are checked in compiled
//! code too (`bulk_memory.rs`); `memory.init` checks its ranges inside its
//! libcall (Rust code).

use super::regions::Region;
use super::FuncState;
use crate::signature::ir_type;
use anyhow::Result;
use cranelift_codegen::ir::{self, condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use cranelift_codegen::ir::{Endianness, TrapCode};
use tern_environ::{Builtin, LibcallType, MemoryStyle, TrapKind, VMMEMORY_BASE, VMMEMORY_LENGTH};
use wasmparser::{MemArg, MemArgTarget, Operator};

impl FuncState<'_, '_> {
    fn memory_index(memarg: &MemArg) -> u32 {
        match memarg.target {
            MemArgTarget::Memory(m) => m,
            MemArgTarget::Array(_) => unreachable!("GC is disabled in validation"),
        }
    }

    fn memory_style(&self, index: u32) -> MemoryStyle {
        MemoryStyle::for_plan(
            &self.module.memories[index as usize],
            &self.compiler.settings().tunables,
        )
    }

    /// Memory `index`'s base address. A static memory never moves, so its
    /// base is read from the vmctx's copy (one read-only, movable load that
    /// Cranelift hoists and merges); a dynamic memory's base is reloaded from
    /// its definition, since a call may have grown it.
    pub(crate) fn memory_base(&mut self, index: u32) -> Value {
        let vmctx = self.vmctx();
        if !self.memory_style(index).base_moves() {
            return self.builder.ins().load(
                types::I64,
                Self::readonly_flags(),
                vmctx,
                self.offsets.memory_base(index) as i32,
            );
        }
        let def = self.builder.ins().load(
            types::I64,
            Self::readonly_flags(),
            vmctx,
            self.offsets.memory(index) as i32,
        );
        self.builder
            .ins()
            .load(types::I64, Self::trusted_flags(), def, VMMEMORY_BASE as i32)
    }

    /// Memory `index`'s current length in bytes.
    pub(crate) fn memory_length(&mut self, index: u32) -> Value {
        let vmctx = self.vmctx();
        let def = self.builder.ins().load(
            types::I64,
            Self::readonly_flags(),
            vmctx,
            self.offsets.memory(index) as i32,
        );
        self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            def,
            VMMEMORY_LENGTH as i32,
        )
    }

    /// Pops the address operand and returns the native address and static offset
    /// to access `size` bytes at, with whatever bounds check is needed.
    pub(crate) fn memory_address(&mut self, memarg: &MemArg, size: u32) -> (Value, i32) {
        let mem = Self::memory_index(memarg);
        let plan = self.module.memories[mem as usize];
        let index = self.pop();
        let index = if plan.memory64 {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        };
        let base = self.memory_base(mem);
        let end = memarg.offset.checked_add(u64::from(size));
        match end {
            _ if self.memory_style(mem).elides_check(
                plan.memory64,
                memarg.offset,
                u64::from(size),
            ) =>
            {
                (self.builder.ins().iadd(base, index), memarg.offset as i32)
            }
            _ => {
                // Explicit check: index + offset + size <= length, with overflow trapping.
                let end = end.unwrap_or(u64::MAX);
                let end_const = self.builder.ins().iconst(types::I64, end as i64);
                let code = crate::trap_codes::trap_code(TrapKind::MemoryOutOfBounds);
                let last = self
                    .builder
                    .ins()
                    .uadd_overflow_trap(index, end_const, code);
                let len = self.memory_length(mem);
                let oob = self
                    .builder
                    .ins()
                    .icmp(IntCC::UnsignedGreaterThan, last, len);
                self.trap_if(oob, TrapKind::MemoryOutOfBounds);
                let addr = self.builder.ins().iadd(base, index);
                let offset = self.builder.ins().iconst(types::I64, memarg.offset as i64);
                let addr = self.builder.ins().iadd(addr, offset);
                if self
                    .compiler
                    .settings()
                    .tunables
                    .heap_access_spectre_mitigation
                {
                    // If the branch above is mispredicted, the access still
                    // depends on `oob` through a select the CPU does not
                    // speculate: it reads address 0, not outside the sandbox.
                    // A 64-bit index can make `index + end` wrap, which traps
                    // above; a mispredicted overflow trap must not let the
                    // wrapped (small) sum pass `oob`, so the guard also tests
                    // for the wrap.
                    let outside = if plan.memory64 {
                        let wrapped = self
                            .builder
                            .ins()
                            .icmp(IntCC::UnsignedLessThan, last, index);
                        self.builder.ins().bor(oob, wrapped)
                    } else {
                        oob
                    };
                    let null = self.builder.ins().iconst(types::I64, 0);
                    (
                        self.builder.ins().select_spectre_guard(outside, null, addr),
                        0,
                    )
                } else {
                    (addr, 0)
                }
            }
        }
    }

    /// Flags of a linear-memory access: little-endian, trapping when out of
    /// bounds (the guard region), in the linear-memory alias region.
    pub(crate) fn heap_flags(&mut self) -> MemFlagsData {
        let region = self.alias_region(Region::LinearMemory);
        MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
            .with_alias_region(Some(region))
    }

    fn load(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut Self, MemFlagsData, Value, i32) -> Value,
    ) {
        let (addr, offset) = self.memory_address(memarg, size);
        let flags = self.heap_flags();
        let v = f(self, flags, addr, offset);
        self.push(v);
    }

    fn store(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut Self, MemFlagsData, Value, Value, i32),
    ) {
        let value = self.pop();
        let (addr, offset) = self.memory_address(memarg, size);
        let flags = self.heap_flags();
        f(self, flags, value, addr, offset);
    }

    /// The address of global `index`'s storage, and the flags of an access
    /// to it (in the global's alias region).
    fn global_address(&mut self, index: u32) -> (Value, i32, MemFlagsData) {
        let vmctx = self.vmctx();
        if self.module.is_imported_global(index) {
            let at = self.offsets.imported_global(index) as i32;
            let ptr = self
                .builder
                .ins()
                .load(types::I64, Self::readonly_flags(), vmctx, at);
            let region = self.alias_region(Region::ImportedGlobals);
            (
                ptr,
                0,
                Self::trusted_flags().with_alias_region(Some(region)),
            )
        } else {
            let defined = index - self.module.num_imported_globals;
            let region = self.alias_region(Region::DefinedGlobal(defined));
            (
                vmctx,
                self.offsets.defined_global(defined) as i32,
                Self::trusted_flags().with_alias_region(Some(region)),
            )
        }
    }

    /// Calls a libcall through the vmctx's `VMBuiltins` table, with the
    /// signature the libcall list (`tern_environ::for_each_libcall!`) gives it.
    pub(crate) fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) -> Vec<Value> {
        let ir_type = |t: LibcallType| match t {
            LibcallType::I32 => types::I32,
            LibcallType::I64 => types::I64,
        };
        let abi = |t: LibcallType| ir::AbiParam::new(ir_type(t));
        debug_assert!(
            args.len() == builtin.params().len()
                && args
                    .iter()
                    .zip(builtin.params())
                    .all(|(a, t)| { self.builder.func.dfg.value_type(*a) == ir_type(*t) }),
            "arguments of libcall {} do not match its signature",
            builtin.name()
        );
        let mut sig = ir::Signature::new(self.compiler.call_conv());
        sig.params.push(ir::AbiParam::new(types::I64));
        sig.params.extend(builtin.params().iter().map(|t| abi(*t)));
        sig.returns.extend(builtin.result().map(abi));
        let sig = self.builder.import_signature(sig);
        let vmctx = self.vmctx();
        // The table and its entries never change, but the loads are not
        // `can_move`: Cranelift would then hoist them to the function's entry
        // and keep the libcall's address live (in a register or a spill slot)
        // across the whole function, for a call that costs far more than the
        // two loads it saves. Left in place, they cost nothing where no
        // libcall is made, and the function's registers go to its own values
        // (wasmtime calls a builtin directly, with no address to keep).
        let flags = MemFlagsData::trusted().with_readonly();
        let table =
            self.builder
                .ins()
                .load(types::I64, flags, vmctx, self.offsets.builtins() as i32);
        let f = self
            .builder
            .ins()
            .load(types::I64, flags, table, builtin.offset() as i32);
        let mut all = vec![vmctx];
        all.extend_from_slice(args);
        let call = self.builder.ins().call_indirect(sig, f, &all);
        self.builder.inst_results(call).to_vec()
    }

    /// Translates memory and global operators; the operators `dispatch` routes here.
    pub(crate) fn translate_memory(&mut self, op: &Operator<'_>) -> Result<()> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Load { memarg } => {
                self.load(memarg, 4, |s, f, a, o| s.builder.ins().load(I32, f, a, o))
            }
            Operator::I64Load { memarg } => {
                self.load(memarg, 8, |s, f, a, o| s.builder.ins().load(I64, f, a, o))
            }
            Operator::F32Load { memarg } => {
                self.load(memarg, 4, |s, f, a, o| s.builder.ins().load(F32, f, a, o))
            }
            Operator::F64Load { memarg } => {
                self.load(memarg, 8, |s, f, a, o| s.builder.ins().load(F64, f, a, o))
            }
            Operator::I32Load8S { memarg } => {
                self.load(memarg, 1, |s, f, a, o| s.builder.ins().sload8(I32, f, a, o))
            }
            Operator::I32Load8U { memarg } => {
                self.load(memarg, 1, |s, f, a, o| s.builder.ins().uload8(I32, f, a, o))
            }
            Operator::I32Load16S { memarg } => self.load(memarg, 2, |s, f, a, o| {
                s.builder.ins().sload16(I32, f, a, o)
            }),
            Operator::I32Load16U { memarg } => self.load(memarg, 2, |s, f, a, o| {
                s.builder.ins().uload16(I32, f, a, o)
            }),
            Operator::I64Load8S { memarg } => {
                self.load(memarg, 1, |s, f, a, o| s.builder.ins().sload8(I64, f, a, o))
            }
            Operator::I64Load8U { memarg } => {
                self.load(memarg, 1, |s, f, a, o| s.builder.ins().uload8(I64, f, a, o))
            }
            Operator::I64Load16S { memarg } => self.load(memarg, 2, |s, f, a, o| {
                s.builder.ins().sload16(I64, f, a, o)
            }),
            Operator::I64Load16U { memarg } => self.load(memarg, 2, |s, f, a, o| {
                s.builder.ins().uload16(I64, f, a, o)
            }),
            Operator::I64Load32S { memarg } => {
                self.load(memarg, 4, |s, f, a, o| s.builder.ins().sload32(f, a, o))
            }
            Operator::I64Load32U { memarg } => {
                self.load(memarg, 4, |s, f, a, o| s.builder.ins().uload32(f, a, o))
            }
            Operator::I32Store { memarg } | Operator::F32Store { memarg } => {
                self.store(memarg, 4, |s, f, v, a, o| {
                    s.builder.ins().store(f, v, a, o);
                })
            }
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                self.store(memarg, 8, |s, f, v, a, o| {
                    s.builder.ins().store(f, v, a, o);
                })
            }
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, 1, |s, f, v, a, o| {
                    s.builder.ins().istore8(f, v, a, o);
                })
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, 2, |s, f, v, a, o| {
                    s.builder.ins().istore16(f, v, a, o);
                })
            }
            Operator::I64Store32 { memarg } => self.store(memarg, 4, |s, f, v, a, o| {
                s.builder.ins().istore32(f, v, a, o);
            }),
            Operator::MemorySize { mem } => {
                let len = self.memory_length(*mem);
                let pages = self.builder.ins().ushr_imm_u(len, 16);
                let v = if self.module.memories[*mem as usize].memory64 {
                    pages
                } else {
                    self.builder.ins().ireduce(I32, pages)
                };
                self.push(v);
            }
            Operator::MemoryGrow { mem } => {
                let memory64 = self.module.memories[*mem as usize].memory64;
                let delta = self.pop();
                let delta = if memory64 {
                    delta
                } else {
                    self.builder.ins().uextend(I64, delta)
                };
                let index = self.builder.ins().iconst(I32, i64::from(*mem));
                let old = self.call_builtin(Builtin::MemoryGrow, &[delta, index])[0];
                let v = if memory64 {
                    old
                } else {
                    self.builder.ins().ireduce(I32, old)
                };
                self.push(v);
            }
            Operator::GlobalGet { global_index } => {
                let ty = ir_type(self.module.globals[*global_index as usize].ty);
                let (addr, offset, flags) = self.global_address(*global_index);
                let v = self.builder.ins().load(ty, flags, addr, offset);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let (addr, offset, flags) = self.global_address(*global_index);
                self.builder.ins().store(flags, v, addr, offset);
            }
            other => return Err(super::dispatch::misrouted(other, "memory")),
        }
        Ok(())
    }
}

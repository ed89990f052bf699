//! `memory.fill` and `memory.copy`. Compiled code checks the whole range of
//! each (so, as the spec requires, nothing is written when one fails) and
//! computes the native addresses, like any access; then:
//!
//! * a small constant length on 32-bit memories is done inline, a few vector
//!   and scalar accesses. Compilers emit these for fixed-size zeroing and
//!   struct copies (a SHA-256 block's padding, for one); a call there also
//!   costs the registers it clobbers in the loop around it. A copy loads every
//!   chunk before storing any, so overlapping ranges copy as if through a
//!   temporary buffer, which is `memory.copy`'s meaning;
//! * any other length calls the `memory_move` / `memory_set` libcall with the
//!   checked native addresses: a `memmove` / `memset` and nothing else (no
//!   instance or memory lookup, no second check, no status to test).

use super::regions::Region;
use super::FuncState;
use crate::trap_codes::trap_code;
use anyhow::Result;
use cranelift_codegen::ir::{
    condcodes::IntCC, types, Endianness, InstBuilder, InstructionData, MemFlagsData, Opcode, Type,
    Value,
};
use tern_environ::{Builtin, TrapKind};
use wasmparser::Operator;

/// The longest `memory.fill` compiled inline, in bytes.
const MAX_INLINE_FILL: u32 = 256;
/// The longest `memory.copy` compiled inline, in bytes (every chunk is held
/// in a register between the loads and the stores).
const MAX_INLINE_COPY: u32 = 128;

/// The accesses covering `len` bytes: 16-byte vectors, then 8, 4, 2 and 1
/// byte integers; each as (offset, type).
fn chunks(len: u32) -> Vec<(u32, Type)> {
    let mut out = Vec::new();
    let mut at = 0;
    for ty in [types::I8X16, types::I64, types::I32, types::I16, types::I8] {
        while len - at >= ty.bytes() {
            out.push((at, ty));
            at += ty.bytes();
        }
    }
    out
}

impl FuncState<'_, '_> {
    /// The value of `v` if an `iconst` defines it, as an unsigned 32-bit number.
    fn u32_constant(&self, v: Value) -> Option<u32> {
        let dfg = &self.builder.func.dfg;
        let inst = dfg.value_def(v).inst()?;
        match dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } if dfg.value_type(v) == types::I32 => Some(imm.bits() as u32),
            _ => None,
        }
    }

    /// The native address of `[addr, addr + len)` in memory `mem` (`addr`
    /// and `len` of the memory's index type, or `len` 32-bit), trapping with
    /// `MemoryOutOfBounds` when the range does not fit (and, with the Spectre
    /// mitigation on, null if that check is mispredicted).
    fn checked_span(&mut self, mem: u32, addr: Value, len: Value) -> Value {
        let dfg = &self.builder.func.dfg;
        // Two 32-bit operands: their sum (below 2^33) cannot wrap.
        let narrow = dfg.value_type(addr) == types::I32 && dfg.value_type(len) == types::I32;
        let (addr, len) = (self.widen_to_i64(addr), self.widen_to_i64(len));
        let code = trap_code(TrapKind::MemoryOutOfBounds);
        let end = if narrow {
            self.builder.ins().iadd(addr, len)
        } else {
            self.builder.ins().uadd_overflow_trap(addr, len, code)
        };
        let length = self.memory_length(mem);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, length);
        self.builder.ins().trapnz(oob, code);
        let base = self.memory_base(mem);
        let native = self.builder.ins().iadd(base, addr);
        if !self
            .compiler
            .settings()
            .tunables
            .heap_access_spectre_mitigation
        {
            return native;
        }
        // A mispredicted overflow trap must not let a wrapped (small) end
        // pass `oob`, so the guard also tests for the wrap.
        let outside = if narrow {
            oob
        } else {
            let wrapped = self.builder.ins().icmp(IntCC::UnsignedLessThan, end, addr);
            self.builder.ins().bor(oob, wrapped)
        };
        let null = self.builder.ins().iconst(types::I64, 0);
        self.builder
            .ins()
            .select_spectre_guard(outside, null, native)
    }

    /// [`Self::checked_span`] of a constant length on a 32-bit memory.
    fn checked_range(&mut self, mem: u32, addr: Value, len: u32) -> Value {
        let len = self.builder.ins().iconst(types::I32, i64::from(len));
        self.checked_span(mem, addr, len)
    }

    /// Flags of the accesses of an inline bulk operation: in bounds (checked
    /// first), not necessarily aligned, in the linear-memory region.
    fn bulk_flags(&mut self) -> MemFlagsData {
        let region = self.alias_region(Region::LinearMemory);
        MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_notrap()
            .with_alias_region(Some(region))
    }

    /// Translates `memory.copy` and `memory.fill`; the operators `dispatch`
    /// routes here.
    pub(crate) fn translate_bulk_memory(&mut self, op: &Operator<'_>) -> Result<()> {
        match *op {
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                if !self.inline_memory_copy(dst_mem, src_mem, dst, src, len) {
                    let from = self.checked_span(src_mem, src, len);
                    let to = self.checked_span(dst_mem, dst, len);
                    let len = self.widen_to_i64(len);
                    self.call_builtin(Builtin::MemoryMove, &[to, from, len]);
                }
            }
            Operator::MemoryFill { mem } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                if !self.inline_memory_fill(mem, dst, value, len) {
                    let to = self.checked_span(mem, dst, len);
                    let len = self.widen_to_i64(len);
                    self.call_builtin(Builtin::MemorySet, &[to, value, len]);
                }
            }
            ref other => return Err(super::dispatch::misrouted(other, "bulk_memory")),
        }
        Ok(())
    }

    /// Compiles `memory.fill` of memory `mem` inline when `len` is a small
    /// constant and the memory is 32-bit; false (nothing emitted) otherwise.
    fn inline_memory_fill(&mut self, mem: u32, dst: Value, value: Value, len: Value) -> bool {
        let Some(len) = self.u32_constant(len) else {
            return false;
        };
        if len > MAX_INLINE_FILL || self.module.memories[mem as usize].memory64 {
            return false;
        }
        let at = self.checked_range(mem, dst, len);
        let flags = self.bulk_flags();
        let byte = self.builder.ins().ireduce(types::I8, value);
        for (offset, ty) in chunks(len) {
            let v = match ty {
                types::I8X16 => self.builder.ins().splat(types::I8X16, byte),
                types::I8 => byte,
                _ => {
                    let wide = self.builder.ins().uextend(ty, byte);
                    // 0x0101...01 of the chunk's width: the byte in every byte.
                    let ones = (u64::MAX / 255) >> (64 - ty.bits());
                    self.builder.ins().imul_imm_u(wide, ones as i64)
                }
            };
            self.builder.ins().store(flags, v, at, offset as i32);
        }
        true
    }

    /// Compiles `memory.copy` inline when both memories are 32-bit and `len`
    /// is a small constant; false (nothing emitted) otherwise.
    fn inline_memory_copy(
        &mut self,
        dst_mem: u32,
        src_mem: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> bool {
        let Some(len) = self.u32_constant(len) else {
            return false;
        };
        let memories = &self.module.memories;
        if len > MAX_INLINE_COPY
            || memories[dst_mem as usize].memory64
            || memories[src_mem as usize].memory64
        {
            return false;
        }
        let from = self.checked_range(src_mem, src, len);
        let to = self.checked_range(dst_mem, dst, len);
        let flags = self.bulk_flags();
        let parts = chunks(len);
        let values: Vec<Value> = parts
            .iter()
            .map(|&(offset, ty)| self.builder.ins().load(ty, flags, from, offset as i32))
            .collect();
        for (&(offset, _), v) in parts.iter().zip(values) {
            self.builder.ins().store(flags, v, to, offset as i32);
        }
        true
    }
}

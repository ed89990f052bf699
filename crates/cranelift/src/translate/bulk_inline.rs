//! `memory.fill` and `memory.copy` of a small constant length on a 32-bit
//! memory, compiled inline instead of as a libcall: one bounds check of the
//! whole range (so, as the spec requires, nothing is written when it fails),
//! then a few vector and scalar accesses. Compilers emit these for fixed-size
//! zeroing and struct copies (a SHA-256 block's padding, for one); a call there
//! also costs the registers it clobbers in the loop around it.
//!
//! A copy loads every chunk before storing any, so overlapping ranges copy as
//! if through a temporary buffer, which is `memory.copy`'s meaning.

use super::regions::Region;
use super::FuncState;
use crate::trap_codes::trap_code;
use cranelift_codegen::ir::{
    condcodes::IntCC, types, Endianness, InstBuilder, InstructionData, MemFlagsData, Opcode, Type,
    Value,
};
use tern_environ::TrapKind;

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

    /// The native address of `[addr, addr + len)` in 32-bit memory `mem`,
    /// trapping with `MemoryOutOfBounds` when the range does not fit (and,
    /// with the Spectre mitigation on, null if that check is mispredicted).
    fn checked_range(&mut self, mem: u32, addr: Value, len: u32) -> Value {
        let addr = self.builder.ins().uextend(types::I64, addr);
        // `addr < 2^32` and `len <= 256`: the sum cannot wrap.
        let end = self.builder.ins().iadd_imm_u(addr, i64::from(len));
        let length = self.memory_length(mem);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, length);
        self.builder
            .ins()
            .trapnz(oob, trap_code(TrapKind::MemoryOutOfBounds));
        let base = self.memory_base(mem);
        let native = self.builder.ins().iadd(base, addr);
        if self
            .compiler
            .settings()
            .tunables
            .heap_access_spectre_mitigation
        {
            let null = self.builder.ins().iconst(types::I64, 0);
            self.builder.ins().select_spectre_guard(oob, null, native)
        } else {
            native
        }
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

    /// Compiles `memory.fill` of memory `mem` inline when `len` is a small
    /// constant and the memory is 32-bit; false (nothing emitted) otherwise.
    pub(crate) fn inline_memory_fill(
        &mut self,
        mem: u32,
        dst: Value,
        value: Value,
        len: Value,
    ) -> bool {
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
    pub(crate) fn inline_memory_copy(
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

//! Encoding checks compiled into adapters: UTF-8 (the Unicode rules Rust's
//! `str::from_utf8` applies: no overlong forms, no surrogates, nothing past
//! U+10FFFF, no truncated sequence) and UTF-16 (no unpaired surrogate). A
//! UTF-8 failure traps with the string's range, and the runtime words the
//! error from the bytes exactly as the fused path does; a UTF-16 failure
//! passes the unpaired surrogate itself.

use super::body::{memarg, Body, Operand};
use super::interface::AdapterTrap;
use wasm_encoder::{BlockType, Instruction as I, ValType};

impl Body {
    /// Traps with `trap(ptr, len)` unless the `len` bytes at `ptr` (in
    /// bounds) of memory `mem` are UTF-8.
    pub(super) fn validate_utf8(&mut self, mem: u32, ptr: u32, len: u32, trap: AdapterTrap) {
        let (p, end, b, n) = (
            self.local(ValType::I32),
            self.local(ValType::I32),
            self.local(ValType::I32),
            self.local(ValType::I32),
        );
        let (lo, hi) = (self.local(ValType::I32), self.local(ValType::I32));
        self.op(I::LocalGet(ptr)).op(I::LocalSet(p));
        self.op(I::LocalGet(ptr))
            .op(I::LocalGet(len))
            .op(I::I32Add)
            .op(I::LocalSet(end));
        // block $done { block $bad { loop $top { … } } trap }
        self.op(I::Block(BlockType::Empty)); // $done
        self.op(I::Block(BlockType::Empty)); // $bad
        self.op(I::Loop(BlockType::Empty)); // $top
                                            // Depths here: $top 0, $bad 1, $done 2.
        self.op(I::LocalGet(p))
            .op(I::LocalGet(end))
            .op(I::I32GeU)
            .op(I::BrIf(2));
        // Eight ASCII bytes at a time.
        self.op(I::LocalGet(end))
            .op(I::LocalGet(p))
            .op(I::I32Sub)
            .op(I::I32Const(8))
            .op(I::I32GeU)
            .op(I::If(BlockType::Empty));
        self.op(I::LocalGet(p))
            .op(I::I64Load(memarg(mem, 0, 0)))
            .op(I::I64Const(0x8080_8080_8080_8080_u64 as i64))
            .op(I::I64And)
            .op(I::I64Eqz)
            .op(I::If(BlockType::Empty));
        self.bump(p, 8);
        self.op(I::Br(2)); // $top
        self.op(I::End).op(I::End);
        // One byte.
        self.op(I::LocalGet(p))
            .op(I::I32Load8U(memarg(mem, 0, 0)))
            .op(I::LocalTee(b))
            .op(I::I32Const(0x80))
            .op(I::I32LtU)
            .op(I::If(BlockType::Empty));
        self.bump(p, 1);
        self.op(I::Br(1)); // $top
        self.op(I::End);
        // A lead byte: 0xC2..=0xF4.
        self.op(I::LocalGet(b))
            .op(I::I32Const(0xC2))
            .op(I::I32LtU)
            .op(I::BrIf(1));
        self.op(I::LocalGet(b))
            .op(I::I32Const(0xF4))
            .op(I::I32GtU)
            .op(I::BrIf(1));
        // n continuation bytes: 1 below 0xE0, 2 below 0xF0, else 3.
        self.op(I::I32Const(1))
            .op(I::LocalGet(b))
            .op(I::I32Const(0xE0))
            .op(I::I32GeU)
            .op(I::I32Add)
            .op(I::LocalGet(b))
            .op(I::I32Const(0xF0))
            .op(I::I32GeU)
            .op(I::I32Add)
            .op(I::LocalSet(n));
        // The first continuation's range: narrower after E0, ED, F0, F4.
        self.select_const(b, &[(0xE0, 0xA0), (0xF0, 0x90)], 0x80, lo);
        self.select_const(b, &[(0xED, 0x9F), (0xF4, 0x8F)], 0xBF, hi);
        // Enough bytes left: end - p > n.
        self.op(I::LocalGet(end))
            .op(I::LocalGet(p))
            .op(I::I32Sub)
            .op(I::LocalGet(n))
            .op(I::I32LeU)
            .op(I::BrIf(1));
        self.op(I::LocalGet(p))
            .op(I::I32Load8U(memarg(mem, 1, 0)))
            .op(I::LocalTee(b))
            .op(I::LocalGet(lo))
            .op(I::I32LtU)
            .op(I::LocalGet(b))
            .op(I::LocalGet(hi))
            .op(I::I32GtU)
            .op(I::I32Or)
            .op(I::BrIf(1));
        for k in [2u32, 3] {
            self.op(I::LocalGet(n))
                .op(I::I32Const(k as i32))
                .op(I::I32GeU)
                .op(I::If(BlockType::Empty));
            self.op(I::LocalGet(p))
                .op(I::I32Load8U(memarg(mem, u64::from(k) as u32, 0)))
                .op(I::I32Const(0xC0))
                .op(I::I32And)
                .op(I::I32Const(0x80))
                .op(I::I32Ne)
                .op(I::BrIf(2)); // $bad, from inside the `if`
            self.op(I::End);
        }
        self.op(I::LocalGet(p))
            .op(I::LocalGet(n))
            .op(I::I32Add)
            .op(I::I32Const(1))
            .op(I::I32Add)
            .op(I::LocalSet(p));
        self.op(I::Br(0)); // $top
        self.op(I::End); // loop
        self.op(I::End); // $bad
        self.trap(trap, Operand::Local(ptr), Operand::Local(len));
        self.op(I::End); // $done
    }

    /// Traps with the unpaired surrogate unless the `len` code units at
    /// `ptr` (in bounds) of memory `mem` are UTF-16.
    pub(super) fn validate_utf16(&mut self, mem: u32, ptr: u32, len: u32) {
        let (p, end, u) = (
            self.local(ValType::I32),
            self.local(ValType::I32),
            self.local(ValType::I32),
        );
        self.op(I::LocalGet(ptr)).op(I::LocalSet(p));
        self.op(I::LocalGet(ptr))
            .op(I::LocalGet(len))
            .op(I::I32Const(1))
            .op(I::I32Shl)
            .op(I::I32Add)
            .op(I::LocalSet(end));
        self.op(I::Block(BlockType::Empty)); // $done
        self.op(I::Block(BlockType::Empty)); // $bad
        self.op(I::Loop(BlockType::Empty)); // $top
        self.op(I::LocalGet(p))
            .op(I::LocalGet(end))
            .op(I::I32GeU)
            .op(I::BrIf(2));
        self.op(I::LocalGet(p))
            .op(I::I32Load16U(memarg(mem, 0, 1)))
            .op(I::LocalSet(u));
        self.bump(p, 2);
        // Not a surrogate: next.
        self.op(I::LocalGet(u))
            .op(I::I32Const(0xF800))
            .op(I::I32And)
            .op(I::I32Const(0xD800))
            .op(I::I32Ne)
            .op(I::BrIf(0));
        // A low surrogate first, or a high one at the end: unpaired.
        self.op(I::LocalGet(u))
            .op(I::I32Const(0xDC00))
            .op(I::I32GeU)
            .op(I::BrIf(1));
        self.op(I::LocalGet(p))
            .op(I::LocalGet(end))
            .op(I::I32GeU)
            .op(I::BrIf(1));
        // A high surrogate must be followed by a low one.
        self.op(I::LocalGet(p))
            .op(I::I32Load16U(memarg(mem, 0, 1)))
            .op(I::I32Const(0xFC00))
            .op(I::I32And)
            .op(I::I32Const(0xDC00))
            .op(I::I32Ne)
            .op(I::BrIf(1));
        self.bump(p, 2);
        self.op(I::Br(0));
        self.op(I::End); // loop
        self.op(I::End); // $bad
        self.trap(
            AdapterTrap::InvalidUtf16,
            Operand::Local(u),
            Operand::Const(0),
        );
        self.op(I::End); // $done
    }

    /// `local += by`.
    fn bump(&mut self, local: u32, by: i32) {
        self.op(I::LocalGet(local))
            .op(I::I32Const(by))
            .op(I::I32Add)
            .op(I::LocalSet(local));
    }

    /// `out = value of the first (key, value) with key == x, else default`.
    fn select_const(&mut self, x: u32, pairs: &[(i32, i32)], default: i32, out: u32) {
        self.op(I::I32Const(default)).op(I::LocalSet(out));
        for (key, value) in pairs {
            self.op(I::I32Const(*value))
                .op(I::LocalGet(out))
                .op(I::LocalGet(x))
                .op(I::I32Const(*key))
                .op(I::I32Eq)
                .op(I::Select)
                .op(I::LocalSet(out));
        }
    }
}

//! Values that cross in memory: strings of one encoding and lists, each
//! allocated in the receiving side with its `realloc` — the canonical ABI's
//! arguments, in its order — then copied with `memory.copy` between the two
//! memories when the bytes are the value (strings, lists of plain numbers),
//! or element by element otherwise. Their ranges were checked on the
//! sending side first (`check.rs`); the new range is checked here as the
//! fused path's `LowerContext::realloc` does.

use super::body::{Body, Content, Operand, Place};
use super::interface::AdapterTrap;
use crate::component::types::{ComponentTypes, InterfaceType, TypeDef};
use crate::component::StringEncoding;
use wasm_encoder::{BlockType, Instruction as I, ValType};

/// The longest string the ABI allows, in bytes.
const MAX_STRING_BYTE_LENGTH: i64 = (1 << 31) - 1;

impl Body {
    /// Runs `each` `count` (an `i32` local) times.
    pub(super) fn counted_loop(
        &mut self,
        count: u32,
        each: impl FnOnce(&mut Body) -> Result<(), String>,
    ) -> Result<(), String> {
        let left = self.local(ValType::I32);
        self.op(I::LocalGet(count)).op(I::LocalSet(left));
        self.op(I::Block(BlockType::Empty))
            .op(I::Loop(BlockType::Empty));
        self.op(I::LocalGet(left)).op(I::I32Eqz).op(I::BrIf(1));
        each(self)?;
        self.op(I::LocalGet(left))
            .op(I::I32Const(1))
            .op(I::I32Sub)
            .op(I::LocalSet(left))
            .op(I::Br(0))
            .op(I::End)
            .op(I::End);
        Ok(())
    }

    /// Checks a string of `encoding` at `src` on the sending side: its
    /// range (alignment, then bounds), then its encoding.
    pub(super) fn check_string(
        &mut self,
        encoding: StringEncoding,
        src: &Place,
    ) -> Result<(), String> {
        let Some(mem) = self.src.memory else {
            return Err("a string crosses from a side with no memory option".into());
        };
        let (ptr, len) = self.pointer_pair(src);
        let bytes = self.local(ValType::I64);
        match encoding {
            StringEncoding::Utf8 => {
                self.op(I::LocalGet(len)).op(I::I64ExtendI32U);
                self.op(I::LocalSet(bytes));
                self.check_range(mem, ptr, bytes, 1, Content::String);
                let trap = if self.src.is_callee {
                    AdapterTrap::InvalidUtf8InCallee
                } else {
                    AdapterTrap::InvalidUtf8InCaller
                };
                self.validate_utf8(mem, ptr, len, trap);
            }
            StringEncoding::Utf16 => {
                self.op(I::LocalGet(len))
                    .op(I::I64ExtendI32U)
                    .op(I::I64Const(1))
                    .op(I::I64Shl);
                self.op(I::LocalSet(bytes));
                self.check_range(mem, ptr, bytes, 2, Content::String);
                self.validate_utf16(mem, ptr, len);
            }
            StringEncoding::CompactUtf16 => return Err(
                "a latin1+utf16 string crosses (its checks are compiled with transcoding, not yet)"
                    .into(),
            ),
        }
        Ok(())
    }

    /// Copies a string of `encoding` (the same on both sides) from `src` to
    /// `dst`: the canonical ABI's `store_string_copy` — one allocation of
    /// exactly its bytes, even when empty.
    pub(super) fn copy_string(
        &mut self,
        encoding: StringEncoding,
        src: &Place,
        dst: &Place,
    ) -> Result<(), String> {
        let (Some(src_mem), Some(dst_mem)) = (self.src.memory, self.dst.memory) else {
            return Err("a string crosses without a memory option on both sides".into());
        };
        let (align, shift) = match encoding {
            StringEncoding::Utf8 => (1, 0),
            StringEncoding::Utf16 => (2, 1),
            StringEncoding::CompactUtf16 => {
                return Err("a latin1+utf16 string is never a plain copy (a Tern bug)".into())
            }
        };
        let (ptr, len) = self.pointer_pair(src);
        let bytes = self.local(ValType::I64);
        self.op(I::LocalGet(len)).op(I::I64ExtendI32U);
        if shift > 0 {
            self.op(I::I64Const(shift)).op(I::I64Shl);
        }
        self.op(I::LocalSet(bytes));
        // `check_len`: too long for the ABI.
        self.op(I::LocalGet(bytes))
            .op(I::I64Const(MAX_STRING_BYTE_LENGTH))
            .op(I::I64GtU);
        let (lo, hi) = self.split_i64(bytes);
        self.trap_if(
            AdapterTrap::StringTooLong,
            Operand::Local(lo),
            Operand::Local(hi),
        );
        let new = self.alloc(align, bytes, Content::String)?;
        self.op(I::LocalGet(new))
            .op(I::LocalGet(ptr))
            .op(I::LocalGet(bytes))
            .op(I::I32WrapI64)
            .op(I::MemoryCopy { src_mem, dst_mem });
        self.store_pointer_pair(dst, new, len);
        Ok(())
    }

    /// The low and high halves of `i64` local `x`, in two fresh `i32` locals.
    fn split_i64(&mut self, x: u32) -> (u32, u32) {
        let (lo, hi) = (self.local(ValType::I32), self.local(ValType::I32));
        self.op(I::LocalGet(x))
            .op(I::I32WrapI64)
            .op(I::LocalSet(lo));
        self.op(I::LocalGet(x))
            .op(I::I64Const(32))
            .op(I::I64ShrU)
            .op(I::I32WrapI64)
            .op(I::LocalSet(hi));
        (lo, hi)
    }

    /// Copies a list of `elem` from `src` to `dst`: the canonical ABI's
    /// `store_list` — one allocation of `len * size` bytes, then the elements.
    pub(super) fn copy_list(
        &mut self,
        types: &ComponentTypes,
        elem: InterfaceType,
        src: &Place,
        dst: &Place,
    ) -> Result<(), String> {
        let (Some(src_mem), Some(dst_mem)) = (self.src.memory, self.dst.memory) else {
            return Err("a list crosses without a memory option on both sides".into());
        };
        let (size, align) = types.size_align(elem);
        let (ptr, len) = self.pointer_pair(src);
        let bytes = self.local(ValType::I64);
        self.op(I::LocalGet(len))
            .op(I::I64ExtendI32U)
            .op(I::I64Const(i64::from(size)))
            .op(I::I64Mul)
            .op(I::LocalSet(bytes));
        // The allocation's size must fit in 32 bits.
        self.op(I::LocalGet(bytes))
            .op(I::I64Const(i64::from(u32::MAX)))
            .op(I::I64GtU);
        self.trap_if(
            AdapterTrap::AllocTooLarge,
            Operand::Const(0),
            Operand::Const(0),
        );
        let new = self.alloc(align, bytes, Content::List)?;
        if size > 0 && byte_copyable(types, elem) {
            self.op(I::LocalGet(new))
                .op(I::LocalGet(ptr))
                .op(I::LocalGet(bytes))
                .op(I::I32WrapI64)
                .op(I::MemoryCopy { src_mem, dst_mem });
        } else if size > 0 {
            let (from, to) = (self.local(ValType::I32), self.local(ValType::I32));
            self.op(I::LocalGet(ptr)).op(I::LocalSet(from));
            self.op(I::LocalGet(new)).op(I::LocalSet(to));
            let src_elem = Place::Memory {
                mem: src_mem,
                addr: from,
                offset: 0,
            };
            let dst_elem = Place::Memory {
                mem: dst_mem,
                addr: to,
                offset: 0,
            };
            self.counted_loop(len, |body| {
                body.convert(types, elem, &src_elem, &dst_elem)?;
                for l in [from, to] {
                    body.op(I::LocalGet(l))
                        .op(I::I32Const(size as i32))
                        .op(I::I32Add)
                        .op(I::LocalSet(l));
                }
                Ok(())
            })?;
        }
        self.store_pointer_pair(dst, new, len);
        Ok(())
    }
}

/// Whether a value of `ty` in memory, once checked, is lowered as exactly
/// the bytes it was lifted from: integers, `char`s, enums, flags that use
/// every bit of their words, and records and tuples of those without
/// padding (padding is left as `realloc` returned it, never copied).
pub(super) fn byte_copyable(types: &ComponentTypes, ty: InterfaceType) -> bool {
    use InterfaceType as T;
    match ty {
        T::U8 | T::S8 | T::U16 | T::S16 | T::U32 | T::S32 | T::U64 | T::S64 | T::Char => true,
        T::Bool | T::Float32 | T::Float64 | T::String => false,
        T::Defined(_) => match types.def(ty) {
            Some(TypeDef::Enum(_)) => true,
            Some(TypeDef::Flags(names)) => names.len() == 8 * types.size(ty) as usize,
            Some(TypeDef::Record(_) | TypeDef::Tuple(_)) => {
                let fields = types.fields(ty);
                let used: u32 = fields.iter().map(|(t, _)| types.size(*t)).sum();
                used == types.size(ty) && fields.iter().all(|(t, _)| byte_copyable(types, *t))
            }
            Some(TypeDef::FixedList(elem, _)) => byte_copyable(types, *elem),
            _ => false,
        },
    }
}

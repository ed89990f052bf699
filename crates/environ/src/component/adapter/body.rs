//! The adapter function under construction ([`Body`]) and the small
//! encoding helpers every conversion uses: fresh locals, traps through
//! `tern.trap`, the flags slots, flat coercions, loads and stores, range
//! checks and `realloc` calls. Which value goes where is decided elsewhere
//! (`value.rs`, `check.rs`); this file only knows instructions.

use super::interface::AdapterTrap;
use super::module::Funcs;
use super::res::HandleMoves;
use crate::component::types::FlatType;
use crate::component::vmctx::FLAG_MAY_LEAVE;
use crate::component::StringEncoding;
use wasm_encoder::{BlockType, Instruction as I, MemArg, MemArgTarget, ValType};

/// Where a value is read from or written to.
#[derive(Debug, Clone)]
pub(super) enum Place {
    /// Flat core values in locals, with their types: exactly the value's
    /// flattening (a variant's payload is first coerced into fresh locals of
    /// the case's own types).
    Flat(Vec<(u32, FlatType)>),
    /// In linear memory `mem`, at the address in `i32` local `addr` plus `offset`.
    Memory {
        /// The memory's index in the adapter module.
        mem: u32,
        /// The local holding the base address.
        addr: u32,
        /// A constant added to it.
        offset: u32,
    },
}

impl Place {
    /// The place `offset` bytes further (memory) or `n` flat values on from
    /// `start` (flat), as a sub-value's place.
    pub(super) fn part(&self, start: usize, n: usize, offset: u32) -> Place {
        match self {
            Place::Flat(v) => Place::Flat(v[start..start + n].to_vec()),
            Place::Memory {
                mem,
                addr,
                offset: o,
            } => Place::Memory {
                mem: *mem,
                addr: *addr,
                offset: o + offset,
            },
        }
    }
}

/// One side of a call, as the code moving values towards it sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Side {
    /// Its memory's index in the adapter module, if it has one.
    pub(super) memory: Option<u32>,
    /// Its `realloc`'s function index, if it has one.
    pub(super) realloc: Option<u32>,
    /// Its flags global (whose `may_leave` is clear while `realloc` runs).
    pub(super) flags: u32,
    /// Its string encoding.
    pub(super) encoding: StringEncoding,
    /// Whether it is the callee (for the traps that name a memory).
    pub(super) is_callee: bool,
}

/// What a checked pointer points at, for the trap's wording (the runtime
/// maps it to the fused path's `Content`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Content {
    String = 0,
    List = 1,
    Tuple = 2,
}

/// The adapter function's body under construction.
pub(super) struct Body {
    pub(super) code: Vec<I<'static>>,
    /// The index of the first local that is not a parameter.
    first_local: u32,
    /// The types of the locals that are not parameters.
    pub(super) locals: Vec<ValType>,
    /// The module's function indices.
    pub(super) funcs: Funcs,
    /// Where values come from while converting.
    pub(super) src: Side,
    /// Where values go while converting.
    pub(super) dst: Side,
    /// How resource handles move, when any cross (`res.rs`).
    pub(super) handles: Option<HandleMoves>,
    /// Whether wasm exceptions can unwind through the adapter.
    pub(super) exceptions: bool,
}

impl Body {
    pub(super) fn new(first_local: u32, funcs: Funcs, src: Side, dst: Side) -> Self {
        Self {
            code: Vec::new(),
            first_local,
            locals: Vec::new(),
            funcs,
            src,
            dst,
            handles: None,
            exceptions: false,
        }
    }

    pub(super) fn op(&mut self, i: I<'static>) -> &mut Self {
        self.code.push(i);
        self
    }

    /// A fresh local of type `t`.
    pub(super) fn local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.first_local + self.locals.len() as u32 - 1
    }

    /// A fresh local of flat type `t`.
    pub(super) fn flat_local(&mut self, t: FlatType) -> u32 {
        self.local(val_type(t))
    }

    /// `if (top of stack) { trap(code, a, b) }`, with `a` and `b` from
    /// locals or constants.
    pub(super) fn trap_if(&mut self, trap: AdapterTrap, a: Operand, b: Operand) {
        self.op(I::If(BlockType::Empty));
        self.trap(trap, a, b);
        self.op(I::End);
    }

    /// `trap(code, a, b)` (never returns).
    pub(super) fn trap(&mut self, trap: AdapterTrap, a: Operand, b: Operand) {
        self.op(I::I32Const(trap.code()));
        self.operand(a);
        self.operand(b);
        self.op(I::Call(self.funcs.trap)).op(I::Unreachable);
    }

    fn operand(&mut self, o: Operand) {
        match o {
            Operand::Local(l) => self.op(I::LocalGet(l)),
            Operand::Const(c) => self.op(I::I32Const(c)),
        };
    }

    /// Pushes whether `bit` of flags global `g` is clear.
    pub(super) fn flag_clear(&mut self, g: u32, bit: i32) {
        self.op(I::GlobalGet(g))
            .op(I::I32Const(bit))
            .op(I::I32And)
            .op(I::I32Eqz);
    }

    /// Sets (`on`) or clears `bit` of flags global `g`.
    pub(super) fn set_flag(&mut self, g: u32, bit: i32, on: bool) {
        self.op(I::GlobalGet(g));
        if on {
            self.op(I::I32Const(bit)).op(I::I32Or);
        } else {
            self.op(I::I32Const(!bit)).op(I::I32And);
        }
        self.op(I::GlobalSet(g));
    }

    /// Pushes zero of type `t`.
    pub(super) fn zero(&mut self, t: FlatType) {
        match t {
            FlatType::I32 => self.op(I::I32Const(0)),
            FlatType::I64 => self.op(I::I64Const(0)),
            FlatType::F32 => self.op(I::F32Const(0.0.into())),
            FlatType::F64 => self.op(I::F64Const(0.0.into())),
        };
    }

    /// Converts the value on the stack from join slot type `have` to case
    /// flat type `want` (the canonical ABI's lift coercion).
    pub(super) fn coerce(&mut self, have: FlatType, want: FlatType) {
        use FlatType as F;
        match (have, want) {
            _ if have == want => {}
            (F::I32, F::F32) => {
                self.op(I::F32ReinterpretI32);
            }
            (F::I64, F::I32) => {
                self.op(I::I32WrapI64);
            }
            (F::I64, F::F32) => {
                self.op(I::I32WrapI64).op(I::F32ReinterpretI32);
            }
            (F::I64, F::F64) => {
                self.op(I::F64ReinterpretI64);
            }
            _ => unreachable!("a join slot is never narrower than a case's type"),
        }
    }

    /// Converts the value on the stack from case flat type `want` back to
    /// join slot type `have` (the canonical ABI's lower coercion).
    pub(super) fn coerce_back(&mut self, want: FlatType, have: FlatType) {
        use FlatType as F;
        match (want, have) {
            _ if have == want => {}
            (F::F32, F::I32) => {
                self.op(I::I32ReinterpretF32);
            }
            (F::I32, F::I64) => {
                self.op(I::I64ExtendI32U);
            }
            (F::F32, F::I64) => {
                self.op(I::I32ReinterpretF32).op(I::I64ExtendI32U);
            }
            (F::F64, F::I64) => {
                self.op(I::I64ReinterpretF64);
            }
            _ => unreachable!("a join slot is never narrower than a case's type"),
        }
    }

    /// Pushes the memory address of `place` (which must be in memory)
    /// without its constant offset, and returns `(memory, offset)`.
    pub(super) fn address(&mut self, place: &Place) -> (u32, u32) {
        match place {
            Place::Memory { mem, addr, offset } => {
                self.op(I::LocalGet(*addr));
                (*mem, *offset)
            }
            Place::Flat(_) => unreachable!("a flat place has no address"),
        }
    }

    /// Pushes the `i32` at `offset` bytes into `place`'s memory.
    pub(super) fn load_i32(&mut self, place: &Place, offset: u32) {
        let (mem, o) = self.address(place);
        self.op(I::I32Load(memarg(mem, o + offset, 2)));
    }

    /// Pushes the `(ptr, len)` pair at `place` into two fresh `i32` locals.
    pub(super) fn pointer_pair(&mut self, place: &Place) -> (u32, u32) {
        let (ptr, len) = (self.local(ValType::I32), self.local(ValType::I32));
        match place {
            Place::Flat(v) => {
                self.op(I::LocalGet(v[0].0)).op(I::LocalSet(ptr));
                self.op(I::LocalGet(v[1].0)).op(I::LocalSet(len));
            }
            Place::Memory { .. } => {
                self.load_i32(place, 0);
                self.op(I::LocalSet(ptr));
                self.load_i32(place, 4);
                self.op(I::LocalSet(len));
            }
        }
        (ptr, len)
    }

    /// Writes the `(ptr, len)` pair in locals to `place`.
    pub(super) fn store_pointer_pair(&mut self, place: &Place, ptr: u32, len: u32) {
        match place {
            Place::Flat(v) => {
                self.op(I::LocalGet(ptr)).op(I::LocalSet(v[0].0));
                self.op(I::LocalGet(len)).op(I::LocalSet(v[1].0));
            }
            Place::Memory { .. } => {
                let (mem, o) = self.address(place);
                self.op(I::LocalGet(ptr)).op(I::I32Store(memarg(mem, o, 2)));
                let (mem, o) = self.address(place);
                self.op(I::LocalGet(len))
                    .op(I::I32Store(memarg(mem, o + 4, 2)));
            }
        }
    }

    /// Pushes memory `mem`'s size in bytes as an `i64`.
    fn memory_bytes(&mut self, mem: u32) {
        self.op(I::MemorySize(mem))
            .op(I::I64ExtendI32U)
            .op(I::I64Const(16))
            .op(I::I64Shl);
    }

    /// Traps unless `[ptr, ptr + size)` (`ptr` an `i32` local, `size` an
    /// `i64` local) is aligned to `align` and inside memory `mem`: the fused
    /// path's `check_range`, with its two traps in its order.
    pub(super) fn check_range(&mut self, mem: u32, ptr: u32, size: u32, align: u32, what: Content) {
        if align > 1 {
            self.op(I::LocalGet(ptr))
                .op(I::I32Const(align as i32 - 1))
                .op(I::I32And);
            self.trap_if(AdapterTrap::Unaligned, Operand::Const(0), Operand::Const(0));
        }
        self.op(I::LocalGet(ptr))
            .op(I::I64ExtendI32U)
            .op(I::LocalGet(size))
            .op(I::I64Add);
        self.memory_bytes(mem);
        self.op(I::I64GtU);
        self.trap_if(
            AdapterTrap::OutOfBounds,
            Operand::Const(what as i32),
            Operand::Const(0),
        );
    }

    /// Calls the destination side's `realloc(0, 0, align, size)` (`size` an
    /// `i64` local that fits in 32 bits) with its `may_leave` flag clear, and
    /// checks the result as the fused path's `LowerContext::realloc` does.
    /// Returns the local holding the new pointer.
    pub(super) fn alloc(&mut self, align: u32, size: u32, what: Content) -> Result<u32, String> {
        let (Some(realloc), Some(mem)) = (self.dst.realloc, self.dst.memory) else {
            return Err("the receiving side has no `realloc` or memory option".into());
        };
        let flags = self.dst.flags;
        let (saved, ptr) = (self.local(ValType::I32), self.local(ValType::I32));
        self.op(I::GlobalGet(flags)).op(I::LocalSet(saved));
        self.set_flag(flags, FLAG_MAY_LEAVE, false);
        if self.exceptions {
            // An exception out of `realloc` restores the flag, then goes on.
            self.op(I::Block(BlockType::Empty))
                .op(I::Block(BlockType::Result(ValType::EXNREF)))
                .op(I::TryTable(
                    BlockType::Empty,
                    vec![wasm_encoder::Catch::AllRef { label: 0 }].into(),
                ));
        }
        self.op(I::I32Const(0))
            .op(I::I32Const(0))
            .op(I::I32Const(align as i32))
            .op(I::LocalGet(size))
            .op(I::I32WrapI64)
            .op(I::Call(realloc))
            .op(I::LocalSet(ptr));
        if self.exceptions {
            self.op(I::End)
                .op(I::Br(1))
                .op(I::End)
                .op(I::LocalGet(saved))
                .op(I::GlobalSet(flags))
                .op(I::ThrowRef)
                .op(I::End);
        }
        self.op(I::LocalGet(saved)).op(I::GlobalSet(flags));
        if align > 1 {
            self.op(I::LocalGet(ptr))
                .op(I::I32Const(align as i32 - 1))
                .op(I::I32And);
            self.trap_if(
                AdapterTrap::ReallocUnaligned,
                Operand::Const(0),
                Operand::Const(0),
            );
        }
        self.op(I::LocalGet(ptr))
            .op(I::I64ExtendI32U)
            .op(I::LocalGet(size))
            .op(I::I64Add);
        self.memory_bytes(mem);
        self.op(I::I64GtU);
        self.trap_if(
            AdapterTrap::ReallocOutOfBounds,
            Operand::Const(what as i32),
            Operand::Const(0),
        );
        Ok(ptr)
    }
}

/// An operand of `tern.trap`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Operand {
    Local(u32),
    Const(i32),
}

/// A `MemArg` for memory `mem` at constant `offset` with alignment `2^align`.
pub(super) fn memarg(mem: u32, offset: u32, align: u32) -> MemArg {
    MemArg {
        offset: u64::from(offset),
        align,
        target: MemArgTarget::Memory(mem),
        ordering: None,
    }
}

pub(super) fn val_type(t: FlatType) -> ValType {
    match t {
        FlatType::I32 => ValType::I32,
        FlatType::I64 => ValType::I64,
        FlatType::F32 => ValType::F32,
        FlatType::F64 => ValType::F64,
    }
}

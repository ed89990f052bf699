//! The canonical ABI's moving parts shared by the dynamic ([`crate::component::Val`],
//! `val.rs`) and the typed (`typed.rs`) paths: the contexts a lift or lower
//! runs in, flat core values, memory access with every check the ABI asks
//! for, and strings in the three encodings (`string.rs`).
//!
//! Flat values are kept as `u64` bit patterns: an `i32` or `f32` in the low
//! half, zero-extended. With that representation the ABI's `join` coercions
//! (an `f32` case payload in an `i32` slot, an `i32` in an `i64` slot, …) are
//! the identity when lowering and a truncation when lifting, so variants need
//! no special cases beyond skipping unused slots.
//!
//! Error wording depends on who is on the other side ([`Mode`]): a host call
//! reports like wasmtime's host path (`realloc return: result not aligned`),
//! a component-to-component call like its adapters (`unaligned pointer`).

pub(crate) mod string;
pub(crate) mod transcode;
pub(crate) mod val;

use super::{trap, ComponentTrapKind};
use anyhow::Result;
use std::sync::Arc;
use tern_environ::component::{ComponentTypes, StringEncoding};

use super::handles::{HandleState, StoreHandles, TableId};
use super::resources::ResourceType;
use tern_environ::WasmValType;

use crate::ValRaw;

/// Who is on the other side of a lift or lower, for error wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The host (a call from or to Rust).
    Host,
    /// Another component (a fused component-to-component call).
    Adapter,
}

/// What a checked pointer points at, for error wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    String,
    List,
    Tuple,
}

impl Mode {
    pub(crate) fn unaligned(self) -> anyhow::Error {
        let msg = match self {
            Mode::Host => "pointer not aligned",
            Mode::Adapter => "unaligned pointer",
        };
        super::ComponentTrap::new(ComponentTrapKind::UnalignedPointer, msg).into()
    }

    pub(crate) fn out_of_bounds(self, what: Content) -> anyhow::Error {
        let msg = match (self, what) {
            (Mode::Host, Content::String) => "string pointer/length out of bounds of memory",
            (Mode::Host, Content::List) => "list pointer/length out of bounds of memory",
            (Mode::Host, Content::Tuple) => "pointer out of bounds of memory",
            (Mode::Adapter, Content::String) => "string content out-of-bounds",
            (Mode::Adapter, Content::List) => "list content out-of-bounds",
            (Mode::Adapter, Content::Tuple) => "pointer out-of-bounds",
        };
        super::ComponentTrap::new(ComponentTrapKind::OutOfBounds, msg).into()
    }

    pub(crate) fn realloc_unaligned(self) -> anyhow::Error {
        match self {
            Mode::Host => super::ComponentTrap::new(
                ComponentTrapKind::ReallocUnaligned,
                "realloc return: result not aligned",
            )
            .into(),
            Mode::Adapter => {
                super::ComponentTrap::new(ComponentTrapKind::ReallocUnaligned, "unaligned pointer")
                    .into()
            }
        }
    }

    pub(crate) fn realloc_out_of_bounds(self, what: Content) -> anyhow::Error {
        match self {
            Mode::Host => super::ComponentTrap::new(
                ComponentTrapKind::ReallocOutOfBounds,
                "realloc return: beyond end of memory",
            )
            .into(),
            Mode::Adapter => {
                let mut e = self.out_of_bounds(what);
                if let Some(t) = e.downcast_mut::<super::ComponentTrap>() {
                    t.kind = ComponentTrapKind::ReallocOutOfBounds;
                }
                e
            }
        }
    }
}

/// Checks that `[ptr, ptr + size)` is an aligned range inside `memory_len`.
pub(crate) fn check_range(
    mode: Mode,
    memory_len: usize,
    ptr: u32,
    size: u64,
    align: u32,
    what: Content,
) -> Result<usize> {
    if !ptr.is_multiple_of(align) {
        return Err(mode.unaligned());
    }
    if u64::from(ptr) + size > memory_len as u64 {
        return Err(mode.out_of_bounds(what));
    }
    Ok(ptr as usize)
}

/// Calls `guest`'s `realloc(old, old_size, align, size)` and checks the
/// result (aligned, `size` bytes in bounds) before anything is written
/// through it, with `mode`'s wording.
pub(crate) fn checked_realloc(
    guest: &mut dyn Guest,
    mode: Mode,
    (old, old_size): (u32, u64),
    align: u32,
    size: u64,
    what: Content,
) -> Result<u32> {
    let (Ok(size32), Ok(old32)) = (u32::try_from(size), u32::try_from(old_size)) else {
        return trap(
            ComponentTrapKind::LengthOverflow,
            "allocation size does not fit in 32 bits",
        );
    };
    let ptr = guest.realloc(old, old32, align, size32)?;
    if !ptr.is_multiple_of(align) {
        return Err(mode.realloc_unaligned());
    }
    if u64::from(ptr) + size > guest.memory().len() as u64 {
        return Err(mode.realloc_out_of_bounds(what));
    }
    Ok(ptr)
}

/// Where lifted values come from: the memory they may point into, the types,
/// and the string encoding of the side that produced them.
pub struct LiftContext<'a> {
    pub(crate) memory: &'a [u8],
    pub(crate) types: &'a Arc<ComponentTypes>,
    pub(crate) encoding: StringEncoding,
    pub(crate) mode: Mode,
    /// The memory handle, for values that keep pointing into it (`WasmStr`).
    pub(crate) memory_handle: Option<crate::Memory>,
    /// The store's handle tables (handles move out of this side's table).
    pub(crate) handles: &'a StoreHandles,
    /// This side's handle table and resource types.
    pub(crate) resources: ResourceCx,
    /// Where a fused call records the UTF-16 tags of latin1+utf16 strings.
    pub(crate) tags: Option<&'a string::StringTags>,
}

/// The side of a call that handles move into or out of: its table, the
/// runtime type of each resource type number its types use, and the store.
#[derive(Clone)]
pub(crate) struct ResourceCx {
    pub(crate) table: TableId,
    pub(crate) types: Arc<[Option<ResourceType>]>,
    pub(crate) store: u64,
}

impl<'a> LiftContext<'a> {
    /// The types of the component the values come from.
    pub fn types(&self) -> &ComponentTypes {
        self.types
    }

    /// `n` bytes at `offset`, already known to be in bounds.
    pub(crate) fn bytes(&self, offset: usize, n: usize) -> Result<&'a [u8]> {
        match self.memory.get(offset..offset.saturating_add(n)) {
            Some(b) => Ok(b),
            None => Err(self.mode.out_of_bounds(Content::Tuple)),
        }
    }

    /// Reads a little-endian integer of `N` bytes.
    pub fn load<const N: usize>(&self, offset: usize) -> Result<[u8; N]> {
        let b = self.bytes(offset, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Reads a `u32`.
    pub fn load_u32(&self, offset: usize) -> Result<u32> {
        Ok(u32::from_le_bytes(self.load::<4>(offset)?))
    }

    /// Checks a `(ptr, size)` range of this side's memory.
    pub(crate) fn check(&self, ptr: u32, size: u64, align: u32, what: Content) -> Result<usize> {
        check_range(self.mode, self.memory.len(), ptr, size, align, what)
    }
}

/// Access to the memory and allocator of the side values are lowered into.
pub(crate) trait Guest {
    /// The memory (empty when the side has none).
    fn memory(&mut self) -> &mut [u8];
    /// Calls the side's `realloc`.
    fn realloc(&mut self, old: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32>;
    /// The store's handle tables.
    fn handles(&mut self) -> Result<&mut HandleState>;
}

/// Where lowered values go: the receiving side's memory and allocator.
pub struct LowerContext<'a> {
    pub(crate) guest: &'a mut dyn Guest,
    pub(crate) types: &'a Arc<ComponentTypes>,
    pub(crate) encoding: StringEncoding,
    /// The string encoding of the side the values come from (UTF-8 for the
    /// host), which decides the canonical ABI's `realloc` sequence.
    pub(crate) src_encoding: StringEncoding,
    pub(crate) mode: Mode,
    /// This side's handle table and resource types.
    pub(crate) resources: ResourceCx,
    /// The UTF-16 tags of the latin1+utf16 strings being lowered, when a
    /// fused call lifted them.
    pub(crate) tags: Option<&'a string::StringTags>,
}

impl LowerContext<'_> {
    /// The types of the component the values go to.
    pub fn types(&self) -> &ComponentTypes {
        self.types
    }

    /// Allocates `size` bytes aligned to `align` with the side's `realloc`
    /// and checks the result before anything is written through it.
    pub(crate) fn alloc(&mut self, align: u32, size: u64, what: Content) -> Result<u32> {
        self.realloc(0, 0, align, size, what)
    }

    /// Calls the side's `realloc(old, old_size, align, size)` and checks the
    /// result (aligned, in bounds) before anything is written through it.
    pub(crate) fn realloc(
        &mut self,
        old: u32,
        old_size: u64,
        align: u32,
        size: u64,
        what: Content,
    ) -> Result<u32> {
        checked_realloc(
            &mut *self.guest,
            self.mode,
            (old, old_size),
            align,
            size,
            what,
        )
    }

    /// Checks a `(ptr, size)` range of the receiving memory (a return pointer).
    pub(crate) fn check(
        &mut self,
        ptr: u32,
        size: u64,
        align: u32,
        what: Content,
    ) -> Result<usize> {
        let len = self.guest.memory().len();
        check_range(self.mode, len, ptr, size, align, what)
    }

    /// Writes `bytes` at `offset`, which an earlier check put in bounds.
    #[inline]
    pub fn write(&mut self, offset: usize, bytes: &[u8]) -> Result<()> {
        let mode = self.mode;
        match self
            .guest
            .memory()
            .get_mut(offset..offset.saturating_add(bytes.len()))
        {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(mode.out_of_bounds(Content::Tuple)),
        }
    }
}

/// Flat core values being read by a lift.
pub struct FlatSrc<'a> {
    vals: &'a [u64],
    pos: usize,
}

impl<'a> FlatSrc<'a> {
    pub(crate) fn new(vals: &'a [u64]) -> Self {
        Self { vals, pos: 0 }
    }

    /// The next value's bits.
    pub fn bits(&mut self) -> Result<u64> {
        let v = self.vals.get(self.pos).copied();
        self.pos += 1;
        v.ok_or_else(|| anyhow::anyhow!("too few flat values for the type (a Tern bug)"))
    }

    /// The next value as an `i32` slot (truncating an `i64` join slot).
    pub fn next_u32(&mut self) -> Result<u32> {
        Ok(self.bits()? as u32)
    }

    /// A sub-source over the next `n` values, which this source skips.
    pub(crate) fn take(&mut self, n: usize) -> Result<FlatSrc<'a>> {
        let end = self.pos + n;
        let vals = self
            .vals
            .get(self.pos..end)
            .ok_or_else(|| anyhow::anyhow!("too few flat values (a Tern bug)"))?;
        self.pos = end;
        Ok(FlatSrc { vals, pos: 0 })
    }
}

/// Flat core values being produced by a lower.
#[derive(Default)]
pub struct FlatDst {
    pub(crate) vals: Vec<u64>,
}

impl FlatDst {
    /// Appends a value's bits (an `i32`/`f32` zero-extended).
    pub fn push(&mut self, bits: u64) {
        self.vals.push(bits);
    }

    /// Appends an `i32`.
    pub fn push_u32(&mut self, v: u32) {
        self.vals.push(u64::from(v));
    }

    pub(crate) fn len(&self) -> usize {
        self.vals.len()
    }

    /// Pads with zeros up to `len` values (unused join slots of a variant).
    pub(crate) fn pad_to(&mut self, len: usize) {
        while self.vals.len() < len {
            self.vals.push(0);
        }
    }
}

/// The bits of a raw core value of type `ty`.
pub(crate) fn raw_to_bits(raw: ValRaw, ty: WasmValType) -> u64 {
    match ty {
        WasmValType::I32 => u64::from(raw.get_i32() as u32),
        WasmValType::F32 => u64::from(raw.get_f32()),
        WasmValType::F64 => raw.get_f64(),
        _ => raw.get_i64() as u64,
    }
}

/// A raw core value of type `ty` from bits.
pub(crate) fn bits_to_raw(bits: u64, ty: WasmValType) -> ValRaw {
    match ty {
        WasmValType::I32 => ValRaw::i32(bits as u32 as i32),
        WasmValType::F32 => ValRaw::f32(bits as u32),
        WasmValType::F64 => ValRaw::f64(bits),
        _ => ValRaw::i64(bits as i64),
    }
}

/// Checks a lifted discriminant against the number of cases.
/// A lifted `f32`: every NaN becomes the canonical NaN (`0x7fc00000`), as the
/// canonical ABI's `decode_i32_as_float` says.
pub(crate) fn canonicalize_f32(v: f32) -> f32 {
    if v.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        v
    }
}

/// A lifted `f64`: every NaN becomes the canonical NaN (`0x7ff8000000000000`).
pub(crate) fn canonicalize_f64(v: f64) -> f64 {
    if v.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        v
    }
}

pub(crate) fn check_discriminant(disc: u32, cases: usize) -> Result<usize> {
    if (disc as usize) < cases {
        Ok(disc as usize)
    } else {
        trap(
            ComponentTrapKind::InvalidDiscriminant,
            format!("invalid variant discriminant {disc} (there are {cases} cases)"),
        )
    }
}

/// Reads a discriminant of `size` bytes at `offset`.
pub(crate) fn load_discriminant(cx: &LiftContext<'_>, offset: usize, size: u32) -> Result<u32> {
    Ok(match size {
        1 => u32::from(cx.load::<1>(offset)?[0]),
        2 => u32::from(u16::from_le_bytes(cx.load::<2>(offset)?)),
        _ => cx.load_u32(offset)?,
    })
}

/// Writes a discriminant of `size` bytes at `offset`.
pub(crate) fn store_discriminant(
    cx: &mut LowerContext<'_>,
    offset: usize,
    size: u32,
    disc: u32,
) -> Result<()> {
    match size {
        1 => cx.write(offset, &[disc as u8]),
        2 => cx.write(offset, &(disc as u16).to_le_bytes()),
        _ => cx.write(offset, &disc.to_le_bytes()),
    }
}

/// Validates a lifted `char`.
pub(crate) fn lift_char(bits: u32) -> Result<char> {
    match char::from_u32(bits) {
        Some(c) => Ok(c),
        None => trap(
            ComponentTrapKind::InvalidChar,
            format!("invalid `char` bit pattern: {bits:#x}"),
        ),
    }
}

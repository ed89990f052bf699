//! The few binary encodings the legacy-exception rewrite writes itself:
//! LEB128 numbers, value and heap types, block types and the opcodes it
//! synthesises. Everything else in a rewritten body is copied byte for byte
//! from the original, so only what the rewrite creates or renumbers is here.

use wasmparser::{AbstractHeapType, HeapType, RefType, ValType};

/// `block`.
pub(super) const BLOCK: u8 = 0x02;
/// `br`.
pub(super) const BR: u8 = 0x0C;
/// `br_if`.
pub(super) const BR_IF: u8 = 0x0D;
/// `br_table`.
pub(super) const BR_TABLE: u8 = 0x0E;
/// `return`.
pub(super) const RETURN: u8 = 0x0F;
/// `end`.
pub(super) const END: u8 = 0x0B;
/// `drop`.
pub(super) const DROP: u8 = 0x1A;
/// `local.get`.
pub(super) const LOCAL_GET: u8 = 0x20;
/// `local.set`.
pub(super) const LOCAL_SET: u8 = 0x21;
/// `throw_ref`.
pub(super) const THROW_REF: u8 = 0x0A;
/// `try_table`.
pub(super) const TRY_TABLE: u8 = 0x1F;
/// `br_on_null`.
pub(super) const BR_ON_NULL: u8 = 0xD5;
/// `br_on_non_null`.
pub(super) const BR_ON_NON_NULL: u8 = 0xD6;
/// The GC prefix (`br_on_cast` is 24 and `br_on_cast_fail` 25 behind it).
pub(super) const GC_PREFIX: u8 = 0xFB;
/// The value type `exnref` (`(ref null exn)`).
pub(super) const EXNREF: u8 = 0x69;

/// Appends `value` as unsigned LEB128.
pub(super) fn u32_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends `value` as signed LEB128 (for the s33 of a block type's index).
pub(super) fn s64_leb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads an unsigned LEB128 at `bytes[pos..]`: the value and its length, or
/// `None` if it is cut off or too long.
pub(super) fn read_u32_leb(bytes: &[u8], pos: usize) -> Option<(u32, usize)> {
    let mut value = 0u64;
    for i in 0..5 {
        let byte = *bytes.get(pos + i)?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// Appends a value type.
pub(super) fn val_type(out: &mut Vec<u8>, ty: ValType) {
    match ty {
        ValType::I32 => out.push(0x7F),
        ValType::I64 => out.push(0x7E),
        ValType::F32 => out.push(0x7D),
        ValType::F64 => out.push(0x7C),
        ValType::V128 => out.push(0x7B),
        ValType::Ref(r) => ref_type(out, r),
    }
}

/// Appends a reference type, in the short form for nullable abstract types
/// (the only form Wasm 2.0 modules may use) and the long form otherwise.
pub(super) fn ref_type(out: &mut Vec<u8>, ty: RefType) {
    match ty.heap_type() {
        HeapType::Abstract {
            shared: false,
            ty: abs,
        } if ty.is_nullable() => {
            out.push(abstract_heap_type(abs));
        }
        heap => {
            out.push(if ty.is_nullable() { 0x63 } else { 0x64 });
            heap_type(out, heap);
        }
    }
}

/// Appends a heap type.
pub(super) fn heap_type(out: &mut Vec<u8>, ty: HeapType) {
    match ty {
        HeapType::Abstract { shared, ty } => {
            if shared {
                out.push(0x65);
            }
            out.push(abstract_heap_type(ty));
        }
        HeapType::Concrete(index) => {
            s64_leb(out, i64::from(module_index(index)));
        }
        HeapType::Exact(index) => {
            out.push(0x62);
            u32_leb(out, module_index(index));
        }
    }
}

/// The module-level index of a type reference. The reader yields only
/// module indices (rec-group-relative ones exist only inside the validator);
/// anything else becomes an index no module has, which the validation of the
/// rewritten module then refuses with an error instead of a wrong type.
fn module_index(index: wasmparser::UnpackedIndex) -> u32 {
    index.as_module_index().unwrap_or(u32::MAX)
}

/// The one-byte code of an abstract heap type.
fn abstract_heap_type(ty: AbstractHeapType) -> u8 {
    match ty {
        AbstractHeapType::Func => 0x70,
        AbstractHeapType::Extern => 0x6F,
        AbstractHeapType::Any => 0x6E,
        AbstractHeapType::None => 0x71,
        AbstractHeapType::NoExtern => 0x72,
        AbstractHeapType::NoFunc => 0x73,
        AbstractHeapType::Eq => 0x6D,
        AbstractHeapType::Struct => 0x6B,
        AbstractHeapType::Array => 0x6A,
        AbstractHeapType::I31 => 0x6C,
        AbstractHeapType::Exn => 0x69,
        AbstractHeapType::NoExn => 0x74,
        AbstractHeapType::Cont => 0x68,
        AbstractHeapType::NoCont => 0x75,
    }
}

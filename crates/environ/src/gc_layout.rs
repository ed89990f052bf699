//! The layout of objects in a store's GC heap, defined once for the code
//! generator (which emits field loads and stores at these offsets) and the
//! runtime (which allocates objects and lets the host read their fields), so
//! the two cannot drift (see `docs/design/gc.md` §3).
//!
//! ```text
//! every object   +0 u32 engine type id   +4 u32 kind (GcKind) + GC bits
//! struct         +8 fields in declaration order, each at its natural alignment
//!                   (at most 8: objects are 8-aligned)
//! array          +8 u32 length, then the elements from the first offset
//!                   aligned for the element (12 for 1/2/4-byte elements, 16 else)
//! extern object  +8 u64 the host `externref` word (`any.convert_extern`)
//! exception      +8 u64 the tag's identity (its `VMTagDefinition` address),
//!                   then the payload: laid out as a struct whose first field
//!                   is that u64 and whose others are the tag's parameters
//!                   (header type id: the tag's function type)
//! ```
//!
//! A field of the `any` hierarchy is stored as the 32-bit reference word
//! (0 null, odd i31, even heap offset); every other reference (function,
//! extern, exception) as its full 64-bit word. Layouts are a pure function of
//! the type, so computing them where needed gives the same answer everywhere.

use crate::{WasmArrayType, WasmHeapType, WasmStorageType, WasmStructType, WasmValType};

/// Offset of the engine type id in an object's header.
pub const GC_HEADER_TYPE_ID: u32 = 0;
/// Offset of the kind word in an object's header.
pub const GC_HEADER_KIND: u32 = 4;
/// Size of the header every object starts with.
pub const GC_HEADER_SIZE: u32 = 8;
/// Offset of an array's `u32` length.
pub const GC_ARRAY_LENGTH: u32 = 8;
/// Offset of an extern object's host word.
pub const GC_EXTERN_PAYLOAD: u32 = 8;
/// Size of an extern object.
pub const GC_EXTERN_SIZE: u32 = 16;
/// The type id in an extern object's header: no engine type has it, so a
/// cast to a concrete type never accepts an extern object.
pub const GC_EXTERN_TYPE_ID: u32 = u32::MAX;
/// The first heap offset objects are allocated from: 0 is null, so no object
/// may live there.
pub const GC_HEAP_START: u64 = 8;
/// The largest a GC heap may grow: object references are 32-bit offsets.
pub const GC_HEAP_MAX: u64 = 1 << 32;

/// What an object is, stored in its header's kind word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum GcKind {
    /// A struct.
    Struct = 1,
    /// An array.
    Array = 2,
    /// An `externref` seen as an `anyref` (`any.convert_extern`).
    Extern = 3,
    /// An exception (`exnref`): see [`gc_exn_layout`].
    Exn = 4,
}

/// The GC bit of a header's kind word set on a from-space object that a
/// collection has copied; its type id word then holds the new offset. Only
/// the collector ever sees it (compiled code and the host never look at a
/// from-space object).
pub const GC_FORWARDED: u32 = 1 << 31;

impl GcKind {
    /// The kind stored in a header's kind word, if it is one.
    pub fn from_word(word: u32) -> Option<Self> {
        match word & 0xff {
            1 => Some(Self::Struct),
            2 => Some(Self::Array),
            3 => Some(Self::Extern),
            4 => Some(Self::Exn),
            _ => None,
        }
    }
}

/// The bytes a field or element of `ty` takes.
pub fn gc_storage_size(ty: WasmStorageType) -> u32 {
    match ty {
        WasmStorageType::I8 => 1,
        WasmStorageType::I16 => 2,
        WasmStorageType::Val(v) => match v {
            WasmValType::I32 | WasmValType::F32 => 4,
            WasmValType::I64 | WasmValType::F64 => 8,
            WasmValType::V128 => 16,
            WasmValType::Ref(r) if r.heap.top() == WasmHeapType::Any => 4,
            WasmValType::Ref(_) => 8,
        },
    }
}

/// Where a struct's fields are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcStructLayout {
    /// The object's size in bytes (header included, a multiple of 8).
    pub size: u32,
    /// Each field's offset from the object's start.
    pub fields: Vec<u32>,
}

/// Where an array's elements are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcArrayLayout {
    /// Offset of element 0 from the object's start.
    pub elems_offset: u32,
    /// Bytes per element.
    pub elem_size: u32,
}

impl GcArrayLayout {
    /// The layout of arrays whose elements take `elem_size` bytes (1, 2, 4,
    /// 8 or 16): elements start after the length, aligned to their size
    /// (at most 8).
    pub fn for_elem_size(elem_size: u32) -> Self {
        let align = elem_size.min(8);
        Self {
            elems_offset: (GC_ARRAY_LENGTH + 4).div_ceil(align) * align,
            elem_size,
        }
    }

    /// The object's size for `len` elements (a multiple of 8), or `None` when
    /// it exceeds [`GC_HEAP_MAX`].
    pub fn size(&self, len: u32) -> Option<u64> {
        let bytes = u64::from(self.elems_offset) + u64::from(len) * u64::from(self.elem_size);
        let size = bytes.div_ceil(8) * 8;
        (size < GC_HEAP_MAX).then_some(size)
    }
}

/// The layout of a struct type.
pub fn gc_struct_layout(ty: &WasmStructType) -> GcStructLayout {
    let mut at = GC_HEADER_SIZE;
    let fields = ty
        .fields
        .iter()
        .map(|f| {
            let size = gc_storage_size(f.element);
            let align = size.min(8);
            at = at.div_ceil(align) * align;
            let offset = at;
            at += size;
            offset
        })
        .collect();
    GcStructLayout {
        size: at.div_ceil(8) * 8,
        fields,
    }
}

/// Offset of an exception object's tag identity (a u64).
pub const GC_EXN_TAG: u32 = GC_HEADER_SIZE;

/// The layout of an exception object whose tag has the parameters `params`:
/// exactly [`gc_struct_layout`] of a struct whose fields are a u64 (the tag
/// identity, at [`GC_EXN_TAG`]) followed by `params`. `fields[0]` is the
/// tag's offset, `fields[i + 1]` parameter `i`'s.
pub fn gc_exn_layout(params: &[WasmValType]) -> GcStructLayout {
    let immutable = |v| crate::WasmFieldType {
        element: WasmStorageType::Val(v),
        mutable: false,
    };
    let fields = std::iter::once(immutable(WasmValType::I64))
        .chain(params.iter().map(|p| immutable(*p)))
        .collect();
    gc_struct_layout(&WasmStructType { fields })
}

/// The layout of an array type.
pub fn gc_array_layout(ty: &WasmArrayType) -> GcArrayLayout {
    GcArrayLayout::for_elem_size(gc_storage_size(ty.0.element))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WasmFieldType;

    fn field(element: WasmStorageType) -> WasmFieldType {
        WasmFieldType {
            element,
            mutable: true,
        }
    }

    #[test]
    fn struct_fields_are_naturally_aligned_after_the_header() {
        let ty = WasmStructType {
            fields: vec![
                field(WasmStorageType::I8),
                field(WasmStorageType::Val(WasmValType::I64)),
                field(WasmStorageType::I16),
                field(WasmStorageType::Val(WasmValType::V128)),
            ]
            .into(),
        };
        let l = gc_struct_layout(&ty);
        assert_eq!(l.fields, vec![8, 16, 24, 32]);
        assert_eq!(l.size, 48);
    }

    #[test]
    fn exception_payloads_follow_the_tag_like_struct_fields() {
        let l = gc_exn_layout(&[WasmValType::I32, WasmValType::V128, WasmValType::F32]);
        // The tag, then i32; v128 is 8-aligned like every field of 8+ bytes.
        assert_eq!(l.fields, vec![GC_EXN_TAG, 16, 24, 40]);
        assert_eq!(l.size, 48);
        assert_eq!(gc_exn_layout(&[]).size, 16);
    }

    #[test]
    fn array_elements_follow_the_length() {
        let i8s = WasmArrayType(field(WasmStorageType::I8));
        let f64s = WasmArrayType(field(WasmStorageType::Val(WasmValType::F64)));
        assert_eq!(gc_array_layout(&i8s).elems_offset, 12);
        assert_eq!(gc_array_layout(&f64s).elems_offset, 16);
        assert_eq!(gc_array_layout(&i8s).size(5), Some(24));
        assert_eq!(gc_array_layout(&f64s).size(u32::MAX), None);
    }
}

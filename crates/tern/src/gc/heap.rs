//! The store's side of the GC heap (see `docs/design/gc.md` §3–§4):
//! allocation when compiled code's inline bump runs out (collecting first,
//! then growing and asking the store's resource limiter, as a memory's
//! growth does), the array operators the libcalls in
//! `vm::gc_libcalls` hand over, and typed reads and writes of fields for the
//! host API. Everything here is safe code on the bytes of the heap's
//! accessible part; an offset that does not name an object of the expected
//! shape reads or writes other heap bytes or fails, never memory outside.

use crate::store::StoreOpaque;
use crate::{Val, ValRaw, ValType};
use anyhow::{bail, Result};
use tern_environ::{
    gc_array_layout, gc_storage_size, GcArrayLayout, GcKind, WasmCompositeType, WasmStorageType,
    WasmValType, GC_ARRAY_LENGTH, GC_HEADER_KIND, GC_HEADER_TYPE_ID, GC_HEAP_MAX, GC_HEAP_START,
};

/// What a new or initialised array's elements come from.
pub(crate) enum ArrayFill<'a> {
    /// Little-endian element bytes (a data segment).
    Bytes(&'a [u8]),
    /// Reference words, one per element (an element segment).
    Words(&'a [u64]),
}

/// The outcome of an array range operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Status {
    /// Done.
    Ok = 0,
    /// The array range is out of bounds; nothing was written.
    ArrayOutOfBounds = 1,
    /// The segment range is out of bounds; nothing was written.
    SegmentOutOfBounds = 2,
}

impl StoreOpaque {
    /// Allocates `size` zeroed bytes; `None` when the heap is full.
    ///
    /// **Policy** (`docs/design/gc.md` §4): when the bump pointer reaches
    /// its limit, collect first; then grow the heap (asking the resource
    /// limiter, as a memory's growth does) only when the allocation still
    /// does not fit or less than half the heap is free after the
    /// collection, so the heap grows with the live data, not with the
    /// garbage; `None` (compiled code traps with `GcHeapOutOfMemory`) only
    /// when the allocation neither fits after collecting nor can grow. Must
    /// only be called where a collection may run (see `gc::collect`).
    ///
    /// # Errors
    /// The resource limiter's error.
    pub(crate) fn gc_alloc(&mut self, size: u64) -> Result<Option<u64>> {
        if self.gc_heap.needed_for(&self.limits, size).is_none() {
            return Ok(Some(self.gc_heap.bump(&self.limits, size)));
        }
        if self.gc_heap.exists() {
            self.gc_collect();
        }
        let fits = self.gc_heap.needed_for(&self.limits, size).is_none();
        let after = self
            .limits
            .gc_next()
            .max(GC_HEAP_START)
            .saturating_add(size);
        let crowded = after > self.gc_heap.accessible() / 2;
        if !fits || crowded {
            let grew = self.gc_grow_for(size)?;
            if !grew && !fits {
                return Ok(None);
            }
        }
        Ok(Some(self.gc_heap.bump(&self.limits, size)))
    }

    /// Grows the heap so that `size` more bytes fit with room to spare
    /// (doubling it if the limiter allows, else as little as fits); whether
    /// it grew.
    ///
    /// # Errors
    /// The resource limiter's error.
    fn gc_grow_for(&mut self, size: u64) -> Result<bool> {
        let needed = self
            .limits
            .gc_next()
            .max(GC_HEAP_START)
            .saturating_add(size);
        if needed > GC_HEAP_MAX {
            return Ok(false);
        }
        let current = self.gc_heap.accessible() as usize;
        let (doubled, minimal) = self.gc_heap.growth_targets(needed);
        let mut target = None;
        for want in [doubled, minimal] {
            if want as usize <= current {
                continue;
            }
            let allowed = match self.limiter() {
                Some(limiter) => {
                    limiter.memory_growing(current, want as usize, Some(GC_HEAP_MAX as usize))?
                }
                None => true,
            };
            if allowed {
                target = Some(want);
                break;
            }
        }
        let Some(target) = target else {
            return Ok(false);
        };
        if let Err(e) = self.gc_heap.grow_to(&self.limits, target) {
            if let Some(limiter) = self.limiter() {
                limiter.memory_grow_failed(&e)?;
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// Allocates an object of engine type `type_id` and `kind` taking `size`
    /// bytes and writes its header; `None` when the heap is full.
    ///
    /// # Errors
    /// The resource limiter's error.
    pub(crate) fn gc_alloc_object(
        &mut self,
        type_id: u32,
        kind: GcKind,
        size: u64,
    ) -> Result<Option<u64>> {
        let Some(at) = self.gc_alloc(size)? else {
            return Ok(None);
        };
        self.gc_write(at + u64::from(GC_HEADER_TYPE_ID), &type_id.to_le_bytes());
        self.gc_write(at + u64::from(GC_HEADER_KIND), &(kind as u32).to_le_bytes());
        Ok(Some(at))
    }

    /// A new array of engine type `type_id` with `len` elements of
    /// `elem_size` bytes from `fill` (which holds exactly `len` elements);
    /// `None` when the heap is full.
    ///
    /// # Errors
    /// The resource limiter's error.
    pub(crate) fn gc_new_array(
        &mut self,
        type_id: u32,
        elem_size: u32,
        len: u32,
        fill: ArrayFill<'_>,
    ) -> Result<Option<u64>> {
        let layout = self.gc_array_layout_of(type_id)?;
        debug_assert_eq!(layout.elem_size, elem_size);
        let Some(size) = layout.size(len) else {
            return Ok(None);
        };
        let Some(at) = self.gc_alloc_object(type_id, GcKind::Array, size)? else {
            return Ok(None);
        };
        self.gc_write(at + u64::from(GC_ARRAY_LENGTH), &len.to_le_bytes());
        self.gc_fill_elements(at, layout, 0, fill);
        Ok(Some(at))
    }

    /// `array.init_data`/`array.init_elem`: writes `len` elements from
    /// `fill` (`None` when the segment range is out of bounds) at `dst`.
    pub(crate) fn gc_array_init(
        &mut self,
        array: u64,
        elem_size: u32,
        dst: u32,
        len: u32,
        fill: Option<ArrayFill<'_>>,
    ) -> Status {
        if !self.gc_array_range_ok(array, dst, len) {
            return Status::ArrayOutOfBounds;
        }
        let Some(fill) = fill else {
            return Status::SegmentOutOfBounds;
        };
        let layout = GcArrayLayout::for_elem_size(elem_size);
        self.gc_fill_elements(array, layout, dst, fill);
        Status::Ok
    }

    /// `array.copy` of `len` elements of `elem_size` bytes (overlap allowed).
    pub(crate) fn gc_array_copy(
        &mut self,
        dst: u64,
        dst_index: u32,
        src: u64,
        src_index: u32,
        len: u32,
        elem_size: u32,
    ) -> Status {
        if !self.gc_array_range_ok(dst, dst_index, len)
            || !self.gc_array_range_ok(src, src_index, len)
        {
            return Status::ArrayOutOfBounds;
        }
        let elems = u64::from(GcArrayLayout::for_elem_size(elem_size).elems_offset);
        let size = u64::from(elem_size);
        let from = (src + elems + u64::from(src_index) * size) as usize;
        let to = (dst + elems + u64::from(dst_index) * size) as usize;
        let n = (u64::from(len) * size) as usize;
        let bytes = self.gc_heap.bytes_mut();
        if from + n <= bytes.len() && to + n <= bytes.len() {
            bytes.copy_within(from..from + n, to);
        }
        Status::Ok
    }

    /// Whether `[start, start + len)` lies in array `array`.
    fn gc_array_range_ok(&self, array: u64, start: u32, len: u32) -> bool {
        let n = self.gc_read_u32(array + u64::from(GC_ARRAY_LENGTH));
        u64::from(start) + u64::from(len) <= u64::from(n)
    }

    /// Writes `fill`'s elements from index `start` of array `at` (in bounds).
    fn gc_fill_elements(
        &mut self,
        at: u64,
        layout: GcArrayLayout,
        start: u32,
        fill: ArrayFill<'_>,
    ) {
        let first =
            at + u64::from(layout.elems_offset) + u64::from(start) * u64::from(layout.elem_size);
        match fill {
            ArrayFill::Bytes(bytes) => self.gc_write(first, bytes),
            ArrayFill::Words(words) => {
                for (i, w) in words.iter().enumerate() {
                    let slot = first + i as u64 * u64::from(layout.elem_size);
                    let bytes = w.to_le_bytes();
                    self.gc_write(slot, &bytes[..layout.elem_size as usize]);
                }
            }
        }
    }

    /// The layout of array type `type_id`.
    ///
    /// # Errors
    /// Fails if `type_id` is not an array type (never, for ids compiled code passes).
    pub(crate) fn gc_array_layout_of(&self, type_id: u32) -> Result<GcArrayLayout> {
        match self.engine.sub_type(type_id).map(|t| t.composite) {
            Some(WasmCompositeType::Array(a)) => Ok(gc_array_layout(&a)),
            _ => bail!("type {type_id} is not an array type"),
        }
    }

    /// Copies `bytes` into the heap at `at`; out-of-heap writes are dropped
    /// (they cannot happen for objects the heap allocated).
    pub(crate) fn gc_write(&mut self, at: u64, bytes: &[u8]) {
        let heap = self.gc_heap.bytes_mut();
        let at = at as usize;
        if let Some(dst) = heap.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Reads `N` bytes of the heap at `at` (zeros outside it).
    pub(crate) fn gc_read<const N: usize>(&self, at: u64) -> [u8; N] {
        let at = at as usize;
        let mut out = [0; N];
        if let Some(src) = self.gc_heap.bytes().get(at..at + N) {
            out.copy_from_slice(src);
        }
        out
    }

    /// Reads a `u32` of the heap at `at`.
    pub(crate) fn gc_read_u32(&self, at: u64) -> u32 {
        u32::from_le_bytes(self.gc_read(at))
    }

    /// The engine type id and kind in the header of object `at`.
    pub(crate) fn gc_header(&self, at: u64) -> (u32, Option<GcKind>) {
        (
            self.gc_read_u32(at + u64::from(GC_HEADER_TYPE_ID)),
            GcKind::from_word(self.gc_read_u32(at + u64::from(GC_HEADER_KIND))),
        )
    }

    /// Reads a field or element of storage type `ty` at `at` as a [`Val`]
    /// (packed integers zero-extended).
    pub(crate) fn gc_read_value(&mut self, ty: WasmStorageType, at: u64) -> Val {
        let bytes: [u8; 16] = self.gc_read(at);
        let size = gc_storage_size(ty) as usize;
        let mut raw = [0u8; 16];
        raw[..size].copy_from_slice(&bytes[..size]);
        let raw = ValRaw::v128(u128::from_le_bytes(raw));
        match ty {
            WasmStorageType::I8 | WasmStorageType::I16 => Val::I32(raw.get_i32()),
            WasmStorageType::Val(v) => Val::from_raw(self, raw, ValType::from_wasm(v)),
        }
    }

    /// Writes `val` as a field or element of storage type `ty` at `at`.
    ///
    /// # Errors
    /// Fails if `val` is not of the field's type, or is a reference of
    /// another store.
    pub(crate) fn gc_write_value(&mut self, ty: WasmStorageType, at: u64, val: &Val) -> Result<()> {
        let expected = unpacked(ty);
        if !val.matches_ty(self, &expected)? {
            bail!(
                "value of type {:?} does not match the field type {expected:?}",
                val.ty()
            );
        }
        let raw = val.to_raw(self)?;
        let size = gc_storage_size(ty) as usize;
        let bytes = raw.get_v128().to_le_bytes();
        self.gc_write(at, &bytes[..size]);
        Ok(())
    }
}

/// The value type a field of storage type `ty` is read and written as.
pub(crate) fn unpacked(ty: WasmStorageType) -> ValType {
    ValType::from_wasm(match ty {
        WasmStorageType::I8 | WasmStorageType::I16 => WasmValType::I32,
        WasmStorageType::Val(v) => v,
    })
}

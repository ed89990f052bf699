//! The GC heap's libcalls (see `tern_environ::Builtin` and
//! `docs/design/gc.md`): growing the heap when the inline bump allocation
//! runs out, and the array operators that read segments or copy ranges.
//!
//! Each one only finds its store (and segment) here; the work is safe code
//! on the heap's bytes in `crate::gc::heap`. Like the other libcalls, they
//! return a status and let compiled code trap, except when the store's
//! resource limiter answers with an error, which unwinds from here.

use super::libcalls::trap_with;
use super::store_cast::store_from_vmctx;
use super::vmcontext::VMContext;
use super::VMInstance;
use crate::gc::heap::{ArrayFill, Status};

/// The `gc_alloc` libcall: the new object's offset, 0 when the heap is full.
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its
/// own live instance vmctx, from inside `catch_traps`, with the store
/// suspended in the call that entered wasm.
pub(super) unsafe extern "C" fn gc_alloc(vmctx: *mut VMContext, size: u64) -> u64 {
    // SAFETY: guaranteed by the caller; no other reference into the store is held.
    let store = unsafe { store_from_vmctx(vmctx) };
    match store.gc_alloc(size) {
        Ok(at) => at.unwrap_or(0),
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    }
}

/// The bytes of data segment `data` of the instance of `vmctx`.
///
/// # Safety
/// `vmctx` must be a live instance vmctx. The bytes belong to the module
/// (they outlive the instance, see `VMInstance::set_data_segments`), so the
/// slice stays valid while the caller uses the store.
unsafe fn data_segment<'a>(vmctx: *mut VMContext, data: u32) -> &'a [u8] {
    // SAFETY: guaranteed by the caller; the instance reference ends here.
    let segment = unsafe { VMInstance::from_vmctx(vmctx) }.data_segment(data);
    // SAFETY: the bytes are the module's, not the instance's (see above).
    unsafe { std::slice::from_raw_parts(segment.as_ptr(), segment.len()) }
}

/// The words of element segment `elem` in `[src, src + len)`, copied out
/// of the instance, or `None` when the range is out of the segment.
///
/// # Safety
/// `vmctx` must be a live instance vmctx, with no other reference to its
/// `VMInstance` in use.
unsafe fn elem_range(vmctx: *mut VMContext, elem: u32, src: u32, len: u32) -> Option<Vec<u64>> {
    // SAFETY: guaranteed by the caller; the reference ends in this function.
    let segment = unsafe { VMInstance::from_vmctx(vmctx) }.elem_segment(elem);
    let end = (src as usize).checked_add(len as usize)?;
    let items = segment.get(src as usize..end)?;
    Some(items.iter().map(|w| *w as u64).collect())
}

/// The `array_new_data` libcall: the array's offset, 0 when the bytes are out
/// of the segment, 1 when the heap is full.
///
/// # Safety
/// As for `gc_alloc`.
pub(super) unsafe extern "C" fn array_new_data(
    vmctx: *mut VMContext,
    ty: u32,
    elem_size: u32,
    data: u32,
    src: u32,
    len: u32,
) -> u64 {
    // SAFETY: as for `gc_alloc`.
    let bytes = unsafe { data_segment(vmctx, data) };
    let byte_len = u64::from(len) * u64::from(elem_size);
    let Some(bytes) = usize::try_from(u64::from(src) + byte_len)
        .ok()
        .and_then(|end| bytes.get(src as usize..end))
    else {
        return 0;
    };
    // SAFETY: as for `gc_alloc`; the segment is not in the store.
    let store = unsafe { store_from_vmctx(vmctx) };
    match store.gc_new_array(ty, elem_size, len, ArrayFill::Bytes(bytes)) {
        Ok(Some(at)) => at,
        Ok(None) => 1,
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    }
}

/// The `array_new_elem` libcall: as `array_new_data`, from an element segment.
///
/// # Safety
/// As for `gc_alloc`.
pub(super) unsafe extern "C" fn array_new_elem(
    vmctx: *mut VMContext,
    ty: u32,
    elem_size: u32,
    elem: u32,
    src: u32,
    len: u32,
) -> u64 {
    // SAFETY: as for `gc_alloc`.
    let Some(words) = (unsafe { elem_range(vmctx, elem, src, len) }) else {
        return 0;
    };
    // SAFETY: as for `gc_alloc`; the words were copied out of the instance.
    let store = unsafe { store_from_vmctx(vmctx) };
    match store.gc_new_array(ty, elem_size, len, ArrayFill::Words(&words)) {
        Ok(Some(at)) => at,
        Ok(None) => 1,
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    }
}

/// The `array_init_data` libcall: status 0, 1 (array range out of bounds)
/// or 2 (segment range out of bounds).
///
/// # Safety
/// As for `gc_alloc`; `array` is a non-null array reference of this store.
pub(super) unsafe extern "C" fn array_init_data(
    vmctx: *mut VMContext,
    array: u64,
    elem_size: u32,
    dst: u32,
    data: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: as for `gc_alloc`.
    let bytes = unsafe { data_segment(vmctx, data) };
    // SAFETY: as for `gc_alloc`; the segment is not in the store.
    let store = unsafe { store_from_vmctx(vmctx) };
    let byte_len = u64::from(len) * u64::from(elem_size);
    let segment = usize::try_from(u64::from(src) + byte_len)
        .ok()
        .and_then(|end| bytes.get(src as usize..end));
    store.gc_array_init(array, elem_size, dst, len, segment.map(ArrayFill::Bytes)) as u32
}

/// The `array_init_elem` libcall: as `array_init_data`, from an element segment.
///
/// # Safety
/// As for `array_init_data`.
pub(super) unsafe extern "C" fn array_init_elem(
    vmctx: *mut VMContext,
    array: u64,
    elem_size: u32,
    dst: u32,
    elem: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: as for `gc_alloc`.
    let words = unsafe { elem_range(vmctx, elem, src, len) };
    // SAFETY: as for `gc_alloc`; the words were copied out of the instance.
    let store = unsafe { store_from_vmctx(vmctx) };
    let fill = words.as_deref().map(ArrayFill::Words);
    store.gc_array_init(array, elem_size, dst, len, fill) as u32
}

/// The `array_copy` libcall: status 0, or 1 when a range is out of bounds.
///
/// # Safety
/// As for `gc_alloc`; `dst` and `src` are non-null array references of this
/// store with elements of `elem_size` bytes.
pub(super) unsafe extern "C" fn array_copy(
    vmctx: *mut VMContext,
    dst: u64,
    dst_index: u32,
    src: u64,
    src_index: u32,
    len: u32,
    elem_size: u32,
) -> u32 {
    // SAFETY: as for `gc_alloc`.
    let store = unsafe { store_from_vmctx(vmctx) };
    match store.gc_array_copy(dst, dst_index, src, src_index, len, elem_size) {
        Status::Ok => 0,
        _ => 1,
    }
}

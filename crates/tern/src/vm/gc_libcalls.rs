//! The GC heap's libcalls (see `tern_environ::Builtin` and
//! `docs/design/gc.md`): allocation when the inline bump runs out (which may
//! collect), and the array operators that read segments or copy ranges.
//!
//! Each one only finds its store (and segment) here; the work is safe code
//! on the heap's bytes in `crate::gc::heap` and `crate::gc::collect`. Like the
//! other libcalls, they return a status and let compiled code trap, except
//! when the store's resource limiter answers with an error, which unwinds
//! from here.
//!
//! # Safepoints
//! A collection rewrites the reference slots of every wasm frame of the
//! store, found from the frame pointer the store's `last_wasm_exit_fp` names
//! (see `vm::stack_roots`). The wasm-to-host trampoline records it; a libcall
//! is an ordinary Rust function without a guaranteed frame pointer, so every
//! libcall from which a collection can be reached is entered through a small
//! C entry (`libcall_entry.c`) that keeps a frame with a frame pointer and
//! passes its address to the Rust body here, which records it first
//! ([`record_exit_fp`]). Those libcalls are the allocating ones (`gc_alloc`,
//! `array_new_data`, `array_new_elem`) and the two that run embedder
//! callbacks holding the store (`out_of_fuel`, `new_epoch`, in
//! `vm::libcalls`). No other libcall may reach a collection: they do not
//! record where wasm stopped. (`exn3`: `throw_new` must use an entry too
//! once exceptions are allocated on the heap.)

use super::libcalls::trap_with;
use super::store_cast::store_from_vmctx;
use super::vmcontext::VMContext;
use super::VMInstance;
use crate::gc::heap::{ArrayFill, Status};
use crate::store::StoreOpaque;

extern "C" {
    /// The C entry of `gc_alloc` (see the module note): calls
    /// [`tern_gc_alloc_body`] with its frame address.
    #[link_name = "tern_gc_alloc_entry"]
    pub(super) fn gc_alloc(vmctx: *mut VMContext, size: u64) -> u64;
    /// The C entry of `array_new_data`: calls [`tern_array_new_data_body`].
    #[link_name = "tern_array_new_data_entry"]
    pub(super) fn array_new_data(
        vmctx: *mut VMContext,
        ty: u32,
        elem_size: u32,
        data: u32,
        src: u32,
        len: u32,
    ) -> u64;
    /// The C entry of `array_new_elem`: calls [`tern_array_new_elem_body`].
    #[link_name = "tern_array_new_elem_entry"]
    pub(super) fn array_new_elem(
        vmctx: *mut VMContext,
        ty: u32,
        elem_size: u32,
        elem: u32,
        src: u32,
        len: u32,
    ) -> u64;
}

/// Records `exit_fp`, the frame address of a libcall's C entry, as the
/// frame where the store's innermost wasm stopped (see the module note).
pub(super) fn record_exit_fp(store: &StoreOpaque, exit_fp: usize) {
    // SAFETY: the limits are the store's own, alive as long as it is; only
    // this thread's wasm and its libcalls touch this field meanwhile, and
    // wasm is stopped in the libcall that calls this.
    unsafe { *store.limits().last_wasm_exit_fp.get() = exit_fp };
}

/// The `gc_alloc` libcall: the new object's offset, 0 when the heap is full.
/// It may collect garbage first (see the module note).
///
/// # Safety
/// Only the C entry `tern_gc_alloc_entry` calls it, with `exit_fp` its own
/// frame address, called by compiled code through the `VMBuiltins` table,
/// passing its own live instance vmctx, from inside `catch_traps`, with the
/// store suspended in the call that entered wasm.
#[no_mangle]
unsafe extern "C" fn tern_gc_alloc_body(vmctx: *mut VMContext, size: u64, exit_fp: usize) -> u64 {
    // SAFETY: guaranteed by the caller; no other reference into the store is held.
    let store = unsafe { store_from_vmctx(vmctx) };
    record_exit_fp(store, exit_fp);
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
/// As for `tern_gc_alloc_body` (through `tern_array_new_data_entry`).
#[no_mangle]
unsafe extern "C" fn tern_array_new_data_body(
    vmctx: *mut VMContext,
    ty: u32,
    elem_size: u32,
    data: u32,
    src: u32,
    len: u32,
    exit_fp: usize,
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
    record_exit_fp(store, exit_fp);
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
/// As for `tern_gc_alloc_body` (through `tern_array_new_elem_entry`).
#[no_mangle]
unsafe extern "C" fn tern_array_new_elem_body(
    vmctx: *mut VMContext,
    ty: u32,
    elem_size: u32,
    elem: u32,
    src: u32,
    len: u32,
    exit_fp: usize,
) -> u64 {
    // SAFETY: as for `gc_alloc`.
    if (unsafe { elem_range(vmctx, elem, src, len) }).is_none() {
        return 0;
    }
    // SAFETY: as for `gc_alloc`; the instance reference above has ended.
    let store = unsafe { store_from_vmctx(vmctx) };
    record_exit_fp(store, exit_fp);
    let at = match store.gc_new_array(ty, elem_size, len, ArrayFill::Bytes(&[])) {
        Ok(Some(at)) => at,
        Ok(None) => return 1,
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    };
    // Only now read the segment's words: the allocation may have collected,
    // moving the objects they name (the collector updated the segment).
    // SAFETY: as for `gc_alloc`; the store reference above is no longer used.
    let words = unsafe { elem_range(vmctx, elem, src, len) }.unwrap_or_default();
    // SAFETY: as for `gc_alloc`; the words were copied out of the instance.
    let store = unsafe { store_from_vmctx(vmctx) };
    store.gc_array_init(at, elem_size, 0, len, Some(ArrayFill::Words(&words)));
    at
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

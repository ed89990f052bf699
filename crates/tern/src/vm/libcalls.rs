//! Functions compiled code calls through the `VMBuiltins` table for work too
//! large or too stateful to inline: growing memories and tables, the bulk
//! memory and table operations, and running out of fuel or reaching the epoch
//! deadline (where an async store may yield instead of trapping).
//!
//! The list of libcalls and their signatures is `tern_environ::for_each_libcall!`;
//! the table is generated from it at the end of this file. Each is `extern "C"`
//! with the vmctx first. Those that can go out of bounds
//! return a status (0 = done, 1 = out of bounds, nothing written) and the
//! compiled caller traps; `memory_move`/`memory_set` (`memory.copy/fill`) get
//! ranges compiled code has already checked. Only the growth libcalls unwind by themselves, when
//! the store's resource limiter answers with an error.

use super::gc_libcalls::{
    array_copy, array_init_data, array_init_elem, array_new_data, array_new_elem, gc_alloc,
    record_exit_fp,
};
use super::instance::VMInstance;
use super::store_cast::store_from_vmctx;
use super::traphandlers::{raise, Unwind};
use super::unwind::throw;
use super::vmcontext::VMContext;
use tern_environ::Builtin;

const OK: u32 = 0;
const OUT_OF_BOUNDS: u32 = 1;

/// The instance whose vmctx compiled code passed.
///
/// # Safety
/// `vmctx` must be a live instance vmctx, and no other reference to its
/// `VMInstance` may be used while the result is.
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a mut VMInstance {
    // SAFETY: guaranteed by the caller.
    unsafe { VMInstance::from_vmctx(vmctx) }
}

/// Whether `[start, start + len)` fits in `size`.
fn in_bounds(start: u64, len: u64, size: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= size)
}

/// Turns a limiter's error into a trap of the calling wasm.
///
/// # Safety
/// Must be called from a libcall invoked by wasm, with nothing left to drop.
pub(super) unsafe fn trap_with(error: anyhow::Error) -> ! {
    // SAFETY: guaranteed by the caller; libcalls run inside `catch_traps`.
    unsafe {
        raise(Unwind::Error {
            error,
            pcs: Vec::new(),
        })
    }
}

/// The `memory_grow` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, delta: u64, index: u32) -> u64 {
    // SAFETY: compiled code passes its own instance's vmctx.
    let instance_index = unsafe { instance(vmctx).store_index };
    // SAFETY: no other reference into the store is held here (the instance
    // reference above was only used to copy an index).
    let store = unsafe { store_from_vmctx(vmctx) };
    match store.grow_instance_memory(instance_index, index, delta) {
        Ok(Some(old)) => old,
        Ok(None) => u64::MAX,
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    }
}

/// The `memory_move` libcall (see `tern_environ::Builtin`): `memory.copy`
/// after compiled code checked both ranges.
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, with `src`
/// and `dst` the native addresses of `len`-byte ranges it checked to lie in
/// the accessible part of linear memories of its store.
unsafe extern "C" fn memory_move(_vmctx: *mut VMContext, dst: u64, src: u64, len: u64) {
    // SAFETY: both ranges lie in accessible linear memory (checked by the
    // caller); `copy` allows them to overlap. Other threads may touch a
    // shared memory meanwhile, as they may during any wasm access.
    unsafe {
        std::ptr::copy(
            src as usize as *const u8,
            dst as usize as *mut u8,
            len as usize,
        )
    }
}

/// The `memory_set` libcall (see `tern_environ::Builtin`): `memory.fill`
/// after compiled code checked the range.
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, with `dst`
/// the native address of a `len`-byte range it checked to lie in the
/// accessible part of a linear memory of its store.
unsafe extern "C" fn memory_set(_vmctx: *mut VMContext, dst: u64, byte: u32, len: u64) {
    // SAFETY: the range lies in accessible linear memory (checked by the caller).
    unsafe { std::ptr::write_bytes(dst as usize as *mut u8, byte as u8, len as usize) }
}

/// The `memory_init` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn memory_init(
    vmctx: *mut VMContext,
    mem: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: as in `memory_grow`.
    let inst = unsafe { instance(vmctx) };
    let m = inst.memory(mem);
    let segment = inst.data_segment(data);
    // SAFETY: the memory is live.
    let size = unsafe { (*m).byte_size() as u64 };
    if !in_bounds(dst, u64::from(len), size)
        || !in_bounds(u64::from(src), u64::from(len), segment.len() as u64)
    {
        return OUT_OF_BOUNDS;
    }
    let bytes = &segment[src as usize..(src + len) as usize];
    // SAFETY: the destination was checked to lie in accessible memory, and the
    // segment (module data) never overlaps linear memory.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), (*m).base().add(dst as usize), bytes.len())
    };
    OK
}

/// The `data_drop` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: as in `memory_grow`.
    unsafe { instance(vmctx).drop_data(data) }
}

/// The `table_copy` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: as in `memory_grow`.
    let inst = unsafe { instance(vmctx) };
    let (dt, st) = (inst.table(dst_table), inst.table(src_table));
    // SAFETY: both tables are live and not otherwise borrowed while wasm runs.
    let (dsize, ssize) = unsafe { ((*dt).size(), (*st).size()) };
    if !in_bounds(dst, len, dsize) || !in_bounds(src, len, ssize) {
        return OUT_OF_BOUNDS;
    }
    // Uninitialised funcref slots mean "the image's value at this position":
    // resolve them so the words copied mean the same anywhere.
    // SAFETY: the table is live and not otherwise borrowed (`inst` is no
    // longer used, so resolving may fill funcrefs of this very instance).
    unsafe { (*st).materialize(src, len) };
    // SAFETY: both tables are live and not otherwise borrowed; the destination
    // pointer is taken first, and for a copy within one table the source is
    // derived from it (not from an earlier shared borrow that the `&mut` would
    // invalidate); both ranges are in bounds (checked above), the vectors do not
    // reallocate during the copy, and `copy` allows overlap.
    unsafe {
        let to_base = (*dt).elements_mut().as_mut_ptr();
        let from_base = if std::ptr::eq(dt, st) {
            to_base.cast_const()
        } else {
            (*st).elements().as_ptr()
        };
        std::ptr::copy(
            from_base.add(src as usize),
            to_base.add(dst as usize),
            len as usize,
        );
    }
    OK
}

/// The `table_init` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn table_init(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: as in `memory_grow`.
    let inst = unsafe { instance(vmctx) };
    let t = inst.table(table);
    let segment = inst.elem_segment(elem);
    // SAFETY: the table is live.
    let size = unsafe { (*t).size() };
    if !in_bounds(dst, u64::from(len), size)
        || !in_bounds(u64::from(src), u64::from(len), segment.len() as u64)
    {
        return OUT_OF_BOUNDS;
    }
    let items = &segment[src as usize..(src + len) as usize];
    // SAFETY: the table is live and not otherwise borrowed; the range is in
    // bounds (checked above), so `init` writes them all.
    let written = unsafe { (*t).init(dst, items) };
    debug_assert!(written);
    OK
}

/// The `elem_drop` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: as in `memory_grow`.
    unsafe { instance(vmctx).drop_elem(elem) }
}

/// The `table_grow` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, init: u64, delta: u64) -> u64 {
    // SAFETY: as in `memory_grow`.
    let instance_index = unsafe { instance(vmctx).store_index };
    // SAFETY: as in `memory_grow`.
    let store = unsafe { store_from_vmctx(vmctx) };
    match store.grow_instance_table(instance_index, table, delta, init as usize) {
        Ok(Some(old)) => old,
        Ok(None) => u64::MAX,
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    }
}

/// The `table_fill` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// Only compiled code calls it, through the `VMBuiltins` table, passing its own
/// live instance vmctx, from inside `catch_traps`, with the store suspended in
/// the call that entered wasm.
unsafe extern "C" fn table_fill(
    vmctx: *mut VMContext,
    table: u32,
    dst: u64,
    value: u64,
    len: u64,
) -> u32 {
    // SAFETY: as in `memory_grow`.
    let t = unsafe { instance(vmctx).table(table) };
    // SAFETY: the table is live and not otherwise borrowed while wasm runs.
    if unsafe { (*t).fill(dst, len, value as usize as *const _) } {
        OK
    } else {
        OUT_OF_BOUNDS
    }
}

extern "C" {
    /// The C entry of `out_of_fuel`, which records where wasm stopped (the
    /// embedder's callbacks may collect garbage: see `vm::gc_libcalls`).
    #[link_name = "tern_out_of_fuel_entry"]
    fn out_of_fuel(vmctx: *mut VMContext) -> u32;
    /// The C entry of `new_epoch`, as `out_of_fuel`'s.
    #[link_name = "tern_new_epoch_entry"]
    fn new_epoch(vmctx: *mut VMContext) -> u32;
}

/// The `out_of_fuel` libcall (see `tern_environ::Builtin`): 0 when the store
/// injected fuel (yielding to the async executor), 1 to trap.
///
/// # Safety
/// As `memory_grow`, called by the C entry `tern_out_of_fuel_entry` with
/// `exit_fp` its own frame address.
#[no_mangle]
unsafe extern "C" fn tern_out_of_fuel_body(vmctx: *mut VMContext, exit_fp: usize) -> u32 {
    // SAFETY: as in `memory_grow`; no other reference into the store is held.
    let store = unsafe { store_from_vmctx(vmctx) };
    record_exit_fp(store, exit_fp);
    match store.out_of_fuel() {
        Ok(true) => OK,
        Ok(false) => 1,
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    }
}

/// The `is_subtype` libcall (see `tern_environ::Builtin`).
///
/// # Safety
/// As `memory_grow`.
unsafe extern "C" fn is_subtype(vmctx: *mut VMContext, sub: u32, sup: u32) -> u32 {
    // SAFETY: as in `memory_grow`; no other reference into the store is held.
    let store = unsafe { store_from_vmctx(vmctx) };
    u32::from(store.engine.is_subtype(sub, sup))
}

/// The `new_epoch` libcall (see `tern_environ::Builtin`): 0 when the store
/// moved the deadline (yielding to the async executor), 1 to trap.
///
/// # Safety
/// As `tern_out_of_fuel_body` (through `tern_new_epoch_entry`).
#[no_mangle]
unsafe extern "C" fn tern_new_epoch_body(vmctx: *mut VMContext, exit_fp: usize) -> u32 {
    // SAFETY: as in `memory_grow`; no other reference into the store is held.
    let store = unsafe { store_from_vmctx(vmctx) };
    record_exit_fp(store, exit_fp);
    match store.new_epoch() {
        Ok(true) => OK,
        Ok(false) => 1,
        // SAFETY: called by wasm; the error moves into the trap state.
        Err(error) => unsafe { trap_with(error) },
    }
}

/// The `ref_func` libcall (see `tern_environ::Builtin`): the address of the
/// funcref of defined function `func`, filled on first use.
///
/// # Safety
/// As `data_drop`; validation guarantees `func` is a function of the module.
unsafe extern "C" fn ref_func(vmctx: *mut VMContext, func: u32) -> u64 {
    // SAFETY: as in `memory_grow`.
    unsafe { instance(vmctx).func_ref(func) as u64 }
}

/// The `table_get_lazy_init_func_ref` libcall (see `tern_environ::Builtin`):
/// the value of uninitialised slot `index` of funcref table `table`, resolved
/// from the table's image and stored back (see `vm::table`).
///
/// # Safety
/// As `data_drop`; compiled code calls it only for an in-bounds slot of a
/// funcref table.
unsafe extern "C" fn table_get_lazy_init_func_ref(
    vmctx: *mut VMContext,
    table: u32,
    index: u64,
) -> u64 {
    // SAFETY: as in `memory_grow`; the instance reference ends here, before
    // resolving may fill a funcref of this very instance.
    let t = unsafe { instance(vmctx).table(table) };
    // SAFETY: the table is live and not otherwise borrowed while wasm runs.
    let value = unsafe { (*t).get(index) };
    value.map_or(0, |p| p as u64)
}

/// Declares the `VMBuiltins` table from the libcall list: one field per
/// libcall, typed as the list says, initialised with the function of the same
/// name in this file (so a signature that differs from the list does not
/// compile), each field checked at compile time to sit at `Builtin::offset`.
macro_rules! define_vm_builtins {
    ($(
        $(#[$doc:meta])*
        $variant:ident $name:ident ($($param:ident: $ty:ident),*) $(-> $ret:ident)?;
    )*) => {
        /// The table of libcall function pointers every vmctx points to.
        #[repr(C)]
        struct VMBuiltins {
            $( $(#[$doc])* $name: unsafe extern "C" fn(*mut VMContext $(, $ty)*) $(-> $ret)?, )*
        }

        static BUILTINS: VMBuiltins = VMBuiltins { $($name,)* };

        const _: () = {
            $(assert!(
                std::mem::offset_of!(VMBuiltins, $name) == Builtin::$variant.offset() as usize
            );)*
            assert!(std::mem::size_of::<VMBuiltins>() == 8 * Builtin::ALL.len());
        };
    };
}

tern_environ::for_each_libcall!(define_vm_builtins);

/// The table every vmctx points to.
pub fn builtins_table() -> *const u8 {
    (&BUILTINS as *const VMBuiltins).cast()
}

//! The `#[repr(C)]` structs compiled code reads and writes directly.
//!
//! Their layouts must match the offsets in `tern_environ::vmoffsets`; the
//! compile-time assertions at the bottom of this file keep them in step.

use super::instance::VMInstance;
use std::cell::UnsafeCell;
use tern_environ as env;

/// An opaque instance or host-function context, as compiled code sees it.
#[repr(C)]
pub struct VMContext {
    _opaque: [u8; 0],
}

/// The fixed header at the start of every instance `VMContext`, the same for
/// every module (`tern_environ::VMCTX_*`); the module-dependent fields follow
/// at `VMCTX_HEADER_SIZE`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMContextHeader {
    /// The owning store's runtime limits.
    pub runtime_limits: *const VMRuntimeLimits,
    /// The libcall table (`libcalls::builtins_table`).
    pub builtins: *const u8,
    /// The owning `StoreInner<T>` (whose head is its `StoreOpaque`).
    pub store: *mut u8,
    /// The runtime's record of this instance.
    pub instance: *mut VMInstance,
}

impl VMContextHeader {
    /// The store of the innermost running entry into the wasm of `vmctx`'s
    /// store (see [`VMRuntimeLimits::entered_store`]): the pointer host
    /// functions and libcalls called by that wasm must use.
    ///
    /// # Safety
    /// `vmctx` must point to a live instance vmctx whose wasm is running (called
    /// from inside `catch_traps`).
    #[inline]
    pub unsafe fn entered_store(vmctx: *const VMContext) -> *mut u8 {
        // SAFETY: by the caller's promise the vmctx starts with this header,
        // whose limits belong to its live store; only this thread touches
        // them while its wasm runs.
        unsafe {
            *(*(*vmctx.cast::<Self>()).runtime_limits)
                .entered_store
                .get()
        }
    }

    /// Reads the header of `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must point to a live instance vmctx (not a host function's
    /// context), whose header `VMInstance::new` wrote.
    pub unsafe fn of(vmctx: *const VMContext) -> Self {
        // SAFETY: by the caller's promise the vmctx starts with this header,
        // allocated 16-aligned by `VMInstance::new`.
        unsafe { vmctx.cast::<Self>().read() }
    }
}

/// A callable function: what tables, `ref.func` and imports hold.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Native code with the wasm calling convention.
    pub wasm_call: *const u8,
    /// Callee context: an instance's vmctx or a host function's context.
    pub vmctx: *mut VMContext,
    /// Engine-wide signature id.
    pub type_id: u32,
}

/// A table's storage as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// First element (each a `*const VMFuncRef` or an externref pointer; 0 is null).
    pub base: *mut usize,
    /// Number of elements.
    pub current_elements: u64,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory.
    pub base: *mut u8,
    /// Accessible length in bytes.
    pub current_length: u64,
}

/// Storage of one global: 16 bytes so that any value type fits.
#[repr(C, align(16))]
#[derive(Debug, Default)]
pub struct VMGlobalDefinition {
    pub(crate) storage: UnsafeCell<[u8; 16]>,
}

/// Per-store state compiled code reads on every call.
#[repr(C)]
#[derive(Debug)]
pub struct VMRuntimeLimits {
    /// Lowest stack address wasm may grow to; `usize::MAX` when no wasm is running.
    pub stack_limit: UnsafeCell<usize>,
    /// Frame pointer of the most recent wasm-to-host trampoline.
    pub last_wasm_exit_fp: UnsafeCell<usize>,
    /// Unused slot kept for the layout (exit pc is derived from the frame).
    pub last_wasm_exit_pc: UnsafeCell<usize>,
    /// Minus the fuel left; compiled code traps once it is positive.
    pub fuel_consumed: UnsafeCell<i64>,
    /// The engine epoch at which compiled code traps.
    pub epoch_deadline: UnsafeCell<u64>,
    /// Address of the engine's epoch counter.
    pub epoch_ptr: UnsafeCell<*const u64>,
    /// The exception leaving the innermost activation (an exnref: a heap
    /// offset), 0 when none: set by the unwinder (`vm::unwind`) just before
    /// it jumps to `catch_traps`, taken by `call_wasm`.
    pub pending_exn: UnsafeCell<u64>,
    /// The tag definition of the exception in flight (its identity).
    pub pending_tag: UnsafeCell<*const VMTagDefinition>,
    /// The store's GC heap (`vm::gc_heap`), null until its first object.
    pub gc_heap_base: UnsafeCell<*mut u8>,
    /// The heap offset the next object is bumped from.
    pub gc_next: UnsafeCell<u64>,
    /// The end of the heap's accessible part.
    pub gc_limit: UnsafeCell<u64>,
    /// The store (`*mut StoreInner<T>`) as the innermost running entry into
    /// this store's wasm derived it from its exclusive borrow (null outside
    /// wasm); set and restored by `catch_traps`. Host functions and libcalls
    /// reach their store through it from the calling vmctx (two loads, no
    /// thread-local). Only Rust reads it, so it has no `VMLIMITS_*` offset.
    pub entered_store: UnsafeCell<*mut u8>,
}

/// An exception tag's definition. Its address is the tag's identity, which
/// `catch` clauses compare; it lives in a `Box` owned by the store.
#[repr(C)]
#[derive(Debug)]
pub struct VMTagDefinition {
    /// Engine-wide signature id of the tag's type: the header type id of the
    /// tag's exception objects.
    pub type_id: u32,
}

// SAFETY: the limits belong to one store and are only touched by the thread that
// currently owns the store (and its wasm); the epoch pointer targets an atomic.
unsafe impl Send for VMRuntimeLimits {}
// SAFETY: a `&VMRuntimeLimits` is only reachable through a borrow of its store.
// The cells are written (by `catch_traps` and compiled code) only while the
// store is mutably borrowed by the thread running its wasm, so no other thread
// can hold a reference to read them at that time.
unsafe impl Sync for VMRuntimeLimits {}

impl VMRuntimeLimits {
    /// Minus the fuel left.
    pub fn fuel_consumed(&self) -> i64 {
        // SAFETY: see the Send impl: no concurrent access.
        unsafe { *self.fuel_consumed.get() }
    }

    /// Sets minus the fuel left.
    pub fn set_fuel_consumed(&mut self, v: i64) {
        *self.fuel_consumed.get_mut() = v;
    }

    /// The exception in flight (exnref raw value) and its tag, if any.
    pub fn pending_exception(&self) -> Option<(u64, *const VMTagDefinition)> {
        // SAFETY: see the Send impl: no concurrent access.
        let exn = unsafe { *self.pending_exn.get() };
        // SAFETY: as above.
        (exn != 0).then(|| (exn, unsafe { *self.pending_tag.get() }))
    }

    /// Makes `exn` (a non-null exnref raw value) of tag `tag` the exception in
    /// flight, or clears it with `None`.
    pub fn set_pending_exception(&self, exn: Option<(u64, *const VMTagDefinition)>) {
        let (exn, tag) = exn.unwrap_or((0, std::ptr::null()));
        // SAFETY: see the Send impl: only the thread owning the store touches
        // the limits, and no reference into these cells is held across calls.
        unsafe {
            *self.pending_exn.get() = exn;
            *self.pending_tag.get() = tag;
        }
    }

    /// The GC heap's bump pointer.
    pub fn gc_next(&self) -> u64 {
        // SAFETY: see the Send impl: no concurrent access.
        unsafe { *self.gc_next.get() }
    }

    /// The end of the GC heap's accessible part.
    pub fn gc_limit(&self) -> u64 {
        // SAFETY: see the Send impl: no concurrent access.
        unsafe { *self.gc_limit.get() }
    }

    /// Moves the GC heap's bump pointer.
    pub fn set_gc_next(&self, next: u64) {
        // SAFETY: see the Send impl: only the thread owning the store touches
        // the limits, and no reference into these cells is held across calls.
        unsafe { *self.gc_next.get() = next }
    }

    /// Publishes the GC heap's base and accessible size.
    pub fn set_gc_heap(&self, base: *mut u8, limit: u64) {
        // SAFETY: as in `set_gc_next`.
        unsafe {
            *self.gc_heap_base.get() = base;
            *self.gc_limit.get() = limit;
        }
    }

    /// Sets the epoch deadline.
    pub fn set_epoch_deadline(&mut self, deadline: u64) {
        *self.epoch_deadline.get_mut() = deadline;
    }

    /// Points the limits at the engine's epoch counter.
    pub fn set_epoch_counter(&mut self, counter: &std::sync::atomic::AtomicU64) {
        *self.epoch_ptr.get_mut() = counter.as_ptr().cast_const();
    }
}

impl Default for VMRuntimeLimits {
    fn default() -> Self {
        Self {
            stack_limit: UnsafeCell::new(usize::MAX),
            last_wasm_exit_fp: UnsafeCell::new(0),
            last_wasm_exit_pc: UnsafeCell::new(0),
            fuel_consumed: UnsafeCell::new(0),
            epoch_deadline: UnsafeCell::new(u64::MAX),
            epoch_ptr: UnsafeCell::new(std::ptr::null()),
            pending_exn: UnsafeCell::new(0),
            pending_tag: UnsafeCell::new(std::ptr::null()),
            gc_heap_base: UnsafeCell::new(std::ptr::null_mut()),
            gc_next: UnsafeCell::new(tern_environ::GC_HEAP_START),
            gc_limit: UnsafeCell::new(0),
            entered_store: UnsafeCell::new(std::ptr::null_mut()),
        }
    }
}

/// A host value in a `ValRaw` or global: 16 bytes, little-endian, with the value
/// in the low bytes. This is the array calling convention's slot.
#[repr(C, align(16))]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ValRaw([u8; 16]);

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValRaw({:#034x})", u128::from_le_bytes(self.0))
    }
}

impl ValRaw {
    /// An i32 slot.
    pub fn i32(v: i32) -> Self {
        Self::u64(v as u32 as u64)
    }
    /// An i64 slot.
    pub fn i64(v: i64) -> Self {
        Self::u64(v as u64)
    }
    /// A slot holding raw 64 bits.
    pub fn u64(v: u64) -> Self {
        Self((v as u128).to_le_bytes())
    }
    /// An f32 slot from its bits.
    pub fn f32(bits: u32) -> Self {
        Self::u64(u64::from(bits))
    }
    /// An f64 slot from its bits.
    pub fn f64(bits: u64) -> Self {
        Self::u64(bits)
    }
    /// A v128 slot.
    pub fn v128(v: u128) -> Self {
        Self(v.to_le_bytes())
    }
    /// The slot as i32.
    pub fn get_i32(&self) -> i32 {
        self.get_u64() as u32 as i32
    }
    /// The slot as i64.
    pub fn get_i64(&self) -> i64 {
        self.get_u64() as i64
    }
    /// The low 64 bits.
    pub fn get_u64(&self) -> u64 {
        u128::from_le_bytes(self.0) as u64
    }
    /// The slot as f32 bits.
    pub fn get_f32(&self) -> u32 {
        self.get_u64() as u32
    }
    /// The slot as f64 bits.
    pub fn get_f64(&self) -> u64 {
        self.get_u64()
    }
    /// The slot as v128.
    pub fn get_v128(&self) -> u128 {
        u128::from_le_bytes(self.0)
    }
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(offset_of!(VMContextHeader, runtime_limits) == env::VMCTX_RUNTIME_LIMITS as usize);
    assert!(offset_of!(VMContextHeader, builtins) == env::VMCTX_BUILTINS as usize);
    assert!(offset_of!(VMContextHeader, store) == env::VMCTX_STORE as usize);
    assert!(offset_of!(VMContextHeader, instance) == env::VMCTX_INSTANCE as usize);
    assert!(size_of::<VMContextHeader>() == env::VMCTX_HEADER_SIZE as usize);
    assert!(offset_of!(VMFuncRef, wasm_call) == env::VMFUNCREF_WASM_CALL as usize);
    assert!(offset_of!(VMFuncRef, vmctx) == env::VMFUNCREF_VMCTX as usize);
    assert!(offset_of!(VMFuncRef, type_id) == env::VMFUNCREF_TYPE_ID as usize);
    assert!(size_of::<VMFuncRef>() == env::VMFUNCREF_SIZE as usize);
    assert!(offset_of!(VMTagDefinition, type_id) == env::VMTAG_TYPE_ID as usize);
    assert!(offset_of!(VMTableDefinition, base) == env::VMTABLE_BASE as usize);
    assert!(offset_of!(VMTableDefinition, current_elements) == env::VMTABLE_LENGTH as usize);
    assert!(offset_of!(VMMemoryDefinition, base) == env::VMMEMORY_BASE as usize);
    assert!(offset_of!(VMMemoryDefinition, current_length) == env::VMMEMORY_LENGTH as usize);
    assert!(size_of::<VMGlobalDefinition>() == env::VMGLOBAL_SIZE as usize);
    assert!(offset_of!(VMRuntimeLimits, stack_limit) == env::VMLIMITS_STACK_LIMIT as usize);
    assert!(offset_of!(VMRuntimeLimits, last_wasm_exit_fp) == env::VMLIMITS_LAST_EXIT_FP as usize);
    assert!(offset_of!(VMRuntimeLimits, last_wasm_exit_pc) == env::VMLIMITS_LAST_EXIT_PC as usize);
    assert!(offset_of!(VMRuntimeLimits, fuel_consumed) == env::VMLIMITS_FUEL_CONSUMED as usize);
    assert!(offset_of!(VMRuntimeLimits, epoch_deadline) == env::VMLIMITS_EPOCH_DEADLINE as usize);
    assert!(offset_of!(VMRuntimeLimits, epoch_ptr) == env::VMLIMITS_EPOCH_PTR as usize);
    assert!(offset_of!(VMRuntimeLimits, pending_exn) == env::VMLIMITS_PENDING_EXN as usize);
    assert!(offset_of!(VMRuntimeLimits, pending_tag) == env::VMLIMITS_PENDING_TAG as usize);
    assert!(offset_of!(VMRuntimeLimits, gc_heap_base) == env::VMLIMITS_GC_HEAP_BASE as usize);
    assert!(offset_of!(VMRuntimeLimits, gc_next) == env::VMLIMITS_GC_NEXT as usize);
    assert!(offset_of!(VMRuntimeLimits, gc_limit) == env::VMLIMITS_GC_LIMIT as usize);
    assert!(size_of::<ValRaw>() == env::VALRAW_SIZE as usize);
    assert!(size_of::<usize>() == 8, "Tern supports 64-bit hosts only");
};

//! The runtime record of an instance: its `VMContext` allocation, laid out by
//! `VMOffsets`, and the pointers to the memories and tables it uses.
//!
//! A `VMInstance` is always boxed and owned by its store, so the vmctx's back
//! pointer to it (`VMContextHeader::instance`) stays valid for the store's lifetime; libcalls use that
//! pointer to find the memory or table an instruction names.
//!
//! The funcrefs of defined functions are filled on first use
//! ([`VMInstance::func_ref`]): instantiation leaves that array zeroed (a null
//! `wasm_call` marks an unfilled slot), so a module with thousands of exported
//! functions costs nothing per instance until they are asked for. A large
//! vmctx is mapped rather than allocated from the heap, so the pages of funcrefs
//! nobody asks for are never made resident; with the on-demand allocator the
//! mapping comes from the store's `arena` (the engine's `reuse::MappingCache`
//! or a slot of one of the store's batches) and may be kept for the next
//! instance, which is why a dropped instance zeroes exactly what it wrote: everything but the
//! defined functions' funcrefs in place (a few words per type, memory, table,
//! global and import), and those, if any was filled, by discarding their pages.

use super::arena::{Home, StoreArena};
use super::memory::Memory;
use super::mmap::Mmap;
use super::pool::InstancePool;
use super::table::Table;
use super::vmcontext::{
    VMContext, VMContextHeader, VMFuncRef, VMGlobalDefinition, VMRuntimeLimits,
};
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::Arc;
use tern_environ::VMOffsets;

/// What a defined function's funcref holds besides the instance's vmctx:
/// computed once per module, shared by its instances.
#[derive(Debug, Clone, Copy)]
pub struct DefinedFunc {
    /// Address of the function's code.
    pub wasm_call: usize,
    /// Engine-wide signature id.
    pub type_id: u32,
}

/// A vmctx of at least this many bytes is mapped from the OS (zero pages that
/// only become resident when touched) instead of taken from the heap.
const MAP_VMCTX_FROM: usize = 64 * 1024;

/// Where the vmctx bytes live.
#[derive(Debug)]
enum Storage {
    /// `std::alloc::alloc_zeroed` with this layout.
    Heap(Layout),
    /// An anonymous read-write mapping, given back to `home` when dropped.
    Mapped { mapping: Option<Mmap>, home: Home },
    /// A slot of the pooling allocator, given back when dropped.
    Pooled {
        slot: Option<Mmap>,
        pool: Arc<InstancePool>,
    },
}

/// An instance's vmctx plus what libcalls need to reach from it.
#[derive(Debug)]
pub struct VMInstance {
    vmctx: NonNull<u8>,
    storage: Storage,
    /// The vmctx size in bytes.
    size: usize,
    offsets: VMOffsets,
    /// Code and signature of each defined function, for filling funcrefs.
    defined_funcs: Arc<[DefinedFunc]>,
    num_imported_funcs: u32,
    memories: Vec<*mut Memory>,
    tables: Vec<*mut Table>,
    /// Passive data segments as (address, length) into the module's data, which
    /// the store keeps alive with the instance; length 0 once dropped.
    data: Vec<(*const u8, usize)>,
    /// Passive element segments, resolved to reference values; empty once dropped.
    elems: Vec<Vec<usize>>,
    /// Whether a defined function's funcref was filled (so the vmctx holds
    /// more than what instantiation writes outside them).
    funcrefs_filled: bool,
    /// Index of this instance in its store.
    pub store_index: usize,
}

// SAFETY: a VMInstance moves between threads only together with the store that
// owns it and everything its pointers refer to.
unsafe impl Send for VMInstance {}
// SAFETY: shared access only reads.
unsafe impl Sync for VMInstance {}

impl VMInstance {
    /// Allocates a zeroed vmctx laid out by `offsets` and fills its header.
    /// `defined_funcs` describes the module's defined functions, which follow
    /// its `num_imported_funcs` imported ones in the function index space.
    ///
    /// With `pool`, the vmctx lives in one of the pool's instance slots; a
    /// large one otherwise comes from (and goes back to) the store's `arena`
    /// when given.
    ///
    /// # Errors
    /// Fails when the OS refuses to map a large vmctx, or when the pool has no
    /// slot for it.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site, each argument distinct"
    )]
    pub fn new(
        offsets: VMOffsets,
        defined_funcs: Arc<[DefinedFunc]>,
        num_imported_funcs: u32,
        limits: *const VMRuntimeLimits,
        store: *mut u8,
        store_index: usize,
        pool: Option<&Arc<InstancePool>>,
        arena: Option<&mut StoreArena>,
    ) -> anyhow::Result<Box<Self>> {
        let size = offsets.size().max(16) as usize;
        let (vmctx, storage) = if let Some(pool) = pool {
            // The pool hands out zeroed, read-write slots of at least `size` bytes.
            let slot = pool.take_instance(size)?;
            let ptr = NonNull::new(slot.as_ptr()).expect("a mapping is never at address 0");
            let storage = Storage::Pooled {
                slot: Some(slot),
                pool: pool.clone(),
            };
            (ptr, storage)
        } else if size >= MAP_VMCTX_FROM {
            // A reused mapping is zeroed and read-write throughout, like a new one.
            let (mmap, home) = match arena {
                Some(arena) => arena.take_vmctx(size)?,
                None => (Mmap::accessible_zeroed(size)?, Home::Os),
            };
            let ptr = NonNull::new(mmap.as_ptr()).expect("a mapping is never at address 0");
            let storage = Storage::Mapped {
                mapping: Some(mmap),
                home,
            };
            (ptr, storage)
        } else {
            let layout = Layout::from_size_align(size, 16).expect("valid vmctx layout");
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
            let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
            (ptr, Storage::Heap(layout))
        };
        let mut this = Box::new(Self {
            vmctx,
            storage,
            size,
            offsets,
            defined_funcs,
            num_imported_funcs,
            memories: Vec::new(),
            tables: Vec::new(),
            data: Vec::new(),
            elems: Vec::new(),
            funcrefs_filled: false,
            store_index,
        });
        let instance: *mut VMInstance = &mut *this;
        let header = VMContextHeader {
            runtime_limits: limits,
            builtins: super::libcalls::builtins_table().cast(),
            store,
            instance,
        };
        this.write(0, header);
        Ok(this)
    }

    fn write<V: Copy>(&mut self, offset: u32, value: V) {
        assert!(offset as usize + std::mem::size_of::<V>() <= self.size);
        // SAFETY: in bounds of our allocation (checked above); every field is
        // naturally aligned by VMOffsets.
        unsafe {
            self.vmctx
                .as_ptr()
                .add(offset as usize)
                .cast::<V>()
                .write(value)
        }
    }

    /// Sets the engine signature id of type `index`.
    pub fn set_type_id(&mut self, index: u32, id: u32) {
        self.write(self.offsets.type_id(index), id);
    }

    /// Points memory slot `index` at `memory`, which must outlive this instance.
    pub fn push_memory(&mut self, memory: *mut Memory) {
        let index = self.memories.len() as u32;
        // SAFETY: the store keeps `memory` alive as long as this instance.
        let def = unsafe { (*memory).definition() };
        self.write(self.offsets.memory(index), def as usize);
        // SAFETY: `def` points into `memory`, alive (see above).
        let base = unsafe { (*def).base };
        // Read by code only when the base never moves (a static memory).
        self.write(self.offsets.memory_base(index), base as usize);
        self.memories.push(memory);
    }

    /// Points table slot `index` at `table`, which must outlive this instance.
    pub fn push_table(&mut self, table: *mut Table) {
        let index = self.tables.len() as u32;
        // SAFETY: the store keeps `table` alive as long as this instance.
        let def = unsafe { (*table).definition() };
        self.write(self.offsets.table(index), def as usize);
        self.tables.push(table);
    }

    /// Makes the uninitialised slots of table `index` — one this instance
    /// defined, of function references — take their values from `image`,
    /// function indices of this instance's module
    /// (`tern_environ::table_images`), resolved with [`Self::func_ref`] on
    /// first use.
    ///
    /// # Panics
    /// Panics if `index` is not a table of this instance.
    pub fn set_table_image(&mut self, index: u32, image: Arc<[u32]>) {
        let table = self.tables[index as usize];
        let owner: *mut VMInstance = self;
        // SAFETY: the store keeps `table` alive as long as this instance (see
        // `push_table`); this instance is boxed and owned by that store (see
        // the module note), so `owner` stays valid and in place as long as the
        // table; the image names functions of this instance's module.
        unsafe { (*table).set_image(image, owner) };
    }

    /// Points imported global `index` at `def`.
    pub fn set_imported_global(&mut self, index: u32, def: *mut VMGlobalDefinition) {
        self.write(self.offsets.imported_global(index), def as usize);
    }

    /// The storage of defined global `defined_index`.
    pub fn defined_global(&self, defined_index: u32) -> *mut VMGlobalDefinition {
        let offset = self.offsets.defined_global(defined_index) as usize;
        // SAFETY: the offset lies inside the vmctx allocation.
        unsafe { self.vmctx.as_ptr().add(offset).cast() }
    }

    /// Writes the funcref of imported function `index`.
    pub fn set_funcref(&mut self, index: u32, funcref: VMFuncRef) {
        debug_assert!(index < self.num_imported_funcs);
        self.funcrefs_filled |= index >= self.num_imported_funcs;
        self.write(self.offsets.funcref(index), funcref);
    }

    /// The funcref that stands for function `index`: for an import, the
    /// exporter's own (what `ref.func` of it returns); for a defined function,
    /// this instance's, filled now if this is its first use. Either lives as
    /// long as this instance.
    ///
    /// # Panics
    /// Panics if `index` is not a function of the module.
    pub fn func_ref(&mut self, index: u32) -> *const VMFuncRef {
        if index < self.num_imported_funcs {
            let offset = self.offsets.imported_funcref_ptr(index) as usize;
            // SAFETY: the offset lies inside the vmctx allocation (checked by
            // `VMOffsets`), 8-aligned; instantiation wrote the pointer there.
            return unsafe { self.vmctx.as_ptr().add(offset).cast::<usize>().read() }
                as *const VMFuncRef;
        }
        let defined = self.defined_funcs[(index - self.num_imported_funcs) as usize];
        let offset = self.offsets.funcref(index) as usize;
        // SAFETY: the offset lies inside the vmctx allocation (checked by
        // `VMOffsets::funcref`) and is 8-aligned; the vmctx started zeroed, so
        // the slot holds either nothing (null code) or what an earlier call wrote.
        unsafe {
            let slot = self.vmctx.as_ptr().add(offset).cast::<VMFuncRef>();
            if (*slot).wasm_call.is_null() {
                self.funcrefs_filled = true;
                slot.write(VMFuncRef {
                    wasm_call: defined.wasm_call as *const u8,
                    vmctx: self.vmctx.as_ptr().cast(),
                    type_id: defined.type_id,
                });
            }
            slot
        }
    }

    /// Records the original funcref of imported function `index` (for `ref.func`).
    pub fn set_imported_funcref_ptr(&mut self, index: u32, funcref: *const VMFuncRef) {
        self.write(self.offsets.imported_funcref_ptr(index), funcref as usize);
    }

    /// Points tag slot `index` at `def`, which must outlive this instance.
    pub fn set_tag(&mut self, index: u32, def: *const super::vmcontext::VMTagDefinition) {
        self.write(self.offsets.tag(index), def as usize);
    }

    /// Sets the passive data segments. Each slice must outlive this instance
    /// (the store keeps the module that owns them alive as long as the instance).
    pub fn set_data_segments(&mut self, data: &[&[u8]]) {
        self.data = data.iter().map(|d| (d.as_ptr(), d.len())).collect();
    }

    /// Sets the passive element segments, already resolved to reference values.
    pub fn set_elem_segments(&mut self, elems: Vec<Vec<usize>>) {
        self.elems = elems;
    }

    /// Passive data segment `index` (empty once dropped).
    pub fn data_segment(&self, index: u32) -> &[u8] {
        let (ptr, len) = self.data[index as usize];
        if len == 0 {
            return &[];
        }
        // SAFETY: see `set_data_segments`: the bytes outlive the instance.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }

    /// Drops data segment `index`.
    pub fn drop_data(&mut self, index: u32) {
        self.data[index as usize].1 = 0;
    }

    /// Passive element segment `index` (empty once dropped).
    pub fn elem_segment(&self, index: u32) -> &[usize] {
        &self.elems[index as usize]
    }

    /// The passive element segments, for the collector to update the heap
    /// words of those of a GC type (`crate::gc::collect`).
    pub fn elem_segments_mut(&mut self) -> &mut [Vec<usize>] {
        &mut self.elems
    }

    /// Drops element segment `index`.
    pub fn drop_elem(&mut self, index: u32) {
        self.elems[index as usize] = Vec::new();
    }

    /// The memory in slot `index`.
    pub fn memory(&self, index: u32) -> *mut Memory {
        self.memories[index as usize]
    }

    /// The table in slot `index`.
    pub fn table(&self, index: u32) -> *mut Table {
        self.tables[index as usize]
    }

    /// The instance whose vmctx is `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be the vmctx of a live `VMInstance` (not a host function
    /// context), and no other reference to that `VMInstance` may be used while
    /// the returned one is.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut VMContext) -> &'a mut VMInstance {
        // SAFETY: by the caller's promise, the header is that of a live
        // instance, whose back pointer `new` wrote; exclusivity is promised too.
        unsafe { &mut *VMContextHeader::of(vmctx).instance }
    }
}

impl Drop for VMInstance {
    fn drop(&mut self) {
        match &mut self.storage {
            // SAFETY: allocated in `new` with this layout.
            Storage::Heap(layout) => unsafe { std::alloc::dealloc(self.vmctx.as_ptr(), *layout) },
            Storage::Mapped { mapping, home } => {
                if let Some(mapping) = mapping.take() {
                    let offsets = &self.offsets;
                    let (size, filled) = (self.size, self.funcrefs_filled);
                    home.give_vmctx(mapping, |m| zero_written(m, offsets, size, filled).is_ok());
                }
            }
            Storage::Pooled { slot, pool } => {
                if let Some(slot) = slot.take() {
                    pool.return_instance(slot, self.size);
                }
            }
        }
    }
}

/// Zeroes what an instance may have written into its vmctx `mapping` of `size`
/// bytes laid out by `offsets` (see the module note): everything outside the
/// defined functions' funcrefs in place, and those, when `funcrefs_filled`,
/// too — the whole pages among them discarded rather than written, so that a
/// mapping stays as little resident as a new one.
///
/// # Errors
/// Fails if the OS refuses to discard the pages (the mapping should then be
/// unmapped, not reused).
fn zero_written(
    mapping: &mut Mmap,
    offsets: &VMOffsets,
    size: usize,
    funcrefs_filled: bool,
) -> anyhow::Result<()> {
    let funcrefs = offsets.defined_funcrefs();
    let (start, end) = (funcrefs.start as usize, funcrefs.end as usize);
    let bytes = &mut mapping.as_mut_slice()[..size];
    bytes[..start].fill(0);
    bytes[end..].fill(0);
    if !funcrefs_filled {
        return Ok(());
    }
    let page = super::mmap::page_size();
    let (inner_start, inner_end) = (start.div_ceil(page) * page, end / page * page);
    if inner_start >= inner_end {
        bytes[start..end].fill(0);
        return Ok(());
    }
    bytes[start..inner_start].fill(0);
    bytes[inner_end..end].fill(0);
    mapping.discard(inner_start, inner_end - inner_start)
}

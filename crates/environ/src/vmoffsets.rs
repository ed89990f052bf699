//! The one definition of the `VMContext` layout and of the small structs compiled
//! code reads directly.
//!
//! The code generator computes addresses from these offsets and the runtime lays
//! out memory with the same numbers, so the two cannot drift. All pointers are
//! 8 bytes: Tern supports 64-bit hosts only.
//!
//! ```text
//! VMContext of an instance
//!   +0   *mut VMRuntimeLimits     VMCTX_RUNTIME_LIMITS (per store: stack limit, fuel, epoch, last exit fp)
//!   +8   *const VMBuiltins        VMCTX_BUILTINS (table of libcall function pointers)
//!   +16  *mut StoreInner<T>       VMCTX_STORE (the owning store; the runtime checks it against
//!                                 the pointer the entering call recorded, see `vm/traphandlers.rs`)
//!   +24  *mut VMInstance          VMCTX_INSTANCE (the runtime's instance record, for libcalls)
//!   +32  [u32; num_types]         engine-wide signature ids of the module's types
//!                                 (VMCTX_HEADER_SIZE: from here on the layout depends on the module)
//!        [*mut VMTableDefinition; num_tables]    imported and defined tables
//!        [*mut VMMemoryDefinition; num_memories] imported and defined memories
//!        [*mut u8; num_memories]                  each memory's base address as it was
//!                                                 at instantiation: what code reads for
//!                                                 memories whose base never moves (static
//!                                                 style), one load instead of two
//!        [*mut VMGlobalDefinition; num_imported_globals]
//!        [VMGlobalDefinition; num_defined_globals]  (16 bytes each, 16-aligned)
//!        [VMFuncRef; num_functions]               (imported and defined)
//!        [*const VMFuncRef; num_imported_functions]  the exporters' own funcrefs,
//!                                                   which `ref.func` of an import returns
//!        [*const VMTagDefinition; num_tags]        imported and defined exception tags
//!                                                   (a tag's identity is this address)
//! ```

use crate::Module;

/// Size of a `ValRaw` slot in the array calling convention.
pub const VALRAW_SIZE: u32 = 16;

/// `VMFuncRef.wasm_call`: the function's native code address.
pub const VMFUNCREF_WASM_CALL: u32 = 0;
/// `VMFuncRef.vmctx`: the callee's vmctx (an instance's or a host function's context).
pub const VMFUNCREF_VMCTX: u32 = 8;
/// `VMFuncRef.type_id`: the engine-wide signature id (u32).
pub const VMFUNCREF_TYPE_ID: u32 = 16;
/// Size of a `VMFuncRef`.
pub const VMFUNCREF_SIZE: u32 = 24;

/// `VMTableDefinition.base`: pointer to the elements.
pub const VMTABLE_BASE: u32 = 0;
/// `VMTableDefinition.current_elements` (u64).
pub const VMTABLE_LENGTH: u32 = 8;

/// `VMMemoryDefinition.base`.
pub const VMMEMORY_BASE: u32 = 0;
/// `VMMemoryDefinition.current_length` in bytes (u64).
pub const VMMEMORY_LENGTH: u32 = 8;

/// Size of a `VMGlobalDefinition`.
pub const VMGLOBAL_SIZE: u32 = 16;

/// `VMRuntimeLimits.stack_limit`: lowest stack address wasm may use.
pub const VMLIMITS_STACK_LIMIT: u32 = 0;
/// `VMRuntimeLimits.last_wasm_exit_fp`: frame pointer of the last wasm-to-host trampoline.
pub const VMLIMITS_LAST_EXIT_FP: u32 = 8;
/// `VMRuntimeLimits.last_wasm_exit_pc`: return address into wasm of that trampoline.
pub const VMLIMITS_LAST_EXIT_PC: u32 = 16;
/// `VMRuntimeLimits.fuel_consumed` (i64): minus the fuel left; code traps when it
/// becomes positive.
pub const VMLIMITS_FUEL_CONSUMED: u32 = 24;
/// `VMRuntimeLimits.epoch_deadline` (u64): the engine epoch at which code traps.
pub const VMLIMITS_EPOCH_DEADLINE: u32 = 32;
/// `VMRuntimeLimits.epoch_ptr`: address of the engine's epoch counter (u64).
pub const VMLIMITS_EPOCH_PTR: u32 = 40;

/// `VMRuntimeLimits.pending_exn` (u64): the exception leaving wasm (an
/// exnref: its GC-heap offset), 0 when none. Only the runtime's unwinder
/// writes it (`tern::vm::unwind`); compiled code never reads it.
pub const VMLIMITS_PENDING_EXN: u32 = 48;
/// `VMRuntimeLimits.pending_tag`: the `*const VMTagDefinition` of the
/// exception leaving wasm (its tag's identity).
pub const VMLIMITS_PENDING_TAG: u32 = 56;
/// `VMTagDefinition.type_id` (u32): the engine type id of the tag's function
/// type, which `throw` writes into the exception object's header.
pub const VMTAG_TYPE_ID: u32 = 0;

/// `VMRuntimeLimits.gc_heap_base`: the address of the store's GC heap (null
/// until the first object is allocated; it never moves afterwards). An object
/// reference is a 32-bit offset from here (see `docs/design/gc.md`).
pub const VMLIMITS_GC_HEAP_BASE: u32 = 64;
/// `VMRuntimeLimits.gc_next` (u64): the heap offset the next object is bumped
/// from. Every byte from here to `gc_limit` is zero.
pub const VMLIMITS_GC_NEXT: u32 = 72;
/// `VMRuntimeLimits.gc_limit` (u64): the end of the heap's accessible part.
pub const VMLIMITS_GC_LIMIT: u32 = 80;

/// The fixed header every instance `VMContext` starts with, the same for every
/// module (so code that has no `Module` at hand, such as trampolines and the
/// runtime's libcalls, can use it): the `*mut VMRuntimeLimits` field.
pub const VMCTX_RUNTIME_LIMITS: u32 = 0;
/// Header field: the `*const VMBuiltins` libcall table.
pub const VMCTX_BUILTINS: u32 = 8;
/// Header field: the owning store (`*mut StoreInner<T>`, whose head is the `StoreOpaque`).
pub const VMCTX_STORE: u32 = 16;
/// Header field: the runtime's `*mut VMInstance` record.
pub const VMCTX_INSTANCE: u32 = 24;
/// Size of the fixed header; the module-dependent part starts here.
pub const VMCTX_HEADER_SIZE: u32 = 32;

/// Offset of the host entry function pointer in a host function's context, which
/// is what a `VMFuncRef.vmctx` points to when the callee is a host function.
pub const HOSTCTX_ENTRY: u32 = 0;

/// Offsets of one module's `VMContext` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VMOffsets {
    num_types: u32,
    num_tables: u32,
    num_memories: u32,
    num_imported_globals: u32,
    num_defined_globals: u32,
    num_funcs: u32,
    num_imported_funcs: u32,
    num_tags: u32,
    type_ids: u32,
    tables: u32,
    memories: u32,
    memory_bases: u32,
    imported_globals: u32,
    defined_globals: u32,
    funcrefs: u32,
    imported_funcref_ptrs: u32,
    tags: u32,
    size: u32,
}

impl VMOffsets {
    /// Lays out the `VMContext` for `module`.
    pub fn new(module: &Module) -> Self {
        let num_types = module.types.len() as u32;
        let num_tables = module.tables.len() as u32;
        let num_memories = module.memories.len() as u32;
        let num_imported_globals = module.num_imported_globals;
        let num_defined_globals = module.globals.len() as u32 - num_imported_globals;
        let num_funcs = module.functions.len() as u32;
        let align = |x: u32, a: u32| x.div_ceil(a) * a;
        let type_ids = VMCTX_HEADER_SIZE;
        let tables = align(type_ids + 4 * num_types, 8);
        let memories = tables + 8 * num_tables;
        let memory_bases = memories + 8 * num_memories;
        let imported_globals = memory_bases + 8 * num_memories;
        let defined_globals = align(imported_globals + 8 * num_imported_globals, 16);
        let funcrefs = defined_globals + VMGLOBAL_SIZE * num_defined_globals;
        let num_imported_funcs = module.num_imported_funcs;
        let imported_funcref_ptrs = align(funcrefs + VMFUNCREF_SIZE * num_funcs, 8);
        let num_tags = module.tags.len() as u32;
        let tags = imported_funcref_ptrs + 8 * num_imported_funcs;
        let size = align(tags + 8 * num_tags, 16);
        Self {
            num_types,
            num_tables,
            num_memories,
            num_imported_globals,
            num_defined_globals,
            num_funcs,
            num_imported_funcs,
            num_tags,
            type_ids,
            tables,
            memories,
            memory_bases,
            imported_globals,
            defined_globals,
            funcrefs,
            imported_funcref_ptrs,
            tags,
            size,
        }
    }

    /// Offset of the `*mut VMRuntimeLimits` field.
    pub fn runtime_limits(&self) -> u32 {
        VMCTX_RUNTIME_LIMITS
    }
    /// Offset of the `*const VMBuiltins` field.
    pub fn builtins(&self) -> u32 {
        VMCTX_BUILTINS
    }
    /// Offset of the store pointer.
    pub fn store(&self) -> u32 {
        VMCTX_STORE
    }
    /// Offset of the instance pointer.
    pub fn instance(&self) -> u32 {
        VMCTX_INSTANCE
    }
    /// Offset of the signature id of type `index`.
    pub fn type_id(&self, index: u32) -> u32 {
        assert!(index < self.num_types);
        self.type_ids + 4 * index
    }
    /// Offset of the pointer to table `index`'s definition.
    pub fn table(&self, index: u32) -> u32 {
        assert!(index < self.num_tables);
        self.tables + 8 * index
    }
    /// Offset of the pointer to memory `index`'s definition.
    pub fn memory(&self, index: u32) -> u32 {
        assert!(index < self.num_memories);
        self.memories + 8 * index
    }
    /// Offset of memory `index`'s base address, written once at instantiation.
    /// Only valid for a memory whose base never moves
    /// ([`crate::MemoryStyle::base_moves`] is false); a dynamic memory's base is
    /// read through its definition ([`VMOffsets::memory`]).
    pub fn memory_base(&self, index: u32) -> u32 {
        assert!(index < self.num_memories);
        self.memory_bases + 8 * index
    }
    /// Offset of the pointer to imported global `index`'s definition.
    pub fn imported_global(&self, index: u32) -> u32 {
        assert!(index < self.num_imported_globals);
        self.imported_globals + 8 * index
    }
    /// Offset of defined global `defined_index` (counted from the first defined global).
    pub fn defined_global(&self, defined_index: u32) -> u32 {
        assert!(defined_index < self.num_defined_globals);
        self.defined_globals + VMGLOBAL_SIZE * defined_index
    }
    /// Offset of the `VMFuncRef` of function `index`.
    pub fn funcref(&self, index: u32) -> u32 {
        assert!(index < self.num_funcs);
        self.funcrefs + VMFUNCREF_SIZE * index
    }
    /// The bytes of the defined functions' `VMFuncRef`s (the runtime fills them
    /// on first use, and only there).
    pub fn defined_funcrefs(&self) -> std::ops::Range<u32> {
        self.funcrefs + VMFUNCREF_SIZE * self.num_imported_funcs
            ..self.funcrefs + VMFUNCREF_SIZE * self.num_funcs
    }
    /// Offset of the pointer to imported function `index`'s original funcref.
    pub fn imported_funcref_ptr(&self, index: u32) -> u32 {
        assert!(index < self.num_imported_funcs);
        self.imported_funcref_ptrs + 8 * index
    }
    /// Offset of the pointer to tag `index`'s definition.
    pub fn tag(&self, index: u32) -> u32 {
        assert!(index < self.num_tags);
        self.tags + 8 * index
    }
    /// Total size of the `VMContext` in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }
}

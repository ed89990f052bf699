//! Tern's compiler-independent description of a WebAssembly module.
//!
//! This crate is the first stage of the data path: it turns validated wasm bytes
//! (through `wasmparser`) into a [`ModuleTranslation`]: the module's types, imports,
//! exports, memories, tables, globals and segments, plus the function bodies borrowed
//! from the input, ready for a code generator. It also defines, once, the layout of
//! the `VMContext` ([`VMOffsets`]) that both the code generator and the runtime use,
//! the one list of libcalls ([`for_each_libcall!`], from which [`Builtin`], the
//! CLIF signatures and the runtime's `VMBuiltins` table are generated), and the
//! trap codes compiled code can raise ([`TrapKind`]).
//!
//! It never touches raw pointers and knows nothing of Cranelift.
#![forbid(unsafe_code)]

mod address_map;
pub mod component;
mod const_expr;
mod gc_exn;
mod gc_layout;
mod gc_types;
mod handlers;
mod legacy_eh;
mod libcalls;
mod memory_image;
mod module;
mod stack_maps;
mod strict_leb;
mod table_image;
mod translate;
mod trap;
mod tunables;
mod types;
mod vmoffsets;

pub use address_map::AddressMap;
pub use const_expr::{i31_word, ConstExpr, ConstOp};
pub use gc_exn::{exn_reference_fields, GcRefField};
pub use gc_layout::{
    gc_array_layout, gc_exn_layout, gc_storage_size, gc_struct_layout, GcArrayLayout, GcKind,
    GcStructLayout, GC_ARRAY_LENGTH, GC_EXN_TAG, GC_EXTERN_PAYLOAD, GC_EXTERN_SIZE,
    GC_EXTERN_TYPE_ID, GC_FORWARDED, GC_HEADER_KIND, GC_HEADER_SIZE, GC_HEADER_TYPE_ID,
    GC_HEAP_MAX, GC_HEAP_START,
};
pub use gc_types::{
    CompositeKind, WasmArrayType, WasmCompositeType, WasmFieldType, WasmStorageType,
    WasmStructType, WasmSubType,
};
pub use handlers::{ExceptionHandlers, HandlerSite};
pub use legacy_eh::{rewrite_legacy_exceptions, LegacyRewrite, OffsetMap};
pub use libcalls::{Builtin, LibcallType};
pub use memory_image::{
    memory_has_image, memory_images, memory_images_dense_up_to, MemoryImage, IMAGE_PAGE,
};
pub use module::{
    DataSegment, ElemItems, ElemSegment, EntityIndex, Export, FunctionBody, Global, Import, Module,
    ModuleTranslation, SegmentMode,
};
pub use stack_maps::{StackMap, StackMapSite, StackMaps};
pub use table_image::{table_has_image, table_images, TABLE_IMAGE_NULL};
pub use translate::{translate_module, WasmFeatures};
pub use trap::TrapKind;
pub use tunables::{MemoryStyle, Tunables};
pub use types::{
    MemoryPlan, TablePlan, TypeIndex, WasmFuncType, WasmHeapType, WasmRefType, WasmValType,
};
pub use vmoffsets::{
    VMOffsets, HOSTCTX_ENTRY, VALRAW_SIZE, VMCTX_BUILTINS, VMCTX_HEADER_SIZE, VMCTX_INSTANCE,
    VMCTX_RUNTIME_LIMITS, VMCTX_STORE, VMFUNCREF_SIZE, VMFUNCREF_TYPE_ID, VMFUNCREF_VMCTX,
    VMFUNCREF_WASM_CALL, VMGLOBAL_SIZE, VMLIMITS_EPOCH_DEADLINE, VMLIMITS_EPOCH_PTR,
    VMLIMITS_FUEL_CONSUMED, VMLIMITS_GC_HEAP_BASE, VMLIMITS_GC_LIMIT, VMLIMITS_GC_NEXT,
    VMLIMITS_LAST_EXIT_FP, VMLIMITS_LAST_EXIT_PC, VMLIMITS_PENDING_EXN, VMLIMITS_PENDING_TAG,
    VMLIMITS_STACK_LIMIT, VMMEMORY_BASE, VMMEMORY_LENGTH, VMTABLE_BASE, VMTABLE_LENGTH,
    VMTAG_TYPE_ID,
};

/// The wasm page size in bytes (64 KiB).
pub const WASM_PAGE_SIZE: u64 = 65536;
/// The largest number of pages a 32-bit memory may have.
pub const WASM32_MAX_PAGES: u64 = 65536;

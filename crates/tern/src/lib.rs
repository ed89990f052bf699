//! Tern: an embeddable WebAssembly runtime with wasmtime's embedding API,
//! compiling through Cranelift.
//!
//! ```
//! use tern::*;
//!
//! fn main() -> anyhow::Result<()> {
//!     let engine = Engine::default();
//!     let module = Module::new(&engine, r#"
//!         (module
//!           (import "host" "log" (func $log (param i32)))
//!           (func (export "double") (param i32) (result i32)
//!             (call $log (local.get 0))
//!             (i32.mul (local.get 0) (i32.const 2))))
//!     "#)?;
//!     let mut store = Store::new(&engine, Vec::new());
//!     let mut linker = Linker::new(&engine);
//!     linker.func_wrap("host", "log", |mut caller: Caller<'_, Vec<i32>>, x: i32| {
//!         caller.data_mut().push(x);
//!     })?;
//!     let instance = linker.instantiate(&mut store, &module)?;
//!     let double = instance.get_typed_func::<i32, i32>(&mut store, "double")?;
//!     assert_eq!(double.call(&mut store, 21)?, 42);
//!     assert_eq!(store.data(), &[21]);
//!     Ok(())
//! }
//! ```
//!
//! The data path: [`Module::new`] validates and translates the wasm
//! (`tern-environ`), compiles every function in parallel with Cranelift
//! (`tern-cranelift`) and maps the code executable; [`Instance::new`] or
//! [`Linker::instantiate`] allocates the instance in a [`Store`]; [`Func::call`]
//! enters compiled code through a trampoline with traps caught (`vm`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod artifact;
mod cache;
mod cache_cleanup;
mod cache_config;
pub mod component;
mod config;
mod config_knobs;
mod engine;
mod exn;
mod externals;
mod func;
mod gc;
mod instance;
mod limits;
mod linker;
mod module;
mod pooling;
mod profiling;
mod resources;
mod store;
mod table_index;
mod trap;
mod type_registry;
mod types;
mod values;
#[allow(unsafe_code, reason = "the vm module is the one place for unsafe code")]
mod vm;

pub use anyhow::{Error, Result};
pub use artifact::{CompatibilityHash, Precompiled};
pub use cache::CACHE_DIR_ENV;
pub use config::{Config, OptLevel, WasmBacktraceDetails};
pub use config_knobs::{ModuleVersionStrategy, Strategy};
pub use engine::Engine;
pub use exn::{Tag, TagType, ThrownException};
pub use externals::{Extern, Global, Memory, MemoryAccessError, Table};
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
#[doc(hidden)]
pub use gc::GcRootCounts;
pub use gc::{
    AnyRef, ArrayRef, ArrayRefPre, ArrayType, ExnRef, ExnRefPre, ExnType, FieldType, GcRef,
    ManuallyRooted, OwnedRooted, RootScope, Rooted, RootedGcRef, StorageType, StructRef,
    StructRefPre, StructType, I31,
};
pub use instance::{Export, Instance};
pub use limits::{
    ResourceLimiter, ResourceLimiterAsync, StoreLimits, StoreLimitsBuilder, DEFAULT_INSTANCE_LIMIT,
    DEFAULT_MEMORY_LIMIT, DEFAULT_TABLE_LIMIT,
};
pub use linker::{InstancePre, Linker};
pub use module::{Module, ModuleExport};
pub use pooling::{InstanceAllocationStrategy, PoolingAllocationConfig};
pub use profiling::{jitdump_path, perf_map_path, ProfilingStrategy};
pub use resources::ResourcesRequired;
pub use store::{
    AsContext, AsContextMut, CallHook, CallHookHandler, Store, StoreContext, StoreContextMut,
    UpdateDeadline,
};
pub use table_index::TableIndex;
pub use tern_environ::WasmFeatures;
pub use trap::{FrameInfo, Trap, WasmBacktrace};
pub use types::{
    ExportType, ExternType, FuncType, GlobalType, HeapType, ImportType, MemoryType, Mutability,
    RefType, SharedTypeIndex, TableType, ValType,
};
pub use values::{ExternRef, Val, ValRaw, V128};

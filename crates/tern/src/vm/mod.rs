//! The only place in Tern with `unsafe` code: everything that touches raw
//! memory, machine code, signals or the `VMContext`.
//!
//! * `mmap`, `code_memory`: address-space reservations and executable code.
//! * `vmcontext`: the `#[repr(C)]` structs compiled code reads.
//! * `instance`, `memory`, `table`: the runtime objects behind the public handles.
//! * `traphandlers`: entering wasm, signals, unwinding traps and host errors.
//! * `host_func`: how wasm calls into Rust closures.
//! * `libcalls`: functions compiled code calls for heavier work.
//! * `entry`: calling compiled code from the host.
//! * `signal_handler`: the embedder's own signal handler, consulted first.
//!
//! Each module exposes safe functions whose preconditions are upheld by the
//! store's ownership of every object (see `store.rs`); each `unsafe` block says
//! why it holds.
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod code_memory;
pub mod entry;
pub mod global;
pub mod host_func;
pub mod instance;
pub mod libcalls;
pub mod memory;
pub mod mmap;
pub mod signal_handler;
pub mod store_cast;
pub mod table;
pub mod traphandlers;
pub mod vmcontext;

pub use code_memory::{registry, CodeInfo, CodeMemory};
pub use entry::{call_wasm, ArrayTrampoline, FuncRefPtr};
pub use global::GlobalPtr;
pub use host_func::HostFuncCtx;
pub use instance::VMInstance;
pub use memory::Memory;
pub use table::Table;
pub use traphandlers::Unwind;
pub use vmcontext::{VMFuncRef, VMGlobalDefinition, VMRuntimeLimits, ValRaw};

//! The only place in Tern with `unsafe` code: everything that touches raw
//! memory, machine code, signals or the `VMContext`.
//!
//! * `mmap`, `code_memory`: address-space reservations (typed by protection)
//!   and executable code.
//! * `registry`: the lock-free map from code addresses to module info that the
//!   signal handler reads.
//! * `thread_stack`: each thread's alternate signal stack and trace buffer.
//! * `vmcontext`: the `#[repr(C)]` structs compiled code reads.
//! * `instance`, `memory`, `table`: the runtime objects behind the public handles.
//! * `memory_image`: copy-on-write initial contents of memories (memfd or artifact file).
//! * `pool`: the pooling allocator's slots and counts.
//! * `reuse`: the on-demand allocator's few released mappings, kept for reuse.
//! * `arena`: a store's share of the on-demand allocator: its memories and
//!   vmctxs carved from batches, unmapped together.
//! * `traphandlers`: entering wasm, signals, unwinding traps and host errors.
//! * `unwind`: the exception unwinder (from a `throw` to a wasm handler, or
//!   out of the activation) and its resume routine.
//! * `host_func`: how wasm calls into Rust closures.
//! * `libcalls`: functions compiled code calls for heavier work (`gc_libcalls`:
//!   the GC heap's).
//! * `gc_heap`: a store's GC heap reservation and bump allocation.
//! * `entry`: calling compiled code from the host.
//! * `signal_handler`: the embedder's own signal handler, consulted first.
//! * `stack_roots`: the GC references wasm frames hold across calls, from stack maps.
//! * `fiber`: the stacks async calls run wasm on, and suspending on host futures.
//! * `jitdump_map`: the executable mapping of the jitdump file that perf looks for.
//!
//! Each module exposes safe functions whose preconditions are upheld by the
//! store's ownership of every object (see `store.rs`); each `unsafe` block says
//! why it holds (`clippy::undocumented_unsafe_blocks` is denied here), and each
//! `unsafe fn` has a `# Safety` section saying what its caller promises.
//!
//! # Facts the rest of Tern relies on
//! * **One layout.** Every offset compiled code uses comes from
//!   `tern_environ::vmoffsets`: the fixed `VMContext` header (`VMCTX_*`: limits
//!   +0, builtins +8, store +16, instance +24) needs no module, the rest is
//!   `VMOffsets`. The runtime mirrors them in `#[repr(C)]` structs
//!   (`VMContextHeader`, `VMFuncRef`, `VMRuntimeLimits`, `HostFuncCtx`, …) that
//!   `offset_of!` assertions check at compile time; no offset is a literal.
//! * **One path to the store while wasm runs.** `call_wasm` takes the store's
//!   `&mut`, turns it into one raw pointer and records it in the store's
//!   runtime limits for as long as its wasm runs; host functions and libcalls
//!   rebuild their `&mut` from that pointer (`VMContextHeader::entered_store`,
//!   two loads from the calling vmctx), never from the vmctx's store
//!   field (written at instantiation from an older borrow), so two live
//!   `&mut StoreInner` never alias.
//! * **Signals are async-signal-safe.** The trap handler takes no lock and
//!   neither allocates nor frees: the code registry is an atomically published
//!   snapshot (`registry`), the backtrace goes into a per-thread buffer
//!   (`thread_stack`), and it runs on Tern's own guarded alternate signal stack,
//!   installed the first time a thread enters wasm and freed at thread exit.
//! * **Protection is in the types.** `Mmap` (read-write prefix) is the only
//!   mapping that hands out `&mut [u8]`; making it executable consumes it into a
//!   `ReadOnlyMmap`, which is also what a mapped artifact file is.
//! * **Fibers carry their own trap state.** An async call runs wasm on a
//!   pooled fiber stack (`fiber`); the stack limit and the trap-handling
//!   thread-locals are swapped in and out at every resume and suspend, so the
//!   signal handler and the stack-limit check always see the stack running now.
//! * **`catch_traps` is `unsafe`.** Its callers promise that the frames a trap
//!   jumps over own nothing; `call_wasm` is the one caller.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod arena;
pub mod code_memory;
pub mod entry;
pub mod fiber;
pub mod gc_heap;
pub mod gc_libcalls;
pub mod global;
pub mod host_func;
pub mod instance;
pub mod jitdump_map;
pub mod libcalls;
pub mod memory;
pub mod memory_image;
pub mod mmap;
pub mod pool;
pub mod registry;
pub mod reuse;
pub mod signal_handler;
pub mod stack_roots;
pub mod store_cast;
pub mod table;
pub mod thread_stack;
pub mod traphandlers;
pub mod unwind;
pub mod vmcontext;

pub use code_memory::{CodeInfo, CodeMemory};
pub use entry::{call_wasm, ArrayTrampoline, FuncRefPtr};
pub use global::GlobalPtr;
pub use host_func::{HostFuncDef, HostFuncList, HostFuncs};
pub use instance::VMInstance;
pub use memory::Memory;
pub use memory_image::MemoryImage;
pub use table::Table;
pub use traphandlers::Unwind;
pub use vmcontext::{VMFuncRef, VMGlobalDefinition, VMRuntimeLimits, VMTagDefinition, ValRaw};

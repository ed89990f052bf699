//! Compiled component-to-component adapters.
//!
//! When inlining finds a `canon lower` whose callee is a function lifted by
//! another inlined instance of the same component, the call can be compiled:
//! [`plan_adapters`] builds, for each such lowered function, a small core
//! module (with `wasm-encoder`) whose one export takes the caller's core
//! arguments and does what the host-fused path (`tern::component::host`)
//! does in Rust, in the same order (the steps: `module.rs`). The flags are
//! the component VMContext's slots (`vmctx.rs`), imported as mutable `i32`
//! globals; traps go through one runtime import, `tern.trap`, so that a
//! compiled call fails with exactly the error (kind and message) the fused
//! path gives. The module is compiled with the component's static modules
//! and stored in its artifact, so loading a precompiled component runs no
//! compiler.
//!
//! The files, one purpose each:
//! - `plan.rs`: which calls are compiled, their signatures, what they import;
//! - `module.rs`: the module and the adapter function's steps;
//! - `body.rs`: the function under construction and encoding helpers;
//! - `value.rs`: the seam — one value from caller to callee, per type;
//! - `check.rs`: the checks a lift makes, before anything is lowered;
//! - `scalar.rs`: scalars, flags and variants, flat or in memory;
//! - `memory.rs`: strings of one encoding and lists (`realloc`, `memory.copy`);
//! - `utf.rs`: UTF-8 and UTF-16 validation loops;
//! - `transcode.rs`: strings between two encodings (through the runtime's
//!   `tern.transcode-to-callee`/`-to-caller` imports);
//! - `res.rs`: resource handles (`own` moved, `borrow` lent, through the
//!   runtime's handle tables);
//! - `interface.rs`: the names and trap codes shared with the runtime.
//!
//! What is compiled: synchronous calls of every value type except maps and
//! async values (strings in all nine encoding
//! pairs); parameters beyond 16 flat values
//! and results beyond one pass through memory as `canon lift`/`lower` say.
//! Callees that use `context.get`/`set` (slots the host keeps per task)
//! stay fused too. Every call not compiled keeps the reason in
//! [`crate::component::ComponentInfo::fused_calls`]. Nothing here must ever
//! produce an adapter whose behaviour differs from the fused path's.

mod body;
mod check;
mod interface;
mod memory;
mod module;
mod plan;
mod res;
mod scalar;
mod transcode;
mod utf;
mod value;

pub use interface::{adapter_names, AdapterTrap};
pub use plan::plan_adapters;

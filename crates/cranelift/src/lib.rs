//! Tern's code generator: WebAssembly function bodies and trampolines to machine
//! code through Cranelift.
//!
//! The pipeline, as types:
//! [`tern_environ::ModuleTranslation`] → [`Compiler::compile_module`] translates and
//! validates every body in parallel into [`CompiledFunction`]s → [`link`] lays them
//! out in one text section with direct calls resolved → a [`CodeImage`] the runtime
//! maps executable. The trampolines (host↔wasm) a module needs
//! ([`needed_trampolines`]) are compiled in the same pass and linked after the
//! functions, so nothing is compiled once a module is loaded.
//!
//! Explicit bounds checks (dynamic and memory64 memories, table element
//! accesses, `call_indirect`) are followed by a `select_spectre_guard` on the
//! address unless `Tunables::{heap,table}_access_spectre_mitigation` is off, so
//! a mispredicted check cannot read outside the sandbox (as in wasmtime).
//!
//! This crate never touches raw pointers; it only produces bytes and tables.
#![forbid(unsafe_code)]

mod compiler;
mod link;
mod signature;
mod trampoline;
mod translate;
mod trap_codes;

pub use compiler::{
    check_target, CompiledFunction, CompiledModule, Compiler, CompilerSettings, OptLevel,
    RelocTarget,
};
pub use link::{link, CodeImage, FuncLoc};
pub use trampoline::{needed_trampolines, TrampolineKind, TrampolineSpec};

//! Tern's fuzzing support: differential execution against the wasmi
//! interpreter, deterministic-compilation checks and malformed-input
//! campaigns. Driven by the `tern-fuzz` binary (long campaigns), by this
//! crate's tests (a fixed, bounded number of seeds in CI) and by the
//! `cargo fuzz` targets in the repository's `fuzz/` directory.
//!
//! The pieces, in data-path order:
//! - [`generate`]: seed → wasm module (`wasm-smith`, configured for what both
//!   engines implement, with a termination counter and canonical NaNs);
//!   [`bulk`]: seed → a module of bulk-memory and table operations, which
//!   `wasm-smith` almost never emits;
//! - [`tern_side`] and [`oracle`]: the engine under test and the reference,
//!   behind the same small interface over neutral [`value`] types;
//! - [`differential`]: run both, compare every call, trap and exported state;
//! - [`gc_self`]: GC and exception modules, which the oracle cannot run,
//!   checked against Tern itself in four setups that must agree, through
//!   the structural dumps of [`gc_values`];
//! - [`reduce`]: shrink a diverging module to a small `.wat` regression test;
//! - [`determinism`]: compiling twice gives byte-identical artifacts;
//! - [`malformed`]: mutated modules never crash, hang or panic Tern.

pub mod bulk;
pub mod determinism;
pub mod differential;
pub mod gc_self;
pub mod gc_values;
pub mod generate;
pub mod malformed;
pub mod oracle;
pub mod reduce;
pub mod rng;
pub mod tern_side;
pub mod value;

/// Runs `f` on a thread with a stack of [`tern_side::THREAD_STACK`] bytes
/// (Tern's wasm stack limit in these runs is large) and returns its result.
///
/// # Panics
/// Re-raises a panic of `f`.
pub fn with_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let handle = std::thread::Builder::new()
        .name("tern-fuzz".into())
        .stack_size(tern_side::THREAD_STACK)
        .spawn(f)
        .expect("spawning the fuzzing thread");
    match handle.join() {
        Ok(r) => r,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

//! `tern-bench kernels [NAME]`: the compute kernels of `kernels.wat` (fib,
//! sieve, mandel) alone, with three times the full run's rounds
//! ([`crate::measure`]: CPU time, Tern's and wasmtime's calls interleaved),
//! for telling small code-generation changes apart on a shared machine.
//!
//! `tern-bench kernels once NAME ARG` calls kernel NAME with ARG once on each
//! runtime without reading any clock, for counting instructions with
//! `valgrind --tool=callgrind` (the inclusive cost of each runtime's
//! `TypedFunc::call` is the kernel's; rustix's vDSO clock does not run under
//! valgrind, so the timed modes cannot be counted). The calls are the suite's
//! own (`suite::kernel_calls`).

use crate::measure::{measure, Rounds, ROUNDS};
use anyhow::Result;

/// `kernels.wat`, parsed here (the wasmtime crate is built without `wat`).
fn kernels_wasm() -> Result<Vec<u8>> {
    Ok(wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/kernels.wat"
    ))?)
}

/// Runs the mode: `args` are the command line after `kernels`.
///
/// # Errors
/// A bad argument, or a kernel that fails to compile, run or agree.
pub fn run(args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) == Some("once") {
        let (Some(name), Some(arg)) = (args.get(1), args.get(2)) else {
            anyhow::bail!("usage: tern-bench kernels once NAME ARG");
        };
        let arg: i32 = arg.parse()?;
        let wasm = kernels_wasm()?;
        let mut calls = crate::tern_suite::kernel_calls(&wasm, Some(name), Some(arg))?;
        #[cfg(feature = "wasmtime")]
        calls.extend(crate::wasmtime_suite::kernel_calls(
            &wasm,
            Some(name),
            Some(arg),
        )?);
        anyhow::ensure!(!calls.is_empty(), "no kernel {name:?}");
        for c in &mut calls {
            println!("{name}({arg}) = {}", (c.call)()?);
        }
        return Ok(());
    }
    let only = args.first().map(String::as_str);
    let wasm = kernels_wasm()?;
    let ours = crate::tern_suite::kernel_calls(&wasm, only, None)?;
    #[cfg(feature = "wasmtime")]
    let theirs = Some(crate::wasmtime_suite::kernel_calls(&wasm, only, None)?);
    #[cfg(not(feature = "wasmtime"))]
    let theirs = None;
    let rounds = Rounds {
        min: 3 * ROUNDS.min,
        budget: 3 * ROUNDS.budget,
        ..ROUNDS
    };
    let (ours, theirs) = measure(ours, theirs, rounds)?;
    crate::print_table(&ours, theirs.as_deref());
    Ok(())
}

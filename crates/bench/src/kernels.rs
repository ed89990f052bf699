//! `tern-bench kernels [NAME]`: the compute kernels of `kernels.wat` (fib,
//! sieve, mandel) alone, with three times the full run's rounds
//! ([`crate::measure`]: CPU time, Tern's and wasmtime's calls interleaved),
//! for telling small code-generation changes apart on a shared machine.
//!
//! `tern-bench kernels once NAME ARG` calls kernel NAME with ARG once on each
//! runtime without reading any clock, for counting instructions with
//! `valgrind --tool=callgrind` (the inclusive cost of each runtime's
//! `TypedFunc::call` is the kernel's; rustix's vDSO clock does not run under
//! valgrind, so the timed modes cannot be counted).

use crate::measure::{measure, Rounds, ROUNDS};
use anyhow::Result;

/// Expands the kernel calls as module `$name`, written against the crate `$rt`.
macro_rules! kernels {
    ($name:ident, $rt:ident) => {
        /// The kernel calls, compiled against one runtime crate.
        pub mod $name {
            use crate::measure::Call;
            use crate::suite::KERNELS;
            use ::$rt::{Engine, Instance, Module, Store};

            /// Compiles `kernels.wat` with the default configuration and
            /// instantiates each kernel (or only the export `only`) in its own
            /// store, called with its row's argument or `arg`.
            ///
            /// # Errors
            /// When the module fails to compile or instantiate.
            pub fn prepare(only: Option<&str>, arg: Option<i32>) -> anyhow::Result<Vec<Call>> {
                let engine = Engine::default();
                // Parsed here: the wasmtime crate is built without `wat`.
                let wasm = wat::parse_file(concat!(env!("CARGO_MANIFEST_DIR"), "/kernels.wat"))?;
                let module = Module::new(&engine, &wasm)?;
                let mut calls = Vec::new();
                for (name, export, n) in KERNELS {
                    if only.is_some_and(|o| o != export) {
                        continue;
                    }
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[])?;
                    let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
                    let n = arg.unwrap_or(n);
                    let call = move || -> anyhow::Result<u32> {
                        f.call(&mut store, n)
                            .map(|s| s as u32)
                            .map_err(|e| anyhow::anyhow!("{export}({n}): {e:?}"))
                    };
                    calls.push(Call {
                        name,
                        iterations: 1,
                        call: Box::new(call),
                    });
                }
                Ok(calls)
            }
        }
    };
}

pub(crate) use kernels;

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
        let mut calls = crate::tern_kernels::prepare(Some(name), Some(arg))?;
        #[cfg(feature = "wasmtime")]
        calls.extend(crate::wasmtime_kernels::prepare(Some(name), Some(arg))?);
        anyhow::ensure!(!calls.is_empty(), "no kernel {name:?}");
        for c in &mut calls {
            println!("{name}({arg}) = {}", (c.call)()?);
        }
        return Ok(());
    }
    let only = args.first().map(String::as_str);
    let ours = crate::tern_kernels::prepare(only, None)?;
    #[cfg(feature = "wasmtime")]
    let theirs = Some(crate::wasmtime_kernels::prepare(only, None)?);
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

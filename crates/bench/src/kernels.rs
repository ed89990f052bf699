//! `tern-bench kernels [ROUNDS] [NAME]`: the compute kernels of `kernels.wat`
//! (fib, sieve, mandel) alone, for telling small code-generation changes
//! apart on a shared machine. Unlike the suite's kernel rows (wall-clock
//! time, best of five, all of Tern's rows before all of wasmtime's), each
//! call is timed in CPU time ([`workloads::cpu_timed`]) and, with the
//! `wasmtime` feature, Tern's and wasmtime's calls alternate
//! ([`workloads::interleaved`]), so the machine's load weighs on both alike.
//! Prints the best and the median call of each side and their ratios.
//!
//! `tern-bench kernels once NAME ARG` calls kernel NAME with ARG once on each
//! runtime without reading any clock, for counting instructions with
//! `valgrind --tool=callgrind` (whose inclusive cost of each runtime's
//! `TypedFunc::call` is the kernel's; rustix's vDSO clock does not run under
//! valgrind).
//!
//! [`workloads::cpu_timed`]: crate::workloads::cpu_timed
//! [`workloads::interleaved`]: crate::workloads::interleaved

use crate::workloads::Call;
use anyhow::Result;
use std::time::Duration;

/// Each kernel: its export, its row's name, and its argument (the suite's).
pub const KERNELS: [(&str, &str, i32); 3] = [
    ("fib", "fib(30)", 30),
    ("sieve", "sieve(10,000,000)", 10_000_000),
    ("mandel", "mandel(600)", 600),
];

/// Expands the kernel calls as module `$name`, written against the crate `$rt`.
macro_rules! kernels {
    ($name:ident, $rt:ident) => {
        /// The kernel calls, compiled against one runtime crate.
        pub mod $name {
            use crate::kernels::KERNELS;
            use crate::workloads::Call;
            use ::$rt::{Engine, Instance, Module, Store};

            /// Compiles `kernels.wat` with the default configuration and
            /// instantiates each kernel (or only `only`) in its own store,
            /// called with its row's argument or `arg`.
            ///
            /// # Errors
            /// When the module fails to compile or instantiate.
            pub fn prepare(only: Option<&str>, arg: Option<i32>) -> anyhow::Result<Vec<Call>> {
                let engine = Engine::default();
                // Parsed here: the wasmtime crate is built without `wat`.
                let wasm = wat::parse_file(concat!(env!("CARGO_MANIFEST_DIR"), "/kernels.wat"))?;
                let module = Module::new(&engine, &wasm)?;
                let mut calls = Vec::new();
                for (export, name, n) in KERNELS {
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
                        call: Box::new(call),
                    });
                }
                Ok(calls)
            }
        }
    };
}

pub(crate) use kernels;

/// Every call's time for each side: Tern's, and wasmtime's when measured.
type Times = Vec<(&'static str, Vec<Duration>, Option<Vec<Duration>>)>;

/// Times `rounds` calls of each kernel (alternating with wasmtime's when
/// `theirs` is given) and checks every call's result against the first.
fn measure(mut ours: Vec<Call>, mut theirs: Option<Vec<Call>>, rounds: usize) -> Result<Times> {
    let mut out = Vec::new();
    for (i, x) in ours.iter_mut().enumerate() {
        let mut y = theirs.as_mut().map(|t| &mut t[i]);
        let (mut tx, mut ty) = (Vec::new(), Vec::new());
        let mut expected = None;
        for _ in 0..rounds {
            let (r, d) = crate::workloads::cpu_timed(&mut x.call);
            let r = r?;
            anyhow::ensure!(*expected.get_or_insert(r) == r, "{}: result {r}", x.name);
            tx.push(d);
            if let Some(y) = y.as_mut() {
                let (r, d) = crate::workloads::cpu_timed(&mut y.call);
                let r = r?;
                anyhow::ensure!(*expected.get_or_insert(r) == r, "{}: result {r}", y.name);
                ty.push(d);
            }
        }
        out.push((x.name, tx, y.map(|_| ty)));
    }
    Ok(out)
}

/// The best and the median of `times`, in milliseconds.
fn best_median(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(times[0]), ms(times[times.len() / 2]))
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
        let mut calls = crate::tern_kernels::prepare(Some(name), Some(arg))?;
        #[cfg(feature = "wasmtime")]
        calls.extend(crate::wasmtime_kernels::prepare(Some(name), Some(arg))?);
        anyhow::ensure!(!calls.is_empty(), "no kernel {name:?}");
        for c in &mut calls {
            println!("{name}({arg}) = {}", (c.call)()?);
        }
        return Ok(());
    }
    let rounds = match args.first() {
        Some(n) => n.parse()?,
        None => 15,
    };
    anyhow::ensure!(rounds > 0, "at least one round");
    let only = args.get(1).map(String::as_str);
    let ours = crate::tern_kernels::prepare(only, None)?;
    #[cfg(feature = "wasmtime")]
    let theirs = Some(crate::wasmtime_kernels::prepare(only, None)?);
    #[cfg(not(feature = "wasmtime"))]
    let theirs = None;
    println!("| kernel ({rounds} calls, CPU ms) | Tern best / median | wasmtime best / median | ratio best / median |");
    println!("|---|---|---|---|");
    for (name, ours, theirs) in measure(ours, theirs, rounds)? {
        let (ob, om) = best_median(ours);
        match theirs {
            Some(t) => {
                let (tb, tm) = best_median(t);
                println!(
                    "| {name} | {ob:.2} / {om:.2} | {tb:.2} / {tm:.2} | {:.3} / {:.3} |",
                    ob / tb,
                    om / tm
                );
            }
            None => println!("| {name} | {ob:.2} / {om:.2} | | |"),
        }
    }
    Ok(())
}

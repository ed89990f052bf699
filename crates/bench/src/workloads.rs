//! The execution rows of issue 15's table: the seven CPU workloads of
//! `benches/workloads/` (sieve, nbody, sha256, matmul, sort, regex, json; a
//! Rust crate built to `workloads.wasm` by its `build.sh`), timed on Tern and,
//! with the `wasmtime` feature, on wasmtime 48 from the same source
//! (`workloads!` expands it once per runtime crate, like `suite!`).
//!
//! Each workload gets its own instance, compiled and instantiated beforehand;
//! its calls are timed like every execution row, in CPU time, interleaved
//! with the other runtime's, best round counting (`measure.rs`).

use crate::suite::Row;

/// The committed workloads module (see `benches/workloads/build.sh`).
pub const WASM: &[u8] = include_bytes!("../../../benches/workloads/workloads.wasm");

/// Each workload: its export, its row's name, and the size it runs at (each
/// chosen for roughly 50–200 ms on Tern on the reference machine).
///
/// `sort` is bound by its merge loop's data-dependent branch, so its time
/// depends on where that loop lands within a 32-byte code window: moving the
/// same machine code by 2 to 30 bytes changed it from 31.3 to 34.8 ms on the
/// reference machine (December 2026). Tern's and wasmtime's loops differ by 2
/// bytes (Tern's stack-limit load in the prologue has no displacement), which
/// is worth about 3 % of that row and says nothing about either compiler.
pub const WORKLOADS: [(&str, &str, i32); 7] = [
    ("run_sieve", "workload sieve(5,000,000)", 5_000_000),
    ("run_nbody", "workload nbody(600,000 steps)", 600_000),
    ("run_sha256", "workload sha256(4 x 2 MiB)", 2 << 20),
    ("run_matmul", "workload matmul(400 x 400 f64)", 400),
    ("run_sort", "workload sort(400,000 u32)", 400_000),
    (
        "run_regex",
        "workload regex(7 patterns x 4,000 lines)",
        4_000,
    ),
    ("run_json", "workload json(4 x 5,000 records)", 5_000),
];

/// Whether `name` is one of the workload rows (for the geometric mean).
pub fn is_workload(name: &str) -> bool {
    WORKLOADS.iter().any(|(_, row, _)| *row == name)
}

/// The geometric mean of the workload rows' values, or of the ratios of ours
/// to theirs when both were measured.
pub fn geomean(ours: &[Row], theirs: Option<&[Row]>) -> f64 {
    let mut logs = Vec::new();
    for (i, row) in ours.iter().enumerate().filter(|(_, r)| is_workload(r.name)) {
        let other = theirs.and_then(|t| t.get(i)).map_or(1.0, |o| o.value);
        logs.push((row.value / other).ln());
    }
    (logs.iter().sum::<f64>() / logs.len().max(1) as f64).exp()
}

/// Expands the workload rows as module `$name`, written against the crate `$rt`.
macro_rules! workloads {
    ($name:ident, $rt:ident) => {
        /// The workload rows, compiled against one runtime crate.
        pub mod $name {
            use crate::measure::Call;
            use crate::workloads::{WASM, WORKLOADS};
            use ::$rt::{Config, Engine, Instance, Module, ProfilingStrategy, Store};

            /// Compiles the module and instantiates every workload (or only
            /// the one whose export is `run_<only>`) in its own store: one
            /// [`Call`] each, ready to be timed.
            ///
            /// # Errors
            /// When the module fails to compile or instantiate.
            pub fn prepare(only: Option<&str>) -> anyhow::Result<Vec<Call>> {
                let mut config = Config::new();
                // For `perf record`: name the compiled functions (perf map) or
                // also record their code (jitdump, for `perf inject --jit`).
                match std::env::var("TERN_BENCH_PROFILER").as_deref() {
                    Ok("perfmap") => _ = config.profiler(ProfilingStrategy::PerfMap),
                    // wasmtime is built without its `jitdump` feature.
                    Ok("jitdump") if stringify!($rt) == "wasmtime" => {
                        _ = config.profiler(ProfilingStrategy::PerfMap)
                    }
                    Ok("jitdump") => _ = config.profiler(ProfilingStrategy::JitDump),
                    _ => {}
                }
                let engine = Engine::new(&config)?;
                let module = Module::new(&engine, WASM)?;
                if let Some(dir) = std::env::var_os("TERN_BENCH_DUMP") {
                    // The compiled artifact, for `objdump -d` of the code.
                    let path = std::path::Path::new(&dir)
                        .join(concat!(stringify!($rt), "-workloads.cwasm"));
                    std::fs::write(path, module.serialize()?)?;
                }
                let mut calls = Vec::new();
                for (export, name, n) in WORKLOADS {
                    if only.is_some_and(|o| export.strip_prefix("run_") != Some(o)) {
                        continue;
                    }
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[])?;
                    let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
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

pub(crate) use workloads;

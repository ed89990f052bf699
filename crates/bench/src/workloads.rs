//! The execution rows of issue 15's table: the seven CPU workloads of
//! `benches/workloads/` (sieve, nbody, sha256, matmul, sort, regex, json; a
//! Rust crate built to `workloads.wasm` by its `build.sh`), timed on Tern and,
//! with the `wasmtime` feature, on wasmtime 48 from the same source
//! (`workloads!` expands it once per runtime crate, like `suite!`).
//!
//! Execution is the time of the call alone: each workload gets its own
//! instance, compiled and instantiated beforehand, and the best wall-clock time
//! of [`RUNS`] calls counts. Every call's checksum must equal the first one's,
//! and `main.rs` checks the two runtimes' checksums are the same.

use crate::suite::Row;

/// The committed workloads module (see `benches/workloads/build.sh`).
pub const WASM: &[u8] = include_bytes!("../../../benches/workloads/workloads.wasm");

/// Each workload: its export, its row's name, and the size it runs at (each
/// chosen for roughly 50–200 ms on Tern on the reference machine).
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

/// Timed calls per workload (the best counts).
pub const RUNS: usize = 5;

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
            use crate::suite::{best_of, Row};
            use crate::workloads::{RUNS, WASM, WORKLOADS};
            use ::$rt::{Engine, Instance, Module, Store};

            /// Runs every workload: its row (milliseconds) and its checksum.
            ///
            /// # Errors
            /// When the module fails to compile, instantiate or run, or a
            /// call's checksum differs from the first call's.
            pub fn run() -> anyhow::Result<Vec<(Row, u32)>> {
                let engine = Engine::default();
                let module = Module::new(&engine, WASM)?;
                let mut rows = Vec::new();
                for (export, name, n) in WORKLOADS {
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[])?;
                    let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
                    let mut results = Vec::new();
                    let ((), d) = best_of(RUNS, || results.push(f.call(&mut store, n)));
                    let sums = results
                        .into_iter()
                        .map(|r| r.map(|s| s as u32))
                        .collect::<Result<Vec<u32>, _>>()?;
                    if sums.iter().any(|s| *s != sums[0]) {
                        anyhow::bail!("{export}({n}) gave different checksums: {sums:?}");
                    }
                    let value = d.as_secs_f64() * 1e3;
                    rows.push((
                        Row {
                            name,
                            value,
                            unit: "ms",
                        },
                        sums[0],
                    ));
                }
                Ok(rows)
            }
        }
    };
}

pub(crate) use workloads;

//! `cargo run --release -p tern-bench`: prints Tern's compile, instantiate,
//! call-overhead and compute-kernel figures; with `--features wasmtime`, the
//! same rows measured on wasmtime 48 in the same process and the Tern /
//! wasmtime ratios (`suite.rs` holds the shared source; see `benches/README.md`).
//!
//! `workloads.rs` adds the execution rows: the seven workloads of
//! `benches/workloads/` and their geometric mean. The suite's last rows are
//! the async API's call costs (`call_async` of an empty function, a wasm ->
//! async host -> wasm round trip), beside the synchronous ones. Then the
//! Wasm 3.0 rows of issue 14: binary-trees on GC structs (`binary_trees.rs`)
//! and a thrown and caught exception per iteration (`exceptions.rs`).
//!
//! Figures, not assertions: nothing here is part of the test run. The kernels in
//! `kernels.wat` are also what `benches/compare.sh` runs under wasmtime 48 side
//! by side with `tern run`. With the argument `spectre`, only the cost of the
//! Spectre guards in dynamic-memory mode is measured (see `spectre.rs`); with
//! `instantiate`, only the suite's compile and instantiation rows run; with
//! `workloads`, only the seven execution workloads; with `kernels [ROUNDS]
//! [NAME]`, only the three kernels, interleaved and in CPU time
//! (`kernels.rs`); with `gc [N]`, only the
//! binary-trees (at depth N) and exception rows; with `profile ROW
//! [SECONDS]`, one row runs on Tern alone in a loop (`profile.rs`).

mod binary_trees;
mod exceptions;
mod kernels;
mod profile;
mod spectre;
mod suite;
mod workloads;

use anyhow::Result;
use std::time::{Duration, Instant};
use suite::{best_of, Inputs, Row};
use tern::*;

suite::suite!(tern_suite, tern);
#[cfg(feature = "wasmtime")]
suite::suite!(wasmtime_suite, wasmtime);
workloads::workloads!(tern_workloads, tern);
kernels::kernels!(tern_kernels, tern);
#[cfg(feature = "wasmtime")]
kernels::kernels!(wasmtime_kernels, wasmtime);
#[cfg(feature = "wasmtime")]
workloads::workloads!(wasmtime_workloads, wasmtime);
binary_trees::binary_trees!(tern_binary_trees, tern, |_| {});
#[cfg(feature = "wasmtime")]
binary_trees::binary_trees!(wasmtime_binary_trees, wasmtime, crate::wasmtime_gc_config);
exceptions::exceptions!(tern_exceptions, tern, |_| {});
#[cfg(feature = "wasmtime")]
exceptions::exceptions!(wasmtime_exceptions, wasmtime, crate::wasmtime_gc_config);

/// wasmtime's GC settings for the issue-14 rows: the deferred
/// reference-counting collector, named rather than left to `Collector::Auto`
/// (which prefers the copying collector when its cargo feature is on; this
/// crate builds wasmtime with `gc-drc` only).
#[cfg(feature = "wasmtime")]
fn wasmtime_gc_config(config: &mut wasmtime::Config) {
    config.collector(wasmtime::Collector::DeferredReferenceCounting);
}

fn time<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// Rows whose names are kernels (execution time), for the geometric mean.
const KERNELS: [&str; 3] = ["fib(30)", "sieve(10,000,000)", "mandel(600)"];

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("spectre") {
        return spectre::spectre_cost(11);
    }
    if std::env::args().nth(1).as_deref() == Some("kernels") {
        return kernels::run(&std::env::args().skip(2).collect::<Vec<_>>());
    }
    if std::env::args().nth(1).as_deref() == Some("workloads") {
        return workloads_only();
    }
    if std::env::args().nth(1).as_deref() == Some("gc") {
        let depth = match std::env::args().nth(2) {
            Some(n) => n.parse()?,
            None => binary_trees::DEPTH,
        };
        let (ours, theirs) = measure_wasm3(depth)?;
        print_table(&ours, theirs.as_deref());
        return Ok(());
    }
    if std::env::args().nth(1).as_deref() == Some("profile") {
        let row = std::env::args().nth(2).unwrap_or_default();
        let seconds = std::env::args()
            .nth(3)
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0);
        return profile::profile(&row, seconds);
    }
    let only_instantiation = std::env::args().nth(1).as_deref() == Some("instantiate");
    let inputs = Inputs::new()?;
    std::fs::write(
        std::env::temp_dir().join("tern-bench-10k.wasm"),
        &inputs.big,
    )?;
    let mut ours = tern_suite::run(&inputs, only_instantiation)?;
    #[cfg(feature = "wasmtime")]
    let mut theirs = Some(wasmtime_suite::run(&inputs, only_instantiation)?);
    #[cfg(not(feature = "wasmtime"))]
    let mut theirs: Option<Vec<Row>> = None;
    if !only_instantiation {
        let (our_rows, their_rows) = measure_workloads(None, workloads::RUNS)?;
        ours.extend(our_rows);
        if let (Some(theirs), Some(rows)) = (&mut theirs, their_rows) {
            theirs.extend(rows);
        }
        let (our_rows, their_rows) = measure_wasm3(binary_trees::DEPTH)?;
        ours.extend(our_rows);
        if let (Some(theirs), Some(rows)) = (&mut theirs, their_rows) {
            theirs.extend(rows);
        }
    }
    print_table(&ours, theirs.as_deref());
    if only_instantiation {
        return Ok(());
    }
    let geomean = workloads::geomean(&ours, theirs.as_deref());
    match theirs {
        Some(_) => println!(
            "| execution, geomean of {} workloads | | | {geomean:.3} |",
            workloads::WORKLOADS.len()
        ),
        None => println!(
            "| execution, geomean of {} workloads | {geomean:.2} ms |",
            workloads::WORKLOADS.len()
        ),
    }

    let engine = Engine::default();
    instantiate_with_data(&engine)?;
    let kernels = Module::from_file(&engine, concat!(env!("CARGO_MANIFEST_DIR"), "/kernels.wat"))?;
    first_call_after_deserialize(&kernels)?;
    simd_versus_scalar(&engine)
}

/// `tern-bench workloads [NAME]`: only the seven execution rows (or the one
/// named, e.g. `json`) and their geometric mean; with the `wasmtime` feature,
/// Tern's and wasmtime's calls interleaved (see [`workloads::interleaved`]).
/// For profiling and for re-measuring code-generation changes.
fn workloads_only() -> Result<()> {
    let only = std::env::args().nth(2);
    // More calls than the full run's best of five: this mode is for telling
    // small code-generation changes apart on a shared machine.
    let (ours, theirs) = measure_workloads(only.as_deref(), 3 * workloads::RUNS)?;
    print_table(&ours, theirs.as_deref());
    let geomean = workloads::geomean(&ours, theirs.as_deref());
    println!(
        "| execution, geomean of {} workloads | | | {geomean:.3} |",
        ours.len()
    );
    Ok(())
}

/// The workload rows (all, or only `only`), best of `runs` calls each: Tern's,
/// and with the `wasmtime` feature wasmtime's, measured with the calls
/// interleaved ([`workloads::interleaved`]) and their checksums compared.
fn measure_workloads(only: Option<&str>, runs: usize) -> Result<(Vec<Row>, Option<Vec<Row>>)> {
    #[cfg(feature = "wasmtime")]
    {
        let (ours, theirs) = workloads::interleaved(
            tern_workloads::prepare(only)?,
            wasmtime_workloads::prepare(only)?,
            runs,
        )?;
        for ((row, a), (_, b)) in ours.iter().zip(&theirs) {
            anyhow::ensure!(
                a == b,
                "{}: checksum {a} on Tern, {b} on wasmtime",
                row.name
            );
        }
        let rows = |v: Vec<(Row, u32)>| v.into_iter().map(|(row, _)| row).collect::<Vec<_>>();
        Ok((rows(ours), Some(rows(theirs))))
    }
    #[cfg(not(feature = "wasmtime"))]
    {
        let mut ours = Vec::new();
        for mut w in tern_workloads::prepare(only)? {
            let mut results = Vec::new();
            let mut best = Duration::MAX;
            for _ in 0..runs {
                let (r, d) = workloads::cpu_timed(&mut w.call);
                results.push(r);
                best = best.min(d);
            }
            ours.push(workloads::row(w.name, best, results)?.0);
        }
        Ok((ours, None))
    }
}

/// The issue-14 rows: binary-trees at `depth` and the two exception loops,
/// best of [`workloads::RUNS`] calls in CPU time each; with the `wasmtime`
/// feature, Tern's and wasmtime's calls interleaved and their checksums
/// compared (each call also checks its own against the expected value).
fn measure_wasm3(depth: i32) -> Result<(Vec<Row>, Option<Vec<Row>>)> {
    let mut calls = vec![tern_binary_trees::prepare(depth)?];
    calls.extend(tern_exceptions::prepare()?);
    // The exception rows are per iteration; binary-trees stays per call.
    let unit = |(row, _): workloads::Measured| {
        if exceptions::ROWS.iter().any(|(_, name)| *name == row.name) {
            exceptions::per_iteration(row)
        } else {
            row
        }
    };
    #[cfg(feature = "wasmtime")]
    {
        let mut theirs = vec![wasmtime_binary_trees::prepare(depth)?];
        theirs.extend(wasmtime_exceptions::prepare()?);
        let (ours, theirs) = workloads::interleaved(calls, theirs, workloads::RUNS)?;
        for ((row, a), (_, b)) in ours.iter().zip(&theirs) {
            anyhow::ensure!(
                a == b,
                "{}: checksum {a} on Tern, {b} on wasmtime",
                row.name
            );
        }
        Ok((
            ours.into_iter().map(unit).collect(),
            Some(theirs.into_iter().map(unit).collect()),
        ))
    }
    #[cfg(not(feature = "wasmtime"))]
    {
        let mut ours = Vec::new();
        for mut c in calls {
            let mut results = Vec::new();
            let mut best = Duration::MAX;
            for _ in 0..workloads::RUNS {
                let (r, d) = workloads::cpu_timed(&mut c.call);
                results.push(r);
                best = best.min(d);
            }
            ours.push(unit(workloads::row(c.name, best, results)?));
        }
        Ok((ours, None))
    }
}

/// Prints the rows as a Markdown table, with wasmtime's figures and the
/// Tern / wasmtime ratio when they were measured.
fn print_table(ours: &[Row], theirs: Option<&[Row]>) {
    match theirs {
        Some(_) => {
            println!("| figure | Tern | wasmtime 48 | Tern / wasmtime |");
            println!("|---|---|---|---|");
        }
        None => {
            println!("| figure | Tern |");
            println!("|---|---|");
        }
    }
    let mut log_sum = 0.0;
    for (i, row) in ours.iter().enumerate() {
        let fmt = |r: &Row| format!("{:.2} {}", r.value, r.unit);
        match theirs.and_then(|t| t.get(i)) {
            Some(other) => {
                let ratio = row.value / other.value;
                if KERNELS.contains(&row.name) {
                    log_sum += ratio.ln();
                }
                println!(
                    "| {} | {} | {} | {ratio:.2} |",
                    row.name,
                    fmt(row),
                    fmt(other)
                );
            }
            None => println!("| {} | {} |", row.name, fmt(row)),
        }
    }
    if theirs.is_some() && ours.iter().any(|r| KERNELS.contains(&r.name)) {
        let geomean = (log_sum / KERNELS.len() as f64).exp();
        println!(
            "| execution, geomean of {} kernels | | | {geomean:.3} |",
            KERNELS.len()
        );
    }
}

/// A module whose memory starts with 1 MiB of non-zero active data segments
/// (16 segments of 64 KiB), instantiated in a fresh store each time: the cost
/// of initialising memory, which a copy-on-write image removes.
fn instantiate_with_data(engine: &Engine) -> Result<()> {
    let mut wat = String::from("(module (memory (export \"m\") 32)\n");
    for seg in 0..16 {
        let bytes: String = (0..65_536u32)
            .map(|i| format!("\\{:02x}", (i.wrapping_mul(31) ^ seg) as u8 | 1))
            .collect();
        wat.push_str(&format!(
            "(data (i32.const {}) \"{bytes}\")\n",
            seg * 65_536
        ));
    }
    wat.push(')');
    let module = Module::new(engine, &wat)?;
    let (_, d) = best_of(200, || {
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[]);
        (store, instance.map(|_| ()))
    });
    println!(
        "instantiate module with 1 MiB of data segments (new store): {:.1} us",
        d.as_secs_f64() * 1e6
    );
    Ok(())
}

/// Loads `module`'s artifact into a fresh engine and times the first call of an
/// export: the path that must not compile anything (one shot, not a best-of,
/// since only the first call is measured).
fn first_call_after_deserialize(module: &Module) -> Result<()> {
    let bytes = module.serialize()?;
    let engine = Engine::default();
    // SAFETY: the bytes were just written by `Module::serialize` of this Tern.
    let (module, load) = time(|| unsafe { Module::deserialize(&engine, &bytes) });
    let module = module?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    let (r, first) = time(|| fib.call(&mut store, 1));
    r?;
    let (r, second) = time(|| fib.call(&mut store, 1));
    r?;
    println!(
        "deserialize kernels artifact: {:.1} us; first call of an export: {:.1} us (second: {:.1} us)",
        load.as_secs_f64() * 1e6,
        first.as_secs_f64() * 1e6,
        second.as_secs_f64() * 1e6
    );
    Ok(())
}

/// The same dot products with and without SIMD, and the speed-up.
fn simd_versus_scalar(engine: &Engine) -> Result<()> {
    let module = Module::from_file(engine, concat!(env!("CARGO_MANIFEST_DIR"), "/simd.wat"))?;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    const N: i32 = 1 << 20;
    instance
        .get_typed_func::<i32, ()>(&mut store, "fill")?
        .call(&mut store, N)?;
    let i16_scalar = instance.get_typed_func::<i32, i32>(&mut store, "dot_i16_scalar")?;
    let i16_simd = instance.get_typed_func::<i32, i32>(&mut store, "dot_i16_simd")?;
    let (a, ds) = best_of(20, || i16_scalar.call(&mut store, N).unwrap());
    let (b, dv) = best_of(20, || i16_simd.call(&mut store, N).unwrap());
    assert_eq!(a, b, "SIMD and scalar dot products agree");
    println!(
        "dot product, 2^20 x i16: scalar {:.0} us, SIMD {:.0} us: {:.1}x",
        ds.as_secs_f64() * 1e6,
        dv.as_secs_f64() * 1e6,
        ds.as_secs_f64() / dv.as_secs_f64()
    );
    let f32_scalar = instance.get_typed_func::<i32, f32>(&mut store, "dot_f32_scalar")?;
    let f32_simd = instance.get_typed_func::<i32, f32>(&mut store, "dot_f32_simd")?;
    let (a, ds) = best_of(20, || f32_scalar.call(&mut store, N).unwrap());
    let (b, dv) = best_of(20, || f32_simd.call(&mut store, N).unwrap());
    println!(
        "dot product, 2^20 x f32: scalar {:.0} us ({a}), SIMD {:.0} us ({b}): {:.1}x",
        ds.as_secs_f64() * 1e6,
        dv.as_secs_f64() * 1e6,
        ds.as_secs_f64() / dv.as_secs_f64()
    );
    Ok(())
}

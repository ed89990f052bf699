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
//! Every row that times running code is measured by `measure.rs` (CPU time of
//! the call, Tern's and wasmtime's calls interleaved, the same rounds for
//! both). Figures, not assertions: nothing here is part of the test run. The kernels in
//! `kernels.wat` are also what `benches/compare.sh` runs under wasmtime 48 side
//! by side with `tern run`. With the argument `spectre`, only the cost of the
//! Spectre guards in dynamic-memory mode is measured (see `spectre.rs`); with
//! `instantiate`, only the suite's compile and instantiation rows run; with
//! `workloads`, only the seven execution workloads; with `kernels [NAME]`,
//! only the three kernels, with more rounds (`kernels.rs`, which also has the
//! clock-free `kernels once NAME ARG` for callgrind); with `gc [N]`, only the
//! binary-trees (at depth N) and exception rows; with `profile ROW
//! [SECONDS]`, one row runs on Tern alone in a loop (`profile.rs`).

mod binary_trees;
mod exceptions;
mod kernels;
mod measure;
mod profile;
mod spectre;
mod suite;
mod workloads;

use anyhow::Result;
use measure::{measure, Rounds, ROUNDS};
use std::time::{Duration, Instant};
use suite::{best_of, Inputs, Row};
use tern::*;

suite::suite!(tern_suite, tern);
#[cfg(feature = "wasmtime")]
suite::suite!(wasmtime_suite, wasmtime);
workloads::workloads!(tern_workloads, tern);
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
    let mut ours = tern_suite::instantiation(&inputs)?;
    #[cfg(feature = "wasmtime")]
    let mut theirs = Some(wasmtime_suite::instantiation(&inputs)?);
    #[cfg(not(feature = "wasmtime"))]
    let mut theirs: Option<Vec<Row>> = None;
    if !only_instantiation {
        #[cfg(feature = "wasmtime")]
        let their_calls = Some(wasmtime_suite::calls(&inputs)?);
        #[cfg(not(feature = "wasmtime"))]
        let their_calls = None;
        let calls = measure(tern_suite::calls(&inputs)?, their_calls, ROUNDS)?;
        extend(&mut ours, &mut theirs, calls);
        extend(&mut ours, &mut theirs, measure_workloads(None, ROUNDS)?);
        extend(&mut ours, &mut theirs, measure_wasm3(binary_trees::DEPTH)?);
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
/// Tern's and wasmtime's calls interleaved (see [`measure`]).
/// For profiling and for re-measuring code-generation changes.
fn workloads_only() -> Result<()> {
    let only = std::env::args().nth(2);
    // Three times the full run's budget: this mode is for telling small
    // code-generation changes apart on a shared machine.
    let rounds = Rounds {
        min: 3 * ROUNDS.min,
        budget: 3 * ROUNDS.budget,
        ..ROUNDS
    };
    let (ours, theirs) = measure_workloads(only.as_deref(), rounds)?;
    print_table(&ours, theirs.as_deref());
    let geomean = workloads::geomean(&ours, theirs.as_deref());
    println!(
        "| execution, geomean of {} workloads | | | {geomean:.3} |",
        ours.len()
    );
    Ok(())
}

/// Appends one measurement's rows to both sides' rows.
fn extend(
    ours: &mut Vec<Row>,
    theirs: &mut Option<Vec<Row>>,
    (o, t): (Vec<Row>, Option<Vec<Row>>),
) {
    ours.extend(o);
    if let (Some(theirs), Some(t)) = (theirs, t) {
        theirs.extend(t);
    }
}

/// The workload rows (all, or only `only`), measured as `measure.rs` says:
/// Tern's, and with the `wasmtime` feature wasmtime's, calls interleaved.
fn measure_workloads(only: Option<&str>, rounds: Rounds) -> Result<(Vec<Row>, Option<Vec<Row>>)> {
    #[cfg(feature = "wasmtime")]
    let theirs = Some(wasmtime_workloads::prepare(only)?);
    #[cfg(not(feature = "wasmtime"))]
    let theirs = None;
    measure(tern_workloads::prepare(only)?, theirs, rounds)
}

/// The issue-14 rows: binary-trees at `depth` and the two exception loops,
/// measured as `measure.rs` says (each call also checks its own checksum
/// against the expected value).
fn measure_wasm3(depth: i32) -> Result<(Vec<Row>, Option<Vec<Row>>)> {
    let mut ours = vec![tern_binary_trees::prepare(depth)?];
    ours.extend(tern_exceptions::prepare()?);
    #[cfg(feature = "wasmtime")]
    let theirs = {
        let mut theirs = vec![wasmtime_binary_trees::prepare(depth)?];
        theirs.extend(wasmtime_exceptions::prepare()?);
        Some(theirs)
    };
    #[cfg(not(feature = "wasmtime"))]
    let theirs: Option<Vec<measure::Call>> = None;
    measure(ours, theirs, ROUNDS)
}

/// Whether `name` is a kernel row (execution time), for the geometric mean.
fn is_kernel(name: &str) -> bool {
    suite::KERNELS.iter().any(|(row, _, _)| *row == name)
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
    let (mut log_sum, mut kernels) = (0.0, 0);
    for (i, row) in ours.iter().enumerate() {
        let fmt = |r: &Row| format!("{:.2} {}", r.value, r.unit);
        match theirs.and_then(|t| t.get(i)) {
            Some(other) => {
                let ratio = row.value / other.value;
                if is_kernel(row.name) {
                    log_sum += ratio.ln();
                    kernels += 1;
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
    if kernels > 0 {
        let geomean = (log_sum / f64::from(kernels)).exp();
        println!("| execution, geomean of {kernels} kernels | | | {geomean:.3} |");
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

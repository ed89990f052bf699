//! `tern-fuzz`: long fuzzing campaigns against Tern.
//!
//! ```text
//! tern-fuzz --seconds 600             differential campaign against wasmi (default command)
//! tern-fuzz --seeds 300 --start 0     the same, for a fixed range of seeds
//! tern-fuzz check FILE [--variant V]  one .wasm/.wat file, differentially
//! tern-fuzz reduce FILE --variant V   shrink a diverging file to a small .wat
//! tern-fuzz generate SEED [--gc|--bulk]  print the module generated for a seed
//! tern-fuzz bulk --seconds 600        bulk-memory and table modules against wasmi
//! tern-fuzz gc --seconds 600          GC + exception modules, Tern against itself
//! tern-fuzz gc-check FILE [--variant V]  one .wasm/.wat file, in the GC setups
//! tern-fuzz determinism --count N     compile generated modules twice, compare bytes
//! tern-fuzz malformed --count N       mutated modules: no crash, hang or panic
//! ```
//!
//! The differential campaigns (`tern-fuzz` against wasmi, `tern-fuzz gc`
//! against Tern's own setups, see `gc_self`) end with the line
//! `N executions, M divergences`;
//! each divergence's module is saved under `--out` (default `fuzz-out/`) as
//! `div-SEED.wasm` and, reduced, `div-SEED.wat` (a regression test candidate:
//! copy it into `crates/fuzzing/tests/regressions/`).
//!
//! The malformed campaign runs its inputs in a child process (the same binary
//! with `--worker`), so that a crash or a hang is observed, attributed to its
//! input, saved, and the campaign resumes after it.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tern_fuzz::differential::{Differential, Divergence, Stats};
use tern_fuzz::gc_self::{GcDifferential, GcStats};
use tern_fuzz::malformed::{self, Summary};
use tern_fuzz::{determinism, generate, reduce, with_big_stack};

#[derive(Parser, Debug, Clone)]
#[command(name = "tern-fuzz", about = "Fuzzing campaigns against Tern")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    campaign: CampaignArgs,
}

/// Arguments of the differential campaign (the default command).
#[derive(clap::Args, Debug, Clone)]
struct CampaignArgs {
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<u64>,
    /// Stop after this many seeds (modules).
    #[arg(long)]
    seeds: Option<u64>,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Argument sets (fresh instances) per module.
    #[arg(long, default_value_t = 4)]
    arg_sets: u32,
    /// Where diverging modules are saved.
    #[arg(long, default_value = "fuzz-out")]
    out: PathBuf,
    /// Do not reduce diverging modules.
    #[arg(long)]
    no_reduce: bool,
}

#[derive(Subcommand, Debug, Clone)]
enum Cmd {
    /// Runs one module (.wasm or .wat) on Tern and the oracle and compares.
    Check {
        /// The module.
        file: PathBuf,
        /// Variant (optimisation level and argument seed); default: the file's
        /// `;; variant:` header, or 0.
        #[arg(long)]
        variant: Option<u64>,
        /// Argument sets.
        #[arg(long, default_value_t = 4)]
        arg_sets: u32,
    },
    /// Shrinks a diverging module and prints it as a regression .wat.
    Reduce {
        /// The module.
        file: PathBuf,
        /// Variant it diverges under.
        #[arg(long)]
        variant: Option<u64>,
        /// Argument sets.
        #[arg(long, default_value_t = 4)]
        arg_sets: u32,
        /// Unsuccessful shrink attempts before stopping.
        #[arg(long, default_value_t = 2000)]
        attempts: u32,
    },
    /// Prints the module generated for a seed, as text.
    Generate {
        /// The seed.
        seed: u64,
        /// The GC campaign's module for that seed (GC and exceptions on).
        #[arg(long)]
        gc: bool,
        /// The bulk campaign's module for that seed.
        #[arg(long, conflicts_with = "gc")]
        bulk: bool,
    },
    /// Bulk-memory and table modules (`bulk`), checked against the oracle.
    Bulk {
        #[command(flatten)]
        campaign: CampaignArgs,
    },
    /// GC and exception modules, checked against Tern itself: static and
    /// dynamic memories, compiled and through an artifact, and a tiny GC heap.
    Gc {
        #[command(flatten)]
        campaign: CampaignArgs,
    },
    /// Runs one module (.wasm or .wat) in the GC campaign's setups and compares.
    GcCheck {
        /// The module.
        file: PathBuf,
        /// Variant (opt levels and argument seed); default: the file's
        /// `;; variant:` header, or 0.
        #[arg(long)]
        variant: Option<u64>,
        /// Argument sets.
        #[arg(long, default_value_t = 4)]
        arg_sets: u32,
    },
    /// Compiles generated modules twice and compares the serialized artifacts.
    Determinism {
        /// Number of modules.
        #[arg(long, default_value_t = 200)]
        count: u64,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        start: u64,
    },
    /// Feeds mutated modules to Module::new and instantiation.
    Malformed {
        /// Number of inputs.
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// Campaign seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First input index.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Seconds without progress after which an input counts as a hang.
        #[arg(long, default_value_t = 60)]
        hang_secs: u64,
        /// Where crashing or hanging inputs are saved.
        #[arg(long, default_value = "fuzz-out")]
        out: PathBuf,
        /// Run the inputs in this process and report progress on stdout (used
        /// by the supervising process).
        #[arg(long, hide = true)]
        worker: bool,
        /// Testing the supervisor: the worker aborts when it reaches this input.
        #[arg(long, hide = true)]
        simulate_crash_at: Option<u64>,
        /// Testing the supervisor: the worker stops making progress at this input.
        #[arg(long, hide = true)]
        simulate_hang_at: Option<u64>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command.clone() {
        None => with_big_stack(move || campaign(&cli.campaign, "", generate::module)),
        Some(Cmd::Bulk { campaign: args }) => {
            with_big_stack(move || campaign(&args, "bulk ", tern_fuzz::bulk::module))
        }
        Some(Cmd::Check {
            file,
            variant,
            arg_sets,
        }) => with_big_stack(move || check(&file, variant, arg_sets)),
        Some(Cmd::Reduce {
            file,
            variant,
            arg_sets,
            attempts,
        }) => with_big_stack(move || reduce_file(&file, variant, arg_sets, attempts)),
        Some(Cmd::Generate { seed, gc, bulk }) => {
            let wasm = if gc {
                generate::gc_module(seed)?
            } else if bulk {
                tern_fuzz::bulk::module(seed)?
            } else {
                generate::module(seed)?
            };
            print!("{}", wasmprinter::print_bytes(wasm)?);
            Ok(())
        }
        Some(Cmd::Gc { campaign }) => with_big_stack(move || gc_campaign(&campaign)),
        Some(Cmd::GcCheck {
            file,
            variant,
            arg_sets,
        }) => with_big_stack(move || gc_check(&file, variant, arg_sets)),
        Some(Cmd::Determinism { count, start }) => determinism_campaign(start, count),
        Some(Cmd::Malformed {
            count,
            seed,
            start,
            hang_secs,
            out,
            worker,
            simulate_crash_at,
            simulate_hang_at,
        }) => {
            let simulate = Simulate {
                crash_at: simulate_crash_at,
                hang_at: simulate_hang_at,
            };
            if worker {
                malformed_worker(seed, start, count, simulate)
            } else {
                malformed_supervisor(seed, start, count, hang_secs, &out, simulate)
            }
        }
    }
}

/// The differential campaign against the oracle, over the modules of
/// `generate` (`what` names them in the summary line: "" or "bulk ").
fn campaign(args: &CampaignArgs, what: &str, generate: fn(u64) -> Result<Vec<u8>>) -> Result<()> {
    let diff = Differential::new(args.arg_sets)?;
    let mut stats = Stats::default();
    let (started, seed, generation_failures) = run_seeds(
        args,
        if what.is_empty() { "div" } else { "bulk-div" },
        &mut stats,
        generate,
        |wasm, seed, stats| diff.check(wasm, seed, stats),
        |wasm, seed, div| Ok((reduce::reduce(&diff, wasm, seed, div.kind, 1000)?, None)),
    )?;
    println!(
        "{what}seeds {}..{seed} in {:.0}s: {stats}; {generation_failures} seeds the generator could not use",
        args.start,
        started.elapsed().as_secs_f64()
    );
    println!("traps by kind: {:?}", stats.trap_kinds);
    println!(
        "{} executions, {} divergences",
        stats.executions, stats.divergences
    );
    Ok(())
}

fn gc_campaign(args: &CampaignArgs) -> Result<()> {
    let diff = GcDifferential::new(args.arg_sets)?;
    let mut stats = GcStats::default();
    let (started, seed, generation_failures) = run_seeds(
        args,
        "gc-div",
        &mut stats,
        generate::gc_module,
        |wasm, seed, stats| diff.check(wasm, seed, stats),
        |wasm, seed, div| {
            let kind = div.kind;
            let small = reduce::reduce_with(wasm, seed, 1000, |candidate| {
                diff.check(candidate, seed, &mut GcStats::default())
                    .is_some_and(|d| d.kind == kind)
            })?;
            let div = diff.check(&small, seed, &mut GcStats::default());
            Ok((small, div))
        },
    )?;
    println!(
        "GC seeds {}..{seed} in {:.0}s: {stats}; {generation_failures} seeds wasm-smith could not use",
        args.start,
        started.elapsed().as_secs_f64()
    );
    println!("traps by kind: {:?}", stats.base.trap_kinds);
    println!(
        "{} executions, {} divergences",
        stats.base.executions, stats.base.divergences
    );
    Ok(())
}

/// The seed loop both campaigns share: each seed's module from `generate`
/// is checked with `check` until the seed count or the time is used up; a
/// divergence is saved as `PREFIX-SEED.wasm` and, unless `--no-reduce`,
/// reduced with `reduce` (which may give the reduced module's own
/// divergence for the regression's header) into `PREFIX-SEED.wat`. Returns
/// when it started, the seed after the last, and how many seeds wasm-smith
/// could not use.
fn run_seeds<S: std::fmt::Display>(
    args: &CampaignArgs,
    prefix: &str,
    stats: &mut S,
    generate: impl Fn(u64) -> Result<Vec<u8>>,
    check: impl Fn(&[u8], u64, &mut S) -> Option<Divergence>,
    reduce: impl Fn(&[u8], u64, &Divergence) -> Result<(Vec<u8>, Option<Divergence>)>,
) -> Result<(Instant, u64, u64)> {
    if args.seconds.is_none() && args.seeds.is_none() {
        bail!("give --seconds N or --seeds N");
    }
    let started = Instant::now();
    let deadline = args.seconds.map(|s| started + Duration::from_secs(s));
    let mut generation_failures = 0u64;
    let mut last_report = Instant::now();
    let mut seed = args.start;
    quiet_tern_panics();
    loop {
        if args.seeds.is_some_and(|n| seed >= args.start + n)
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            break;
        }
        let Ok(wasm) = generate(seed) else {
            generation_failures += 1;
            seed += 1;
            continue;
        };
        if let Some(div) = check(&wasm, seed, stats) {
            eprintln!("seed {seed}: {div}");
            std::fs::create_dir_all(&args.out)?;
            let path = args.out.join(format!("{prefix}-{seed}.wasm"));
            std::fs::write(&path, &wasm)?;
            eprintln!("  saved {}", path.display());
            if !args.no_reduce {
                match reduce(&wasm, seed, &div) {
                    Ok((small, small_div)) => {
                        let div = small_div.unwrap_or(div);
                        let wat = reduce::regression_wat(&small, seed, &div)?;
                        let path = args.out.join(format!("{prefix}-{seed}.wat"));
                        std::fs::write(&path, &wat)?;
                        eprintln!("  reduced to {} bytes: {}", small.len(), path.display());
                    }
                    Err(e) => eprintln!("  reduction failed: {e:#}"),
                }
            }
        }
        seed += 1;
        if last_report.elapsed() >= Duration::from_secs(30) {
            eprintln!(
                "[{:>6.0}s] seed {seed}: {stats}",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    Ok((started, seed, generation_failures))
}

fn gc_check(file: &Path, variant: Option<u64>, arg_sets: u32) -> Result<()> {
    let (wasm, header) = read_module(file)?;
    let variant = variant.or(header).unwrap_or(0);
    let diff = GcDifferential::new(arg_sets)?;
    let mut stats = GcStats::default();
    let div = diff.check(&wasm, variant, &mut stats);
    println!("{stats}");
    match div {
        Some(d) => bail!("{d}"),
        None => Ok(()),
    }
}

/// Reads a .wasm or .wat file as binary wasm.
fn read_module(file: &Path) -> Result<(Vec<u8>, Option<u64>)> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let header = std::str::from_utf8(&bytes)
        .ok()
        .and_then(reduce::variant_of);
    Ok((wat::parse_bytes(&bytes)?.into_owned(), header))
}

fn check(file: &Path, variant: Option<u64>, arg_sets: u32) -> Result<()> {
    let (wasm, header) = read_module(file)?;
    let variant = variant.or(header).unwrap_or(0);
    let diff = Differential::new(arg_sets)?;
    let mut stats = Stats::default();
    let div = diff.check(&wasm, variant, &mut stats);
    println!("{stats}");
    match div {
        Some(d) => bail!("{d}"),
        None => Ok(()),
    }
}

fn reduce_file(file: &Path, variant: Option<u64>, arg_sets: u32, attempts: u32) -> Result<()> {
    let (wasm, header) = read_module(file)?;
    let variant = variant.or(header).unwrap_or(0);
    let diff = Differential::new(arg_sets)?;
    let Some(div) = diff.check(&wasm, variant, &mut Stats::default()) else {
        bail!(
            "{} does not diverge under variant {variant}",
            file.display()
        );
    };
    eprintln!("{div}");
    let small = reduce::reduce(&diff, &wasm, variant, div.kind, attempts)?;
    let div = diff
        .check(&small, variant, &mut Stats::default())
        .unwrap_or(div);
    print!("{}", reduce::regression_wat(&small, variant, &div)?);
    Ok(())
}

fn determinism_campaign(start: u64, count: u64) -> Result<()> {
    let engine = tern_fuzz::tern_side::engine(tern::OptLevel::Speed, true)?;
    let (mut same, mut differ, mut skipped) = (0u64, 0u64, 0u64);
    for seed in start..start + count {
        let Ok(wasm) = generate::module(seed) else {
            skipped += 1;
            continue;
        };
        match determinism::first_difference(&engine, &wasm)? {
            None => same += 1,
            Some(offset) => {
                differ += 1;
                eprintln!("seed {seed}: artifacts differ at byte {offset}");
            }
        }
    }
    println!(
        "{same} modules compiled identically twice, {differ} differed, {skipped} seeds skipped"
    );
    if differ > 0 {
        bail!("non-deterministic compilation");
    }
    Ok(())
}

fn quiet_tern_panics() {
    malformed::quiet_panics();
}

/// Faults a worker simulates, to test that the supervisor observes them.
#[derive(Debug, Clone, Copy)]
struct Simulate {
    crash_at: Option<u64>,
    hang_at: Option<u64>,
}

impl Simulate {
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(i) = self.crash_at {
            args.extend(["--simulate-crash-at".to_string(), i.to_string()]);
        }
        if let Some(i) = self.hang_at {
            args.extend(["--simulate-hang-at".to_string(), i.to_string()]);
        }
        args
    }
}

fn malformed_worker(seed: u64, start: u64, count: u64, simulate: Simulate) -> Result<()> {
    quiet_tern_panics();
    let engine = malformed::engine()?;
    let stdout = std::io::stdout();
    let summary = malformed::run_range(&engine, seed, start, count, |index| {
        let mut out = stdout.lock();
        let _ = writeln!(out, "case {index}");
        let _ = out.flush();
        if simulate.crash_at == Some(index) {
            std::process::abort();
        }
        if simulate.hang_at == Some(index) {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    });
    let mut out = stdout.lock();
    for f in &summary.findings {
        writeln!(out, "finding {f}")?;
    }
    writeln!(out, "summary {}", summary.to_line())?;
    Ok(())
}

enum WorkerEvent {
    Line(String),
    Closed,
}

fn malformed_supervisor(
    seed: u64,
    start: u64,
    count: u64,
    hang_secs: u64,
    out: &Path,
    simulate: Simulate,
) -> Result<()> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut total = Summary::default();
    let (mut crashes, mut hangs) = (Vec::new(), Vec::new());
    let end = start + count;
    let mut next = start;
    let mut last_report = Instant::now();
    while next < end {
        let mut child = Command::new(&exe)
            .args([
                "malformed",
                "--worker",
                "--seed",
                &seed.to_string(),
                "--start",
                &next.to_string(),
            ])
            .args(["--count", &(end - next).to_string()])
            .args(simulate.args())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting a malformed-input worker")?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(WorkerEvent::Line(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(WorkerEvent::Closed);
        });
        let mut current: Option<u64> = None;
        let mut finished = false;
        let mut hung = false;
        loop {
            match rx.recv_timeout(Duration::from_secs(hang_secs)) {
                Ok(WorkerEvent::Line(line)) => {
                    if let Some(i) = line.strip_prefix("case ") {
                        current = i.parse().ok();
                        if last_report.elapsed() >= Duration::from_secs(30) {
                            eprintln!(
                                "[{:>6.0}s] input {}",
                                started.elapsed().as_secs_f64(),
                                current.unwrap_or(0)
                            );
                            last_report = Instant::now();
                        }
                    } else if let Some(f) = line.strip_prefix("finding ") {
                        total.findings.push(f.to_string());
                    } else if let Some(s) = line.strip_prefix("summary ") {
                        if let Some(s) = Summary::from_line(s) {
                            total.add(&s);
                            finished = true;
                        }
                    }
                }
                Ok(WorkerEvent::Closed) => break,
                Err(_) => {
                    hung = true;
                    let _ = child.kill();
                    break;
                }
            }
        }
        let status = child.wait()?;
        let _ = reader.join();
        if finished && status.success() {
            break;
        }
        // The worker died or hung on input `current`: count the inputs it
        // finished, record the culprit, and resume after it.
        let culprit = current.unwrap_or(next);
        let done_before = culprit - next;
        total.inputs += done_before + 1;
        let bytes = malformed::input(seed, culprit);
        std::fs::create_dir_all(out)?;
        let kind = if hung { "hang" } else { "crash" };
        let path = out.join(format!("malformed-{kind}-{seed}-{culprit}.wasm"));
        std::fs::write(&path, &bytes)?;
        eprintln!(
            "input {culprit}: {kind} ({status}); saved {}",
            path.display()
        );
        if hung {
            hangs.push(culprit);
        } else {
            crashes.push(culprit);
        }
        next = culprit + 1;
    }
    for f in &total.findings {
        eprintln!("finding: {f}");
    }
    println!(
        "{total}; {} crashes, {} hangs, in {:.0}s",
        crashes.len(),
        hangs.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} inputs, {} crashes, {} hangs, {} panics",
        total.inputs,
        crashes.len(),
        hangs.len(),
        total.panics
    );
    if !crashes.is_empty() || !hangs.is_empty() || total.bugs() > 0 {
        bail!("malformed-input campaign found problems");
    }
    Ok(())
}

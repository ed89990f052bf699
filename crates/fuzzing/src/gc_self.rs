//! GC and exception modules, Tern against itself (`tern-fuzz gc`).
//!
//! The oracle of [`crate::differential`], wasmi 1.0.9, implements neither
//! garbage collection nor exception handling (its `Config` has no switch for
//! either, and it rejects `struct.new`, `try_table` and `exnref`), so for
//! modules that use them the oracle is Tern itself, in four setups that must
//! agree, each in its own store, driven call by call in lockstep:
//!
//! | setup | engine | module | GC heap limit |
//! |---|---|---|---|
//! | [`Setup::Baseline`] | static memories, opt level `v % 3` | compiled | [`HEAP_LIMIT`] |
//! | [`Setup::Dynamic`] | dynamic memories without guard (every access checked), opt level `(v + 1) % 3` | compiled | [`HEAP_LIMIT`] |
//! | [`Setup::Artifact`] | as the baseline | serialized and deserialized | [`HEAP_LIMIT`] |
//! | [`Setup::TinyHeap`] | as the baseline | compiled | [`TINY_HEAP_LIMIT`] |
//!
//! (`v` is the variant, the seed in a campaign.) Compared after every
//! instantiation and every call, as text so that a divergence prints
//! readably: the results, the trap kind, an uncaught exception (its tag, by
//! export name, and its payload), and every exported global, table entry and
//! memory byte. A GC value is compared by a structural dump of what it
//! reaches ([`crate::gc_values`]): i31 values, each object's kind, field or element
//! storage types and values, recursively, within a budget of objects and
//! array elements. The dump is a tree: the host API has no identity
//! comparison of objects yet, so two references to one object read the same
//! as references to two equal objects, and a cycle is cut by the budget.
//! Function and host references compare by null-ness.
//!
//! **The one allowed difference is heap exhaustion in the tiny-heap setup.**
//! A GC heap limit is observable by the guest only as the point where
//! allocation fails (`Trap::GcHeapOutOfMemory`, or a failed instantiation
//! when constant expressions allocate). So the tiny-heap setup may end a step
//! differently from the baseline only if, during that very step, its store's
//! limiter refused to grow the GC heap *and* the step ended in
//! `GcHeapOutOfMemory` (a call) or an instantiation failure; from then on its
//! state legitimately differs, so it is left out of the rest of that argument
//! set ([`GcStats::heap_exhausted`]). Any other difference, in any setup, is a
//! divergence. Setups with the same limit must agree exactly, heap exhaustion
//! included: without a collector the heap only grows, so all three reach the
//! limit at the same allocation; with one, live data over the limit is the
//! same in all three.
//!
//! As in the wasmi campaign, a stack exhaustion in any setup ends the argument
//! set uncompared (opt levels differ in frame sizes), every call ends under
//! the module's termination counter (refilled before each call), and the
//! 16 MiB heap limit bounds the inline loops of `array.new`/`array.fill`.
//! Exported functions with a non-nullable reference parameter other than
//! `i31` are not called (the host has no value of that type to pass).

use crate::differential::{panic_as_divergence, Divergence, DivergenceKind, Stats};
use crate::gc_values::{arguments, dump, dump_exn, show_args, Arg, Budget};
use crate::generate::{FUEL_EXPORT, MAX_MEMORY_BYTES, TERMINATION_FUEL};
use crate::rng::Rng;
use crate::tern_side::{self, MemoryStrategy, OPT_LEVELS};
use anyhow::Result;
use std::fmt;
use tern::{Engine, Extern, Instance, Module, ResourceLimiter, Store, Tag, Trap, Val};

/// The GC heap limit of the baseline, dynamic and artifact setups: large
/// enough for what generated modules allocate, small enough that a huge
/// `array.new` fails fast instead of filling gigabytes.
pub const HEAP_LIMIT: usize = 16 << 20;

/// The GC heap limit of the tiny-heap setup: one 64 KiB growth step, so
/// modules that allocate reach it (and, once Tern collects, collect often).
pub const TINY_HEAP_LIMIT: usize = 64 << 10;

/// One of the configurations that must agree (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Static memories, the variant's opt level, compiled directly.
    Baseline,
    /// Dynamic memories without guard, the next opt level.
    Dynamic,
    /// As the baseline, through `Module::serialize` and `Module::deserialize`.
    Artifact,
    /// As the baseline, with a [`TINY_HEAP_LIMIT`] GC heap.
    TinyHeap,
}

/// Every setup; the first is the reference the others are compared with.
pub const SETUPS: [Setup; 4] = [
    Setup::Baseline,
    Setup::Dynamic,
    Setup::Artifact,
    Setup::TinyHeap,
];

impl Setup {
    fn heap_limit(self) -> usize {
        match self {
            Setup::TinyHeap => TINY_HEAP_LIMIT,
            _ => HEAP_LIMIT,
        }
    }
}

/// A store's resource limiter: linear memories and tables grow up to their
/// declared maxima (generated memories always declare one of at most
/// [`MAX_MEMORY_BYTES`]); anything else that grows is the GC heap, allowed up
/// to `limit` bytes. Records whether it refused the GC heap.
#[derive(Debug)]
pub struct HeapLimit {
    limit: usize,
    refused: bool,
}

impl ResourceLimiter for HeapLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        if maximum.is_some_and(|m| m as u64 <= MAX_MEMORY_BYTES) {
            return Ok(true);
        }
        if desired <= self.limit {
            return Ok(true);
        }
        self.refused = true;
        Ok(false)
    }

    fn table_growing(
        &mut self,
        _current: u32,
        _desired: u32,
        _maximum: Option<u32>,
    ) -> Result<bool> {
        Ok(true)
    }
}

/// Counters of a GC campaign: the wasmi campaign's, plus what is specific.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Modules, instantiations, executions (calls compared across all
    /// setups), traps by kind, stack exhaustions, divergences. `skipped_calls`
    /// counts exported functions not called (a non-nullable reference
    /// parameter); `skipped_modules` is unused (there is no oracle to refuse).
    pub base: Stats,
    /// Argument sets in which the tiny-heap setup ran out of heap first (the
    /// allowed difference).
    pub heap_exhausted: u64,
    /// Calls that ended in an uncaught exception (on every setup alike).
    pub exceptions: u64,
    /// GC objects (structs and arrays) dumped and compared.
    pub objects: u64,
    /// i31 values dumped and compared.
    pub i31s: u64,
}

impl GcStats {
    /// Adds `other`'s counters to these.
    pub fn add(&mut self, other: &GcStats) {
        self.base.add(&other.base);
        self.heap_exhausted += other.heap_exhausted;
        self.exceptions += other.exceptions;
        self.objects += other.objects;
        self.i31s += other.i31s;
    }
}

impl fmt::Display for GcStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.base;
        write!(
            f,
            "{} modules, {} instantiations, {} executions ({} trapped, {} threw), {} divergences; {} GC objects and {} i31s compared; {} argument sets where the tiny heap ran out first; {} functions not callable from the host; {} argument sets ended by stack exhaustion",
            s.modules,
            s.instantiations,
            s.executions,
            s.traps,
            self.exceptions,
            s.divergences,
            self.objects,
            self.i31s,
            self.heap_exhausted,
            s.skipped_calls,
            s.exhausted
        )
    }
}

/// A deliberate corruption of one setup's step text (an outcome or a state
/// line), to test that the harness notices.
pub type Fault = fn(Setup, &mut String);

/// The engines of the four setups, configured once.
pub struct GcDifferential {
    /// `[static…, dynamic…]`, each by opt level.
    engines: Vec<Engine>,
    /// Argument sets (fresh stores) per module.
    pub arg_sets: u32,
    /// Applied to every step text of every setup; `None` in real runs.
    pub fault: Option<Fault>,
}

/// What one setup reported for one step.
struct StepResult {
    /// The outcome as text (results, trap, exception or error).
    text: String,
    /// The step ran out of stack.
    exhausted: bool,
    /// The step ended in heap exhaustion (a `GcHeapOutOfMemory` trap, or a
    /// failed instantiation).
    out_of_heap: bool,
    /// The store's limiter refused the GC heap during the step.
    refused: bool,
}

/// One instance of the module in one setup.
struct Run {
    store: Store<HeapLimit>,
    instance: Instance,
    tags: Vec<(String, Tag)>,
}

impl GcDifferential {
    /// The engines (GC, exceptions and every feature the generator uses on),
    /// with `arg_sets` argument sets per module.
    ///
    /// # Errors
    /// Fails only if Tern refuses the configuration.
    pub fn new(arg_sets: u32) -> Result<Self> {
        let mut engines = Vec::new();
        for memory in [MemoryStrategy::Static, MemoryStrategy::DynamicNoGuard] {
            for opt in OPT_LEVELS {
                engines.push(tern_side::gc_engine(opt, memory)?);
            }
        }
        Ok(Self {
            engines,
            arg_sets,
            fault: None,
        })
    }

    fn engine(&self, setup: Setup, variant: u64) -> &Engine {
        let n = OPT_LEVELS.len() as u64;
        match setup {
            Setup::Dynamic => &self.engines[n as usize + ((variant + 1) % n) as usize],
            _ => &self.engines[(variant % n) as usize],
        }
    }

    /// Describes `setup` under `variant`, for divergence reports.
    pub fn describe(&self, setup: Setup, variant: u64) -> String {
        let n = OPT_LEVELS.len() as u64;
        match setup {
            Setup::Dynamic => format!(
                "Dynamic (dynamic memories, no guard, {:?})",
                OPT_LEVELS[((variant + 1) % n) as usize]
            ),
            other => format!(
                "{other:?} (static memories, {:?})",
                OPT_LEVELS[(variant % n) as usize]
            ),
        }
    }

    /// Checks `wasm` under `variant` (opt levels and argument seed). Returns
    /// the first divergence, counting into `stats`; a Tern panic is caught and
    /// reported as one.
    pub fn check(&self, wasm: &[u8], variant: u64, stats: &mut GcStats) -> Option<Divergence> {
        let mut local = GcStats::default();
        let found = panic_as_divergence(|| self.check_inner(wasm, variant, &mut local));
        if found.is_some() {
            local.base.divergences += 1;
        }
        stats.add(&local);
        found
    }

    fn compile(&self, wasm: &[u8], variant: u64) -> Result<Vec<Module>, Divergence> {
        let compile_error = |setup: Setup, e: anyhow::Error| Divergence {
            kind: DivergenceKind::Compile,
            detail: format!(
                "{} refuses a module wasm-smith generated as valid: {e:#}",
                self.describe(setup, variant)
            ),
        };
        let mut modules = Vec::new();
        for setup in SETUPS {
            let engine = self.engine(setup, variant);
            let module = match setup {
                Setup::Artifact => Module::from_binary(engine, wasm)
                    .and_then(|m| m.serialize())
                    // SAFETY: the bytes were just written by `serialize` of
                    // this Tern and this engine.
                    .and_then(|bytes| unsafe { Module::deserialize(engine, bytes) }),
                _ => Module::from_binary(engine, wasm),
            };
            modules.push(module.map_err(|e| compile_error(setup, e))?);
        }
        Ok(modules)
    }

    fn check_inner(&self, wasm: &[u8], variant: u64, stats: &mut GcStats) -> Option<Divergence> {
        let modules = match self.compile(wasm, variant) {
            Ok(m) => m,
            Err(d) => return Some(d),
        };
        if modules[0].imports().len() != 0 {
            stats.base.skipped_modules += 1;
            return None;
        }
        stats.base.modules += 1;
        let exports = tern_side::exports(&modules[0]);
        let types: Vec<Option<tern::FuncType>> = modules[0]
            .exports()
            .map(|e| match e.ty() {
                tern::ExternType::Func(f) => Some(f),
                _ => None,
            })
            .collect();
        for set in 0..self.arg_sets {
            let mut rng = Rng::derive(variant, u64::from(set));
            stats.base.instantiations += 1;
            // Instantiate everywhere and compare.
            let mut runs: Vec<Option<Run>> = Vec::new();
            let mut results = Vec::new();
            for (setup, module) in SETUPS.into_iter().zip(&modules) {
                let (run, result) = instantiate(setup, module, stats);
                runs.push(run);
                results.push(result);
            }
            match self.compare(
                &mut runs,
                results,
                variant,
                &format!("set {set}, instantiation"),
                stats,
            ) {
                Err(d) => return Some(d),
                Ok(false) => return None,
                Ok(true) => {}
            }
            // If every setup failed to instantiate (the same way), so would
            // every other argument set.
            runs[0].as_ref()?;
            if let Some(d) = self.compare_state(
                &mut runs,
                &exports,
                variant,
                &format!("set {set}, after instantiation"),
                stats,
            ) {
                return Some(d);
            }
            for ((name, _), ty) in exports.iter().zip(&types) {
                let Some(ty) = ty else { continue };
                let Some(args) = arguments(&mut rng, ty) else {
                    stats.base.skipped_calls += 1;
                    continue;
                };
                let mut results = Vec::new();
                for run in &mut runs {
                    results.push(
                        run.as_mut()
                            .map(|r| r.call(name, &args, ty.results().len(), stats)),
                    );
                }
                let step = format!("set {set}, export `{name}`{}", show_args(&args));
                match self.compare(
                    &mut runs,
                    results
                        .into_iter()
                        .map(|r| r.unwrap_or_else(skipped))
                        .collect(),
                    variant,
                    &step,
                    stats,
                ) {
                    Err(d) => return Some(d),
                    Ok(false) => break,
                    Ok(true) => {}
                }
                stats.base.executions += 1;
                if let Some(d) = self.compare_state(
                    &mut runs,
                    &exports,
                    variant,
                    &format!("{step}, state after"),
                    stats,
                ) {
                    return Some(d);
                }
            }
        }
        None
    }

    /// Compares one step's results (`results[i]` from `runs[i]`; a setup no
    /// longer run reports `skipped`). `Ok(false)` ends the argument set (a
    /// stack exhaustion); the tiny-heap setup is dropped from `runs` when it
    /// ran out of heap first.
    fn compare(
        &self,
        runs: &mut [Option<Run>],
        mut results: Vec<StepResult>,
        variant: u64,
        step: &str,
        stats: &mut GcStats,
    ) -> Result<bool, Divergence> {
        if let Some(fault) = self.fault {
            for (setup, r) in SETUPS.iter().zip(&mut results) {
                fault(*setup, &mut r.text);
            }
        }
        if results.iter().any(|r| r.exhausted) {
            stats.base.exhausted += 1;
            return Ok(false);
        }
        let base = &results[0];
        for (i, r) in results.iter().enumerate().skip(1) {
            let setup = SETUPS[i];
            if r.text == SKIPPED || r.text == base.text {
                continue;
            }
            if setup == Setup::TinyHeap && r.refused && r.out_of_heap {
                stats.heap_exhausted += 1;
                runs[i] = None;
                continue;
            }
            return Err(Divergence {
                kind: if step.ends_with("instantiation") {
                    DivergenceKind::Instantiate
                } else {
                    DivergenceKind::Call
                },
                detail: format!(
                    "{step}: {} gives {}, {} gives {}",
                    self.describe(Setup::Baseline, variant),
                    base.text,
                    self.describe(setup, variant),
                    r.text
                ),
            });
        }
        if let Some(trap) = base.text.strip_prefix("trap ") {
            stats.base.traps += 1;
            *stats.base.trap_kinds.entry(trap.to_string()).or_default() += 1;
        }
        if base.text.starts_with("exception ") {
            stats.exceptions += 1;
        }
        Ok(true)
    }

    /// Compares the exported state of every setup still running with the
    /// baseline's.
    fn compare_state(
        &self,
        runs: &mut [Option<Run>],
        exports: &[(String, tern_side::ExportKind)],
        variant: u64,
        step: &str,
        stats: &mut GcStats,
    ) -> Option<Divergence> {
        let mut states: Vec<Option<Vec<(String, String)>>> = runs
            .iter_mut()
            .map(|r| r.as_mut().map(|r| r.state(exports, stats)))
            .collect();
        if let Some(fault) = self.fault {
            for (setup, state) in SETUPS.iter().zip(&mut states) {
                for (_, text) in state.iter_mut().flatten() {
                    fault(*setup, text);
                }
            }
        }
        let base = states[0].as_ref()?;
        for (i, state) in states.iter().enumerate().skip(1) {
            let Some(state) = state else { continue };
            for (a, b) in base.iter().zip(state) {
                if a != b {
                    return Some(Divergence {
                        kind: DivergenceKind::State,
                        detail: format!(
                            "{step}: `{}`: {} has {}, {} has {}",
                            a.0,
                            self.describe(Setup::Baseline, variant),
                            a.1,
                            self.describe(SETUPS[i], variant),
                            b.1
                        ),
                    });
                }
            }
        }
        None
    }
}

/// The text of a setup no longer run (the tiny heap after it ran out).
const SKIPPED: &str = "(not run)";

fn skipped() -> StepResult {
    StepResult {
        text: SKIPPED.to_string(),
        exhausted: false,
        out_of_heap: false,
        refused: false,
    }
}

/// Instantiates `module` in a fresh store of `setup`.
fn instantiate(setup: Setup, module: &Module, stats: &mut GcStats) -> (Option<Run>, StepResult) {
    let mut store = Store::new(
        module.engine(),
        HeapLimit {
            limit: setup.heap_limit(),
            refused: false,
        },
    );
    store.limiter(|l| l);
    match Instance::new(&mut store, module, &[]) {
        Ok(instance) => {
            let tags = module
                .exports()
                .filter_map(|e| match instance.get_export(&mut store, e.name()) {
                    Some(Extern::Tag(t)) => Some((e.name().to_string(), t)),
                    _ => None,
                })
                .collect();
            let mut run = Run {
                store,
                instance,
                tags,
            };
            let refused = std::mem::take(&mut run.store.data_mut().refused);
            let result = StepResult {
                text: "instantiated".to_string(),
                exhausted: false,
                out_of_heap: false,
                refused,
            };
            (Some(run), result)
        }
        Err(e) => {
            let refused = store.data().refused;
            let text = describe_error(&mut store, &[], &e, stats);
            let exhausted = matches!(e.downcast_ref::<Trap>(), Some(Trap::StackOverflow));
            (
                None,
                StepResult {
                    text: format!("instantiation failed: {text}"),
                    exhausted,
                    out_of_heap: true,
                    refused,
                },
            )
        }
    }
}

/// Describes an error (a trap, an uncaught exception, or another error) as
/// step text; an uncaught exception is taken from the store and dumped.
fn describe_error(
    store: &mut Store<HeapLimit>,
    tags: &[(String, Tag)],
    e: &anyhow::Error,
    stats: &mut GcStats,
) -> String {
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return format!("trap {trap:?}");
    }
    if e.downcast_ref::<tern::ThrownException>().is_some() {
        return match store.take_pending_exception() {
            Some(exn) => {
                let mut out = String::from("exception ");
                let mut budget = Budget::new();
                dump_exn(store, tags, &exn, &mut budget, &mut out);
                stats.objects += budget.objects;
                stats.i31s += budget.i31s;
                out
            }
            None => "exception (none pending)".to_string(),
        };
    }
    format!("error {e:#}")
}

impl Run {
    fn call(
        &mut self,
        name: &str,
        args: &[Arg],
        results: usize,
        stats: &mut GcStats,
    ) -> StepResult {
        let args: Vec<Val> = args.iter().map(|a| a.to_val(&mut self.store)).collect();
        let fuel = TERMINATION_FUEL as i32;
        if let Some(g) = self.instance.get_global(&mut self.store, FUEL_EXPORT) {
            let _ = g.set(&mut self.store, Val::I32(fuel));
        }
        self.store.data_mut().refused = false;
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return StepResult {
                text: format!("error: no function export `{name}`"),
                exhausted: false,
                out_of_heap: false,
                refused: false,
            };
        };
        let mut out = vec![Val::I32(0); results];
        let result = func.call(&mut self.store, &args, &mut out);
        let refused = self.store.data().refused;
        match result {
            Ok(()) => {
                let mut text = String::from("values");
                let mut budget = Budget::new();
                for v in &out {
                    text.push(' ');
                    dump(&mut self.store, &self.tags, v, &mut budget, &mut text);
                }
                stats.objects += budget.objects;
                stats.i31s += budget.i31s;
                StepResult {
                    text,
                    exhausted: false,
                    out_of_heap: false,
                    refused,
                }
            }
            Err(e) => {
                let trap = e.downcast_ref::<Trap>().copied();
                let text = describe_error(&mut self.store, &self.tags, &e, stats);
                StepResult {
                    text,
                    exhausted: trap == Some(Trap::StackOverflow),
                    out_of_heap: trap == Some(Trap::GcHeapOutOfMemory),
                    refused,
                }
            }
        }
    }

    /// Every exported global, table entry and memory, as `(what, text)`.
    fn state(
        &mut self,
        exports: &[(String, tern_side::ExportKind)],
        stats: &mut GcStats,
    ) -> Vec<(String, String)> {
        use tern_side::ExportKind;
        let mut out = Vec::new();
        let mut budget = Budget::new();
        for (name, kind) in exports {
            match kind {
                ExportKind::Func { .. } | ExportKind::Tag => {}
                ExportKind::Global => {
                    if let Some(g) = self.instance.get_global(&mut self.store, name) {
                        let v = g.get(&mut self.store);
                        let mut text = String::new();
                        dump(&mut self.store, &self.tags, &v, &mut budget, &mut text);
                        out.push((format!("global {name}"), text));
                    }
                }
                ExportKind::Memory => {
                    if let Some(m) = self.instance.get_memory(&mut self.store, name) {
                        let bytes = m.data(&self.store);
                        out.push((format!("memory {name}"), format!("{} bytes", bytes.len())));
                        for (i, chunk) in bytes.chunks(64).enumerate() {
                            if chunk.iter().any(|b| *b != 0) {
                                out.push((
                                    format!("memory {name} at {}", i * 64),
                                    format!("{chunk:02x?}"),
                                ));
                            }
                        }
                    }
                }
                ExportKind::Table => {
                    if let Some(t) = self.instance.get_table(&mut self.store, name) {
                        let size = t.size(&self.store);
                        out.push((format!("table {name}"), format!("{size} entries")));
                        for i in 0..size {
                            let mut text = String::new();
                            match t.get(&mut self.store, i) {
                                Some(v) => {
                                    dump(&mut self.store, &self.tags, &v, &mut budget, &mut text)
                                }
                                None => text.push_str("(none)"),
                            }
                            out.push((format!("table {name}[{i}]"), text));
                        }
                    }
                }
            }
        }
        stats.objects += budget.objects;
        stats.i31s += budget.i31s;
        out
    }
}

//! The differential check: one module, run on Tern and on the oracle with the
//! same arguments, compared call by call.
//!
//! For each of [`Differential::arg_sets`] argument sets, both engines
//! instantiate the module afresh (so the module's termination fuel is full
//! again), then every exported function is called in export order with
//! arguments drawn from `(variant, argument set)`, the module's termination
//! counter refilled before each call (see [`crate::generate::FUEL_EXPORT`]). After instantiation and
//! after each call the outcomes must agree (same results bit for bit, or the
//! same trap kind), and so must the exported state: every global, every
//! memory's bytes and every table's size and null entries.
//!
//! Not compared, by design: a stack exhaustion on either side (the argument
//! set stops there, counted in [`Stats::exhausted`]), and a call on which the
//! oracle ran out of its own fuel (counted in [`Stats::skipped_calls`]).
//! A module the oracle rejects is skipped ([`Stats::skipped_modules`]); one
//! that the oracle accepts and Tern rejects is a divergence.

use crate::generate::{FUEL_EXPORT, TERMINATION_FUEL};
use crate::oracle::{self, OracleInstance};
use crate::rng::Rng;
use crate::tern_side::{self, ExportKind, TernInstance, MEMORY_STRATEGIES, OPT_LEVELS};
use crate::value::{arbitrary_value, Outcome, Snapshot};
use anyhow::Result;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Counters of a campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Modules checked (compiled by both engines).
    pub modules: u64,
    /// Exported-function calls compared.
    pub executions: u64,
    /// Of those, calls that trapped on both engines (the same way).
    pub traps: u64,
    /// Instantiations compared.
    pub instantiations: u64,
    /// Modules the oracle rejected (not checked).
    pub skipped_modules: u64,
    /// Calls skipped because the oracle ran out of its own fuel.
    pub skipped_calls: u64,
    /// Argument sets cut short by a stack exhaustion on either engine.
    pub exhausted: u64,
    /// Divergences found.
    pub divergences: u64,
    /// Calls that trapped on both engines, by trap kind.
    pub trap_kinds: std::collections::BTreeMap<String, u64>,
}

impl Stats {
    /// Adds `other`'s counters to these.
    pub fn add(&mut self, other: &Stats) {
        self.modules += other.modules;
        self.executions += other.executions;
        self.traps += other.traps;
        self.instantiations += other.instantiations;
        self.skipped_modules += other.skipped_modules;
        self.skipped_calls += other.skipped_calls;
        self.exhausted += other.exhausted;
        self.divergences += other.divergences;
        for (k, n) in &other.trap_kinds {
            *self.trap_kinds.entry(k.clone()).or_default() += n;
        }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} modules, {} instantiations, {} executions ({} trapped on both), {} divergences; skipped: {} modules the oracle rejected, {} calls out of oracle fuel; {} argument sets ended by stack exhaustion",
            self.modules,
            self.instantiations,
            self.executions,
            self.traps,
            self.divergences,
            self.skipped_modules,
            self.skipped_calls,
            self.exhausted
        )
    }
}

/// Where Tern and the oracle disagreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DivergenceKind {
    /// The oracle compiled the module, Tern refused it.
    Compile,
    /// Instantiation ended differently.
    Instantiate,
    /// A call ended differently (results or trap).
    Call,
    /// Exported globals, memories or tables differ after a call.
    State,
    /// Tern panicked.
    Panic,
}

/// A disagreement, with what is needed to report and reproduce it.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// Its kind (reduction keeps it).
    pub kind: DivergenceKind,
    /// What differed, on one line.
    pub detail: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} divergence: {}", self.kind, self.detail)
    }
}

/// A deliberate corruption of Tern's side of a call (its outcome and the
/// snapshot taken after it), to test that the harness notices and reduces.
pub type Fault = fn(&mut Outcome, &mut Snapshot);

/// The two engines, configured once.
pub struct Differential {
    tern: Vec<tern::Engine>,
    oracle: wasmi::Engine,
    /// Argument sets (fresh instances) per module.
    pub arg_sets: u32,
    /// Applied to every Tern call's outcome and snapshot; `None` in real runs.
    pub fault: Option<Fault>,
}

impl Differential {
    /// Both engines, with `arg_sets` argument sets per module. Tern compiles
    /// without parallelism (a campaign's modules are small).
    ///
    /// # Errors
    /// Fails only if Tern refuses the configuration.
    pub fn new(arg_sets: u32) -> Result<Self> {
        let mut tern = Vec::new();
        // Variant v runs under opt level v % 3 and memory strategy v % 4: every
        // combination occurs (3 and 4 are coprime).
        for memory in MEMORY_STRATEGIES {
            for opt in OPT_LEVELS {
                tern.push(tern_side::engine_with(opt, false, memory)?);
            }
        }
        Ok(Self {
            tern,
            oracle: oracle::engine(),
            arg_sets,
            fault: None,
        })
    }

    /// Checks `wasm`; `variant` picks Tern's optimisation level and memory
    /// strategy and seeds the arguments. Returns the first divergence, counting into `stats`. A Tern
    /// panic is caught and reported as a divergence.
    pub fn check(&self, wasm: &[u8], variant: u64, stats: &mut Stats) -> Option<Divergence> {
        let mut local = Stats::default();
        let found = panic_as_divergence(|| self.check_inner(wasm, variant, &mut local));
        if found.is_some() {
            local.divergences += 1;
        }
        stats.add(&local);
        found
    }

    fn check_inner(&self, wasm: &[u8], variant: u64, stats: &mut Stats) -> Option<Divergence> {
        let oracle_module = match oracle::compile(&self.oracle, wasm) {
            Ok(m) => m,
            Err(_) => {
                stats.skipped_modules += 1;
                return None;
            }
        };
        let (opt, memory) = (
            (variant % OPT_LEVELS.len() as u64) as usize,
            (variant % MEMORY_STRATEGIES.len() as u64) as usize,
        );
        let engine = &self.tern[memory * OPT_LEVELS.len() + opt];
        let module = match tern::Module::from_binary(engine, wasm) {
            Ok(m) => m,
            Err(e) => {
                return Some(Divergence {
                    kind: DivergenceKind::Compile,
                    detail: format!("the oracle compiles the module, Tern fails: {e:#}"),
                })
            }
        };
        if module.imports().len() != 0 {
            stats.skipped_modules += 1;
            return None;
        }
        stats.modules += 1;
        let exports = tern_side::exports(&module);
        for set in 0..self.arg_sets {
            let mut rng = Rng::derive(variant, u64::from(set));
            stats.instantiations += 1;
            let oracle_inst = OracleInstance::new(&self.oracle, &oracle_module);
            if matches!(oracle_inst, Err(Outcome::OracleOutOfFuel)) {
                stats.skipped_calls += 1;
                return None;
            }
            let tern_inst = TernInstance::new(&module);
            let (mut o, mut t) = match (oracle_inst, tern_inst) {
                (Ok(o), Ok(t)) => (o, t),
                (Err(a), Err(b)) => {
                    if a.is_exhausted() || b.is_exhausted() {
                        stats.exhausted += 1;
                        return None;
                    }
                    if instantiation_failures_agree(&a, &b) {
                        // Instantiation is deterministic: other sets would fail alike.
                        return None;
                    }
                    return Some(Divergence {
                        kind: DivergenceKind::Instantiate,
                        detail: format!("instantiation: oracle {a:?}, Tern {b:?}"),
                    });
                }
                (Err(a), Ok(_)) => {
                    if a.is_exhausted() {
                        stats.exhausted += 1;
                        continue;
                    }
                    return Some(Divergence {
                        kind: DivergenceKind::Instantiate,
                        detail: format!("instantiation: oracle {a:?}, Tern succeeds"),
                    });
                }
                (Ok(_), Err(b)) => {
                    if b.is_exhausted() {
                        stats.exhausted += 1;
                        continue;
                    }
                    return Some(Divergence {
                        kind: DivergenceKind::Instantiate,
                        detail: format!("instantiation: oracle succeeds, Tern {b:?}"),
                    });
                }
            };
            let snap_o = o.snapshot(&exports);
            let snap_t = t.snapshot(&exports);
            if let Some(diff) = snap_o.first_difference(&snap_t) {
                return Some(Divergence {
                    kind: DivergenceKind::State,
                    detail: format!("after instantiation, oracle vs Tern: {diff}"),
                });
            }
            for (name, kind) in &exports {
                let ExportKind::Func { params, results } = kind else {
                    continue;
                };
                let args: Vec<_> = params
                    .iter()
                    .map(|&k| arbitrary_value(&mut rng, k))
                    .collect();
                let fuel = TERMINATION_FUEL as i32;
                o.set_global(FUEL_EXPORT, fuel);
                t.set_global(FUEL_EXPORT, fuel);
                let a = o.call(name, &args, *results);
                if a == Outcome::OracleOutOfFuel {
                    stats.skipped_calls += 1;
                    break;
                }
                let mut b = t.call(name, &args, *results);
                let mut snap_t = t.snapshot(&exports);
                if let Some(fault) = self.fault {
                    fault(&mut b, &mut snap_t);
                }
                if a.is_exhausted() || b.is_exhausted() {
                    stats.exhausted += 1;
                    break;
                }
                stats.executions += 1;
                if a != b {
                    return Some(Divergence {
                        kind: DivergenceKind::Call,
                        detail: format!(
                            "set {set}, export `{name}`{args:?}: oracle {a:?}, Tern {b:?}",
                            args = args
                        ),
                    });
                }
                if let Outcome::Trap(trap) = a {
                    stats.traps += 1;
                    *stats.trap_kinds.entry(format!("{trap:?}")).or_default() += 1;
                }
                let snap_o = o.snapshot(&exports);
                if let Some(diff) = snap_o.first_difference(&snap_t) {
                    return Some(Divergence {
                        kind: DivergenceKind::State,
                        detail: format!(
                            "set {set}, after export `{name}`{args:?}, oracle vs Tern: {diff}"
                        ),
                    });
                }
            }
        }
        None
    }
}

/// Two failed instantiations agree when both trapped the same way, or when
/// at least one failed with an error that is not a trap (for example a
/// segment that does not fit, which the engines may report as a trap or as a
/// link-time error: the spec only says instantiation fails).
fn instantiation_failures_agree(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Trap(x), Outcome::Trap(y)) => x == y,
        _ => true,
    }
}

/// Runs one check, turning a Tern panic into a [`DivergenceKind::Panic`]
/// divergence carrying the panic's message.
pub(crate) fn panic_as_divergence(
    check: impl FnOnce() -> Option<Divergence>,
) -> Option<Divergence> {
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(found) => found,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some(Divergence {
                kind: DivergenceKind::Panic,
                detail: format!("panic: {msg}"),
            })
        }
    }
}

//! Malformed input: valid generated modules, mutated (bit flips, byte
//! overwrites, truncation, deleted/inserted/duplicated ranges, LEB
//! corruption, and structural mutations by `wasm-mutate`), fed to
//! `Module::new` and, when that succeeds, to instantiation.
//!
//! What must hold for every input: no crash, no hang, no panic; and Tern
//! accepts an input exactly when `Module::validate` does (a valid module that
//! fails to compile is a finding too, [`Summary::valid_but_rejected`]).
//!
//! Instantiation supplies a host definition for every import (functions
//! returning zeros, fresh memories, tables and globals of the imported types).
//! A module with a start function (mutation can add one, and can break the
//! base module's termination counter, so it might legitimately run forever)
//! is compiled again by an engine with fuel metering and instantiated with
//! [`START_FUEL`], so it ends with `Trap::OutOfFuel` at worst
//! ([`Summary::start_runs`]).
//!
//! Every input is a pure function of `(seed, index)` ([`input`]), so any case
//! a campaign reports is replayed with `--seed S --start I --count 1`.

use crate::generate;
use crate::rng::Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tern::{Engine, Extern, Func, Global, Instance, Memory, Module, Store, Table, Val};

/// Inputs derived from one base module before the next base is generated.
const INPUTS_PER_BASE: u64 = 16;

/// Counters of a malformed-input campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Inputs fed to `Module::new`.
    pub inputs: u64,
    /// Inputs `Module::new` rejected with an error.
    pub rejected: u64,
    /// Inputs that compiled.
    pub compiled: u64,
    /// Compiled modules that instantiated.
    pub instantiated: u64,
    /// Compiled modules whose instantiation failed with an error.
    pub instantiation_errors: u64,
    /// Of the instantiated or failed ones, modules with a start function
    /// (run under fuel).
    pub start_runs: u64,
    /// Inputs that made Tern panic (a bug; indices in `findings`).
    pub panics: u64,
    /// Inputs `Module::validate` accepts but `Module::new` rejects (a bug).
    pub valid_but_rejected: u64,
    /// Inputs `Module::new` accepts but `Module::validate` rejects (a bug).
    pub invalid_but_accepted: u64,
    /// Descriptions of the first findings, with their index.
    pub findings: Vec<String>,
}

impl Summary {
    /// Adds `other`'s counters and findings.
    pub fn add(&mut self, other: &Summary) {
        self.inputs += other.inputs;
        self.rejected += other.rejected;
        self.compiled += other.compiled;
        self.instantiated += other.instantiated;
        self.instantiation_errors += other.instantiation_errors;
        self.start_runs += other.start_runs;
        self.panics += other.panics;
        self.valid_but_rejected += other.valid_but_rejected;
        self.invalid_but_accepted += other.invalid_but_accepted;
        self.findings.extend(other.findings.iter().cloned());
    }

    /// Number of inputs that showed a bug.
    pub fn bugs(&self) -> u64 {
        self.panics + self.valid_but_rejected + self.invalid_but_accepted
    }

    /// The counters as one line of space-separated numbers (worker → supervisor).
    pub fn to_line(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {} {}",
            self.inputs,
            self.rejected,
            self.compiled,
            self.instantiated,
            self.instantiation_errors,
            self.start_runs,
            self.panics,
            self.valid_but_rejected,
            self.invalid_but_accepted
        )
    }

    /// Parses [`Summary::to_line`]'s output (findings are not carried).
    pub fn from_line(line: &str) -> Option<Summary> {
        let n: Vec<u64> = line
            .split_whitespace()
            .map(|w| w.parse().ok())
            .collect::<Option<_>>()?;
        let [inputs, rejected, compiled, instantiated, instantiation_errors, start_runs, panics, vbr, iba] =
            n[..]
        else {
            return None;
        };
        Some(Summary {
            inputs,
            rejected,
            compiled,
            instantiated,
            instantiation_errors,
            start_runs,
            panics,
            valid_but_rejected: vbr,
            invalid_but_accepted: iba,
            findings: Vec::new(),
        })
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} malformed inputs: {} rejected, {} compiled ({} instantiated, {} failed to instantiate, {} of them with a start function run under fuel); {} panics, {} valid-but-rejected, {} invalid-but-accepted",
            self.inputs,
            self.rejected,
            self.compiled,
            self.instantiated,
            self.instantiation_errors,
            self.start_runs,
            self.panics,
            self.valid_but_rejected,
            self.invalid_but_accepted
        )
    }
}

/// Fuel for a start function of a mutated module.
pub const START_FUEL: u64 = 100_000;

/// The engines malformed inputs are compiled with: every feature the
/// generator uses, so mutations reach deep into the compiler; and the same
/// with fuel metering, for modules whose start function runs.
pub struct Engines {
    /// The engine every input is compiled with.
    pub plain: Engine,
    /// The engine that compiles modules with a start function again, with fuel.
    pub fueled: Engine,
}

/// The [`Engines`] for malformed inputs.
///
/// # Errors
/// Fails only if Tern refuses the configuration.
pub fn engine() -> anyhow::Result<Engines> {
    let plain = crate::tern_side::engine(tern::OptLevel::Speed, false)?;
    let mut config = plain.config().clone();
    config.consume_fuel(true);
    Ok(Engines {
        plain,
        fueled: Engine::new(&config)?,
    })
}

/// Input `index` of the campaign seeded `seed`: a base module (one per
/// [`INPUTS_PER_BASE`] indices) with one to three mutations applied.
pub fn input(seed: u64, index: u64) -> Vec<u8> {
    let base_seed = seed.wrapping_mul(0x1000_0000_01b3) ^ (index / INPUTS_PER_BASE);
    let base = generate::base_module(base_seed).unwrap_or_else(|_| b"\0asm\x01\0\0\0".to_vec());
    let mut rng = Rng::derive(seed, index);
    let mut bytes = base;
    // Mostly one mutation, so that a fair share of inputs stays valid (or
    // nearly) and reaches the compiler rather than the validator.
    let mutations = *rng.pick(&[1, 1, 1, 1, 2, 2, 3]);
    for _ in 0..mutations {
        mutate(&mut rng, &mut bytes);
    }
    bytes
}

/// Applies one random mutation to `bytes`.
pub fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        bytes.push(rng.next_u64() as u8);
        return;
    }
    let len = bytes.len() as u64;
    match rng.below(11) {
        0 | 1 => {
            for _ in 0..rng.range(1, 4) {
                let i = rng.below(len) as usize;
                bytes[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            let i = rng.below(len) as usize;
            let random = rng.next_u64() as u8;
            bytes[i] = *rng.pick(&[0x00, 0xff, 0x7f, 0x80, 0x40, 0x41, 0x01, random]);
        }
        3 => bytes.truncate(rng.below(len) as usize),
        4 => {
            let i = rng.below(len) as usize;
            let n = (rng.range(1, 16) as usize).min(bytes.len() - i);
            bytes.drain(i..i + n);
        }
        5 => {
            let i = rng.below(len + 1) as usize;
            let mut extra = vec![0u8; rng.range(1, 16) as usize];
            rng.fill(&mut extra);
            bytes.splice(i..i, extra);
        }
        6 => {
            let i = rng.below(len) as usize;
            let n = (rng.range(1, 32) as usize).min(bytes.len() - i);
            let chunk = bytes[i..i + n].to_vec();
            let at = rng.below(len + 1) as usize;
            bytes.splice(at..at, chunk);
        }
        7 => {
            // LEB128 corruption: extend a continuation, or make a length huge.
            let lebs: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] & 0x80 != 0).collect();
            if lebs.is_empty() {
                return;
            }
            let i = *rng.pick(&lebs);
            match rng.below(3) {
                0 => bytes[i] = 0xff,
                1 => {
                    bytes.splice(i..i, [0x80, 0x80, 0x80]);
                }
                _ => {
                    bytes.splice(i + 1..i + 1, [0xff, 0xff, 0x0f]);
                }
            }
        }
        _ => {
            // A structural mutation; wasm-mutate may refuse this input or
            // panic on it (its own bug, not Tern's), so fall back to a flip.
            let seed = rng.next_u64();
            let input = bytes.clone();
            let mutated = catch_unwind(AssertUnwindSafe(|| {
                let mut m = wasm_mutate::WasmMutate::default();
                m.seed(seed).fuel(1000).preserve_semantics(false);
                let first = m.run(&input).ok()?.next()?.ok();
                first
            }));
            match mutated {
                Ok(Some(m)) => *bytes = m,
                _ => {
                    let i = rng.below(len) as usize;
                    bytes[i] ^= 1 << rng.below(8);
                }
            }
        }
    }
}

/// Whether `wasm` (valid) has a start section.
fn has_start(wasm: &[u8]) -> bool {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .any(|p| matches!(p, Ok(wasmparser::Payload::StartSection { .. })))
}

/// Host definitions for every import of `module` (functions return zeros).
fn dummy_imports(store: &mut Store<()>, module: &Module) -> anyhow::Result<Vec<Extern>> {
    let mut out = Vec::new();
    for import in module.imports() {
        out.push(match import.ty() {
            tern::ExternType::Func(ty) => {
                Extern::Func(Func::new(&mut *store, ty, |_, _, _| Ok(())))
            }
            tern::ExternType::Memory(ty) => Extern::Memory(Memory::new(&mut *store, ty)?),
            tern::ExternType::Table(ty) => {
                let init =
                    Val::default_for_ty(ty.element()).expect("reference types have a default");
                Extern::Table(Table::new(&mut *store, ty, init)?)
            }
            tern::ExternType::Global(ty) => {
                let init = Val::default_for_ty(*ty.content()).expect("value types have a default");
                Extern::Global(Global::new(&mut *store, ty, init)?)
            }
            tern::ExternType::Tag(ty) => Extern::Tag(tern::Tag::new(&mut *store, &ty)?),
        });
    }
    Ok(out)
}

/// Feeds one input to Tern, counting what happened into `summary`
/// (`index` only labels findings).
pub fn run_one(engines: &Engines, bytes: &[u8], index: u64, summary: &mut Summary) {
    let engine = &engines.plain;
    summary.inputs += 1;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let valid = Module::validate(engine, bytes).is_ok();
        let module = match Module::new(engine, bytes) {
            Ok(m) => m,
            Err(e) => {
                summary.rejected += 1;
                if valid {
                    summary.valid_but_rejected += 1;
                    summary
                        .findings
                        .push(format!("input {index}: valid but rejected: {e:#}"));
                }
                return;
            }
        };
        summary.compiled += 1;
        // `Module::new` also takes WAT; only binary inputs are compared with
        // the binary validator.
        if !valid && bytes.starts_with(b"\0asm") {
            summary.invalid_but_accepted += 1;
            summary
                .findings
                .push(format!("input {index}: invalid but accepted"));
        }
        let (module, mut store) = if has_start(bytes) {
            summary.start_runs += 1;
            let module = match Module::new(&engines.fueled, bytes) {
                Ok(m) => m,
                Err(e) => {
                    summary.valid_but_rejected += 1;
                    summary.findings.push(format!(
                        "input {index}: compiles without fuel, not with: {e:#}"
                    ));
                    return;
                }
            };
            let mut store = Store::new(&engines.fueled, ());
            store.set_fuel(START_FUEL).expect("fuel is enabled");
            (module, store)
        } else {
            let store = Store::new(engine, ());
            (module, store)
        };
        let instantiated = dummy_imports(&mut store, &module)
            .and_then(|imports| Instance::new(&mut store, &module, &imports));
        match instantiated {
            Ok(_) => summary.instantiated += 1,
            Err(_) => summary.instantiation_errors += 1,
        }
    }));
    if let Err(payload) = result {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        summary.panics += 1;
        summary
            .findings
            .push(format!("input {index}: panic: {msg}"));
    }
}

/// Runs inputs `start..start + count` of campaign `seed` in this process,
/// calling `before` with each index first (the worker reports progress there).
pub fn run_range(
    engines: &Engines,
    seed: u64,
    start: u64,
    count: u64,
    mut before: impl FnMut(u64),
) -> Summary {
    let mut summary = Summary::default();
    for index in start..start + count {
        before(index);
        let bytes = input(seed, index);
        run_one(engines, &bytes, index, &mut summary);
    }
    summary
}

/// Keeps `wasm-mutate`'s and Tern's panic messages from flooding the output
/// of a campaign: panics are counted and reported in the summary instead.
pub fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("TERN_FUZZ_SHOW_PANICS").is_some() {
            default(info);
        }
    }));
}

//! Tern as the engine under test: its configuration for differential runs and
//! the conversions between its API and the neutral [`crate::value`] types.

use crate::value::{Kind, Outcome, Snapshot, Value};
use anyhow::Result;
use tern::{Engine, Instance, Module, OptLevel, Store, Val};

/// Tern's wasm stack in differential runs. Runs happen on a thread with a
/// stack of [`THREAD_STACK`] bytes, well above this.
pub const TERN_WASM_STACK: usize = 4 << 20;

/// Stack size of the threads that run wasm in campaigns and tests.
pub const THREAD_STACK: usize = 64 << 20;

/// An engine with every feature the generator uses on, relaxed SIMD off.
/// `parallel` chooses parallel compilation (the determinism check wants it on;
/// campaigns, which compile small modules one after another, want it off).
///
/// # Errors
/// Fails only if Tern refuses the configuration.
pub fn engine(opt: OptLevel, parallel: bool) -> Result<Engine> {
    engine_with(opt, parallel, MemoryStrategy::Static)
}

/// How Tern lays out linear memories, which decides how accesses are
/// bounds-checked: each strategy compiles loads and stores differently, so a
/// campaign runs every module under one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryStrategy {
    /// The default: 4 GiB reserved plus a 2 GiB guard; 32-bit accesses need
    /// no explicit check.
    Static,
    /// Static, but without a guard region: every access whose offset could
    /// pass the reservation is checked explicitly.
    StaticNoGuard,
    /// Every memory dynamic (reserved as it grows), with the default 64 KiB guard.
    Dynamic,
    /// Every memory dynamic and no guard: every access checked in full.
    DynamicNoGuard,
}

/// Every [`MemoryStrategy`], in the order campaigns cycle through them.
pub const MEMORY_STRATEGIES: [MemoryStrategy; 4] = [
    MemoryStrategy::Static,
    MemoryStrategy::Dynamic,
    MemoryStrategy::DynamicNoGuard,
    MemoryStrategy::StaticNoGuard,
];

/// Like [`engine`], with the memory strategy `memory`.
///
/// # Errors
/// Fails only if Tern refuses the configuration.
pub fn engine_with(opt: OptLevel, parallel: bool, memory: MemoryStrategy) -> Result<Engine> {
    Engine::new(&config_with(opt, parallel, memory))
}

/// Like [`engine_with`] (without parallel compilation), with garbage
/// collection, exception handling and typed function references on as well:
/// the engines of [`crate::gc_self`].
///
/// # Errors
/// Fails only if Tern refuses the configuration.
pub fn gc_engine(opt: OptLevel, memory: MemoryStrategy) -> Result<Engine> {
    let mut config = config_with(opt, false, memory);
    config
        .wasm_function_references(true)
        .wasm_gc(true)
        .wasm_exceptions(true);
    Engine::new(&config)
}

fn config_with(opt: OptLevel, parallel: bool, memory: MemoryStrategy) -> tern::Config {
    let mut config = tern::Config::new();
    match memory {
        MemoryStrategy::Static => {}
        MemoryStrategy::StaticNoGuard => {
            config.static_memory_guard_size(0);
        }
        MemoryStrategy::Dynamic => {
            config.static_memory_maximum_size(0);
        }
        MemoryStrategy::DynamicNoGuard => {
            config
                .static_memory_maximum_size(0)
                .dynamic_memory_guard_size(0);
        }
    }
    config
        .cranelift_opt_level(opt)
        .wasm_simd(true)
        .wasm_relaxed_simd(false)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        .wasm_multi_memory(true)
        .wasm_tail_call(true)
        .wasm_memory64(true)
        .wasm_extended_const(true)
        .wasm_wide_arithmetic(true)
        .max_wasm_stack(TERN_WASM_STACK)
        .parallel_compilation(parallel);
    config
}

/// What an export is, as far as a differential run needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportKind {
    /// A function with these parameter kinds and this many results.
    Func {
        /// Parameter kinds, in order.
        params: Vec<Kind>,
        /// Number of results.
        results: usize,
    },
    /// A global.
    Global,
    /// A linear memory.
    Memory,
    /// A table.
    Table,
    /// An exception tag (no state to compare).
    Tag,
}

/// The exports of `module`, in order.
pub fn exports(module: &Module) -> Vec<(String, ExportKind)> {
    module
        .exports()
        .map(|e| {
            let kind = match e.ty() {
                tern::ExternType::Func(f) => ExportKind::Func {
                    params: f.params().map(|t| Kind::from_tern(&t)).collect(),
                    results: f.results().len(),
                },
                tern::ExternType::Global(_) => ExportKind::Global,
                tern::ExternType::Memory(_) => ExportKind::Memory,
                tern::ExternType::Table(_) => ExportKind::Table,
                tern::ExternType::Tag(_) => ExportKind::Tag,
            };
            (e.name().to_string(), kind)
        })
        .collect()
}

/// The outcome an error returned by Tern stands for.
pub fn outcome_of_error(error: &anyhow::Error) -> Outcome {
    match error.downcast_ref::<tern::Trap>() {
        Some(tern::Trap::StackOverflow) => Outcome::Exhausted,
        Some(trap) => Outcome::Trap(*trap),
        None => Outcome::Error(format!("{error:#}")),
    }
}

fn to_val(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(x) => Val::F32(x),
        Value::F64(x) => Val::F64(x),
        Value::V128(x) => Val::V128(x),
        Value::FuncRef { .. } => Val::FuncRef(None),
        Value::ExternRef { .. } => Val::ExternRef(None),
        Value::ExnRef { .. } => Val::ExnRef(None),
    }
}

fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(*x),
        Val::F64(x) => Value::F64(*x),
        Val::V128(x) => Value::V128(*x),
        Val::FuncRef(f) => Value::FuncRef { null: f.is_none() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
        Val::ExnRef(r) => Value::ExnRef { null: r.is_none() },
        // The fuzzer's configurations leave GC off, so no export returns an
        // `anyref`; were one to, only its null-ness would be compared.
        Val::AnyRef(r) => Value::ExternRef { null: r.is_none() },
    }
}

/// One instance of a module in its own store.
pub struct TernInstance {
    store: Store<()>,
    instance: Instance,
}

impl TernInstance {
    /// Instantiates `module` in a fresh store (running its start function).
    ///
    /// # Errors
    /// The instantiation's [`Outcome`] when it fails.
    pub fn new(module: &Module) -> Result<Self, Outcome> {
        let mut store = Store::new(module.engine(), ());
        match Instance::new(&mut store, module, &[]) {
            Ok(instance) => Ok(Self { store, instance }),
            Err(e) => Err(outcome_of_error(&e)),
        }
    }

    /// Sets the exported i32 global `name`, if there is one, to `value`
    /// (used to refill a generated module's termination counter).
    pub fn set_global(&mut self, name: &str, value: i32) {
        if let Some(g) = self.instance.get_global(&mut self.store, name) {
            let _ = g.set(&mut self.store, Val::I32(value));
        }
    }

    /// Calls export `name` with `args`, expecting `results` results.
    pub fn call(&mut self, name: &str, args: &[Value], results: usize) -> Outcome {
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return Outcome::Error(format!("no function export `{name}`"));
        };
        let args: Vec<Val> = args.iter().map(to_val).collect();
        let mut out = vec![Val::I32(0); results];
        match func.call(&mut self.store, &args, &mut out) {
            Ok(()) => Outcome::Values(out.iter().map(from_val).collect()),
            Err(e) => outcome_of_error(&e),
        }
    }

    /// The exported globals, memories and tables.
    pub fn snapshot(&mut self, exports: &[(String, ExportKind)]) -> Snapshot {
        let mut snap = Snapshot::default();
        for (name, kind) in exports {
            match kind {
                ExportKind::Func { .. } => {}
                ExportKind::Global => {
                    if let Some(g) = self.instance.get_global(&mut self.store, name) {
                        snap.globals
                            .push((name.clone(), from_val(&g.get(&mut self.store))));
                    }
                }
                ExportKind::Memory => {
                    if let Some(m) = self.instance.get_memory(&mut self.store, name) {
                        snap.memories
                            .push((name.clone(), m.data(&self.store).to_vec()));
                    }
                }
                ExportKind::Table => {
                    if let Some(t) = self.instance.get_table(&mut self.store, name) {
                        let size = t.size(&self.store);
                        let entries = (0..size)
                            .map(|i| t.get(&mut self.store, i).is_none_or(|v| is_null(&v)))
                            .collect();
                        snap.tables.push((name.clone(), entries));
                    }
                }
                ExportKind::Tag => {}
            }
        }
        snap
    }
}

fn is_null(v: &Val) -> bool {
    match v {
        Val::FuncRef(f) => f.is_none(),
        Val::ExternRef(r) => r.is_none(),
        Val::ExnRef(r) => r.is_none(),
        Val::AnyRef(r) => r.is_none(),
        _ => false,
    }
}

/// The three optimisation levels, chosen per module by a campaign.
pub const OPT_LEVELS: [OptLevel; 3] = [OptLevel::Speed, OptLevel::None, OptLevel::SpeedAndSize];

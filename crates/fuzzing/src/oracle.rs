//! The oracle: the wasmi interpreter, version 1.0.9 exactly, with SIMD.
//!
//! wasmi is pinned because it is the reference the campaign trusts: a newer
//! wasmi (2.0.0) computes `select(7, x, i32.eqz(y))` wrongly (7 for x=5, y=3),
//! which would show up as a Tern "divergence". wasmi's own fuel metering is on
//! as a safety net: if the module's termination counter somehow fails to stop a
//! call, the oracle runs out of fuel and the case is skipped instead of hanging.

use crate::tern_side::ExportKind;
use crate::value::{Outcome, Snapshot, Value};
use wasmi::{Engine, Instance, Module, Store, Val};

/// wasmi's fuel per instance: far more than any call under the module's own
/// termination counter needs.
pub const ORACLE_FUEL: u64 = 50_000_000;

/// The oracle's engine: the same proposals as [`crate::tern_side::engine`], a
/// deep call stack (the module's fuel bounds recursion anyway), eager
/// compilation and fuel metering.
pub fn engine() -> Engine {
    let mut config = wasmi::Config::default();
    config
        .wasm_mutable_global(true)
        .wasm_sign_extension(true)
        .wasm_saturating_float_to_int(true)
        .wasm_multi_value(true)
        .wasm_multi_memory(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_memory64(true)
        .wasm_simd(true)
        .wasm_relaxed_simd(false)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(false)
        .set_max_recursion_depth(20_000)
        .set_max_stack_height(256 << 20)
        .consume_fuel(true)
        .compilation_mode(wasmi::CompilationMode::Eager);
    Engine::new(&config)
}

/// Compiles `wasm` for the oracle.
///
/// # Errors
/// The oracle's message when it rejects the module.
pub fn compile(engine: &Engine, wasm: &[u8]) -> Result<Module, String> {
    Module::new(engine, wasm).map_err(|e| e.to_string())
}

/// The outcome a wasmi error stands for, with trap codes mapped to Tern's.
pub fn outcome_of_error(error: &wasmi::Error) -> Outcome {
    use tern::Trap;
    use wasmi::TrapCode as C;
    let Some(code) = error.as_trap_code() else {
        // wasmi reports some out-of-bounds bulk operations (for example
        // `table.copy` on a 64-bit table) as table or memory errors rather
        // than trap codes; they are traps all the same.
        use wasmi::errors::{ErrorKind, MemoryError, TableError};
        return match error.kind() {
            ErrorKind::Table(
                TableError::InitOutOfBounds
                | TableError::FillOutOfBounds
                | TableError::SetOutOfBounds
                | TableError::CopyOutOfBounds,
            ) => Outcome::Trap(Trap::TableOutOfBounds),
            ErrorKind::Memory(MemoryError::OutOfBoundsAccess) => {
                Outcome::Trap(Trap::MemoryOutOfBounds)
            }
            _ => Outcome::Error(error.to_string()),
        };
    };
    Outcome::Trap(match code {
        C::UnreachableCodeReached => Trap::UnreachableCodeReached,
        C::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        C::TableOutOfBounds => Trap::TableOutOfBounds,
        C::IndirectCallToNull => Trap::IndirectCallToNull,
        C::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        C::IntegerOverflow => Trap::IntegerOverflow,
        C::BadConversionToInteger => Trap::BadConversionToInteger,
        C::BadSignature => Trap::BadSignature,
        C::StackOverflow => return Outcome::Exhausted,
        C::OutOfFuel => return Outcome::OracleOutOfFuel,
        C::GrowthOperationLimited => return Outcome::Error(error.to_string()),
    })
}

fn to_val(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(x) => Val::F32(wasmi::F32::from_bits(x)),
        Value::F64(x) => Val::F64(wasmi::F64::from_bits(x)),
        Value::V128(x) => Val::V128(wasmi::V128::from(x)),
        Value::FuncRef { .. } => Val::FuncRef(wasmi::Ref::Null),
        Value::ExternRef { .. } => Val::ExternRef(wasmi::Ref::Null),
        Value::ExnRef { .. } => {
            unreachable!("the differential generator never enables exception handling")
        }
    }
}

fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(x.to_bits()),
        Val::F64(x) => Value::F64(x.to_bits()),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(f) => Value::FuncRef {
            null: matches!(f, wasmi::Ref::Null),
        },
        Val::ExternRef(r) => Value::ExternRef {
            null: matches!(r, wasmi::Ref::Null),
        },
    }
}

/// One oracle instance in its own store.
pub struct OracleInstance {
    store: Store<()>,
    instance: Instance,
}

impl OracleInstance {
    /// Instantiates `module` in a fresh store with [`ORACLE_FUEL`] (running its
    /// start function).
    ///
    /// # Errors
    /// The instantiation's [`Outcome`] when it fails.
    pub fn new(engine: &Engine, module: &Module) -> Result<Self, Outcome> {
        let mut store = Store::new(engine, ());
        store
            .set_fuel(ORACLE_FUEL)
            .map_err(|e| Outcome::Error(e.to_string()))?;
        match Instance::new(&mut store, module, &[]) {
            Ok(instance) => Ok(Self { store, instance }),
            Err(e) => Err(outcome_of_error(&e)),
        }
    }

    /// Sets the exported i32 global `name`, if there is one, to `value`.
    pub fn set_global(&mut self, name: &str, value: i32) {
        if let Some(g) = self.instance.get_global(&self.store, name) {
            let _ = g.set(&mut self.store, Val::I32(value));
        }
    }

    /// Calls export `name` with `args`, expecting `results` results.
    pub fn call(&mut self, name: &str, args: &[Value], results: usize) -> Outcome {
        let Some(func) = self.instance.get_func(&self.store, name) else {
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
                    if let Some(g) = self.instance.get_global(&self.store, name) {
                        snap.globals
                            .push((name.clone(), from_val(&g.get(&self.store))));
                    }
                }
                ExportKind::Memory => {
                    if let Some(m) = self.instance.get_memory(&self.store, name) {
                        snap.memories
                            .push((name.clone(), m.data(&self.store).to_vec()));
                    }
                }
                ExportKind::Table => {
                    if let Some(t) = self.instance.get_table(&self.store, name) {
                        let size = t.size(&self.store);
                        let entries = (0..size)
                            .map(|i| {
                                t.get(&self.store, i).is_none_or(|v| {
                                    from_val(&v) == Value::FuncRef { null: true }
                                        || from_val(&v) == Value::ExternRef { null: true }
                                })
                            })
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

//! The component half of the `.wast` runner: `(component …)` definitions and
//! instances, `assert_invalid`/`assert_malformed`/`assert_unlinkable` of
//! components, and `invoke`/`assert_return`/`assert_trap` against component
//! exports with component values (`(u32.const 1)`, `(str.const "a")`,
//! `(record.const …)`, …).
//!
//! Components get their own engine and store: the script's configuration
//! plus the component-model features and multi-memory, which the current
//! reference tests assume (they target WebAssembly 3.0 cores), so a suite's
//! pinned core features stay exactly as the suite asks for its core modules.
//! Each instantiation links with a fresh
//! copy of the component linker in which every import the script does not
//! define traps when called, so a component that merely declares imports can
//! be instantiated. The most recent instantiation, core or component, is the
//! one a bare `invoke` addresses.

use anyhow::{bail, Context as _, Result};
use std::collections::HashMap;
use tern::component::{Component, ComponentTrap, Instance, Linker, Val};
use tern::{Config, Engine, Store, Trap};
use wast::component::WastVal;
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// `config` plus every feature the component-model reference tests use.
pub(crate) fn with_component_features(config: &Config) -> Config {
    let mut config = config.clone();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(true)
        .wasm_component_model_fixed_length_lists(true)
        .wasm_multi_memory(true);
    config
}

/// Component definitions and instances of one script.
pub(crate) struct ComponentState {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    instances: HashMap<String, Instance>,
    definitions: HashMap<String, Component>,
    /// The current component instance, if the latest instantiation was a component.
    current: Option<Instance>,
}

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(
        module,
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
    )
}

impl ComponentState {
    /// State whose engine is `config` with the component features added.
    ///
    /// # Errors
    /// Fails when that configuration is invalid.
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let engine = Engine::new(&with_component_features(config))?;
        let store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.allow_shadowing(true);
        Ok(Self {
            engine,
            store,
            linker,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            current: None,
        })
    }

    fn compile(engine: &Engine, mut module: QuoteWat<'_>) -> Result<Component> {
        let bytes = module.encode()?;
        Component::new(engine, bytes)
    }

    fn instantiate(&mut self, component: &Component) -> Result<Instance> {
        let mut linker = self.linker.clone();
        linker.define_unknown_imports_as_traps(component)?;
        linker.instantiate(&mut self.store, component)
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Option<Instance>> {
        match id {
            Some(id) => Ok(self.instances.get(id.name()).copied()),
            None => Ok(self.current),
        }
    }

    /// Runs `directive` if it concerns components; otherwise gives it back.
    pub(crate) fn run<'a>(
        &mut self,
        directive: WastDirective<'a>,
    ) -> Result<Option<WastDirective<'a>>> {
        let engine = &self.engine.clone();
        match directive {
            WastDirective::Module(module) if is_component(&module) => {
                let name = module.name().map(|n| n.name().to_string());
                let component = Self::compile(engine, module)?;
                let instance = self.instantiate(&component)?;
                self.current = Some(instance);
                if let Some(name) = name {
                    self.instances.insert(name, instance);
                }
            }
            WastDirective::Module(module) => {
                self.current = None;
                return Ok(Some(WastDirective::Module(module)));
            }
            WastDirective::ModuleDefinition(module) if is_component(&module) => {
                let name = module.name().map(|n| n.name().to_string());
                let component = Self::compile(engine, module)?;
                if let Some(name) = name {
                    self.definitions.insert(name, component);
                }
            }
            WastDirective::ModuleInstance {
                instance,
                module,
                span,
            } if module.is_some_and(|m| self.definitions.contains_key(m.name())) => {
                let def = module.context("component instance without a definition name")?;
                let _ = span;
                let component = self.definitions[def.name()].clone();
                let inst = self.instantiate(&component)?;
                self.current = Some(inst);
                if let Some(name) = instance {
                    self.instances.insert(name.name().to_string(), inst);
                }
            }
            WastDirective::AssertInvalid {
                module, message, ..
            }
            | WastDirective::AssertMalformed {
                module, message, ..
            } if is_component(&module) => {
                if Self::compile(engine, module).is_ok() {
                    bail!("expected component to be rejected with `{message}`, but it compiled");
                }
            }
            WastDirective::AssertUnlinkable {
                module: Wat::Component(c),
                message,
                ..
            } => {
                let component = Self::compile(engine, QuoteWat::Wat(Wat::Component(c)))
                    .context("component failed to compile")?;
                if self.linker.instantiate(&mut self.store, &component).is_ok() {
                    bail!("expected component to fail to link with `{message}`");
                }
            }
            WastDirective::Invoke(invoke) if self.addresses(&invoke)? => {
                self.invoke(invoke)?;
            }
            WastDirective::AssertReturn {
                exec: WastExecute::Invoke(invoke),
                results,
                ..
            } if self.addresses(&invoke)? => {
                let actual = self.invoke(invoke)?;
                match_results(&actual, &results)?;
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Invoke(invoke),
                message,
                ..
            } if self.addresses(&invoke)? => match self.invoke(invoke) {
                Ok(values) => bail!("expected trap `{message}`, got {values:?}"),
                Err(e) => expect_trap(&e, message)?,
            },
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(Wat::Component(c)),
                message,
                ..
            } => {
                let component = Self::compile(engine, QuoteWat::Wat(Wat::Component(c)))?;
                match self.instantiate(&component) {
                    Ok(_) => bail!("expected instantiation to trap with `{message}`"),
                    Err(e) => expect_trap(&e, message)?,
                }
            }
            other => return Ok(Some(other)),
        }
        Ok(None)
    }

    /// Whether `invoke` calls a component export.
    fn addresses(&self, invoke: &WastInvoke<'_>) -> Result<bool> {
        Ok(self.instance(invoke.module)?.is_some())
    }

    fn invoke(&mut self, invoke: WastInvoke<'_>) -> Result<Vec<Val>> {
        let instance = self
            .instance(invoke.module)?
            .context("no component instance")?;
        let store = &mut self.store;
        let func = instance
            .get_func(&mut *store, invoke.name)
            .with_context(|| format!("no function export `{}`", invoke.name))?;
        let mut args = Vec::new();
        for arg in &invoke.args {
            match arg {
                wast::WastArg::Component(v) => args.push(val(v)?),
                other => bail!("unsupported argument to a component function: {other:?}"),
            }
        }
        let mut results: Vec<Val> = func
            .results(&*store)
            .iter()
            .map(|_| Val::Bool(false))
            .collect();
        func.call(&mut *store, &args, &mut results)?;
        func.post_return(&mut *store)?;
        Ok(results)
    }
}

/// The `Val` a script writes.
pub(crate) fn val(v: &WastVal<'_>) -> Result<Val> {
    let boxed = |v: &Option<Box<WastVal<'_>>>| -> Result<Option<Box<Val>>> {
        v.as_deref().map(|v| val(v).map(Box::new)).transpose()
    };
    Ok(match v {
        WastVal::Bool(b) => Val::Bool(*b),
        WastVal::U8(x) => Val::U8(*x),
        WastVal::S8(x) => Val::S8(*x),
        WastVal::U16(x) => Val::U16(*x),
        WastVal::S16(x) => Val::S16(*x),
        WastVal::U32(x) => Val::U32(*x),
        WastVal::S32(x) => Val::S32(*x),
        WastVal::U64(x) => Val::U64(*x),
        WastVal::S64(x) => Val::S64(*x),
        WastVal::F32(x) => Val::Float32(f32::from_bits(x.bits)),
        WastVal::F64(x) => Val::Float64(f64::from_bits(x.bits)),
        WastVal::Char(c) => Val::Char(*c),
        WastVal::String(s) => Val::String(s.to_string()),
        WastVal::List(items) => Val::List(items.iter().map(val).collect::<Result<_>>()?),
        WastVal::Map(entries) => Val::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((val(k)?, val(v)?)))
                .collect::<Result<_>>()?,
        ),
        WastVal::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(n, v)| Ok((n.to_string(), val(v)?)))
                .collect::<Result<_>>()?,
        ),
        WastVal::Tuple(items) => Val::Tuple(items.iter().map(val).collect::<Result<_>>()?),
        WastVal::Variant(name, payload) => Val::Variant(name.to_string(), boxed(payload)?),
        WastVal::Enum(name) => Val::Enum(name.to_string()),
        WastVal::Option(v) => Val::Option(boxed(v)?),
        WastVal::Result(Ok(v)) => Val::Result(Ok(boxed(v)?)),
        WastVal::Result(Err(v)) => Val::Result(Err(boxed(v)?)),
        WastVal::Flags(names) => Val::Flags(names.iter().map(|n| n.to_string()).collect()),
    })
}

/// Whether `actual` is the value `expected` (floats compare by bits, any NaN matches any NaN).
fn matches(actual: &Val, expected: &Val) -> bool {
    match (actual, expected) {
        (Val::Float32(a), Val::Float32(e)) => {
            (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits()
        }
        (Val::Float64(a), Val::Float64(e)) => {
            (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits()
        }
        (Val::List(a), Val::List(e)) | (Val::Tuple(a), Val::Tuple(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| matches(a, e))
        }
        (Val::Record(a), Val::Record(e)) => {
            a.len() == e.len()
                && a.iter()
                    .zip(e)
                    .all(|((an, a), (en, e))| an == en && matches(a, e))
        }
        (Val::Map(a), Val::Map(e)) => {
            a.len() == e.len()
                && a.iter()
                    .zip(e)
                    .all(|((ak, av), (ek, ev))| matches(ak, ek) && matches(av, ev))
        }
        (Val::Variant(an, a), Val::Variant(en, e)) => an == en && opt_matches(a, e),
        (Val::Option(a), Val::Option(e)) => opt_matches(a, e),
        (Val::Result(Ok(a)), Val::Result(Ok(e))) | (Val::Result(Err(a)), Val::Result(Err(e))) => {
            opt_matches(a, e)
        }
        (Val::Flags(a), Val::Flags(e)) => {
            let (mut a, mut e) = (a.clone(), e.clone());
            a.sort();
            e.sort();
            a == e
        }
        (a, e) => a == e,
    }
}

fn opt_matches(a: &Option<Box<Val>>, e: &Option<Box<Val>>) -> bool {
    match (a, e) {
        (Some(a), Some(e)) => matches(a, e),
        (None, None) => true,
        _ => false,
    }
}

fn match_results(actual: &[Val], expected: &[WastRet<'_>]) -> Result<()> {
    if actual.len() != expected.len() {
        bail!("expected {} results, got {}", expected.len(), actual.len());
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let WastRet::Component(e) = e else {
            bail!("expected a core value from a component function")
        };
        let e = val(e)?;
        if !matches(a, &e) {
            bail!("result {i}: expected {e}, got {a}");
        }
    }
    Ok(())
}

/// Checks that `error` is a trap (core or component) whose message contains `expected`.
fn expect_trap(error: &anyhow::Error, expected: &str) -> Result<()> {
    for cause in error.chain() {
        let text = if let Some(t) = cause.downcast_ref::<ComponentTrap>() {
            t.to_string()
        } else if let Some(t) = cause.downcast_ref::<Trap>() {
            t.to_string()
        } else {
            continue;
        };
        if text.contains(expected) {
            return Ok(());
        }
        bail!("expected trap `{expected}`, got `{text}`");
    }
    bail!("expected trap `{expected}`, got error: {error:#}")
}

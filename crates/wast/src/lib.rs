//! Runs WebAssembly `.wast` scripts (the format of the official spec tests)
//! against Tern, directive by directive, and counts what passed.
//!
//! Used by the spec-test integration test, by `tern wast`, and later by fuzzing.
//! Every directive kind of the core format is executed: `module` (text, binary,
//! quoted), module definitions and instances, `register`, `invoke`, `get`,
//! `assert_return` (with NaN patterns), `assert_trap`, `assert_exhaustion`,
//! `assert_invalid`, `assert_malformed`, `assert_unlinkable`. Trap messages are
//! compared as the spec's own runner does: the expected text must occur in ours.
//! So are validation and parse errors (`assert_invalid`, `assert_malformed`),
//! through the documented mapping of [`messages`] where wasmparser's wording
//! differs from the reference interpreter's.
//!
//! [`features`] picks a script's WebAssembly features from its path, as the
//! spec runner does.
//!
//! A [`CompileMode`] can route every module through a precompiled artifact
//! (serialize, then deserialize from bytes or from a mapped file), so that the
//! same scripts test Tern's artifacts; [`WastContext::set_call_async`] runs
//! every instantiation and invocation through the async API instead, so that
//! they test fibers.

mod component;
pub mod features;
pub mod messages;
mod spectest;
mod values;

use anyhow::{anyhow, bail, Context as _, Result};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use tern::{Config, Engine, Instance, Linker, Module, Store, Trap};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke};

/// The outcome of one directive that did not pass.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `file:line:column` of the directive.
    pub location: String,
    /// 1-based line of the directive, for ledger matching.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// Counts for one script.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Directives that behaved as expected.
    pub passed: usize,
    /// Directives that did not.
    pub failures: Vec<Failure>,
}

impl Summary {
    /// Number of failed directives.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
}

/// How a [`WastContext`] turns each module of a script into a [`Module`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompileMode {
    /// `Module::new`.
    #[default]
    Direct,
    /// Compile, `Module::serialize`, then `Module::deserialize` the bytes, so
    /// every directive runs on code loaded from an artifact.
    SerializeRoundTrip,
    /// Compile, serialize into a temporary file, then `Module::deserialize_file`
    /// it, so every directive runs on code mapped from the file.
    FileRoundTrip,
}

/// The state of one script run: a store, a linker with `spectest` and every
/// registered instance, and the named modules and instances seen so far.
pub struct WastContext {
    engine: Engine,
    mode: CompileMode,
    /// Whether modules are instantiated and invoked through the async API.
    call_async: bool,
    store: Store<()>,
    linker: Linker<()>,
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    components: component::ComponentState,
}

impl WastContext {
    /// A fresh context whose engine is built from `config`.
    ///
    /// # Errors
    /// Fails when the configuration is invalid.
    pub fn new(config: &Config) -> Result<Self> {
        let engine = Engine::new(config)?;
        let components = component::ComponentState::new(config)?;
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.allow_shadowing(true);
        spectest::define(&mut linker, &mut store)?;
        Ok(Self {
            engine,
            mode: CompileMode::Direct,
            call_async: false,
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            components,
        })
    }

    /// Chooses how modules are compiled (by default [`CompileMode::Direct`]).
    pub fn set_compile_mode(&mut self, mode: CompileMode) {
        self.mode = mode;
    }

    /// Instantiates and invokes core modules with `instantiate_async` and
    /// `call_async` (each driven to completion on the calling thread) when
    /// `enable` is set; the context's config must have `async_support`.
    pub fn set_call_async(&mut self, enable: bool) {
        self.call_async = enable;
    }

    /// Runs the script in `path`.
    ///
    /// # Errors
    /// Fails when the file cannot be read or parsed; directive failures are counted
    /// in the summary instead.
    pub fn run_file(&mut self, path: &Path) -> Result<Summary> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        self.run_buffer(&path.display().to_string(), &text)
    }

    /// Runs a script given as text; `name` labels failures.
    ///
    /// # Errors
    /// Fails when the script cannot be parsed.
    pub fn run_buffer(&mut self, name: &str, text: &str) -> Result<Summary> {
        let mut lexer = wast::lexer::Lexer::new(text);
        // The spec's names.wast deliberately uses bidirectional-override characters.
        lexer.allow_confusing_unicode(true);
        let buf = ParseBuffer::new_with_lexer(lexer).map_err(|mut e| {
            e.set_path(Path::new(name));
            e.set_text(text);
            anyhow!(e)
        })?;
        let ast = parser::parse::<Wast>(&buf).map_err(|mut e| {
            e.set_path(Path::new(name));
            e.set_text(text);
            anyhow!(e)
        })?;
        let mut summary = Summary::default();
        for directive in ast.directives {
            let (line, col) = directive.span().linecol_in(text);
            let outcome = catch_unwind(AssertUnwindSafe(|| self.run_directive(directive)))
                .unwrap_or_else(|p| Err(anyhow!("panicked: {}", panic_message(&p))));
            match outcome {
                Ok(()) => summary.passed += 1,
                Err(e) => summary.failures.push(Failure {
                    location: format!("{name}:{}:{}", line + 1, col + 1),
                    line: line + 1,
                    message: format!("{e:#}"),
                }),
            }
        }
        Ok(summary)
    }

    fn compile(&self, mut module: QuoteWat<'_>) -> Result<Module> {
        let bytes = module
            .encode()
            .map_err(|e| anyhow!(TextError(e.to_string())))?;
        // The script's text was already encoded: the bytes are a binary module
        // (one that does not start with the magic number must not be re-read
        // as text).
        let module = Module::from_binary(&self.engine, &bytes)?;
        match self.mode {
            CompileMode::Direct => Ok(module),
            CompileMode::SerializeRoundTrip => {
                let artifact = module.serialize()?;
                // SAFETY: the bytes were just written by `serialize` in this process.
                unsafe { Module::deserialize(&self.engine, &artifact) }
            }
            CompileMode::FileRoundTrip => {
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let path = std::env::temp_dir()
                    .join(format!("tern-wast-{}-{n}.cwasm", std::process::id()));
                std::fs::write(&path, module.serialize()?)?;
                // SAFETY: the file was just written by `serialize`, and nothing
                // modifies it; removing its name below leaves the mapping intact.
                let loaded = unsafe { Module::deserialize_file(&self.engine, &path) };
                std::fs::remove_file(&path)?;
                loaded
            }
        }
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance> {
        if self.call_async {
            return block_on(self.linker.instantiate_async(&mut self.store, module));
        }
        self.linker.instantiate(&mut self.store, module)
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .with_context(|| format!("no module named `{}`", id.name())),
            None => self.current.context("no module instantiated yet"),
        }
    }

    fn run_directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
        let Some(directive) = self.components.run(directive)? else {
            return Ok(());
        };
        match directive {
            WastDirective::Module(module) => {
                let name = module.name().map(|n| n.name().to_string());
                let module = self.compile(module)?;
                let instance = self.instantiate(&module)?;
                self.current = Some(instance);
                if let Some(name) = name {
                    self.instances.insert(name, instance);
                }
            }
            WastDirective::ModuleDefinition(module) => {
                let name = module.name().map(|n| n.name().to_string());
                let module = self.compile(module)?;
                if let Some(name) = name {
                    self.definitions.insert(name, module);
                }
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let def = module.context("module instance without a module name")?;
                let module = self
                    .definitions
                    .get(def.name())
                    .cloned()
                    .with_context(|| format!("no module definition `{}`", def.name()))?;
                let inst = self.instantiate(&module)?;
                self.current = Some(inst);
                if let Some(name) = instance {
                    self.instances.insert(name.name().to_string(), inst);
                }
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker.instance(&mut self.store, name, instance)?;
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(invoke)?;
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self.execute(exec)?;
                values::match_results(&mut self.store, &actual, &results)?;
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(values) => bail!("expected trap `{message}`, got {values:?}"),
                Err(e) => expect_trap(&e, message)?,
            },
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(values) => bail!("expected an uncaught exception, got {values:?}"),
                Err(e) if e.is::<tern::ThrownException>() => {
                    // The script only asks that one escaped; drop it.
                    self.store.take_pending_exception();
                }
                Err(e) => bail!("expected an uncaught exception, got error: {e:#}"),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(call) {
                Ok(values) => bail!("expected exhaustion `{message}`, got {values:?}"),
                Err(e) => expect_trap(&e, message)?,
            },
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.expect_rejection(module, message, false)?,
            WastDirective::AssertMalformed {
                module, message, ..
            } => {
                let text = matches!(module, QuoteWat::QuoteModule(..));
                self.expect_rejection(module, message, text)?;
            }
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => {
                let module = self
                    .compile(QuoteWat::Wat(module))
                    .context("module failed to compile")?;
                if self.instantiate(&module).is_ok() {
                    bail!("expected module to fail to link with `{message}`");
                }
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                // Custom-section checks are about optional sections Tern ignores.
            }
            other => bail!("unsupported directive: {other:?}"),
        }
        Ok(())
    }

    /// Checks that `module` is refused with `expected` (see [`messages`]).
    /// With `malformed_text`, any error of the text parser is the expected
    /// one: the spec's reference parser and the `wast` crate word malformed
    /// text differently, and neither wording is observable by wasm.
    fn expect_rejection(
        &self,
        module: QuoteWat<'_>,
        expected: &str,
        malformed_text: bool,
    ) -> Result<()> {
        match self.compile(module) {
            Ok(_) => bail!("expected module to be rejected with `{expected}`, but it compiled"),
            Err(e) if malformed_text && e.is::<TextError>() => Ok(()),
            Err(e) => {
                let actual = format!("{e:#}");
                if !messages::matches(expected, &actual) {
                    bail!("expected rejection with `{expected}`, got `{actual}`");
                }
                Ok(())
            }
        }
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<tern::Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(invoke),
            WastExecute::Wat(module) => {
                let module = self.compile(QuoteWat::Wat(module))?;
                self.instantiate(&module)?;
                Ok(vec![])
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let global = instance
                    .get_global(&mut self.store, global)
                    .with_context(|| format!("no global export `{global}`"))?;
                Ok(vec![global.get(&mut self.store)])
            }
        }
    }

    fn invoke(&mut self, invoke: WastInvoke<'_>) -> Result<Vec<tern::Val>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .with_context(|| format!("no function export `{}`", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|a| values::arg(&mut self.store, a))
            .collect::<Result<Vec<_>>>()?;
        let ty = func.ty(&self.store);
        // Placeholders: `call` overwrites every result (a non-nullable
        // reference type has no default value to start from).
        let mut results = ty
            .results()
            .map(|t| tern::Val::default_for_ty(t).unwrap_or(tern::Val::FuncRef(None)))
            .collect::<Vec<_>>();
        if self.call_async {
            block_on(func.call_async(&mut self.store, &args, &mut results))?;
        } else {
            func.call(&mut self.store, &args, &mut results)?;
        }
        Ok(results)
    }

    /// The linker, to define more imports before running a script.
    pub fn linker(&mut self) -> (&mut Linker<()>, &mut Store<()>) {
        (&mut self.linker, &mut self.store)
    }
}

/// A module's text that the `wast` parser refused (a malformed text, as
/// opposed to a binary that wasmparser refused).
#[derive(Debug)]
struct TextError(String);

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TextError {}

/// Polls `future` on this thread until it is ready (the spec's host functions
/// never wait, so it is ready at the first poll; the loop is for robustness).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Checks that `error` is a trap whose message contains `expected`.
///
/// The reference interpreter appends the offending index to some messages
/// (`uninitialized element 7`); Tern's trap codes carry no operand, so an
/// expected message that extends Tern's own message also matches.
fn expect_trap(error: &anyhow::Error, expected: &str) -> Result<()> {
    let Some(trap) = error.downcast_ref::<Trap>() else {
        bail!("expected trap `{expected}`, got error: {error:#}");
    };
    // The reference interpreter says `null function reference` when `call_ref`
    // meets null; Tern, like wasmtime, raises `Trap::NullReference` for every
    // null dereference.
    if *trap == Trap::NullReference && expected == "null function reference" {
        return Ok(());
    }
    let actual = trap.to_string();
    let core = actual.strip_prefix("wasm trap: ").unwrap_or(&actual);
    let with_operand = expected
        .strip_prefix(core)
        .is_some_and(|rest| rest.starts_with(' '));
    if !actual.contains(expected) && !with_operand {
        bail!("expected trap `{expected}`, got `{actual}`");
    }
    Ok(())
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

//! [`Engine`]: the frozen configuration, the compiler, and what is shared by every
//! module and store made with it: the type registry (engine-wide ids that
//! `call_indirect` compares, see `type_registry`). Trampolines are not here: each module carries the
//! ones it needs in its own code (see `func/trampolines.rs`), so nothing compiles
//! after a module is loaded.

use crate::config::SUPPORTED_FEATURES;
use crate::type_registry::{group_key, signature_key, TypeRegistry};
use crate::Config;
use anyhow::{bail, Result};
use std::sync::{Arc, RwLock};
use tern_cranelift::{Compiler, CompilerSettings};
use tern_environ::{WasmFeatures, WasmFuncType, WasmRefType, WasmSubType};

/// The fingerprint entry holding the artifact's version string
/// (`Config::module_version`); `ModuleVersionStrategy::None` skips its check.
pub(crate) const MODULE_VERSION: &str = "module version";

/// A compilation environment shared by modules and stores; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) compiler: Compiler,
    signatures: RwLock<TypeRegistry>,
    /// The epoch counter compiled code compares with each store's deadline.
    pub(crate) epoch: std::sync::atomic::AtomicU64,
    /// Fiber stacks of finished async calls, reused by the next ones.
    pub(crate) fiber_stacks: crate::vm::fiber::StackPool,
    /// The pooling allocator, with `InstanceAllocationStrategy::Pooling`.
    pub(crate) pool: Option<Arc<crate::vm::pool::InstancePool>>,
    /// Released mappings the on-demand allocator reuses (none with a pool).
    mapping_cache: Option<Arc<crate::vm::reuse::MappingCache>>,
}

impl Engine {
    /// Validates `config` and creates an engine.
    ///
    /// # Errors
    /// Fails when the configuration enables a WebAssembly feature Tern does not
    /// implement yet, legacy exceptions without exceptions, sets a zero stack size, sets a Cranelift flag Tern does
    /// not support (see `Config::cranelift_flag_set`), asks for a profiler Tern
    /// does not implement (or a perf map that cannot be created), asks for what
    /// Tern cannot do (`Strategy::Winch`, `debug_info(true)`,
    /// `native_unwind_info(true)`), or the host CPU is unsupported.
    pub fn new(config: &Config) -> Result<Self> {
        let unsupported = config.features.difference(SUPPORTED_FEATURES);
        if !unsupported.is_empty() {
            let names: Vec<&str> = unsupported.iter_names().map(|(name, _)| name).collect();
            let names = if names.is_empty() {
                format!("{unsupported:?}")
            } else {
                names.join(", ")
            };
            bail!("Tern does not implement these WebAssembly features yet: {names}");
        }
        if config.features.contains(WasmFeatures::LEGACY_EXCEPTIONS)
            && !config.features.contains(WasmFeatures::EXCEPTIONS)
        {
            bail!("legacy exceptions (`wasm_legacy_exceptions`) require `wasm_exceptions` to be enabled");
        }
        if config.max_wasm_stack == 0 {
            bail!("max_wasm_stack must be greater than zero");
        }
        if config.async_support && config.max_wasm_stack >= config.async_stack_size {
            bail!("max_wasm_stack size cannot exceed the async_stack_size");
        }
        let pool = match &config.allocation_strategy {
            crate::InstanceAllocationStrategy::OnDemand => None,
            crate::InstanceAllocationStrategy::Pooling(p) => {
                Some(crate::vm::pool::InstancePool::new(p.limits()?))
            }
        };
        config.knobs.check()?;
        crate::profiling::start(config.profiler)?;
        // The engine keeps its own copy with the Cranelift flags folded into
        // the tunables, which code, runtime and fingerprint then all read.
        let mut config = config.clone();
        config.tunables = config.frozen_tunables()?;
        let config = &config;
        let compiler = Compiler::for_target(
            CompilerSettings {
                opt_level: match config.opt_level {
                    crate::OptLevel::None => tern_cranelift::OptLevel::None,
                    crate::OptLevel::Speed => tern_cranelift::OptLevel::Speed,
                    crate::OptLevel::SpeedAndSize => tern_cranelift::OptLevel::SpeedAndSize,
                },
                verify: config.debug_verifier,
                tunables: config.tunables.clone(),
            },
            config.knobs.target.as_deref(),
        )?;
        Ok(Self {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                compiler,
                signatures: RwLock::default(),
                epoch: std::sync::atomic::AtomicU64::new(0),
                fiber_stacks: crate::vm::fiber::StackPool::new(config.async_stack_size),
                mapping_cache: pool.is_none().then(Arc::default),
                pool,
            }),
        })
    }

    /// Advances the epoch by one. Stores whose deadline it reaches trap with
    /// `Trap::Interrupt` at the next function entry or loop header (with
    /// `Config::epoch_interruption`). Safe to call from any thread, e.g. a timer.
    pub fn increment_epoch(&self) {
        self.inner
            .epoch
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Fails unless code this engine compiles can run in this process: an
    /// engine made with `Config::target` for another architecture only
    /// produces artifacts (`Engine::precompile_module`, `Module::serialize`).
    ///
    /// # Errors
    /// Fails, naming both targets, when the engine's target is not the host's.
    pub(crate) fn check_runs_on_host(&self) -> Result<()> {
        let compiler = &self.inner.compiler;
        if !compiler.runs_on_host() {
            bail!(
                "this engine compiles for `{}` (`Config::target`), whose code cannot run on \
                 this `{}` host (another architecture, or CPU features it lacks): use it to \
                 precompile artifacts, and load them on a `{}` host",
                compiler.triple(),
                std::env::consts::ARCH,
                compiler.triple()
            );
        }
        Ok(())
    }

    /// The pooling allocator, if the engine uses one.
    pub(crate) fn pool(&self) -> Option<&Arc<crate::vm::pool::InstancePool>> {
        self.inner.pool.as_ref()
    }

    /// The on-demand allocator's cache of released mappings (`None` with the
    /// pooling allocator).
    pub(crate) fn mapping_cache(&self) -> Option<&Arc<crate::vm::reuse::MappingCache>> {
        self.inner.mapping_cache.as_ref()
    }

    /// The tunables compiled code and the runtime share.
    pub(crate) fn tunables(&self) -> &tern_environ::Tunables {
        &self.inner.config.tunables
    }

    /// The configuration this engine was made with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Whether the engine was configured with `Config::async_support`, so that
    /// wasm runs through the `*_async` entry points.
    pub fn is_async(&self) -> bool {
        self.inner.config.async_support
    }

    /// Initialises this thread's runtime state ahead of the first wasm call,
    /// as wasmtime offers for latency-sensitive threads. Tern's per-thread
    /// state is a `const`-initialised thread-local with nothing to set up
    /// (signal handlers are installed per process by `Engine::new`), so there
    /// is no work to do here.
    pub fn tls_eager_initialize() {}

    /// Every setting that changes the machine code or the `VMContext` layout this
    /// engine produces, as `(name, value)` pairs: the fingerprint written into
    /// precompiled artifacts and compared by `Module::deserialize` (a mismatch
    /// names the pair), and what [`Engine::precompile_compatibility_hash`] hashes.
    ///
    /// Adding a code-affecting `Config` setting means adding one line here.
    /// WebAssembly features are listed one by one from `WasmFeatures`' bits, so
    /// a new feature flag is covered without an edit.
    pub(crate) fn code_affecting_settings(&self) -> Vec<(String, String)> {
        let config = &self.inner.config;
        let compiler = &self.inner.compiler;
        let mut settings = vec![
            (MODULE_VERSION.to_string(), config.knobs.version_string()),
            (
                "artifact format".to_string(),
                crate::artifact::FORMAT_VERSION.to_string(),
            ),
            ("target".to_string(), compiler.triple()),
            ("cpu features".to_string(), compiler.isa_flags()),
            ("opt level".to_string(), format!("{:?}", config.opt_level)),
            (
                "static memory maximum size".to_string(),
                config.tunables.static_memory_maximum_size.to_string(),
            ),
            (
                "static memory guard size".to_string(),
                config.tunables.static_memory_guard_size.to_string(),
            ),
            (
                "dynamic memory guard size".to_string(),
                config.tunables.dynamic_memory_guard_size.to_string(),
            ),
            (
                "consume fuel".to_string(),
                config.tunables.consume_fuel.to_string(),
            ),
            (
                "epoch interruption".to_string(),
                config.tunables.epoch_interruption.to_string(),
            ),
            (
                "generate address map".to_string(),
                config.knobs.generate_address_map.to_string(),
            ),
            (
                "memory guaranteed dense image size".to_string(),
                config.knobs.memory_guaranteed_dense_image_size.to_string(),
            ),
            (
                "enable_heap_access_spectre_mitigation".to_string(),
                config.tunables.heap_access_spectre_mitigation.to_string(),
            ),
            (
                "enable_table_access_spectre_mitigation".to_string(),
                config.tunables.table_access_spectre_mitigation.to_string(),
            ),
            (
                "cranelift_nan_canonicalization".to_string(),
                config.tunables.nan_canonicalization.to_string(),
            ),
            (
                "relaxed_simd_deterministic".to_string(),
                config.tunables.relaxed_simd_deterministic.to_string(),
            ),
        ];
        for (name, flag) in tern_environ::WasmFeatures::all().iter_names() {
            settings.push((
                format!("wasm feature {name}"),
                config.features.contains(flag).to_string(),
            ));
        }
        settings
    }

    /// The engine-wide ids of a module's type section, registering each
    /// recursion group on first use (`groups[i]` is type `i`'s group as
    /// `(start, len)`). Groups are canonicalised iso-recursively (see
    /// `crate::type_registry`), so two modules' copies of a group get the same
    /// ids however their type sections are ordered.
    ///
    /// # Errors
    /// Fails on a reference to a type of a later group, or malformed group
    /// bounds (validation rules both out).
    pub(crate) fn register_types(
        &self,
        types: &[WasmSubType],
        groups: &[(u32, u32)],
    ) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = Vec::with_capacity(types.len());
        while ids.len() < types.len() {
            let Some(&(start, len)) = groups.get(ids.len()) else {
                bail!("type {} has no recursion group", ids.len());
            };
            if start as usize != ids.len() || len == 0 || (start + len) as usize > types.len() {
                bail!("malformed recursion group ({start}, {len})");
            }
            let key = group_key(types, &ids, start, len)?;
            let first = self.intern_group(key);
            ids.extend(first..first + len);
        }
        Ok(ids)
    }

    /// The engine-wide id of `ty` (with engine ids only) alone in its
    /// recursion group, registering it on first use (host-made GC types).
    pub(crate) fn register_single_type(&self, ty: WasmSubType) -> u32 {
        self.intern_group(vec![ty])
    }

    fn intern_group(&self, key: Vec<WasmSubType>) -> u32 {
        if let Some(first) = self.registry().find_group(&key) {
            return first;
        }
        self.inner
            .signatures
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .intern_group(key)
    }

    fn registry(&self) -> std::sync::RwLockReadGuard<'_, TypeRegistry> {
        self.inner
            .signatures
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The engine-wide id of canonical signature `ty` (a `final` function
    /// type alone in its group, as host signatures are), registering it on
    /// first use.
    pub(crate) fn signature_id(&self, ty: &WasmFuncType) -> u32 {
        if let Some(id) = self.registry().find_signature(ty) {
            return id;
        }
        self.intern_group(signature_key(ty))
    }

    /// The function type registered under `id` (`None` for a struct or array type).
    pub(crate) fn signature(&self, id: u32) -> Option<WasmFuncType> {
        self.registry().get(id)?.as_func().cloned()
    }

    /// The type registered under `id`, with every type index an engine id.
    pub(crate) fn sub_type(&self, id: u32) -> Option<tern_environ::WasmSubType> {
        self.registry().get(id).cloned()
    }

    /// Whether engine type `sub` is engine type `sup` or declares it
    /// (transitively) as its supertype.
    pub(crate) fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        sub == sup || self.registry().is_subtype(sub, sup)
    }

    /// Whether reference type `a` matches `b` (both canonical), following
    /// the declared supertypes of concrete types.
    pub(crate) fn ref_matches(&self, a: WasmRefType, b: WasmRefType) -> bool {
        let reg = self.registry();
        a.matches_with(b, &|t| reg.supertype(t))
    }

    /// How many functions (wasm bodies and trampolines) this engine has
    /// compiled with Cranelift so far. Not part of the stable API: tests use it
    /// to check that loading and running precompiled artifacts compiles nothing.
    #[doc(hidden)]
    pub fn compiled_function_count(&self) -> u64 {
        self.inner.compiler.compiled_function_count()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(&Config::new()).expect("the default configuration is valid")
    }
}

//! [`Config`]: the choices an embedder makes before creating an [`crate::Engine`].
//!
//! Setters only record intent; `Engine::new` validates the whole configuration
//! once and freezes it.

use tern_environ::WasmFeatures;

/// Cranelift optimisation level, as in wasmtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OptLevel {
    /// No optimisation.
    None,
    /// Optimise for speed (the default).
    #[default]
    Speed,
    /// Optimise for speed and size.
    SpeedAndSize,
}

/// Global configuration for an [`crate::Engine`].
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) opt_level: OptLevel,
    pub(crate) max_wasm_stack: usize,
    pub(crate) features: WasmFeatures,
    pub(crate) debug_verifier: bool,
    pub(crate) parallel_compilation: bool,
    pub(crate) tunables: tern_environ::Tunables,
    /// Cranelift flags set by name, checked and applied by `Engine::new`.
    pub(crate) cranelift_flags: Vec<(String, String)>,
    /// Where the compilation cache lives and its cleanup limits, when it is
    /// on (see `cache.rs`).
    pub(crate) cache: Option<crate::cache::CacheSettings>,
    /// The profiler to describe compiled code to (see `profiling.rs`).
    pub(crate) profiler: crate::ProfilingStrategy,
    pub(crate) wasm_backtrace: bool,
    #[allow(
        dead_code,
        reason = "recorded for wasmtime compatibility; no DWARF reader uses it yet"
    )]
    pub(crate) wasm_backtrace_details: WasmBacktraceDetails,
    /// Whether wasm runs through the async API on fibers (`Config::async_support`).
    pub(crate) async_support: bool,
    /// The size of each fiber's stack (`Config::async_stack_size`).
    pub(crate) async_stack_size: usize,
    /// Where instances get their memory (`Config::allocation_strategy`).
    pub(crate) allocation_strategy: crate::InstanceAllocationStrategy,
    /// Whether component-to-component calls are compiled into adapters
    /// (`Config::component_compiled_adapters`).
    pub(crate) component_adapters: bool,
    /// wasmtime 12's code generator, artifact and memory-initialisation knobs
    /// (`config_knobs.rs`).
    pub(crate) knobs: crate::config_knobs::Knobs,
}

/// Whether backtraces name source files and lines (`Config::wasm_backtrace_details`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WasmBacktraceDetails {
    /// Read DWARF debug info to add file and line numbers.
    Enable,
    /// Only function names and indices (the default).
    #[default]
    Disable,
    /// Enable when the environment variable `WASMTIME_BACKTRACE_DETAILS` is `1`.
    Environment,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// The WebAssembly 3.0 standard's feature set: 2.0 plus garbage collection,
/// typed function references, exception handling, tail calls, extended
/// constant expressions, multi-memory, memory64 and relaxed SIMD.
/// (wasmparser's `WASM3` also holds threads, which 3.0 does not.)
pub(crate) const WASM3: WasmFeatures = WasmFeatures::WASM2
    .union(WasmFeatures::GC)
    .union(WasmFeatures::FUNCTION_REFERENCES)
    .union(WasmFeatures::EXCEPTIONS)
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::MEMORY64)
    .union(WasmFeatures::RELAXED_SIMD);

/// The proposals Tern implements today; enabling any other is an error at `Engine::new`.
pub(crate) const SUPPORTED_FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::GC_TYPES)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::MEMORY64)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::WIDE_ARITHMETIC)
    .union(WasmFeatures::FUNCTION_REFERENCES)
    .union(WasmFeatures::EXCEPTIONS)
    .union(WasmFeatures::LEGACY_EXCEPTIONS)
    .union(WasmFeatures::GC)
    .union(COMPONENT_FEATURES);

/// **The one list of defaults**: what `Config::new` enables. Every Wasm 3.0
/// feature Tern implements, plus wide arithmetic, as in current wasmtime.
///
/// Wasm 3.0 features not implemented yet stay off; when one lands, add it to
/// [`SUPPORTED_FEATURES`] and here (a test checks that every supported Wasm
/// 3.0 feature is on by default).
pub(crate) const DEFAULT_FEATURES: WasmFeatures = WasmFeatures::WASM2
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::MEMORY64)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::WIDE_ARITHMETIC)
    .union(WasmFeatures::FUNCTION_REFERENCES)
    .union(WasmFeatures::EXCEPTIONS)
    .union(WasmFeatures::GC);

/// The component-model proposal and the sub-features whose syntax Tern
/// validates (`crate::component`; async built-ins validate but trap when called).
const COMPONENT_FEATURES: WasmFeatures = WasmFeatures::COMPONENT_MODEL
    .union(WasmFeatures::CM_MAP)
    .union(WasmFeatures::CM_IMPLEMENTS)
    .union(WasmFeatures::CM_FIXED_LENGTH_LISTS)
    .union(CM_ASYNC_FEATURES);

/// The component-model async family: validated only (see `wasm_component_model_async`).
const CM_ASYNC_FEATURES: WasmFeatures = WasmFeatures::CM_ASYNC
    .union(WasmFeatures::CM_MORE_ASYNC_BUILTINS)
    .union(WasmFeatures::CM_ASYNC_STACKFUL)
    .union(WasmFeatures::CM_THREADING)
    .union(WasmFeatures::CM_ERROR_CONTEXT);

impl Config {
    /// The default configuration: optimised code, a 512 KiB wasm stack, and
    /// every WebAssembly 3.0 feature Tern implements plus wide arithmetic:
    /// WebAssembly 2.0 (mutable globals, sign extension, saturating
    /// float-to-int, multi-value, bulk memory, reference types, SIMD), tail
    /// calls, extended constant expressions, multi-memory, memory64, relaxed
    /// SIMD, typed function references and wide arithmetic.
    ///
    /// # Change from wasmtime 12's defaults
    /// wasmtime 12 left tail calls, extended constant expressions,
    /// multi-memory, memory64, relaxed SIMD and typed function references
    /// off (and had no wide arithmetic); Tern turns them on, as current wasmtime does. Code that
    /// needs wasmtime 12's set calls `wasm_tail_call(false)`,
    /// `wasm_extended_const(false)`, `wasm_multi_memory(false)`,
    /// `wasm_memory64(false)`, `wasm_relaxed_simd(false)`,
    /// `wasm_function_references(false)` and `wasm_wide_arithmetic(false)`.
    /// Exception handling (Wasm 3.0) is implemented but off, unlike current
    /// wasmtime, until thrown exceptions are collected (see
    /// [`Config::wasm_exceptions`]); garbage collection is not implemented yet;
    /// the component model stays off, as in wasmtime 12.
    pub fn new() -> Self {
        Self {
            opt_level: OptLevel::Speed,
            max_wasm_stack: 512 * 1024,
            features: DEFAULT_FEATURES,
            debug_verifier: false,
            parallel_compilation: true,
            tunables: tern_environ::Tunables::default(),
            cranelift_flags: Vec::new(),
            wasm_backtrace: true,
            wasm_backtrace_details: WasmBacktraceDetails::Disable,
            cache: None,
            profiler: crate::ProfilingStrategy::None,
            async_support: false,
            async_stack_size: 2 << 20,
            allocation_strategy: crate::InstanceAllocationStrategy::OnDemand,
            component_adapters: true,
            knobs: crate::config_knobs::Knobs::default(),
        }
    }

    /// Enables the async API (`Func::call_async`, `Linker::func_wrap_async`, …):
    /// wasm then runs on fibers and host functions may await futures. Off by
    /// default. With it on, the synchronous entry points (`Func::call`,
    /// `Instance::new`, …) return an error, and the async ones need it.
    pub fn async_support(&mut self, enable: bool) -> &mut Self {
        self.async_support = enable;
        self
    }

    /// The size of the native stack each async call runs wasm on (default
    /// 2 MiB). It must exceed `max_wasm_stack`, which `Engine::new` checks: the
    /// difference is the room left for host functions called from wasm.
    pub fn async_stack_size(&mut self, size: usize) -> &mut Self {
        self.async_stack_size = size;
        self
    }

    /// Where instances, memories and tables come from (default:
    /// [`InstanceAllocationStrategy::OnDemand`](crate::InstanceAllocationStrategy)).
    /// With the pooling strategy, `Engine::new` checks the limits, and modules
    /// that cannot fit them are refused when compiled or loaded.
    pub fn allocation_strategy(
        &mut self,
        strategy: crate::InstanceAllocationStrategy,
    ) -> &mut Self {
        self.allocation_strategy = strategy;
        self
    }

    /// Sets Cranelift's optimisation level.
    pub fn cranelift_opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.opt_level = level;
        self
    }

    /// Runs Cranelift's IR verifier on every function (slow; for debugging Tern).
    pub fn cranelift_debug_verifier(&mut self, enable: bool) -> &mut Self {
        self.debug_verifier = enable;
        self
    }

    /// Makes every float operator that can compute a NaN return the
    /// canonical NaN of its type (`0x7fc0_0000` for f32,
    /// `0x7ff8_0000_0000_0000` for f64, lane by lane for `f32x4`/`f64x2`)
    /// instead of the NaN the CPU produced, as wasmtime's method of the same
    /// name does. Off by default: the spec allows any arithmetic NaN, and the
    /// check costs a compare and a select per operator.
    ///
    /// Turn it on when results must be bit-identical across hosts
    /// (consensus, replay, differential testing). It covers `add`, `sub`,
    /// `mul`, `div`, `sqrt`, `min`, `max`, `ceil`, `floor`, `trunc`,
    /// `nearest` of `f32`, `f64`, `f32x4` and `f64x2`, the demotions and
    /// promotions, and relaxed SIMD's `relaxed_min`/`relaxed_max`/
    /// `relaxed_madd`/`relaxed_nmadd`; operators defined on bits (`neg`,
    /// `abs`, `copysign`, reinterpretations, loads, stores, `pmin`/`pmax`)
    /// still pass NaN payloads through unchanged, as the spec requires.
    /// Artifacts record the setting: one compiled with it on is refused by an
    /// engine with it off, and the other way round.
    pub fn cranelift_nan_canonicalization(&mut self, enable: bool) -> &mut Self {
        self.tunables.nan_canonicalization = enable;
        self
    }

    /// Makes relaxed SIMD follow the WebAssembly 3.0 spec's deterministic
    /// profile (wasmtime's knob of this name; off by default, as there).
    ///
    /// Tern computes relaxed SIMD one fixed way on every host either way:
    /// `relaxed_swizzle` as `swizzle`, the relaxed truncations as the
    /// saturating ones, `relaxed_min`/`relaxed_max` as `min`/`max`, the lane
    /// selects as `bitselect`, `relaxed_q15mulr_s` as `q15mulr_sat_s` and the
    /// dot products as signed — each the deterministic profile's choice. The
    /// one difference is `relaxed_madd`/`relaxed_nmadd`: off, they are fused
    /// multiply-adds (one rounding, fast where the CPU has FMA); on, they
    /// round the product and then the sum, as the profile prescribes.
    /// Artifacts record the setting. NaN bits of float results still vary by
    /// host unless [`Config::cranelift_nan_canonicalization`] is on.
    pub fn relaxed_simd_deterministic(&mut self, enable: bool) -> &mut Self {
        self.tunables.relaxed_simd_deterministic = enable;
        self
    }

    /// Sets the Cranelift flag `name` to `value`, as wasmtime's method of the
    /// same name does. Tern honours the flags that change what its translator
    /// emits, both `"true"` by default:
    /// - `enable_heap_access_spectre_mitigation`: every explicit linear-memory
    ///   bounds check (dynamic memories, memory64, offsets beyond the guard
    ///   region) also clamps the address with a speculation-safe select, so a
    ///   mispredicted check cannot read outside the sandbox;
    /// - `enable_table_access_spectre_mitigation`: the same for `table.get`,
    ///   `table.set` and `call_indirect` index checks (and Cranelift's
    ///   `br_table` lowering).
    ///
    /// Setting either to `"false"` makes checked accesses cheaper for trusted
    /// code. `enable_nan_canonicalization` (`"false"` by default) is the
    /// Cranelift spelling of [`Config::cranelift_nan_canonicalization`] and
    /// sets the same switch. Any other flag name or value is an error at
    /// `Engine::new`.
    ///
    /// # Safety
    /// With a mitigation off, wasm code can make the CPU speculatively read
    /// host memory outside its sandbox and leak it through cache timing; the
    /// caller promises that the code this engine runs is trusted not to try.
    /// (In wasmtime any Cranelift flag can be set here, some of which make
    /// generated code unsound; Tern accepts only the three above.)
    #[allow(
        unsafe_code,
        reason = "the API is unsafe as in wasmtime: it can weaken the sandbox"
    )]
    pub unsafe fn cranelift_flag_set(&mut self, name: &str, value: &str) -> &mut Self {
        self.cranelift_flags
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the boolean Cranelift flag `flag` to `"true"`, as in wasmtime.
    ///
    /// # Safety
    /// As for [`Config::cranelift_flag_set`].
    #[allow(
        unsafe_code,
        reason = "the API is unsafe as in wasmtime: it can weaken the sandbox"
    )]
    pub unsafe fn cranelift_flag_enable(&mut self, flag: &str) -> &mut Self {
        self.cranelift_flags
            .push((flag.to_string(), "true".to_string()));
        self
    }

    /// The tunables with the Cranelift flags applied: what the engine freezes.
    pub(crate) fn frozen_tunables(&self) -> anyhow::Result<tern_environ::Tunables> {
        let mut tunables = self.tunables.clone();
        tunables.exceptions = self.features.contains(WasmFeatures::EXCEPTIONS);
        for (name, value) in &self.cranelift_flags {
            let field = match name.as_str() {
                "enable_heap_access_spectre_mitigation" => {
                    &mut tunables.heap_access_spectre_mitigation
                }
                "enable_table_access_spectre_mitigation" => {
                    &mut tunables.table_access_spectre_mitigation
                }
                "enable_nan_canonicalization" => &mut tunables.nan_canonicalization,
                _ => anyhow::bail!(
                    "the Cranelift flag `{name}` is not supported by Tern (supported: \
                     enable_heap_access_spectre_mitigation, enable_table_access_spectre_mitigation, \
                     enable_nan_canonicalization)"
                ),
            };
            *field = match value.as_str() {
                "true" => true,
                "false" => false,
                _ => anyhow::bail!(
                    "the Cranelift flag `{name}` takes `true` or `false`, not `{value}`"
                ),
            };
        }
        Ok(tunables)
    }

    /// Whether traps and host errors carry a [`crate::WasmBacktrace`] of the
    /// wasm frames (default: on). Off, errors have no backtrace context and
    /// [`crate::WasmBacktrace::capture`] returns an empty trace.
    pub fn wasm_backtrace(&mut self, enable: bool) -> &mut Self {
        self.wasm_backtrace = enable;
        self
    }

    /// Whether backtraces add source file and line numbers from DWARF (default:
    /// [`WasmBacktraceDetails::Disable`]). Tern records the choice but reads no
    /// DWARF yet, so frames have function names and indices either way.
    pub fn wasm_backtrace_details(&mut self, details: WasmBacktraceDetails) -> &mut Self {
        self.wasm_backtrace_details = details;
        self
    }

    /// The most stack wasm code may use before it traps with `StackOverflow`.
    /// Must be non-zero; the default is 512 KiB.
    pub fn max_wasm_stack(&mut self, size: usize) -> &mut Self {
        self.max_wasm_stack = size;
        self
    }

    /// Makes compiled code count fuel (one unit per operator, charged per basic
    /// block) and trap with `Trap::OutOfFuel` when the store has none left. Set
    /// the fuel with `Store::set_fuel`. Default: off.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.tunables.consume_fuel = enable;
        self
    }

    /// Makes compiled code check, at function entries and loop headers, whether
    /// the engine's epoch (`Engine::increment_epoch`) reached the store's
    /// deadline (`Store::set_epoch_deadline`), and trap with `Trap::Interrupt`
    /// if so. Default: off.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.tunables.epoch_interruption = enable;
        self
    }

    /// Memories whose maximum size is at most `bytes` are reserved in full up
    /// front and never move; others are "dynamic" (reserved as they grow, moved
    /// when needed, every access bounds-checked). With the default (4 GiB),
    /// every 32-bit memory is static and, with the default guard, unchecked.
    /// `0` makes every memory dynamic.
    pub fn static_memory_maximum_size(&mut self, bytes: u64) -> &mut Self {
        self.tunables.static_memory_maximum_size = bytes;
        self
    }

    /// Inaccessible bytes after each static memory (default 2 GiB). Accesses
    /// whose constant offset fits in the guard need no bounds check when the
    /// reservation covers the whole 32-bit index space.
    pub fn static_memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.tunables.static_memory_guard_size = bytes;
        self
    }

    /// Inaccessible bytes after each dynamic memory (default 64 KiB).
    pub fn dynamic_memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.tunables.dynamic_memory_guard_size = bytes;
        self
    }

    /// Whether calls from one component instance into another, inside one
    /// component, are compiled into adapter functions (default: on) or all go
    /// through the host-fused path. Both give the same results; the knob
    /// exists to compare them (tests, `component-bench`). Not part of
    /// wasmtime's API, and it does not affect core code, so artifacts do
    /// not record it (a component records which calls it compiled).
    #[doc(hidden)]
    pub fn component_compiled_adapters(&mut self, enable: bool) -> &mut Self {
        self.component_adapters = enable;
        self
    }

    /// Compiles a module's functions on several threads (default: on).
    pub fn parallel_compilation(&mut self, enable: bool) -> &mut Self {
        self.parallel_compilation = enable;
        self
    }

    fn feature(&mut self, feature: WasmFeatures, enable: bool) -> &mut Self {
        self.features.set(feature, enable);
        self
    }

    /// The multi-value proposal (on by default).
    pub fn wasm_multi_value(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_VALUE, enable)
    }

    /// The mutable-global proposal (on by default).
    pub fn wasm_mutable_global(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MUTABLE_GLOBAL, enable)
    }

    /// The sign-extension operators (on by default).
    pub fn wasm_sign_extension(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SIGN_EXTENSION, enable)
    }

    /// The non-trapping float-to-int conversions (on by default).
    pub fn wasm_saturating_float_to_int(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SATURATING_FLOAT_TO_INT, enable)
    }

    /// The bulk-memory proposal (on by default).
    pub fn wasm_bulk_memory(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::BULK_MEMORY, enable)
    }

    /// The reference-types proposal (on by default).
    pub fn wasm_reference_types(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::REFERENCE_TYPES, enable)
    }

    /// 128-bit SIMD (on by default).
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SIMD, enable)
    }

    /// Relaxed SIMD (on by default). Tern computes every
    /// relaxed operation deterministically, the same way on every host.
    pub fn wasm_relaxed_simd(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::RELAXED_SIMD, enable)
    }

    /// Several memories per module (on by default).
    pub fn wasm_multi_memory(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_MEMORY, enable)
    }

    /// Typed function references (on by default): `(ref null? $t)` types,
    /// `call_ref`, `return_call_ref` (with tail calls), `ref.as_non_null`,
    /// `br_on_null`, `br_on_non_null`, non-nullable locals and tables with
    /// initialiser expressions.
    pub fn wasm_function_references(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::FUNCTION_REFERENCES, enable)
    }

    /// Tail calls: `return_call`, `return_call_indirect` (on by default).
    pub fn wasm_tail_call(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::TAIL_CALL, enable)
    }

    /// 64-bit memories and tables (on by default). Memories are still limited
    /// to 4 GiB: growing past that fails as if the maximum were reached.
    pub fn wasm_memory64(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MEMORY64, enable)
    }

    /// Exception handling (on by default, as in current wasmtime; wasmtime 12
    /// had none): tags, `throw`, `throw_ref`,
    /// `try_table` and `exnref` (the final Wasm 3.0 form; the legacy
    /// `try`/`catch` instructions are [`Config::wasm_legacy_exceptions`]). It costs
    /// nothing on the normal path: only calls inside a `try_table` are compiled
    /// as Cranelift `try_call`s, and a throw unwinds the wasm frames to the
    /// innermost handler (see `tern-cranelift`'s `translate/exceptions.rs`).
    ///
    /// Exceptions are objects on the store's GC heap (whether or not
    /// [`Config::wasm_gc`] is on), bounded by the same limit: a `throw` that
    /// does not fit traps with `Trap::GcHeapOutOfMemory`; they are collected
    /// with the heap's other objects.
    pub fn wasm_exceptions(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::EXCEPTIONS, enable)
    }

    /// The legacy exception-handling instructions (`try`, `catch`,
    /// `catch_all`, `rethrow`, `delegate`), which toolchains emitted before
    /// the final `try_table` form (off by default, as in wasmtime, whose
    /// setter of this name exists for the spec tests only; here it is an
    /// ordinary setting). Requires [`Config::wasm_exceptions`]: a module
    /// using them is validated as written, then rewritten onto `try_table`,
    /// `throw_ref` and `exnref` locals before it is compiled (see
    /// `tern_environ::rewrite_legacy_exceptions`), so both forms share one
    /// mechanism; backtraces still name offsets in the original bytes.
    pub fn wasm_legacy_exceptions(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::LEGACY_EXCEPTIONS, enable)
    }

    /// Extended constant expressions (on by default).
    pub fn wasm_extended_const(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::EXTENDED_CONST, enable)
    }

    /// The component model (off by default, as in wasmtime 12): lets
    /// `component::Component` compile components. Also turns on `map` types and
    /// `(implements …)` names, which the current component-model text assumes.
    pub fn wasm_component_model(&mut self, enable: bool) -> &mut Self {
        self.feature(
            WasmFeatures::COMPONENT_MODEL | WasmFeatures::CM_MAP | WasmFeatures::CM_IMPLEMENTS,
            enable,
        )
    }

    /// Fixed-length lists (`list<T, N>`) in component types (off by default).
    pub fn wasm_component_model_fixed_length_lists(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::CM_FIXED_LENGTH_LISTS, enable)
    }

    /// Accepts the component-model async family (async lifts, streams,
    /// futures, waitable sets, threads, error contexts) at validation, so such
    /// components compile and instantiate; Tern does not run async code yet,
    /// so calling an async-lifted function or an async built-in traps with an
    /// error naming it. Off by default.
    pub fn wasm_component_model_async(&mut self, enable: bool) -> &mut Self {
        self.feature(CM_ASYNC_FEATURES, enable)
    }

    /// Wide arithmetic: `i64.add128`, `i64.sub128`, `i64.mul_wide_s` and
    /// `i64.mul_wide_u` (on by default).
    pub fn wasm_wide_arithmetic(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::WIDE_ARITHMETIC, enable)
    }

    /// Garbage collection (Wasm 3.0), on by default as in current wasmtime
    /// (wasmtime 12 had none). Struct and array types, recursion groups and
    /// subtyping (canonicalised engine-wide), `i31ref`, every
    /// `struct.*`/`array.*` instruction on a per-store GC heap, casts, and
    /// `any.convert_extern`/`extern.convert_any`. A copying collector frees
    /// unreachable objects when the heap is full (or on `Store::gc`); a heap
    /// whose live objects exceed the store's limits
    /// (`ResourceLimiter::memory_growing`, or 4 GiB) traps with
    /// `Trap::GcHeapOutOfMemory` (see `docs/design/gc.md`).
    pub fn wasm_gc(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::GC, enable)
    }

    /// Threads and shared memory. Not implemented yet: enabling it makes `Engine::new` fail.
    pub fn wasm_threads(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::THREADS, enable)
    }

    /// Replaces the whole feature set (used by the spec-test runner to pin a
    /// suite's WebAssembly version). A Tern extension.
    pub fn wasm_features(&mut self, features: WasmFeatures) -> &mut Self {
        self.features = features;
        self
    }

    /// The feature set this configuration asks for (a Tern extension).
    pub fn enabled_wasm_features(&self) -> WasmFeatures {
        self.features
    }

    /// Every WebAssembly feature Tern implements: any other makes
    /// `Engine::new` fail (a Tern extension, used by runners that pick a
    /// suite's features and must leave out what Tern cannot run).
    pub fn implemented_wasm_features() -> WasmFeatures {
        SUPPORTED_FEATURES
    }

    /// The WebAssembly 3.0 standard's feature set, whether Tern implements
    /// all of it or not (a Tern extension, for runners of the 3.0 suite).
    pub fn wasm3_features() -> WasmFeatures {
        WASM3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_wasm3_feature_is_on_by_default() {
        assert!(SUPPORTED_FEATURES.contains(DEFAULT_FEATURES));
        let missing = WASM3
            .intersection(SUPPORTED_FEATURES)
            .difference(DEFAULT_FEATURES);
        assert!(
            missing.is_empty(),
            "implemented but off by default: {missing:?}"
        );
        assert!(DEFAULT_FEATURES.contains(WasmFeatures::WIDE_ARITHMETIC));
        assert_eq!(Config::new().features, DEFAULT_FEATURES);
    }
}

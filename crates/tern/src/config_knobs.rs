//! wasmtime 12's `Config` knobs for the code generator, the precompiled
//! artifacts and memory initialisation: [`Strategy`], [`ModuleVersionStrategy`]
//! and the setters `strategy`, `debug_info`, `native_unwind_info`,
//! `generate_address_map`, `memory_init_cow`,
//! `memory_guaranteed_dense_image_size`, `module_version` and `target`.
//!
//! The ones that change what compiling produces (`generate_address_map`,
//! `memory_guaranteed_dense_image_size`, `module_version`, `target`) are in
//! the engine's fingerprint (`Engine::code_affecting_settings`), so artifacts
//! and compilation-cache entries made with another value are refused or
//! kept apart; `memory_init_cow` only decides how instantiation copies.
//!
//! They live apart from `config.rs` so that file keeps the feature toggles
//! and tunables. Each setter either changes what Tern does or, where Tern
//! cannot do what is asked, makes `Engine::new` (or the setter itself, when it
//! returns a `Result`) fail with an error naming the knob: none is accepted
//! and then ignored. [`Knobs::check`] is the one place `Engine::new` asks.

use crate::Config;
use anyhow::{bail, Result};

/// Which code generator compiles wasm (`Config::strategy`), as in wasmtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Let the engine choose: Cranelift (the default).
    #[default]
    Auto,
    /// Cranelift, Tern's only code generator.
    Cranelift,
    /// wasmtime's baseline compiler. Tern has none: `Engine::new` fails.
    Winch,
}

/// Which version string precompiled artifacts carry and must match
/// (`Config::module_version`), as in wasmtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ModuleVersionStrategy {
    /// Tern's Cargo package version (the default).
    #[default]
    WasmtimeVersion,
    /// A version string of the embedder's choice, at most 255 bytes.
    Custom(String),
    /// Write an empty version string and accept any version when loading.
    None,
}

/// The recorded choices (see each `Config` setter).
#[derive(Debug, Clone)]
pub(crate) struct Knobs {
    pub(crate) strategy: Strategy,
    pub(crate) debug_info: bool,
    pub(crate) native_unwind_info: bool,
    /// Whether compiled modules keep the map from code back to wasm offsets.
    pub(crate) generate_address_map: bool,
    /// Whether memories map their module's image instead of copying it.
    pub(crate) memory_init_cow: bool,
    /// Images spanning at most this many bytes are made however sparse.
    pub(crate) memory_guaranteed_dense_image_size: u64,
    pub(crate) module_version: ModuleVersionStrategy,
    /// The target triple code is compiled for (`None`: the host).
    pub(crate) target: Option<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            strategy: Strategy::Auto,
            debug_info: false,
            native_unwind_info: false,
            generate_address_map: true,
            memory_init_cow: true,
            memory_guaranteed_dense_image_size: 0,
            module_version: ModuleVersionStrategy::WasmtimeVersion,
            target: None,
        }
    }
}

impl Knobs {
    /// What `Engine::new` refuses among these choices.
    ///
    /// # Errors
    /// Fails, naming the knob, for `Strategy::Winch`, `debug_info(true)` and
    /// `native_unwind_info(true)`.
    pub(crate) fn check(&self) -> Result<()> {
        if self.strategy == Strategy::Winch {
            bail!("`Strategy::Winch` is not supported: Tern compiles with Cranelift only");
        }
        if self.debug_info {
            bail!("`Config::debug_info(true)` is not supported: Tern emits no DWARF debug info");
        }
        if self.native_unwind_info {
            bail!(
                "`Config::native_unwind_info(true)` is not supported: Tern emits no native \
                 unwind info (`.eh_frame`); its wasm frames keep frame pointers instead"
            );
        }
        Ok(())
    }

    /// The version string artifacts record, and that loading compares unless
    /// the strategy is `None`.
    pub(crate) fn version_string(&self) -> String {
        match &self.module_version {
            ModuleVersionStrategy::WasmtimeVersion => env!("CARGO_PKG_VERSION").to_string(),
            ModuleVersionStrategy::Custom(v) => v.clone(),
            ModuleVersionStrategy::None => String::new(),
        }
    }
}

impl Config {
    /// Which code generator to use (default [`Strategy::Auto`], which is
    /// Cranelift). `Strategy::Winch` makes `Engine::new` fail: Tern has no
    /// baseline compiler.
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.knobs.strategy = strategy;
        self
    }

    /// Whether to emit DWARF debug info for compiled code, for native
    /// debuggers. Tern emits none: `false` (the default) is how it always
    /// works, and `true` makes `Engine::new` fail.
    pub fn debug_info(&mut self, enable: bool) -> &mut Self {
        self.knobs.debug_info = enable;
        self
    }

    /// Whether compiled code carries native unwind info (`.eh_frame`)
    /// registered with the system unwinder. Tern emits none: wasm functions
    /// keep frame pointers, which is how Tern's own backtraces, GC stack
    /// scans and exception unwinding walk them (and what `perf` can follow),
    /// and a host panic never unwinds through wasm frames (it is carried back
    /// to the host call). So `false` is how Tern always works, and `true`
    /// makes `Engine::new` fail.
    ///
    /// # Change from wasmtime 12
    /// wasmtime 12 defaults to `true`; Tern's default is `false`, so code that
    /// never calls this method is unaffected.
    pub fn native_unwind_info(&mut self, enable: bool) -> &mut Self {
        self.knobs.native_unwind_info = enable;
        self
    }

    /// Whether compiled modules keep a map from machine code back to wasm
    /// byte offsets (default: on). Off, no map is stored in the module or its
    /// artifacts, and backtrace frames have no `module_offset` or
    /// `func_offset` (function indices and names remain). Artifacts record
    /// the setting: an engine with the other value refuses them.
    pub fn generate_address_map(&mut self, enable: bool) -> &mut Self {
        self.knobs.generate_address_map = enable;
        self
    }

    /// Whether a new linear memory gets its module's initial image by mapping
    /// it copy-on-write (default: on), so instantiation touches no page until
    /// the guest writes one. Off, the image's bytes are copied into every new
    /// memory instead. The contents are the same either way, and no instance
    /// ever sees another's writes.
    pub fn memory_init_cow(&mut self, enable: bool) -> &mut Self {
        self.knobs.memory_init_cow = enable;
        self
    }

    /// Up to which size a memory image is made however sparse the module's
    /// data segments are. Tern lays each defined memory's data segments out
    /// at compile time into one image spanning the first to the last non-zero
    /// page (`memory_init_cow`); by default it makes no image when that span
    /// exceeds twice the segments' bytes plus 1 MiB (segments far apart would
    /// make a mostly-zero image), and instantiation then copies the segments.
    /// An image spanning at most `size` bytes is made regardless. Default: 0,
    /// only the sparseness rule (wasmtime 12's default is 16 MiB, with its
    /// own rule).
    pub fn memory_guaranteed_dense_image_size(&mut self, size: u64) -> &mut Self {
        self.knobs.memory_guaranteed_dense_image_size = size;
        self
    }

    /// The version string precompiled artifacts carry: `Module::deserialize`
    /// refuses an artifact whose version differs from this engine's, with an
    /// error naming both. [`ModuleVersionStrategy::None`] writes an empty
    /// version and skips only this check (the artifact format, target, CPU
    /// features and code-affecting settings are still checked).
    ///
    /// # Errors
    /// Fails for a `Custom` version longer than 255 bytes.
    pub fn module_version(&mut self, strategy: ModuleVersionStrategy) -> Result<&mut Self> {
        if let ModuleVersionStrategy::Custom(v) = &strategy {
            if v.len() > 255 {
                bail!(
                    "custom module version is {} bytes long; at most 255 are allowed",
                    v.len()
                );
            }
        }
        self.knobs.module_version = strategy;
        Ok(self)
    }

    /// Compiles for the target `target` instead of the host: Tern generates
    /// code for x86-64 and AArch64 Linux (`x86_64-unknown-linux-gnu`,
    /// `aarch64-unknown-linux-gnu`). Code for an explicit target uses fixed
    /// CPU features, not those detected on the host: AArch64's baseline, and
    /// x86-64-v2 (SSE4.2, POPCNT) on x86-64, without which Cranelift would
    /// call libcalls Tern's code cannot reach. Operators whose fast forms need
    /// more (relaxed SIMD's fused multiply-add needs FMA on x86-64) fail to
    /// compile there, with an error.
    /// An engine for another architecture than the host's cannot run code:
    /// it makes artifacts with `Engine::precompile_module`, while
    /// `Module::new` and friends and `Module::deserialize` fail with an error
    /// naming both architectures; the target host loads the artifact with an
    /// engine configured with the same target. Components cannot be
    /// cross-compiled yet: `Engine::precompile_component` builds a runnable
    /// component first, so it fails the same way.
    ///
    /// # Errors
    /// Fails for a triple that does not parse or that Tern has no backend for.
    pub fn target(&mut self, target: &str) -> Result<&mut Self> {
        self.knobs.target = Some(tern_cranelift::check_target(target)?);
        Ok(self)
    }
}

//! Engine options shared by the commands that load modules, spelled as in
//! wasmtime's CLI: `-C cache=y|n` (the compilation cache, on by default),
//! `-C cache-config=FILE` (`Config::cache_config_load`),
//! `--profile=perfmap|jitdump` and the `-W` feature flags
//! (`crate::wasm_options`), for modules and components alike: a component's
//! engine is the module's with the component model turned on (`Config::new()`
//! already enables what today's toolchains put in components: multi-memory,
//! extended-const, …).
//!
//! The cache lives in `$TERN_CACHE_DIR`, else `$XDG_CACHE_HOME/tern`, else
//! `$HOME/.cache/tern` (`Config::cache_config_load_default`); when none of them
//! names a directory, `tern run` runs without a cache rather than failing. The
//! cache is kept within wasmtime's default limits (65,536 entries, 512 MiB,
//! checked at most hourly) or those of the `-C cache-config` file, by the
//! library's cleaner (`tern::Config::cache_config_load`).

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use tern::{Config, Engine, ProfilingStrategy};

/// `-C`, `-W` and `--profile`, flattened into a command's arguments.
#[derive(Args)]
pub struct EngineOptions {
    #[command(flatten)]
    wasm: crate::wasm_options::WasmOptions,
    /// Code-generation option: `cache=y|n` turns the compilation cache on (the
    /// default) or off (`cache` alone means `cache=y`); `cache-config=FILE`
    /// reads its settings from a wasmtime-style TOML file.
    #[arg(short = 'C', value_name = "OPT[=VALUE]")]
    codegen: Vec<String>,
    /// Describe the generated code to a profiler: `perfmap` writes
    /// `/tmp/perf-<pid>.map` for `perf`; `jitdump` writes `jit-<pid>.dump` in
    /// the current directory for `perf inject --jit`.
    #[arg(long, value_name = "STRATEGY")]
    profile: Option<Profile>,
}

/// The values of `--profile`.
#[derive(Clone, Copy, ValueEnum)]
enum Profile {
    /// `/tmp/perf-<pid>.map`, read by Linux `perf`.
    Perfmap,
    /// `jit-<pid>.dump`, perf's jitdump format (`perf record -k mono`, then
    /// `perf inject --jit`).
    Jitdump,
}

impl EngineOptions {
    /// The engine these options ask for.
    ///
    /// # Errors
    /// Fails on an unknown `-C` or `-W` option or a bad value, and when
    /// `Engine::new` refuses the configuration (an unimplemented profiler or
    /// WebAssembly feature).
    pub fn engine(&self) -> Result<Engine> {
        Engine::new(&self.config(false)?)
    }

    /// The engine these options ask for, to compile and run components: the
    /// same as [`EngineOptions::engine`] with the component model turned on
    /// first (so `-W component-model=n` still turns it off).
    ///
    /// # Errors
    /// As [`EngineOptions::engine`].
    pub fn component_engine(&self) -> Result<Engine> {
        Engine::new(&self.config(true)?)
    }

    /// The configuration of the engine, with the component model on for
    /// `component`.
    fn config(&self, component: bool) -> Result<Config> {
        let mut config = Config::new();
        config.wasm_component_model(component);
        self.wasm.apply(&mut config)?;
        let mut cache = true;
        let mut cache_config = None;
        for option in &self.codegen {
            let (name, value) = option.split_once('=').unwrap_or((option, "y"));
            match name {
                "cache" => cache = parse_bool(name, value)?,
                "cache-config" => cache_config = Some(value),
                _ => bail!(
                    "unknown `-C` option `{name}` (Tern knows `cache=y|n` and `cache-config=FILE`)"
                ),
            }
        }
        match (cache, cache_config) {
            (false, _) => {}
            (true, Some(file)) => {
                config.cache_config_load(file)?;
            }
            (true, None) => {
                if config.cache_config_load_default().is_err() {
                    // No directory to cache in: run without one.
                    config.disable_cache();
                }
            }
        }
        config.profiler(match self.profile {
            None => ProfilingStrategy::None,
            Some(Profile::Perfmap) => ProfilingStrategy::PerfMap,
            Some(Profile::Jitdump) => ProfilingStrategy::JitDump,
        });
        Ok(config)
    }
}

/// A boolean `-C` value, spelled as wasmtime accepts it.
fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value {
        "y" | "yes" | "true" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => bail!("`-C {name}={value}`: expected `y` or `n`"),
    }
}

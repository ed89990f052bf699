//! `tern compile IN -o OUT.cwasm`: compile a module or a component ahead of
//! time into a precompiled artifact; and the loader `tern run` uses to accept such an
//! artifact only when `--allow-precompiled` says so.
//!
//! Both commands build their engine from the same options (`-C`, `-W`,
//! `--profile`; for a component, the same engine with the component model
//! on), so an artifact from `tern compile` matches `tern run` of the
//! same Tern given the same `-W` flags; with other flags, `tern run` refuses
//! it, naming the setting that differs.
//! An artifact is machine code that runs without checks, which is why running
//! one must be asked for explicitly, as with wasmtime.

use crate::input::Kind;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tern::{Engine, Module};

/// Arguments of `tern compile`.
#[derive(Args)]
pub struct CompileCommand {
    /// The module to compile (`.wasm` or `.wat`).
    file: PathBuf,
    /// Where to write the artifact (default: the input's name with `.cwasm`).
    #[arg(short, long, value_name = "OUT.cwasm")]
    output: Option<PathBuf>,
    /// `-C cache=y|n`, `-C cache-config=FILE`, `-W NAME=y|n` and `--profile`.
    #[command(flatten)]
    engine: crate::engine_options::EngineOptions,
}

impl CompileCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let engine = self.engine.engine()?;
        let input = std::fs::read(&self.file)
            .with_context(|| format!("failed to read `{}`", self.file.display()))?;
        let kind = crate::input::classify_bytes(&engine, &input, &self.file)?;
        if kind.is_artifact() {
            bail!(
                "`{}` is already a precompiled artifact",
                self.file.display()
            );
        }
        let artifact = if kind.is_component() {
            self.engine.component_engine()?.precompile_component(&input)
        } else {
            engine.precompile_module(&input)
        };
        let artifact =
            artifact.with_context(|| format!("failed to compile `{}`", self.file.display()))?;
        let output = self
            .output
            .unwrap_or_else(|| self.file.with_extension("cwasm"));
        std::fs::write(&output, artifact)
            .with_context(|| format!("failed to write `{}`", output.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Loads the module `tern run` was given (of `kind`, from
/// [`crate::input::classify`]): wasm or WAT is compiled; a precompiled
/// artifact is mapped, but only with `allow_precompiled`.
///
/// # Errors
/// Fails when the file cannot be read, does not hold a valid module, is an
/// artifact while `allow_precompiled` is off, or is an artifact this Tern
/// cannot load (the message names the mismatch).
pub fn load_module(
    engine: &Engine,
    path: &Path,
    kind: Kind,
    allow_precompiled: bool,
) -> Result<Module> {
    if !kind.is_artifact() {
        return Module::from_file(engine, path);
    }
    if !allow_precompiled {
        bail!(
            "`{}` is a precompiled artifact: running it runs its machine code unchecked; \
             pass `--allow-precompiled` if you trust where it came from",
            path.display()
        );
    }
    // SAFETY: the user vouched for the file with `--allow-precompiled`, and
    // `tern` does not modify it while the module lives.
    unsafe { Module::deserialize_file(engine, path) }
}

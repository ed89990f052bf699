//! `tern wast`: run `.wast` scripts through the spec runner, as the spec's own
//! runner does: each script with the WebAssembly features its path names
//! (`wasm-v1/`, `wasm-v2/`, `wasm-v3/`, `proposals/NAME/`; see
//! `tern_wast::features`), less those Tern does not implement yet (a note
//! names them), then the `-W` flags on top. A script whose path names no
//! suite runs with `Config::new()`'s features and the `-W` flags.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tern::Config;
use tern_wast::features::{features_for_path, runnable};
use tern_wast::WastContext;

/// Arguments of `tern wast`.
#[derive(Args)]
pub struct WastCommand {
    /// `-W NAME=y|n`: features on top of those the path chooses.
    #[command(flatten)]
    wasm: crate::wasm_options::WasmOptions,
    /// The scripts to run.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl WastCommand {
    /// The configuration `file` runs with.
    fn config(&self, file: &std::path::Path) -> Result<Config> {
        let mut config = Config::new();
        if let Some(features) = features_for_path(&file.to_string_lossy()) {
            let (run, missing) = runnable(features);
            if !missing.is_empty() {
                let names: Vec<&str> = missing.iter_names().map(|(n, _)| n).collect();
                eprintln!(
                    "note: {}: Tern does not implement {} yet; running without",
                    file.display(),
                    names.join(", ")
                );
            }
            config.wasm_features(run);
        }
        self.wasm.apply(&mut config)?;
        Ok(config)
    }

    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let (mut passed, mut failed) = (0, 0);
        for file in &self.files {
            let config = self.config(file)?;
            let mut ctx = WastContext::new(&config)?;
            let summary = match ctx.run_file(file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{}: {e:#}", file.display());
                    failed += 1;
                    continue;
                }
            };
            for f in &summary.failures {
                eprintln!("FAIL {}: {}", f.location, f.message);
            }
            passed += summary.passed;
            failed += summary.failed();
        }
        println!("{passed} passed, {failed} failed");
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

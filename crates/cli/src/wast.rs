//! `tern wast`: run `.wast` scripts through the spec runner.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tern::Config;
use tern_wast::WastContext;

/// Arguments of `tern wast`.
#[derive(Args)]
pub struct WastCommand {
    /// The scripts to run.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl WastCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let config = Config::new();
        let (mut passed, mut failed) = (0, 0);
        for file in &self.files {
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

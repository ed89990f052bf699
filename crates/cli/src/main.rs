//! The `tern` command line: run a module's function or `_start`, and run `.wast`
//! scripts.
//!
//! Each subcommand lives in its own module; this file only parses arguments and
//! maps errors to exit codes.

mod run;
mod wast;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Tern, a WebAssembly runtime.
#[derive(Parser)]
#[command(name = "tern", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a WebAssembly module (`.wasm` or `.wat`).
    Run(run::RunCommand),
    /// Runs `.wast` scripts and prints `N passed, M failed`.
    Wast(wast::WastCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(cmd) => cmd.execute(),
        Command::Wast(cmd) => cmd.execute(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

//! The `tern` command line: run a module's function or `_start`, compile a
//! module ahead of time, and run `.wast` scripts.
//!
//! Each subcommand lives in its own module; this file only parses arguments and
//! maps errors to exit codes.

mod backtrace;
mod compile;
mod component;
mod engine_options;
mod input;
mod run;
mod wasi_options;
mod wasm_options;
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
    /// Runs a WebAssembly module (`.wasm`, `.wat`, or with `--allow-precompiled` a `.cwasm`).
    Run(run::RunCommand),
    /// Compiles a module ahead of time into a precompiled artifact (`.cwasm`).
    Compile(compile::CompileCommand),
    /// Runs `.wast` scripts and prints `N passed, M failed`.
    Wast(wast::WastCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(cmd) => cmd.execute(),
        Command::Compile(cmd) => cmd.execute(),
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

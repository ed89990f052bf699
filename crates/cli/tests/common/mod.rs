//! Helpers shared by the CLI test binaries: running the built `tern`, scratch
//! files, and reading its output.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `tern` binary built for these tests with `args`, without Rust backtraces.
pub fn tern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("tern runs")
}

/// Runs `tern` as [`tern`] does, with its compilation cache in `cache`.
pub fn tern_with_cache(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env("TERN_CACHE_DIR", cache)
        .output()
        .expect("tern runs")
}

/// A file `name` in a scratch directory of the test named `test`.
pub fn scratch(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Output bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

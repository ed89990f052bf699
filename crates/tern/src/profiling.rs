//! Telling native profilers where wasm functions are: [`ProfilingStrategy`] and
//! the perf map writer.
//!
//! With [`ProfilingStrategy::PerfMap`], every module that becomes executable —
//! compiled, loaded from an artifact or from the compilation cache — appends one
//! line per function and trampoline to `/tmp/perf-<pid>.map`, in the format
//! Linux `perf` reads for just-in-time code: `START SIZE NAME`, the first two in
//! hexadecimal. `perf record` then `perf report` show wasm function names
//! instead of bare addresses. Lines are never removed: a dropped module's
//! addresses may be reused by a later one, whose lines come after (perf takes
//! the last matching entry). The file is shared by every engine of the process.

use crate::vm::code_memory::CodeInfo;
use crate::Config;
use anyhow::{bail, Context as _, Result};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

/// Which profiler to describe the generated code for (wasmtime's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProfilingStrategy {
    /// No profiler (the default).
    #[default]
    None,
    /// Write `/tmp/perf-<pid>.map` for Linux `perf`.
    PerfMap,
    /// The jitdump format of `perf inject --jit` (not implemented by Tern
    /// yet: `Engine::new` refuses it).
    JitDump,
    /// Intel VTune's JIT API (not implemented by Tern: `Engine::new` refuses it).
    VTune,
}

impl Config {
    /// Chooses a profiler to describe compiled code to (default:
    /// [`ProfilingStrategy::None`]). Only `PerfMap` is implemented; with
    /// another, `Engine::new` fails.
    pub fn profiler(&mut self, profile: ProfilingStrategy) -> &mut Self {
        self.profiler = profile;
        self
    }
}

/// The open perf map of this process, once a `PerfMap` engine exists.
static PERF_MAP: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Checks `strategy` when an engine is created, opening the perf map for
/// `PerfMap` so that a failure to create it is reported then.
///
/// # Errors
/// Fails for the strategies Tern does not implement, or when the perf map
/// cannot be created.
pub(crate) fn start(strategy: ProfilingStrategy) -> Result<()> {
    match strategy {
        ProfilingStrategy::None => Ok(()),
        ProfilingStrategy::PerfMap => {
            let mut map = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
            if map.is_none() {
                let path = perf_map_path();
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("failed to open the perf map `{path}`"))?;
                *map = Some(file);
            }
            Ok(())
        }
        ProfilingStrategy::JitDump => {
            bail!("ProfilingStrategy::JitDump is not implemented by Tern yet; use PerfMap")
        }
        ProfilingStrategy::VTune => {
            bail!("ProfilingStrategy::VTune is not implemented by Tern; use PerfMap")
        }
    }
}

/// The perf map of this process: `/tmp/perf-<pid>.map`, where perf looks.
pub fn perf_map_path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

/// Appends the functions and trampolines of a module whose code starts at
/// `base` to the perf map (a no-op unless a `PerfMap` engine opened it).
/// Write errors are ignored: profiling must not make loading a module fail.
pub(crate) fn record_module(
    base: usize,
    info: &CodeInfo,
    trampolines: &crate::module::Trampolines,
) {
    let mut lines = String::new();
    let module = info.module_name.as_deref().unwrap_or("<module>");
    for &(start, len, index) in &info.funcs {
        let address = base + start as usize;
        let _ = match info.func_name(index) {
            Some(name) => writeln!(lines, "{address:x} {len:x} {module}::{name}"),
            None => writeln!(lines, "{address:x} {len:x} {module}::function[{index}]"),
        };
    }
    for (kind, list) in [
        ("array_to_wasm", &trampolines.array),
        ("wasm_to_host", &trampolines.host),
    ] {
        for (type_index, loc) in list {
            let address = base + loc.start as usize;
            let _ = writeln!(
                lines,
                "{address:x} {:x} {module}::{kind}_trampoline[type {type_index}]",
                loc.len
            );
        }
    }
    let mut map = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(file) = map.as_mut() {
        // One `write_all` per module under the lock keeps modules' lines whole.
        let _ = file.write_all(lines.as_bytes());
    }
}

//! Telling native profilers where wasm functions are: [`ProfilingStrategy`],
//! the perf map writer, and the jitdump writer (`profiling/jitdump.rs`).
//!
//! With [`ProfilingStrategy::PerfMap`], every module that becomes executable —
//! compiled, loaded from an artifact or from the compilation cache — appends one
//! line per function and trampoline to `/tmp/perf-<pid>.map`, in the format
//! Linux `perf` reads for just-in-time code: `START SIZE NAME`, the first two in
//! hexadecimal. `perf record` then `perf report` show wasm function names
//! instead of bare addresses. Lines are never removed: a dropped module's
//! addresses may be reused by a later one, whose lines come after (perf takes
//! the last matching entry). The file is shared by every engine of the process.
//!
//! With [`ProfilingStrategy::JitDump`], the same functions and trampolines go
//! to `jit-<pid>.dump` as `JIT_CODE_LOAD` records carrying their code, for
//! `perf record -k mono` followed by `perf inject --jit`.

mod jitdump;

pub use jitdump::jitdump_path;

use crate::vm::code_memory::{CodeInfo, CodeMemory};
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
    /// Write `jit-<pid>.dump` (in the current directory) for
    /// `perf inject --jit`.
    JitDump,
    /// Intel VTune's JIT API (not implemented by Tern: `Engine::new` refuses it).
    VTune,
}

impl Config {
    /// Chooses a profiler to describe compiled code to (default:
    /// [`ProfilingStrategy::None`]). `PerfMap` and `JitDump` are implemented;
    /// with `VTune`, `Engine::new` fails.
    pub fn profiler(&mut self, profile: ProfilingStrategy) -> &mut Self {
        self.profiler = profile;
        self
    }
}

/// The open perf map of this process, once a `PerfMap` engine exists.
static PERF_MAP: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Checks `strategy` when an engine is created, opening the perf map for
/// `PerfMap` or the jitdump file for `JitDump`, so that a failure to create
/// it is reported then.
///
/// # Errors
/// Fails for `VTune`, which Tern does not implement, or when the file cannot
/// be created (or, for jitdump, mapped).
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
        ProfilingStrategy::JitDump => jitdump::start(),
        ProfilingStrategy::VTune => {
            bail!("ProfilingStrategy::VTune is not implemented by Tern; use PerfMap or JitDump")
        }
    }
}

/// The perf map of this process: `/tmp/perf-<pid>.map`, where perf looks.
pub fn perf_map_path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

/// Describes the functions and trampolines of a module's `code` to the
/// profilers that were started: the perf map and the jitdump file (each a
/// no-op unless an engine of that strategy opened it). Write errors are
/// ignored: profiling must not make loading a module fail.
pub(crate) fn record_module(
    code: &CodeMemory,
    info: &CodeInfo,
    trampolines: &crate::module::Trampolines,
) {
    let module = info.module_name.as_deref().unwrap_or("<module>");
    // (offset in the text, length, name)
    let mut functions: Vec<(u32, u32, String)> = Vec::new();
    for &(start, len, index) in &info.funcs {
        let name = match info.func_name(index) {
            Some(name) => format!("{module}::{name}"),
            None => format!("{module}::function[{index}]"),
        };
        functions.push((start, len, name));
    }
    for (kind, list) in [
        ("array_to_wasm", &trampolines.array),
        ("wasm_to_host", &trampolines.host),
    ] {
        for (type_index, loc) in list {
            let name = format!("{module}::{kind}_trampoline[type {type_index}]");
            functions.push((loc.start, loc.len, name));
        }
    }
    let base = code.base();
    let mut lines = String::new();
    for (start, len, name) in &functions {
        let _ = writeln!(lines, "{:x} {len:x} {name}", base + *start as usize);
    }
    {
        let mut map = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = map.as_mut() {
            // One `write_all` per module under the lock keeps modules' lines whole.
            let _ = file.write_all(lines.as_bytes());
        }
    }
    let text = code.code();
    let loads: Vec<(usize, &[u8], String)> = functions
        .into_iter()
        .filter_map(|(start, len, name)| {
            let bytes = text.get(start as usize..start as usize + len as usize)?;
            // A NUL would end the name early in the jitdump record.
            Some((base + start as usize, bytes, name.replace('\0', "?")))
        })
        .collect();
    jitdump::record(&loads);
}

//! The jitdump file of `ProfilingStrategy::JitDump`: `jit-<pid>.dump` in the
//! current directory, in the format of the Linux kernel's
//! `tools/perf/Documentation/jitdump-specification.txt`, which
//! `perf inject --jit` turns into one ELF file per function, so that
//! `perf report` shows wasm function names and can annotate their code.
//!
//! Layout, in host byte order: a 40-byte file header (magic `JiTD`, version 1,
//! header size, ELF machine, padding, pid, timestamp, flags), then records,
//! each a 16-byte header (id, total size, timestamp) and a body. Tern writes
//! only `JIT_CODE_LOAD` records (id 0): pid, tid, the code's address (twice:
//! `vma` and `code_addr`), its size, an index unique in the file, the
//! NUL-terminated name, then the code bytes. Timestamps are `CLOCK_MONOTONIC`
//! nanoseconds, the clock of `perf record -k mono`. Records are never removed;
//! the file is shared by every engine of the process, like the perf map.

use crate::vm::jitdump_map::{thread_id, ExecMarker};
use anyhow::{Context as _, Result};
use std::io::Write as _;
use std::sync::Mutex;

/// `JiTD`, written in host order (a reader seeing `DTiJ` swaps bytes).
pub(crate) const MAGIC: u32 = 0x4A69_5444;
/// The format version.
const VERSION: u32 = 1;
/// The size of the file header.
const HEADER_SIZE: u32 = 40;
/// Record id of `JIT_CODE_LOAD`.
pub(crate) const JIT_CODE_LOAD: u32 = 0;

/// The ELF `e_machine` of the host (`EM_X86_64`, `EM_AARCH64`, …).
const ELF_MACHINE: u32 = if cfg!(target_arch = "x86_64") {
    62
} else if cfg!(target_arch = "aarch64") {
    183
} else if cfg!(target_arch = "riscv64") {
    243
} else if cfg!(target_arch = "s390x") {
    22
} else {
    0
};

/// The open jitdump file of this process.
struct JitDump {
    file: std::fs::File,
    /// Keeps perf's executable mapping of the file alive.
    _marker: ExecMarker,
    /// The next `code_index`.
    next_index: u64,
}

static JIT_DUMP: Mutex<Option<JitDump>> = Mutex::new(None);

/// The jitdump file of this process: `jit-<pid>.dump` in the current
/// directory (where `perf inject --jit` finds it through perf's records).
pub fn jitdump_path() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("jit-{}.dump", std::process::id()))
}

/// `CLOCK_MONOTONIC` in nanoseconds.
fn timestamp() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

/// Creates the file, writes its header and maps it for perf, once per process.
///
/// # Errors
/// Fails when the file cannot be created or mapped.
pub(crate) fn start() -> Result<()> {
    let mut dump = JIT_DUMP.lock().unwrap_or_else(|e| e.into_inner());
    if dump.is_some() {
        return Ok(());
    }
    let path = jitdump_path();
    let what = || format!("failed to create the jitdump file `{}`", path.display());
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(what)?;
    let mut header = Vec::with_capacity(HEADER_SIZE as usize);
    for word in [
        MAGIC,
        VERSION,
        HEADER_SIZE,
        ELF_MACHINE,
        0,
        std::process::id(),
    ] {
        header.extend_from_slice(&word.to_ne_bytes());
    }
    header.extend_from_slice(&timestamp().to_ne_bytes());
    header.extend_from_slice(&0u64.to_ne_bytes()); // flags
    file.write_all(&header).with_context(what)?;
    let marker = ExecMarker::map(&file)?;
    *dump = Some(JitDump {
        file,
        _marker: marker,
        next_index: 0,
    });
    Ok(())
}

/// Appends one `JIT_CODE_LOAD` record per `(address, code, name)` (a no-op
/// unless a `JitDump` engine started the file). Write errors are ignored:
/// profiling must not make loading a module fail.
pub(crate) fn record(functions: &[(usize, &[u8], String)]) {
    let mut dump = JIT_DUMP.lock().unwrap_or_else(|e| e.into_inner());
    let Some(dump) = dump.as_mut() else {
        return;
    };
    let (pid, tid, now) = (std::process::id(), thread_id(), timestamp());
    let mut bytes = Vec::new();
    for (address, code, name) in functions {
        let size = 16 + 4 + 4 + 8 * 4 + name.len() + 1 + code.len();
        bytes.extend_from_slice(&JIT_CODE_LOAD.to_ne_bytes());
        bytes.extend_from_slice(&(size as u32).to_ne_bytes());
        bytes.extend_from_slice(&now.to_ne_bytes());
        bytes.extend_from_slice(&pid.to_ne_bytes());
        bytes.extend_from_slice(&tid.to_ne_bytes());
        for word in [
            *address as u64,
            *address as u64,
            code.len() as u64,
            dump.next_index,
        ] {
            bytes.extend_from_slice(&word.to_ne_bytes());
        }
        dump.next_index += 1;
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(code);
    }
    // One `write_all` per module under the lock keeps records whole.
    let _ = dump.file.write_all(&bytes);
}

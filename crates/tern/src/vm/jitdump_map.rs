//! What writing a jitdump file (`profiling/jitdump.rs`) needs from the OS
//! that takes `unsafe`: mapping the file executable once, and the calling
//! thread's id.
//!
//! `perf record` does not read the jitdump file; it records the process's
//! `mmap` events, and `perf inject --jit` finds the file through the one
//! executable mapping of a file named `jit-<pid>.dump` (the jitdump
//! specification's "marker"). So the file is mapped read-execute, privately,
//! once, and the mapping lives as long as the process's jitdump file. Nothing
//! ever reads or runs the mapped bytes.

use anyhow::{bail, Result};
use std::os::fd::AsRawFd;

/// The executable mapping of a jitdump file that `perf record` sees.
#[derive(Debug)]
pub struct ExecMarker {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is never read or written through `ptr`; the pointer is
// only handed back to `munmap`, which any thread may call.
unsafe impl Send for ExecMarker {}
// SAFETY: as for `Send`: shared references give no access to the memory.
unsafe impl Sync for ExecMarker {}

impl ExecMarker {
    /// Maps the first page of `file` private and read-execute.
    ///
    /// # Errors
    /// Fails when the OS refuses the mapping (e.g. a `noexec` mount).
    pub fn map(file: &std::fs::File) -> Result<Self> {
        let len = super::mmap::page_size();
        // SAFETY: a fresh mapping at an address the OS chooses, so no existing
        // memory is replaced; `file` is an open descriptor for the duration of
        // the call and the mapping keeps its own reference afterwards. The
        // mapping is private, so later writes to the file do not have to be
        // coherent with it, and nothing reads it (see the module note).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            bail!(
                "failed to map the jitdump file executable (perf's marker): {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(Self { ptr, len })
    }
}

impl Drop for ExecMarker {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping `map` created, which
        // nothing borrows (no reference into it was ever made).
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// The calling thread's id, as the kernel (and perf) numbers threads.
pub fn thread_id() -> u32 {
    // SAFETY: `gettid` has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    tid as u32
}

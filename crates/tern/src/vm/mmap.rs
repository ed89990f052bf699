//! A page-aligned anonymous mapping that starts inaccessible and is opened up
//! piece by piece: the building block of linear memories and code memory.
//!
//! [`Mmap::map_file`] is the other kind: a private read-only mapping of a whole
//! precompiled artifact, whose text range is then turned read-execute in place.

use anyhow::{bail, Result};
use std::ptr::NonNull;

/// An owned `mmap` region, unmapped on drop.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
    /// Bytes from the start that are readable and writable.
    accessible: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving the owner to
// another thread moves nothing but the address.
unsafe impl Send for Mmap {}
// SAFETY: shared access only reads the address and length.
unsafe impl Sync for Mmap {}

/// The host page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

impl Mmap {
    /// Reserves `len` bytes (rounded up to pages) of inaccessible address space.
    ///
    /// # Errors
    /// Fails when the OS has no address space for it.
    pub fn reserve(len: usize) -> Result<Self> {
        let len = round_up(len.max(1), page_size());
        // SAFETY: an anonymous private mapping with no address hint touches no
        // existing memory.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            bail!(
                "failed to reserve {len} bytes of address space: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(Self {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null"),
            len,
            accessible: 0,
        })
    }

    /// Makes `[0, end)` readable and writable, where `end` grows monotonically.
    ///
    /// # Errors
    /// Fails if `end` exceeds the reservation or the OS refuses.
    pub fn make_accessible(&mut self, start: usize, len: usize) -> Result<()> {
        let end = start.checked_add(len).filter(|e| *e <= self.len);
        let Some(end) = end else {
            bail!("mapping range out of bounds")
        };
        let page = page_size();
        let from = start / page * page;
        let to = round_up(end, page);
        if to > from {
            // SAFETY: [from, to) lies inside this reservation, which we own.
            let r = unsafe {
                libc::mprotect(
                    self.ptr.as_ptr().add(from).cast(),
                    to - from,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if r != 0 {
                bail!("mprotect failed: {}", std::io::Error::last_os_error());
            }
        }
        self.accessible = self.accessible.max(end);
        Ok(())
    }

    /// Turns the accessible part into read-execute code.
    ///
    /// # Errors
    /// Fails if the OS refuses.
    pub fn make_executable(&mut self) -> Result<()> {
        let len = round_up(self.accessible.max(1), page_size()).min(self.len);
        // SAFETY: [0, len) lies inside this reservation, which we own.
        let r = unsafe {
            libc::mprotect(
                self.ptr.as_ptr().cast(),
                len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if r != 0 {
            bail!("mprotect failed: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Maps the whole of `file` privately and read-only; [`Mmap::as_slice`] then
    /// covers the file's bytes.
    ///
    /// Sound only while nobody truncates or rewrites the file as long as the
    /// mapping lives (a truncated file turns reads into `SIGBUS`, a rewritten
    /// one changes the bytes under shared borrows). The only caller is
    /// `Module::deserialize_file`, whose `# Safety` section makes the embedder
    /// promise exactly that.
    ///
    /// # Errors
    /// Fails for an empty file, or when the OS refuses the mapping.
    pub fn map_file(file: &std::fs::File) -> Result<Self> {
        use std::os::fd::AsRawFd;
        let len = file.metadata()?.len();
        let Ok(len) = usize::try_from(len) else {
            bail!("file of {len} bytes is too large to map")
        };
        if len == 0 {
            bail!("the file is empty");
        }
        // SAFETY: a new private read-only mapping with no address hint touches
        // no existing memory; `file` is an open descriptor for the whole call.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            bail!(
                "failed to map {len} bytes of the file: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(Self {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null"),
            len,
            accessible: len,
        })
    }

    /// Makes `[start, start + len)` read-execute; `start` must be page-aligned
    /// and the range (rounded up to whole pages) inside the mapping.
    ///
    /// # Errors
    /// Fails on a misaligned or out-of-bounds range, or when the OS refuses
    /// (for example for a file on a `noexec` mount).
    pub fn make_range_executable(&mut self, start: usize, len: usize) -> Result<()> {
        let page = page_size();
        let end = start.checked_add(len.max(1)).map(|e| round_up(e, page));
        let Some(end) =
            end.filter(|e| start.is_multiple_of(page) && *e <= round_up(self.len, page))
        else {
            bail!("code range {start:#x}+{len:#x} is not page-aligned inside the mapping");
        };
        // SAFETY: [start, end) lies inside this mapping, which we own.
        let r = unsafe {
            libc::mprotect(
                self.ptr.as_ptr().add(start).cast(),
                end - start,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if r != 0 {
            bail!("mprotect failed: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The readable prefix: everything made accessible so far, or the file's
    /// bytes for a file mapping.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: [0, accessible) is mapped readable (read-write, read-only or
        // read-execute) and owned by self; nothing writes through a shared borrow.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.accessible) }
    }

    /// Size of the whole reservation in bytes.
    pub fn reservation(&self) -> usize {
        self.len
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The accessible prefix, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: [0, accessible) is mapped read-write and owned by self; the
        // exclusive borrow of self excludes other access through this value.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.accessible) }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: we own exactly this mapping and nothing refers to it any more.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

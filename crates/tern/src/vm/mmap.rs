//! Owned `mmap` regions whose *type* says what their pages allow, so a slice
//! is only ever handed out for memory that really has that protection.
//!
//! * [`Mmap`]: an anonymous reservation that starts inaccessible and is opened
//!   up read-write piece by piece: the building block of linear memories, and
//!   the staging area for code. Only it hands out `&mut [u8]`.
//! * [`ReadOnlyMmap`]: a mapping with no writable page: code after
//!   [`Mmap::make_executable`] (which consumes the writable `Mmap`, so no
//!   mutable slice can outlive the switch), or a precompiled artifact file
//!   mapped by [`ReadOnlyMmap::map_file`] whose text range is then made
//!   read-execute in place. It hands out `&[u8]` only.
//! * [`Batch`]: one reservation cut into equal slots, each an [`Mmap`] of its
//!   own, unmapped together (a store's many memories or vmctxs, `arena`).

use anyhow::{bail, Result};
use std::ptr::NonNull;
use std::sync::Arc;

/// The address range of one mapping, unmapped on drop; or of one slot of a
/// [`Batch`], which keeps the whole batch mapped instead (it is unmapped when
/// its last slot and the batch itself are gone). The kernel maps whole pages,
/// so `[ptr, round_up(len, page))` is all ours.
#[derive(Debug)]
struct Region {
    ptr: NonNull<u8>,
    len: usize,
    /// The batch mapping this region is a slot of, if any.
    parent: Option<Arc<Region>>,
}

// SAFETY: the mapping is plain memory owned by this value; moving the owner to
// another thread moves nothing but the address.
unsafe impl Send for Region {}
// SAFETY: `Region` itself only exposes its address and length; the types that
// wrap it decide (by their protection) what access they hand out.
unsafe impl Sync for Region {}

impl Drop for Region {
    fn drop(&mut self) {
        if self.parent.is_some() {
            // A slot: the batch's own region unmaps it, with the others.
            return;
        }
        // SAFETY: we own exactly this mapping, and every borrow handed out by the
        // wrapping type has ended (they borrow the wrapper).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

impl Region {
    /// Maps `len` bytes with `prot`, anonymous or from `fd`.
    fn map(len: usize, prot: libc::c_int, flags: libc::c_int, fd: libc::c_int) -> Result<Self> {
        // SAFETY: a new mapping with no address hint (no MAP_FIXED) touches no
        // existing memory; `fd` is -1 or an open descriptor owned by the caller.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, 0) };
        if ptr == libc::MAP_FAILED {
            bail!(
                "failed to map {len} bytes: {}",
                std::io::Error::last_os_error()
            );
        }
        let Some(ptr) = NonNull::new(ptr.cast()) else {
            bail!("mmap returned a null mapping");
        };
        Ok(Self {
            ptr,
            len,
            parent: None,
        })
    }

    /// Sets the protection of `[from, to)`, which must be page-aligned and lie
    /// inside the region (checked).
    fn protect(&self, from: usize, to: usize, prot: libc::c_int) -> Result<()> {
        let page = page_size();
        if !(from.is_multiple_of(page)
            && to.is_multiple_of(page)
            && from <= to
            && to <= round_up(self.len, page))
        {
            bail!("protection range {from:#x}..{to:#x} is not page-aligned inside the mapping");
        }
        if from == to {
            return Ok(());
        }
        // SAFETY: [from, to) is page-aligned and lies inside this region, which
        // we own; the callers hold `&mut` of the wrapper (or consume it), so no
        // slice into the pages changes protection under a live borrow except to
        // add rights.
        let r = unsafe { libc::mprotect(self.ptr.as_ptr().add(from).cast(), to - from, prot) };
        if r != 0 {
            bail!("mprotect failed: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// An anonymous reservation whose prefix `[0, accessible)` is read-write and
/// the rest inaccessible. Never executable.
#[derive(Debug)]
pub struct Mmap {
    region: Region,
    /// Bytes from the start that are readable and writable.
    accessible: usize,
}

/// One anonymous mapping cut into equal, page-aligned slots, handed out one by
/// one as [`Mmap`]s that behave like mappings of their own (protection
/// changes, discards and file mappings stay inside the slot) but keep the
/// batch mapped: it is unmapped, all slots at once, in one system call, when
/// the batch and every slot are dropped. Reserving many memories or vmctxs
/// this way costs one `mmap` and one `munmap` per batch instead of per slot.
#[derive(Debug)]
pub struct Batch {
    region: Arc<Region>,
    /// Bytes per slot, a multiple of the page size.
    slot: usize,
    /// Slots in the mapping.
    count: usize,
    /// Slots handed out so far (from the start).
    next: usize,
    /// Whether the slots are read-write throughout (else inaccessible).
    readwrite: bool,
}

impl Batch {
    /// Maps `count` slots of `slot` bytes (rounded up to pages): read-write
    /// and zero when `readwrite`, inaccessible otherwise.
    ///
    /// # Errors
    /// Fails when the size overflows or the OS has no address space for it.
    pub fn new(slot: usize, count: usize, readwrite: bool) -> Result<Self> {
        let slot = round_up(slot.max(1), page_size());
        let Some(len) = slot.checked_mul(count.max(1)) else {
            bail!("a batch of {count} slots of {slot} bytes is too large");
        };
        let prot = if readwrite {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_NONE
        };
        let region = Region::map(
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
        )?;
        Ok(Self {
            region: Arc::new(region),
            slot,
            count: count.max(1),
            next: 0,
            readwrite,
        })
    }

    /// The next slot not handed out yet, if any: all zero, read-write
    /// throughout or inaccessible as the batch was made.
    pub fn next_slot(&mut self) -> Option<Mmap> {
        if self.next == self.count {
            return None;
        }
        // SAFETY: `next * slot` is below the mapping's length (`next < count`),
        // so the address lies inside the batch's region.
        let ptr = unsafe { self.region.ptr.as_ptr().add(self.next * self.slot) };
        self.next += 1;
        let region = Region {
            ptr: NonNull::new(ptr).expect("inside a non-null mapping"),
            len: self.slot,
            parent: Some(self.region.clone()),
        };
        // Each slot is handed out once (`next` only grows), so no two `Mmap`s
        // cover the same pages.
        Some(Mmap {
            region,
            accessible: if self.readwrite { self.slot } else { 0 },
        })
    }
}

/// A mapping with no writable page: read-only, with read-execute ranges.
#[derive(Debug)]
pub struct ReadOnlyMmap {
    region: Region,
    /// Bytes from the start that are readable (read-only or read-execute).
    readable: usize,
}

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
        let region = Region::map(
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
        )?;
        Ok(Self {
            region,
            accessible: 0,
        })
    }

    /// Maps `len` bytes (rounded up to pages) of zeroed read-write memory,
    /// all of it accessible, in one call.
    ///
    /// # Errors
    /// Fails when the OS has no address space for it.
    pub fn accessible_zeroed(len: usize) -> Result<Self> {
        let len = round_up(len.max(1), page_size());
        let region = Region::map(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
        )?;
        Ok(Self {
            region,
            accessible: len,
        })
    }

    /// Makes `[start, start + len)` (widened to pages) readable and writable;
    /// the accessible prefix grows to `start + len` when that is further.
    /// Callers open memory from the start, so the prefix stays contiguous.
    ///
    /// # Errors
    /// Fails if the range exceeds the reservation or the OS refuses.
    pub fn make_accessible(&mut self, start: usize, len: usize) -> Result<()> {
        let end = start.checked_add(len).filter(|e| *e <= self.region.len);
        let Some(end) = end else {
            bail!("mapping range out of bounds")
        };
        if start > self.accessible {
            bail!("accessible memory must stay one prefix of the reservation");
        }
        if end <= self.accessible {
            // Already read-write: the prefix's invariant.
            return Ok(());
        }
        let page = page_size();
        let (from, to) = (start / page * page, round_up(end, page));
        self.region
            .protect(from, to, libc::PROT_READ | libc::PROT_WRITE)?;
        self.accessible = self.accessible.max(end);
        Ok(())
    }

    /// Bytes from the start that are readable and writable.
    pub fn accessible(&self) -> usize {
        self.accessible
    }

    /// Makes everything from `len` (rounded up to a page) on inaccessible
    /// again; the accessible prefix shrinks to `len`. Used when a pooled slot
    /// is reused for a smaller memory.
    ///
    /// # Errors
    /// Fails if the OS refuses.
    pub fn shrink_accessible(&mut self, len: usize) -> Result<()> {
        if len >= self.accessible {
            return Ok(());
        }
        let page = page_size();
        let (from, to) = (round_up(len, page), round_up(self.accessible, page));
        self.region.protect(from, to, libc::PROT_NONE)?;
        self.accessible = len;
        Ok(())
    }

    /// The end, rounded up to a page, of `[start, start + len)` when `start`
    /// is page-aligned and the range lies in the accessible prefix; `what`
    /// names the operation in the error otherwise.
    fn page_range_end(&self, start: usize, len: usize, what: &str) -> Result<usize> {
        let page = page_size();
        start
            .checked_add(len)
            .filter(|e| *e <= self.accessible && start.is_multiple_of(page))
            .map(|e| round_up(e, page))
            .ok_or_else(|| {
                anyhow::anyhow!("{what} range is misaligned or outside the accessible memory")
            })
    }

    /// Discards the pages of `[start, start + len)` (`start` page-aligned, the
    /// end rounded up to a page) of the accessible prefix with
    /// `madvise(MADV_DONTNEED)`: they read as zeros again and are no longer
    /// resident. Only valid where no file is mapped (see
    /// [`Self::replace_with_zero_pages`]).
    ///
    /// # Errors
    /// Fails on a range outside the prefix or a misaligned start, or if the OS refuses.
    pub fn discard(&mut self, start: usize, len: usize) -> Result<()> {
        let end = self.page_range_end(start, len, "discard")?;
        if end == start {
            return Ok(());
        }
        // SAFETY: `[start, end)` is page-aligned and inside this region's
        // read-write prefix (rounded up to the page the prefix ends in, which
        // is read-write too); `&mut self` excludes every slice into it. On a
        // private anonymous mapping DONTNEED only turns the pages back into
        // zero-fill-on-demand ones.
        let r = unsafe {
            libc::madvise(
                self.region.ptr.as_ptr().add(start).cast(),
                end - start,
                libc::MADV_DONTNEED,
            )
        };
        if r != 0 {
            bail!("madvise failed: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Maps fresh zero pages, read-write, over `[start, start + len)` (`start`
    /// page-aligned, the end rounded up to a page) of the accessible prefix,
    /// replacing whatever was mapped there (such as a copy-on-write file image).
    ///
    /// # Errors
    /// Fails on a range outside the prefix or a misaligned start, or if the OS refuses.
    pub fn replace_with_zero_pages(&mut self, start: usize, len: usize) -> Result<()> {
        let end = self.page_range_end(start, len, "remap")?;
        if end == start {
            return Ok(());
        }
        // SAFETY: `[start, end)` is page-aligned and inside this region, which
        // we own; `&mut self` excludes every slice into it, so replacing its
        // pages (MAP_FIXED) invalidates no reference. The new pages are
        // read-write, as the accessible prefix requires.
        let ptr = unsafe {
            libc::mmap(
                self.region.ptr.as_ptr().add(start).cast(),
                end - start,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            bail!(
                "failed to map zero pages: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// Replaces `[start, start + len)` of the accessible prefix with a private
    /// copy-on-write mapping of `len` bytes of `file` from `file_offset`: reads
    /// see the file's bytes, writes go to private copies of the pages, and the
    /// file never changes. The range stays read-write, so it is still part of
    /// the accessible prefix; dropping the `Mmap` unmaps it with the rest.
    ///
    /// The caller keeps the file's bytes in range unmodified and the file at
    /// least that long for as long as the mapping lives (a memfd only this
    /// process can reach, or an artifact under `deserialize_file`'s promise).
    ///
    /// # Errors
    /// Fails if `start`, `len` or `file_offset` is not page-aligned, if the
    /// range is not inside the accessible prefix, or if the OS refuses.
    pub fn map_file_private(
        &mut self,
        start: usize,
        len: usize,
        file: &std::fs::File,
        file_offset: u64,
    ) -> Result<()> {
        use std::os::fd::AsRawFd;
        let page = page_size();
        let end = start.checked_add(len).filter(|e| *e <= self.accessible);
        let Some(_end) = end else {
            bail!("file mapping range lies outside the accessible memory");
        };
        let Ok(file_offset) = libc::off_t::try_from(file_offset) else {
            bail!("file offset {file_offset:#x} is too large");
        };
        if !(start.is_multiple_of(page)
            && len.is_multiple_of(page)
            && (file_offset as u64).is_multiple_of(page as u64))
        {
            bail!("file mapping range is not page-aligned");
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `[start, start + len)` is page-aligned and inside the
        // accessible prefix of this region, which we own; `&mut self` excludes
        // every slice into it, so replacing its pages (MAP_FIXED) invalidates
        // no reference. Raw pointers to the memory (compiled code's base) see
        // new bytes, which is the point: no wasm runs while a memory is being
        // initialised. The protection stays read-write, as the prefix requires.
        // `file` is an open descriptor for the duration of the call; the
        // mapping keeps its own reference to the file afterwards.
        let ptr = unsafe {
            libc::mmap(
                self.region.ptr.as_ptr().add(start).cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                file.as_raw_fd(),
                file_offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            bail!(
                "failed to map a memory image: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// Turns the accessible part into read-execute code. Consumes the writable
    /// mapping, so no mutable slice into it can outlive the switch.
    ///
    /// # Errors
    /// Fails if the OS refuses (the mapping is then unmapped).
    pub fn make_executable(self) -> Result<ReadOnlyMmap> {
        let len = round_up(self.accessible.max(1), page_size()).min(self.region.len);
        self.region
            .protect(0, len, libc::PROT_READ | libc::PROT_EXEC)?;
        Ok(ReadOnlyMmap {
            readable: self.accessible,
            region: self.region,
        })
    }

    /// The accessible (read-write) prefix.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: [0, accessible) is mapped read-write (this type never holds
        // other protections there) and owned by self; writes go only through
        // `as_mut_slice`, which needs `&mut self`.
        unsafe { std::slice::from_raw_parts(self.region.ptr.as_ptr(), self.accessible) }
    }

    /// The accessible prefix, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: [0, accessible) is mapped read-write: only `make_accessible`
        // changes protection while this type exists, and only to read-write
        // (`make_executable` consumes it). The exclusive borrow of self
        // excludes other access through this value.
        unsafe { std::slice::from_raw_parts_mut(self.region.ptr.as_ptr(), self.accessible) }
    }

    /// Size of the whole reservation in bytes.
    pub fn reservation(&self) -> usize {
        self.region.len
    }

    /// Start of the mapping, for compiled code that addresses it directly.
    pub fn as_ptr(&self) -> *mut u8 {
        self.region.ptr.as_ptr()
    }
}

impl ReadOnlyMmap {
    /// Maps the whole of `file` privately and read-only; [`ReadOnlyMmap::as_slice`]
    /// then covers the file's bytes.
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
        let region = Region::map(len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd())?;
        Ok(Self {
            region,
            readable: len,
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
        let Some(end) = end.filter(|e| *e <= round_up(self.region.len, page)) else {
            bail!("code range {start:#x}+{len:#x} lies outside the mapping");
        };
        self.region
            .protect(start, end, libc::PROT_READ | libc::PROT_EXEC)
    }

    /// The readable bytes: the code, or the file's bytes for a file mapping.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: [0, readable) is mapped read-only or read-execute (this type
        // never makes a page writable) and owned by self, so the bytes cannot
        // change under the shared borrow (a file mapping relies on the promise
        // documented at `map_file`).
        unsafe { std::slice::from_raw_parts(self.region.ptr.as_ptr(), self.readable) }
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> *const u8 {
        self.region.ptr.as_ptr()
    }
}

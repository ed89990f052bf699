//! The on-demand allocator's small cache of released mappings: a few linear
//! memory reservations and large vmctx mappings that dropped instances gave
//! back, reset, so that the next instantiation of the engine takes one instead
//! of asking the OS for a new mapping (`mmap` + `mprotect` now, `munmap` later:
//! most of the cost of instantiating a module whose memory and vmctx are
//! otherwise untouched).
//!
//! Unlike the pooling allocator (`pool`), nothing is counted or limited here:
//! a mapping the cache has no room for is unmapped as before, and a request
//! the cache cannot serve is mapped as before. Only reservations whose size
//! never changes are kept: static-style memories (a dynamic one moves when it
//! grows) and vmctx mappings, each matched by exact length.
//!
//! A memory reservation is reset when it comes back: its accessible prefix is
//! discarded with `madvise(MADV_DONTNEED)` (it reads as zeros again and is no
//! longer resident), or, if a copy-on-write image was mapped into it, replaced
//! by fresh anonymous pages. A vmctx mapping is zeroed by its instance, which
//! knows which parts it wrote (`instance`). Neither is reset when the cache is
//! full, as when a store with many instances is dropped: those are unmapped.

use super::mmap::Mmap;
use std::sync::Mutex;

/// Mappings of each kind kept at most: enough for an embedder that
/// instantiates in a loop on a few threads, small enough that the address
/// space and the page tables held back stay negligible.
const KEEP: usize = 16;

/// One engine's released mappings.
#[derive(Debug, Default)]
pub struct MappingCache {
    /// Reset memory reservations, read-write up to their accessible prefix.
    memories: Mutex<Vec<Mmap>>,
    /// Zeroed vmctx mappings, read-write throughout.
    vmctxs: Mutex<Vec<Mmap>>,
}

/// Takes a mapping of exactly `len` bytes out of `list`.
pub(super) fn take(list: &Mutex<Vec<Mmap>>, len: usize) -> Option<Mmap> {
    // A panic while the lock was held cannot leave a half-pushed mapping
    // behind: every change is one `Vec` operation.
    let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
    let at = list.iter().rposition(|m| m.reservation() == len)?;
    Some(list.swap_remove(at))
}

/// Keeps `mapping` in `list` after `reset` succeeds on it, if there is room;
/// it is unmapped otherwise (without being reset when the list is full, as
/// when a store with many instances is dropped).
fn give(list: &Mutex<Vec<Mmap>>, mut mapping: Mmap, reset: impl FnOnce(&mut Mmap) -> bool) {
    let full = || list.lock().unwrap_or_else(|e| e.into_inner()).len() >= KEEP;
    // Reset outside the lock (it may be a system call); checked again after.
    if full() || !reset(&mut mapping) {
        return;
    }
    let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
    if list.len() < KEEP {
        list.push(mapping);
    }
}

/// Resets a released memory reservation for reuse: its accessible prefix
/// reads as zeros again and is no longer resident (fresh zero pages over a
/// copy-on-write image when `image_mapped`). False if the OS refused.
pub(super) fn reset_memory(mapping: &mut Mmap, image_mapped: bool) -> bool {
    let used = mapping.accessible();
    let reset = if image_mapped {
        mapping.replace_with_zero_pages(0, used)
    } else {
        mapping.discard(0, used)
    };
    reset.is_ok()
}

impl MappingCache {
    /// A reset memory reservation of `len` bytes (rounded up to pages), if one
    /// was given back: read-write, and zero, up to some accessible prefix.
    pub fn take_memory(&self, len: usize) -> Option<Mmap> {
        take(
            &self.memories,
            len.div_ceil(super::mmap::page_size()) * super::mmap::page_size(),
        )
    }

    /// Gives back a memory reservation, `image_mapped` when a copy-on-write
    /// image may be mapped in it; it is reset first (unmapped if that fails).
    pub fn give_memory(&self, mapping: Mmap, image_mapped: bool) {
        give(&self.memories, mapping, |mapping| {
            reset_memory(mapping, image_mapped)
        });
    }

    /// A zeroed, read-write vmctx mapping of `len` bytes (rounded up to
    /// pages), if one was given back.
    pub fn take_vmctx(&self, len: usize) -> Option<Mmap> {
        take(
            &self.vmctxs,
            len.div_ceil(super::mmap::page_size()) * super::mmap::page_size(),
        )
    }

    /// Gives back a vmctx mapping, which `zero` makes all zeros again (false
    /// if it could not: the mapping is then unmapped).
    pub fn give_vmctx(&self, mapping: Mmap, zero: impl FnOnce(&mut Mmap) -> bool) {
        give(&self.vmctxs, mapping, zero);
    }
}

//! A store's GC heap (see `docs/design/gc.md` §3–§4): two semi-spaces, each
//! an address-space reservation of `GC_HEAP_MAX` (4 GiB) bytes made on first
//! use, whose accessible prefix grows as needed. Objects are allocated in the
//! *active* space; an object reference is its offset from that space's
//! base, which compiled code reads from the store's `VMRuntimeLimits` (and
//! reloads after every call, since a collection moves the base).
//!
//! Objects are bump-allocated from `gc_next` up to `gc_limit` (both in the
//! limits, which compiled code bumps inline). Every byte from `gc_next` to
//! the end of the active space's accessible prefix is zero, which compiled
//! code relies on for default-initialised objects: the prefix only grows by
//! fresh anonymous pages, and a collection ([`GcHeap::flip`]) makes active a
//! space that was all zero before the live objects were copied to its start,
//! then discards the pages of the space it leaves (`madvise(DONTNEED)`), so
//! that space is all zero again when the next collection copies into it.
//!
//! This type never hands out pointers: the host and the collector read and
//! write objects through the byte slices of the accessible prefixes.

use super::mmap::Mmap;
use super::vmcontext::VMRuntimeLimits;
use anyhow::Result;
use tern_environ::{GC_HEAP_MAX, GC_HEAP_START};

/// The growth step of the accessible prefix.
const GROWTH_STEP: u64 = 64 * 1024;

/// One store's GC heap.
#[derive(Default)]
pub struct GcHeap {
    /// The space objects live in, once the first object was allocated.
    active: Option<Mmap>,
    /// The other space, all zero: the next collection's to-space.
    spare: Option<Mmap>,
    /// How many collections ended ([`Self::flip`]).
    collections: u64,
}

impl GcHeap {
    /// Bytes currently accessible in the active space (0 before the first
    /// allocation): the heap's size as the resource limiter sees it.
    pub fn accessible(&self) -> u64 {
        self.active.as_ref().map_or(0, |m| m.accessible() as u64)
    }

    /// The active space, for the host to read objects.
    pub fn bytes(&self) -> &[u8] {
        self.active.as_ref().map_or(&[], |m| m.as_slice())
    }

    /// The active space, for the host to write objects.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.active.as_mut().map_or(&mut [], |m| m.as_mut_slice())
    }

    /// How many accessible bytes an allocation of `size` bytes needs, if the
    /// bump pointer must pass the current limit; `None` when it fits already.
    pub fn needed_for(&self, limits: &VMRuntimeLimits, size: u64) -> Option<u64> {
        let end = limits.gc_next().max(GC_HEAP_START).saturating_add(size);
        (end > limits.gc_limit()).then_some(end)
    }

    /// The size to grow to for `needed` bytes: at least double the heap (so
    /// growth is amortised), rounded up to the growth step, at most the
    /// maximum; `needed` itself rounded up when doubling is too much.
    pub fn growth_targets(&self, needed: u64) -> (u64, u64) {
        let round = |n: u64| n.div_ceil(GROWTH_STEP) * GROWTH_STEP;
        let minimal = round(needed).min(GC_HEAP_MAX);
        let doubled = round(needed.max(self.accessible() * 2)).min(GC_HEAP_MAX);
        (doubled, minimal)
    }

    /// Makes the first `size` bytes (at most `GC_HEAP_MAX`) of the active
    /// space accessible, reserving it on first use, and publishes base and
    /// limit.
    ///
    /// # Errors
    /// Fails when the OS refuses the reservation or the protection change.
    pub fn grow_to(&mut self, limits: &VMRuntimeLimits, size: u64) -> Result<()> {
        anyhow::ensure!(
            size <= GC_HEAP_MAX,
            "GC heap size {size} exceeds the maximum"
        );
        if self.active.is_none() {
            self.active = Some(Mmap::reserve(GC_HEAP_MAX as usize)?);
            limits.set_gc_next(GC_HEAP_START);
        }
        let mmap = self.active.as_mut().expect("reserved above");
        mmap.make_accessible(0, size as usize)?;
        limits.set_gc_heap(mmap.as_ptr(), mmap.accessible() as u64);
        Ok(())
    }

    /// Takes `size` bytes from the bump pointer, which must fit (see
    /// [`Self::needed_for`]); the object's offset.
    pub fn bump(&mut self, limits: &VMRuntimeLimits, size: u64) -> u64 {
        let at = limits.gc_next().max(GC_HEAP_START);
        debug_assert!(at + size <= limits.gc_limit());
        limits.set_gc_next(at + size);
        at
    }

    /// How many collections have run.
    #[cfg(test)]
    pub fn collections(&self) -> u64 {
        self.collections
    }

    /// Whether the heap exists (an object was ever allocated).
    pub fn exists(&self) -> bool {
        self.active.is_some()
    }

    /// Starts a collection: makes the spare space (reserving it on first
    /// use) accessible as far as the active one, so that every live object
    /// fits, and returns `(from, to)`: the active space's bytes and the
    /// spare's (all zero). `None` when there is no heap yet.
    ///
    /// # Errors
    /// Fails when the OS refuses the reservation or the protection change;
    /// nothing has moved then.
    pub fn spaces_for_collection(&mut self) -> Result<Option<(&mut [u8], &mut [u8])>> {
        let Some(active) = self.active.as_mut() else {
            return Ok(None);
        };
        if self.spare.is_none() {
            self.spare = Some(Mmap::reserve(GC_HEAP_MAX as usize)?);
        }
        let spare = self.spare.as_mut().expect("reserved above");
        spare.make_accessible(0, active.accessible())?;
        Ok(Some((active.as_mut_slice(), spare.as_mut_slice())))
    }

    /// Ends a collection that copied the live objects into the spare space
    /// up to offset `next`: that space becomes the active one (its base,
    /// bump pointer and limit published), and the old active space's pages
    /// are discarded so that it reads as zeros again.
    pub fn flip(&mut self, limits: &VMRuntimeLimits, next: u64) {
        std::mem::swap(&mut self.active, &mut self.spare);
        self.collections += 1;
        let active = self.active.as_ref().expect("a collection had a to-space");
        limits.set_gc_heap(active.as_ptr(), active.accessible() as u64);
        limits.set_gc_next(next.max(GC_HEAP_START));
        if let Some(old) = self.spare.as_mut() {
            let len = old.accessible();
            if old.discard(0, len).is_err() {
                // Not zero: never reuse it; the next collection reserves anew.
                self.spare = None;
            }
        }
    }
}

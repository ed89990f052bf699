//! A store's GC heap (see `docs/design/gc.md` §3): one address-space
//! reservation of `GC_HEAP_MAX` (4 GiB) bytes, made on the first allocation,
//! whose accessible prefix grows as objects are allocated. An object
//! reference is its offset from the base, so compiled code adds the base
//! (published in the store's `VMRuntimeLimits`) and never sees the heap move.
//!
//! **Phase 2: no collector.** Objects are bump-allocated from `gc_next` up to
//! `gc_limit` (both in the limits, which compiled code bumps inline) and live
//! until the store is dropped. Every byte from `gc_next` to the end of the
//! accessible prefix is zero, because the prefix only grows by fresh
//! anonymous pages; a collector (phase 3) must keep that promise, since
//! compiled code relies on it for default-initialised objects.
//!
//! This type never hands out pointers: the host reads and writes objects
//! through the byte slices of the accessible prefix.

use super::mmap::Mmap;
use super::vmcontext::VMRuntimeLimits;
use anyhow::Result;
use tern_environ::{GC_HEAP_MAX, GC_HEAP_START};

/// The growth step of the accessible prefix.
const GROWTH_STEP: u64 = 64 * 1024;

/// One store's GC heap.
#[derive(Default)]
pub struct GcHeap {
    /// The reservation, once the first object was allocated.
    mmap: Option<Mmap>,
}

impl GcHeap {
    /// Bytes currently accessible (0 before the first allocation).
    pub fn accessible(&self) -> u64 {
        self.mmap.as_ref().map_or(0, |m| m.accessible() as u64)
    }

    /// The accessible heap, for the host to read objects.
    pub fn bytes(&self) -> &[u8] {
        self.mmap.as_ref().map_or(&[], |m| m.as_slice())
    }

    /// The accessible heap, for the host to write objects.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.mmap.as_mut().map_or(&mut [], |m| m.as_mut_slice())
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

    /// Makes the first `size` bytes (at most `GC_HEAP_MAX`) accessible,
    /// reserving the heap on first use, and publishes base and limit.
    ///
    /// # Errors
    /// Fails when the OS refuses the reservation or the protection change.
    pub fn grow_to(&mut self, limits: &VMRuntimeLimits, size: u64) -> Result<()> {
        anyhow::ensure!(
            size <= GC_HEAP_MAX,
            "GC heap size {size} exceeds the maximum"
        );
        if self.mmap.is_none() {
            self.mmap = Some(Mmap::reserve(GC_HEAP_MAX as usize)?);
            limits.set_gc_next(GC_HEAP_START);
        }
        let mmap = self.mmap.as_mut().expect("reserved above");
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
}

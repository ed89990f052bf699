//! One store's share of the on-demand allocator: where its static memories'
//! reservations and its large vmctx mappings come from, so that a store with
//! many instances does not pay one `mmap`, one `munmap` (and for a vmctx, one
//! fresh mapping to fault in) per instance.
//!
//! A request is served, in order, by
//! 1. a mapping of the same length an instance of this store gave back early
//!    (a failed instantiation), already reset;
//! 2. the engine's [`MappingCache`] (a few mappings earlier stores gave back);
//! 3. for the store's first mapping of each length, a mapping of its own,
//!    which goes back to the engine's cache when the store is dropped (the
//!    common "one store per request" loop keeps hitting the cache);
//! 4. otherwise a slot of a [`Batch`]: one reservation holding 2, then 4, 8,
//!    … up to 64 slots (at most 512 GiB of address space), mapped once and
//!    unmapped once, with all its slots, after the store is gone.
//!
//! Slots keep what a mapping of their own has: every static memory still has
//! its whole reservation plus its guard region inside its slot (the slot *is*
//! that reservation; the next slot starts after the guard), so the bounds-check
//! elimination that relies on them is unchanged; a vmctx slot is zero and
//! read-write. A slot's holder gives it back through [`Home`]: while the store
//! lives, it is reset and kept for the store's next request of that length;
//! once the store's arena is gone (the store is being dropped), it is simply
//! released, and the batch is unmapped with the last of its slots. The arena
//! is therefore declared before the instances and memories in `StoreOpaque`,
//! so that it is dropped first and the store's teardown resets nothing.

use super::mmap::{page_size, Batch, Mmap};
use super::reuse::{reset_memory, take, MappingCache};
use anyhow::Result;
use std::sync::{Arc, Mutex, Weak};

/// Most slots in one batch.
const MAX_SLOTS: usize = 64;
/// Most bytes of address space in one batch.
const MAX_BATCH_BYTES: usize = 512 << 30;

/// What an arena's slots are for (each kind has its own batches: memory
/// slots start inaccessible, vmctx slots read-write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Memory,
    Vmctx,
}

/// Mappings given back early, reset, for the store's next requests.
#[derive(Debug, Default)]
pub struct Returned {
    /// Memory reservations: zero up to their accessible prefix.
    memories: Mutex<Vec<Mmap>>,
    /// Vmctx mappings: zero and read-write throughout.
    vmctxs: Mutex<Vec<Mmap>>,
}

/// The batches of one kind and slot length.
#[derive(Debug)]
struct Carver {
    kind: Kind,
    /// Slot length in bytes (page multiple).
    slot: usize,
    /// Mappings made so far for this kind and length (the first is a mapping
    /// of its own, each later one a batch twice the size of the last).
    made: u32,
    /// The batch slots are taken from now.
    current: Option<Batch>,
}

/// One store's on-demand mappings (see the module note).
#[derive(Debug)]
pub struct StoreArena {
    /// The engine's cache; `None` for an engine with the pooling allocator,
    /// whose stores never ask the arena.
    cache: Option<Arc<MappingCache>>,
    /// Made when the first batch slot is handed out (a store that never
    /// needs a batch allocates nothing here).
    returned: Option<Arc<Returned>>,
    carvers: Vec<Carver>,
}

/// Where an on-demand mapping goes when its holder (a memory or a vmctx) is
/// dropped.
#[derive(Debug)]
pub enum Home {
    /// Unmapped.
    Os,
    /// The engine's cache, reset first if it has room.
    Cache(Arc<MappingCache>),
    /// Back to its store's arena, reset, while the arena lives; released
    /// otherwise (a batch slot: the batch goes with its last slot).
    Arena(Weak<Returned>),
}

impl StoreArena {
    /// An arena drawing on the engine's `cache` (none with the pooling allocator).
    pub fn new(cache: Option<Arc<MappingCache>>) -> Self {
        Self {
            cache,
            returned: None,
            carvers: Vec::new(),
        }
    }

    /// A static memory's reservation of `len` bytes (rounded up to pages):
    /// read-write and zero up to some accessible prefix, inaccessible after.
    ///
    /// # Errors
    /// Fails when the OS has no address space for it.
    pub fn take_memory(&mut self, len: usize) -> Result<(Mmap, Home)> {
        let len = len.div_ceil(page_size()) * page_size();
        if let Some(m) = self.returned.as_ref().and_then(|r| take(&r.memories, len)) {
            return Ok((m, self.home()));
        }
        let Some(cache) = &self.cache else {
            return Ok((Mmap::reserve(len)?, Home::Os));
        };
        if let Some(m) = cache.take_memory(len) {
            return Ok((m, Home::Cache(cache.clone())));
        }
        self.carve(Kind::Memory, len, Mmap::reserve)
    }

    /// A vmctx mapping of `len` bytes (rounded up to pages), zero and
    /// read-write throughout.
    ///
    /// # Errors
    /// Fails when the OS has no address space for it.
    pub fn take_vmctx(&mut self, len: usize) -> Result<(Mmap, Home)> {
        let len = len.div_ceil(page_size()) * page_size();
        if let Some(m) = self.returned.as_ref().and_then(|r| take(&r.vmctxs, len)) {
            return Ok((m, self.home()));
        }
        let Some(cache) = &self.cache else {
            return Ok((Mmap::accessible_zeroed(len)?, Home::Os));
        };
        if let Some(m) = cache.take_vmctx(len) {
            return Ok((m, Home::Cache(cache.clone())));
        }
        self.carve(Kind::Vmctx, len, Mmap::accessible_zeroed)
    }

    fn home(&mut self) -> Home {
        Home::Arena(Arc::downgrade(
            self.returned.get_or_insert_with(Arc::default),
        ))
    }

    /// A new mapping of `kind` and `len` bytes: the store's first of them a
    /// mapping of its own (made by `single`, given to the engine's cache
    /// later), the others slots of batches.
    fn carve(
        &mut self,
        kind: Kind,
        len: usize,
        single: fn(usize) -> Result<Mmap>,
    ) -> Result<(Mmap, Home)> {
        let cache = self.cache.clone().map_or(Home::Os, Home::Cache);
        let at = match self
            .carvers
            .iter()
            .position(|c| c.kind == kind && c.slot == len)
        {
            Some(at) => at,
            None => {
                self.carvers.push(Carver {
                    kind,
                    slot: len,
                    made: 0,
                    current: None,
                });
                self.carvers.len() - 1
            }
        };
        if self.carvers[at].made == 0 {
            self.carvers[at].made = 1;
            return Ok((single(len)?, cache));
        }
        let home = self.home();
        let carver = &mut self.carvers[at];
        if let Some(slot) = carver.current.as_mut().and_then(Batch::next_slot) {
            return Ok((slot, home));
        }
        let count = (1usize << carver.made.min(6))
            .min(MAX_SLOTS)
            .min(MAX_BATCH_BYTES / len.max(1))
            .max(1);
        let batch = Batch::new(len, count, kind == Kind::Vmctx);
        let Ok(mut batch) = batch else {
            // Not enough address space for a batch: try a single mapping.
            return Ok((single(len)?, cache));
        };
        carver.made += 1;
        let slot = batch.next_slot().expect("a new batch has a slot");
        carver.current = Some(batch);
        Ok((slot, home))
    }
}

impl Home {
    /// Gives back a memory reservation, `image_mapped` when a copy-on-write
    /// image may be mapped in it.
    pub fn give_memory(&self, mut mapping: Mmap, image_mapped: bool) {
        match self {
            Home::Os => {}
            Home::Cache(cache) => cache.give_memory(mapping, image_mapped),
            Home::Arena(returned) => {
                if let Some(returned) = returned.upgrade() {
                    if reset_memory(&mut mapping, image_mapped) {
                        lock(&returned.memories).push(mapping);
                    }
                }
            }
        }
    }

    /// Gives back a vmctx mapping, which `zero` makes all zeros again (false
    /// if it could not: the mapping is then released).
    pub fn give_vmctx(&self, mut mapping: Mmap, zero: impl FnOnce(&mut Mmap) -> bool) {
        match self {
            Home::Os => {}
            Home::Cache(cache) => cache.give_vmctx(mapping, zero),
            Home::Arena(returned) => {
                if let Some(returned) = returned.upgrade() {
                    if zero(&mut mapping) {
                        lock(&returned.vmctxs).push(mapping);
                    }
                }
            }
        }
    }
}

/// Locks `list`; a panic while it was held cannot leave it half-changed
/// (every change is one `Vec` operation).
fn lock(list: &Mutex<Vec<Mmap>>) -> std::sync::MutexGuard<'_, Vec<Mmap>> {
    list.lock().unwrap_or_else(|e| e.into_inner())
}

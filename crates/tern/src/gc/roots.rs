//! The store's table of host GC roots: the only place a heap word the host
//! holds lives (see `docs/design/gc.md` §5 "Host"). Host handles
//! ([`Rooted`](super::Rooted), [`ManuallyRooted`](super::ManuallyRooted),
//! [`OwnedRooted`](super::OwnedRooted), and the `AnyRef`/`StructRef`/
//! `ArrayRef` they deref to) hold a [`GcRootIndex`] into this table, never the
//! word itself, so a moving collector rewrites the table
//! (`StoreOpaque::for_each_host_gc_root`) and every handle follows.
//!
//! Two parts:
//! * a **LIFO stack** for scoped roots. A scope is the stack's length when it
//!   was entered; leaving it truncates the stack to that length. Each entry
//!   carries the stack's generation at the time it was pushed, and every
//!   truncation that removes entries starts a new generation, so an index
//!   reused after its scope ended fails the check: a handle used after its
//!   scope is an `Err`, never another object.
//! * a **slot table** with a free list for manual and owned roots. A slot in
//!   use carries a generation taken from a store-wide counter that never
//!   repeats; releasing the slot frees it (generation 0), so a released
//!   handle fails the check the same way. Owned roots dropped without a store
//!   push `(slot, generation)` onto a shared release queue, which the table
//!   drains at its next use (`apply_released`).
//!
//! The words are the `any` hierarchy's 32-bit words: an object offset (even,
//! non-zero) or an i31 (odd). Only object offsets are handed to the collector.
//! Nothing here reads the heap.

use crate::store::StoreOpaque;
use anyhow::{bail, Result};
use std::sync::{Arc, Mutex};

/// Which part of the table a root lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RootKind {
    Lifo,
    Slot,
}

/// What a host handle holds: a checked index into one store's root table.
/// (`pub` but unnameable outside the crate: it appears in the sealed
/// `GcRefImpl` trait.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GcRootIndex {
    store_id: u64,
    generation: u64,
    index: u32,
    kind: RootKind,
}

impl GcRootIndex {
    /// Whether this root lives in the LIFO stack (a `Rooted`).
    pub(crate) fn is_lifo(&self) -> bool {
        self.kind == RootKind::Lifo
    }

    /// The id of the store whose table this indexes.
    pub(crate) fn store_id(&self) -> u64 {
        self.store_id
    }
}

/// An entry of the table: a heap word and the generation it was rooted in.
#[derive(Debug, Clone, Copy)]
struct Entry {
    word: u32,
    /// 0 marks a free slot (generations start at 1).
    generation: u64,
}

/// Owned roots dropped since the table was last used: `(slot, generation)`.
pub(crate) type ReleaseQueue = Mutex<Vec<(u32, u64)>>;

/// A store's host roots (see the module note).
#[derive(Debug)]
pub(crate) struct RootSet {
    lifo: Vec<Entry>,
    lifo_generation: u64,
    slots: Vec<Entry>,
    free: Vec<u32>,
    next_slot_generation: u64,
    released: Arc<ReleaseQueue>,
}

impl Default for RootSet {
    fn default() -> Self {
        Self {
            lifo: Vec::new(),
            lifo_generation: 1,
            slots: Vec::new(),
            free: Vec::new(),
            next_slot_generation: 1,
            released: Arc::default(),
        }
    }
}

/// How many roots a store holds (for tests and diagnostics).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcRootCounts {
    /// Live scoped roots (`Rooted`), i.e. the LIFO stack's depth.
    pub lifo: usize,
    /// Live manual and owned roots.
    pub slots_live: usize,
    /// The slot table's length, free slots included.
    pub slots_len: usize,
}

impl RootSet {
    /// Enters a LIFO scope: what [`Self::exit_lifo`] takes.
    pub(crate) fn enter_lifo(&self) -> usize {
        self.lifo.len()
    }

    /// Leaves the LIFO scope `scope` (from [`Self::enter_lifo`]), releasing
    /// every scoped root made since.
    pub(crate) fn exit_lifo(&mut self, scope: usize) {
        if self.lifo.len() > scope {
            self.lifo.truncate(scope);
            self.lifo_generation += 1;
        }
    }

    /// Makes room for `additional` more scoped roots.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.lifo.reserve(additional);
    }

    /// Roots `word` in the current LIFO scope.
    fn push_lifo(&mut self, store_id: u64, word: u32) -> GcRootIndex {
        let index = self.lifo.len() as u32;
        self.lifo.push(Entry {
            word,
            generation: self.lifo_generation,
        });
        GcRootIndex {
            store_id,
            generation: self.lifo_generation,
            index,
            kind: RootKind::Lifo,
        }
    }

    /// Roots `word` in a slot, until [`Self::release_slot`].
    fn push_slot(&mut self, store_id: u64, word: u32) -> GcRootIndex {
        self.apply_released();
        let generation = self.next_slot_generation;
        self.next_slot_generation += 1;
        let entry = Entry { word, generation };
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = entry;
                i
            }
            None => {
                self.slots.push(entry);
                (self.slots.len() - 1) as u32
            }
        };
        GcRootIndex {
            store_id,
            generation,
            index,
            kind: RootKind::Slot,
        }
    }

    /// Frees the slot `(index, generation)` names, if it is still that root.
    fn release(&mut self, index: u32, generation: u64) {
        if let Some(e) = self.slots.get_mut(index as usize) {
            if e.generation == generation {
                e.generation = 0;
                e.word = 0;
                self.free.push(index);
            }
        }
    }

    /// Frees the slots of owned roots dropped since the last call.
    fn apply_released(&mut self) {
        let drained = match self.released.lock() {
            Ok(mut q) if !q.is_empty() => std::mem::take(&mut *q),
            _ => return,
        };
        for (index, generation) in drained {
            self.release(index, generation);
        }
    }

    /// The word `root` names, if it is still live.
    fn get(&self, root: GcRootIndex) -> Option<u32> {
        let table = match root.kind {
            RootKind::Lifo => &self.lifo,
            RootKind::Slot => &self.slots,
        };
        table
            .get(root.index as usize)
            .filter(|e| e.generation == root.generation)
            .map(|e| e.word)
    }

    /// Visits every live root that names a heap object.
    fn for_each_live(&mut self, f: &mut dyn FnMut(&mut u32)) {
        self.apply_released();
        let live_slots = self.slots.iter_mut().filter(|e| e.generation != 0);
        for e in self.lifo.iter_mut().chain(live_slots) {
            if e.word != 0 && e.word & 1 == 0 {
                f(&mut e.word);
            }
        }
    }

    fn counts(&mut self) -> GcRootCounts {
        self.apply_released();
        GcRootCounts {
            lifo: self.lifo.len(),
            slots_live: self.slots.len() - self.free.len(),
            slots_len: self.slots.len(),
        }
    }
}

/// What an owned root's last handle releases when it drops: its slot, by
/// way of the store's release queue (the store need not be at hand).
#[derive(Debug)]
pub(crate) struct OwnedSlot {
    index: u32,
    generation: u64,
    queue: Arc<ReleaseQueue>,
}

impl Drop for OwnedSlot {
    fn drop(&mut self) {
        // A poisoned queue only means another thread panicked while pushing;
        // the slot then stays rooted until the store drops, which is safe.
        if let Ok(mut q) = self.queue.lock() {
            q.push((self.index, self.generation));
        }
    }
}

impl StoreOpaque {
    /// Roots the heap word `word` (an object offset or an i31) in the
    /// current LIFO scope.
    pub(crate) fn gc_root(&mut self, word: u64) -> GcRootIndex {
        let id = self.id();
        self.gc_roots.push_lifo(id, word as u32)
    }

    /// Roots the heap word `word` in a slot of its own (a manual root).
    pub(crate) fn gc_root_slot(&mut self, word: u64) -> GcRootIndex {
        let id = self.id();
        self.gc_roots.push_slot(id, word as u32)
    }

    /// Like [`Self::gc_root_slot`], for an owned root: also what releases
    /// the slot when the last handle drops.
    pub(crate) fn gc_root_owned(&mut self, word: u64) -> (GcRootIndex, OwnedSlot) {
        let slot = self.gc_root_slot(word);
        let owner = OwnedSlot {
            index: slot.index,
            generation: slot.generation,
            queue: self.gc_roots.released.clone(),
        };
        (slot, owner)
    }

    /// Releases the manual root `root` (nothing if it is already released).
    ///
    /// # Errors
    /// Fails if `root` is of another store.
    pub(crate) fn gc_unroot(&mut self, root: GcRootIndex) -> Result<()> {
        check_store(self, root)?;
        if root.kind == RootKind::Slot {
            self.gc_roots.release(root.index, root.generation);
        }
        Ok(())
    }

    /// The heap word (widened) that `root` names.
    ///
    /// # Errors
    /// Fails if `root` belongs to another store, or its root was released
    /// (its scope ended, or it was unrooted or dropped).
    pub(crate) fn gc_rooted(&self, root: GcRootIndex) -> Result<u64> {
        check_store(self, root)?;
        match self.gc_roots.get(root) {
            Some(word) => Ok(u64::from(word)),
            None => bail!(
                "GC reference used after its root was released (its `RootScope` ended, \
                 or it was unrooted or dropped)"
            ),
        }
    }

    /// Visits the heap offset of every live host root (scoped, manual and
    /// owned; i31s are not offsets and are skipped), so a moving collector
    /// can rewrite it in place. Owned roots dropped since the last use of
    /// the table are released first and not visited.
    pub(crate) fn for_each_host_gc_root(&mut self, f: &mut dyn FnMut(&mut u32)) {
        self.gc_roots.for_each_live(f);
    }

    /// How many host roots the store holds.
    pub(crate) fn gc_root_counts(&mut self) -> GcRootCounts {
        self.gc_roots.counts()
    }
}

fn check_store(store: &StoreOpaque, root: GcRootIndex) -> Result<()> {
    if root.store_id != store.id() {
        bail!("GC reference used with the wrong store");
    }
    Ok(())
}

impl GcRootCounts {
    /// How many host GC roots `store` holds (scoped, manual and owned) and
    /// how long its slot table is. For tests of root release; not part of
    /// the stable API.
    #[doc(hidden)]
    pub fn of(mut store: impl crate::AsContextMut) -> Self {
        store.as_context_mut().0.opaque.gc_root_counts()
    }

    /// The heap offsets `store`'s collector would see as host roots, in
    /// table order. For tests of root release; not part of the stable API.
    #[doc(hidden)]
    pub fn host_root_offsets(mut store: impl crate::AsContextMut) -> Vec<u32> {
        let mut out = Vec::new();
        store
            .as_context_mut()
            .0
            .opaque
            .for_each_host_gc_root(&mut |w: &mut u32| out.push(*w));
        out
    }
}

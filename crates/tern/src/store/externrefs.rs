//! The store's host `externref`s: the map from the word wasm holds to the
//! [`ExternRef`] it names, and its pruning, so that a host value passed to
//! wasm is dropped once nothing in the store holds it any more.
//!
//! # Words
//! A host `externref` is the `ExternRef`'s `Arc` pointer with bit 62 set
//! ([`HOST_EXTERN`]): the words of the GC's contract are self-describing
//! (`docs/design/gc.md` §2), so any reference slot holding a word with bit 62
//! (and not bit 63, an externalized `anyref`) holds a host value, whatever
//! the slot's type. Compiled code never dereferences such a word; only
//! [`StoreOpaque::externref_from_raw`] turns it back into the `ExternRef`,
//! by looking it up in the map.
//!
//! # Why a map, not extern objects on the GC heap
//! Reference types are on by default and most modules that use `externref`
//! never touch the GC heap; keeping host words as tagged pointers means such
//! code needs no heap, no allocation per reference and no collector. The map
//! is the root set of the host objects wasm may still name, and it is pruned
//! by a precise walk of everything that can hold the words (as wasmtime 12's
//! `VMExternRefActivationsTable` was).
//!
//! # Pruning
//! [`StoreOpaque::register_externref`] marks a prune due when the map grows
//! past a threshold (1,024 entries, then twice the entries that survived the
//! last prune). The prune runs at the next *safe point* — `vm::call_wasm`
//! entering wasm and `vm::host_func`'s entry of a host function called by
//! wasm, each passing its argument buffer as words in flight. These are
//! places where a collection may run too (the safepoint rule of
//! `vm::gc_libcalls`: the host holds the store, so every activation of it is
//! stopped at a recorded exit), and the prune walks the stack the way the
//! collector does. [`crate::Store::gc`] prunes too. Nowhere else may prune:
//! a host operation that converts several values (a call's arguments, a host
//! function's results) holds the first words only in its buffer until the
//! last is converted.
//!
//! The live words are those in: stack slots (`vm::stack_roots`: stack maps
//! name every extern value live across a call), every table and global of
//! the store holding `externref`s, passive element segments, the GC heap (extern objects, `externref` fields
//! and exception payloads)
//! and the safe point's words in flight. Every other entry is removed; its
//! host value drops when the embedder's last clone goes.
//!
//! A missed root cannot make memory unsafe: a word absent from the map reads
//! back as null, and a freed `Arc`'s address reused by a new `ExternRef`
//! would name that one. Both would be bugs in this walk, which the tests in
//! `tests/all/externref_collect.rs` look for.

use super::StoreOpaque;
use crate::vm::ValRaw;
use crate::{ExternRef, ValType};
use std::collections::HashMap;
use tern_environ::WasmHeapType;

/// The bit that marks a host `externref` word (see the module note).
pub(crate) const HOST_EXTERN: u64 = 1 << 62;

/// Bits 62 and 63: which kind of non-null extern word this is.
const TAG_BITS: u64 = 3 << 62;

/// The fewest entries at which a prune becomes due.
const MIN_PRUNE_AT: usize = 1024;

/// Whether `word` (read from a reference slot) is a host `externref`.
pub(crate) fn is_host_extern(word: u64) -> bool {
    word & TAG_BITS == HOST_EXTERN
}

/// Whether values of type `ty` are `externref`s (the slots a prune reads).
fn holds_extern(ty: &ValType) -> bool {
    matches!(ty, ValType::Ref(r) if r.heap_type().to_wasm().top() == WasmHeapType::Extern)
}

/// The store's host references and when to prune them.
pub(crate) struct ExternRefs {
    /// Every host reference wasm may hold, by its word.
    map: HashMap<u64, ExternRef>,
    /// The size past which a prune becomes due.
    prune_at: usize,
    /// Whether the next safe point should prune.
    due: bool,
}

impl Default for ExternRefs {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            prune_at: MIN_PRUNE_AT,
            due: false,
        }
    }
}

impl StoreOpaque {
    /// Keeps `r` reachable from wasm and returns the word wasm holds for it.
    pub(crate) fn register_externref(&mut self, r: &ExternRef) -> u64 {
        let word = r.word();
        let refs = &mut self.externrefs;
        refs.map.entry(word).or_insert_with(|| r.clone());
        if refs.map.len() > refs.prune_at {
            refs.due = true;
        }
        word
    }

    /// The host reference behind an `externref` word read from wasm: `None`
    /// for null; an externalized `anyref` (bit 63) as an `ExternRef` whose
    /// data is that `anyref`, owned-rooted so it lives as long as the `ExternRef`.
    pub(crate) fn externref_from_raw(&mut self, word: u64) -> Option<ExternRef> {
        if word & crate::gc::EXTERNALIZED != 0 {
            let any = crate::AnyRef::owned_from_raw(self, word & !crate::gc::EXTERNALIZED);
            return any.map(ExternRef::new);
        }
        self.externrefs.map.get(&word).cloned()
    }

    /// A safe point (see the module note): prunes if a prune is due.
    /// `in_flight` is the argument buffer the caller is about to hand over,
    /// whose words count as live.
    #[inline]
    pub(crate) fn externref_safe_point(&mut self, in_flight: &[ValRaw]) {
        if self.externrefs.due {
            self.prune_externrefs(in_flight);
        }
    }

    /// Prunes now.
    #[cold]
    pub(crate) fn prune_externrefs(&mut self, in_flight: &[ValRaw]) {
        let mut words = self.gc_heap_extern_words();
        words.extend(in_flight.iter().map(|v| v.get_u64()));
        self.retain_live_externrefs(&words);
    }

    /// The host `externref` words the GC heap holds, in extern objects and
    /// `externref` fields.
    ///
    /// A prune runs without a collection, so this scans the used part of
    /// the heap conservatively: every 8-aligned word that is a registered
    /// host word (64-bit reference fields and extern payloads are 8-aligned,
    /// see `tern_environ::gc_layout`). A number that happens to equal one,
    /// or a host word in garbage not collected yet, only keeps that entry
    /// one prune longer. (The collector also records the host words of the
    /// objects it copies, `GcStats::heap_extern_words`; `Store::gc` could
    /// prune with those instead, but does not yet.)
    fn gc_heap_extern_words(&self) -> Vec<u64> {
        let bytes = self.gc_heap.bytes();
        let used = (self.limits.gc_next() as usize).min(bytes.len());
        bytes[..used]
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .filter(|w| is_host_extern(*w) && self.externrefs.map.contains_key(w))
            .collect()
    }

    /// Drops every host reference that nothing in the store holds any more:
    /// keeps those whose word is in a stack slot, a table, a global, a
    /// passive element segment, an exception's payload, or in
    /// `heap_extern_words` (what the GC heap holds, plus any words in
    /// flight). Must only be called where a collection may run (the
    /// safepoint rule of `vm::gc_libcalls`), since it walks the stack as
    /// the collector does.
    pub(crate) fn retain_live_externrefs(&mut self, heap_extern_words: &[u64]) {
        let mut old = std::mem::take(&mut self.externrefs.map);
        let mut live = HashMap::new();
        let mut keep = |word: u64| {
            if let Some(r) = old.remove(&word) {
                live.insert(word, r);
            }
        };
        crate::vm::stack_roots::for_each_store_stack_root(&self.limits, |slot| keep(*slot));
        for &word in heap_extern_words {
            keep(word);
        }
        for table in &self.tables {
            if holds_extern(&table.ty.element()) {
                table.table.elements().iter().for_each(|w| keep(*w as u64));
            }
        }
        for global in &self.globals {
            if holds_extern(global.ty.content()) {
                keep(global.ptr.get().get_u64());
            }
        }
        for instance in &self.instances {
            for index in 0..instance.module.inner.env.elems.len() as u32 {
                for &word in instance.vm.elem_segment(index) {
                    keep(word as u64);
                }
            }
        }
        let refs = &mut self.externrefs;
        refs.prune_at = MIN_PRUNE_AT.max(2 * live.len());
        refs.map = live;
        refs.due = false;
        // `old` now holds only the dead entries; dropping it drops the
        // store's handles to their host values.
        drop(old);
    }
}

impl StoreOpaque {
    /// What [`crate::Store::gc`] does: collects the GC heap (`gc/collect.rs`),
    /// then prunes the host references, whose heap scan then sees only the
    /// objects that survived.
    pub(crate) fn gc(&mut self) {
        self.gc_collect();
        self.prune_externrefs(&[]);
    }
}

//! Tables of references: a growable vector of words whose definition compiled
//! code reads.
//!
//! A table of GC or host references holds the reference words as they are (0
//! is null). A table of function references is initialised lazily: a slot
//! holds `funcref | 1` once initialised (so null is 1; a `VMFuncRef` is
//! 8-aligned, which frees the low bit) and 0 before, when its value is still
//! the one the module's table image gives it
//! (`tern_environ::table_images`). A new table is therefore a zeroed vector
//! — no per-element work at instantiation — and a slot is resolved the first
//! time it is read: by compiled code through the
//! `table_get_lazy_init_func_ref` libcall when its inline load sees 0, and by
//! [`Table::get`] / [`Table::materialize`] here. Resolving is idempotent (an
//! image slot always stands for the same funcref of the same instance), so
//! funcref identity does not depend on when a slot was resolved.
//!
//! The words live in a `Storage`: a heap vector for on-demand tables, or,
//! with the pooling allocator, a pool slot of `table_elements` words that
//! never moves (growth only lengthens the table inside it) and goes back to
//! the pool, reset to zeros, when the table drops. Since an all-zero table
//! is exactly a fresh one (null, or not resolved yet), a reused slot needs no
//! other preparation.

use super::instance::VMInstance;
use super::mmap::Mmap;
use super::pool::InstancePool;
use super::vmcontext::{VMFuncRef, VMTableDefinition};
use std::cell::UnsafeCell;
use std::sync::Arc;

/// The low bit that marks an initialised slot of a funcref table.
pub const FUNCREF_INIT_BIT: usize = 1;

/// Where the uninitialised slots of a funcref table take their value from.
#[derive(Debug)]
struct LazyImage {
    /// Function index of each of the first slots (`TABLE_IMAGE_NULL`: null).
    image: Arc<[u32]>,
    /// The instance that defined the table, whose functions the image names;
    /// its store keeps it alive as long as this table.
    owner: *mut VMInstance,
}

/// Where a table's words live.
#[derive(Debug)]
enum Storage {
    /// A heap vector, reallocated as the table grows (on-demand tables).
    Heap(Vec<usize>),
    /// A slot of `pool`, read-write throughout: its first `len` words are the
    /// table's, every word after them is zero (the slot comes zeroed and a
    /// table never shrinks).
    Pooled {
        slot: Mmap,
        len: usize,
        pool: Arc<InstancePool>,
    },
}

impl Storage {
    /// The table's words.
    fn words(&self) -> &[usize] {
        match self {
            Storage::Heap(v) => v,
            Storage::Pooled { slot, len, .. } => {
                debug_assert!(*len * WORD <= slot.accessible());
                // SAFETY: the slot is page-aligned (so `usize`-aligned) and its
                // first `len` words lie in its read-write prefix (`len` never
                // exceeds `accessible() / WORD`, checked by `grow`); any bit
                // pattern is a valid `usize`; the shared borrow of `self`
                // excludes writes through this value, and compiled code only
                // writes while no Rust borrow of a table is in use.
                unsafe { std::slice::from_raw_parts(slot.as_ptr().cast::<usize>(), *len) }
            }
        }
    }

    /// The table's words, for writing.
    fn words_mut(&mut self) -> &mut [usize] {
        match self {
            Storage::Heap(v) => v,
            Storage::Pooled { slot, len, .. } => {
                debug_assert!(*len * WORD <= slot.accessible());
                // SAFETY: as in `words`; the exclusive borrow of `self` (and so
                // of the slot) excludes every other access through this value.
                unsafe { std::slice::from_raw_parts_mut(slot.as_ptr().cast::<usize>(), *len) }
            }
        }
    }

    /// Lengthens the table to `new` words, the new ones set to `word`;
    /// false, changing nothing, when a pool slot has no room for them.
    fn grow(&mut self, new: usize, word: usize) -> bool {
        match self {
            Storage::Heap(v) => v.resize(new, word),
            Storage::Pooled { slot, len, .. } => {
                if new > slot.accessible() / WORD {
                    return false;
                }
                let old = std::mem::replace(len, new);
                // Words past the old length are zero already: writing zeros
                // would only make untouched pages resident.
                if word != 0 {
                    self.words_mut()[old..].fill(word);
                }
            }
        }
        true
    }

    /// Where the words start, for compiled code.
    fn base(&mut self) -> *mut usize {
        self.words_mut().as_mut_ptr()
    }
}

/// Bytes per stored word.
const WORD: usize = std::mem::size_of::<usize>();

/// A table owned by a store.
#[derive(Debug)]
pub struct Table {
    storage: Storage,
    def: Box<UnsafeCell<VMTableDefinition>>,
    maximum: Option<u64>,
    /// Whether elements are function references, stored lazily (see the
    /// module note); otherwise words are stored as they are.
    funcref: bool,
    /// The image uninitialised slots resolve from; without one they are null.
    lazy: Option<LazyImage>,
}

// SAFETY: elements are addresses of store-owned funcrefs; the table moves between
// threads only together with its store.
unsafe impl Send for Table {}
// SAFETY: `&Table` only reads.
unsafe impl Sync for Table {}

impl Table {
    /// A table of `minimum` null elements that may grow to `maximum`; with
    /// `funcref`, a table of function references (see the module note).
    ///
    /// # Errors
    /// Fails when `minimum` exceeds the table size limit (10,000,000).
    pub fn new(minimum: u64, maximum: Option<u64>, funcref: bool) -> anyhow::Result<Self> {
        let n = usize::try_from(minimum).ok().filter(|n| *n <= 10_000_000);
        let Some(n) = n else {
            anyhow::bail!("table minimum size of {minimum} elements exceeds table limits")
        };
        Ok(Self::with_storage(
            Storage::Heap(vec![0usize; n]),
            maximum,
            funcref,
        ))
    }

    /// A table of the words in `storage` (all zero).
    fn with_storage(mut storage: Storage, maximum: Option<u64>, funcref: bool) -> Self {
        let def = Box::new(UnsafeCell::new(VMTableDefinition {
            base: storage.base(),
            current_elements: storage.words().len() as u64,
        }));
        Self {
            storage,
            def,
            maximum,
            funcref,
            lazy: None,
        }
    }

    /// Like [`Table::new`], in a slot of `pool`: the table may not have or
    /// grow to more than the pool's `table_elements`, and its slot goes back
    /// to the pool, reset, when it drops.
    ///
    /// # Errors
    /// Fails, naming the limit, when the minimum exceeds `table_elements` or
    /// all table slots are in use.
    pub fn new_pooled(
        pool: &Arc<InstancePool>,
        minimum: u64,
        maximum: Option<u64>,
        funcref: bool,
    ) -> anyhow::Result<Self> {
        let limit = pool.limits().table_elements as u64;
        if minimum > limit {
            anyhow::bail!(
                "table minimum size of {minimum} elements exceeds the pooling allocator's \
                 `table_elements` of {limit}"
            );
        }
        let storage = Storage::Pooled {
            slot: pool.take_table()?,
            len: 0,
            pool: pool.clone(),
        };
        let maximum = Some(maximum.map_or(limit, |m| m.min(limit)));
        // From here on, dropping the table gives the slot back.
        let mut table = Self::with_storage(storage, maximum, funcref);
        // Zero words: all null, or all still to be resolved from the image.
        if !table.storage.grow(minimum as usize, 0) {
            anyhow::bail!("a table slot of the pool has no room for {minimum} elements");
        }
        table.def.get_mut().current_elements = minimum;
        Ok(table)
    }

    /// Number of elements.
    pub fn size(&self) -> u64 {
        self.storage.words().len() as u64
    }

    /// Makes the uninitialised slots of this funcref table take their values
    /// from `image`: function indices of `owner`'s index space, resolved
    /// with [`VMInstance::func_ref`] on first use.
    ///
    /// # Safety
    /// `owner` must be the live, boxed instance that defined this table, and
    /// stay alive and at its address as long as this table (both belong to
    /// one store); every function index in `image` (other than
    /// `TABLE_IMAGE_NULL`) must be a function of its module.
    pub unsafe fn set_image(&mut self, image: Arc<[u32]>, owner: *mut VMInstance) {
        debug_assert!(self.funcref);
        self.lazy = Some(LazyImage { image, owner });
    }

    /// The value of stored word `word` of slot `index`: a reference word (0
    /// for null), resolving an uninitialised funcref slot from the image.
    fn decode(&self, index: usize, word: usize) -> usize {
        if !self.funcref {
            return word;
        }
        if word != 0 {
            return word & !FUNCREF_INIT_BIT;
        }
        let Some(lazy) = &self.lazy else {
            return 0;
        };
        match lazy.image.get(index) {
            Some(&f) if f != tern_environ::TABLE_IMAGE_NULL => {
                // SAFETY: by `set_image`'s contract the owner is alive and `f`
                // is one of its functions; no other reference to the owner is
                // in use while a table operation runs (tables are reached
                // through the store or a libcall, never while an instance is
                // borrowed).
                unsafe { (*lazy.owner).func_ref(f) as usize }
            }
            _ => 0,
        }
    }

    /// The word stored for reference word `value`.
    fn encode(&self, value: usize) -> usize {
        if self.funcref {
            value | FUNCREF_INIT_BIT
        } else {
            value
        }
    }

    /// Element `index` as a raw pointer (0 for null), or `None` out of bounds.
    /// An uninitialised funcref slot is resolved (and stored) now.
    pub fn get(&mut self, index: u64) -> Option<*const VMFuncRef> {
        let i = usize::try_from(index).ok()?;
        let word = *self.storage.words().get(i)?;
        let value = self.decode(i, word);
        if self.funcref && word == 0 {
            self.storage.words_mut()[i] = self.encode(value);
        }
        Some(value as *const VMFuncRef)
    }

    /// Sets element `index`; returns false out of bounds.
    pub fn set(&mut self, index: u64, value: *const VMFuncRef) -> bool {
        let word = self.encode(value as usize);
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.storage.words_mut().get_mut(i))
        {
            Some(slot) => {
                *slot = word;
                true
            }
            None => false,
        }
    }

    /// Sets the `len` elements from `dst` on to `value`; returns false,
    /// changing nothing, when the range is out of bounds.
    pub fn fill(&mut self, dst: u64, len: u64, value: *const VMFuncRef) -> bool {
        let word = self.encode(value as usize);
        match self.range(dst, len) {
            Some(range) => {
                self.storage.words_mut()[range].fill(word);
                true
            }
            None => false,
        }
    }

    /// Writes reference words `values` from element `dst` on; returns false,
    /// changing nothing, when they do not fit.
    pub fn init(&mut self, dst: u64, values: &[usize]) -> bool {
        let Some(range) = self.range(dst, values.len() as u64) else {
            return false;
        };
        let funcref = self.funcref;
        for (slot, value) in self.storage.words_mut()[range].iter_mut().zip(values) {
            *slot = if funcref {
                value | FUNCREF_INIT_BIT
            } else {
                *value
            };
        }
        true
    }

    /// Resolves every uninitialised slot of the `len` elements from `start`
    /// (a no-op out of bounds and for tables of other references), so that
    /// their stored words mean the same in any table ([`Table::elements`]).
    pub fn materialize(&mut self, start: u64, len: u64) {
        if !self.funcref {
            return;
        }
        let Some(range) = self.range(start, len) else {
            return;
        };
        for i in range {
            if self.storage.words()[i] == 0 {
                let word = self.decode(i, 0) | FUNCREF_INIT_BIT;
                self.storage.words_mut()[i] = word;
            }
        }
    }

    /// `start..start + len` when it lies within the table.
    fn range(&self, start: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let end = start.checked_add(len)?;
        if end > self.size() {
            return None;
        }
        Some(start as usize..end as usize)
    }

    /// Grows by `delta` elements set to `init`; returns the old size or `None`.
    pub fn grow(&mut self, delta: u64, init: *const VMFuncRef) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if self.maximum.is_some_and(|m| new > m) || new > 10_000_000 {
            return None;
        }
        let word = self.encode(init as usize);
        if !self.storage.grow(new as usize, word) {
            return None;
        }
        let base = self.storage.base();
        let def = self.def.get_mut();
        def.base = base;
        def.current_elements = new;
        Some(old)
    }

    /// The stored words, mutably: for a funcref table, those of
    /// [`Table::materialize`]d slots are position-independent (`funcref | 1`).
    pub fn elements_mut(&mut self) -> &mut [usize] {
        self.storage.words_mut()
    }

    /// The stored words (see [`Table::elements_mut`]).
    pub fn elements(&self) -> &[usize] {
        self.storage.words()
    }

    /// The definition compiled code reads.
    pub fn definition(&self) -> *mut VMTableDefinition {
        self.def.get()
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Storage::Pooled { slot, len, pool } =
            std::mem::replace(&mut self.storage, Storage::Heap(Vec::new()))
        {
            // Every word the table ever had may have been written; none past.
            pool.return_table(slot, len * WORD);
        }
    }
}

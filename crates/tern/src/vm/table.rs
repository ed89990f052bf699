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

use super::instance::VMInstance;
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

/// A table owned by a store.
#[derive(Debug)]
pub struct Table {
    elements: Vec<usize>,
    def: Box<UnsafeCell<VMTableDefinition>>,
    maximum: Option<u64>,
    /// The pooling allocator counting this table, if any.
    pool: Option<Arc<InstancePool>>,
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
        let mut elements = vec![0usize; n];
        let def = Box::new(UnsafeCell::new(VMTableDefinition {
            base: elements.as_mut_ptr(),
            current_elements: minimum,
        }));
        Ok(Self {
            elements,
            def,
            maximum,
            pool: None,
            funcref,
            lazy: None,
        })
    }

    /// Like [`Table::new`], counted by `pool`: the table may not have or grow
    /// to more than the pool's `table_elements`.
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
        let mut table = Self::new(
            minimum,
            Some(maximum.map_or(limit, |m| m.min(limit))),
            funcref,
        )?;
        pool.take_table()?;
        table.pool = Some(pool.clone());
        Ok(table)
    }

    /// Number of elements.
    pub fn size(&self) -> u64 {
        self.elements.len() as u64
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
        let word = *self.elements.get(i)?;
        let value = self.decode(i, word);
        if self.funcref && word == 0 {
            self.elements[i] = self.encode(value);
        }
        Some(value as *const VMFuncRef)
    }

    /// Sets element `index`; returns false out of bounds.
    pub fn set(&mut self, index: u64, value: *const VMFuncRef) -> bool {
        let word = self.encode(value as usize);
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.elements.get_mut(i))
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
                self.elements[range].fill(word);
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
        for (slot, value) in self.elements[range].iter_mut().zip(values) {
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
            if self.elements[i] == 0 {
                self.elements[i] = self.decode(i, 0) | FUNCREF_INIT_BIT;
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
        self.elements.resize(new as usize, word);
        let def = self.def.get_mut();
        def.base = self.elements.as_mut_ptr();
        def.current_elements = new;
        Some(old)
    }

    /// The stored words, mutably: for a funcref table, those of
    /// [`Table::materialize`]d slots are position-independent (`funcref | 1`).
    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }

    /// The stored words (see [`Table::elements_mut`]).
    pub fn elements(&self) -> &[usize] {
        &self.elements
    }

    /// The definition compiled code reads.
    pub fn definition(&self) -> *mut VMTableDefinition {
        self.def.get()
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.return_table();
        }
    }
}

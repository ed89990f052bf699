//! Tables of references: a growable vector of pointers (`*const VMFuncRef` for
//! funcref tables; 0 is null) whose definition compiled code reads.

use super::pool::InstancePool;
use super::vmcontext::{VMFuncRef, VMTableDefinition};
use std::cell::UnsafeCell;
use std::sync::Arc;

/// A table owned by a store.
#[derive(Debug)]
pub struct Table {
    elements: Vec<usize>,
    def: Box<UnsafeCell<VMTableDefinition>>,
    maximum: Option<u64>,
    /// The pooling allocator counting this table, if any.
    pool: Option<Arc<InstancePool>>,
}

// SAFETY: elements are addresses of store-owned funcrefs; the table moves between
// threads only together with its store.
unsafe impl Send for Table {}
// SAFETY: `&Table` only reads.
unsafe impl Sync for Table {}

impl Table {
    /// A table of `minimum` null elements that may grow to `maximum`.
    pub fn new(minimum: u64, maximum: Option<u64>) -> anyhow::Result<Self> {
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
    ) -> anyhow::Result<Self> {
        let limit = pool.limits().table_elements as u64;
        if minimum > limit {
            anyhow::bail!(
                "table minimum size of {minimum} elements exceeds the pooling allocator's \
                 `table_elements` of {limit}"
            );
        }
        let mut table = Self::new(minimum, Some(maximum.map_or(limit, |m| m.min(limit))))?;
        pool.take_table()?;
        table.pool = Some(pool.clone());
        Ok(table)
    }

    /// Number of elements.
    pub fn size(&self) -> u64 {
        self.elements.len() as u64
    }

    /// Element `index` as a raw pointer (0 for null), or `None` out of bounds.
    pub fn get(&self, index: u64) -> Option<*const VMFuncRef> {
        self.elements
            .get(usize::try_from(index).ok()?)
            .map(|p| *p as *const VMFuncRef)
    }

    /// Sets element `index`; returns false out of bounds.
    pub fn set(&mut self, index: u64, value: *const VMFuncRef) -> bool {
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.elements.get_mut(i))
        {
            Some(slot) => {
                *slot = value as usize;
                true
            }
            None => false,
        }
    }

    /// Grows by `delta` elements set to `init`; returns the old size or `None`.
    pub fn grow(&mut self, delta: u64, init: *const VMFuncRef) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if self.maximum.is_some_and(|m| new > m) || new > 10_000_000 {
            return None;
        }
        self.elements.resize(new as usize, init as usize);
        let def = self.def.get_mut();
        def.base = self.elements.as_mut_ptr();
        def.current_elements = new;
        Some(old)
    }

    /// The elements, mutably.
    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }

    /// The elements.
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

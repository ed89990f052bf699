//! Linear memories: a fixed reservation of 4 GiB plus a guard region per 32-bit
//! memory, of which the first `size` bytes are accessible.
//!
//! Because the base never moves and everything past the current size up to the
//! end of the guard is inaccessible, compiled code needs no bounds check for
//! accesses whose static offset fits in the guard: they fault instead, and the
//! signal handler turns the fault into a `MemoryOutOfBounds` trap.

use super::mmap::Mmap;
use super::vmcontext::VMMemoryDefinition;
use anyhow::{bail, Result};
use std::cell::UnsafeCell;
use tern_environ::{WASM32_MAX_PAGES, WASM_PAGE_SIZE};

/// A linear memory owned by a store.
#[derive(Debug)]
pub struct Memory {
    mmap: Mmap,
    def: Box<UnsafeCell<VMMemoryDefinition>>,
    maximum_pages: u64,
    declared_maximum: Option<u64>,
    memory64: bool,
}

// SAFETY: the definition is only written through `&mut self` (grow) or by
// compiled code running on the thread that owns the store.
unsafe impl Send for Memory {}
// SAFETY: as above; `&Memory` only reads.
unsafe impl Sync for Memory {}

impl Memory {
    /// Creates a memory of `minimum` pages that may grow to `maximum` pages,
    /// reserving 4 GiB plus `guard_size` bytes of address space. A 64-bit
    /// (`memory64`) memory is limited to 4 GiB as well.
    ///
    /// # Errors
    /// Fails if the sizes are beyond 4 GiB or the OS refuses the reservation.
    pub fn new(minimum: u64, maximum: Option<u64>, memory64: bool, guard_size: u64) -> Result<Self> {
        let maximum_pages = maximum.unwrap_or(WASM32_MAX_PAGES).min(WASM32_MAX_PAGES);
        if minimum > maximum_pages {
            bail!("memory minimum size of {minimum} pages exceeds memory limits");
        }
        let reservation = WASM32_MAX_PAGES * WASM_PAGE_SIZE + guard_size;
        let mut mmap = Mmap::reserve(reservation as usize)?;
        let initial = (minimum * WASM_PAGE_SIZE) as usize;
        mmap.make_accessible(0, initial)?;
        let def = Box::new(UnsafeCell::new(VMMemoryDefinition {
            base: mmap.as_ptr(),
            current_length: initial as u64,
        }));
        Ok(Self { mmap, def, maximum_pages, declared_maximum: maximum, memory64 })
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.byte_size() as u64 / WASM_PAGE_SIZE
    }

    /// Current size in bytes.
    pub fn byte_size(&self) -> usize {
        // SAFETY: the definition is only written by `grow`, which needs `&mut self`,
        // or by wasm, which cannot run while the store is borrowed.
        unsafe { (*self.def.get()).current_length as usize }
    }


    /// Grows by `delta` pages; returns the old size in pages, or `None` when the
    /// memory cannot grow that far.
    ///
    /// # Errors
    /// Fails only if the OS refuses to make the pages accessible.
    pub fn grow(&mut self, delta: u64) -> Result<Option<u64>> {
        let old = self.pages();
        let Some(new) = old.checked_add(delta).filter(|n| *n <= self.maximum_pages) else {
            return Ok(None);
        };
        self.mmap.make_accessible(0, (new * WASM_PAGE_SIZE) as usize)?;
        self.def.get_mut().current_length = new * WASM_PAGE_SIZE;
        Ok(Some(old))
    }

    /// The first byte of the memory.
    pub fn base(&self) -> *mut u8 {
        self.mmap.as_ptr()
    }

    /// The definition compiled code reads.
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        self.def.get()
    }

    /// The memory's contents.
    pub fn data(&self) -> &[u8] {
        // SAFETY: [base, base + current_length) is mapped read-write for as long as
        // self lives; wasm cannot write it while this shared borrow exists because
        // running wasm needs the store mutably.
        unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), self.byte_size()) }
    }

    /// The memory's contents, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let len = self.byte_size();
        // SAFETY: as in `data`, and the exclusive borrow excludes other access.
        unsafe { std::slice::from_raw_parts_mut(self.mmap.as_ptr(), len) }
    }
}

impl Memory {
    /// The memory's current type: its size as minimum and its maximum.
    pub fn ty(&self) -> crate::MemoryType {
        let maximum = self.declared_maximum;
        if self.memory64 {
            crate::MemoryType::new64(self.pages(), maximum)
        } else {
            crate::MemoryType::new(self.pages() as u32, maximum.map(|m| m as u32))
        }
    }
}

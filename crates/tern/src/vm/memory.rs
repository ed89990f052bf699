//! Linear memories, in the two layouts `tern_environ::MemoryStyle` chooses.
//!
//! * Static: the whole reservation (at least the maximum size) plus a guard is
//!   reserved once; the base never moves. With the default 4 GiB reservation and
//!   2 GiB guard, compiled code needs no bounds checks: an out-of-bounds access
//!   faults and the signal handler turns the fault into `MemoryOutOfBounds`.
//! * Dynamic: only the current size plus a small guard is reserved; growing past
//!   the reservation moves the memory to a larger one (compiled code reloads the
//!   base and checks every access against the current length).
//!
//! When the memory is dropped (with its store), a memory of the pooling
//! allocator (`Memory::new_pooled`) gives its slot back to the pool, a static
//! memory of the on-demand allocator gives its reservation back to where its
//! store's `arena` took it from (the engine's `MappingCache`, or the store's
//! own batches; each resets it for the next instance when it is kept), and
//! anything else is returned to the OS.

use super::arena::{self, StoreArena};
use super::mmap::Mmap;
use super::pool::InstancePool;
use super::vmcontext::VMMemoryDefinition;
use anyhow::{bail, Result};
use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::sync::Arc;
use tern_environ::{MemoryStyle, WASM32_MAX_PAGES, WASM_PAGE_SIZE};

/// A linear memory owned by a store.
#[derive(Debug)]
pub struct Memory {
    /// The reservation; taken out only by `drop` (to give it back to `pool`).
    mmap: ManuallyDrop<Mmap>,
    def: Box<UnsafeCell<VMMemoryDefinition>>,
    maximum_pages: u64,
    declared_maximum: Option<u64>,
    memory64: bool,
    style: MemoryStyle,
    /// Where the reservation goes when the memory is dropped.
    home: Home,
    /// Whether a copy-on-write image was mapped into the reservation.
    image_mapped: bool,
}

/// Where a memory's reservation goes back to.
#[derive(Debug)]
enum Home {
    /// A slot of the pooling allocator.
    Pool(Arc<InstancePool>),
    /// The on-demand allocator (the OS, or for static memories, whose
    /// reservation never moves or changes size, the engine's cache or the
    /// store's batches).
    OnDemand(arena::Home),
}

// SAFETY: the definition is only written through `&mut self` (grow) or by
// compiled code running on the thread that owns the store.
unsafe impl Send for Memory {}
// SAFETY: as above; `&Memory` only reads.
unsafe impl Sync for Memory {}

impl Memory {
    /// Creates a memory of `minimum` pages that may grow to `maximum` pages (at
    /// most 4 GiB, also for 64-bit memories), laid out in `style`. A static
    /// memory takes its reservation from its store's `arena` when given (and
    /// gives it back there when dropped).
    ///
    /// # Errors
    /// Fails if the minimum exceeds the limits or the OS refuses the reservation.
    pub fn new(
        minimum: u64,
        maximum: Option<u64>,
        memory64: bool,
        style: MemoryStyle,
        arena: Option<&mut StoreArena>,
    ) -> Result<Self> {
        let maximum_pages = maximum.unwrap_or(WASM32_MAX_PAGES).min(WASM32_MAX_PAGES);
        if minimum > maximum_pages {
            bail!("memory minimum size of {minimum} pages exceeds memory limits");
        }
        let initial = (minimum * WASM_PAGE_SIZE) as usize;
        let reservation = match style {
            MemoryStyle::Static { reservation, guard } => reservation + guard,
            MemoryStyle::Dynamic { guard } => initial as u64 + guard,
        };
        let arena = arena.filter(|_| matches!(style, MemoryStyle::Static { .. }));
        let (mut mmap, home) = match arena {
            Some(arena) => {
                // Zero up to its accessible prefix (a reused one may have one).
                // (On an error the mapping is released, not kept for reuse.)
                let (mut mmap, home) = arena.take_memory(reservation as usize)?;
                mmap.shrink_accessible(initial)?;
                (mmap, home)
            }
            None => (Mmap::reserve(reservation as usize)?, arena::Home::Os),
        };
        mmap.make_accessible(0, initial)?;
        let home = Home::OnDemand(home);
        Ok(Self::around(
            mmap,
            initial,
            maximum_pages,
            maximum,
            memory64,
            style,
            home,
        ))
    }

    /// Like [`Memory::new`], in a slot of `pool`: the memory may not be or
    /// grow larger than the pool's `max_memory_size`, and a dynamic memory
    /// gets a reservation that size up front, so it never moves.
    ///
    /// # Errors
    /// Fails, naming the limit, when the minimum exceeds `max_memory_size` or
    /// all memory slots are in use, or if the OS refuses.
    pub fn new_pooled(
        pool: &Arc<InstancePool>,
        minimum: u64,
        maximum: Option<u64>,
        memory64: bool,
        style: MemoryStyle,
    ) -> Result<Self> {
        let max_size = pool.limits().max_memory_size as u64;
        let pool_pages = max_size / WASM_PAGE_SIZE;
        if minimum > pool_pages {
            bail!(
                "memory minimum size of {minimum} pages exceeds the pooling allocator's \
                 `max_memory_size` of {max_size} bytes"
            );
        }
        let maximum_pages = maximum
            .unwrap_or(WASM32_MAX_PAGES)
            .min(WASM32_MAX_PAGES)
            .min(pool_pages);
        if minimum > maximum_pages {
            bail!("memory minimum size of {minimum} pages exceeds memory limits");
        }
        let initial = (minimum * WASM_PAGE_SIZE) as usize;
        let reservation = match style {
            MemoryStyle::Static { reservation, guard } => reservation + guard,
            MemoryStyle::Dynamic { guard } => maximum_pages * WASM_PAGE_SIZE + guard,
        };
        let page = super::mmap::page_size() as u64;
        let reservation = reservation.div_ceil(page) * page;
        let mut mmap = pool.take_memory(reservation as usize)?;
        // A reused slot is zeroed up to its accessible prefix (see `pool`).
        let opened = mmap
            .shrink_accessible(initial)
            .and_then(|()| mmap.make_accessible(0, initial));
        let memory = Self::around(
            mmap,
            initial,
            maximum_pages,
            maximum,
            memory64,
            style,
            Home::Pool(pool.clone()),
        );
        opened.map(|()| memory)
    }

    fn around(
        mmap: Mmap,
        initial: usize,
        maximum_pages: u64,
        declared_maximum: Option<u64>,
        memory64: bool,
        style: MemoryStyle,
        home: Home,
    ) -> Self {
        let def = Box::new(UnsafeCell::new(VMMemoryDefinition {
            base: mmap.as_ptr(),
            current_length: initial as u64,
        }));
        Self {
            mmap: ManuallyDrop::new(mmap),
            def,
            maximum_pages,
            declared_maximum,
            memory64,
            style,
            home,
            image_mapped: false,
        }
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

    /// The declared maximum in pages, if any.
    pub fn declared_maximum(&self) -> Option<u64> {
        self.declared_maximum
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` when the
    /// memory cannot grow that far.
    ///
    /// # Errors
    /// Fails only if the OS refuses to provide the pages.
    pub fn grow(&mut self, delta: u64) -> Result<Option<u64>> {
        let old = self.pages();
        let Some(new) = old.checked_add(delta).filter(|n| *n <= self.maximum_pages) else {
            return Ok(None);
        };
        let new_bytes = (new * WASM_PAGE_SIZE) as usize;
        if let MemoryStyle::Dynamic { guard } = self.style {
            let old_bytes = self.byte_size();
            let fits = new_bytes as u64 + guard <= self.mmap.reservation() as u64;
            if !fits {
                // Move to a reservation with room to grow again before the next move.
                let room = (new_bytes as u64)
                    .max(2 * old_bytes as u64)
                    .min(WASM32_MAX_PAGES * WASM_PAGE_SIZE);
                let mut bigger = Mmap::reserve((room + guard) as usize)?;
                bigger.make_accessible(0, new_bytes)?;
                bigger.as_mut_slice()[..old_bytes]
                    .copy_from_slice(&self.mmap.as_slice()[..old_bytes]);
                // (A pooled memory is reserved for its largest size, so it
                // never gets here; its slot goes back to the pool on drop.)
                drop(std::mem::replace(&mut *self.mmap, bigger));
                self.image_mapped = false;
                self.def.get_mut().base = self.mmap.as_ptr();
            }
        }
        self.mmap.make_accessible(0, new_bytes)?;
        self.def.get_mut().current_length = new_bytes as u64;
        Ok(Some(old))
    }

    /// Maps `len` bytes of `file` from `file_offset` copy-on-write over the
    /// memory's bytes `[offset, offset + len)` (see `Mmap::map_file_private`;
    /// `vm::memory_image` is the caller and keeps the file's promise). If a
    /// dynamic memory later moves, `grow` copies the contents, private writes
    /// included, into the new anonymous reservation and unmaps this one.
    ///
    /// # Errors
    /// Fails on a misaligned range or one beyond the current size, or when the
    /// OS refuses the mapping.
    pub(crate) fn map_image(
        &mut self,
        offset: usize,
        len: usize,
        file: &std::fs::File,
        file_offset: u64,
    ) -> Result<()> {
        if offset
            .checked_add(len)
            .is_none_or(|end| end > self.byte_size())
        {
            bail!("memory image lies beyond the memory's size");
        }
        self.image_mapped = true;
        self.mmap.map_file_private(offset, len, file, file_offset)
    }

    /// The first byte of the memory (moves when a dynamic memory grows).
    pub fn base(&self) -> *mut u8 {
        self.mmap.as_ptr()
    }

    /// The definition compiled code reads.
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        self.def.get()
    }

    /// The memory's contents.
    pub fn data(&self) -> &[u8] {
        // Wasm cannot write the memory while this shared borrow exists, because
        // running wasm needs the store mutably. The mapping's accessible prefix
        // is exactly the current length (`new` and `grow` keep them equal).
        &self.mmap.as_slice()[..self.byte_size()]
    }

    /// The memory's contents, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let len = self.byte_size();
        &mut self.mmap.as_mut_slice()[..len]
    }

    /// The memory's current type: its size as minimum and its declared maximum.
    pub fn ty(&self) -> crate::MemoryType {
        if self.memory64 {
            crate::MemoryType::new64(self.pages(), self.declared_maximum)
        } else {
            crate::MemoryType::new(self.pages() as u32, self.declared_maximum.map(|m| m as u32))
        }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: `mmap` is taken out exactly once, here, and never used after.
        let mmap = unsafe { ManuallyDrop::take(&mut self.mmap) };
        match &self.home {
            Home::Pool(pool) => pool.return_memory(mmap, self.image_mapped),
            Home::OnDemand(home) => home.give_memory(mmap, self.image_mapped),
        }
    }
}

//! The pooling instance allocator's runtime side: bounded numbers of live
//! instances, memories and tables per engine, and address-space slots that are
//! kept and reused instead of mapped and unmapped for every instance.
//!
//! A slot is an [`Mmap`] reservation: a vmctx slot of `max_core_instance_size`
//! bytes, a table slot of `table_elements` words (read-write throughout; see
//! `vm/table.rs`), or a linear-memory slot as large as the memory's layout
//! requires (the same reservation and guard as without the pool, since compiled
//! code does not depend on the allocator). Slots are reserved the first time
//! they are needed and, when their instance, table or memory is dropped, reset
//! and put on a free list: the first `keep_resident` bytes
//! (`linear_memory_keep_resident`, `table_keep_resident`, one page of a vmctx)
//! are zeroed in place (they stay resident, so the next user takes no page
//! faults there) and the rest is discarded with `madvise(MADV_DONTNEED)`, so it
//! reads as zeros again; a memory that had a copy-on-write image mapped gets
//! anonymous pages mapped back over it instead (discarding a private file
//! mapping would bring the image back).
//!
//! Counting is done with a mutex-protected record per engine; the limits come
//! from the public `PoolingAllocationConfig`, checked once by `Engine::new`.

use super::mmap::Mmap;
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The limits of a pool (the public `PoolingAllocationConfig`, validated).
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    /// Live core instances at most.
    pub total_core_instances: u32,
    /// Live defined linear memories at most.
    pub total_memories: u32,
    /// Live defined tables at most.
    pub total_tables: u32,
    /// Largest size, in bytes, a pooled memory may have or grow to.
    pub max_memory_size: usize,
    /// Largest number of elements a pooled table may have or grow to.
    pub table_elements: usize,
    /// Largest vmctx, in bytes.
    pub max_core_instance_size: usize,
    /// Defined memories per module at most.
    pub max_memories_per_module: u32,
    /// Defined tables per module at most.
    pub max_tables_per_module: u32,
    /// Bytes of a memory slot zeroed in place (kept resident) on reuse.
    pub linear_memory_keep_resident: usize,
    /// Bytes of a table slot zeroed in place (kept resident) on reuse.
    pub table_keep_resident: usize,
}

#[derive(Debug, Default)]
struct State {
    live_instances: u32,
    live_memories: u32,
    live_tables: u32,
    /// Reset vmctx slots, each `max_core_instance_size` bytes, read-write.
    free_vmctx: Vec<Mmap>,
    /// Reset memory slots by reservation length; each keeps its accessible
    /// prefix read-write (zeroed).
    free_memories: HashMap<usize, Vec<Mmap>>,
    /// Reset table slots, each `table_elements` words, read-write and zero.
    free_tables: Vec<Mmap>,
}

/// One engine's pool.
#[derive(Debug)]
pub struct InstancePool {
    limits: PoolLimits,
    state: Mutex<State>,
}

impl InstancePool {
    /// A pool with `limits`, holding no slot yet.
    pub fn new(limits: PoolLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            state: Mutex::new(State::default()),
        })
    }

    /// The pool's limits.
    pub fn limits(&self) -> &PoolLimits {
        &self.limits
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while the lock was held left only counters behind, which
        // stay consistent (every change is a single statement).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes an instance slot for a vmctx of `size` bytes (zeroed).
    ///
    /// # Errors
    /// Fails, naming the limit, when the vmctx is too large or all instance
    /// slots are in use, or when the OS refuses a new reservation.
    pub fn take_instance(&self, size: usize) -> Result<Mmap> {
        let l = &self.limits;
        if size > l.max_core_instance_size {
            bail!(
                "instance needs a {size}-byte VMContext, more than the pooling allocator's \
                 `max_core_instance_size` of {} bytes",
                l.max_core_instance_size
            );
        }
        let mut state = self.state();
        if state.live_instances >= l.total_core_instances {
            bail!(
                "maximum concurrent instance limit of {} reached (pooling allocator's \
                 `total_core_instances`)",
                l.total_core_instances
            );
        }
        let slot = match state.free_vmctx.pop() {
            Some(slot) => slot,
            None => Mmap::accessible_zeroed(l.max_core_instance_size)?,
        };
        state.live_instances += 1;
        Ok(slot)
    }

    /// Gives back an instance slot whose first `used` bytes may be non-zero.
    pub fn return_instance(&self, mut slot: Mmap, used: usize) {
        let ok = reset(&mut slot, used, super::mmap::page_size(), false).is_ok();
        let mut state = self.state();
        state.live_instances -= 1;
        if ok {
            state.free_vmctx.push(slot);
        }
    }

    /// A memory slot of `reservation` bytes (a reused one when there is one).
    ///
    /// # Errors
    /// Fails, naming the limit, when all memory slots are in use, or when the
    /// OS refuses a new reservation.
    pub fn take_memory(&self, reservation: usize) -> Result<Mmap> {
        let mut state = self.state();
        if state.live_memories >= self.limits.total_memories {
            bail!(
                "maximum concurrent memory limit of {} reached (pooling allocator's \
                 `total_memories`)",
                self.limits.total_memories
            );
        }
        let slot = match state.free_memories.get_mut(&reservation).and_then(Vec::pop) {
            Some(slot) => slot,
            None => Mmap::reserve(reservation)?,
        };
        state.live_memories += 1;
        Ok(slot)
    }

    /// A table slot: `table_elements` words, read-write and all zero (a
    /// reused one when there is one).
    ///
    /// # Errors
    /// Fails, naming the limit, when all table slots are in use, or when the
    /// OS refuses a new reservation.
    pub fn take_table(&self) -> Result<Mmap> {
        let mut state = self.state();
        if state.live_tables >= self.limits.total_tables {
            bail!(
                "maximum concurrent table limit of {} reached (pooling allocator's \
                 `total_tables`)",
                self.limits.total_tables
            );
        }
        let slot = match state.free_tables.pop() {
            Some(slot) => slot,
            None => {
                let Some(bytes) = self
                    .limits
                    .table_elements
                    .checked_mul(std::mem::size_of::<usize>())
                else {
                    bail!("the pooling allocator's `table_elements` is too large");
                };
                Mmap::accessible_zeroed(bytes)?
            }
        };
        state.live_tables += 1;
        Ok(slot)
    }

    /// Gives back a memory slot (read-write up to its accessible prefix),
    /// `image_mapped` when a copy-on-write image may be mapped in it.
    pub fn return_memory(&self, mut slot: Mmap, image_mapped: bool) {
        let used = slot.accessible();
        let ok = reset(
            &mut slot,
            used,
            self.limits.linear_memory_keep_resident,
            image_mapped,
        )
        .is_ok();
        let mut state = self.state();
        state.live_memories -= 1;
        if ok {
            state
                .free_memories
                .entry(slot.reservation())
                .or_default()
                .push(slot);
        }
    }

    /// Gives back a table slot whose first `used` bytes may be non-zero.
    pub fn return_table(&self, mut slot: Mmap, used: usize) {
        let ok = reset(&mut slot, used, self.limits.table_keep_resident, false).is_ok();
        let mut state = self.state();
        state.live_tables -= 1;
        if ok {
            state.free_tables.push(slot);
        }
    }
}

/// Makes the first `used` bytes of `slot` zero again: the first
/// `keep_resident` of them in place, the rest discarded (or, with
/// `image_mapped`, all of them replaced by fresh anonymous pages).
fn reset(slot: &mut Mmap, used: usize, keep_resident: usize, image_mapped: bool) -> Result<()> {
    let used = used.min(slot.accessible());
    if image_mapped {
        return slot.replace_with_zero_pages(0, used);
    }
    let page = super::mmap::page_size();
    let keep = keep_resident.div_ceil(page).saturating_mul(page).min(used);
    slot.as_mut_slice()[..keep].fill(0);
    if used > keep {
        slot.discard(keep, used - keep)?;
    }
    Ok(())
}

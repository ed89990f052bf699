//! How instances get their memory: [`InstanceAllocationStrategy`] and the
//! pooling allocator's knobs, [`PoolingAllocationConfig`] (wasmtime's names:
//! the later `total_*`/`max_*` spelling, with wasmtime 12's `instance_*`
//! methods kept as aliases).
//!
//! With [`InstanceAllocationStrategy::Pooling`], an engine bounds how many core
//! instances, memories and tables may be live at once and keeps the address
//! space of dropped ones for reuse (see `vm/pool.rs`): instantiating then
//! maps nothing new. A module that cannot fit the pool is refused when it is
//! compiled or loaded, with an error naming the limit; a pool that is full
//! refuses the instantiation the same way.

use anyhow::{bail, Result};
use tern_environ::WASM_PAGE_SIZE;

/// Where instances, memories and tables come from (`Config::allocation_strategy`).
#[derive(Debug, Clone, Default)]
pub enum InstanceAllocationStrategy {
    /// Each is allocated when its instance is created and freed with its store
    /// (the default).
    #[default]
    OnDemand,
    /// Each comes from a pool of bounded size, reused after its store drops.
    Pooling(PoolingAllocationConfig),
}

impl InstanceAllocationStrategy {
    /// The pooling strategy with the default limits.
    pub fn pooling() -> Self {
        Self::Pooling(PoolingAllocationConfig::default())
    }
}

/// The limits of the pooling allocator (`InstanceAllocationStrategy::Pooling`).
#[derive(Debug, Clone)]
pub struct PoolingAllocationConfig {
    pub(crate) total_core_instances: u32,
    pub(crate) total_memories: u32,
    pub(crate) total_tables: u32,
    pub(crate) max_memory_size: usize,
    pub(crate) table_elements: usize,
    pub(crate) max_core_instance_size: usize,
    pub(crate) max_memories_per_module: u32,
    pub(crate) max_tables_per_module: u32,
    pub(crate) linear_memory_keep_resident: usize,
    pub(crate) table_keep_resident: usize,
}

impl Default for PoolingAllocationConfig {
    /// wasmtime's defaults: 1,000 instances, memories and tables, 4 GiB
    /// memories, 20,000 table elements, 1 MiB per instance's `VMContext`, one
    /// memory and one table per module, nothing kept resident.
    fn default() -> Self {
        Self {
            total_core_instances: 1000,
            total_memories: 1000,
            total_tables: 1000,
            max_memory_size: 4 << 30,
            table_elements: 20_000,
            max_core_instance_size: 1 << 20,
            max_memories_per_module: 1,
            max_tables_per_module: 1,
            linear_memory_keep_resident: 0,
            table_keep_resident: 0,
        }
    }
}

impl PoolingAllocationConfig {
    /// The pooling allocator with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many core instances may be live at once (default 1,000).
    pub fn total_core_instances(&mut self, count: u32) -> &mut Self {
        self.total_core_instances = count;
        self
    }

    /// How many defined linear memories may be live at once (default 1,000).
    pub fn total_memories(&mut self, count: u32) -> &mut Self {
        self.total_memories = count;
        self
    }

    /// How many defined tables may be live at once (default 1,000).
    pub fn total_tables(&mut self, count: u32) -> &mut Self {
        self.total_tables = count;
        self
    }

    /// The largest size in bytes a memory may start with or grow to (default
    /// 4 GiB); `memory.grow` beyond it fails.
    pub fn max_memory_size(&mut self, bytes: usize) -> &mut Self {
        self.max_memory_size = bytes;
        self
    }

    /// The most elements a table may start with or grow to (default 20,000).
    pub fn table_elements(&mut self, elements: usize) -> &mut Self {
        self.table_elements = elements;
        self
    }

    /// The largest `VMContext` of an instance, in bytes (default 1 MiB).
    pub fn max_core_instance_size(&mut self, bytes: usize) -> &mut Self {
        self.max_core_instance_size = bytes;
        self
    }

    /// The most defined memories one module may have (default 1).
    pub fn max_memories_per_module(&mut self, count: u32) -> &mut Self {
        self.max_memories_per_module = count;
        self
    }

    /// The most defined tables one module may have (default 1).
    pub fn max_tables_per_module(&mut self, count: u32) -> &mut Self {
        self.max_tables_per_module = count;
        self
    }

    /// How many bytes at the start of a memory slot are zeroed in place, and
    /// stay resident, when the slot is reused (default 0: every page is
    /// returned to the OS with `madvise(MADV_DONTNEED)`).
    pub fn linear_memory_keep_resident(&mut self, bytes: usize) -> &mut Self {
        self.linear_memory_keep_resident = bytes;
        self
    }

    /// How many bytes at the start of a table slot are zeroed in place, and
    /// stay resident, when the slot is reused (default 0: every page is
    /// returned to the OS with `madvise(MADV_DONTNEED)`).
    pub fn table_keep_resident(&mut self, bytes: usize) -> &mut Self {
        self.table_keep_resident = bytes;
        self
    }

    /// wasmtime 12's name for [`Self::total_core_instances`].
    pub fn instance_count(&mut self, count: u32) -> &mut Self {
        self.total_core_instances(count)
    }

    /// wasmtime 12's name for [`Self::max_memories_per_module`].
    pub fn instance_memories(&mut self, count: u32) -> &mut Self {
        self.max_memories_per_module(count)
    }

    /// wasmtime 12's name for [`Self::max_tables_per_module`].
    pub fn instance_tables(&mut self, count: u32) -> &mut Self {
        self.max_tables_per_module(count)
    }

    /// wasmtime 12's limit on memory size, in 64 KiB pages
    /// ([`Self::max_memory_size`] in bytes).
    pub fn instance_memory_pages(&mut self, pages: u64) -> &mut Self {
        let bytes = pages.saturating_mul(WASM_PAGE_SIZE);
        self.max_memory_size(usize::try_from(bytes).unwrap_or(usize::MAX))
    }

    /// wasmtime 12's name for [`Self::table_elements`].
    pub fn instance_table_elements(&mut self, elements: u32) -> &mut Self {
        self.table_elements(elements as usize)
    }

    /// wasmtime 12's name for [`Self::max_core_instance_size`].
    pub fn instance_size(&mut self, bytes: usize) -> &mut Self {
        self.max_core_instance_size(bytes)
    }

    /// The limits the runtime enforces, checked.
    pub(crate) fn limits(&self) -> Result<crate::vm::pool::PoolLimits> {
        if self.max_memory_size as u64 > tern_environ::WASM32_MAX_PAGES * WASM_PAGE_SIZE {
            bail!("the pooling allocator's `max_memory_size` cannot exceed 4 GiB");
        }
        Ok(crate::vm::pool::PoolLimits {
            total_core_instances: self.total_core_instances,
            total_memories: self.total_memories,
            total_tables: self.total_tables,
            max_memory_size: self.max_memory_size,
            table_elements: self.table_elements,
            max_core_instance_size: self.max_core_instance_size,
            max_memories_per_module: self.max_memories_per_module,
            max_tables_per_module: self.max_tables_per_module,
            linear_memory_keep_resident: self.linear_memory_keep_resident,
            table_keep_resident: self.table_keep_resident,
        })
    }
}

/// Checks that `module` fits every per-module limit of `limits`.
///
/// # Errors
/// Names the first limit the module exceeds.
pub(crate) fn check_module(
    limits: &crate::vm::pool::PoolLimits,
    env: &tern_environ::Module,
    vmctx_size: u32,
) -> Result<()> {
    let memories = &env.memories[env.num_imported_memories as usize..];
    let tables = &env.tables[env.num_imported_tables as usize..];
    if memories.len() > limits.max_memories_per_module as usize {
        bail!(
            "defined memories count of {} exceeds the pooling allocator's per-module limit \
             `max_memories_per_module` of {}",
            memories.len(),
            limits.max_memories_per_module
        );
    }
    if tables.len() > limits.max_tables_per_module as usize {
        bail!(
            "defined tables count of {} exceeds the pooling allocator's per-module limit \
             `max_tables_per_module` of {}",
            tables.len(),
            limits.max_tables_per_module
        );
    }
    for plan in memories {
        if plan.minimum.saturating_mul(WASM_PAGE_SIZE) > limits.max_memory_size as u64 {
            bail!(
                "memory minimum size of {} pages exceeds the pooling allocator's \
                 `max_memory_size` of {} bytes",
                plan.minimum,
                limits.max_memory_size
            );
        }
    }
    for plan in tables {
        if plan.minimum > limits.table_elements as u64 {
            bail!(
                "table minimum size of {} elements exceeds the pooling allocator's \
                 `table_elements` of {}",
                plan.minimum,
                limits.table_elements
            );
        }
    }
    if vmctx_size as usize > limits.max_core_instance_size {
        bail!(
            "instance needs a {vmctx_size}-byte VMContext, more than the pooling allocator's \
             `max_core_instance_size` of {} bytes",
            limits.max_core_instance_size
        );
    }
    Ok(())
}

//! Resource limits: the [`ResourceLimiter`] trait an embedder implements to
//! bound what a store's wasm may allocate, its async twin
//! [`ResourceLimiterAsync`], and [`StoreLimits`], a ready-made (synchronous)
//! limiter built with [`StoreLimitsBuilder`]. Install one with
//! `Store::limiter` or `Store::limiter_async`.
//!
//! The store consults the limiter before creating instances, memories and
//! tables, and before every memory or table growth (from wasm or the API). A
//! refusal makes `memory.grow`/`table.grow` return -1 (or the API call fail);
//! an `Err` from the limiter traps the wasm that asked, carrying that error.
//!
//! An async limiter's futures are awaited on the fiber of the async call that
//! asked (as async host functions are: the fiber suspends while the future is
//! pending), so it can only answer during async calls and async
//! instantiation; anywhere else (a synchronous `Memory::grow` outside any
//! call, say) asking it is an error, never a panic. [`Limiter`] is the one
//! place that tells the two kinds apart.

use crate::vm::fiber::AsyncCxPtr;
use anyhow::{bail, Result};

/// Instances, memories and tables a store may hold when no limiter says otherwise.
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// See [`DEFAULT_INSTANCE_LIMIT`].
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;
/// See [`DEFAULT_INSTANCE_LIMIT`].
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;

/// Decides how much a store may allocate.
pub trait ResourceLimiter {
    /// A memory wants to grow from `current` to `desired` bytes (`maximum` is
    /// its declared maximum). Return `Ok(false)` to refuse (wasm sees -1), or
    /// `Err` to trap.
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// A memory growth that was allowed failed anyway (e.g. past its maximum).
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    fn memory_grow_failed(&mut self, error: &anyhow::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// A table wants to grow from `current` to `desired` elements.
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    fn table_growing(&mut self, current: u32, desired: u32, maximum: Option<u32>) -> Result<bool>;

    /// A table growth that was allowed failed anyway.
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    fn table_grow_failed(&mut self, error: &anyhow::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// How many instances the store may hold.
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// How many tables the store may hold.
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }

    /// How many memories the store may hold.
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }
}

/// The async twin of [`ResourceLimiter`] (install it with
/// `Store::limiter_async`): the growth questions are `async`, so the answer
/// may wait for something (a quota service, a semaphore) without blocking
/// the thread. Only usable with `Config::async_support` and async calls
/// (see the module note).
#[async_trait::async_trait]
pub trait ResourceLimiterAsync {
    /// [`ResourceLimiter::memory_growing`], answered asynchronously.
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    async fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// [`ResourceLimiter::memory_grow_failed`].
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    fn memory_grow_failed(&mut self, error: &anyhow::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// [`ResourceLimiter::table_growing`], answered asynchronously.
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    async fn table_growing(
        &mut self,
        current: u32,
        desired: u32,
        maximum: Option<u32>,
    ) -> Result<bool>;

    /// [`ResourceLimiter::table_grow_failed`].
    ///
    /// # Errors
    /// An error traps the wasm that asked to grow.
    fn table_grow_failed(&mut self, error: &anyhow::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// [`ResourceLimiter::instances`].
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// [`ResourceLimiter::tables`].
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }

    /// [`ResourceLimiter::memories`].
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }
}

/// A store's installed limiter, of either kind, as the store asks it.
pub(crate) enum Limiter<'a> {
    /// Installed by `Store::limiter`.
    Sync(&'a mut dyn ResourceLimiter),
    /// Installed by `Store::limiter_async`; `Some` with the store's fiber
    /// context when an async call of the store is running.
    Async(&'a mut dyn ResourceLimiterAsync, Option<AsyncCxPtr>),
}

impl Limiter<'_> {
    /// Awaits `future` on the running fiber.
    fn wait<R>(
        acx: Option<AsyncCxPtr>,
        future: impl std::future::Future<Output = Result<R>> + Send,
    ) -> Result<R> {
        let Some(acx) = acx else {
            bail!(
                "a `ResourceLimiterAsync` can only answer during async calls \
                 (`call_async`, `instantiate_async`, `Memory::grow_async`, ...)"
            );
        };
        acx.block_on(future)?
    }

    /// See [`ResourceLimiter::memory_growing`].
    pub(crate) fn memory_growing(
        self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        match self {
            Self::Sync(l) => l.memory_growing(current, desired, maximum),
            Self::Async(l, acx) => Self::wait(acx, l.memory_growing(current, desired, maximum)),
        }
    }

    /// See [`ResourceLimiter::memory_grow_failed`].
    pub(crate) fn memory_grow_failed(self, error: &anyhow::Error) -> Result<()> {
        match self {
            Self::Sync(l) => l.memory_grow_failed(error),
            Self::Async(l, _) => l.memory_grow_failed(error),
        }
    }

    /// See [`ResourceLimiter::table_growing`].
    pub(crate) fn table_growing(
        self,
        current: u32,
        desired: u32,
        maximum: Option<u32>,
    ) -> Result<bool> {
        match self {
            Self::Sync(l) => l.table_growing(current, desired, maximum),
            Self::Async(l, acx) => Self::wait(acx, l.table_growing(current, desired, maximum)),
        }
    }

    /// See [`ResourceLimiter::table_grow_failed`].
    pub(crate) fn table_grow_failed(self, error: &anyhow::Error) -> Result<()> {
        match self {
            Self::Sync(l) => l.table_grow_failed(error),
            Self::Async(l, _) => l.table_grow_failed(error),
        }
    }

    /// See [`ResourceLimiter::instances`].
    pub(crate) fn instances(&self) -> usize {
        match self {
            Self::Sync(l) => l.instances(),
            Self::Async(l, _) => l.instances(),
        }
    }

    /// See [`ResourceLimiter::tables`].
    pub(crate) fn tables(&self) -> usize {
        match self {
            Self::Sync(l) => l.tables(),
            Self::Async(l, _) => l.tables(),
        }
    }

    /// See [`ResourceLimiter::memories`].
    pub(crate) fn memories(&self) -> usize {
        match self {
            Self::Sync(l) => l.memories(),
            Self::Async(l, _) => l.memories(),
        }
    }
}

/// A [`ResourceLimiter`] with fixed bounds.
#[derive(Debug, Clone)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<u32>,
    instances: usize,
    tables: usize,
    memories: usize,
    trap_on_grow_failure: bool,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
            trap_on_grow_failure: false,
        }
    }
}

/// Builds [`StoreLimits`].
#[derive(Debug, Clone, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No limits beyond the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most bytes any one linear memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// The most elements any one table may have.
    pub fn table_elements(mut self, elements: u32) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// The most instances the store may hold.
    pub fn instances(mut self, n: usize) -> Self {
        self.0.instances = n;
        self
    }

    /// The most tables the store may hold.
    pub fn tables(mut self, n: usize) -> Self {
        self.0.tables = n;
        self
    }

    /// The most memories the store may hold.
    pub fn memories(mut self, n: usize) -> Self {
        self.0.memories = n;
        self
    }

    /// Trap instead of returning -1 when a growth is refused or fails.
    pub fn trap_on_grow_failure(mut self, trap: bool) -> Self {
        self.0.trap_on_grow_failure = trap;
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        match self.memory_size {
            Some(limit) if desired > limit => {
                if self.trap_on_grow_failure {
                    bail!("forcing trap when growing memory to {desired} bytes (limit {limit})");
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    fn memory_grow_failed(&mut self, error: &anyhow::Error) -> Result<()> {
        if self.trap_on_grow_failure {
            bail!("forcing a memory growth failure to be a trap: {error}");
        }
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: u32,
        desired: u32,
        _maximum: Option<u32>,
    ) -> Result<bool> {
        match self.table_elements {
            Some(limit) if desired > limit => {
                if self.trap_on_grow_failure {
                    bail!("forcing trap when growing table to {desired} elements (limit {limit})");
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    fn table_grow_failed(&mut self, error: &anyhow::Error) -> Result<()> {
        if self.trap_on_grow_failure {
            bail!("forcing a table growth failure to be a trap: {error}");
        }
        Ok(())
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}

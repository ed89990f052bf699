//! [`Store`]: the owner of every runtime object (instances, functions, memories,
//! tables, globals) plus the embedder's data `T`.
//!
//! The hard part, and the invariant that keeps the API safe: handles such as
//! [`crate::Func`] or [`crate::Memory`] are plain indices (`Stored`) into a store's
//! vectors, tagged with the store's id, so they are `Copy` and never dangle; every
//! operation takes the store as an argument and checks the tag. The objects
//! themselves are boxed, so compiled code and vmctx fields can hold raw pointers
//! to them for as long as the store lives — and nothing is freed before the store
//! is. Wasm only runs while the store is mutably borrowed (`Func::call` takes
//! `impl AsContextMut`), so no Rust reference into a memory or table can
//! observe wasm writing to it.
//!
//! There are three store types: `Store<T>` (owned, what embedders create),
//! `StoreInner<T>` (the boxed body: `StoreOpaque` first, then `T`, `repr(C)` so
//! that the untyped store pointer `vm::call_wasm` records when wasm is entered
//! can be cast back by host functions that know `T`), and `StoreOpaque` (everything that does not depend on `T`).

pub(crate) mod addr_hash;
mod async_yield;
mod epoch;
mod externrefs;
mod fuel;
mod hooks;

pub(crate) use epoch::EpochBehavior;
pub use epoch::UpdateDeadline;
pub(crate) use externrefs::HOST_EXTERN;
pub use hooks::{CallHook, CallHookHandler};

use crate::externals::Extern;
use crate::func::{FuncData, FuncKind};
use crate::limits::{Limiter, ResourceLimiter, ResourceLimiterAsync};
use crate::vm::{
    self, FuncRefPtr, GlobalPtr, HostFuncs, VMGlobalDefinition, VMInstance, VMRuntimeLimits,
};
use crate::{Engine, Func, GlobalType, Module, TableType};
use anyhow::{bail, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// An index into a store's objects, tagged with the store's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Stored {
    pub(crate) store_id: u64,
    pub(crate) index: usize,
}

/// A collection of WebAssembly instances and host-defined state.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data", &self.inner.data)
            .finish_non_exhaustive()
    }
}

#[repr(C)]
#[doc(hidden)]
pub struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
    pub(crate) limiter: Option<LimiterFns<T>>,
    /// What `Store::call_hook` or `Store::call_hook_async` installed.
    pub(crate) call_hook: Option<hooks::CallHookInner<T>>,
    /// What `Store::epoch_deadline_callback` installed (`store/epoch.rs`).
    pub(crate) epoch_callback: Option<Box<epoch::EpochCallbackFn<T>>>,
}

/// What `Store::limiter` or `Store::limiter_async` installs: finds the
/// limiter inside the store's data.
pub(crate) enum LimiterFns<T> {
    Sync(Box<dyn FnMut(&mut T) -> &mut (dyn ResourceLimiter) + Send + Sync>),
    Async(Box<dyn FnMut(&mut T) -> &mut (dyn ResourceLimiterAsync) + Send + Sync>),
}

pub(crate) struct InstanceData {
    /// Owns the vmctx that compiled code and funcrefs point into.
    #[allow(dead_code, reason = "held for ownership: dropping it frees the vmctx")]
    pub(crate) vm: Box<VMInstance>,
    pub(crate) module: Module,
    /// Handles for every memory, table and global in its index spaces.
    pub(crate) memories: Vec<crate::Memory>,
    pub(crate) tables: Vec<crate::Table>,
    pub(crate) globals: Vec<crate::Global>,
    /// Handles for every tag in its index space.
    pub(crate) tags: Vec<crate::Tag>,
}

pub(crate) struct GlobalData {
    pub(crate) ptr: GlobalPtr,
    pub(crate) ty: GlobalType,
}

pub(crate) struct TableData {
    pub(crate) table: Box<vm::Table>,
    pub(crate) ty: TableType,
}

#[doc(hidden)]
pub struct StoreOpaque {
    id: u64,
    pub(crate) engine: Engine,
    pub(crate) limits: Box<VMRuntimeLimits>,
    /// Where the store's static memories and large vmctxs come from
    /// (`vm::arena`). Declared before `instances` and `memories` so that it is
    /// dropped first: their mappings are then released, not reset for reuse.
    pub(crate) arena: vm::arena::StoreArena,
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) funcs: Vec<FuncData>,
    /// The first handle of each funcref among `funcs[..funcs_indexed]`, brought
    /// up to date only when a lookup needs it (`func_by_ref`), so that defining
    /// functions (every host import of every instantiation) hashes nothing.
    funcs_by_ref: addr_hash::AddrMap<FuncRefPtr, usize>,
    funcs_indexed: usize,
    #[allow(
        clippy::vec_box,
        reason = "compiled code holds pointers into each memory: it must not move when the Vec grows"
    )]
    pub(crate) memories: Vec<Box<vm::Memory>>,
    pub(crate) tables: Vec<TableData>,
    pub(crate) globals: Vec<GlobalData>,
    #[allow(
        clippy::vec_box,
        reason = "compiled code holds pointers to each global: it must not move when the Vec grows"
    )]
    pub(crate) host_globals: Vec<Box<VMGlobalDefinition>>,
    /// The host functions of the store: their (shared) contexts and this
    /// store's funcrefs for them, which never move (`vm::host_func`).
    pub(crate) host_funcs: HostFuncs,
    /// The types of host functions defined in lists (`FuncTy::Listed`).
    pub(crate) host_type_lists: smallvec::SmallVec<[HostTypeList; 1]>,
    /// The trampolines of the modules instantiated here (`func/trampolines.rs`).
    pub(crate) trampolines: crate::func::StoreTrampolines,
    /// Every tag created in or by this store (`crate::exn`).
    pub(crate) tags: Vec<crate::exn::TagData>,
    /// The pending exception's heap word (0 when none): the one that last
    /// left wasm uncaught, or that a host function is throwing (`crate::exn`).
    /// A GC root: see `StoreOpaque::for_each_exception_root`.
    pub(crate) pending_exception: u32,
    /// Every host reference wasm may hold, by its word (`store/externrefs.rs`).
    externrefs: externrefs::ExternRefs,
    /// The GC heap (`vm::gc_heap`, `crate::gc::heap`).
    pub(crate) gc_heap: vm::gc_heap::GcHeap,
    /// The host's GC roots: every heap word a host handle names
    /// (`crate::gc::roots`).
    pub(crate) gc_roots: crate::gc::roots::RootSet,
    /// GC reference words an instantiation's constant expressions hold
    /// outside the store's other roots (`crate::gc::const_eval`); empty
    /// between instantiations. Roots.
    pub(crate) const_roots: Vec<u64>,
    /// Component instances and functions (see `crate::component`).
    pub(crate) components: crate::component::ComponentStoreData,
    /// Recovers the typed store's limiter (see `vm::store_cast::limiter_of`).
    limiter_hook: Option<LimiterHook>,
    /// What `Store::set_signal_handler` installed.
    pub(crate) signal_handler: Option<std::sync::Arc<vm::signal_handler::SignalHandler>>,
    /// All fuel ever given to the store (see `store/fuel.rs`).
    pub(crate) fuel_added: u64,
    /// Fuel left but held back from the counter compiled code reads (see
    /// `store/fuel.rs`).
    pub(crate) fuel_reserve: u64,
    /// The fiber running this store's wasm, if any (see `vm/fiber.rs`).
    pub(crate) async_cx: vm::fiber::AsyncCxBox,
    /// Whether fuel and epoch interruptions yield (see `store/async_yield.rs`).
    pub(crate) yield_policy: async_yield::YieldPolicy,
    /// What happens at the epoch deadline (see `store/epoch.rs`).
    pub(crate) epoch_behavior: epoch::EpochBehavior,
}

impl<T: Default> Default for Store<T> {
    /// A store in a default [`Engine`] holding `T::default()`.
    fn default() -> Self {
        Self::new(&Engine::default(), T::default())
    }
}

/// The types and engine signature ids of a list of host functions.
pub(crate) type HostTypeList = Arc<[(Arc<tern_environ::WasmFuncType>, u32)]>;

/// Recovers a typed store's limiter from its untyped part.
type LimiterHook = fn(&mut StoreOpaque) -> Option<Limiter<'_>>;

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

impl<T> Store<T> {
    /// Creates a store for `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        let mut store = Self {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
                    engine: engine.clone(),
                    limits: Box::default(),
                    arena: vm::arena::StoreArena::new(engine.mapping_cache().cloned()),
                    instances: Vec::new(),
                    funcs: Vec::new(),
                    funcs_by_ref: addr_hash::AddrMap::default(),
                    funcs_indexed: 0,
                    memories: Vec::new(),
                    tables: Vec::new(),
                    globals: Vec::new(),
                    host_globals: Vec::new(),
                    host_funcs: HostFuncs::default(),
                    host_type_lists: smallvec::SmallVec::new(),
                    trampolines: Default::default(),
                    tags: Vec::new(),
                    pending_exception: 0,
                    externrefs: Default::default(),
                    gc_heap: Default::default(),
                    const_roots: Vec::new(),
                    gc_roots: Default::default(),
                    components: Default::default(),
                    limiter_hook: None,
                    signal_handler: None,
                    fuel_added: 0,
                    fuel_reserve: 0,
                    async_cx: Default::default(),
                    yield_policy: Default::default(),
                    epoch_behavior: Default::default(),
                },
                data,
                limiter: None,
                call_hook: None,
                epoch_callback: None,
            }),
        };
        store
            .inner
            .opaque
            .limits
            .set_epoch_counter(&engine.inner.epoch);
        store
    }

    /// Installs a resource limiter: `limiter` finds it in the store's data.
    /// Replaces a limiter installed before (of either kind).
    pub fn limiter(
        &mut self,
        limiter: impl FnMut(&mut T) -> &mut (dyn ResourceLimiter) + Send + Sync + 'static,
    ) {
        self.inner.limiter = Some(LimiterFns::Sync(Box::new(limiter)));
        self.inner.opaque.limiter_hook = Some(crate::vm::store_cast::limiter_of::<T>);
    }

    /// Installs an async resource limiter: `limiter` finds it in the store's
    /// data. Its futures are awaited on the fiber of the async call that asks
    /// (`call_async`, `instantiate_async`, `Memory::grow_async`, …); asked
    /// anywhere else (a synchronous API call outside any async call), it makes
    /// that operation fail with an error saying so. Replaces a limiter
    /// installed before (of either kind).
    ///
    /// wasmtime 12 panics here without `Config::async_support`; Tern accepts
    /// the limiter, and every question put to it outside an async call fails
    /// as said above (there are none with async support off).
    pub fn limiter_async(
        &mut self,
        limiter: impl FnMut(&mut T) -> &mut (dyn ResourceLimiterAsync) + Send + Sync + 'static,
    ) {
        self.inner.limiter = Some(LimiterFns::Async(Box::new(limiter)));
        self.inner.opaque.limiter_hook = Some(crate::vm::store_cast::limiter_of::<T>);
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store, returning the embedder's data.
    pub fn into_data(self) -> T {
        let inner = *self.inner;
        inner.data
    }

    /// The engine this store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }

    /// Makes `exception` the store's pending exception and returns the error
    /// that throws it: a host function returns it (`?`) to raise the exception
    /// in the wasm that called it (see `crate::exn`).
    ///
    /// # Errors
    /// Always `Err(ThrownException)`; that is how the exception travels.
    ///
    /// # Panics
    /// Panics if `exception` belongs to another store.
    pub fn throw<R>(
        &mut self,
        exception: crate::Rooted<crate::ExnRef>,
    ) -> Result<R, crate::ThrownException> {
        self.as_context_mut().throw(exception)
    }

    /// Takes the pending exception: the one that last left wasm uncaught
    /// (the call returned a `ThrownException` error).
    pub fn take_pending_exception(&mut self) -> Option<crate::Rooted<crate::ExnRef>> {
        self.inner.opaque.take_pending_exception()
    }

    /// Whether an exception is pending (see [`Store::take_pending_exception`]).
    pub fn has_pending_exception(&self) -> bool {
        self.inner.opaque.pending_exception != 0
    }
}

impl StoreOpaque {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn stored(&self, index: usize) -> Stored {
        Stored {
            store_id: self.id,
            index,
        }
    }

    /// Checks that `s` belongs to this store.
    pub(crate) fn check(&self, s: Stored) -> Result<()> {
        if s.store_id != self.id {
            bail!("object used with the wrong store");
        }
        Ok(())
    }

    /// The index of `f` in `funcs`.
    ///
    /// # Panics
    /// Panics if `f` belongs to another store.
    pub(crate) fn func_index(&self, f: &Func) -> usize {
        assert_eq!(f.0.store_id, self.id, "object used with the wrong store");
        f.0.index
    }

    /// The signature of function number `index` of `funcs`.
    pub(crate) fn func_ty(&self, index: usize) -> &Arc<tern_environ::WasmFuncType> {
        match &self.funcs[index].ty {
            crate::func::FuncTy::Own(ty) => ty,
            crate::func::FuncTy::Listed { list, k } => {
                &self.host_type_lists[*list as usize][*k as usize].0
            }
        }
    }

    pub(crate) fn func_data(&self, f: &Func) -> &FuncData {
        assert_eq!(f.0.store_id, self.id, "object used with the wrong store");
        &self.funcs[f.0.index]
    }

    /// Makes room for `n` more functions, host functions among them.
    pub(crate) fn reserve_funcs(&mut self, n: usize) {
        self.funcs.reserve(n);
        self.host_funcs.reserve(n);
    }

    /// Registers a function and returns its handle.
    pub(crate) fn push_func(&mut self, data: FuncData) -> Func {
        let index = self.funcs.len();
        self.funcs.push(data);
        Func(self.stored(index))
    }

    /// The function behind a raw funcref pointer read from wasm (0 is null).
    pub(crate) fn func_from_raw(&mut self, raw: usize) -> Option<Func> {
        if raw == 0 {
            return None;
        }
        let ptr = FuncRefPtr(raw as *const vm::VMFuncRef);
        if let Some(func) = self.func_by_ref(ptr) {
            return Some(func);
        }
        // A funcref the store has not handed out yet: one of its instances' own.
        let ty = Arc::new(
            self.engine
                .signature(ptr.type_id())
                .expect("registered signature"),
        );
        Some(self.push_func(FuncData {
            funcref: ptr,
            ty: crate::func::FuncTy::Own(ty),
            kind: FuncKind::Wasm,
            trampoline: None,
        }))
    }

    /// Export number `export` of instance `instance`, creating its handle on first use.
    pub(crate) fn instance_export(&mut self, instance: usize, export: usize) -> Extern {
        let data = &mut self.instances[instance];
        let index = data.module.inner.env.exports[export].index;
        match index {
            tern_environ::EntityIndex::Function(f) => {
                let funcref = FuncRefPtr(data.vm.func_ref(f));
                match self.func_by_ref(funcref) {
                    Some(func) => Extern::Func(func),
                    None => {
                        let module = &self.instances[instance].module;
                        let ty = Arc::new(module.inner.canonical_func_type(f));
                        Extern::Func(self.push_func(FuncData {
                            funcref,
                            ty: crate::func::FuncTy::Own(ty),
                            kind: FuncKind::Wasm,
                            trampoline: None,
                        }))
                    }
                }
            }
            tern_environ::EntityIndex::Memory(m) => Extern::Memory(data.memories[m as usize]),
            tern_environ::EntityIndex::Table(t) => Extern::Table(data.tables[t as usize]),
            tern_environ::EntityIndex::Global(g) => Extern::Global(data.globals[g as usize]),
            tern_environ::EntityIndex::Tag(t) => Extern::Tag(data.tags[t as usize]),
        }
    }

    /// The handle already given out for `funcref`, if any.
    pub(crate) fn func_by_ref(&mut self, funcref: FuncRefPtr) -> Option<Func> {
        for (index, data) in self.funcs.iter().enumerate().skip(self.funcs_indexed) {
            self.funcs_by_ref.entry(data.funcref).or_insert(index);
        }
        self.funcs_indexed = self.funcs.len();
        self.funcs_by_ref
            .get(&funcref)
            .map(|i| Func(self.stored(*i)))
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store's resource limiter, if one is installed.
    pub(crate) fn limiter(&mut self) -> Option<Limiter<'_>> {
        let hook = self.limiter_hook?;
        hook(self)
    }

    /// Checks the limiter before an instance with `memories` memories and
    /// `tables` tables is created.
    pub(crate) fn check_instance_limits(&mut self, memories: usize, tables: usize) -> Result<()> {
        let (instances, total_memories, total_tables) =
            (self.instances.len(), self.memories.len(), self.tables.len());
        let Some(limiter) = self.limiter() else {
            return Ok(());
        };
        if instances + 1 > limiter.instances() {
            bail!(
                "resource limit exceeded: instance count too high at {}",
                instances + 1
            );
        }
        if total_memories + memories > limiter.memories() {
            bail!(
                "resource limit exceeded: memory count too high at {}",
                total_memories + memories
            );
        }
        if total_tables + tables > limiter.tables() {
            bail!(
                "resource limit exceeded: table count too high at {}",
                total_tables + tables
            );
        }
        Ok(())
    }

    /// Asks the limiter whether a new memory of `minimum` pages may be created.
    pub(crate) fn check_new_memory(&mut self, minimum: u64, maximum: Option<u64>) -> Result<()> {
        let bytes = minimum.saturating_mul(tern_environ::WASM_PAGE_SIZE);
        let max = maximum.map(|m| m.saturating_mul(tern_environ::WASM_PAGE_SIZE) as usize);
        if let Some(limiter) = self.limiter() {
            if !limiter.memory_growing(0, bytes as usize, max)? {
                bail!("memory minimum size of {minimum} pages exceeds memory limits");
            }
        }
        Ok(())
    }

    /// Asks the limiter whether a new table of `minimum` elements may be created.
    pub(crate) fn check_new_table(&mut self, minimum: u64, maximum: Option<u64>) -> Result<()> {
        let min = u32::try_from(minimum).unwrap_or(u32::MAX);
        let max = maximum.map(|m| u32::try_from(m).unwrap_or(u32::MAX));
        if let Some(limiter) = self.limiter() {
            if !limiter.table_growing(0, min, max)? {
                bail!("table minimum size of {minimum} elements exceeds table limits");
            }
        }
        Ok(())
    }

    /// Grows store memory `index` by `delta` pages, asking the limiter first.
    /// `Ok(None)` means refused or impossible (wasm sees -1).
    ///
    /// # Errors
    /// The limiter's error, which traps the wasm that asked.
    pub(crate) fn grow_memory(&mut self, index: usize, delta: u64) -> Result<Option<u64>> {
        let memory = &self.memories[index];
        let current = memory.byte_size();
        let maximum = memory
            .declared_maximum()
            .map(|m| m.saturating_mul(tern_environ::WASM_PAGE_SIZE) as usize);
        let desired = delta
            .checked_mul(tern_environ::WASM_PAGE_SIZE)
            .and_then(|d| d.checked_add(current as u64))
            .map_or(usize::MAX, |d| usize::try_from(d).unwrap_or(usize::MAX));
        if let Some(limiter) = self.limiter() {
            if !limiter.memory_growing(current, desired, maximum)? {
                return Ok(None);
            }
        }
        let grown = self.memories[index].grow(delta)?;
        if grown.is_none() {
            if let Some(limiter) = self.limiter() {
                limiter.memory_grow_failed(&anyhow::anyhow!(
                    "failed to grow memory by {delta} pages"
                ))?;
            }
        }
        Ok(grown)
    }

    /// Grows memory `memory` of instance `instance` (its own index space).
    pub(crate) fn grow_instance_memory(
        &mut self,
        instance: usize,
        memory: u32,
        delta: u64,
    ) -> Result<Option<u64>> {
        let index = self.instances[instance].memories[memory as usize].0.index;
        self.grow_memory(index, delta)
    }

    /// Grows store table `index` by `delta` elements set to `init`, asking the limiter first.
    ///
    /// # Errors
    /// The limiter's error, which traps the wasm that asked.
    pub(crate) fn grow_table(
        &mut self,
        index: usize,
        delta: u64,
        init: usize,
    ) -> Result<Option<u64>> {
        let table = &self.tables[index];
        let current = table.table.size();
        let maximum = table
            .ty
            .plan
            .maximum
            .map(|m| u32::try_from(m).unwrap_or(u32::MAX));
        let desired = u32::try_from(current.saturating_add(delta)).unwrap_or(u32::MAX);
        if let Some(limiter) = self.limiter() {
            if !limiter.table_growing(current as u32, desired, maximum)? {
                return Ok(None);
            }
        }
        let grown = self.tables[index]
            .table
            .grow(delta, init as *const vm::VMFuncRef);
        if grown.is_none() {
            if let Some(limiter) = self.limiter() {
                limiter.table_grow_failed(&anyhow::anyhow!(
                    "failed to grow table by {delta} elements"
                ))?;
            }
        }
        Ok(grown)
    }

    /// Grows table `table` of instance `instance` (its own index space).
    pub(crate) fn grow_instance_table(
        &mut self,
        instance: usize,
        table: u32,
        delta: u64,
        init: usize,
    ) -> Result<Option<u64>> {
        let index = self.instances[instance].tables[table as usize].0.index;
        self.grow_table(index, delta, init)
    }

    pub(crate) fn limits(&self) -> &VMRuntimeLimits {
        &self.limits
    }
}

/// A shared borrow of a store, for APIs that only read.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store, for APIs that run wasm or change state.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }

    /// [`Store::throw`] through a context.
    ///
    /// # Errors
    /// Always `Err(ThrownException)`; that is how the exception travels.
    ///
    /// # Panics
    /// Panics if `exception` belongs to another store.
    pub fn throw<R>(
        &mut self,
        exception: crate::Rooted<crate::ExnRef>,
    ) -> Result<R, crate::ThrownException> {
        self.0.opaque.set_pending_exception(&exception);
        Err(crate::ThrownException)
    }

    /// [`Store::take_pending_exception`] through a context.
    pub fn take_pending_exception(&mut self) -> Option<crate::Rooted<crate::ExnRef>> {
        self.0.opaque.take_pending_exception()
    }
}

/// Anything that can lend a shared borrow of a store.
pub trait AsContext {
    /// The store's data type.
    type Data;
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Anything that can lend an exclusive borrow of a store.
pub trait AsContextMut: AsContext {
    /// Borrows the store mutably.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}
impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}
impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}
impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}
impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}
impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}
impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}
impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, S::Data> {
        (**self).as_context_mut()
    }
}

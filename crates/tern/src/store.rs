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
//! that a vmctx's untyped store pointer can be cast back by host functions that
//! know `T`), and `StoreOpaque` (everything that does not depend on `T`).

use crate::externals::Extern;
use crate::func::{FuncData, FuncKind};
use crate::vm::{self, FuncRefPtr, GlobalPtr, HostFuncCtx, VMGlobalDefinition, VMInstance, VMRuntimeLimits};
use crate::{Engine, Func, GlobalType, Module, TableType};
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

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
        f.debug_struct("Store").field("data", &self.inner.data).finish_non_exhaustive()
    }
}

#[repr(C)]
#[doc(hidden)]
pub struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
}

pub(crate) struct InstanceData {
    /// Owns the vmctx that compiled code and funcrefs point into.
    #[allow(dead_code, reason = "held for ownership: dropping it frees the vmctx")]
    pub(crate) vm: Box<VMInstance>,
    pub(crate) module: Module,
    /// Exports materialised so far, parallel to the module's export list
    /// (functions get a `Func` handle only when first asked for).
    pub(crate) exports: Vec<Option<Extern>>,
    /// The funcref of every function in the instance's index space.
    pub(crate) funcs: Vec<FuncRefPtr>,
    /// Handles for every memory, table and global in its index spaces.
    pub(crate) memories: Vec<crate::Memory>,
    pub(crate) tables: Vec<crate::Table>,
    pub(crate) globals: Vec<crate::Global>,
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
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) funcs: Vec<FuncData>,
    funcs_by_ref: HashMap<FuncRefPtr, usize>,
    pub(crate) memories: Vec<Box<vm::Memory>>,
    pub(crate) tables: Vec<TableData>,
    pub(crate) globals: Vec<GlobalData>,
    pub(crate) host_globals: Vec<Box<VMGlobalDefinition>>,
    pub(crate) host_funcs: Vec<Box<HostFuncCtx>>,
    /// Every host reference passed to wasm, by the raw pointer wasm holds.
    externrefs: HashMap<usize, crate::ExternRef>,
    /// Component instances and functions (see `crate::component`).
    pub(crate) components: crate::component::ComponentStoreData,
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

impl<T> Store<T> {
    /// Creates a store for `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        Self {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
                    engine: engine.clone(),
                    limits: Box::default(),
                    instances: Vec::new(),
                    funcs: Vec::new(),
                    funcs_by_ref: HashMap::new(),
                    memories: Vec::new(),
                    tables: Vec::new(),
                    globals: Vec::new(),
                    host_globals: Vec::new(),
                    host_funcs: Vec::new(),
                    externrefs: HashMap::new(),
                    components: Default::default(),
                },
                data,
            }),
        }
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
}

impl StoreOpaque {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn stored(&self, index: usize) -> Stored {
        Stored { store_id: self.id, index }
    }

    /// Checks that `s` belongs to this store.
    pub(crate) fn check(&self, s: Stored) -> Result<()> {
        if s.store_id != self.id {
            bail!("object used with the wrong store");
        }
        Ok(())
    }

    pub(crate) fn func_data(&self, f: &Func) -> &FuncData {
        assert_eq!(f.0.store_id, self.id, "object used with the wrong store");
        &self.funcs[f.0.index]
    }

    /// Registers a function and returns its handle.
    pub(crate) fn push_func(&mut self, data: FuncData) -> Func {
        let index = self.funcs.len();
        self.funcs_by_ref.entry(data.funcref).or_insert(index);
        self.funcs.push(data);
        Func(self.stored(index))
    }

    /// The function behind a raw funcref pointer read from wasm (0 is null).
    pub(crate) fn func_from_raw(&mut self, raw: usize) -> Option<Func> {
        if raw == 0 {
            return None;
        }
        let ptr = FuncRefPtr(raw as *const vm::VMFuncRef);
        if let Some(index) = self.funcs_by_ref.get(&ptr) {
            return Some(Func(self.stored(*index)));
        }
        // A funcref the store has not handed out yet: one of its instances' own.
        let ty = self.engine.signature(ptr.type_id()).expect("registered signature");
        Some(self.push_func(FuncData { funcref: ptr, ty, kind: FuncKind::Wasm, trampoline: None }))
    }

    /// Export number `export` of instance `instance`, creating its handle on first use.
    pub(crate) fn instance_export(&mut self, instance: usize, export: usize) -> Extern {
        if let Some(e) = &self.instances[instance].exports[export] {
            return e.clone();
        }
        let data = &self.instances[instance];
        let index = data.module.inner.env.exports[export].index;
        let item = match index {
            tern_environ::EntityIndex::Function(f) => {
                let funcref = data.funcs[f as usize];
                match self.func_by_ref(funcref) {
                    Some(func) => Extern::Func(func),
                    None => {
                        let ty = data.module.inner.env.func_type(f).clone();
                        Extern::Func(self.push_func(FuncData { funcref, ty, kind: FuncKind::Wasm, trampoline: None }))
                    }
                }
            }
            tern_environ::EntityIndex::Memory(m) => Extern::Memory(data.memories[m as usize]),
            tern_environ::EntityIndex::Table(t) => Extern::Table(data.tables[t as usize]),
            tern_environ::EntityIndex::Global(g) => Extern::Global(data.globals[g as usize]),
        };
        self.instances[instance].exports[export] = Some(item.clone());
        item
    }

    /// Keeps `r` alive for the store's lifetime and returns the raw value wasm holds.
    pub(crate) fn register_externref(&mut self, r: &crate::ExternRef) -> usize {
        let raw = r.as_raw();
        self.externrefs.entry(raw).or_insert_with(|| r.clone());
        raw
    }

    /// The host reference behind a raw value read from wasm (0 is null).
    pub(crate) fn externref_from_raw(&self, raw: usize) -> Option<crate::ExternRef> {
        self.externrefs.get(&raw).cloned()
    }

    /// The handle already given out for `funcref`, if any.
    pub(crate) fn func_by_ref(&self, funcref: FuncRefPtr) -> Option<Func> {
        self.funcs_by_ref.get(&funcref).map(|i| Func(self.stored(*i)))
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
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

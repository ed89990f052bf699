//! [`Func`]: a WebAssembly or host function in a store, and [`Caller`], the view
//! of the store a host function gets when wasm calls it.
//!
//! Every call, typed or not, goes through the array calling convention: arguments
//! and results live in a slice of 16-byte [`ValRaw`] slots. Host→wasm calls use
//! the array-to-wasm trampoline the function's module compiled for its
//! signature; host functions are closures over that slice, called directly by
//! the host and through the calling module's wasm-to-host trampoline by wasm
//! (see `func/trampolines.rs`; `func/typed.rs` is the statically typed layer).
//! Nothing here compiles code.

mod asyncs;
mod trampolines;
pub(crate) mod typed;
mod wrap_async;

use crate::store::{StoreInner, StoreOpaque};
use crate::trap::unwind_to_error;
use crate::vm::{self, ArrayTrampoline, FuncRefPtr, HostFuncDef, HostFuncList, ValRaw};
use crate::CallHook::{CallingHost, CallingWasm, ReturningFromHost, ReturningFromWasm};
use crate::ValType;
use crate::{AsContext, AsContextMut, Engine, Extern, FuncType, Val};
use anyhow::{bail, Context as _, Result};
use std::sync::Arc;
use tern_environ::WasmFuncType;
pub(crate) use trampolines::{StoreTrampolines, TrampolineMaps};
pub use typed::{IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub(crate) use wrap_async::async_host_fn;

/// A host closure over raw argument/result slots.
pub(crate) type HostFn<T> =
    dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static;

/// A WebAssembly function (exported by an instance, or defined by the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func(pub(crate) crate::store::Stored);

pub(crate) enum FuncKind {
    /// Compiled wasm code.
    Wasm,
    /// A host closure: index into the store's host functions.
    Host(usize),
}

pub(crate) struct FuncData {
    pub(crate) funcref: FuncRefPtr,
    /// The signature (read it with `StoreOpaque::func_ty`).
    pub(crate) ty: FuncTy,
    pub(crate) kind: FuncKind,
    /// The array-to-wasm trampoline for `ty`, looked up in the store on the first call.
    pub(crate) trampoline: Option<ArrayTrampoline>,
}

/// Where a function's signature is kept.
pub(crate) enum FuncTy {
    /// Its own reference (shared: a `Linker`'s host function gives every
    /// store the same one).
    Own(Arc<WasmFuncType>),
    /// Entry `k` of the store's list `list` of host-function types
    /// (`StoreOpaque::host_type_lists`): the host functions an
    /// `InstancePre` defines in a store share one reference to its list.
    Listed { list: u32, k: u32 },
}

/// The store as seen by a host function, plus the instance that called it.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    caller: Option<usize>,
}

impl<'a, T> Caller<'a, T> {
    pub(crate) fn new(store: &'a mut StoreInner<T>, caller: Option<usize>) -> Self {
        Self { store, caller }
    }

    /// A shorter-lived `Caller` for the same host call.
    pub(crate) fn reborrow(&mut self) -> Caller<'_, T> {
        Caller {
            store: &mut *self.store,
            caller: self.caller,
        }
    }

    /// The store's data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.store.opaque.engine
    }

    /// An export of the calling instance (`None` when called from the host or
    /// when there is no such export).
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let instance = self.caller?;
        let export = self.store.opaque.instances[instance]
            .module
            .inner
            .export_index(name)?;
        Some(self.store.opaque.instance_export(instance, export))
    }

    /// [`Store::throw`](crate::Store::throw) from a host function: return the
    /// result (`?`) to raise `exception` in the calling wasm.
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

    /// [`Store::take_pending_exception`](crate::Store::take_pending_exception)
    /// from a host function.
    pub fn take_pending_exception(&mut self) -> Option<crate::Rooted<crate::ExnRef>> {
        self.store.opaque.take_pending_exception()
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> crate::StoreContext<'_, T> {
        crate::StoreContext(self.store)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> crate::StoreContextMut<'_, T> {
        crate::StoreContextMut(self.store)
    }
}

impl Func {
    /// Defines a host function with a dynamic signature.
    ///
    /// The closure receives the arguments as [`Val`]s and fills `results`, which
    /// starts with zeros of the result types. Returning `Err` traps the calling
    /// wasm; the error reaches the embedder unchanged (downcastable).
    pub fn new<T>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let host = dynamic_host_fn(ty.ty.clone(), func);
        Self::from_host_arc(store.as_context_mut().0, ty.ty, host)
    }

    /// Defines a host function from a Rust closure whose parameter and result
    /// types give the wasm signature; it may take a leading [`Caller`].
    pub fn wrap<T, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, host) = func.into_host_fn();
        Self::from_host_fn(store.as_context_mut().0, ty.ty, host)
    }

    /// Defines a shared host closure (a component's lowered import, a `Val`
    /// adapter) of type `ty` in `store`: one dynamic call per invocation.
    pub(crate) fn from_host_arc<T>(
        store: &mut StoreInner<T>,
        ty: WasmFuncType,
        host: Arc<HostFn<T>>,
    ) -> Func {
        let type_id = store.opaque.engine.signature_id(&ty);
        Self::from_host_def(store, Arc::new(ty), type_id, &HostFuncDef::from_arc(host))
    }

    /// Makes host function `def`, of type `ty` whose engine signature id is
    /// `type_id`, a function of `store`. A `Linker` made `def` (and looked up
    /// `type_id`) once, so this allocates nothing but room in the store's
    /// vectors: every store shares the context and the type.
    pub(crate) fn from_host_def<T>(
        store: &mut StoreInner<T>,
        ty: Arc<WasmFuncType>,
        type_id: u32,
        def: &HostFuncDef<T>,
    ) -> Func {
        let wasm_call = Self::host_trampoline(&store.opaque, type_id);
        let index = vm::host_func::define(store, def, wasm_call, type_id);
        Self::push_host(&mut store.opaque, FuncTy::Own(ty), index)
    }

    /// Makes every host function of `list` a function of `store`, in order,
    /// with one more reference to the list rather than one per function;
    /// `types` gives each one's type and engine signature id. Returns the
    /// first function; the others follow it ([`Func::nth_after`]).
    pub(crate) fn from_host_list<T>(
        store: &mut StoreInner<T>,
        list: &HostFuncList<T>,
        types: &Arc<[(Arc<WasmFuncType>, u32)]>,
    ) -> Option<Func> {
        let first = vm::host_func::define_list(store, list, |store, k| {
            let type_id = types[k].1;
            (Self::host_trampoline(&store.opaque, type_id), type_id)
        });
        // One reference to the whole list of types, not one per function.
        let opaque = &mut store.opaque;
        let list = opaque.host_type_lists.len() as u32;
        opaque.host_type_lists.push(types.clone());
        let head = opaque.funcs.len();
        let hosts = first..first + types.len();
        for index in hosts.clone() {
            if FuncRefPtr(opaque.host_funcs.funcref(index))
                .wasm_call()
                .is_null()
            {
                opaque.trampolines.wait_for_host_trampoline(index);
            }
        }
        // Written in place by one `extend` (a `push` per function built each
        // `FuncData` on the stack and copied it, stalling on the copy).
        let host_funcs = &opaque.host_funcs;
        opaque
            .funcs
            .extend(hosts.zip(0..).map(|(index, k)| FuncData {
                funcref: FuncRefPtr(host_funcs.funcref(index)),
                ty: FuncTy::Listed { list, k },
                kind: FuncKind::Host(index),
                trampoline: None,
            }));
        (!types.is_empty()).then(|| Func(opaque.stored(head)))
    }

    /// The function `n` places after this one in its store (of those that
    /// [`Func::from_host_list`] made together).
    pub(crate) fn nth_after(self, n: usize) -> Func {
        Func(crate::store::Stored {
            store_id: self.0.store_id,
            index: self.0.index + n,
        })
    }

    /// Defines host function `host` of type `ty` in `store`. `host` is called
    /// directly (no boxing, no dynamic dispatch) from wasm's entry shim, with
    /// the store's call hook checked there (see [`invoke_host`]).
    pub(crate) fn from_host_fn<T, F>(store: &mut StoreInner<T>, ty: WasmFuncType, host: F) -> Func
    where
        F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    {
        let type_id = store.opaque.engine.signature_id(&ty);
        Self::from_host_def(store, Arc::new(ty), type_id, &HostFuncDef::new(host))
    }

    /// The wasm-to-host trampoline for engine signature `type_id` (null when
    /// no module of the store has brought one yet).
    fn host_trampoline(store: &StoreOpaque, type_id: u32) -> *const u8 {
        store.trampolines.host(type_id).unwrap_or(std::ptr::null())
    }

    /// Registers host function number `index` (just defined, with the
    /// store's wasm-to-host trampoline for its signature or null) as a `Func`.
    fn push_host(store: &mut StoreOpaque, ty: FuncTy, index: usize) -> Func {
        let funcref = FuncRefPtr(store.host_funcs.funcref(index));
        if funcref.wasm_call().is_null() {
            store.trampolines.wait_for_host_trampoline(index);
        }
        store.push_func(FuncData {
            funcref,
            ty,
            kind: FuncKind::Host(index),
            trampoline: None,
        })
    }

    pub(crate) fn comes_from_same_store(&self, store: &StoreOpaque) -> bool {
        self.0.store_id == store.id()
    }

    /// The function's signature.
    ///
    /// # Panics
    /// Panics if `store` is not the function's store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = &store.as_context().0.opaque;
        FuncType::from_wasm((**store.func_ty(store.func_index(self))).clone())
    }

    /// Calls the function with `params`, writing its results into `results`.
    ///
    /// # Errors
    /// Fails if the arguments do not match the signature, if wasm traps (the
    /// error downcasts to [`crate::Trap`]) or if a host function returns an error
    /// (which is passed through). A host function's panic resumes here.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store
            .opaque
            .check(self.0)
            .context("cannot call a function from another store")?;
        store.opaque.check_sync_entry()?;
        let ty = store.opaque.func_ty(self.0.index).clone();
        if params.len() != ty.params.len() {
            bail!(
                "expected {} arguments, got {}",
                ty.params.len(),
                params.len()
            );
        }
        if results.len() != ty.results.len() {
            bail!(
                "expected {} results, got {}",
                ty.results.len(),
                results.len()
            );
        }
        let mut raw = vec![ValRaw::default(); ty.params.len().max(ty.results.len())];
        for (i, (p, t)) in params.iter().zip(ty.params.iter()).enumerate() {
            if !p.matches_ty(&store.opaque, &ValType::from_wasm(*t))? {
                bail!(
                    "argument type mismatch at index {i}: expected {t}, found {}",
                    p.ty()
                );
            }
            raw[i] = p.to_raw(&mut store.opaque)?;
        }
        self.call_raw(store, &mut raw)?;
        for (i, t) in ty.results.iter().enumerate() {
            results[i] = Val::from_raw(&mut store.opaque, raw[i], crate::ValType::from_wasm(*t));
        }
        Ok(())
    }

    /// Calls with arguments and results in `raw`, already type-checked.
    pub(crate) fn call_raw<T>(&self, store: &mut StoreInner<T>, raw: &mut [ValRaw]) -> Result<()> {
        self.call_raw_as(store, raw, None)
    }

    /// Like `call_raw`; a host function sees instance `caller` (a store index)
    /// as its caller.
    pub(crate) fn call_raw_as<T>(
        &self,
        store: &mut StoreInner<T>,
        raw: &mut [ValRaw],
        caller: Option<usize>,
    ) -> Result<()> {
        let data = &store.opaque.funcs[self.0.index];
        match data.kind {
            FuncKind::Wasm => {
                let funcref = data.funcref;
                let trampoline = match data.trampoline {
                    Some(t) => t,
                    None => self.find_trampoline(&mut store.opaque)?,
                };
                if store.call_hook.is_some() {
                    return call_wasm_hooked(store, trampoline, funcref, raw);
                }
                // `call_wasm` takes the whole store so that it alone decides how the
                // store is reached while wasm runs (through one raw pointer).
                vm::call_wasm(store, trampoline, funcref, raw).map_err(|unwind| {
                    unwind_to_error(unwind, store.opaque.engine.config().wasm_backtrace)
                })
            }
            FuncKind::Host(index) => vm::host_func::call_from_host(store, index, caller, raw),
        }
    }

    /// The array-call trampoline of this wasm function, looked up in the
    /// store's modules on its first host call and remembered.
    ///
    /// # Errors
    /// Fails when no module of the store has one for the signature.
    #[cold]
    fn find_trampoline(&self, store: &mut StoreOpaque) -> Result<ArrayTrampoline> {
        let funcref = store.funcs[self.0.index].funcref;
        let Some(t) = store.trampolines.array(funcref.type_id()) else {
            bail!(
                "no module in this store has an array-call trampoline for {}",
                store.func_ty(self.0.index)
            );
        };
        store.funcs[self.0.index].trampoline = Some(t);
        Ok(t)
    }

    /// A statically typed view of this function.
    ///
    /// # Errors
    /// Fails when `Params`/`Results` do not match the function's signature.
    pub fn typed<Params: WasmParams, Results: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<Params, Results>> {
        let store = &store.as_context().0.opaque;
        let ty = store.func_ty(store.func_index(self)).clone();
        typed::check_signature::<Params, Results>(&ty)?;
        Ok(TypedFunc::new(*self))
    }
}

/// Runs host closure `func`, with the store's call hook around it when one is
/// installed (`CallingHost` / `ReturningFromHost`), in a GC root scope of its
/// own: the `Rooted` values it receives and makes are released when it
/// returns (its results are already raw words by then; see `gc/rooting.rs`).
/// Both wasm's entry shim and host-side calls come here, so the hook check is
/// one load per call and host closures are never wrapped.
///
/// # Errors
/// The hook's or the closure's error.
#[inline]
pub(crate) fn invoke_host<T, F>(func: &F, caller: Caller<'_, T>, raw: &mut [ValRaw]) -> Result<()>
where
    F: ?Sized + Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()>,
{
    let Caller { store, caller } = caller;
    // Host functions run in a root scope of their own (see `crate::gc::roots`).
    let scope = store.opaque.gc_roots.enter_lifo();
    let inner = Caller {
        store: &mut *store,
        caller,
    };
    let result = if inner.store.call_hook.is_none() {
        func(inner, raw)
    } else {
        invoke_host_hooked(func, inner, raw)
    };
    store.opaque.gc_roots.exit_lifo(scope);
    result
}

/// [`invoke_host`] with a call hook installed, out of line: kept apart, the
/// common path (no hook) of wasm's entry shim needs no callee-saved registers
/// for what the hook calls would have to keep alive.
///
/// # Errors
/// The hook's or the closure's error.
#[cold]
#[inline(never)]
fn invoke_host_hooked<T, F>(func: &F, caller: Caller<'_, T>, raw: &mut [ValRaw]) -> Result<()>
where
    F: ?Sized + Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()>,
{
    let Caller { store, caller } = caller;
    store.call_hook(CallingHost)?;
    func(
        Caller {
            store: &mut *store,
            caller,
        },
        raw,
    )?;
    store.call_hook(ReturningFromHost)
}

/// A host call of a wasm function with a call hook installed
/// (`CallingWasm` / `ReturningFromWasm` around it), out of line like
/// [`invoke_host_hooked`], so that the common path stays short.
///
/// # Errors
/// The hook's error, or how the call trapped or failed.
#[cold]
#[inline(never)]
fn call_wasm_hooked<T>(
    store: &mut StoreInner<T>,
    trampoline: ArrayTrampoline,
    funcref: FuncRefPtr,
    raw: &mut [ValRaw],
) -> Result<()> {
    store.call_hook(CallingWasm)?;
    let backtraces = store.opaque.engine.config().wasm_backtrace;
    let result = vm::call_wasm(store, trampoline, funcref, raw)
        .map_err(|unwind| unwind_to_error(unwind, backtraces));
    let returned = store.call_hook(ReturningFromWasm);
    result.and(returned)
}

/// Adapts a closure over `Val`s to the raw-slot host function shape.
pub(crate) fn dynamic_host_fn<T>(
    wasm_ty: WasmFuncType,
    func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
) -> Arc<HostFn<T>> {
    Arc::new(
        move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
            let Caller { store, caller } = caller;
            let params: Vec<Val> = wasm_ty
                .params
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Val::from_raw(&mut store.opaque, raw[i], crate::ValType::from_wasm(*t))
                })
                .collect();
            let mut results: Vec<Val> = wasm_ty
                .results
                .iter()
                .map(|t| {
                    Val::default_for_ty(crate::ValType::from_wasm(*t)).unwrap_or(Val::FuncRef(None))
                })
                .collect();
            func(
                Caller {
                    store: &mut *store,
                    caller,
                },
                &params,
                &mut results,
            )?;
            for (i, (val, ty)) in results.iter().zip(wasm_ty.results.iter()).enumerate() {
                if !val.matches_ty(&store.opaque, &crate::ValType::from_wasm(*ty))? {
                    bail!("function attempted to return an incompatible value: result {i} is {} but the signature says {ty}", val.ty());
                }
                raw[i] = val.to_raw(&mut store.opaque)?;
            }
            Ok(())
        },
    )
}

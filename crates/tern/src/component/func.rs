//! [`Func`]: a function a component exports, and the one routine every call
//! into a lifted function goes through ([`call_lifted`]), whether it comes
//! from the host with [`Val`]s, from a [`super::TypedFunc`], or from another
//! component.
//!
//! A call: run a deferred post-return, check and clear the callee instance's
//! `may_enter`, lower the parameters (flat, or into memory allocated with the
//! callee's `realloc` when they flatten to more than 16 values), call the
//! core function, lift the result (flat, or from the pointer it returns), then
//! run the post-return function with `may_leave` cleared — at once, or later
//! when the lifted result still points into the callee's memory.

use super::abi::string::StringTags;
use super::abi::val::{check, lift_flat, load, lower_flat, store as store_val, within};
use super::abi::{
    bits_to_raw, raw_to_bits, Content, FlatDst, FlatSrc, LiftContext, LowerContext, Mode,
};
use super::host::StoreGuest;
use super::instance::{resource_cx, PendingPostReturn, ResolvedOptions};
use super::types::Type;
use super::{trap, Component, ComponentTrapKind, Val};
use crate::store::{StoreInner, Stored};
use crate::{AsContext, AsContextMut, ValRaw};
use anyhow::{bail, Context as _, Result};
use std::sync::Arc;
use tern_environ::component::{
    CanonOptions, ComponentTypes, InterfaceType, StringEncoding, MAX_FLAT_PARAMS,
};
use tern_environ::WasmValType;

/// A function exported by a component instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func(pub(crate) Stored);

/// What a `Func` handle refers to.
pub(crate) struct FuncData {
    pub(crate) instance: usize,
    pub(crate) lifted: u32,
}

/// A lifted function with its options resolved to store items.
#[derive(Clone)]
pub(crate) struct Lifted {
    pub(crate) func: crate::Func,
    pub(crate) memory: Option<crate::Memory>,
    pub(crate) realloc: Option<crate::Func>,
    pub(crate) post_return: Option<crate::Func>,
    pub(crate) encoding: StringEncoding,
    pub(crate) is_async: bool,
    /// Whether an async lift has a `callback` (its core function returns a code).
    pub(crate) callback: bool,
    pub(crate) ty: u32,
    pub(crate) runtime_instance: u32,
    /// Whether the parameters are passed flat (else through a pointer).
    pub(crate) params_flat: bool,
    /// Whether the result comes back flat (else the core function returns a pointer).
    pub(crate) result_flat: bool,
    pub(crate) core_params: Arc<[WasmValType]>,
    pub(crate) core_results: Arc<[WasmValType]>,
}

impl Lifted {
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site, mirrors the initializer's fields"
    )]
    pub(crate) fn new<T>(
        store: &StoreInner<T>,
        component: &Component,
        _index: u32,
        func: crate::Func,
        resolved: ResolvedOptions,
        options: &CanonOptions,
        ty: u32,
        runtime_instance: u32,
    ) -> Result<Self> {
        let types = &component.inner.types;
        let f = types.func(ty);
        let params_flat = types
            .flat_list(f.params.iter().map(|(_, t)| *t), MAX_FLAT_PARAMS)
            .is_some();
        let result_flat = f
            .result
            .is_none_or(|r| types.flat(r).is_some_and(|fl| fl.len() <= 1));
        let core = (**store.opaque.func_ty(store.opaque.func_index(&func))).clone();
        Ok(Self {
            func,
            memory: resolved.memory,
            realloc: resolved.realloc,
            post_return: resolved.post_return,
            encoding: options.string_encoding,
            is_async: options.is_async,
            callback: options.callback.is_some(),
            ty,
            runtime_instance,
            params_flat,
            result_flat,
            core_params: core.params.into(),
            core_results: core.results.into(),
        })
    }
}

/// Where lowered parameters go.
pub(crate) enum ParamsDst<'a> {
    /// Flat core values.
    Flat(&'a mut FlatDst),
    /// A tuple in the callee's memory at this offset.
    Memory(usize),
}

/// Where the lifted result comes from.
pub(crate) enum ResultSrc<'a> {
    /// The function has no result.
    None,
    /// One flat core value.
    Flat(FlatSrc<'a>),
    /// The callee's memory at this (checked) offset.
    Memory(usize),
    /// Already lifted: an async export delivered it through `task.return`.
    Val(Option<Val>),
}

/// The memory bytes of `memory` (empty when there is none).
pub(crate) fn memory_bytes<T>(store: &StoreInner<T>, memory: Option<crate::Memory>) -> &[u8] {
    match memory {
        Some(m) => store.opaque.memories[m.0.index].data(),
        None => &[],
    }
}

/// Runs the deferred post-return of component instance `ci`, if any.
pub(crate) fn run_pending_post_return<T>(store: &mut StoreInner<T>, ci: usize) -> Result<()> {
    store.opaque.check_sync_entry()?;
    let Some(p) = store.opaque.components.instances[ci].pending.take() else {
        return Ok(());
    };
    run_post_return(store, ci, Some(p.func), p.args, p.runtime_instance)
}

fn run_post_return<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    func: Option<crate::Func>,
    mut args: Vec<ValRaw>,
    rt: u32,
) -> Result<()> {
    if let Some(f) = func {
        store.opaque.components.instances[ci]
            .vmctx
            .set_may_leave(rt, false);
        f.call_raw(store, &mut args)?;
        store.opaque.components.instances[ci]
            .vmctx
            .set_may_leave(rt, true);
    }
    store.opaque.components.instances[ci]
        .vmctx
        .set_may_enter(rt, true);
    Ok(())
}

/// The error of entering an instance whose `may_enter` flag is clear: it
/// downcasts both to wasmtime 12's `Trap::CannotEnterComponent` and to the
/// `ComponentTrap` naming the rule.
pub(crate) fn cannot_enter() -> anyhow::Error {
    let rule = super::ComponentTrap::new(
        ComponentTrapKind::CannotEnter,
        "cannot enter component instance",
    );
    anyhow::Error::new(crate::Trap::CannotEnterComponent).context(rule)
}

/// Calls lifted function `lifted` of component instance `ci`.
///
/// `lower` writes the parameters; `lift` reads the result. With
/// `defer_post_return` the post-return call waits (for results that keep
/// pointing into the callee's memory).
pub(crate) fn call_lifted<T, R>(
    store: &mut StoreInner<T>,
    ci: usize,
    lifted: u32,
    (mode, src_encoding, tags): (Mode, StringEncoding, Option<&StringTags>),
    lower: &mut dyn FnMut(&mut LowerContext<'_>, ParamsDst<'_>) -> Result<()>,
    lift: &mut dyn FnMut(&LiftContext<'_>, ResultSrc<'_>) -> Result<R>,
    defer_post_return: bool,
) -> Result<R> {
    run_pending_post_return(store, ci)?;
    let data = &store.opaque.components.instances[ci];
    let l = data
        .lifted
        .get(lifted as usize)
        .context("lifted function not created yet")?
        .clone();
    let types = data.component.inner.types.clone();
    let rt = l.runtime_instance as usize;
    let data = &mut store.opaque.components.instances[ci];
    if !data.vmctx.may_enter(rt as u32) {
        return Err(cannot_enter());
    }
    data.vmctx.set_may_enter(rt as u32, false);
    let state = &mut data.states[rt];
    // Each call is a new task: its `context.get`/`set` slots start at zero
    // (the instance cannot be re-entered while a task of it runs).
    state.context = [0; 2];
    let depth = store.opaque.components.handles_mut()?.open_scope();
    let result = call_entered(
        store,
        ci,
        &l,
        &types,
        (mode, src_encoding, tags),
        lower,
        lift,
        defer_post_return,
        depth,
    );
    if result.is_err() {
        if let Ok(h) = store.opaque.components.handles.get_mut() {
            // The trap is reported; the scope's lends are released.
            let _ = h.close_scope(depth, false);
        }
    }
    result
}

/// The body of [`call_lifted`] once the callee is entered and its scope open.
#[allow(
    clippy::too_many_arguments,
    reason = "the state of one call, split from its error handling"
)]
fn call_entered<T, R>(
    store: &mut StoreInner<T>,
    ci: usize,
    l: &Lifted,
    types: &Arc<ComponentTypes>,
    (mode, src_encoding, tags): (Mode, StringEncoding, Option<&StringTags>),
    lower: &mut dyn FnMut(&mut LowerContext<'_>, ParamsDst<'_>) -> Result<()>,
    lift: &mut dyn FnMut(&LiftContext<'_>, ResultSrc<'_>) -> Result<R>,
    defer_post_return: bool,
    depth: usize,
) -> Result<R> {
    let rt = l.runtime_instance as usize;
    let resources = resource_cx(store, ci, l.runtime_instance);
    let fty = types.func(l.ty);

    let mut dst = FlatDst::default();
    {
        let mut guest = StoreGuest {
            store: &mut *store,
            memory: l.memory,
            realloc: l.realloc,
            owner: (ci, l.runtime_instance),
        };
        let mut cx = LowerContext {
            guest: &mut guest,
            types,
            encoding: l.encoding,
            src_encoding,
            mode,
            resources: resources.clone(),
            tags,
        };
        if l.params_flat {
            lower(&mut cx, ParamsDst::Flat(&mut dst))?;
        } else {
            let (size, align, _) = types.tuple_layout(fty.params.iter().map(|(_, t)| *t));
            let ptr = cx.alloc(align, u64::from(size), Content::Tuple)?;
            lower(&mut cx, ParamsDst::Memory(ptr as usize))?;
            dst.push_u32(ptr);
        }
    }
    if dst.vals.len() != l.core_params.len() {
        bail!(
            "lowered {} core values for a core function taking {} (a Tern bug)",
            dst.vals.len(),
            l.core_params.len()
        );
    }
    let mut raw = vec![ValRaw::default(); l.core_params.len().max(l.core_results.len())];
    for (i, (bits, t)) in dst.vals.iter().zip(l.core_params.iter()).enumerate() {
        raw[i] = bits_to_raw(*bits, *t);
    }
    if l.is_async {
        let value = call_async(store, ci, l, &mut raw)?;
        store.opaque.components.instances[ci]
            .vmctx
            .set_may_enter(rt as u32, true);
        let out = lift(
            &LiftContext {
                memory: &[],
                types,
                encoding: l.encoding,
                mode,
                memory_handle: None,
                handles: &store.opaque.components.handles,
                resources,
                tags: None,
            },
            ResultSrc::Val(value),
        )?;
        close_scope(store, depth)?;
        return Ok(out);
    }
    l.func.call_raw(store, &mut raw)?;
    let results: Vec<u64> = l
        .core_results
        .iter()
        .enumerate()
        .map(|(i, t)| raw_to_bits(raw[i], *t))
        .collect();

    let value = {
        let cx = LiftContext {
            memory: memory_bytes(store, l.memory),
            types,
            encoding: l.encoding,
            mode,
            memory_handle: l.memory,
            handles: &store.opaque.components.handles,
            resources,
            tags,
        };
        let src = match fty.result {
            None => ResultSrc::None,
            Some(_) if l.result_flat => ResultSrc::Flat(FlatSrc::new(&results)),
            Some(r) => {
                let ptr = results.first().copied().context("missing return pointer")? as u32;
                let (size, align) = types.size_align(r);
                ResultSrc::Memory(cx.check(ptr, u64::from(size), align, Content::Tuple)?)
            }
        };
        lift(&cx, src)?
    };
    close_scope(store, depth)?;
    let args = raw[..l.core_results.len()].to_vec();
    match l.post_return {
        Some(func) if defer_post_return => {
            store.opaque.components.instances[ci].pending = Some(PendingPostReturn {
                func,
                args,
                runtime_instance: l.runtime_instance,
            });
        }
        post_return => run_post_return(store, ci, post_return, args, l.runtime_instance)?,
    }
    Ok(value)
}

/// Closes the scope of a call that returned, checking its borrows.
pub(crate) fn close_scope<T>(store: &mut StoreInner<T>, depth: usize) -> Result<()> {
    store
        .opaque
        .components
        .handles_mut()?
        .close_scope(depth, true)
}

/// An async export that runs to completion without waiting: pushes a task,
/// calls the core function, and takes the result its `task.return` delivered.
/// (Tern has no event loop yet: a callback asking to wait or yield traps.)
fn call_async<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    l: &Lifted,
    raw: &mut [ValRaw],
) -> Result<Option<Val>> {
    store.opaque.components.tasks.push(super::instance::Task {
        ci,
        runtime_instance: l.runtime_instance,
        result: None,
    });
    let outcome = l.func.call_raw(store, raw);
    let task = store.opaque.components.tasks.pop();
    outcome?;
    if l.callback && raw.first().is_some_and(|code| code.get_i32() != 0) {
        return trap(
            ComponentTrapKind::Unsupported,
            "an async export asked to wait or yield: Tern has no async event loop yet",
        );
    }
    match task.and_then(|t| t.result) {
        Some(v) => Ok(v),
        None => trap(
            ComponentTrapKind::TaskRule,
            "async-lifted export failed to produce a result",
        ),
    }
}

/// Lowers `params` (already type-checked) for `call_lifted`.
pub(crate) fn lower_vals(
    cx: &mut LowerContext<'_>,
    tys: &[InterfaceType],
    params: &[Val],
    dst: ParamsDst<'_>,
) -> Result<()> {
    match dst {
        ParamsDst::Flat(dst) => {
            for (ty, v) in tys.iter().zip(params) {
                lower_flat(cx, *ty, v, dst)?;
            }
        }
        ParamsDst::Memory(base) => {
            let (_, _, offsets) = cx.types.tuple_layout(tys.iter().copied());
            for ((ty, v), off) in tys.iter().zip(params).zip(offsets) {
                store_val(cx, *ty, v, base + off as usize)?;
            }
        }
    }
    Ok(())
}

/// Lifts the result of `call_lifted` as a `Val`.
pub(crate) fn lift_val(
    cx: &LiftContext<'_>,
    ty: Option<InterfaceType>,
    src: ResultSrc<'_>,
) -> Result<Option<Val>> {
    Ok(match (ty, src) {
        (_, ResultSrc::Val(v)) => v,
        (Some(ty), ResultSrc::Flat(mut src)) => Some(lift_flat(cx, ty, &mut src)?),
        (Some(ty), ResultSrc::Memory(off)) => Some(load(cx, ty, off)?),
        _ => None,
    })
}

/// Type-checks `params` against `tys`, naming the first mismatching path.
pub(crate) fn check_params(
    types: &ComponentTypes,
    tys: &[InterfaceType],
    params: &[Val],
) -> Result<()> {
    if tys.len() != params.len() {
        bail!("expected {} arguments, got {}", tys.len(), params.len());
    }
    for (i, (ty, v)) in tys.iter().zip(params).enumerate() {
        check(types, *ty, v).map_err(|e| within(e, || format!("params[{i}]")))?;
    }
    Ok(())
}

impl Func {
    /// Fails when `store` is not this function's store.
    pub(crate) fn check_store<T>(&self, store: &StoreInner<T>) -> Result<()> {
        store
            .opaque
            .check(self.0)
            .context("cannot call a component function from another store")
    }

    pub(crate) fn data<T>(&self, store: &StoreInner<T>) -> (usize, u32) {
        assert_eq!(
            self.0.store_id,
            store.opaque.id(),
            "component function used with the wrong store"
        );
        let d = &store.opaque.components.funcs[self.0.index];
        (d.instance, d.lifted)
    }

    /// The types and function type of this function.
    pub(crate) fn ty<T>(&self, store: &StoreInner<T>) -> (Arc<ComponentTypes>, u32) {
        let (ci, l) = self.data(store);
        let data = &store.opaque.components.instances[ci];
        (
            data.component.inner.types.clone(),
            data.lifted[l as usize].ty,
        )
    }

    /// Calls the function with dynamically typed arguments; `results` must
    /// have one slot per result (0 or 1) and is overwritten.
    ///
    /// The guest's post-return function runs before this returns, since the
    /// results are owned values; [`Func::post_return`] is then a no-op.
    ///
    /// # Errors
    /// Fails when an argument does not have its parameter's type (naming the
    /// path to the mismatch), when wasm traps, when a canonical-ABI check
    /// fails (a [`super::ComponentTrap`]), or when `store` is not the
    /// function's store.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        self.check_store(store)?;
        let (ci, lifted) = self.data(store);
        let (types, ty) = self.ty(store);
        let fty = types.func(ty).clone();
        let tys: Vec<InterfaceType> = fty.params.iter().map(|(_, t)| *t).collect();
        check_params(&types, &tys, params)?;
        let n = usize::from(fty.result.is_some());
        if results.len() != n {
            bail!("expected {n} result slots, got {}", results.len());
        }
        let result = call_lifted(
            store,
            ci,
            lifted,
            (Mode::Host, StringEncoding::Utf8, None),
            &mut |cx, dst| lower_vals(cx, &tys, params, dst),
            &mut |cx, src| lift_val(cx, fty.result, src),
            false,
        )?;
        if let (Some(slot), Some(v)) = (results.first_mut(), result) {
            *slot = v;
        }
        Ok(())
    }

    /// Runs the guest's post-return function if a call left it pending (only
    /// typed calls whose results borrow guest memory do); otherwise does
    /// nothing.
    ///
    /// # Errors
    /// Fails when the post-return function traps.
    pub fn post_return(&self, mut store: impl AsContextMut) -> Result<()> {
        let store = store.as_context_mut().0;
        self.check_store(store)?;
        let (ci, _) = self.data(store);
        run_pending_post_return(store, ci)
    }

    /// The parameter types.
    ///
    /// # Panics
    /// Panics if `store` is not the function's store.
    pub fn params(&self, store: impl AsContext) -> Box<[Type]> {
        let store = store.as_context().0;
        let (types, ty) = self.ty(store);
        let params: Vec<InterfaceType> = types.func(ty).params.iter().map(|(_, t)| *t).collect();
        params.into_iter().map(|t| Type::new(&types, t)).collect()
    }

    /// The parameter names and types.
    ///
    /// # Panics
    /// Panics if `store` is not the function's store.
    pub fn param_names(&self, store: impl AsContext) -> Box<[String]> {
        let store = store.as_context().0;
        let (types, ty) = self.ty(store);
        types
            .func(ty)
            .params
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The result types (none or one).
    ///
    /// # Panics
    /// Panics if `store` is not the function's store.
    pub fn results(&self, store: impl AsContext) -> Box<[Type]> {
        let store = store.as_context().0;
        let (types, ty) = self.ty(store);
        types
            .func(ty)
            .result
            .map(|t| Type::new(&types, t))
            .into_iter()
            .collect()
    }

    /// A statically typed view of this function.
    ///
    /// # Errors
    /// Fails when `Params`/`Results` do not match the function's type; the
    /// message names both.
    pub fn typed<Params, Results>(
        &self,
        store: impl AsContext,
    ) -> Result<super::TypedFunc<Params, Results>>
    where
        Params: super::ComponentNamedList + super::Lower,
        Results: super::ComponentNamedList + super::Lift,
    {
        let store = store.as_context().0;
        let (types, ty) = self.ty(store);
        super::typed::check_func::<Params, Results>(&types, ty)?;
        Ok(super::TypedFunc::new(*self))
    }
}

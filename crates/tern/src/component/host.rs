//! Calls out of a component: the core function made for each `canon lower`.
//!
//! A lowered function is a core host function whose closure knows its
//! [`LowerSite`] (the caller's memory, realloc, string encoding and the
//! component function type) and its target: a host function from the
//! [`super::Linker`] ([`HostFunc`], typed or dynamic), or a function lifted by
//! another inlined component instance, which is called by lifting the
//! arguments from the caller into `Val`s and lowering them into the callee
//! ("fused" here in Rust) when no adapter was compiled for the call (see
//! `adapters.rs`; `Component::fused_calls` says why). Either way the
//! caller's `may_leave` flag is checked first.

use super::abi::val::{check, lift_flat, load, lower_flat, store as store_val, within};
use super::abi::{
    bits_to_raw, raw_to_bits, Content, FlatDst, FlatSrc, Guest, LiftContext, LowerContext, Mode,
};
use super::func::{call_lifted, lift_val, lower_vals, memory_bytes, run_pending_post_return};
use super::handles::HandleState;
use super::instance::{resource_cx, ResolvedOptions};
use super::{trap, Component, ComponentTrapKind, Val};
use crate::store::StoreInner;
use crate::{Caller, StoreContextMut, ValRaw};
use anyhow::{bail, Context as _, Result};
use std::sync::Arc;
use tern_environ::component::{
    ComponentTypes, InterfaceType, StringEncoding, MAX_FLAT_ASYNC_PARAMS, MAX_FLAT_PARAMS,
};
use tern_environ::WasmFuncType;

/// A store plus one side's memory and `realloc`: where values are lowered to.
pub(crate) struct StoreGuest<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    pub(crate) memory: Option<crate::Memory>,
    pub(crate) realloc: Option<crate::Func>,
    /// The component instance and runtime instance `realloc` belongs to: its
    /// `may_leave` is clear while `realloc` runs (the canonical ABI's
    /// `lower_flat_values`), so `realloc` cannot call imports.
    pub(crate) owner: (usize, u32),
}

impl<T> Guest for StoreGuest<'_, T> {
    #[inline]
    fn memory(&mut self) -> &mut [u8] {
        match self.memory {
            Some(m) => self.store.opaque.memories[m.0.index].data_mut(),
            None => &mut [],
        }
    }

    fn realloc(&mut self, old: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        let f = self
            .realloc
            .context("lowering needs a `realloc` option the component did not give")?;
        let mut raw = [
            ValRaw::i32(old as i32),
            ValRaw::i32(old_size as i32),
            ValRaw::i32(align as i32),
            ValRaw::i32(new_size as i32),
        ];
        let (ci, rt) = self.owner;
        let vmctx = &self.store.opaque.components.instances[ci].vmctx;
        let may_leave = vmctx.may_leave(rt);
        vmctx.set_may_leave(rt, false);
        let result = f.call_raw(self.store, &mut raw);
        self.store.opaque.components.instances[ci]
            .vmctx
            .set_may_leave(rt, may_leave);
        result?;
        Ok(raw[0].get_i32() as u32)
    }

    fn handles(&mut self) -> Result<&mut HandleState> {
        self.store.opaque.components.handles_mut()
    }
}

/// Everything a lowered function knows about its caller.
pub(crate) struct LowerSite {
    pub(crate) types: Arc<ComponentTypes>,
    pub(crate) ty: u32,
    pub(crate) core_ty: WasmFuncType,
    pub(crate) encoding: StringEncoding,
    pub(crate) memory: Option<crate::Memory>,
    pub(crate) realloc: Option<crate::Func>,
    /// Whether parameters arrive flat (else as a pointer to a tuple).
    pub(crate) params_flat: bool,
    /// Whether the result goes back flat (else through a return pointer).
    pub(crate) result_flat: bool,
    /// The component instance (in the store) and the inlined instance.
    pub(crate) ci: usize,
    pub(crate) runtime_instance: u32,
    /// An `async` lower: at most 4 flat parameters, the result always through
    /// a pointer, and the core function returns the subtask state.
    pub(crate) is_async: bool,
}

/// The subtask state an async-lowered call returns when the callee finished.
const SUBTASK_RETURNED: i32 = 2;

impl LowerSite {
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site, mirrors the initializer's fields"
    )]
    pub(crate) fn new(
        component: &Component,
        ty: u32,
        core_ty: WasmFuncType,
        encoding: StringEncoding,
        resolved: ResolvedOptions,
        ci: usize,
        runtime_instance: u32,
        is_async: bool,
    ) -> Result<Self> {
        let types = component.inner.types.clone();
        let f = types.func(ty);
        let max_params = if is_async {
            MAX_FLAT_ASYNC_PARAMS
        } else {
            MAX_FLAT_PARAMS
        };
        let params_flat = types
            .flat_list(f.params.iter().map(|(_, t)| *t), max_params)
            .is_some();
        let result_flat = !is_async
            && f.result
                .is_none_or(|r| types.flat(r).is_some_and(|fl| fl.len() <= 1));
        Ok(Self {
            types,
            ty,
            core_ty,
            encoding,
            memory: resolved.memory,
            realloc: resolved.realloc,
            params_flat,
            result_flat,
            ci,
            runtime_instance,
            is_async,
        })
    }

    /// The parameter types.
    pub(crate) fn param_types(&self) -> Vec<InterfaceType> {
        self.types
            .func(self.ty)
            .params
            .iter()
            .map(|(_, t)| *t)
            .collect()
    }

    /// The result type.
    pub(crate) fn result_type(&self) -> Option<InterfaceType> {
        self.types.func(self.ty).result
    }

    /// The core arguments as bits.
    pub(crate) fn args(&self, raw: &[ValRaw]) -> Vec<u64> {
        self.core_ty
            .params
            .iter()
            .zip(raw)
            .map(|(t, r)| raw_to_bits(*r, *t))
            .collect()
    }

    /// A lift context over the caller's memory.
    pub(crate) fn lift_cx<'a, T>(
        &'a self,
        store: &'a StoreInner<T>,
        mode: Mode,
    ) -> LiftContext<'a> {
        LiftContext {
            memory: memory_bytes(store, self.memory),
            types: &self.types,
            encoding: self.encoding,
            mode,
            memory_handle: self.memory,
            handles: &store.opaque.components.handles,
            resources: resource_cx(store, self.ci, self.runtime_instance),
        }
    }

    /// Where the parameters are: `Ok(None)` flat in `args`, `Ok(Some(offset))`
    /// in the caller's memory (checked).
    pub(crate) fn params_offset(
        &self,
        cx: &LiftContext<'_>,
        args: &[u64],
    ) -> Result<Option<usize>> {
        if self.params_flat {
            return Ok(None);
        }
        let ptr = args.first().copied().context("missing parameter pointer")? as u32;
        let (size, align, _) = self.types.tuple_layout(self.param_types());
        Ok(Some(cx.check(
            ptr,
            u64::from(size),
            align,
            Content::Tuple,
        )?))
    }

    /// Lifts the parameters as `Val`s.
    pub(crate) fn lift_params(&self, cx: &LiftContext<'_>, args: &[u64]) -> Result<Vec<Val>> {
        let tys = self.param_types();
        let mut out = Vec::with_capacity(tys.len());
        match self.params_offset(cx, args)? {
            None => {
                let mut src = FlatSrc::new(args);
                for t in tys {
                    out.push(lift_flat(cx, t, &mut src)?);
                }
            }
            Some(base) => {
                let (_, _, offsets) = self.types.tuple_layout(tys.iter().copied());
                for (t, off) in tys.into_iter().zip(offsets) {
                    out.push(load(cx, t, base + off as usize)?);
                }
            }
        }
        Ok(out)
    }

    /// Lowers `result` back into the caller (flat into `raw`, or through the
    /// return pointer that is the caller's last argument).
    pub(crate) fn lower_result<T>(
        &self,
        store: &mut StoreInner<T>,
        mode: Mode,
        src_encoding: StringEncoding,
        args: &[u64],
        raw: &mut [ValRaw],
        result: Option<&Val>,
    ) -> Result<()> {
        let Some(rty) = self.result_type() else {
            return Ok(());
        };
        let v = result.context("missing result value")?;
        let resources = resource_cx(store, self.ci, self.runtime_instance);
        let mut guest = StoreGuest {
            store,
            memory: self.memory,
            realloc: self.realloc,
            owner: (self.ci, self.runtime_instance),
        };
        let mut cx = LowerContext {
            guest: &mut guest,
            types: &self.types,
            encoding: self.encoding,
            src_encoding,
            mode,
            resources,
        };
        self.lower_result_with(&mut cx, args, raw, |cx, dst| match dst {
            Ok(flat) => lower_flat(cx, rty, v, flat),
            Err(offset) => store_val(cx, rty, v, offset),
        })
    }

    /// Lowers a result with `lower`, given `Ok(flat)` or `Err(offset)` of the
    /// checked return pointer.
    pub(crate) fn lower_result_with(
        &self,
        cx: &mut LowerContext<'_>,
        args: &[u64],
        raw: &mut [ValRaw],
        mut lower: impl FnMut(&mut LowerContext<'_>, Result<&mut FlatDst, usize>) -> Result<()>,
    ) -> Result<()> {
        let Some(rty) = self.result_type() else {
            return Ok(());
        };
        if self.result_flat {
            let mut dst = FlatDst::default();
            lower(cx, Ok(&mut dst))?;
            if let (Some(bits), Some(t), Some(slot)) = (
                dst.vals.first(),
                self.core_ty.results.first(),
                raw.first_mut(),
            ) {
                *slot = bits_to_raw(*bits, *t);
            }
        } else {
            let retptr = args.last().copied().context("missing return pointer")? as u32;
            let (size, align) = self.types.size_align(rty);
            let offset = cx.check(retptr, u64::from(size), align, Content::Tuple)?;
            lower(cx, Err(offset))?;
        }
        Ok(())
    }
}

/// Checks a host function against a component function type.
pub(crate) type Typecheck = dyn Fn(&ComponentTypes, u32) -> Result<()> + Send + Sync;

/// Makes the core function of one lowered import of a host function.
type MakeLowered<T> = dyn Fn(&mut StoreInner<T>, LowerSite) -> crate::Func + Send + Sync;

/// A host function defined in a [`super::Linker`].
///
/// Store data `T` need not be `'static` (as in wasmtime 12), so nothing a
/// store keeps may capture a type that names `T` (a store keeps its host
/// closures erased, and only closures that are `'static` may be erased; see
/// `vm/host_func.rs`). `T` is therefore erased here at definition time: the
/// linker keeps a maker closure that owns only the user's closure (in an
/// `Arc`) and, at each instantiation, defines a core function whose closure
/// owns only that `Arc` and the [`LowerSite`]. Both closures are monomorphised
/// where `T` and the user's closure type are known, so nothing is looked up by
/// type at call time.
pub(crate) struct HostFunc<T> {
    make: Box<MakeLowered<T>>,
    pub(crate) typecheck: Box<Typecheck>,
}

impl<T> HostFunc<T> {
    /// A host function whose raw entry is `entry` (lift from the site, call,
    /// lower back), checked against import types by `typecheck`.
    pub(crate) fn new<E>(entry: E, typecheck: Box<Typecheck>) -> Self
    where
        E: Fn(&mut StoreInner<T>, &LowerSite, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    {
        let entry = Arc::new(entry);
        Self {
            make: Box::new(move |store, site| {
                let entry = entry.clone();
                lowered_func(store, site, move |store, site, raw| entry(store, site, raw))
            }),
            typecheck,
        }
    }

    /// Wraps a dynamic closure (`Linker::func_new`): parameters are lifted as
    /// `Val`s, results are checked against the import's type and lowered.
    pub(crate) fn dynamic<F>(f: F) -> Self
    where
        F: Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    {
        let entry = move |store: &mut StoreInner<T>, site: &LowerSite, raw: &mut [ValRaw]| {
            let args = site.args(raw);
            let params = site.lift_params(&site.lift_cx(store, Mode::Host), &args)?;
            let rty = site.result_type();
            let mut results: Vec<Val> = rty.iter().map(|_| Val::Bool(false)).collect();
            f(StoreContextMut(store), &params, &mut results)?;
            if let Some(rty) = rty {
                check(&site.types, rty, &results[0])
                    .map_err(|e| within(e, || "results[0]".to_string()))?;
            }
            site.lower_result(
                store,
                Mode::Host,
                StringEncoding::Utf8,
                &args,
                raw,
                results.first(),
            )
        };
        Self::new(entry, Box::new(|_, _| Ok(())))
    }

    /// A function that traps when called (`define_unknown_imports_as_traps`).
    pub(crate) fn trapping(name: String) -> Self {
        Self::new(
            move |_: &mut StoreInner<T>, _: &LowerSite, _: &mut [ValRaw]| {
                trap(
                    ComponentTrapKind::Unsupported,
                    format!("unknown import `{name}` was called: it was defined to trap"),
                )
            },
            Box::new(|_, _| Ok(())),
        )
    }

    /// The core function of the `canon lower` of this function at `site`.
    pub(crate) fn lower(&self, store: &mut StoreInner<T>, site: LowerSite) -> crate::Func {
        (self.make)(store, site)
    }
}

/// The core function of the `canon lower` at `site` of a function lifted by
/// this component (another inlined instance), called "fused".
pub(crate) fn lowered_lifted<T>(
    store: &mut StoreInner<T>,
    site: LowerSite,
    lifted: u32,
) -> crate::Func {
    lowered_func(store, site, move |store, site, raw| {
        fused(store, site, lifted, raw)
    })
}

/// Makes the core function for a `canon lower` whose target is `target`
/// (which owns nothing that names `T`: see [`HostFunc`]).
fn lowered_func<T, E>(store: &mut StoreInner<T>, site: LowerSite, target: E) -> crate::Func
where
    E: Fn(&mut StoreInner<T>, &LowerSite, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    let core_ty = site.core_ty.clone();
    let host = move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
        let store = caller.store;
        let vmctx = &store.opaque.components.instances[site.ci].vmctx;
        if !vmctx.may_leave(site.runtime_instance) {
            return trap(
                ComponentTrapKind::CannotLeave,
                "cannot leave component instance",
            );
        }
        let depth = store.opaque.components.handles_mut()?.open_scope();
        let outcome = target(store, &site, raw);
        let handles = store.opaque.components.handles_mut()?;
        handles.close_scope(depth, outcome.is_ok())?;
        outcome?;
        if site.is_async {
            // The callee ran to completion: no subtask to wait for.
            raw[0] = ValRaw::i32(SUBTASK_RETURNED);
        }
        Ok(())
    };
    crate::Func::from_host_fn(store, core_ty, host)
}

/// A host resource destructor, made for each store that instantiates a
/// component importing the resource (erasing `T` as [`HostFunc`] does).
pub(crate) type HostDtor<T> = dyn Fn(&mut StoreInner<T>) -> crate::Func + Send + Sync;

/// The [`HostDtor`] of `Linker::resource`: `dtor` gets the rep of the dropped
/// resource.
pub(crate) fn host_dtor<T, F>(dtor: F) -> Arc<HostDtor<T>>
where
    F: Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync + 'static,
{
    let dtor = Arc::new(dtor);
    Arc::new(move |store: &mut StoreInner<T>| {
        let dtor = dtor.clone();
        let fty = WasmFuncType {
            params: Box::new([tern_environ::WasmValType::I32]),
            results: Box::new([]),
        };
        crate::Func::from_host_fn(
            store,
            fty,
            move |caller: Caller<'_, T>, raw: &mut [ValRaw]| {
                dtor(StoreContextMut(caller.store), raw[0].get_i32() as u32)
            },
        )
    })
}

/// A component-to-component call: lift from the caller, call the callee as
/// the host would, lower the result back into the caller.
fn fused<T>(
    store: &mut StoreInner<T>,
    site: &LowerSite,
    lifted: u32,
    raw: &mut [ValRaw],
) -> Result<()> {
    let args = site.args(raw);
    let params = site.lift_params(&site.lift_cx(store, Mode::Adapter), &args)?;
    let data = &store.opaque.components.instances[site.ci];
    let callee = data
        .lifted
        .get(lifted as usize)
        .context("lifted function not created yet")?;
    let (callee_ty, callee_encoding) = (callee.ty, callee.encoding);
    let fty = site.types.func(callee_ty).clone();
    if fty.params.len() != params.len() {
        bail!("caller and callee disagree on the number of parameters");
    }
    let tys: Vec<InterfaceType> = fty.params.iter().map(|(_, t)| *t).collect();
    let result = call_lifted(
        store,
        site.ci,
        lifted,
        (Mode::Adapter, site.encoding),
        &mut |cx, dst| lower_vals(cx, &tys, &params, dst),
        &mut |cx, src| lift_val(cx, fty.result, src),
        true,
    )?;
    // As `canon lift` says, the result is lowered into the caller before the
    // callee's post-return runs (a compiled adapter copies it out of the
    // callee's memory); after a trap the post-return never runs and the
    // callee stays unenterable, as with a compiled adapter.
    let lowered = site.lower_result(
        store,
        Mode::Adapter,
        callee_encoding,
        &args,
        raw,
        result.as_ref(),
    );
    if lowered.is_err() {
        store.opaque.components.instances[site.ci].pending = None;
    }
    lowered?;
    run_pending_post_return(store, site.ci)
}

//! The canonical built-ins other than `lift` and `lower`, as core host
//! functions: `resource.new`/`rep`/`drop` over the inlined instance's handle
//! table, `context.get`/`set`, `backpressure.inc`/`dec`, and a trapping stub
//! for every async and threads built-in Tern validates but does not run.
//!
//! Built-ins that may not run from a post-return function (`resource.new`,
//! `resource.drop` and the async ones) check the instance's `may_leave` flag
//! first, as the ABI says.

use super::abi::val::{lift_flat, load};
use super::abi::{raw_to_bits, Content, FlatSrc, LiftContext, Mode};
use super::func::memory_bytes;
use super::handles::TableId;
use super::resources::run_dtor;
use super::{trap, ComponentTrapKind};
use crate::func::HostFn;
use crate::store::StoreInner;
use crate::{Caller, ValRaw};
use anyhow::{Context as _, Result};
use std::sync::Arc;
use tern_environ::component::{BuiltinKind, CanonOptions, InterfaceType};
use tern_environ::{WasmFuncType, WasmValType};

/// `resource.new`, `resource.rep` and `resource.drop` of resource number
/// `r`, over the table of inlined instance `rt`. A dropped own handle's
/// destructor runs after the table is updated; when the resource is
/// implemented by another instance, that instance must be enterable.
fn resource_builtin<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    rt: u32,
    kind: &BuiltinKind,
    r: u32,
    raw: &mut [ValRaw],
) -> Result<()> {
    let ty = store.opaque.components.instances[ci]
        .resource_types
        .get(r as usize)
        .copied()
        .context("resource number out of range (a Tern bug)")?;
    let table = TableId::Guest { ci, rt };
    let arg = raw[0].get_i32() as u32;
    let handles = store.opaque.components.handles_mut()?;
    match kind {
        BuiltinKind::ResourceNew(_) => {
            raw[0] = ValRaw::i32(handles.new_own(table, ty, arg)? as i32);
        }
        BuiltinKind::ResourceRep(_) => {
            raw[0] = ValRaw::i32(handles.rep(table, arg, ty)? as i32);
        }
        _ => {
            let implementer = handles.types.get(&ty).and_then(|t| t.implementer);
            let Some(dropped) = handles.remove(table, arg, ty)? else {
                return Ok(());
            };
            run_dtor(store, implementer, table, dropped.dtor, dropped.rep)?;
        }
    }
    Ok(())
}

/// `task.return`: lifts the result from the arguments and hands it to the
/// running async call of this instance.
fn task_return<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    rt: u32,
    result: Option<InterfaceType>,
    options: &CanonOptions,
    params: &[WasmValType],
    raw: &mut [ValRaw],
) -> Result<()> {
    if !store.opaque.components.instances[ci].vmctx.may_leave(rt) {
        return trap(
            ComponentTrapKind::CannotLeave,
            "cannot leave component instance",
        );
    }
    match store.opaque.components.tasks.last() {
        Some(t) if t.ci == ci && t.runtime_instance == rt && t.result.is_none() => {}
        _ => {
            return trap(
                ComponentTrapKind::Unsupported,
                "`task.return` called with no async call of this instance to return from",
            )
        }
    }
    let value = match result {
        None => None,
        Some(ty) => {
            let resolved = super::instance::resolve_options(store, ci, options)?;
            let types = store.opaque.components.instances[ci]
                .component
                .inner
                .types
                .clone();
            let args: Vec<u64> = params
                .iter()
                .zip(raw.iter())
                .map(|(t, r)| raw_to_bits(*r, *t))
                .collect();
            let cx = LiftContext {
                memory: memory_bytes(store, resolved.memory),
                types: &types,
                encoding: options.string_encoding,
                mode: Mode::Adapter,
                memory_handle: resolved.memory,
                handles: &store.opaque.components.handles,
                resources: super::instance::resource_cx(store, ci, rt),
                tags: None,
            };
            Some(match types.flat(ty) {
                Some(_) => lift_flat(&cx, ty, &mut FlatSrc::new(&args))?,
                None => {
                    let ptr = args.first().copied().unwrap_or(0) as u32;
                    let (size, align) = types.size_align(ty);
                    let offset = cx.check(ptr, u64::from(size), align, Content::Tuple)?;
                    load(&cx, ty, offset)?
                }
            })
        }
    };
    if let Some(task) = store.opaque.components.tasks.last_mut() {
        task.result = Some(value);
    }
    Ok(())
}

/// Makes the core function for built-in `kind` of inlined instance `rt`.
pub(crate) fn make<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    rt: u32,
    kind: &BuiltinKind,
    ty: WasmFuncType,
) -> crate::Func {
    let kind = kind.clone();
    let params = ty.params.clone();
    let host: Arc<HostFn<T>> = Arc::new(
        move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
            let store = caller.store;
            if let BuiltinKind::TaskReturn { result, options } = &kind {
                return task_return(store, ci, rt, *result, options, &params, raw);
            }
            let checks_may_leave = matches!(
                kind,
                BuiltinKind::ResourceNew(_)
                    | BuiltinKind::ResourceDrop(..)
                    | BuiltinKind::Unsupported(_)
            );
            let may_leave = store.opaque.components.instances[ci].vmctx.may_leave(rt);
            if checks_may_leave && !may_leave {
                return trap(
                    ComponentTrapKind::CannotLeave,
                    "cannot leave component instance",
                );
            }
            if let BuiltinKind::ResourceNew(r)
            | BuiltinKind::ResourceRep(r)
            | BuiltinKind::ResourceDrop(r) = &kind
            {
                return resource_builtin(store, ci, rt, &kind, *r, raw);
            }
            let state = &mut store.opaque.components.instances[ci].states[rt as usize];
            match &kind {
                BuiltinKind::ResourceNew(_)
                | BuiltinKind::ResourceRep(_)
                | BuiltinKind::ResourceDrop(_) => {}
                BuiltinKind::ContextGet(slot) => {
                    let v = state.context.get(*slot as usize).copied().unwrap_or(0);
                    raw[0] = ValRaw::i32(v as i32);
                }
                BuiltinKind::ContextSet(slot) => {
                    let v = raw[0].get_i32() as u32;
                    if let Some(s) = state.context.get_mut(*slot as usize) {
                        *s = v;
                    }
                }
                BuiltinKind::BackpressureInc => match state.backpressure.checked_add(1) {
                    Some(n) => state.backpressure = n,
                    None => {
                        return trap(ComponentTrapKind::TaskRule, "backpressure counter overflow")
                    }
                },
                BuiltinKind::BackpressureDec => match state.backpressure.checked_sub(1) {
                    Some(n) => state.backpressure = n,
                    None => {
                        return trap(
                            ComponentTrapKind::TaskRule,
                            "backpressure counter underflow",
                        )
                    }
                },
                BuiltinKind::TaskReturn { .. } => {}
                BuiltinKind::Unsupported(name) => {
                    return trap(
                        ComponentTrapKind::Unsupported,
                        format!("the `{name}` built-in is not supported by Tern yet"),
                    )
                }
            }
            Ok(())
        },
    );
    crate::Func::from_host_arc(store, ty, host)
}

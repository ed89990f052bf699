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
use super::{trap, ComponentTrapKind};
use crate::func::HostFn;
use crate::store::StoreInner;
use crate::{Caller, ValRaw};
use anyhow::Result;
use std::sync::Arc;
use tern_environ::component::{BuiltinKind, CanonOptions, InterfaceType};
use tern_environ::{WasmFuncType, WasmValType};

fn unknown_handle<T>(h: u32) -> Result<T> {
    trap(
        ComponentTrapKind::BadHandle,
        format!("unknown handle index {h}"),
    )
}

/// `task.return`: lifts the result from the arguments and hands it to the
/// running async call of this instance.
fn task_return<T: 'static>(
    store: &mut StoreInner<T>,
    ci: usize,
    rt: u32,
    result: Option<InterfaceType>,
    options: &CanonOptions,
    params: &[WasmValType],
    raw: &mut [ValRaw],
) -> Result<()> {
    if !store.opaque.components.instances[ci].states[rt as usize].may_leave {
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
pub(crate) fn make<T: 'static>(
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
            let state = &mut store.opaque.components.instances[ci].states[rt as usize];
            if checks_may_leave && !state.may_leave {
                return trap(
                    ComponentTrapKind::CannotLeave,
                    "cannot leave component instance",
                );
            }
            match &kind {
                BuiltinKind::ResourceNew(r) => {
                    let rep = raw[0].get_i32() as u32;
                    let index = match state.free.pop() {
                        Some(i) => {
                            state.handles[i as usize] = Some((*r, rep));
                            i
                        }
                        None => {
                            state.handles.push(Some((*r, rep)));
                            state.handles.len() as u32 - 1
                        }
                    };
                    raw[0] = ValRaw::i32(index as i32);
                }
                BuiltinKind::ResourceRep(r) => {
                    let h = raw[0].get_i32() as u32;
                    match state.handles.get(h as usize).copied().flatten() {
                        Some((res, rep)) if res == *r => raw[0] = ValRaw::i32(rep as i32),
                        Some(_) => {
                            return trap(
                                ComponentTrapKind::BadHandle,
                                format!("handle index {h} used with the wrong type"),
                            )
                        }
                        None => return unknown_handle(h),
                    }
                }
                BuiltinKind::ResourceDrop(r, dtor) => {
                    let h = raw[0].get_i32() as u32;
                    let rep = match state.handles.get(h as usize).copied().flatten() {
                        Some((res, rep)) if res == *r => rep,
                        Some(_) => {
                            return trap(
                                ComponentTrapKind::BadHandle,
                                format!("handle index {h} used with the wrong type"),
                            )
                        }
                        None => return unknown_handle(h),
                    };
                    state.handles[h as usize] = None;
                    state.free.push(h);
                    if let Some(dtor) = dtor {
                        let f = super::instance::resolve_core(store, ci, dtor)?.into_func();
                        let Some(f) = f else {
                            anyhow::bail!("resource destructor is not a function")
                        };
                        f.call_raw(store, &mut [ValRaw::i32(rep as i32)])?;
                    }
                }
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
                BuiltinKind::BackpressureInc => {
                    state.backpressure = state.backpressure.saturating_add(1)
                }
                BuiltinKind::BackpressureDec => {
                    state.backpressure = state.backpressure.saturating_sub(1)
                }
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
    crate::Func::from_host_fn(&mut store.opaque, ty, host)
}

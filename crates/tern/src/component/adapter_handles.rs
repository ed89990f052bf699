//! The runtime functions compiled adapters call to move resource handles
//! between two inlined component instances (`tern.resource_*`, see
//! `tern_environ::component::adapter_names` and the generator's `res.rs`).
//!
//! The handle tables stay where the host-fused path keeps them
//! ([`super::handles::HandleState`]), and an adapter reaches them through
//! these host functions, made once per component instance: opening and
//! closing the call's scope (whose close releases the lends and traps when
//! the callee kept a borrow; or, as an exception unwinds, releases them
//! without a check), lifting a handle out of the sending table
//! (`own` removed, `borrow` lent — its rep kept in the scope) and lowering
//! the kept reps, in order, into the receiving table. Each does what the
//! fused path does for the same handle, by calling the same `HandleState`
//! methods at the same point of the call, so a violated rule fails with the
//! same error. An adapter passes compile-time constants (the runtime
//! resource number, which this instance maps to its runtime
//! [`super::ResourceType`], and the runtime component instances) and the
//! scope's depth.

use super::handles::TableId;
use crate::func::HostFn;
use crate::store::StoreInner;
use crate::{Caller, ValRaw};
use anyhow::{Context as _, Result};
use std::sync::Arc;
use tern_environ::component::adapter_names as names;
use tern_environ::{WasmFuncType, WasmValType};

/// The handle functions adapters of one component instance import.
#[derive(Clone, Copy)]
pub(crate) struct HandleRuntime {
    enter_call: crate::Func,
    exit_call: crate::Func,
    unwind_call: crate::Func,
    lift_own: crate::Func,
    lift_borrow: crate::Func,
    lower_own: crate::Func,
    lower_borrow: crate::Func,
}

fn u(raw: &[ValRaw], i: usize) -> u32 {
    raw[i].get_i32() as u32
}

/// The runtime type of runtime resource `resource` of component instance `ci`.
fn resource_type<T>(
    store: &StoreInner<T>,
    ci: usize,
    resource: u32,
) -> Result<super::ResourceType> {
    store.opaque.components.instances[ci]
        .resource_types
        .get(resource as usize)
        .copied()
        .context("an adapter names an unknown runtime resource (a Tern bug)")
}

fn ty(params: usize, results: usize) -> WasmFuncType {
    WasmFuncType {
        params: vec![WasmValType::I32; params].into(),
        results: vec![WasmValType::I32; results].into(),
    }
}

/// `lift(index, resource, from, depth)`: `own` removes the handle from
/// `from`'s table, `borrow` lends it; either way its rep is kept.
fn lift<T>(ci: usize, own: bool) -> Arc<HostFn<T>> {
    Arc::new(move |caller: Caller<'_, T>, raw: &mut [ValRaw]| {
        let (index, resource, from, depth) = (u(raw, 0), u(raw, 1), u(raw, 2), u(raw, 3));
        let ty = resource_type(caller.store, ci, resource)?;
        let handles = caller.store.opaque.components.handles_mut()?;
        let table = TableId::Guest { ci, rt: from };
        let rep = if own {
            handles.lift_own(table, index, ty)?
        } else {
            handles.lift_borrow(table, index, ty)?
        };
        handles.stage(depth as usize, ty, rep)
    })
}

/// `lower(to, depth) -> index`: the oldest kept rep as a new handle of
/// `to` (an own, or a borrow for the call).
fn lower<T>(ci: usize, own: bool) -> Arc<HostFn<T>> {
    Arc::new(move |caller: Caller<'_, T>, raw: &mut [ValRaw]| {
        let (to, depth) = (u(raw, 0), u(raw, 1));
        let handles = caller.store.opaque.components.handles_mut()?;
        let (ty, rep) = handles.unstage(depth as usize)?;
        let table = TableId::Guest { ci, rt: to };
        let index = if own {
            handles.new_own(table, ty, rep)?
        } else {
            handles.lower_borrow(table, ty, rep)?
        };
        raw[0] = ValRaw::i32(index as i32);
        Ok(())
    })
}

impl HandleRuntime {
    /// Makes the functions for component instance `ci`.
    pub(crate) fn new<T>(store: &mut StoreInner<T>, ci: usize) -> Self {
        let enter: Arc<HostFn<T>> = Arc::new(|caller: Caller<'_, T>, raw: &mut [ValRaw]| {
            let depth = caller.store.opaque.components.handles_mut()?.open_scope();
            let depth = i32::try_from(depth).context("too many nested calls")?;
            raw[0] = ValRaw::i32(depth);
            Ok(())
        });
        let exit: Arc<HostFn<T>> = Arc::new(|caller: Caller<'_, T>, raw: &mut [ValRaw]| {
            let depth = u(raw, 0) as usize;
            caller
                .store
                .opaque
                .components
                .handles_mut()?
                .close_scope(depth, true)
        });
        let unwind: Arc<HostFn<T>> = Arc::new(|caller: Caller<'_, T>, raw: &mut [ValRaw]| {
            let depth = u(raw, 0) as usize;
            caller
                .store
                .opaque
                .components
                .handles_mut()?
                .close_scope(depth, false)
        });
        let mut func =
            |ty: WasmFuncType, f: Arc<HostFn<T>>| crate::Func::from_host_arc(store, ty, f);
        Self {
            enter_call: func(ty(0, 1), enter),
            exit_call: func(ty(1, 0), exit),
            unwind_call: func(ty(1, 0), unwind),
            lift_own: func(ty(4, 0), lift(ci, true)),
            lift_borrow: func(ty(4, 0), lift(ci, false)),
            lower_own: func(ty(2, 1), lower(ci, true)),
            lower_borrow: func(ty(2, 1), lower(ci, false)),
        }
    }

    /// The function an adapter imports as `tern.<name>`, if it is one of these.
    pub(crate) fn import(&self, name: &str) -> Option<crate::Func> {
        match name {
            names::ENTER_CALL => Some(self.enter_call),
            names::EXIT_CALL => Some(self.exit_call),
            names::UNWIND_CALL => Some(self.unwind_call),
            names::LIFT_OWN => Some(self.lift_own),
            names::LIFT_BORROW => Some(self.lift_borrow),
            names::LOWER_OWN => Some(self.lower_own),
            names::LOWER_BORROW => Some(self.lower_borrow),
            _ => None,
        }
    }
}

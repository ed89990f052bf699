//! The runtime functions compiled adapters call to move resource handles
//! between two inlined component instances (`tern.resource_*`, see
//! `tern_environ::component::adapter_names`).
//!
//! The handle tables stay where the host-fused path keeps them
//! ([`super::handles::HandleState`]), and an adapter reaches them through
//! these four host functions, made once per component instance: moving an
//! `own` out of the caller's table into the callee's, lending a `borrow`,
//! and opening and closing the call's scope (whose close releases the lends
//! and traps when the callee kept a borrow). Each does exactly what the fused
//! path does for the same handle, by calling the same `HandleState` methods
//! in the same order, so a violated rule fails with the same error; only the
//! host-table stop a fused handle makes between the two instances is skipped.
//! An adapter passes its operands as constants fixed at compile time: the
//! runtime resource number (which this instance maps to its runtime
//! [`super::ResourceType`]) and the two runtime component instances.

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
    transfer_own: crate::Func,
    transfer_borrow: crate::Func,
    enter_call: crate::Func,
    exit_call: crate::Func,
}

/// The operands of a transfer: `(index, resource, from, to)`.
fn operands(raw: &[ValRaw]) -> (u32, u32, u32, u32) {
    let u = |i: usize| raw[i].get_i32() as u32;
    (u(0), u(1), u(2), u(3))
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

impl HandleRuntime {
    /// Makes the four functions for component instance `ci`.
    pub(crate) fn new<T>(store: &mut StoreInner<T>, ci: usize) -> Self {
        let i32_ = WasmValType::I32;
        let transfer_ty = WasmFuncType {
            params: Box::new([i32_; 4]),
            results: Box::new([i32_]),
        };
        // own: out of `from` (no lends may be outstanding), into `to`.
        let own: Arc<HostFn<T>> = Arc::new(move |caller: Caller<'_, T>, raw: &mut [ValRaw]| {
            let (index, resource, from, to) = operands(raw);
            let ty = resource_type(caller.store, ci, resource)?;
            let handles = caller.store.opaque.components.handles_mut()?;
            let rep = handles.lift_own(TableId::Guest { ci, rt: from }, index, ty)?;
            let new = handles.new_own(TableId::Guest { ci, rt: to }, ty, rep)?;
            raw[0] = ValRaw::i32(new as i32);
            Ok(())
        });
        // borrow: lent from `from` for the current scope, a borrow (or the
        // rep, for the implementer) in `to`.
        let borrow: Arc<HostFn<T>> =
            Arc::new(move |caller: Caller<'_, T>, raw: &mut [ValRaw]| {
                let (index, resource, from, to) = operands(raw);
                let ty = resource_type(caller.store, ci, resource)?;
                let handles = caller.store.opaque.components.handles_mut()?;
                let rep = handles.lift_borrow(TableId::Guest { ci, rt: from }, index, ty)?;
                let new = handles.lower_borrow(TableId::Guest { ci, rt: to }, ty, rep)?;
                raw[0] = ValRaw::i32(new as i32);
                Ok(())
            });
        let enter: Arc<HostFn<T>> = Arc::new(|caller: Caller<'_, T>, raw: &mut [ValRaw]| {
            let depth = caller.store.opaque.components.handles_mut()?.open_scope();
            let depth = i32::try_from(depth).context("too many nested calls")?;
            raw[0] = ValRaw::i32(depth);
            Ok(())
        });
        let exit: Arc<HostFn<T>> = Arc::new(|caller: Caller<'_, T>, raw: &mut [ValRaw]| {
            let depth = raw[0].get_i32() as u32 as usize;
            caller
                .store
                .opaque
                .components
                .handles_mut()?
                .close_scope(depth, true)
        });
        let enter_ty = WasmFuncType {
            params: Box::new([]),
            results: Box::new([i32_]),
        };
        let exit_ty = WasmFuncType {
            params: Box::new([i32_]),
            results: Box::new([]),
        };
        Self {
            transfer_own: crate::Func::from_host_arc(store, transfer_ty.clone(), own),
            transfer_borrow: crate::Func::from_host_arc(store, transfer_ty, borrow),
            enter_call: crate::Func::from_host_arc(store, enter_ty, enter),
            exit_call: crate::Func::from_host_arc(store, exit_ty, exit),
        }
    }

    /// The function an adapter imports as `tern.<name>`, if it is one of these.
    pub(crate) fn import(&self, name: &str) -> Option<crate::Func> {
        match name {
            names::TRANSFER_OWN => Some(self.transfer_own),
            names::TRANSFER_BORROW => Some(self.transfer_borrow),
            names::ENTER_CALL => Some(self.enter_call),
            names::EXIT_CALL => Some(self.exit_call),
            _ => None,
        }
    }
}

//! Instantiating compiled component-to-component adapters (generated at
//! compile time by `tern_environ::component::plan_adapters`, compiled with
//! the component's static modules).
//!
//! An adapter is a core instance of its adapter module, whose imports are
//! the callee's core function and post-return function (already resolved
//! for its `canon lift`), the two flags slots of the component VMContext,
//! and two runtime functions made once per component instance: `tern.trap`
//! (turns an adapter's trap code into exactly the error the host-fused path
//! raises) and `tern.enter` (runs a deferred post-return, as every host
//! entry into a lifted function does first), plus the `tern.resource_*`
//! functions of `adapter_handles.rs` for adapters that move resource
//! handles. Its export replaces the host
//! closure a `canon lower` would otherwise get.

use super::abi::{check_discriminant, lift_char};
use super::adapter_handles::HandleRuntime;
use super::func::{cannot_enter, run_pending_post_return};
use super::{trap, ComponentTrapKind};
use crate::func::HostFn;
use crate::store::StoreInner;
use crate::{Caller, Extern, StoreContextMut, ValRaw};
use anyhow::{bail, Context as _, Result};
use std::sync::Arc;
use tern_environ::component::{adapter_names as names, AdapterInfo, AdapterTrap};
use tern_environ::{WasmFuncType, WasmValType};

/// The runtime functions adapters of one component instance import.
#[derive(Clone, Copy)]
pub(crate) struct AdapterRuntime {
    trap: crate::Func,
    enter: crate::Func,
    /// The `tern.resource_*` functions of adapters that move handles.
    handles: HandleRuntime,
}

impl AdapterRuntime {
    /// Makes `tern.trap` and `tern.enter` for component instance `ci`.
    pub(crate) fn new<T>(store: &mut StoreInner<T>, ci: usize) -> Self {
        let trap_fn: Arc<HostFn<T>> = Arc::new(|_: Caller<'_, T>, raw: &mut [ValRaw]| {
            let (code, a, b) = (raw[0].get_i32(), raw[1].get_i32(), raw[2].get_i32());
            adapter_trap(code, a as u32, b as u32)
        });
        let trap_ty = WasmFuncType {
            params: Box::new([WasmValType::I32; 3]),
            results: Box::new([]),
        };
        let enter_fn: Arc<HostFn<T>> = Arc::new(move |caller: Caller<'_, T>, _: &mut [ValRaw]| {
            run_pending_post_return(caller.store, ci)
        });
        let enter_ty = WasmFuncType {
            params: Box::new([]),
            results: Box::new([]),
        };
        Self {
            trap: crate::Func::from_host_arc(store, trap_ty, trap_fn),
            enter: crate::Func::from_host_arc(store, enter_ty, enter_fn),
            handles: HandleRuntime::new(store, ci),
        }
    }
}

/// The error of adapter trap `code` with operands `a` and `b`: the same
/// error, made by the same function, as the fused path's.
fn adapter_trap(code: i32, a: u32, b: u32) -> Result<()> {
    match AdapterTrap::from_code(code) {
        Some(AdapterTrap::CannotLeave) => trap(
            ComponentTrapKind::CannotLeave,
            "cannot leave component instance",
        ),
        Some(AdapterTrap::CannotEnter) => Err(cannot_enter()),
        Some(AdapterTrap::InvalidChar) => {
            lift_char(a)?;
            bail!("an adapter reported the valid char {a:#x} as invalid (a Tern bug)")
        }
        Some(AdapterTrap::InvalidDiscriminant) => {
            check_discriminant(a, b as usize)?;
            bail!("an adapter reported discriminant {a} of {b} cases as invalid (a Tern bug)")
        }
        None => bail!("unknown adapter trap code {code} (a Tern bug)"),
    }
}

/// Instantiates `adapter` in component instance `ci` and returns the core
/// function that implements its lowered function.
///
/// # Errors
/// Fails when the callee is not lifted yet or the adapter module cannot be
/// instantiated (both Tern bugs: translation guarantees the order and types).
pub(crate) fn instantiate_adapter<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    adapter: &AdapterInfo,
    runtime: AdapterRuntime,
) -> Result<crate::Func> {
    let data = &store.opaque.components.instances[ci];
    let lifted = data
        .lifted
        .get(adapter.lifted as usize)
        .context("an adapter's callee is not lifted yet (a Tern bug)")?;
    let module = data.component.inner.modules[adapter.module as usize].clone();
    let (func, post_return) = (lifted.func, lifted.post_return);
    let (caller_flags, callee_flags) = (
        data.vmctx.flags_global(adapter.caller),
        data.vmctx.flags_global(adapter.callee),
    );
    let mut externs = Vec::new();
    for import in module.imports() {
        let item = match (import.module(), import.name()) {
            (names::CALLEE, names::FUNC) => Extern::Func(func),
            (names::CALLEE, names::POST_RETURN) => Extern::Func(
                post_return.context("an adapter imports a missing post-return (a Tern bug)")?,
            ),
            (names::RUNTIME, names::TRAP) => Extern::Func(runtime.trap),
            (names::RUNTIME, names::ENTER) => Extern::Func(runtime.enter),
            (names::RUNTIME, name) => Extern::Func(runtime.handles.import(name).with_context(
                || format!("an adapter imports unknown runtime function `{name}` (a Tern bug)"),
            )?),
            (names::FLAGS, names::CALLER_FLAGS) => Extern::Global(caller_flags),
            (names::FLAGS, names::CALLEE_FLAGS) => Extern::Global(callee_flags),
            (m, n) => bail!("an adapter imports unknown item `{m}::{n}` (a Tern bug)"),
        };
        externs.push(item);
    }
    let instance = crate::Instance::new(StoreContextMut(store), &module, &externs)
        .context("failed to instantiate a component adapter")?;
    instance
        .get_func(StoreContextMut(store), names::EXPORT)
        .context("an adapter module has no export (a Tern bug)")
}

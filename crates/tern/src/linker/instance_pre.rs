//! [`InstancePre`]: a module whose imports a [`Linker`](crate::Linker) has
//! already resolved, ready to be instantiated any number of times.

use super::Definition;
use crate::vm::HostFuncList;
use crate::{AsContextMut, Extern, Func, Instance, Module};
use anyhow::Result;
use smallvec::SmallVec;
use std::sync::Arc;
use tern_environ::WasmFuncType;

/// How many imports `InstancePre::instantiate` gathers without allocating.
const INLINE_IMPORTS: usize = 16;

/// A module with its imports resolved by [`crate::Linker::instantiate_pre`].
///
/// Host functions among the imports are not tied to a store: each
/// instantiation makes them functions of its own store. Items that were
/// defined from a store (`Linker::define`, `Linker::instance`) can only be
/// used with that store.
pub struct InstancePre<T> {
    pub(super) module: Module,
    pub(super) defs: Arc<[Definition<T>]>,
    /// Per import: whether `Linker::instantiate_pre` already checked it (its
    /// host functions, which become functions of the instantiating store with
    /// the checked type), so instantiation skips the check.
    checked: Arc<[bool]>,
    /// The host functions among the imports, in order, as one list: a store
    /// keeps one reference to it, however many there are.
    hosts: HostFuncList<T>,
    /// Each of `hosts`' type and engine signature id.
    host_types: Arc<[(Arc<WasmFuncType>, u32)]>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        Self {
            module: self.module.clone(),
            defs: self.defs.clone(),
            checked: self.checked.clone(),
            hosts: self.hosts.clone(),
            host_types: self.host_types.clone(),
        }
    }
}

impl<T> std::fmt::Debug for InstancePre<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstancePre")
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

impl<T> InstancePre<T> {
    pub(super) fn new(module: Module, defs: Vec<Definition<T>>) -> Self {
        let checked = defs
            .iter()
            .map(|d| matches!(d, Definition::HostFunc(..)))
            .collect();
        let (hosts, host_types) = defs
            .iter()
            .filter_map(|d| match d {
                Definition::HostFunc(h) => {
                    // Signature ids of the module's engine, which is the one
                    // `instantiate` accepts stores of.
                    let type_id = if crate::Engine::same(&h.engine, module.engine()) {
                        h.type_id
                    } else {
                        module.engine().signature_id(&h.wasm_ty)
                    };
                    Some((h.def.clone(), (h.wasm_ty.clone(), type_id)))
                }
                Definition::Extern(_) => None,
            })
            .unzip::<_, _, Vec<_>, Vec<_>>();
        Self {
            module,
            defs: defs.into(),
            checked,
            hosts: HostFuncList::new(hosts),
            host_types: host_types.into(),
        }
    }

    /// The module this instantiates.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Instantiates the module in `store` with the resolved imports.
    ///
    /// # Errors
    /// Fails as [`Instance::new`] does: an import from another store or of the
    /// wrong type, a segment that does not fit, a trapping start function.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        let inner = store.as_context_mut().0;
        // `host_types` are signature ids of the module's engine.
        if !crate::Engine::same(inner.opaque.engine(), self.module.engine()) {
            anyhow::bail!("cross-`Engine` instantiation is not supported");
        }
        // The module's wasm-to-host trampolines first, so that its host
        // functions get theirs as they are made (no waiting list), and room for
        // them in one go.
        inner.opaque.register_module_trampolines(&self.module);
        inner.opaque.reserve_funcs(self.defs.len());
        let first = Func::from_host_list(inner, &self.hosts, &self.host_types);
        let mut hosts = first
            .into_iter()
            .flat_map(|f| (0..).map(move |k| f.nth_after(k)));
        // On the stack for the usual few imports: no allocation per instance.
        let imports: SmallVec<[Extern; INLINE_IMPORTS]> = self
            .defs
            .iter()
            .map(|def| match def {
                Definition::HostFunc(_) => {
                    Extern::Func(hosts.next().expect("one function per host definition"))
                }
                Definition::Extern(e) => e.clone(),
            })
            .collect();
        Instance::new_prechecked(store, &self.module, &imports, &self.checked)
    }
}

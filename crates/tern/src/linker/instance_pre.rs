//! [`InstancePre`]: a module whose imports a [`Linker`](crate::Linker) has
//! already resolved, ready to be instantiated any number of times.

use super::Definition;
use crate::{AsContextMut, Extern, Func, Instance, Module};
use anyhow::Result;
use std::sync::Arc;

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
    /// Per import: the engine signature id of a host function (else 0), looked
    /// up once here rather than at every instantiation.
    type_ids: Arc<[u32]>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        Self {
            module: self.module.clone(),
            defs: self.defs.clone(),
            checked: self.checked.clone(),
            type_ids: self.type_ids.clone(),
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
        let engine = module.engine();
        let type_ids = defs
            .iter()
            .map(|d| match d {
                Definition::HostFunc(ty, _) => engine.signature_id(&ty.ty),
                Definition::Extern(_) => 0,
            })
            .collect();
        Self {
            module,
            defs: defs.into(),
            checked,
            type_ids,
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
        // The signature ids above are this module's engine's.
        if !crate::Engine::same(inner.opaque.engine(), self.module.engine()) {
            anyhow::bail!("cross-`Engine` instantiation is not supported");
        }
        let imports: Vec<Extern> = self
            .defs
            .iter()
            .zip(self.type_ids.iter())
            .map(|(def, &type_id)| match def {
                Definition::HostFunc(ty, host) => Extern::Func(Func::from_host_arc_with_id(
                    inner,
                    ty.ty.clone(),
                    type_id,
                    host.clone(),
                )),
                Definition::Extern(e) => e.clone(),
            })
            .collect();
        Instance::new_prechecked(store, &self.module, &imports, &self.checked)
    }
}

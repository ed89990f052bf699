//! [`InstancePre`]: a module whose imports a [`Linker`](crate::Linker) has
//! already resolved, ready to be instantiated any number of times.

use super::Definition;
use crate::{AsContextMut, Extern, Instance, Module};
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
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        Self {
            module: self.module.clone(),
            defs: self.defs.clone(),
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
        Self {
            module,
            defs: defs.into(),
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
        let imports: Vec<Extern> = self
            .defs
            .iter()
            .map(|def| def.to_extern(&mut store))
            .collect();
        Instance::new(store, &self.module, &imports)
    }
}

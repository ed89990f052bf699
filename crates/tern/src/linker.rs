//! [`Linker`]: resolves a module's imports by name.
//!
//! Definitions are either items already in a store (`define`, `instance`,
//! `module`) or host functions (`func_wrap`, `func_new`), which are store-
//! independent and become a `Func` in the store being instantiated into.

use crate::func::{dynamic_host_fn, HostFn};
use crate::{
    AsContext, AsContextMut, Caller, Engine, Extern, Func, FuncType, Instance, IntoFunc, Module,
    Val,
};
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::sync::Arc;

enum Definition<T> {
    Extern(Extern),
    HostFunc(FuncType, Arc<HostFn<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Extern(e) => Self::Extern(e.clone()),
            Self::HostFunc(t, f) => Self::HostFunc(t.clone(), f.clone()),
        }
    }
}

/// Name-based import resolution for instantiating modules.
pub struct Linker<T> {
    engine: Engine,
    map: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            map: self.map.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T> std::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("definitions", &self.map.len())
            .finish_non_exhaustive()
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
            map: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// The linker's engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition may replace an earlier one of the same name
    /// (default: no, redefining is an error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<()> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.map.contains_key(&key) {
            bail!("import of `{module}::{name}` defined twice");
        }
        self.map.insert(key, def);
        Ok(())
    }

    /// Defines `module::name` as `item`, which lives in `store`.
    ///
    /// # Errors
    /// Fails when the name is already defined and shadowing is off.
    pub fn define(
        &mut self,
        _store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function from a typed closure.
    ///
    /// # Errors
    /// Fails when the name is already defined and shadowing is off.
    pub fn func_wrap<Params, Args>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Args>,
    ) -> Result<&mut Self> {
        let (ty, host) = func.into_func();
        self.insert(module, name, Definition::HostFunc(ty, host))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function with a dynamic signature.
    ///
    /// # Errors
    /// Fails when the name is already defined and shadowing is off.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let host = dynamic_host_fn(ty.ty.clone(), func);
        self.insert(module, name, Definition::HostFunc(ty, host))?;
        Ok(self)
    }

    /// Defines every export of `instance` under module name `module_name`.
    ///
    /// # Errors
    /// Fails when a name is already defined and shadowing is off.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let exports: Vec<(String, Extern)> = instance
            .exports(store.as_context_mut())
            .map(|(n, e)| (n.to_string(), e))
            .collect();
        for (name, item) in exports {
            self.insert(module_name, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    /// Instantiates `module` once with this linker and defines its exports under
    /// `module_name`.
    ///
    /// # Errors
    /// Fails when instantiation fails or a name is already defined.
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        let instance = self.instantiate(&mut store, module)?;
        self.instance(store, module_name, instance)
    }

    /// The definition of `module::name`, as an item of `store`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let def = self.map.get(&(module.to_string(), name.to_string()))?;
        Some(self.materialize(&mut store, def))
    }

    fn materialize(&self, mut store: impl AsContextMut<Data = T>, def: &Definition<T>) -> Extern {
        match def {
            Definition::Extern(e) => e.clone(),
            Definition::HostFunc(ty, host) => Extern::Func(Func::from_host_fn(
                &mut store.as_context_mut().0.opaque,
                ty.ty.clone(),
                host.clone(),
            )),
        }
    }

    /// Instantiates `module`, resolving each import by its module and field name.
    ///
    /// # Errors
    /// Fails listing every import that is not defined, or as [`Instance::new`].
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let mut missing = Vec::new();
        let mut imports = Vec::new();
        for import in module.imports() {
            match self
                .map
                .get(&(import.module().to_string(), import.name().to_string()))
            {
                Some(def) => imports.push(self.materialize(&mut store, def)),
                None => missing.push(format!(
                    "unknown import: `{}::{}` has not been defined (expected {})",
                    import.module(),
                    import.name(),
                    import.ty()
                )),
            }
        }
        if !missing.is_empty() {
            bail!("{}", missing.join("\n"));
        }
        Instance::new(store, module, &imports)
    }
}

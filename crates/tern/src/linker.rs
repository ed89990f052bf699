//! [`Linker`]: resolves a module's imports by name.
//!
//! Definitions are either items already in a store (`define`, `instance`,
//! `module`) or host functions (`func_wrap`, `func_new`), which are store-
//! independent and become a `Func` in the store being instantiated into.
//! Resolving a module's imports to definitions is done once by
//! [`Linker::instantiate_pre`] (see `linker/instance_pre.rs`); `instantiate`
//! is that plus one instantiation. `Linker::module` follows wasmtime's WASI
//! conventions for commands and reactors (see `linker/command.rs`).

mod asyncs;
mod command;
mod instance_pre;

pub use instance_pre::InstancePre;

use crate::func::dynamic_host_fn;
use crate::store::StoreInner;
use crate::vm::HostFuncDef;
use crate::{
    AsContext, AsContextMut, Caller, Engine, Extern, ExternType, Func, FuncType, ImportType,
    Instance, IntoFunc, Module, Val,
};
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::sync::Arc;
use tern_environ::WasmFuncType;

enum Definition<T> {
    Extern(Extern),
    HostFunc(Arc<HostFunc<T>>),
}

/// A host function defined in a linker: made once, with its context, its
/// type and its engine signature id, and shared by every store it is
/// instantiated into (each gets only a funcref of its own).
struct HostFunc<T> {
    ty: FuncType,
    wasm_ty: Arc<WasmFuncType>,
    /// The linker's engine, whose signature id `type_id` is.
    engine: Engine,
    type_id: u32,
    def: HostFuncDef<T>,
}

impl<T> HostFunc<T> {
    /// The function as a new function of `store`.
    fn to_func(&self, store: &mut StoreInner<T>) -> Func {
        let type_id = if Engine::same(&self.engine, &store.opaque.engine) {
            self.type_id
        } else {
            store.opaque.engine.signature_id(&self.wasm_ty)
        };
        Func::from_host_def(store, self.wasm_ty.clone(), type_id, &self.def)
    }
}

impl<T> Definition<T> {
    /// The item as it is in `store` (a host function becomes a new function of `store`).
    fn to_extern(&self, mut store: impl AsContextMut<Data = T>) -> Extern {
        match self {
            Self::Extern(e) => e.clone(),
            Self::HostFunc(host) => Extern::Func(host.to_func(store.as_context_mut().0)),
        }
    }
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Extern(e) => Self::Extern(e.clone()),
            Self::HostFunc(f) => Self::HostFunc(f.clone()),
        }
    }
}

/// Name-based import resolution for instantiating modules.
pub struct Linker<T> {
    engine: Engine,
    map: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
    allow_unknown_exports: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            map: self.map.clone(),
            allow_shadowing: self.allow_shadowing,
            allow_unknown_exports: self.allow_unknown_exports,
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

impl<T> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
            map: HashMap::new(),
            allow_shadowing: false,
            allow_unknown_exports: false,
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

    /// A host function of type `ty` as a definition of this linker.
    fn host_func(&self, ty: FuncType, def: HostFuncDef<T>) -> Definition<T> {
        let type_id = self.engine.signature_id(&ty.ty);
        Definition::HostFunc(Arc::new(HostFunc {
            wasm_ty: Arc::new(ty.ty.clone()),
            ty,
            engine: self.engine.clone(),
            type_id,
            def,
        }))
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
        let (ty, host) = func.into_host_fn();
        let def = self.host_func(ty, HostFuncDef::new(host));
        self.insert(module, name, def)?;
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
        let def = self.host_func(ty, HostFuncDef::from_arc(host));
        self.insert(module, name, def)?;
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
            .map(|e| (e.name().to_string(), e.into_extern()))
            .collect();
        for (name, item) in exports {
            self.insert(module_name, &name, Definition::Extern(item))?;
        }
        Ok(self)
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

    fn materialize(&self, store: impl AsContextMut<Data = T>, def: &Definition<T>) -> Extern {
        def.to_extern(store)
    }

    /// Instantiates `module`, resolving each import by its module and field name.
    ///
    /// # Errors
    /// Fails listing every import that is not defined, or as [`Instance::new`].
    pub fn instantiate(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        self.instantiate_pre(module)?.instantiate(store)
    }

    /// Resolves every import of `module` now, so that instantiating it later
    /// (as often as needed, in any store of this engine) skips the name lookups.
    ///
    /// # Errors
    /// Fails listing every import that is not defined, and for a host function
    /// whose type differs from its import's (items already in a store are
    /// type-checked when instantiating, as they need the store; host functions
    /// are not checked again then).
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>> {
        let mut missing = Vec::new();
        let mut defs = Vec::new();
        for import in module.imports() {
            match self.get_definition(import.module(), import.name()) {
                Some(def) => {
                    // Host functions are checked here once (`InstancePre`
                    // then skips them); items of a store when instantiating.
                    if let Definition::HostFunc(host) = def {
                        let (expected, ty) = (import.ty(), &host.ty);
                        if !matches!(&expected, ExternType::Func(e) if e == ty) {
                            bail!(
                                "incompatible import type for `{}::{}`: expected {expected}, found {ty}",
                                import.module(),
                                import.name()
                            );
                        }
                    }
                    defs.push(def.clone());
                }
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
        Ok(InstancePre::new(module.clone(), defs))
    }

    fn get_definition(&self, module: &str, name: &str) -> Option<&Definition<T>> {
        self.map.get(&(module.to_string(), name.to_string()))
    }

    /// Defines `name` in the module named `""` (how wasmtime names the items
    /// of a module that has no module name, e.g. for `get_default`).
    ///
    /// # Errors
    /// Fails when the name is already defined and shadowing is off.
    pub fn define_name(
        &mut self,
        store: impl AsContext<Data = T>,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.define(store, "", name, item)
    }

    /// Defines `as_module::as_name` as whatever `module::name` is defined as.
    ///
    /// # Errors
    /// Fails when `module::name` is not defined, or `as_module::as_name` is and
    /// shadowing is off.
    pub fn alias(
        &mut self,
        module: &str,
        name: &str,
        as_module: &str,
        as_name: &str,
    ) -> Result<&mut Self> {
        let Some(def) = self.get_definition(module, name).cloned() else {
            bail!("no item named `{module}::{name}` defined");
        };
        self.insert(as_module, as_name, def)?;
        Ok(self)
    }

    /// Defines every item of module `module` again under module name `as_module`.
    ///
    /// # Errors
    /// Fails when one of the new names is already defined and shadowing is off.
    pub fn alias_module(&mut self, module: &str, as_module: &str) -> Result<()> {
        let items: Vec<(String, Definition<T>)> = self
            .map
            .iter()
            .filter(|((m, _), _)| m == module)
            .map(|((_, n), def)| (n.clone(), def.clone()))
            .collect();
        for (name, def) in items {
            self.insert(as_module, &name, def)?;
        }
        Ok(())
    }

    /// The definition that would satisfy `import`, as an item of `store`.
    pub fn get_by_import(
        &self,
        store: impl AsContextMut<Data = T>,
        import: &ImportType,
    ) -> Option<Extern> {
        self.get(store, import.module(), import.name())
    }

    /// The "default export" of `module`, the function a WASI runner calls: the
    /// function defined as `module::""`, else `module::_start`, else a function
    /// that does nothing.
    ///
    /// # Errors
    /// Fails when the `""` or `_start` item is defined but is not a function.
    pub fn get_default(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
    ) -> Result<Func> {
        for name in ["", "_start"] {
            if let Some(item) = self.get(&mut store, module, name) {
                let Extern::Func(func) = item else {
                    bail!("default export `{name}` in `{module}` is not a function");
                };
                return Ok(func);
            }
        }
        Ok(Func::wrap(store, || {}))
    }

    /// Every definition, as `(module, name, item)` with the item in `store`
    /// (host functions become functions of `store` as they are visited).
    pub fn iter<'a: 'p, 'p>(
        &'a self,
        mut store: impl AsContextMut<Data = T> + 'p,
    ) -> impl Iterator<Item = (&'a str, &'a str, Extern)> + 'p {
        self.map.iter().map(move |((module, name), def)| {
            (
                module.as_str(),
                name.as_str(),
                self.materialize(&mut store, def),
            )
        })
    }

    /// Defines every function import of `module` that this linker does not
    /// define as a host function that fails, naming the import, when called.
    ///
    /// # Errors
    /// Never fails today; the `Result` is wasmtime's signature.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<()> {
        for import in module.imports() {
            if self
                .get_definition(import.module(), import.name())
                .is_some()
            {
                continue;
            }
            if let ExternType::Func(ty) = import.ty() {
                let message = format!(
                    "unknown import: `{}::{}` has not been defined",
                    import.module(),
                    import.name()
                );
                self.func_new(import.module(), import.name(), ty, move |_, _, _| {
                    bail!("{message}")
                })?;
            }
        }
        Ok(())
    }
}

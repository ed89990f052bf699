//! [`Instance`]: an instantiated component, and the instantiation walk.
//!
//! Instantiation runs the component's initializers in order (see
//! `tern_environ::component::Initializer`): instantiate a core module with
//! items resolved from earlier steps, make a core function for each lowered
//! import (`host.rs`), record each lifted function with its resolved options,
//! make each built-in (`builtins.rs`). Everything lives in the store's
//! [`ComponentStoreData`]; handles are indices tagged with the store's id.

use super::abi::ResourceCx;
use super::adapters::{instantiate_adapter, AdapterRuntime};
use super::func::{FuncData, Lifted};
use super::handles::{HandleState, StoreHandles, TableId, TypeInfo};
use super::host::{lowered_lifted, LowerSite};
use super::linker::{Definition, ResolvedImports};
use super::resources::ResourceType;
use super::vmctx::ComponentVmctx;
use super::{Component, Func, TypedFunc};
use crate::store::{StoreInner, Stored};
use crate::{AsContextMut, Extern, Module, StoreContextMut};
use anyhow::{bail, Context as _, Result};
use std::collections::HashMap;
use std::sync::Arc;
use tern_environ::component::{
    AdapterInfo, CanonOptions, ComponentInfo, CoreDef, Export, FuncDef, Initializer, ModuleDef,
    ResourceDef,
};

/// The resource side of inlined instance `rt` of component instance `ci`.
pub(crate) fn resource_cx<T>(store: &StoreInner<T>, ci: usize, rt: u32) -> ResourceCx {
    ResourceCx {
        table: TableId::Guest { ci, rt },
        types: store.opaque.components.instances[ci]
            .frame_types
            .get(rt as usize)
            .cloned()
            .unwrap_or_else(|| Arc::new([])),
        store: store.opaque.id(),
    }
}

/// Guest destructors not resolved yet, by resource type.
type PendingDtors = Vec<(ResourceType, CoreDef)>;

/// Gives every runtime resource of `component` its runtime type in instance
/// `ci`: a fresh type for each defined one, the linker's for imported ones.
/// Returns the guest destructors still to resolve (their core instances do
/// not exist yet).
fn resource_types<T>(
    store: &mut StoreInner<T>,
    component: &Component,
    imports: &ResolvedImports<T>,
    ci: usize,
) -> Result<(Vec<ResourceType>, PendingDtors)> {
    let store_id = store.opaque.id();
    let mut types = Vec::new();
    let mut dtors = Vec::new();
    for (n, def) in component.inner.info.resources.iter().enumerate() {
        let guest = ResourceType::guest(store_id, ci, n as u32);
        let ty = match def {
            ResourceDef::Defined { instance, dtor } => {
                let info = TypeInfo {
                    implementer: Some(TableId::Guest { ci, rt: *instance }),
                    dtor: None,
                };
                let handles = store.opaque.components.handles_mut()?;
                handles.types.insert(guest, info);
                if let Some(d) = dtor {
                    dtors.push((guest, d.clone()));
                }
                guest
            }
            ResourceDef::Imported(path) => match imports.lookup(path)? {
                Definition::Resource(ty, dtor) => {
                    let known = store
                        .opaque
                        .components
                        .handles_mut()?
                        .types
                        .contains_key(ty);
                    if !known {
                        let func = dtor(store);
                        let info = TypeInfo {
                            implementer: None,
                            dtor: Some(func),
                        };
                        let handles = store.opaque.components.handles_mut()?;
                        handles.types.insert(*ty, info);
                    }
                    *ty
                }
                _ => bail!("import `{}` is not a resource", imports.describe(path)),
            },
        };
        types.push(ty);
    }
    Ok((types, dtors))
}

/// Resolves the guest destructors whose core instances exist by now.
fn resolve_dtors<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    pending: &mut PendingDtors,
) -> Result<()> {
    let mut i = 0;
    while i < pending.len() {
        let Ok(item) = resolve_core(store, ci, &pending[i].1) else {
            i += 1;
            continue;
        };
        let (ty, _) = pending.swap_remove(i);
        let func = item
            .into_func()
            .context("resource destructor is not a function")?;
        let handles = store.opaque.components.handles_mut()?;
        if let Some(info) = handles.types.get_mut(&ty) {
            info.dtor = Some(func);
        }
    }
    Ok(())
}

/// An instantiated component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance(pub(crate) Stored);

/// The state the host keeps per inlined component instance (its
/// `may_leave`/`may_enter` flags live in the component VMContext,
/// [`ComponentVmctx`], where compiled adapters reach them).
#[derive(Debug, Clone, Default)]
pub(crate) struct RuntimeState {
    /// `context.get`/`context.set` slots.
    pub(crate) context: [u32; 2],
    /// `backpressure.inc`/`dec` counter.
    pub(crate) backpressure: u32,
}

/// A post-return call deferred until `post_return` or the next call.
pub(crate) struct PendingPostReturn {
    pub(crate) func: crate::Func,
    pub(crate) args: Vec<crate::ValRaw>,
    pub(crate) runtime_instance: u32,
}

/// One instantiated component, in its store.
pub(crate) struct InstanceData {
    pub(crate) component: Component,
    pub(crate) core_instances: Vec<crate::Instance>,
    pub(crate) lowered: Vec<crate::Func>,
    pub(crate) builtins: Vec<crate::Func>,
    pub(crate) lifted: Vec<Lifted>,
    pub(crate) states: Vec<RuntimeState>,
    /// The flags of every runtime instance, where compiled code reaches them.
    pub(crate) vmctx: ComponentVmctx,
    /// The runtime functions compiled adapters import, made with the first adapter.
    pub(crate) adapter_runtime: Option<AdapterRuntime>,
    /// The runtime type of each runtime resource of the component.
    pub(crate) resource_types: Arc<[ResourceType]>,
    /// Per inlined instance: the runtime type of each resource type number
    /// its types use (`None` for numbers it does not use).
    pub(crate) frame_types: Vec<Arc<[Option<ResourceType>]>>,
    pub(crate) pending: Option<PendingPostReturn>,
    /// Component `Func` handles already given out, by lifted index.
    pub(crate) func_handles: HashMap<u32, usize>,
    /// Core modules imported from the linker, by root import index.
    pub(crate) imported_modules: HashMap<u32, Module>,
}

/// A call of an async-lifted export that is running.
pub(crate) struct Task {
    pub(crate) ci: usize,
    pub(crate) runtime_instance: u32,
    /// What `task.return` delivered (`Some(None)` for no result).
    pub(crate) result: Option<Option<super::Val>>,
}

/// Every component instance and function handle of a store.
#[derive(Default)]
pub struct ComponentStoreData {
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) funcs: Vec<FuncData>,
    /// Running async-lifted calls, innermost last.
    pub(crate) tasks: Vec<Task>,
    /// Every resource handle table, and the scopes of running calls.
    pub(crate) handles: StoreHandles,
}

impl ComponentStoreData {
    /// The store's handle tables, for a caller holding the store exclusively.
    ///
    /// # Errors
    /// Fails when a panic poisoned the tables' lock.
    pub(crate) fn handles_mut(&mut self) -> anyhow::Result<&mut HandleState> {
        self.handles.get_mut()
    }
}

impl std::fmt::Debug for ComponentStoreData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentStoreData")
            .field("instances", &self.instances.len())
            .finish_non_exhaustive()
    }
}

/// A component whose imports are resolved, ready to instantiate in any store
/// of its engine (wasmtime's `InstancePre`).
pub struct InstancePre<T> {
    pub(crate) component: Component,
    pub(crate) imports: Arc<ResolvedImports<T>>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        Self {
            component: self.component.clone(),
            imports: self.imports.clone(),
        }
    }
}

impl<T> InstancePre<T> {
    /// The component.
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// Instantiates the component in `store`.
    ///
    /// # Errors
    /// Fails when a core module's instantiation fails (a segment does not fit,
    /// a start function traps) or the store belongs to another engine.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        let store = store.as_context_mut().0;
        if !crate::Engine::same(&store.opaque.engine, self.component.engine()) {
            bail!("cross-`Engine` instantiation is not supported");
        }
        instantiate(store, &self.component, &self.imports)
    }
}

pub(crate) fn resolve_core(
    store: &mut StoreInner<impl Sized>,
    ci: usize,
    def: &CoreDef,
) -> Result<Extern> {
    let data = &store.opaque.components.instances[ci];
    Ok(match def {
        CoreDef::Export { instance, name } => {
            let inst = *data
                .core_instances
                .get(*instance as usize)
                .context("core instance not created yet")?;
            inst.get_export(StoreContextMut(store), name)
                .with_context(|| format!("core instance {instance} has no export `{name}`"))?
        }
        CoreDef::Lowered(i) => Extern::Func(
            *data
                .lowered
                .get(*i as usize)
                .context("lowered function not created yet")?,
        ),
        CoreDef::Builtin(i) => Extern::Func(
            *data
                .builtins
                .get(*i as usize)
                .context("built-in not created yet")?,
        ),
    })
}

/// The memory, realloc and post-return functions named by `options`.
pub(crate) struct ResolvedOptions {
    pub(crate) memory: Option<crate::Memory>,
    pub(crate) realloc: Option<crate::Func>,
    pub(crate) post_return: Option<crate::Func>,
}

pub(crate) fn resolve_options(
    store: &mut StoreInner<impl Sized>,
    ci: usize,
    options: &CanonOptions,
) -> Result<ResolvedOptions> {
    let func = |store: &mut StoreInner<_>, d: &Option<CoreDef>| -> Result<Option<crate::Func>> {
        d.as_ref()
            .map(|d| {
                resolve_core(store, ci, d)?
                    .into_func()
                    .context("option is not a function")
            })
            .transpose()
    };
    let memory = match &options.memory {
        Some(d) => Some(
            resolve_core(store, ci, d)?
                .into_memory()
                .context("memory option is not a memory")?,
        ),
        None => None,
    };
    Ok(ResolvedOptions {
        memory,
        realloc: func(store, &options.realloc)?,
        post_return: func(store, &options.post_return)?,
    })
}

/// The compiled adapter of `init`, when it is a lowered function that has one.
fn adapter_for<'a>(info: &'a ComponentInfo, init: &Initializer) -> Option<&'a AdapterInfo> {
    let Initializer::Lower { index, .. } = init else {
        return None;
    };
    // `plan_adapters` records them in initializer order, so by lowered index.
    let i = info
        .adapters
        .binary_search_by_key(index, |a| a.lowered)
        .ok()?;
    info.adapters.get(i)
}

/// Runs the component's initializers in `store`.
pub(crate) fn instantiate<T>(
    store: &mut StoreInner<T>,
    component: &Component,
    imports: &ResolvedImports<T>,
) -> Result<Instance> {
    store.opaque.check_sync_entry()?;
    let info = &component.inner.info;
    let ci = store.opaque.components.instances.len();
    let mut imported_modules = HashMap::new();
    for (i, def) in imports.items.iter().enumerate() {
        if let Definition::Module(m) = def {
            imported_modules.insert(i as u32, m.clone());
        }
    }
    let vmctx = ComponentVmctx::new(&mut store.opaque, info.num_runtime_instances);
    store.opaque.components.instances.push(InstanceData {
        component: component.clone(),
        core_instances: Vec::with_capacity(info.num_core_instances as usize),
        lowered: Vec::with_capacity(info.num_lowered as usize),
        builtins: Vec::with_capacity(info.num_builtins as usize),
        lifted: Vec::with_capacity(info.num_lifted as usize),
        states: vec![RuntimeState::default(); info.num_runtime_instances as usize],
        vmctx,
        adapter_runtime: None,
        resource_types: Arc::new([]),
        frame_types: Vec::new(),
        pending: None,
        func_handles: HashMap::new(),
        imported_modules,
    });
    let (types, mut dtors) = resource_types(store, component, imports, ci)?;
    let frame_types = info
        .instance_resources
        .iter()
        .map(|pairs| {
            let len = pairs.last().map_or(0, |(n, _)| *n as usize + 1);
            let mut v = vec![None; len];
            for (n, c) in pairs {
                v[*n as usize] = types.get(*c as usize).copied();
            }
            v.into()
        })
        .collect();
    let data = &mut store.opaque.components.instances[ci];
    data.resource_types = types.into();
    data.frame_types = frame_types;
    for init in &info.initializers {
        resolve_dtors(store, ci, &mut dtors)?;
        if let Some(adapter) = adapter_for(info, init) {
            // A component-to-component call compiled at compile time.
            let runtime = match store.opaque.components.instances[ci].adapter_runtime {
                Some(r) => r,
                None => {
                    let r = AdapterRuntime::new(store, ci);
                    store.opaque.components.instances[ci].adapter_runtime = Some(r);
                    r
                }
            };
            let Initializer::Lower { options, .. } = init else {
                bail!("an adapter for an initializer that lowers nothing (a Tern bug)");
            };
            let caller = resolve_options(store, ci, options)?;
            let caller = (caller, options.string_encoding);
            let func = instantiate_adapter(store, ci, adapter, runtime, caller)?;
            store.opaque.components.instances[ci].lowered.push(func);
            continue;
        }
        match init {
            Initializer::InstantiateModule {
                module,
                args,
                instance: rt,
            } => {
                let module = match module {
                    ModuleDef::Static(i) => component.inner.modules[*i as usize].clone(),
                    ModuleDef::Import(path) => match imports.lookup(path)? {
                        Definition::Module(m) => m.clone(),
                        _ => bail!("import `{}` is not a module", imports.describe(path)),
                    },
                };
                let by_name: HashMap<(&str, &str), &CoreDef> = args
                    .iter()
                    .map(|(m, n, d)| ((m.as_str(), n.as_str()), d))
                    .collect();
                let mut externs = Vec::new();
                for import in module.imports() {
                    let def = by_name
                        .get(&(import.module(), import.name()))
                        .with_context(|| {
                            format!(
                                "no item for core import `{}::{}`",
                                import.module(),
                                import.name()
                            )
                        })?;
                    externs.push(resolve_core(store, ci, def)?);
                }
                // The instance is being instantiated: a start function that
                // calls back into it (through a lifted export) cannot enter.
                let vmctx = &store.opaque.components.instances[ci].vmctx;
                let was = vmctx.may_enter(*rt);
                vmctx.set_may_enter(*rt, false);
                let instance = crate::Instance::new(StoreContextMut(store), &module, &externs);
                store.opaque.components.instances[ci]
                    .vmctx
                    .set_may_enter(*rt, was);
                let instance = instance?;
                store.opaque.components.instances[ci]
                    .core_instances
                    .push(instance);
            }
            Initializer::Lower {
                index: _,
                callee,
                options,
                ty,
                core_ty,
                instance,
            } => {
                let resolved = resolve_options(store, ci, options)?;
                let site = LowerSite::new(
                    component,
                    *ty,
                    core_ty.clone(),
                    options.string_encoding,
                    resolved,
                    ci,
                    *instance,
                    options.is_async,
                )?;
                let func = match callee {
                    FuncDef::Import(path) => match imports.lookup(path)? {
                        Definition::Func(f) => f.lower(store, site),
                        _ => bail!("import `{}` is not a function", imports.describe(path)),
                    },
                    FuncDef::Lifted(l) => lowered_lifted(store, site, *l),
                };
                store.opaque.components.instances[ci].lowered.push(func);
            }
            Initializer::Lift {
                index,
                func,
                options,
                ty,
                instance,
            } => {
                let core = resolve_core(store, ci, func)?
                    .into_func()
                    .context("lifted item is not a function")?;
                let resolved = resolve_options(store, ci, options)?;
                let lifted = Lifted::new(
                    store, component, *index, core, resolved, options, *ty, *instance,
                )?;
                store.opaque.components.instances[ci].lifted.push(lifted);
            }
            Initializer::Builtin {
                index: _,
                kind,
                core_ty,
                instance,
            } => {
                let func = super::builtins::make(store, ci, *instance, kind, core_ty.clone());
                store.opaque.components.instances[ci].builtins.push(func);
            }
        }
    }
    resolve_dtors(store, ci, &mut dtors)?;
    Ok(Instance(store.opaque.stored(ci)))
}

impl Instance {
    fn data<'a, T>(&self, store: &'a StoreInner<T>) -> &'a InstanceData {
        assert_eq!(
            self.0.store_id,
            store.opaque.id(),
            "component instance used with the wrong store"
        );
        &store.opaque.components.instances[self.0.index]
    }

    /// The root export `name` as a function.
    ///
    /// # Panics
    /// Panics if `store` is not the instance's store.
    pub fn get_func(&self, mut store: impl AsContextMut, name: &str) -> Option<Func> {
        let store = store.as_context_mut().0;
        let export = self
            .data(store)
            .component
            .inner
            .info
            .exports
            .iter()
            .find(|(n, _)| n == name)?
            .1
            .clone();
        self.func_for(store, &export)
    }

    /// The function at `path` in the export tree: `["wasi:cli/run", "run"]`
    /// is function `run` of exported instance `wasi:cli/run`.
    ///
    /// # Panics
    /// Panics if `store` is not the instance's store.
    pub fn get_func_at(&self, mut store: impl AsContextMut, path: &[&str]) -> Option<Func> {
        let store = store.as_context_mut().0;
        let (first, rest) = path.split_first()?;
        let mut export = self
            .data(store)
            .component
            .inner
            .info
            .exports
            .iter()
            .find(|(n, _)| n == first)?
            .1
            .clone();
        for name in rest {
            let Export::Instance(items) = export else {
                return None;
            };
            export = items.into_iter().find(|(n, _)| n == name)?.1;
        }
        self.func_for(store, &export)
    }

    fn func_for<T>(&self, store: &mut StoreInner<T>, export: &Export) -> Option<Func> {
        let Export::Func(FuncDef::Lifted(l), _) = export else {
            return None;
        };
        if let Some(h) = store.opaque.components.instances[self.0.index]
            .func_handles
            .get(l)
            .copied()
        {
            return Some(Func(store.opaque.stored(h)));
        }
        let handle = store.opaque.components.funcs.len();
        store.opaque.components.funcs.push(FuncData {
            instance: self.0.index,
            lifted: *l,
        });
        store.opaque.components.instances[self.0.index]
            .func_handles
            .insert(*l, handle);
        Some(Func(store.opaque.stored(handle)))
    }

    /// The root export `name` as a function with static types.
    ///
    /// # Errors
    /// Fails when there is no such function, or its type is not
    /// `Params -> Results` (the message names both types).
    pub fn get_typed_func<Params, Results>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>>
    where
        Params: super::ComponentNamedList + super::Lower,
        Results: super::ComponentNamedList + super::Lift,
    {
        let func = self
            .get_func(&mut store, name)
            .with_context(|| format!("failed to find function export `{name}`"))?;
        func.typed::<Params, Results>(&store)
            .with_context(|| format!("failed to convert function `{name}` to given type"))
    }

    /// The root export `name` as a core module.
    pub fn get_module(&self, mut store: impl AsContextMut, name: &str) -> Option<Module> {
        let store = store.as_context_mut().0;
        let data = self.data(store);
        let Export::Module(m) = &data
            .component
            .inner
            .info
            .exports
            .iter()
            .find(|(n, _)| n == name)?
            .1
        else {
            return None;
        };
        match m {
            ModuleDef::Static(i) => data.component.inner.modules.get(*i as usize).cloned(),
            ModuleDef::Import(path) => data.imported_modules.get(&path.import).cloned(),
        }
    }
}

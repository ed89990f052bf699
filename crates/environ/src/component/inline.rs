//! Inlining: runs a parsed component's definitions at compile time, over
//! symbolic values, and records only the steps that need a store (see
//! `info.rs` for the resulting [`ComponentInfo`]).
//!
//! Each component instantiation (the root, then every nested `instance
//! (instantiate $C …)`) is a [`Frame`] holding the component's index spaces.
//! Entries are symbolic: a core function is a [`CoreDef`]; a component
//! function is either a root import or a lifted function; an instance is
//! either a root import (resolved later by path) or a list of named items;
//! a nested component is a definition plus the snapshot of its lexical
//! parent's module and component spaces, which is all `alias outer` can
//! reach. Instantiating a nested component evaluates a new frame with the
//! arguments bound to its imports and yields its exports. Types are not
//! tracked per frame: the validator already resolved every type index, so
//! types are read from its per-component tables when a lift or lower needs them.

use super::convert::TypeConverter;
use super::info::{
    BuiltinKind, CanonOptions, ComponentInfo, CoreDef, Export, FuncDef, ImportPath, Initializer,
    ModuleDef, ResourceDef, StringEncoding,
};
use super::parse::{Item, Parsed, ParsedComponent};
use super::types::ComponentItemType;
use crate::WasmFuncType;
use anyhow::{bail, Context as _, Result};
use std::collections::HashMap;
use std::rc::Rc;
use wasmparser::component_types::{ComponentAnyTypeId, ResourceId};
use wasmparser::types::Types;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind,
    ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Instance, InstantiationArgKind,
};

/// The most initializers a component may expand to (nested instantiation can
/// multiply; this bounds compile time and memory on hostile input).
const MAX_INITIALIZERS: usize = 1_000_000;
/// The most component instances inlining may create, for the same reason.
const MAX_RUNTIME_INSTANCES: u32 = 100_000;
/// How deeply component instantiations may nest (inlining recurses per level).
const MAX_NESTING: u32 = 100;

#[derive(Clone)]
enum CoreInstanceDef {
    Runtime(u32),
    Synthetic(Rc<HashMap<String, CoreDef>>),
}

#[derive(Clone)]
enum InstanceDef {
    Import(ImportPath),
    Items(Rc<Vec<(String, ItemDef)>>),
}

#[derive(Clone)]
enum ComponentDef {
    Static(u32, Option<Rc<Closure>>),
    Import(ImportPath),
}

#[derive(Clone)]
enum ItemDef {
    Func(FuncDef),
    Instance(InstanceDef),
    Module(ModuleDef),
    Component(ComponentDef),
    /// A type; `Some(n)` when it is resource number `n`.
    Type(Option<u32>),
}

/// What `alias outer` can reach of a lexically enclosing component.
struct Closure {
    modules: Vec<ModuleDef>,
    components: Vec<ComponentDef>,
    parent: Option<Rc<Closure>>,
}

struct Frame<'a, 'data> {
    comp: &'a ParsedComponent<'data>,
    types: &'a Types,
    /// Bound imports (`None` at the root, where imports become root imports).
    args: Option<HashMap<String, ItemDef>>,
    closure: Option<Rc<Closure>>,
    instance: u32,
    core_funcs: Vec<CoreDef>,
    core_memories: Vec<CoreDef>,
    core_tables: Vec<CoreDef>,
    core_globals: Vec<CoreDef>,
    core_tags: Vec<CoreDef>,
    core_instances: Vec<CoreInstanceDef>,
    modules: Vec<ModuleDef>,
    components: Vec<ComponentDef>,
    funcs: Vec<FuncDef>,
    instances: Vec<InstanceDef>,
    num_types: u32,
    exports: Vec<(String, ItemDef)>,
}

pub(crate) struct Inliner<'a, 'data> {
    parsed: &'a Parsed<'data>,
    conv: TypeConverter<'a>,
    info: ComponentInfo,
    /// Per runtime component instance: its resource type numbers (as in
    /// `TypeDef::Own`) → the runtime resource (index of `info.resources`).
    frame_resources: Vec<HashMap<u32, u32>>,
    depth: u32,
}

fn item_kind(item: &ItemDef) -> &'static str {
    match item {
        ItemDef::Func(_) => "func",
        ItemDef::Instance(_) => "instance",
        ItemDef::Module(_) => "module",
        ItemDef::Component(_) => "component",
        ItemDef::Type(_) => "type",
    }
}

fn get<T: Clone>(space: &[T], index: u32, what: &str) -> Result<T> {
    space
        .get(index as usize)
        .cloned()
        .with_context(|| format!("{what} index {index} out of bounds"))
}

impl<'a, 'data> Inliner<'a, 'data> {
    pub(crate) fn new(parsed: &'a Parsed<'data>) -> Result<Self> {
        let root_types = parsed.components[0]
            .types
            .as_ref()
            .context("component has no type information")?;
        Ok(Self {
            parsed,
            conv: TypeConverter::new(root_types),
            info: ComponentInfo::default(),
            frame_resources: Vec::new(),
            depth: 0,
        })
    }

    fn root_types(&self) -> Result<&'a Types> {
        self.parsed.components[0]
            .types
            .as_ref()
            .context("component has no type information")
    }

    /// Inlines the root component and returns the translation.
    pub(crate) fn run(mut self) -> Result<ComponentInfo> {
        let root = &self.parsed.components[0];
        let frame = self.instantiate(root, None, None)?;
        let root_types = root
            .types
            .as_ref()
            .context("component has no type information")?;
        for (name, item) in &frame.exports {
            let ty = match root_types.component_item_for_export(name) {
                Some(i) => self.conv.item(i.ty)?,
                None => bail!("export `{name}` has no type"),
            };
            let export = self.export(item, &ty)?;
            self.info.exports.push((name.clone(), export));
            self.info.export_types.push(ty);
        }
        self.info.types = std::mem::take(&mut self.conv.out);
        self.info.instance_resources = self
            .frame_resources
            .iter()
            .map(|m| {
                let mut v: Vec<(u32, u32)> = m.iter().map(|(n, c)| (*n, *c)).collect();
                v.sort_unstable();
                v
            })
            .collect();
        Ok(self.info)
    }

    fn export(&self, item: &ItemDef, ty: &ComponentItemType) -> Result<Export> {
        Ok(match (item, ty) {
            (ItemDef::Func(f), ComponentItemType::Func(t)) => Export::Func(f.clone(), *t),
            (ItemDef::Instance(i), ComponentItemType::Instance(tys)) => {
                let mut out = Vec::new();
                for (name, ty) in tys {
                    let item = match i {
                        InstanceDef::Items(items) => items
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, d)| d.clone())
                            .with_context(|| format!("instance has no export `{name}`"))?,
                        InstanceDef::Import(path) => import_item(path, name, ty),
                    };
                    out.push((name.clone(), self.export(&item, ty)?));
                }
                Export::Instance(out)
            }
            (ItemDef::Module(m), _) => Export::Module(m.clone()),
            (ItemDef::Type(_), ty) => Export::Type(ty.clone()),
            (ItemDef::Component(_), _) => Export::Component,
            (item, _) => bail!("export of a {} does not match its type", item_kind(item)),
        })
    }

    fn push(&mut self, init: Initializer) -> Result<()> {
        if self.info.initializers.len() >= MAX_INITIALIZERS {
            bail!("component expands to more than {MAX_INITIALIZERS} instantiation steps");
        }
        self.info.initializers.push(init);
        Ok(())
    }

    fn instantiate(
        &mut self,
        comp: &'a ParsedComponent<'data>,
        args: Option<HashMap<String, ItemDef>>,
        closure: Option<Rc<Closure>>,
    ) -> Result<Frame<'a, 'data>> {
        let types = comp
            .types
            .as_ref()
            .context("nested component has no type information")?;
        if self.depth >= MAX_NESTING {
            bail!("component instantiations nest deeper than Tern's limit of {MAX_NESTING}");
        }
        if self.info.num_runtime_instances >= MAX_RUNTIME_INSTANCES {
            bail!("component expands to more than {MAX_RUNTIME_INSTANCES} component instances");
        }
        let instance = self.info.num_runtime_instances;
        self.info.num_runtime_instances += 1;
        self.frame_resources.push(HashMap::new());
        let mut f = Frame {
            comp,
            types,
            args,
            closure,
            instance,
            core_funcs: Vec::new(),
            core_memories: Vec::new(),
            core_tables: Vec::new(),
            core_globals: Vec::new(),
            core_tags: Vec::new(),
            core_instances: Vec::new(),
            modules: Vec::new(),
            components: Vec::new(),
            funcs: Vec::new(),
            instances: Vec::new(),
            num_types: 0,
            exports: Vec::new(),
        };
        let comp = f.comp;
        self.depth += 1;
        let result = comp
            .items
            .iter()
            .try_for_each(|item| self.item(&mut f, item));
        self.depth -= 1;
        result?;
        Ok(f)
    }

    fn push_item(f: &mut Frame<'_, '_>, item: ItemDef) {
        match item {
            ItemDef::Func(d) => f.funcs.push(d),
            ItemDef::Instance(d) => f.instances.push(d),
            ItemDef::Module(d) => f.modules.push(d),
            ItemDef::Component(d) => f.components.push(d),
            ItemDef::Type(_) => f.num_types += 1,
        }
    }

    /// The resource behind type `index` of `f`, if it is one.
    fn resource_id(f: &Frame<'_, '_>, index: u32) -> Option<ResourceId> {
        let types = f.types.as_ref();
        if index >= types.component_type_count() {
            return None;
        }
        match types.component_any_type_at(index) {
            ComponentAnyTypeId::Resource(r) => Some(r.resource()),
            _ => None,
        }
    }

    /// The runtime resource behind type `index` of `f`, if it is one.
    fn type_item(&mut self, f: &Frame<'_, '_>, index: u32) -> ItemDef {
        let runtime = Self::resource_id(f, index).and_then(|r| {
            let n = self.conv.resource(r);
            self.frame_resources[f.instance as usize].get(&n).copied()
        });
        ItemDef::Type(runtime)
    }

    /// Makes resource type number `n` of frame `instance` runtime resource `c`
    /// (unless it already is one).
    fn bind_resource(&mut self, instance: u32, n: u32, c: u32) {
        self.frame_resources[instance as usize]
            .entry(n)
            .or_insert(c);
    }

    /// A new runtime resource.
    fn new_resource(&mut self, def: ResourceDef) -> Result<u32> {
        if self.info.resources.len() >= MAX_INITIALIZERS {
            bail!("component defines more than {MAX_INITIALIZERS} resources");
        }
        self.info.resources.push(def);
        Ok(self.info.resources.len() as u32 - 1)
    }

    /// Records that type `index` of `f` (about to be defined) is `item`: when
    /// `item` is a resource, `index` names the same runtime resource.
    fn bind_type(&mut self, f: &Frame<'_, '_>, index: u32, item: &ItemDef) {
        if let (ItemDef::Type(Some(c)), Some(r)) = (item, Self::resource_id(f, index)) {
            let n = self.conv.resource(r);
            self.bind_resource(f.instance, n, *c);
        }
    }

    /// Gives every resource in root import type `ty` (at `path`) a runtime
    /// resource supplied by the embedder.
    fn import_resources(&mut self, ty: &ComponentItemType, path: ImportPath) -> Result<()> {
        match ty {
            ComponentItemType::Resource(n) if !self.frame_resources[0].contains_key(n) => {
                let c = self.new_resource(ResourceDef::Imported(path))?;
                self.bind_resource(0, *n, c);
            }
            ComponentItemType::Instance(items) => {
                for (name, ty) in items {
                    let mut p = path.clone();
                    p.path.push(name.clone());
                    self.import_resources(ty, p)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Binds the resources exported by instance type `ty` (an import of `f`)
    /// to the resources of the argument `arg`.
    fn bind_instance_resources(
        &mut self,
        instance: u32,
        ty: wasmparser::component_types::ComponentInstanceTypeId,
        arg: &InstanceDef,
    ) {
        use wasmparser::component_types::ComponentEntityType as E;
        let Ok(root) = self.root_types() else { return };
        for (name, item) in root[ty].exports.iter() {
            let E::Type {
                referenced: ComponentAnyTypeId::Resource(r),
                ..
            } = item.ty
            else {
                continue;
            };
            let n = match arg {
                InstanceDef::Items(items) => match items.iter().find(|(n, _)| n == name) {
                    Some((_, ItemDef::Type(Some(n)))) => Some(*n),
                    _ => None,
                },
                InstanceDef::Import(path) => self.imported_resource(path, name),
            };
            if let Some(c) = n {
                let n = self.conv.resource(r.resource());
                self.bind_resource(instance, n, c);
            }
        }
    }

    /// The runtime resource of export `name` of the root import at `path`.
    fn imported_resource(&self, path: &ImportPath, name: &str) -> Option<u32> {
        let mut ty = &self.info.imports.get(path.import as usize)?.1;
        for segment in path.path.iter().map(String::as_str).chain([name]) {
            let ComponentItemType::Instance(items) = ty else {
                return None;
            };
            ty = &items.iter().find(|(n, _)| n == segment)?.1;
        }
        match ty {
            ComponentItemType::Resource(n) => self.frame_resources[0].get(n).copied(),
            _ => None,
        }
    }

    fn space_item(
        &mut self,
        f: &Frame<'_, '_>,
        kind: ComponentExternalKind,
        index: u32,
    ) -> Result<ItemDef> {
        Ok(match kind {
            ComponentExternalKind::Func => ItemDef::Func(get(&f.funcs, index, "function")?),
            ComponentExternalKind::Instance => {
                ItemDef::Instance(get(&f.instances, index, "instance")?)
            }
            ComponentExternalKind::Module => ItemDef::Module(get(&f.modules, index, "module")?),
            ComponentExternalKind::Component => {
                ItemDef::Component(get(&f.components, index, "component")?)
            }
            ComponentExternalKind::Type => self.type_item(f, index),
            ComponentExternalKind::Value => bail!("component values are not supported"),
        })
    }

    fn item(&mut self, f: &mut Frame<'a, 'data>, item: &Item<'data>) -> Result<()> {
        match item {
            Item::Module(m) => f.modules.push(ModuleDef::Static(*m)),
            Item::Component(c) => {
                let closure = Rc::new(Closure {
                    modules: f.modules.clone(),
                    components: f.components.clone(),
                    parent: f.closure.clone(),
                });
                f.components.push(ComponentDef::Static(*c, Some(closure)));
            }
            Item::CoreType => {}
            Item::Type(resource) => {
                if let Some(dtor) = resource {
                    if let Some(r) = Self::resource_id(f, f.num_types) {
                        let dtor = dtor
                            .map(|d| get(&f.core_funcs, d, "core function"))
                            .transpose()?;
                        let n = self.conv.resource(r);
                        let c = self.new_resource(ResourceDef::Defined {
                            instance: f.instance,
                            dtor,
                        })?;
                        self.frame_resources[f.instance as usize].insert(n, c);
                    }
                }
                f.num_types += 1;
            }
            Item::Import(import) => {
                let name = import.name.name;
                let def = match &f.args {
                    Some(args) => {
                        let def = args
                            .get(name)
                            .cloned()
                            .with_context(|| format!("missing argument for import `{name}`"))?;
                        match (&def, import.ty) {
                            (ItemDef::Type(_), _) => self.bind_type(f, f.num_types, &def),
                            (ItemDef::Instance(arg), ComponentTypeRef::Instance(_)) => {
                                let ty = f.types.as_ref().component_item_for_import(name);
                                if let Some(wasmparser::component_types::ComponentItem {
                                    ty:
                                        wasmparser::component_types::ComponentEntityType::Instance(id),
                                    ..
                                }) = ty
                                {
                                    self.bind_instance_resources(f.instance, *id, arg);
                                }
                            }
                            _ => {}
                        }
                        def
                    }
                    None => {
                        let root_types = f.types;
                        let ty = root_types
                            .component_item_for_import(name)
                            .with_context(|| format!("import `{name}` has no type"))?;
                        let ty = self.conv.item(ty.ty)?;
                        let path = ImportPath {
                            import: self.info.imports.len() as u32,
                            path: Vec::new(),
                        };
                        self.import_resources(&ty, path.clone())?;
                        self.info.imports.push((name.to_string(), ty));
                        match import.ty {
                            ComponentTypeRef::Func(_) => ItemDef::Func(FuncDef::Import(path)),
                            ComponentTypeRef::Instance(_) => {
                                ItemDef::Instance(InstanceDef::Import(path))
                            }
                            ComponentTypeRef::Module(_) => ItemDef::Module(ModuleDef::Import(path)),
                            ComponentTypeRef::Component(_) => {
                                ItemDef::Component(ComponentDef::Import(path))
                            }
                            ComponentTypeRef::Type(_) => self.type_item(f, f.num_types),
                            ComponentTypeRef::Value(_) => bail!("value imports are not supported"),
                        }
                    }
                };
                Self::push_item(f, def);
            }
            Item::Export(export) => {
                let item = self.space_item(f, export.kind, export.index)?;
                if let ItemDef::Type(_) = item {
                    self.bind_type(f, f.num_types, &item);
                }
                f.exports.push((export.name.name.to_string(), item.clone()));
                Self::push_item(f, item);
            }
            Item::CoreInstance(Instance::Instantiate { module_index, args }) => {
                let module = get(&f.modules, *module_index, "module")?;
                let ty = f.types.as_ref().module_at(*module_index);
                let mut by_name: HashMap<&str, CoreInstanceDef> = HashMap::new();
                for arg in args.iter() {
                    let InstantiationArgKind::Instance = arg.kind;
                    by_name.insert(
                        arg.name,
                        get(&f.core_instances, arg.index, "core instance")?,
                    );
                }
                let mut resolved = Vec::new();
                for (module_name, field) in self.root_types()?[ty].imports.keys() {
                    let instance = by_name.get(module_name.as_str()).with_context(|| {
                        format!("no instance given for import module `{module_name}`")
                    })?;
                    resolved.push((
                        module_name.clone(),
                        field.clone(),
                        core_export(instance, field)?,
                    ));
                }
                self.push(Initializer::InstantiateModule {
                    module,
                    args: resolved,
                    instance: f.instance,
                })?;
                f.core_instances
                    .push(CoreInstanceDef::Runtime(self.info.num_core_instances));
                self.info.num_core_instances += 1;
            }
            Item::CoreInstance(Instance::FromExports(exports)) => {
                let mut map = HashMap::new();
                for e in exports.iter() {
                    let def = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            get(&f.core_funcs, e.index, "core function")?
                        }
                        ExternalKind::Memory => get(&f.core_memories, e.index, "core memory")?,
                        ExternalKind::Table => get(&f.core_tables, e.index, "core table")?,
                        ExternalKind::Global => get(&f.core_globals, e.index, "core global")?,
                        ExternalKind::Tag => get(&f.core_tags, e.index, "core tag")?,
                    };
                    map.insert(e.name.to_string(), def);
                }
                f.core_instances
                    .push(CoreInstanceDef::Synthetic(Rc::new(map)));
            }
            Item::Instance(wasmparser::ComponentInstance::Instantiate {
                component_index,
                args,
            }) => {
                let component = get(&f.components, *component_index, "component")?;
                let mut bound = HashMap::new();
                for arg in args.iter() {
                    bound.insert(
                        arg.name.to_string(),
                        self.space_item(f, arg.kind, arg.index)?,
                    );
                }
                let (index, closure) = match component {
                    ComponentDef::Static(index, closure) => (index, closure),
                    ComponentDef::Import(path) => {
                        bail!(
                            "instantiating an imported component (import {}) is not supported",
                            path.import
                        )
                    }
                };
                let comp = self
                    .parsed
                    .components
                    .get(index as usize)
                    .context("component index out of bounds")?;
                let child = self.instantiate(comp, Some(bound), closure)?;
                f.instances.push(InstanceDef::Items(Rc::new(child.exports)));
            }
            Item::Instance(wasmparser::ComponentInstance::FromExports(exports)) => {
                let mut items = Vec::new();
                for e in exports.iter() {
                    items.push((
                        e.name.name.to_string(),
                        self.space_item(f, e.kind, e.index)?,
                    ));
                }
                f.instances.push(InstanceDef::Items(Rc::new(items)));
            }
            Item::Alias(alias) => self.alias(f, alias)?,
            Item::Canon(canon) => self.canon(f, canon)?,
        }
        Ok(())
    }

    fn alias(&mut self, f: &mut Frame<'_, 'data>, alias: &ComponentAlias<'data>) -> Result<()> {
        match alias {
            ComponentAlias::InstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let instance = get(&f.instances, *instance_index, "instance")?;
                let item = match instance {
                    InstanceDef::Items(items) => items
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, d)| d.clone())
                        .with_context(|| format!("instance has no export `{name}`"))?,
                    InstanceDef::Import(mut path) => {
                        let parent = path.clone();
                        path.path.push(name.to_string());
                        match kind {
                            ComponentExternalKind::Func => ItemDef::Func(FuncDef::Import(path)),
                            ComponentExternalKind::Instance => {
                                ItemDef::Instance(InstanceDef::Import(path))
                            }
                            ComponentExternalKind::Module => {
                                ItemDef::Module(ModuleDef::Import(path))
                            }
                            ComponentExternalKind::Component => {
                                ItemDef::Component(ComponentDef::Import(path))
                            }
                            ComponentExternalKind::Type => {
                                ItemDef::Type(self.imported_resource(&parent, name))
                            }
                            ComponentExternalKind::Value => {
                                bail!("component values are not supported")
                            }
                        }
                    }
                };
                if let ItemDef::Type(_) = item {
                    self.bind_type(f, f.num_types, &item);
                }
                Self::push_item(f, item);
            }
            ComponentAlias::CoreInstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let instance = get(&f.core_instances, *instance_index, "core instance")?;
                let def = core_export(&instance, name)?;
                match kind {
                    ExternalKind::Func | ExternalKind::FuncExact => f.core_funcs.push(def),
                    ExternalKind::Memory => f.core_memories.push(def),
                    ExternalKind::Table => f.core_tables.push(def),
                    ExternalKind::Global => f.core_globals.push(def),
                    ExternalKind::Tag => f.core_tags.push(def),
                }
            }
            ComponentAlias::Outer { kind, count, index } => match kind {
                ComponentOuterAliasKind::CoreType => {}
                ComponentOuterAliasKind::Type => f.num_types += 1,
                ComponentOuterAliasKind::CoreModule | ComponentOuterAliasKind::Component => {
                    let item = if *count == 0 {
                        match kind {
                            ComponentOuterAliasKind::CoreModule => {
                                ItemDef::Module(get(&f.modules, *index, "module")?)
                            }
                            _ => ItemDef::Component(get(&f.components, *index, "component")?),
                        }
                    } else {
                        let mut scope = f.closure.clone();
                        for _ in 1..*count {
                            scope = scope.and_then(|s| s.parent.clone());
                        }
                        let scope = scope.context("outer alias count out of bounds")?;
                        match kind {
                            ComponentOuterAliasKind::CoreModule => {
                                ItemDef::Module(get(&scope.modules, *index, "module")?)
                            }
                            _ => ItemDef::Component(get(&scope.components, *index, "component")?),
                        }
                    };
                    Self::push_item(f, item);
                }
            },
        }
        Ok(())
    }

    fn options(f: &Frame<'_, '_>, opts: &[CanonicalOption]) -> Result<CanonOptions> {
        let mut out = CanonOptions::default();
        for opt in opts {
            match opt {
                CanonicalOption::UTF8 => out.string_encoding = StringEncoding::Utf8,
                CanonicalOption::UTF16 => out.string_encoding = StringEncoding::Utf16,
                CanonicalOption::CompactUTF16 => out.string_encoding = StringEncoding::CompactUtf16,
                CanonicalOption::Memory(m) => {
                    out.memory = Some(get(&f.core_memories, *m, "core memory")?)
                }
                CanonicalOption::Realloc(r) => {
                    out.realloc = Some(get(&f.core_funcs, *r, "core function")?)
                }
                CanonicalOption::PostReturn(p) => {
                    out.post_return = Some(get(&f.core_funcs, *p, "core function")?)
                }
                CanonicalOption::Async => out.is_async = true,
                CanonicalOption::Callback(c) => {
                    out.callback = Some(get(&f.core_funcs, *c, "core function")?)
                }
                CanonicalOption::CoreType(_) | CanonicalOption::Gc => {
                    bail!("the GC canonical options are not supported")
                }
            }
        }
        Ok(out)
    }

    /// The core signature of the next core function `f` defines.
    fn next_core_func_type(&self, f: &Frame<'_, '_>) -> Result<WasmFuncType> {
        let index = f.core_funcs.len() as u32;
        if index >= f.types.as_ref().function_count() {
            bail!("core function {index} has no type");
        }
        let id = f.types.as_ref().core_function_at(index);
        match &self.root_types()?[id].composite_type.inner {
            wasmparser::CompositeInnerType::Func(ty) => WasmFuncType::from_wasmparser(ty),
            _ => bail!("core function {index} does not have a function type"),
        }
    }

    /// The type a section refers to by value type (a primitive or a type index).
    fn reader_val(
        &mut self,
        f: &Frame<'_, '_>,
        ty: wasmparser::ComponentValType,
    ) -> Result<super::InterfaceType> {
        use wasmparser::component_types::ComponentValType as V;
        match ty {
            wasmparser::ComponentValType::Primitive(p) => self.conv.val(V::Primitive(p)),
            wasmparser::ComponentValType::Type(index) => {
                match f.types.as_ref().component_any_type_at(index) {
                    ComponentAnyTypeId::Defined(d) => self.conv.val(V::Type(d)),
                    _ => bail!("type {index} is not a value type"),
                }
            }
        }
    }

    /// The runtime resource behind type `type_index` of `f`.
    fn resource(&mut self, f: &Frame<'_, '_>, type_index: u32) -> Result<u32> {
        match self.type_item(f, type_index) {
            ItemDef::Type(Some(c)) => Ok(c),
            _ => bail!("type {type_index} is not a resource with a definition"),
        }
    }

    fn canon(&mut self, f: &mut Frame<'_, 'data>, canon: &CanonicalFunction) -> Result<()> {
        use CanonicalFunction as C;
        let builtin = match canon {
            C::Lift {
                core_func_index,
                type_index,
                options,
            } => {
                let func = get(&f.core_funcs, *core_func_index, "core function")?;
                let ComponentAnyTypeId::Func(id) =
                    f.types.as_ref().component_any_type_at(*type_index)
                else {
                    bail!("type {type_index} of a lift is not a function type");
                };
                let ty = self.conv.func(id)?;
                let options = Self::options(f, options)?;
                let index = self.info.num_lifted;
                self.info.num_lifted += 1;
                self.push(Initializer::Lift {
                    index,
                    func,
                    options,
                    ty,
                    instance: f.instance,
                })?;
                f.funcs.push(FuncDef::Lifted(index));
                return Ok(());
            }
            C::Lower {
                func_index,
                options,
            } => {
                let callee = get(&f.funcs, *func_index, "function")?;
                let ty = self
                    .conv
                    .func(f.types.as_ref().component_function_at(*func_index))?;
                let options = Self::options(f, options)?;
                let core_ty = self.next_core_func_type(f)?;
                let index = self.info.num_lowered;
                self.info.num_lowered += 1;
                self.push(Initializer::Lower {
                    index,
                    callee,
                    options,
                    ty,
                    core_ty,
                    instance: f.instance,
                })?;
                f.core_funcs.push(CoreDef::Lowered(index));
                return Ok(());
            }
            C::ResourceNew { resource } => BuiltinKind::ResourceNew(self.resource(f, *resource)?),
            C::ResourceRep { resource } => BuiltinKind::ResourceRep(self.resource(f, *resource)?),
            C::ResourceDrop { resource } => BuiltinKind::ResourceDrop(self.resource(f, *resource)?),
            C::ContextGet { slot, .. } => BuiltinKind::ContextGet(*slot),
            C::ContextSet { slot, .. } => BuiltinKind::ContextSet(*slot),
            C::BackpressureInc => BuiltinKind::BackpressureInc,
            C::BackpressureDec => BuiltinKind::BackpressureDec,
            C::TaskReturn { result, options } => BuiltinKind::TaskReturn {
                result: result.map(|r| self.reader_val(f, r)).transpose()?,
                options: Self::options(f, options)?,
            },
            other => BuiltinKind::Unsupported(builtin_name(other).to_string()),
        };
        let core_ty = self.next_core_func_type(f)?;
        let index = self.info.num_builtins;
        self.info.num_builtins += 1;
        self.push(Initializer::Builtin {
            index,
            kind: builtin,
            core_ty,
            instance: f.instance,
        })?;
        f.core_funcs.push(CoreDef::Builtin(index));
        Ok(())
    }
}

/// An item of a root import reached through an imported instance.
fn import_item(path: &ImportPath, name: &str, ty: &ComponentItemType) -> ItemDef {
    let mut path = path.clone();
    path.path.push(name.to_string());
    match ty {
        ComponentItemType::Func(_) => ItemDef::Func(FuncDef::Import(path)),
        ComponentItemType::Instance(_) => ItemDef::Instance(InstanceDef::Import(path)),
        ComponentItemType::Module(_) => ItemDef::Module(ModuleDef::Import(path)),
        ComponentItemType::Component { .. } => ItemDef::Component(ComponentDef::Import(path)),
        ComponentItemType::Resource(n) => ItemDef::Type(Some(*n)),
        _ => ItemDef::Type(None),
    }
}

fn core_export(instance: &CoreInstanceDef, name: &str) -> Result<CoreDef> {
    Ok(match instance {
        CoreInstanceDef::Runtime(i) => CoreDef::Export {
            instance: *i,
            name: name.to_string(),
        },
        CoreInstanceDef::Synthetic(map) => map
            .get(name)
            .cloned()
            .with_context(|| format!("core instance has no export `{name}`"))?,
    })
}

fn builtin_name(c: &CanonicalFunction) -> &'static str {
    use CanonicalFunction as C;
    match c {
        C::ThreadSpawnRef { .. } => "thread.spawn-ref",
        C::ThreadSpawnIndirect { .. } => "thread.spawn-indirect",
        C::ThreadAvailableParallelism => "thread.available-parallelism",
        C::TaskReturn { .. } => "task.return",
        C::TaskCancel => "task.cancel",
        C::ThreadYield => "thread.yield",
        C::SubtaskDrop => "subtask.drop",
        C::SubtaskCancel { .. } => "subtask.cancel",
        C::StreamNew { .. } => "stream.new",
        C::StreamRead { .. } => "stream.read",
        C::StreamWrite { .. } => "stream.write",
        C::StreamForward { .. } => "stream.forward",
        C::StreamCancelRead { .. } => "stream.cancel-read",
        C::StreamCancelWrite { .. } => "stream.cancel-write",
        C::StreamDropReadable { .. } => "stream.drop-readable",
        C::StreamDropWritable { .. } => "stream.drop-writable",
        C::FutureNew { .. } => "future.new",
        C::FutureRead { .. } => "future.read",
        C::FutureWrite { .. } => "future.write",
        C::FutureForward { .. } => "future.forward",
        C::FutureCancelRead { .. } => "future.cancel-read",
        C::FutureCancelWrite { .. } => "future.cancel-write",
        C::FutureDropReadable { .. } => "future.drop-readable",
        C::FutureDropWritable { .. } => "future.drop-writable",
        C::ErrorContextNew { .. } => "error-context.new",
        C::ErrorContextDebugMessage { .. } => "error-context.debug-message",
        C::ErrorContextDrop => "error-context.drop",
        C::WaitableSetNew => "waitable-set.new",
        C::WaitableSetWait { .. } => "waitable-set.wait",
        C::WaitableSetPoll { .. } => "waitable-set.poll",
        C::WaitableSetDrop => "waitable-set.drop",
        C::WaitableJoin => "waitable.join",
        C::ThreadIndex => "thread.index",
        C::ThreadNewIndirect { .. } => "thread.new-indirect",
        C::ThreadResumeLater => "thread.resume-later",
        C::ThreadSuspend => "thread.suspend",
        C::ThreadSuspendThenResume => "thread.suspend-then-resume",
        C::ThreadYieldThenResume => "thread.yield-then-resume",
        C::ThreadSuspendThenPromote => "thread.suspend-then-promote",
        C::ThreadYieldThenPromote => "thread.yield-then-promote",
        _ => "canonical built-in",
    }
}

//! The component [`Linker`]: a tree of named definitions (host functions,
//! nested instances, core modules) that a component's imports are resolved
//! against, with every import type-checked before anything is instantiated.
//!
//! Host functions are store-independent; each instantiation turns the ones it
//! uses into core functions of its store (`host.rs`).

use super::host::{host_dtor, HostDtor, HostFunc};
use super::instance::{instantiate, Instance, InstancePre};
use super::typed::host_func;
use super::{Component, ComponentNamedList, Lift, Lower, ResourceType, Val};
use crate::{AsContextMut, Engine, Module, StoreContextMut};
use anyhow::{bail, Context as _, Result};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tern_environ::component::{ComponentItemType, ComponentTypes, ImportPath};

/// One definition in a linker.
pub(crate) enum Definition<T> {
    Func(Arc<HostFunc<T>>),
    Instance(BTreeMap<String, Definition<T>>),
    Module(Module),
    Resource(ResourceType, Arc<HostDtor<T>>),
}

/// The host type of resources imported by `define_unknown_imports_as_traps`.
struct UnknownImportResource;

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Func(f) => Self::Func(f.clone()),
            Self::Instance(m) => Self::Instance(m.clone()),
            Self::Module(m) => Self::Module(m.clone()),
            Self::Resource(t, d) => Self::Resource(*t, d.clone()),
        }
    }
}

impl<T> Definition<T> {
    fn desc(&self) -> &'static str {
        match self {
            Self::Func(_) => "a function",
            Self::Instance(_) => "an instance",
            Self::Module(_) => "a module",
            Self::Resource(..) => "a resource",
        }
    }
}

/// Name-based resolution of a component's imports.
pub struct Linker<T> {
    engine: Engine,
    root: BTreeMap<String, Definition<T>>,
    allow_shadowing: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            root: self.root.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T> std::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("component::Linker")
            .field("definitions", &self.root.len())
            .finish_non_exhaustive()
    }
}

/// A view of one instance namespace of a [`Linker`] (the root, or a nested
/// instance), where definitions are added.
pub struct LinkerInstance<'a, T> {
    map: &'a mut BTreeMap<String, Definition<T>>,
    path: String,
    allow_shadowing: bool,
}

/// The linker's definitions for each root import of one component.
pub(crate) struct ResolvedImports<T> {
    pub(crate) items: Vec<Definition<T>>,
    names: Vec<String>,
}

impl<T> ResolvedImports<T> {
    /// The definition at `path`.
    pub(crate) fn lookup(&self, path: &ImportPath) -> Result<&Definition<T>> {
        let mut def = self
            .items
            .get(path.import as usize)
            .context("import index out of bounds")?;
        for name in &path.path {
            let Definition::Instance(map) = def else {
                bail!("import `{}` is not an instance", self.describe(path))
            };
            def = map.get(name).with_context(|| {
                format!("import `{}` has not been defined", self.describe(path))
            })?;
        }
        Ok(def)
    }

    /// `name/export/…` for messages.
    pub(crate) fn describe(&self, path: &ImportPath) -> String {
        let mut s = self
            .names
            .get(path.import as usize)
            .cloned()
            .unwrap_or_default();
        for p in &path.path {
            s.push('#');
            s.push_str(p);
        }
        s
    }
}

fn describe_item(types: &ComponentTypes, ty: &ComponentItemType) -> String {
    match ty {
        ComponentItemType::Func(f) => types.display_func(*f),
        ComponentItemType::Instance(items) => {
            let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
            format!("instance {{ {} }}", names.join(", "))
        }
        ComponentItemType::Module(_) => "core module".to_string(),
        ComponentItemType::Component { .. } => "component".to_string(),
        ComponentItemType::Type(t) | ComponentItemType::Value(t) => types.display(*t),
        ComponentItemType::Resource(_) => "resource".to_string(),
    }
}

/// Whether an import of this type needs a definition at runtime. A
/// resource type met before (`seen`: an interface's `use` of another
/// interface's resource, like `wasi:clocks/monotonic-clock`'s `pollable`)
/// is the same resource as where it was first imported, and takes its
/// definition from there.
fn needs_definition(ty: &ComponentItemType, seen: &HashSet<u32>) -> bool {
    match ty {
        ComponentItemType::Type(_) => false,
        ComponentItemType::Resource(n) => !seen.contains(n),
        _ => true,
    }
}

fn typecheck<T>(
    def: &Definition<T>,
    ty: &ComponentItemType,
    types: &ComponentTypes,
    name: &str,
    seen: &mut HashSet<u32>,
) -> Result<()> {
    if let ComponentItemType::Resource(n) = ty {
        seen.insert(*n);
    }
    match (def, ty) {
        (Definition::Func(f), ComponentItemType::Func(idx)) => (f.typecheck)(types, *idx)
            .with_context(|| format!("import `{name}` has the wrong type")),
        (Definition::Instance(map), ComponentItemType::Instance(items)) => {
            for (n, t) in items {
                if !needs_definition(t, seen) {
                    continue;
                }
                let inner = format!("{name}#{n}");
                match map.get(n) {
                    Some(d) => typecheck(d, t, types, &inner, seen)?,
                    None => bail!(
                        "import `{inner}` has not been defined (expected {})",
                        describe_item(types, t)
                    ),
                }
            }
            Ok(())
        }
        (Definition::Resource(..), ComponentItemType::Resource(_)) => Ok(()),
        (Definition::Module(m), ComponentItemType::Module(mt)) => {
            for (n, kind) in &mt.exports {
                let Some(actual) = m.get_export(n) else {
                    bail!("module import `{name}` lacks export `{n}` ({kind})")
                };
                let actual_kind = match actual {
                    crate::ExternType::Func(_) => "func",
                    crate::ExternType::Table(_) => "table",
                    crate::ExternType::Memory(_) => "memory",
                    crate::ExternType::Global(_) => "global",
                    crate::ExternType::Tag(_) => "tag",
                };
                if actual_kind != kind {
                    bail!("module import `{name}`: export `{n}` is a {actual_kind}, expected a {kind}");
                }
            }
            for import in m.imports() {
                if !mt
                    .imports
                    .iter()
                    .any(|(a, b, _)| a == import.module() && b == import.name())
                {
                    bail!("module import `{name}` imports `{}::{}`, which the component does not provide", import.module(), import.name());
                }
            }
            Ok(())
        }
        (def, ty) => bail!(
            "import `{name}` expected {}, but the linker defines {}",
            describe_item(types, ty),
            def.desc()
        ),
    }
}

impl<T> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
            root: BTreeMap::new(),
            allow_shadowing: false,
        }
    }

    /// The linker's engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a definition may replace an earlier one of the same name
    /// (default: no, redefining is an error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    /// The root namespace, where a component's top-level imports are defined.
    pub fn root(&mut self) -> LinkerInstance<'_, T> {
        LinkerInstance {
            map: &mut self.root,
            path: String::new(),
            allow_shadowing: self.allow_shadowing,
        }
    }

    /// The nested instance `name` of the root namespace, created if needed.
    ///
    /// # Errors
    /// Fails when `name` is already defined as something else.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        let allow_shadowing = self.allow_shadowing;
        LinkerInstance {
            map: &mut self.root,
            path: String::new(),
            allow_shadowing,
        }
        .into_instance(name)
    }

    /// Defines every import of `component` that is not defined yet so that
    /// calling it traps (instances get trapping functions for their missing
    /// exports). Core-module imports cannot be faked and stay undefined.
    ///
    /// # Errors
    /// Fails when an existing definition has the wrong kind for its import.
    pub fn define_unknown_imports_as_traps(&mut self, component: &Component) -> Result<()> {
        fn fill<T>(
            map: &mut BTreeMap<String, Definition<T>>,
            name: &str,
            ty: &ComponentItemType,
            path: &str,
        ) {
            let full = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}#{name}")
            };
            match ty {
                ComponentItemType::Func(_) => {
                    map.entry(name.to_string())
                        .or_insert_with(|| Definition::Func(Arc::new(HostFunc::trapping(full))));
                }
                ComponentItemType::Resource(_) => {
                    map.entry(name.to_string()).or_insert_with(|| {
                        Definition::Resource(
                            ResourceType::host::<UnknownImportResource>(),
                            host_dtor(|_: StoreContextMut<'_, T>, _| Ok(())),
                        )
                    });
                }
                ComponentItemType::Instance(items) => {
                    let entry = map
                        .entry(name.to_string())
                        .or_insert_with(|| Definition::Instance(BTreeMap::new()));
                    if let Definition::Instance(inner) = entry {
                        for (n, t) in items {
                            fill(inner, n, t, &full);
                        }
                    }
                }
                _ => {}
            }
        }
        for (name, ty) in &component.inner.info.imports {
            // An import a semver-compatible definition serves is defined.
            if !self.root.contains_key(name) && self.root_definition(name).is_some() {
                continue;
            }
            fill(&mut self.root, name, ty, "");
        }
        Ok(())
    }

    /// Resolves and type-checks `component`'s imports once, for
    /// instantiating it many times.
    ///
    /// # Errors
    /// Fails when an import is missing or has the wrong type; the message
    /// names the import and both types.
    pub fn instantiate_pre(&self, component: &Component) -> Result<InstancePre<T>> {
        if !Engine::same(&self.engine, component.engine()) {
            bail!("cross-`Engine` instantiation is not supported");
        }
        let info = &component.inner.info;
        let types = &component.inner.types;
        let mut items = Vec::new();
        let mut names = Vec::new();
        let mut seen = HashSet::new();
        for (name, ty) in &info.imports {
            names.push(name.clone());
            match self.root_definition(name) {
                Some(def) => {
                    typecheck(def, ty, types, name, &mut seen)?;
                    items.push(def.clone());
                }
                None if !needs_definition(ty, &seen) => {
                    items.push(Definition::Instance(BTreeMap::new()))
                }
                None => bail!(
                    "import `{name}` has not been defined (expected {})",
                    describe_item(types, ty)
                ),
            }
        }
        Ok(InstancePre {
            component: component.clone(),
            imports: Arc::new(ResolvedImports { items, names }),
        })
    }

    /// The root definition an import named `name` resolves to: the one of
    /// exactly that name, or else, for a versioned name (`ns:pkg/iface@1.2.3`),
    /// the newest definition of the same package and interface whose version
    /// is semver-compatible (as later wasmtime resolves them): a component
    /// importing `wasi:cli/environment@0.2.0` links against a definition of
    /// `wasi:cli/environment@0.2.12`.
    fn root_definition(&self, name: &str) -> Option<&Definition<T>> {
        if let Some(def) = self.root.get(name) {
            return Some(def);
        }
        let (base, version) = name.rsplit_once('@')?;
        let wanted = semver_bucket(version)?;
        self.root
            .range(format!("{base}@")..)
            .take_while(|(n, _)| n.starts_with(base) && n[base.len()..].starts_with('@'))
            .filter_map(|(n, def)| {
                let v = parse_version(&n[base.len() + 1..])?;
                (semver_bucket(&n[base.len() + 1..])? == wanted).then_some((v, def))
            })
            .max_by_key(|(v, _)| *v)
            .map(|(_, def)| def)
    }

    /// Instantiates `component` in `store`.
    ///
    /// # Errors
    /// As [`Linker::instantiate_pre`] and [`InstancePre::instantiate`].
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        component: &Component,
    ) -> Result<Instance> {
        let pre = self.instantiate_pre(component)?;
        let store = store.as_context_mut().0;
        if !Engine::same(&store.opaque.engine, component.engine()) {
            bail!("cross-`Engine` instantiation is not supported");
        }
        instantiate(store, component, &pre.imports)
    }
}

/// `major.minor.patch` with no pre-release or build suffix (a suffixed
/// version only ever matches itself exactly).
fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.');
    let mut next = || -> Option<u64> {
        let p = parts.next()?;
        if p.is_empty()
            || !p.bytes().all(|b| b.is_ascii_digit())
            || (p.len() > 1 && p.starts_with('0'))
        {
            return None;
        }
        p.parse().ok()
    };
    let v = (next()?, next()?, next()?);
    parts.next().is_none().then_some(v)
}

/// The semver-compatibility class of a version: versions in one class can
/// stand in for each other (`1.x.y` by major, `0.x.y` by minor, `0.0.x`
/// only by itself).
fn semver_bucket(v: &str) -> Option<(u64, u64, u64)> {
    match parse_version(v)? {
        (0, 0, patch) => Some((0, 0, patch)),
        (0, minor, _) => Some((0, minor, u64::MAX)),
        (major, _, _) => Some((major, u64::MAX, u64::MAX)),
    }
}

impl<'a, T> LinkerInstance<'a, T> {
    fn insert(&mut self, name: &str, def: Definition<T>) -> Result<()> {
        if !self.allow_shadowing && self.map.contains_key(name) {
            bail!("import `{}{name}` defined twice", self.prefix());
        }
        self.map.insert(name.to_string(), def);
        Ok(())
    }

    fn prefix(&self) -> String {
        if self.path.is_empty() {
            String::new()
        } else {
            format!("{}#", self.path)
        }
    }

    /// Defines `name` as a host function from a typed closure, which gets the
    /// store and the parameters as a tuple and returns the results as a tuple
    /// (`()` or `(R,)`).
    ///
    /// # Errors
    /// Fails when `name` is already defined and shadowing is off.
    pub fn func_wrap<Params, Return, F>(&mut self, name: &str, func: F) -> Result<()>
    where
        F: Fn(StoreContextMut<'_, T>, Params) -> Result<Return> + Send + Sync + 'static,
        Params: ComponentNamedList + Lift + 'static,
        Return: ComponentNamedList + Lower + 'static,
    {
        self.insert(name, Definition::Func(Arc::new(host_func(func))))
    }

    /// Defines `name` as a host function taking and returning [`Val`]s; it
    /// matches any function type, and its results are checked against the
    /// import's type when it returns. (wasmtime 12 took the component to look
    /// the type up; later versions, and Tern, do not.)
    ///
    /// # Errors
    /// Fails when `name` is already defined and shadowing is off.
    pub fn func_new(
        &mut self,
        name: &str,
        func: impl Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(name, Definition::Func(Arc::new(HostFunc::dynamic(func))))
    }

    /// Defines `name` as the host resource type `ty` (normally
    /// `ResourceType::host::<T>()`); `dtor` runs with the rep when a
    /// component drops the last owned handle of such a resource (or the host
    /// drops an owned [`super::ResourceAny`] of it).
    ///
    /// # Errors
    /// Fails when `name` is already defined and shadowing is off.
    pub fn resource(
        &mut self,
        name: &str,
        ty: ResourceType,
        dtor: impl Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(name, Definition::Resource(ty, host_dtor(dtor)))
    }

    /// Defines `name` as a core module (for components that import modules).
    ///
    /// # Errors
    /// Fails when `name` is already defined and shadowing is off.
    pub fn module(&mut self, name: &str, module: &Module) -> Result<()> {
        self.insert(name, Definition::Module(module.clone()))
    }

    /// The nested instance `name`, created if needed.
    ///
    /// # Errors
    /// Fails when `name` is already defined as something else.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        let path = format!("{}{name}", self.prefix());
        let entry = self
            .map
            .entry(name.to_string())
            .or_insert_with(|| Definition::Instance(BTreeMap::new()));
        match entry {
            Definition::Instance(map) => Ok(LinkerInstance {
                map,
                path,
                allow_shadowing: self.allow_shadowing,
            }),
            other => bail!("`{path}` is already defined as {}", other.desc()),
        }
    }

    fn into_instance(self, name: &str) -> Result<LinkerInstance<'a, T>> {
        let path = format!("{}{name}", self.prefix());
        let allow_shadowing = self.allow_shadowing;
        let entry = self
            .map
            .entry(name.to_string())
            .or_insert_with(|| Definition::Instance(BTreeMap::new()));
        match entry {
            Definition::Instance(map) => Ok(LinkerInstance {
                map,
                path,
                allow_shadowing,
            }),
            other => bail!("`{path}` is already defined as {}", other.desc()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn linker_with(names: &[&str]) -> Linker<()> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).unwrap();
        let mut linker = Linker::new(&engine);
        for n in names {
            // A module definition marks which name was picked.
            let module = Module::new(&engine, format!("(module (func (export \"{n}\")))")).unwrap();
            linker.root().module(n, &module).unwrap();
        }
        linker
    }

    fn picked(linker: &Linker<()>, import: &str) -> Option<String> {
        match linker.root_definition(import)? {
            Definition::Module(m) => m.exports().next().map(|e| e.name().to_string()),
            _ => None,
        }
    }

    #[test]
    fn imports_resolve_to_the_newest_semver_compatible_definition() {
        let l = linker_with(&[
            "wasi:cli/env@0.2.3",
            "wasi:cli/env@0.2.12",
            "wasi:cli/env@0.3.0",
            "wasi:cli/env@1.0.0-rc1",
            "wasi:cli/environment@0.2.99",
            "a:b/c@1.4.0",
            "a:b/c@1.10.2",
            "a:b/c@2.0.0",
            "z:z/z@0.0.3",
        ]);
        // Exact names win, even over a newer compatible version.
        assert_eq!(
            picked(&l, "wasi:cli/env@0.2.3").as_deref(),
            Some("wasi:cli/env@0.2.3")
        );
        // 0.x: the minor version must match; the newest patch is taken.
        assert_eq!(
            picked(&l, "wasi:cli/env@0.2.0").as_deref(),
            Some("wasi:cli/env@0.2.12")
        );
        assert_eq!(
            picked(&l, "wasi:cli/env@0.2.20").as_deref(),
            Some("wasi:cli/env@0.2.12")
        );
        assert_eq!(
            picked(&l, "wasi:cli/env@0.3.7").as_deref(),
            Some("wasi:cli/env@0.3.0")
        );
        assert_eq!(picked(&l, "wasi:cli/env@0.4.0"), None);
        // A longer name with the same prefix is another interface.
        assert_eq!(
            picked(&l, "wasi:cli/environment@0.2.0").as_deref(),
            Some("wasi:cli/environment@0.2.99")
        );
        // 1.x and later: the major version must match.
        assert_eq!(picked(&l, "a:b/c@1.0.0").as_deref(), Some("a:b/c@1.10.2"));
        assert_eq!(picked(&l, "a:b/c@2.5.0").as_deref(), Some("a:b/c@2.0.0"));
        assert_eq!(picked(&l, "a:b/c@3.0.0"), None);
        // 0.0.x and pre-releases match only themselves.
        assert_eq!(picked(&l, "z:z/z@0.0.1"), None);
        assert_eq!(picked(&l, "wasi:cli/env@1.0.0-rc2"), None);
        assert_eq!(picked(&l, "wasi:cli/env@1.0.0"), None);
        // Unversioned and malformed names match only exactly.
        assert_eq!(picked(&l, "wasi:cli/env"), None);
        assert_eq!(picked(&l, "wasi:cli/env@0.2"), None);
        assert_eq!(picked(&l, "wasi:cli/env@0.02.1"), None);
    }
}

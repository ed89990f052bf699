//! Precompiled components: [`Component::serialize`], the unsafe
//! [`Component::deserialize`] / [`Component::deserialize_file`], and
//! [`Engine::precompile_component`].
//!
//! A component artifact is one file in Tern's artifact container
//! (`crate::artifact`): a header whose kind is `Precompiled::Component` and
//! which carries the engine's code-affecting settings, and a metadata section
//! holding the component's translation (initializers, types, imports,
//! exports) plus each static core module as a complete module artifact of its
//! own. Loading checks the container (checksum, kind, settings, each mismatch
//! named), then the translation's internal consistency, then loads every
//! module artifact with the same checks `Module::deserialize` makes.

use super::Component;
use crate::artifact::{check_compatible, elf, fingerprint, Header, Precompiled};
use crate::{Engine, Module};
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tern_environ::component::{
    BuiltinKind, CanonOptions, ComponentInfo, ComponentItemType, CoreDef, Export, FuncDef,
    Initializer, InterfaceType, ModuleDef, ResourceDef, TypeDef,
};

/// Version of the component metadata encoding; bump it when
/// `ComponentInfo` or anything it holds changes shape.
const COMPONENT_FORMAT_VERSION: u32 = 2;

/// The metadata of a component artifact.
#[derive(Serialize, Deserialize)]
struct ComponentMetadata {
    /// [`COMPONENT_FORMAT_VERSION`] of the Tern that wrote it.
    version: u32,
    info: ComponentInfo,
    /// Each static core module as a module artifact.
    modules: Vec<Vec<u8>>,
}

impl Component {
    /// Writes this component as a precompiled artifact, to be loaded with
    /// [`Component::deserialize`] by an engine with the same code-affecting
    /// settings.
    ///
    /// # Errors
    /// Fails only if encoding the artifact fails.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let mut info = self.inner.info.clone();
        info.types = (*self.inner.types).clone();
        let modules = self
            .inner
            .modules
            .iter()
            .map(Module::serialize_artifact)
            .collect::<Result<Vec<_>>>()?;
        let meta = postcard::to_allocvec(&ComponentMetadata {
            version: COMPONENT_FORMAT_VERSION,
            info,
            modules,
        })
        .context("failed to encode the component's metadata")?;
        let header = Header {
            kind: Precompiled::Component,
            settings: fingerprint(&self.inner.engine),
        };
        elf::write(&[], &header, &meta)
    }

    /// Rebuilds a component from an artifact made by [`Component::serialize`]
    /// or [`Engine::precompile_component`], without compiling.
    ///
    /// # Safety
    /// As [`Module::deserialize`]: the artifact holds machine code that runs
    /// unchecked, so `bytes` must be exactly what this Tern's
    /// `Component::serialize` wrote, from storage nobody untrusted could
    /// write. Tern refuses, with an error, bytes that are not an intact
    /// artifact, a core module's artifact, and an artifact from an engine with
    /// other settings; it cannot tell crafted machine code from real code.
    ///
    /// # Errors
    /// Fails, naming the problem, as described above.
    #[allow(
        unsafe_code,
        reason = "the API is unsafe; the body only calls safe functions and Module::deserialize"
    )]
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Component> {
        let parsed = elf::parse(bytes.as_ref())?;
        check_compatible(engine, &parsed.header, Precompiled::Component)?;
        let version: (u32, _) = postcard::take_from_bytes(parsed.meta)
            .context("corrupt artifact: no component metadata")?;
        if version.0 != COMPONENT_FORMAT_VERSION {
            bail!(
                "component artifact format {} is not this Tern's ({COMPONENT_FORMAT_VERSION})",
                version.0
            );
        }
        let (meta, rest): (ComponentMetadata, _) = postcard::take_from_bytes(parsed.meta)
            .context("corrupt artifact: undecodable component metadata")?;
        if !rest.is_empty() {
            bail!(
                "corrupt artifact: {} stray bytes after the component metadata",
                rest.len()
            );
        }
        validate(&meta.info, meta.modules.len())
            .context("corrupt artifact: inconsistent component metadata")?;
        let mut modules = Vec::with_capacity(meta.modules.len());
        for (i, artifact) in meta.modules.iter().enumerate() {
            // SAFETY: the caller promises the whole artifact, and therefore each
            // module artifact inside it, was written by this Tern.
            let module = unsafe { Module::deserialize(engine, artifact) };
            modules.push(module.with_context(|| format!("core module {i} of the component"))?);
        }
        Ok(Component::from_parts(engine, meta.info, modules))
    }

    /// Like [`Component::deserialize`], reading the artifact from the file at
    /// `path` (components are read, not mapped: their code lives in the
    /// module artifacts inside).
    ///
    /// # Safety
    /// As [`Component::deserialize`], for the file's contents.
    ///
    /// # Errors
    /// Fails if the file cannot be read, and as [`Component::deserialize`];
    /// messages name the file.
    #[allow(unsafe_code, reason = "the API is unsafe; it forwards to deserialize")]
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Component> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        // SAFETY: forwarded to the caller, who vouches for the file.
        unsafe { Component::deserialize(engine, &bytes) }
            .with_context(|| format!("failed to load `{}`", path.display()))
    }
}

impl Engine {
    /// Compiles `bytes` (a component binary, or its text) into a precompiled
    /// artifact; the result is what [`Component::serialize`] returns.
    ///
    /// # Errors
    /// As [`Component::new`].
    pub fn precompile_component(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        Component::new(self, bytes)?.serialize()
    }
}

/// Checks that every index in `info` is in range, so the runtime may index freely.
fn validate(info: &ComponentInfo, num_modules: usize) -> Result<()> {
    let types = &info.types;
    if types.layouts.len() != types.defs.len() {
        bail!("type layouts do not match the types");
    }
    let ty_ok = |t: &InterfaceType| match t {
        InterfaceType::Defined(i) => (*i as usize) < types.defs.len(),
        _ => true,
    };
    let opt_ok = |t: &Option<InterfaceType>| t.as_ref().is_none_or(ty_ok);
    for def in &types.defs {
        let ok = match def {
            TypeDef::List(t) | TypeDef::FixedList(t, _) | TypeDef::Option(t) => ty_ok(t),
            TypeDef::Map(k, v) => ty_ok(k) && ty_ok(v),
            TypeDef::Record(f) => f.iter().all(|(_, t)| ty_ok(t)),
            TypeDef::Tuple(t) => t.iter().all(ty_ok),
            TypeDef::Variant(c) => c.iter().all(|(_, t)| opt_ok(t)),
            TypeDef::Result { ok, err } => opt_ok(ok) && opt_ok(err),
            TypeDef::Future(t) | TypeDef::Stream(t) => opt_ok(t),
            TypeDef::Enum(_)
            | TypeDef::Flags(_)
            | TypeDef::Own(_)
            | TypeDef::Borrow(_)
            | TypeDef::ErrorContext => true,
        };
        if !ok {
            bail!("a type refers to a missing type");
        }
    }
    for f in &types.funcs {
        if !f.params.iter().all(|(_, t)| ty_ok(t)) || !opt_ok(&f.result) {
            bail!("a function type refers to a missing type");
        }
    }
    let func_ok = |i: u32| (i as usize) < types.funcs.len();
    let imports = info.imports.len() as u32;
    let (mut core_instances, mut lowered, mut lifted, mut builtins) = (0u32, 0u32, 0u32, 0u32);
    let core_ok = |d: &CoreDef, ci: u32, lo: u32, bu: u32| match d {
        CoreDef::Export { instance, .. } => *instance < ci,
        CoreDef::Lowered(i) => *i < lo,
        CoreDef::Builtin(i) => *i < bu,
    };
    let options_ok = |o: &CanonOptions, ci, lo, bu| {
        [&o.memory, &o.realloc, &o.post_return, &o.callback]
            .iter()
            .all(|d| d.as_ref().is_none_or(|d| core_ok(d, ci, lo, bu)))
    };
    let module_ok = |m: &ModuleDef| match m {
        ModuleDef::Static(i) => (*i as usize) < num_modules,
        ModuleDef::Import(p) => p.import < imports,
    };
    for init in &info.initializers {
        let ok = match init {
            Initializer::InstantiateModule {
                module,
                args,
                instance,
            } => {
                let ok = module_ok(module)
                    && *instance < info.num_runtime_instances
                    && args
                        .iter()
                        .all(|(_, _, d)| core_ok(d, core_instances, lowered, builtins));
                core_instances += 1;
                ok
            }
            Initializer::Lower {
                index,
                callee,
                options,
                ty,
                instance,
                ..
            } => {
                let callee_ok = match callee {
                    FuncDef::Import(p) => p.import < imports,
                    FuncDef::Lifted(l) => *l < lifted,
                };
                let ok = *index == lowered
                    && callee_ok
                    && func_ok(*ty)
                    && *instance < info.num_runtime_instances
                    && options_ok(options, core_instances, lowered, builtins);
                lowered += 1;
                ok
            }
            Initializer::Lift {
                index,
                func,
                options,
                ty,
                instance,
            } => {
                let ok = *index == lifted
                    && core_ok(func, core_instances, lowered, builtins)
                    && func_ok(*ty)
                    && *instance < info.num_runtime_instances
                    && options_ok(options, core_instances, lowered, builtins);
                lifted += 1;
                ok
            }
            Initializer::Builtin {
                index,
                instance,
                kind,
                ..
            } => {
                let resource_ok = match kind {
                    BuiltinKind::ResourceNew(r)
                    | BuiltinKind::ResourceRep(r)
                    | BuiltinKind::ResourceDrop(r) => (*r as usize) < info.resources.len(),
                    _ => true,
                };
                let ok =
                    *index == builtins && *instance < info.num_runtime_instances && resource_ok;
                builtins += 1;
                ok
            }
        };
        if !ok {
            bail!("an initializer refers to a missing item");
        }
    }
    let resources_ok = info.resources.iter().all(|r| match r {
        ResourceDef::Defined { instance, dtor } => {
            *instance < info.num_runtime_instances
                && dtor
                    .as_ref()
                    .is_none_or(|d| core_ok(d, core_instances, lowered, builtins))
        }
        ResourceDef::Imported(p) => p.import < imports,
    });
    let frames_ok = info.instance_resources.len() == info.num_runtime_instances as usize
        && info.instance_resources.iter().all(|pairs| {
            pairs.windows(2).all(|w| w[0].0 < w[1].0)
                && pairs.iter().all(|(n, c)| {
                    (*n as usize) < types.resources.len() && (*c as usize) < info.resources.len()
                })
        });
    if !resources_ok || !frames_ok {
        bail!("a resource refers to a missing item");
    }
    // Adapters: sorted by lowered function (instantiation looks them up so),
    // each calling a lifted function made before its lowered one.
    let lifted_before = |lowered_index: u32, l: u32| {
        let mut lifts = 0;
        for init in &info.initializers {
            match init {
                Initializer::Lift { .. } => lifts += 1,
                Initializer::Lower { index, callee, .. } if *index == lowered_index => {
                    return *callee == FuncDef::Lifted(l) && l < lifts;
                }
                _ => {}
            }
        }
        false
    };
    let adapters_ok = info
        .adapters
        .windows(2)
        .all(|w| w[0].lowered < w[1].lowered)
        && info.adapters.iter().all(|a| {
            (a.module as usize) < num_modules
                && a.caller < info.num_runtime_instances
                && a.callee < info.num_runtime_instances
                && lifted_before(a.lowered, a.lifted)
        });
    if !adapters_ok {
        bail!("an adapter refers to a missing item");
    }
    if (core_instances, lowered, lifted, builtins)
        != (
            info.num_core_instances,
            info.num_lowered,
            info.num_lifted,
            info.num_builtins,
        )
    {
        bail!("initializer counts do not match");
    }
    fn export_ok(e: &Export, lifted: u32, imports: u32, funcs: usize, modules: usize) -> bool {
        match e {
            Export::Func(FuncDef::Lifted(l), ty) => *l < lifted && (*ty as usize) < funcs,
            Export::Func(FuncDef::Import(p), ty) => p.import < imports && (*ty as usize) < funcs,
            Export::Instance(items) => items
                .iter()
                .all(|(_, e)| export_ok(e, lifted, imports, funcs, modules)),
            Export::Module(ModuleDef::Static(i)) => (*i as usize) < modules,
            Export::Module(ModuleDef::Import(p)) => p.import < imports,
            Export::Type(_) | Export::Component => true,
        }
    }
    if info.exports.len() != info.export_types.len()
        || !info
            .exports
            .iter()
            .all(|(_, e)| export_ok(e, lifted, imports, types.funcs.len(), num_modules))
    {
        bail!("an export refers to a missing item");
    }
    fn item_ok(t: &ComponentItemType, funcs: usize) -> bool {
        match t {
            ComponentItemType::Func(f) => (*f as usize) < funcs,
            ComponentItemType::Instance(items) => items.iter().all(|(_, t)| item_ok(t, funcs)),
            ComponentItemType::Component { imports, exports } => imports
                .iter()
                .chain(exports)
                .all(|(_, t)| item_ok(t, funcs)),
            _ => true,
        }
    }
    if !info
        .imports
        .iter()
        .map(|(_, t)| t)
        .chain(&info.export_types)
        .all(|t| item_ok(t, types.funcs.len()))
    {
        bail!("an import or export type refers to a missing function type");
    }
    Ok(())
}

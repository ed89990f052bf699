//! [`Component`]: a compiled, validated component, ready to instantiate in
//! any store of its engine. Cheap to clone.
//!
//! Compiling is: bytes (or WAT) → `tern_environ::component::translate_component`
//! (validation, then inlining into static core modules plus initializers) →
//! one parallel pass compiling every static core module (each as a
//! [`Module`], with its trampolines). Lowered functions and built-ins are host
//! functions, entered through the wasm-to-host trampoline of the core module
//! that imports them, which carries one for every signature it declares, so a
//! component needs no trampolines of its own.

use super::types::ComponentItem;
use crate::{Engine, Module, ResourcesRequired, WasmFeatures};
use anyhow::{bail, Context as _, Result};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;
use tern_environ::component::{
    ComponentInfo, ComponentTypes, FuncDef, FusedCall, Initializer, ModuleDef,
};

/// A compiled WebAssembly component.
#[derive(Clone)]
pub struct Component {
    pub(crate) inner: Arc<ComponentInner>,
}

pub(crate) struct ComponentInner {
    pub(crate) engine: Engine,
    /// The translation (its `types` field is empty: the types live in `types`).
    pub(crate) info: ComponentInfo,
    pub(crate) types: Arc<ComponentTypes>,
    /// The static core modules, compiled.
    pub(crate) modules: Vec<Module>,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component")
            .field("modules", &self.inner.modules.len())
            .field("imports", &self.inner.info.imports.len())
            .field("exports", &self.inner.info.exports.len())
            .finish_non_exhaustive()
    }
}

fn check_enabled(engine: &Engine) -> Result<()> {
    if !engine
        .config()
        .features
        .contains(WasmFeatures::COMPONENT_MODEL)
    {
        bail!("cannot compile a component: the component model is disabled (enable `Config::wasm_component_model`)");
    }
    Ok(())
}

/// Every component-to-component call of `info`, each fused because adapters
/// are turned off in the engine's configuration.
fn fused_everywhere(info: &ComponentInfo) -> Vec<FusedCall> {
    info.initializers
        .iter()
        .filter_map(|init| match init {
            Initializer::Lower {
                index,
                callee: FuncDef::Lifted(_),
                ..
            } => Some(FusedCall {
                lowered: *index,
                reason: "compiled adapters are turned off in the engine's configuration".into(),
            }),
            _ => None,
        })
        .collect()
}

impl Component {
    /// Compiles a component from its binary or text (WAT) form.
    ///
    /// # Errors
    /// Fails when the component model is not enabled in the engine's config,
    /// or with a message naming the problem (its byte offset, or line for
    /// WAT) when the input is malformed, invalid or uses something Tern does
    /// not support.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Self> {
        check_enabled(engine)?;
        let bytes = wat::parse_bytes(bytes.as_ref())?;
        Self::from_binary(engine, &bytes)
    }

    /// Compiles the component in the file at `path` (binary or WAT).
    ///
    /// # Errors
    /// As [`Component::new`]; messages name the file (and the line, for WAT).
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Self> {
        check_enabled(engine)?;
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        let wasm = wat::parse_bytes(&bytes).map_err(|mut e| {
            e.set_path(path);
            anyhow::Error::new(e)
        })?;
        Self::from_binary(engine, &wasm)
            .with_context(|| format!("failed to compile `{}`", path.display()))
    }

    /// Compiles a component from its binary form; with the compilation cache
    /// on (`Config::cache_config_load_default`), loads it from the cache
    /// instead when it was compiled before with the same settings.
    ///
    /// # Errors
    /// As [`Component::new`].
    pub fn from_binary(engine: &Engine, binary: &[u8]) -> Result<Self> {
        check_enabled(engine)?;
        match &engine.config().cache {
            Some(settings) => crate::cache::component(engine, settings, binary, || {
                Self::compile_binary(engine, binary)
            }),
            None => Self::compile_binary(engine, binary),
        }
    }

    /// Compiles a component from its binary form, without the cache (its
    /// core modules are not cached one by one either: the component's entry
    /// holds them).
    fn compile_binary(engine: &Engine, binary: &[u8]) -> Result<Self> {
        let mut translation =
            tern_environ::component::translate_component(binary, engine.config().features)?;
        // Component-to-component calls that can be compiled become adapter
        // modules, compiled with the rest and numbered after the static modules.
        let adapters = if engine.config().component_adapters {
            let first = translation.modules.len() as u32;
            let features = engine.config().features;
            let memory_ops =
                features.contains(WasmFeatures::MULTI_MEMORY | WasmFeatures::BULK_MEMORY);
            let exceptions = features.contains(WasmFeatures::EXCEPTIONS);
            tern_environ::component::plan_adapters(
                &mut translation.info,
                first,
                memory_ops,
                exceptions,
            )
        } else {
            translation.info.adapters.clear();
            let fused = fused_everywhere(&translation.info);
            translation.info.fused_calls = fused;
            Vec::new()
        };
        let all: Vec<&[u8]> = translation
            .modules
            .iter()
            .copied()
            .chain(adapters.iter().map(Vec::as_slice))
            .collect();
        // One parallel pass over every static core module.
        let run = |(i, bytes): (usize, &&[u8])| -> Result<Module> {
            Module::compile_binary(engine, bytes)
                .with_context(|| format!("failed to compile core module {i} of the component"))
        };
        let modules: Vec<Module> = if engine.config().parallel_compilation {
            all.par_iter().enumerate().map(run).collect::<Result<_>>()?
        } else {
            all.iter().enumerate().map(run).collect::<Result<_>>()?
        };
        Ok(Self::from_parts(engine, translation.info, modules))
    }

    pub(crate) fn from_parts(
        engine: &Engine,
        mut info: ComponentInfo,
        modules: Vec<Module>,
    ) -> Self {
        let mut types = std::mem::take(&mut info.types);
        types.rebuild_index();
        for module in &modules {
            module.mark_inside_component();
        }
        Self {
            inner: Arc::new(ComponentInner {
                engine: engine.clone(),
                info,
                types: Arc::new(types),
                modules,
            }),
        }
    }

    /// Every component-to-component call of this component that runs on the
    /// host-fused path rather than a compiled adapter, as `(lowered function
    /// number, reason)`. For tests and diagnostics; not part of wasmtime's API.
    #[doc(hidden)]
    pub fn fused_calls(&self) -> Vec<(u32, String)> {
        let info = &self.inner.info;
        info.fused_calls
            .iter()
            .map(|f| (f.lowered, f.reason.clone()))
            .collect()
    }

    /// How many component-to-component calls of this component run through
    /// compiled adapters. For tests and diagnostics; not part of wasmtime's API.
    #[doc(hidden)]
    pub fn compiled_adapters(&self) -> usize {
        self.inner.info.adapters.len()
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The component's imports: names and types, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = (&str, ComponentItem)> + '_ {
        self.inner
            .info
            .imports
            .iter()
            .map(|(n, t)| (n.as_str(), ComponentItem::new(&self.inner.types, t)))
    }

    /// The component's exports: names and types, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, ComponentItem)> + '_ {
        let info = &self.inner.info;
        info.exports
            .iter()
            .zip(&info.export_types)
            .map(|((n, _), t)| (n.as_str(), ComponentItem::new(&self.inner.types, t)))
    }

    /// What instantiating the component allocates, summed over every core
    /// module instantiation (a module instantiated three times counts three
    /// times), or `None` when it instantiates core modules it imports (whose
    /// needs are unknown until link time).
    pub fn resources_required(&self) -> Option<ResourcesRequired> {
        let mut total = ResourcesRequired::default();
        for init in &self.inner.info.initializers {
            if let Initializer::InstantiateModule { module, .. } = init {
                let ModuleDef::Static(i) = module else {
                    return None;
                };
                total = total.add(&self.inner.modules.get(*i as usize)?.resources_required());
            }
        }
        Some(total)
    }
}

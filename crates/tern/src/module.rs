//! [`Module`]: a compiled, validated WebAssembly module, ready to instantiate in
//! any store of its engine. Cheap to clone.
//!
//! Compilation follows the data path: bytes (or WAT) → `tern_environ::translate_module`
//! (sections validated) → `Compiler::compile_module` (bodies validated and compiled in
//! parallel) → `tern_cranelift::link` → executable `CodeMemory`, registered for trap
//! lookup under a `CodeInfo`.

use crate::types::{ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, TableType};
use crate::vm::{registry, CodeInfo, CodeMemory};
use crate::{Engine, Mutability, ValType};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use tern_cranelift::FuncLoc;
use tern_environ::{EntityIndex, VMOffsets};

/// A compiled WebAssembly module.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.name()).finish_non_exhaustive()
    }
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) env: tern_environ::Module,
    pub(crate) offsets: VMOffsets,
    code: CodeMemory,
    pub(crate) funcs: Vec<FuncLoc>,
    /// Engine signature id of each type in the type section.
    pub(crate) type_ids: Vec<u32>,
    /// Export name → position in `env.exports`.
    pub(crate) export_names: std::collections::HashMap<String, usize>,
}

impl ModuleInner {
    /// Position of export `name` in the module's export list.
    pub(crate) fn export_index(&self, name: &str) -> Option<usize> {
        self.export_names.get(name).copied()
    }
}

impl Drop for ModuleInner {
    fn drop(&mut self) {
        registry::unregister(self.code.base(), self.code.len());
    }
}

impl Module {
    /// Compiles a module from its binary or text (WAT) form.
    ///
    /// # Errors
    /// Fails with a message naming the problem (and its byte offset, or line for
    /// WAT) when the input is malformed, invalid, or uses an unsupported feature.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Self> {
        let bytes = wat::parse_bytes(bytes.as_ref())?;
        Self::from_binary(engine, &bytes)
    }

    /// Compiles the module in the file at `path` (binary or WAT).
    ///
    /// # Errors
    /// Fails if the file cannot be read or does not hold a valid module; the
    /// message names the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        let mut wasm = wat::parse_bytes(&bytes).map_err(|mut e| {
            e.set_path(path);
            anyhow::Error::new(e)
        })?;
        Self::from_binary(engine, wasm.to_mut()).with_context(|| format!("failed to compile `{}`", path.display()))
    }

    /// Compiles a module from its binary form.
    ///
    /// # Errors
    /// As [`Module::new`].
    pub fn from_binary(engine: &Engine, binary: &[u8]) -> Result<Self> {
        let translation = tern_environ::translate_module(binary, engine.config().features)?;
        let compiler = &engine.inner.compiler;
        let num_imported = translation.module.num_imported_funcs;
        let (env, compiled) = if engine.config().parallel_compilation {
            compiler.compile_module(translation)?
        } else {
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()?
                .install(|| compiler.compile_module(translation))?
        };
        let image = tern_cranelift::link(&compiled, num_imported)?;
        let code = CodeMemory::new(&image.text)?;
        let info = CodeInfo {
            funcs: image.funcs.iter().enumerate().map(|(i, f)| (f.start, f.len, num_imported + i as u32)).collect(),
            traps: image.traps.clone(),
            func_names: env.func_names.clone(),
            module_name: env.name.clone(),
        };
        registry::register(code.base(), code.len(), Arc::new(info));
        let type_ids = env.types.iter().map(|t| engine.signature_id(t)).collect();
        let offsets = VMOffsets::new(&env);
        let export_names = env.exports.iter().enumerate().map(|(i, e)| (e.name.clone(), i)).collect();
        Ok(Self {
            inner: Arc::new(ModuleInner { engine: engine.clone(), env, offsets, code, funcs: image.funcs, type_ids, export_names }),
        })
    }

    /// Checks that `bytes` is a valid module for `engine` without compiling it.
    ///
    /// # Errors
    /// Fails with the validation error.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        let mut validator = wasmparser::Validator::new_with_features(engine.config().features);
        validator.validate_all(bytes)?;
        Ok(())
    }

    /// The engine this module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.env.name.as_deref()
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        self.inner.env.imports.iter().map(|i| ImportType {
            module: &i.module,
            name: &i.field,
            ty: self.entity_type(i.index),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        self.inner.env.exports.iter().map(|e| ExportType { name: &e.name, ty: self.entity_type(e.index) })
    }

    /// The type of export `name`, if it exists.
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        self.inner.env.export(name).map(|i| self.entity_type(i))
    }

    pub(crate) fn entity_type(&self, index: EntityIndex) -> ExternType {
        let env = &self.inner.env;
        match index {
            EntityIndex::Function(f) => ExternType::Func(FuncType::from_wasm(env.func_type(f).clone())),
            EntityIndex::Table(t) => ExternType::Table(TableType { plan: env.tables[t as usize] }),
            EntityIndex::Memory(m) => ExternType::Memory(MemoryType { plan: env.memories[m as usize] }),
            EntityIndex::Global(g) => {
                let g = &env.globals[g as usize];
                ExternType::Global(GlobalType::new(
                    ValType::from_wasm(g.ty),
                    if g.mutable { Mutability::Var } else { Mutability::Const },
                ))
            }
        }
    }

    /// Address of defined function `defined_index`'s code.
    pub(crate) fn func_code(&self, defined_index: u32) -> *const u8 {
        (self.inner.code.base() + self.inner.funcs[defined_index as usize].start as usize) as *const u8
    }
}

//! [`Module`]: a compiled, validated WebAssembly module, ready to instantiate in
//! any store of its engine. Cheap to clone.
//!
//! Compilation follows the data path: bytes (or WAT) → `tern_environ::translate_module`
//! (sections validated) → `Compiler::compile_module` (bodies validated and compiled in
//! parallel) → `tern_cranelift::link` → executable `CodeMemory`, registered for trap
//! lookup under a `CodeInfo`.
//!
//! The text section also holds the module's trampolines
//! (`tern_cranelift::needed_trampolines`): array-to-wasm ones for the signatures
//! of functions the host can reach, wasm-to-host ones for every signature of the
//! type section. Stores register them when they instantiate the module (see
//! `func/trampolines.rs`), so no call ever compiles anything.
//!
//! A module can also be written out as a precompiled artifact
//! ([`Module::serialize`]) and rebuilt from one without compiling
//! ([`Module::deserialize`], [`Module::deserialize_file`]); the format and its
//! checks live in `crate::artifact`. Both paths end in `Module::from_parts`.
//!
//! Compiling also lays out each defined memory's data segments into a memory
//! image (`tern_environ::memory_images`) when they are all known at compile
//! time; instances map it copy-on-write (`vm::memory_image`) instead of
//! copying the segments, and artifacts carry it in a page-aligned section.

use crate::types::{
    ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, TableType,
};
use crate::vm::code_memory::FuncNames;
use crate::vm::mmap::ReadOnlyMmap;
use crate::vm::{registry, ArrayTrampoline, CodeInfo, CodeMemory, MemoryImage};
use crate::{Engine, Mutability, ValType};
use anyhow::{Context, Result};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use tern_cranelift::{CodeImage, FuncLoc, TrampolineKind};
use tern_environ::{
    EntityIndex, SegmentMode, TablePlan, TrapKind, TypeIndex, VMOffsets, WasmFuncType, WasmValType,
};

/// A compiled WebAssembly module.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    /// The module's description. Its `func_names` is empty: the names live in
    /// `info`, where backtraces look them up.
    pub(crate) env: tern_environ::Module,
    pub(crate) offsets: VMOffsets,
    code: CodeMemory,
    /// What the trap handler knows about `code` (also the trap table `serialize` writes).
    info: Arc<CodeInfo>,
    pub(crate) funcs: Vec<FuncLoc>,
    /// The compiled trampolines, with the type-section index of their signature.
    pub(crate) trampolines: Trampolines,
    /// Engine signature id of each type in the type section.
    pub(crate) type_ids: Vec<u32>,
    /// Code address and signature id of each defined function, from which
    /// instances fill their funcrefs on first use.
    pub(crate) defined_funcs: Arc<[crate::vm::instance::DefinedFunc]>,
    /// Positions in `env.exports`, ordered by export name, for lookups by name
    /// (written into artifacts, so loading does not sort or hash the names).
    pub(crate) exports_by_name: Vec<u32>,
    /// Whether the module is one of a component's core modules (which, as in
    /// wasmtime, cannot be serialized on their own: see `Module::serialize`).
    inside_component: std::sync::atomic::AtomicBool,
    /// For each defined memory, its copy-on-write initial image when its data
    /// segments could be laid out at compile time; the active segments of such
    /// a memory are then skipped at instantiation (their bytes were removed
    /// from `env`).
    pub(crate) memory_images: Vec<Option<MemoryImage>>,
    /// For each defined table, the function index each slot starts with when
    /// its element segments could be laid out ahead of instantiation
    /// (`tern_environ::table_images`): such a table starts uninitialised and
    /// resolves slots on first use, and its active segments are skipped at
    /// instantiation. Derived from `env` when the module is built or loaded.
    pub(crate) table_images: Vec<Option<Arc<[u32]>>>,
    /// `trampolines` by engine signature id, built on first instantiation.
    trampoline_maps: std::sync::OnceLock<crate::func::TrampolineMaps>,
    /// A number no other module of this process has, which [`ModuleExport`]s
    /// carry so that an instance of another module refuses them.
    id: u64,
}

/// An export of a [`Module`] found once by name ([`Module::get_export_index`]),
/// then looked up in any instance of that module without comparing strings
/// ([`crate::Instance::get_module_export`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleExport {
    /// The id of the module it was found in.
    pub(crate) module: u64,
    /// Its position in the module's export list.
    pub(crate) index: usize,
}

impl ModuleInner {
    /// `ty` with the module's type indices replaced by engine ids.
    pub(crate) fn canonical_val(&self, ty: WasmValType) -> WasmValType {
        ty.map_indices(&mut |i| TypeIndex::Engine(self.type_ids[i as usize]))
    }

    /// `plan` with its element type canonical (see [`Self::canonical_val`]).
    pub(crate) fn canonical_table(&self, plan: TablePlan) -> TablePlan {
        let element = match self.canonical_val(WasmValType::Ref(plan.element)) {
            WasmValType::Ref(r) => r,
            _ => plan.element,
        };
        TablePlan { element, ..plan }
    }

    /// The canonical signature of function `index` (imports first).
    pub(crate) fn canonical_func_type(&self, index: u32) -> WasmFuncType {
        self.env
            .func_type(index)
            .map_indices(|i| TypeIndex::Engine(self.type_ids[i as usize]))
    }

    /// Position of export `name` in the module's export list.
    pub(crate) fn export_index(&self, name: &str) -> Option<usize> {
        let exports = &self.env.exports;
        let i = self
            .exports_by_name
            .binary_search_by(|e| exports[*e as usize].name.as_str().cmp(name))
            .ok()?;
        Some(self.exports_by_name[i] as usize)
    }
}

/// Positions of `exports`, ordered by name.
pub(crate) fn exports_by_name(exports: &[tern_environ::Export]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..exports.len() as u32).collect();
    order.sort_unstable_by(|a, b| exports[*a as usize].name.cmp(&exports[*b as usize].name));
    order
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

    /// Like [`Module::new`], but the module is called `name` (in
    /// [`Module::name`], backtraces and the artifacts it serializes to),
    /// whatever its name section says. Such a module is compiled afresh, not
    /// read from the compilation cache.
    ///
    /// # Errors
    /// As [`Module::new`].
    pub fn new_with_name(engine: &Engine, bytes: impl AsRef<[u8]>, name: &str) -> Result<Self> {
        let bytes = wat::parse_bytes(bytes.as_ref())?;
        Self::compile_named(engine, &bytes, Some(name))
    }

    /// Loads the file at `path`, which may hold a module in binary or text
    /// form (compiled, as [`Module::from_file`] does) or a precompiled
    /// artifact (loaded without compiling, as [`Module::deserialize_file`]
    /// does): a program that ships either can open both the same way.
    ///
    /// # Safety
    /// When the file holds an artifact, everything
    /// [`Module::deserialize_file`] requires holds here: the file must come
    /// from `Module::serialize` or `Engine::precompile_module` of this Tern,
    /// be stored where nobody untrusted can write it, and stay unmodified
    /// while the module lives. Tern cannot tell crafted machine code from
    /// real code, so an untrusted file can run arbitrary code in this process.
    ///
    /// # Errors
    /// Fails as [`Module::from_file`] or [`Module::deserialize_file`] does.
    #[allow(
        unsafe_code,
        reason = "the API is unsafe as in wasmtime: it may load precompiled code"
    )]
    pub unsafe fn from_trusted_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        if engine.detect_precompiled(&bytes).is_some() {
            // SAFETY: the caller promises what `deserialize_file` asks of the file.
            return unsafe { Self::deserialize_file(engine, path) };
        }
        Self::from_file(engine, path)
    }

    /// Compiles the module in the file at `path` (binary or WAT).
    ///
    /// # Errors
    /// Fails if the file cannot be read or does not hold a valid module; the
    /// message names the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        let mut wasm = wat::parse_bytes(&bytes).map_err(|mut e| {
            e.set_path(path);
            anyhow::Error::new(e)
        })?;
        Self::from_binary(engine, wasm.to_mut())
            .with_context(|| format!("failed to compile `{}`", path.display()))
    }

    /// Compiles a module from its binary form; with the compilation cache on
    /// (`Config::cache_config_load_default`), loads it from the cache instead
    /// when it was compiled before with the same settings.
    ///
    /// # Errors
    /// As [`Module::new`].
    pub fn from_binary(engine: &Engine, binary: &[u8]) -> Result<Self> {
        match &engine.config().cache {
            Some(settings) => crate::cache::module(engine, settings, binary, || {
                Self::compile_binary(engine, binary)
            }),
            None => Self::compile_binary(engine, binary),
        }
    }

    /// Compiles a module from its binary form, without the cache.
    pub(crate) fn compile_binary(engine: &Engine, binary: &[u8]) -> Result<Self> {
        Self::compile_named(engine, binary, None)
    }

    /// Compiles a module from its binary form, without the cache, naming it
    /// `name` when given.
    fn compile_named(engine: &Engine, binary: &[u8], name: Option<&str>) -> Result<Self> {
        engine.check_runs_on_host()?;
        let Compiled {
            mut env,
            image,
            trampolines,
            memory_images,
        } = compile(engine, binary)?;
        if let Some(name) = name {
            env.name = Some(name.to_string());
        }
        let memory_images = memory_images
            .into_iter()
            .map(|i| {
                i.map(|i| MemoryImage::from_bytes(i.offset, i.data))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let code = CodeMemory::new(&image.text)?;
        let names = FuncNames::new(std::mem::take(&mut env.func_names));
        let exports_by_name = exports_by_name(&env.exports);
        Self::from_parts(
            engine,
            env,
            code,
            Parts {
                funcs: image.funcs,
                trampolines,
                traps: image.traps,
                address_map: image.address_map,
                stack_maps: image.stack_maps,
                handlers: image.handlers,
                names,
                exports_by_name,
                memory_images,
            },
        )
    }

    /// Builds the module around code that is already executable: registers the
    /// code for trap lookup and computes what is derived from `env`.
    ///
    /// # Errors
    /// Fails when the type section cannot be canonicalised (`Engine::register_types`).
    fn from_parts(
        engine: &Engine,
        env: tern_environ::Module,
        code: CodeMemory,
        parts: Parts,
    ) -> Result<Self> {
        engine.check_runs_on_host()?;
        let offsets = VMOffsets::new(&env);
        // A module that cannot fit the pool is refused here, as in wasmtime.
        if let Some(pool) = engine.pool() {
            crate::pooling::check_module(pool.limits(), &env, offsets.size())?;
        }
        let type_ids = engine.register_types(&env.types, &env.type_groups)?;
        let Parts {
            funcs,
            trampolines,
            traps,
            address_map,
            stack_maps,
            handlers,
            names,
            exports_by_name,
            memory_images,
        } = parts;
        let num_imported = env.num_imported_funcs;
        let info = Arc::new(CodeInfo {
            funcs: funcs
                .iter()
                .enumerate()
                .map(|(i, f)| (f.start, f.len, num_imported + i as u32))
                .collect(),
            traps,
            func_names: names,
            module_name: env.name.clone(),
            address_map,
            stack_maps,
            handlers,
        });
        registry::register(code.base(), code.len(), info.clone());
        if engine.config().profiler != crate::ProfilingStrategy::None {
            crate::profiling::record_module(&code, &info, &trampolines);
        }
        let table_images = tern_environ::table_images(&env)
            .into_iter()
            .map(|image| image.map(Arc::from))
            .collect();
        let defined_funcs = funcs
            .iter()
            .enumerate()
            .map(|(i, f)| crate::vm::instance::DefinedFunc {
                wasm_call: code.base() + f.start as usize,
                type_id: type_ids[env.functions[num_imported as usize + i] as usize],
            })
            .collect();
        Ok(Self {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                env,
                offsets,
                code,
                info,
                funcs,
                trampolines,
                type_ids,
                defined_funcs,
                exports_by_name,
                inside_component: std::sync::atomic::AtomicBool::new(false),
                memory_images,
                table_images,
                trampoline_maps: std::sync::OnceLock::new(),
                id: {
                    static NEXT: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(0);
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                },
            }),
        })
    }

    /// Writes this module as a precompiled artifact, to be loaded later with
    /// [`Module::deserialize`] or [`Module::deserialize_file`] by an engine with
    /// the same code-affecting settings (see
    /// [`Engine::precompile_compatibility_hash`]). The output is deterministic:
    /// the same module and settings always give the same bytes.
    ///
    /// # Errors
    /// Fails for a core module taken out of a component (`component::Instance::get_module`),
    /// which only serializes as part of its component (as in wasmtime), and if
    /// encoding the artifact fails.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        if self
            .inner
            .inside_component
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            anyhow::bail!(
                "cannot serialize a module exported from a component: serialize the component instead"
            );
        }
        self.serialize_artifact()
    }

    /// Marks the module as one of a component's core modules.
    pub(crate) fn mark_inside_component(&self) {
        self.inner
            .inside_component
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The artifact bytes, for `serialize` and for component artifacts.
    pub(crate) fn serialize_artifact(&self) -> Result<Vec<u8>> {
        let inner = &self.inner;
        let contents = inner
            .memory_images
            .iter()
            .map(|i| {
                i.as_ref()
                    .map(|i| Ok::<_, anyhow::Error>((i.offset() as u64, i.contents()?)))
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let (data, memory_images) = image_section(contents);
        let meta = crate::artifact::ModuleMetadataRef {
            env: &inner.env,
            code_len: inner.code.len() as u64,
            funcs: inner.funcs.iter().map(|f| (f.start, f.len)).collect(),
            array_trampolines: inner.trampolines.array.iter().map(locate).collect(),
            host_trampolines: inner.trampolines.host.iter().map(locate).collect(),
            traps: &inner.info.traps,
            address_map: &inner.info.address_map,
            stack_maps: &inner.info.stack_maps,
            handlers: &inner.info.handlers,
            func_names: &inner.info.func_names,
            exports_by_name: &inner.exports_by_name,
            memory_images,
        };
        crate::artifact::write_module(&inner.engine, inner.code.code(), &meta, &data)
    }

    /// Rebuilds a module from an artifact made by [`Module::serialize`] or
    /// [`Engine::precompile_module`], without compiling. The code is copied into
    /// fresh executable memory; [`Module::deserialize_file`] maps a file instead.
    ///
    /// # Safety
    /// The artifact contains machine code that will run in this process with no
    /// further checks, so `bytes` must be exactly what `Module::serialize` or
    /// `Engine::precompile_module` of this Tern wrote, read back from storage
    /// that nobody untrusted could write. Tern refuses, with an error, bytes that
    /// are not an artifact, an artifact that is truncated or corrupted outside
    /// its code (a checksum covers the header, metadata and ELF structure), and
    /// one whose version, target, CPU features or code-affecting settings differ
    /// from `engine`'s; but it cannot tell deliberately crafted or altered machine
    /// code from real code. Passing such bytes is undefined behaviour: arbitrary
    /// code execution, memory corruption or a crash.
    ///
    /// # Errors
    /// Fails, naming the problem, for bytes that are not an intact Tern artifact,
    /// for a component artifact, and for an artifact from an incompatible engine
    /// (the message says `compiled with X=a, this engine has X=b` for each
    /// difference).
    #[allow(
        unsafe_code,
        reason = "the API is unsafe; the body only calls safe vm functions"
    )]
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Self> {
        let bytes = bytes.as_ref();
        let loaded = crate::artifact::load_module(engine, bytes)?;
        let code = CodeMemory::new(&bytes[loaded.code.clone()])?;
        let data = &bytes[loaded.data.clone()];
        let images = loaded
            .meta
            .memory_images
            .iter()
            .map(|loc| {
                loc.map(|(offset, start, len)| {
                    let bytes = &data[start as usize..(start + len) as usize];
                    MemoryImage::from_bytes(offset, bytes.to_vec())
                })
                .transpose()
            })
            .collect::<Result<_>>()?;
        Self::from_loaded(engine, loaded.meta, code, images)
    }

    /// Like [`Module::deserialize`], but maps the artifact file at `path`
    /// privately instead of reading it into the heap, and makes its code pages
    /// executable in place (or, where the OS refuses that, for example on a
    /// `noexec` mount, or with `ProfilingStrategy::PerfMap`, which perf only
    /// applies to anonymous memory, copies the code). Loading costs little more than the
    /// `mmap` plus decoding the metadata; the code pages are only read when run.
    ///
    /// # Safety
    /// Everything [`Module::deserialize`] requires of the bytes holds for the
    /// file's contents; in addition, the file must not be modified or truncated
    /// while the module (or any instance of it) is alive, since its pages are
    /// the module's code and metadata, and the initial pages of its instances'
    /// memories (mapped copy-on-write from the file: a guest's writes never
    /// reach it): a truncated file makes access fault with `SIGBUS`, a
    /// rewritten one swaps the code under running instances.
    ///
    /// # Errors
    /// Fails if the file cannot be opened or mapped, and as
    /// [`Module::deserialize`] does; messages name the file.
    #[allow(
        unsafe_code,
        reason = "the API is unsafe; the body only calls safe vm functions"
    )]
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let load = || -> Result<Self> {
            let file = Arc::new(std::fs::File::open(path)?);
            let map = ReadOnlyMmap::map_file(&file)?;
            let loaded = crate::artifact::load_module(engine, map.as_slice())?;
            let code = if engine.config().profiler == crate::ProfilingStrategy::PerfMap {
                // perf reads perf maps only for anonymous memory: code mapped
                // from the file would be attributed to the file instead.
                CodeMemory::new(&map.as_slice()[loaded.code.clone()])?
            } else {
                CodeMemory::from_file_mapping(map, loaded.code.start, loaded.code.len())?
            };
            // The images stay in the file: memories map them from there.
            let images = loaded
                .meta
                .memory_images
                .iter()
                .map(|loc| {
                    loc.map(|(offset, start, len)| {
                        let file_offset = loaded.data.start as u64 + start;
                        MemoryImage::from_file(file.clone(), file_offset, len, offset)
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?;
            Self::from_loaded(engine, loaded.meta, code, images)
        };
        load().with_context(|| format!("failed to load precompiled module `{}`", path.display()))
    }

    fn from_loaded(
        engine: &Engine,
        meta: crate::artifact::ModuleMetadata,
        code: CodeMemory,
        memory_images: Vec<Option<MemoryImage>>,
    ) -> Result<Self> {
        let funcs = meta
            .funcs
            .iter()
            .map(|&(start, len)| FuncLoc { start, len })
            .collect();
        let unlocate =
            |&(type_index, start, len): &(u32, u32, u32)| (type_index, FuncLoc { start, len });
        let parts = Parts {
            funcs,
            trampolines: Trampolines {
                array: meta.array_trampolines.iter().map(unlocate).collect(),
                host: meta.host_trampolines.iter().map(unlocate).collect(),
            },
            traps: meta.traps,
            address_map: meta.address_map,
            stack_maps: meta.stack_maps,
            handlers: meta.handlers,
            names: meta.func_names,
            exports_by_name: meta.exports_by_name,
            memory_images,
        };
        Self::from_parts(engine, meta.env, code, parts)
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
        self.inner.env.exports.iter().map(|e| ExportType {
            name: &e.name,
            ty: self.entity_type(e.index),
        })
    }

    /// The type of export `name`, if it exists.
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        let index = self.inner.export_index(name)?;
        Some(self.entity_type(self.inner.env.exports[index].index))
    }

    /// Export `name`, found once, for [`crate::Instance::get_module_export`]
    /// to look up in instances of this module without a string comparison.
    /// `None` when there is no such export.
    pub fn get_export_index(&self, name: &str) -> Option<ModuleExport> {
        Some(ModuleExport {
            module: self.inner.id,
            index: self.inner.export_index(name)?,
        })
    }

    /// Where `export` lies in this module's export list, if it was found in
    /// this module.
    pub(crate) fn export_position(&self, export: &ModuleExport) -> Option<usize> {
        (export.module == self.inner.id).then_some(export.index)
    }

    pub(crate) fn entity_type(&self, index: EntityIndex) -> ExternType {
        let env = &self.inner.env;
        match index {
            EntityIndex::Function(f) => {
                ExternType::Func(FuncType::from_wasm(self.inner.canonical_func_type(f)))
            }
            EntityIndex::Table(t) => ExternType::Table(TableType::from_plan(
                self.inner.canonical_table(env.tables[t as usize]),
            )),
            EntityIndex::Memory(m) => ExternType::Memory(MemoryType {
                plan: env.memories[m as usize],
            }),
            EntityIndex::Global(g) => {
                let g = &env.globals[g as usize];
                ExternType::Global(GlobalType::new(
                    ValType::from_wasm(self.inner.canonical_val(g.ty)),
                    if g.mutable {
                        Mutability::Var
                    } else {
                        Mutability::Const
                    },
                ))
            }
            EntityIndex::Tag(t) => {
                ExternType::Tag(crate::TagType::from_module(env, env.tags[t as usize]))
            }
        }
    }

    /// The array-to-wasm trampolines this module carries, by engine signature id.
    pub(crate) fn array_trampolines(&self) -> impl Iterator<Item = (u32, ArrayTrampoline)> + '_ {
        let inner = &self.inner;
        inner.trampolines.array.iter().map(|(ty, loc)| {
            let code = (inner.code.base() + loc.start as usize) as *const u8;
            (inner.type_ids[*ty as usize], ArrayTrampoline(code))
        })
    }

    /// This module's trampolines by engine signature id (built once).
    pub(crate) fn trampoline_maps(&self) -> &crate::func::TrampolineMaps {
        self.inner
            .trampoline_maps
            .get_or_init(|| crate::func::TrampolineMaps::of(self))
    }

    /// The wasm-to-host trampolines this module carries, as (engine signature
    /// id, code address).
    pub(crate) fn host_trampolines(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        let inner = &self.inner;
        inner.trampolines.host.iter().map(|(ty, loc)| {
            (
                inner.type_ids[*ty as usize],
                inner.code.base() + loc.start as usize,
            )
        })
    }
}

/// A module's trampolines: (type-section index of the signature, location in
/// the code), per direction.
#[derive(Debug, Default)]
pub(crate) struct Trampolines {
    /// Host calls wasm.
    pub(crate) array: Vec<(u32, FuncLoc)>,
    /// Wasm calls the host.
    pub(crate) host: Vec<(u32, FuncLoc)>,
}

/// The artifact form of a trampoline: (type index, start, length).
fn locate(&(type_index, loc): &(u32, FuncLoc)) -> (u32, u32, u32) {
    (type_index, loc.start, loc.len)
}

/// What `Module::from_parts` needs besides the description and the code.
struct Parts {
    /// Location of each defined function in the code.
    funcs: Vec<FuncLoc>,
    /// The trampolines.
    trampolines: Trampolines,
    /// Trap sites, sorted by code offset.
    traps: Vec<(u32, TrapKind)>,
    /// Code offsets back to wasm offsets.
    address_map: tern_environ::AddressMap,
    /// Where calls keep their live GC references.
    stack_maps: tern_environ::StackMaps,
    /// Where calls inside a `try_table` resume on an exception.
    handlers: tern_environ::ExceptionHandlers,
    /// Function names.
    names: FuncNames,
    /// Export positions ordered by name.
    exports_by_name: Vec<u32>,
    /// Each defined memory's image, if it has one.
    memory_images: Vec<Option<MemoryImage>>,
}

/// A module compiled and linked but not yet made executable.
pub(crate) struct Compiled {
    pub(crate) env: tern_environ::Module,
    pub(crate) image: CodeImage,
    pub(crate) trampolines: Trampolines,
    /// Each defined memory's image, if it has one (the segments it covers have
    /// no bytes left in `env`).
    pub(crate) memory_images: Vec<Option<tern_environ::MemoryImage>>,
}

/// The `.tern.data` section holding `images` (offset in the memory, bytes),
/// each at an offset that is a multiple of `IMAGE_PAGE`, and where each lies:
/// (offset in the memory, offset in the section, length).
pub(crate) fn image_section(
    images: Vec<Option<(u64, Cow<'_, [u8]>)>>,
) -> (Vec<u8>, Vec<Option<crate::artifact::ImageLocation>>) {
    let mut data = Vec::new();
    let locs = images
        .into_iter()
        .map(|image| {
            let (offset, bytes) = image?;
            let start = data.len() as u64;
            data.extend_from_slice(&bytes);
            let padded = data
                .len()
                .next_multiple_of(tern_environ::IMAGE_PAGE as usize);
            data.resize(padded, 0);
            Some((offset, start, bytes.len() as u64))
        })
        .collect();
    (data, locs)
}

/// Lays out the images of `env`'s defined memories and removes the bytes of the
/// active segments they cover (instantiation skips those segments).
fn take_memory_images(
    env: &mut tern_environ::Module,
    guaranteed_dense: u64,
) -> Vec<Option<tern_environ::MemoryImage>> {
    let images = tern_environ::memory_images_dense_up_to(env, guaranteed_dense);
    let imaged: Vec<bool> = (0..env.memories.len() as u32)
        .map(|m| tern_environ::memory_has_image(env, &images, m))
        .collect();
    for segment in &mut env.data {
        if let SegmentMode::Active { index, .. } = segment.mode {
            if imaged[index as usize] {
                segment.data = Vec::new();
            }
        }
    }
    images
}

/// Translates, compiles (in parallel unless the config says otherwise) and links
/// the wasm binary `binary`.
///
/// # Errors
/// Fails on invalid or unsupported wasm, naming the problem.
pub(crate) fn compile(engine: &Engine, binary: &[u8]) -> Result<Compiled> {
    let features = engine.config().features;
    // Legacy `try`/`catch` become `try_table`/`throw_ref` first (after the
    // original bytes validate); the rest of the path sees only the final form.
    let legacy = tern_environ::rewrite_legacy_exceptions(binary, features)?;
    let binary = legacy.as_ref().map_or(binary, |l| &l.bytes[..]);
    let translation = tern_environ::translate_module(binary, features)?;
    let compiler = &engine.inner.compiler;
    let num_imported = translation.module.num_imported_funcs;
    let compiled = if engine.config().parallel_compilation {
        compiler.compile_module(translation)?
    } else {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()?
            .install(|| compiler.compile_module(translation))?
    };
    let (specs, code): (Vec<_>, Vec<_>) = compiled.trampolines.into_iter().unzip();
    let mut image = tern_cranelift::link(&compiled.funcs, &code, num_imported)?;
    if !engine.config().knobs.generate_address_map {
        // `Config::generate_address_map(false)`: nothing maps code back to
        // wasm offsets, so backtrace frames have none.
        image.address_map = tern_environ::AddressMap::default();
    } else if let Some(legacy) = &legacy {
        legacy.offsets.apply(&mut image.address_map);
    }
    let mut trampolines = Trampolines::default();
    for (spec, loc) in specs.iter().zip(&image.trampolines) {
        let list = match spec.kind {
            TrampolineKind::ArrayToWasm => &mut trampolines.array,
            TrampolineKind::WasmToHost => &mut trampolines.host,
        };
        list.push((spec.type_index, *loc));
    }
    let mut env = compiled.module;
    let dense = engine.config().knobs.memory_guaranteed_dense_image_size;
    let memory_images = take_memory_images(&mut env, dense);
    Ok(Compiled {
        env,
        image,
        trampolines,
        memory_images,
    })
}

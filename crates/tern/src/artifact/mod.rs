//! Precompiled artifacts: what `Module::serialize` writes and `Module::deserialize`
//! reads, the engine fingerprint they carry, and the compatibility check.
//!
//! An artifact is one ELF file (see `elf.rs` for the container): the module's
//! linked text section, a header naming the kind of artifact and every
//! code-affecting setting of the engine that made it
//! (`Engine::code_affecting_settings`), and the metadata needed to rebuild the
//! `Module` without compiling (`ModuleMetadata`). Loading an artifact is:
//! container check (structure + checksum) → compatibility check (kind, then every
//! setting, each mismatch named) → metadata decode → consistency check of the
//! metadata against itself and the text → map the code (`module.rs`).
//!
//! Nothing here runs or maps code; what a caller must promise about the bytes is
//! stated once, on `Module::deserialize`.

pub(crate) mod elf;
#[cfg(test)]
mod tests;

use crate::vm::code_memory::FuncNames;
use crate::Engine;
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use tern_environ::{
    AddressMap, ConstExpr, ConstOp, ElemItems, EntityIndex, ExceptionHandlers, SegmentMode,
    StackMaps, TrapKind,
};

/// Version of the metadata encoding. Bump it whenever a type serialized into
/// `.tern.meta` changes shape (`ModuleMetadata`, `tern_environ::Module` and
/// everything it holds); the `metadata_encoding_is_pinned` test fails until you do.
/// Bump it too when compiled code starts relying on something older code did
/// not do (`ref.func` of a defined function calls the `ref_func` libcall,
/// since instances fill funcrefs on first use; the encoding did not change;
/// version 10: user stack maps in the metadata; version 11: a static
/// memory's base is read from the vmctx's own copy, and GC trap kinds,
/// constant operators and libcalls are appended; version 12: exceptions are
/// GC-heap objects built by compiled code, and the three exception libcalls
/// are gone; version 13: calls inside a `try_table` are `try_call`s whose
/// handlers are in the metadata's exception handler table, and the `throw`
/// libcall is appended; version 14: `memory.copy/fill` are checked in compiled
/// code, and the `memory_copy`/`memory_fill` libcalls are replaced in their
/// slots by `memory_move`/`memory_set`, which take native addresses; version
/// 15: funcref tables are initialised lazily — a slot holds `funcref | 1`, or
/// 0 until first use, when compiled code asks the new
/// `table_get_lazy_init_func_ref` libcall, listed before `throw`; version
/// 16: `TrapKind` gained wasmtime 12's `HeapMisaligned`,
/// `AtomicWaitNonSharedMemory` and `AlwaysTrapAdapter`, appended and never
/// emitted).
pub(crate) const FORMAT_VERSION: u32 = 16;

/// What kind of precompiled artifact some bytes hold, as reported by
/// [`Engine::detect_precompiled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Precompiled {
    /// A core module, made by [`crate::Module::serialize`] or [`Engine::precompile_module`].
    Module,
    /// A component (reserved: Tern does not compile components yet).
    Component,
}

/// The `.tern.header` payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Header {
    /// What the artifact holds.
    pub kind: Precompiled,
    /// The code-affecting settings of the engine that wrote it.
    pub settings: Vec<(String, String)>,
}

/// The `.tern.meta` payload of a module artifact: everything `Module` holds except
/// the code itself and what is recomputed cheaply at load (the `VMContext`
/// layout, engine signature ids). Lookup tables are stored in the form the
/// runtime uses (sorted vectors), so loading only decodes: it neither hashes
/// nor sorts.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ModuleMetadata {
    /// The module's description (with `func_names` empty: see `func_names`).
    pub env: tern_environ::Module,
    /// Bytes of real code at the start of the (padded) text section.
    pub code_len: u64,
    /// (start, length) of each defined function's code.
    pub funcs: Vec<(u32, u32)>,
    /// (type index, start, length) of each array-to-wasm trampoline.
    pub array_trampolines: Vec<(u32, u32, u32)>,
    /// (type index, start, length) of each wasm-to-host trampoline.
    pub host_trampolines: Vec<(u32, u32, u32)>,
    /// Trap sites, sorted by text offset.
    pub traps: Vec<(u32, TrapKind)>,
    /// Text offsets back to wasm offsets, for backtraces.
    pub address_map: AddressMap,
    /// Where each call with live GC references keeps them, sorted by return
    /// address.
    pub stack_maps: StackMaps,
    /// Where calls inside a `try_table` resume on an exception, sorted by
    /// return address.
    pub handlers: ExceptionHandlers,
    /// Function names from the name section.
    pub func_names: FuncNames,
    /// Positions in `env.exports`, ordered by export name.
    pub exports_by_name: Vec<u32>,
    /// For each defined memory, where its image lies if it has one; the data
    /// segments an image covers are stored in `env` with their bytes removed.
    pub memory_images: Vec<Option<ImageLocation>>,
}

/// Where a memory image lies: (offset in the memory, offset in `.tern.data`,
/// length in bytes).
pub(crate) type ImageLocation = (u64, u64, u64);

/// The borrowing twin of [`ModuleMetadata`], for writing without cloning.
#[derive(Serialize)]
pub(crate) struct ModuleMetadataRef<'a> {
    pub env: &'a tern_environ::Module,
    pub code_len: u64,
    pub funcs: Vec<(u32, u32)>,
    pub array_trampolines: Vec<(u32, u32, u32)>,
    pub host_trampolines: Vec<(u32, u32, u32)>,
    pub traps: &'a [(u32, TrapKind)],
    pub address_map: &'a AddressMap,
    pub stack_maps: &'a StackMaps,
    pub handlers: &'a ExceptionHandlers,
    pub func_names: &'a FuncNames,
    pub exports_by_name: &'a [u32],
    pub memory_images: Vec<Option<ImageLocation>>,
}

/// A checked module artifact: its metadata and where its code lies in the bytes.
pub(crate) struct LoadedModule {
    pub meta: ModuleMetadata,
    /// The code's byte range in the artifact (page-aligned start).
    pub code: Range<usize>,
    /// The memory images' byte range in the artifact (page-aligned start).
    pub data: Range<usize>,
}

/// Fingerprint entries of `engine`, with the CPU feature string split into one
/// entry per flag so that a mismatch names the flag.
pub(crate) fn fingerprint(engine: &Engine) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in engine.code_affecting_settings() {
        if key == "cpu features" {
            for flag in value.split_whitespace() {
                let (name, v) = flag.split_once('=').unwrap_or((flag, ""));
                out.push((format!("cpu feature {name}"), v.to_string()));
            }
        } else {
            out.push((key, value));
        }
    }
    out
}

/// Writes a module artifact for `engine`, with the memory images `data`
/// (located by `meta.memory_images`).
///
/// # Errors
/// Fails only if encoding or writing the ELF file fails.
pub(crate) fn write_module(
    engine: &Engine,
    code: &[u8],
    meta: &ModuleMetadataRef<'_>,
    data: &[u8],
) -> Result<Vec<u8>> {
    let header = Header {
        kind: Precompiled::Module,
        settings: fingerprint(engine),
    };
    let meta = postcard::to_allocvec(meta).context("failed to encode the module's metadata")?;
    let arch = elf::architecture_of(&engine.inner.compiler.triple())?;
    elf::write_with_data(code, &header, &meta, data, arch)
}

/// Checks `bytes` as a module artifact for `engine` and decodes its metadata.
///
/// # Errors
/// Fails, naming the problem, on a damaged artifact, an artifact of another kind,
/// or one made by an engine with different code-affecting settings.
pub(crate) fn load_module(engine: &Engine, bytes: &[u8]) -> Result<LoadedModule> {
    let parsed = elf::parse(bytes)?;
    check_compatible(engine, &parsed.header, Precompiled::Module)?;
    let (meta, rest): (ModuleMetadata, _) = postcard::take_from_bytes(parsed.meta)
        .context("corrupt artifact: undecodable module metadata")?;
    if !rest.is_empty() {
        bail!(
            "corrupt artifact: {} stray bytes after the module metadata",
            rest.len()
        );
    }
    let text_len = parsed.text.len() as u64;
    validate(&meta, text_len).context("corrupt artifact: inconsistent module metadata")?;
    validate_images(&meta, parsed.data.len() as u64)
        .context("corrupt artifact: inconsistent memory images")?;
    let code = parsed.text.start..parsed.text.start + meta.code_len as usize;
    Ok(LoadedModule {
        meta,
        code,
        data: parsed.data,
    })
}

/// Compares an artifact's header with what `engine` would write.
pub(crate) fn check_compatible(
    engine: &Engine,
    header: &Header,
    expected: Precompiled,
) -> Result<()> {
    if header.kind != expected {
        let name = |k| match k {
            Precompiled::Module => "a core module",
            Precompiled::Component => "a component",
        };
        bail!(
            "the precompiled artifact holds {}, not {}",
            name(header.kind),
            name(expected)
        );
    }
    let theirs: BTreeMap<&str, &str> = header
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let ours = fingerprint(engine);
    let any_version = engine.config().knobs.module_version == crate::ModuleVersionStrategy::None;
    let mut problems = Vec::new();
    for (key, value) in &ours {
        if any_version && key == crate::engine::MODULE_VERSION {
            continue;
        }
        match theirs.get(key.as_str()) {
            Some(v) if v == value => {}
            Some(v) => problems.push(format!(
                "compiled with {key}={v}, this engine has {key}={value}"
            )),
            None => problems.push(format!(
                "compiled without a `{key}` setting, this engine has {key}={value}"
            )),
        }
    }
    for (key, value) in &header.settings {
        if !ours.iter().any(|(k, _)| k == key) {
            problems.push(format!(
                "compiled with {key}={value}, this engine has no `{key}` setting"
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "the precompiled module is incompatible with this engine: {}",
            problems.join("; ")
        );
    }
    Ok(())
}

/// Checks that every memory image lies, page-aligned, inside a data section of
/// `data_len` bytes and inside its memory's initial size.
fn validate_images(meta: &ModuleMetadata, data_len: u64) -> Result<()> {
    let env = &meta.env;
    let defined = &env.memories[env.num_imported_memories as usize..];
    if meta.memory_images.len() != defined.len() {
        bail!(
            "{} image entries for {} defined memories",
            meta.memory_images.len(),
            defined.len()
        );
    }
    let page = tern_environ::IMAGE_PAGE;
    for (plan, image) in defined.iter().zip(&meta.memory_images) {
        let Some((offset, start, len)) = *image else {
            continue;
        };
        let fits_data = start.checked_add(len).is_some_and(|end| end <= data_len);
        let initial = plan.minimum.saturating_mul(tern_environ::WASM_PAGE_SIZE);
        let fits_memory = offset.checked_add(len).is_some_and(|end| end <= initial);
        if !(fits_data && fits_memory && offset % page == 0 && start % page == 0 && len % page == 0)
        {
            bail!("an image at {offset:#x}+{len:#x} does not fit its memory or the data section");
        }
    }
    Ok(())
}

/// Checks that the metadata is consistent with itself and with a text section of
/// `text_len` bytes, so that the rest of Tern may index with it freely.
fn validate(meta: &ModuleMetadata, text_len: u64) -> Result<()> {
    let env = &meta.env;
    let funcs = env.functions.len() as u64;
    let (tables, memories, globals) = (
        env.tables.len() as u64,
        env.memories.len() as u64,
        env.globals.len() as u64,
    );
    if u64::from(env.num_imported_funcs) > funcs
        || u64::from(env.num_imported_tables) > tables
        || u64::from(env.num_imported_memories) > memories
        || u64::from(env.num_imported_globals) > globals
        || env.num_imported_tags as usize > env.tags.len()
    {
        bail!("more imports than entities");
    }
    let ntypes = env.types.len() as u64;
    let group_ok = |(i, (start, len)): (usize, &(u32, u32))| {
        let end = u64::from(*start) + u64::from(*len);
        u64::from(*start) <= i as u64 && (i as u64) < end && end <= ntypes
    };
    if env.tags.iter().any(|t| u64::from(*t) >= ntypes)
        || env.type_groups.len() as u64 != ntypes
        || !env.type_groups.iter().enumerate().all(group_ok)
    {
        bail!("a tag or type group refers to a missing type");
    }
    if meta.code_len > text_len || meta.code_len > u64::from(u32::MAX) {
        bail!(
            "code length {} exceeds the text section ({text_len} bytes)",
            meta.code_len
        );
    }
    if meta.funcs.len() as u64 != funcs - u64::from(env.num_imported_funcs) {
        bail!(
            "{} function bodies for {} defined functions",
            meta.funcs.len(),
            funcs - u64::from(env.num_imported_funcs)
        );
    }
    if meta
        .funcs
        .iter()
        .any(|(start, len)| u64::from(*start) + u64::from(*len) > meta.code_len)
    {
        bail!("a function lies outside the code");
    }
    if meta
        .array_trampolines
        .iter()
        .chain(&meta.host_trampolines)
        .any(|(ty, start, len)| {
            *ty as usize >= env.types.len() || u64::from(*start) + u64::from(*len) > meta.code_len
        })
    {
        bail!("a trampoline lies outside the code or has an unknown signature");
    }
    if meta
        .traps
        .iter()
        .any(|(off, _)| u64::from(*off) >= meta.code_len)
        || !meta.traps.is_sorted_by_key(|t| t.0)
    {
        bail!("bad trap table");
    }
    if !meta.address_map.is_valid(meta.funcs.len(), meta.code_len) {
        bail!("bad address map");
    }
    if !meta.stack_maps.is_valid(meta.code_len) {
        bail!("bad stack maps");
    }
    if !meta.handlers.is_valid(meta.code_len) {
        bail!("bad exception handler table");
    }
    if !env.func_names.is_empty() || !meta.func_names.is_valid() {
        bail!("bad function name table");
    }
    let by_name = &meta.exports_by_name;
    let name = |i: u32| env.exports.get(i as usize).map(|e| e.name.as_str());
    if by_name.len() != env.exports.len()
        || by_name.iter().any(|i| name(*i).is_none())
        || !by_name.is_sorted_by(|a, b| name(*a) < name(*b))
    {
        bail!("bad export index");
    }
    let is_func = |t: &u32| {
        env.types
            .get(*t as usize)
            .is_some_and(|t| t.as_func().is_some())
    };
    if !env.functions.iter().all(is_func) || !env.tags.iter().all(is_func) {
        bail!("a function or tag has an out-of-range or non-function type index");
    }
    let in_range = |index: EntityIndex, imported: bool| {
        let (i, n, imports) = match index {
            EntityIndex::Function(i) => (i, funcs, env.num_imported_funcs),
            EntityIndex::Table(i) => (i, tables, env.num_imported_tables),
            EntityIndex::Memory(i) => (i, memories, env.num_imported_memories),
            EntityIndex::Global(i) => (i, globals, env.num_imported_globals),
            EntityIndex::Tag(i) => (i, env.tags.len() as u64, env.num_imported_tags),
        };
        u64::from(i) < n && (!imported || i < imports)
    };
    if !env.imports.iter().all(|i| in_range(i.index, true))
        || !env.exports.iter().all(|e| in_range(e.index, false))
    {
        bail!("an import or export refers to a missing entity");
    }
    if env.start.is_some_and(|s| u64::from(s) >= funcs) {
        bail!("the start function does not exist");
    }
    let expr_ok = |e: &ConstExpr| {
        e.ops.iter().all(|op| match op {
            ConstOp::GlobalGet(g) => u64::from(*g) < globals,
            ConstOp::RefFunc(f) => u64::from(*f) < funcs,
            _ => true,
        })
    };
    let mode_ok = |mode: &SegmentMode, n: u64| match mode {
        SegmentMode::Active { index, offset } => u64::from(*index) < n && expr_ok(offset),
        SegmentMode::Passive | SegmentMode::Declared => true,
    };
    let elems_ok = env.elems.iter().all(|e| {
        mode_ok(&e.mode, tables)
            && match &e.items {
                ElemItems::Functions(f) => f.iter().all(|f| u64::from(*f) < funcs),
                ElemItems::Expressions(x) => x.iter().all(expr_ok),
            }
    });
    let globals_ok = env
        .globals
        .iter()
        .all(|g| g.init.as_ref().is_none_or(expr_ok));
    if !elems_ok || !globals_ok || !env.data.iter().all(|d| mode_ok(&d.mode, memories)) {
        bail!("a segment or initializer refers to a missing entity");
    }
    Ok(())
}

/// A value that hashes the settings deciding whether an artifact fits an engine;
/// see [`Engine::precompile_compatibility_hash`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompatibilityHash(Vec<(String, String)>);

impl Engine {
    /// Compiles `bytes` (a wasm binary, or WAT text) into a precompiled artifact
    /// without creating a [`crate::Module`]; the result is what
    /// [`crate::Module::serialize`] would return for the same input.
    ///
    /// # Errors
    /// Fails as [`crate::Module::new`] does for bad input, or if writing the artifact fails.
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let wasm = wat::parse_bytes(bytes)?;
        let mut compiled = crate::module::compile(self, &wasm)?;
        let funcs = compiled
            .image
            .funcs
            .iter()
            .map(|f| (f.start, f.len))
            .collect();
        let func_names = FuncNames::new(std::mem::take(&mut compiled.env.func_names));
        let images = std::mem::take(&mut compiled.memory_images)
            .into_iter()
            .map(|i| i.map(|i| (i.offset, std::borrow::Cow::Owned(i.data))))
            .collect();
        let (data, memory_images) = crate::module::image_section(images);
        let locate = |list: &[(u32, tern_cranelift::FuncLoc)]| {
            list.iter()
                .map(|(ty, loc)| (*ty, loc.start, loc.len))
                .collect()
        };
        let meta = ModuleMetadataRef {
            env: &compiled.env,
            code_len: compiled.image.text.len() as u64,
            funcs,
            array_trampolines: locate(&compiled.trampolines.array),
            host_trampolines: locate(&compiled.trampolines.host),
            traps: &compiled.image.traps,
            address_map: &compiled.image.address_map,
            stack_maps: &compiled.image.stack_maps,
            handlers: &compiled.image.handlers,
            func_names: &func_names,
            exports_by_name: &crate::module::exports_by_name(&compiled.env.exports),
            memory_images,
        };
        write_module(self, &compiled.image.text, &meta, &data)
    }

    /// Whether `bytes` look like a Tern precompiled artifact, and of which kind.
    ///
    /// This is a cheap structural test (an ELF file with Tern's header), meant to
    /// tell artifacts from wasm or WAT input; it does not check the artifact's
    /// integrity or compatibility with this engine, which `deserialize` does.
    pub fn detect_precompiled(&self, bytes: &[u8]) -> Option<Precompiled> {
        elf::peek_header(bytes).map(|h| h.kind)
    }

    /// [`Engine::detect_precompiled`] on the contents of the file at `path`.
    ///
    /// # Errors
    /// Fails when the file cannot be read.
    pub fn detect_precompiled_file(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> anyhow::Result<Option<Precompiled>> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        Ok(self.detect_precompiled(&bytes))
    }

    /// A value whose hash is equal for two engines exactly when an artifact made
    /// by one can be loaded by the other: the Tern version, the target, the CPU
    /// features and every code-affecting `Config` setting. Use it to key a cache
    /// of precompiled artifacts.
    pub fn precompile_compatibility_hash(&self) -> CompatibilityHash {
        CompatibilityHash(fingerprint(self))
    }
}

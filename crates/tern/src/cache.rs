//! The compilation cache: a directory of precompiled artifacts, named by the
//! content they were compiled from, so that compiling the same wasm twice with
//! the same engine settings costs one compilation and then one `mmap`.
//!
//! # How an entry is named
//! An entry's file name is the BLAKE3 hash of: a domain tag, Tern's
//! build id (a hash of the sources that generate code, computed by `build.rs`,
//! so a rebuilt Tern never loads its predecessor's code), the engine
//! fingerprint (`artifact::fingerprint`: Tern's version, the artifact format,
//! the target, the CPU features and every code-affecting `Config` setting — the
//! same list the artifact header records and `deserialize` checks) and the wasm
//! binary. Two inputs share a name only if they are the same module compiled
//! the same way (a 256-bit cryptographic hash: a collision cannot be found, so
//! a module can never be handed another module's code).
//!
//! # Concurrency and damage
//! An entry is written to a uniquely named temporary file in the cache
//! directory and then renamed over its final name. A rename within one
//! directory is atomic, so a reader sees either no entry, a complete old one
//! or a complete new one, never a half-written file, whatever other threads or
//! processes do at the same time; and a reader that has mapped an entry keeps
//! its own copy of the inode when a writer replaces it, so the mapped code
//! never changes under a running module. An entry that fails to load anyway
//! (truncated or damaged by something other than Tern, or written by an
//! incompatible Tern) is refused by the artifact checks (checksum, then the
//! fingerprint comparison); the module is then compiled and the entry
//! overwritten. The cache never turns a loadable module into an error: a
//! cache directory that cannot be created or written only costs the saving.
//!
//! # Why loading an entry is sound
//! `Module::deserialize_file` is `unsafe` because an artifact's machine code
//! runs unchecked. Cache entries are files that Tern itself wrote, through the
//! rename above, into a directory of the current user (`$TERN_CACHE_DIR`,
//! `$XDG_CACHE_HOME/tern` or `$HOME/.cache/tern`). Whoever can replace them
//! can already run code as that user (by editing their shell start-up files,
//! for example), so trusting them grants nothing new: the same argument as
//! wasmtime's cache and every compiler cache. Accidental damage (a truncated
//! file, a disk error in the header or metadata) is caught by the artifact
//! checksum; the code bytes themselves are not hashed on load, for the reason
//! given in `artifact/elf.rs` (hashing would touch every code page).
//!
//! # Modules and components
//! A component is cached whole, as one component artifact
//! (`Component::serialize`), under a name hashed with another domain tag than
//! modules', so a module and a component can never share an entry; loading
//! checks the artifact's kind too. The core modules inside a cached component
//! are not cached on their own: the component's entry already holds them.
//!
//! # Size limits
//! A cache hit refreshes its entry's modification time, and every write may
//! run the cleaner (`cache_cleanup.rs`), which deletes the least recently
//! used entries when the directory exceeds wasmtime's soft limits (by default
//! 65,536 entries or 512 MiB), at most once per cleanup interval (by default
//! an hour). The limits are set by `Config::cache_config_load`'s file.

use crate::cache_cleanup::{self, CleanupLimits};
use crate::component::Component;
use crate::{Config, Engine, Module};
use anyhow::{bail, Result};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// The environment variable that, when set, names the cache directory instead
/// of the per-user default.
pub const CACHE_DIR_ENV: &str = "TERN_CACHE_DIR";

/// Extension of the cache's entry files.
const ENTRY_EXTENSION: &str = "cwasm";

/// How the names of writers' temporary files start.
pub(crate) const TEMPORARY_PREFIX: &str = ".tmp-";

/// Where the cache lives and how it is kept in bounds: the part of `Config`
/// that the cache reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheSettings {
    /// The directory holding the entries.
    pub(crate) directory: PathBuf,
    /// When and how far the cleaner trims the directory.
    pub(crate) limits: CleanupLimits,
}

/// Tags the hash input of a module's entry, so that it cannot share a name
/// with a component's.
const MODULE_DOMAIN: &[u8] = b"tern module cache entry\0";

/// Tags the hash input of a component's entry.
const COMPONENT_DOMAIN: &[u8] = b"tern component cache entry\0";

impl Config {
    /// Turns the compilation cache on, in the default directory:
    /// `$TERN_CACHE_DIR` if set, else `$XDG_CACHE_HOME/tern`, else
    /// `$HOME/.cache/tern`. `Module::new`, `Module::from_binary` and
    /// `Module::from_file` (and `Component`'s functions of the same names)
    /// then look for an artifact of the same wasm compiled with the same
    /// settings there, load it instead of compiling when it is
    /// present, and store one when it is not (see the `cache` module notes for
    /// concurrency and damaged files). The directory is created on first use.
    ///
    /// Unlike wasmtime, Tern reads no configuration file here: the cleanup
    /// limits are wasmtime's defaults (see `Config::cache_config_load` to
    /// set others).
    ///
    /// # Errors
    /// Fails if none of the three variables is set to a non-empty absolute
    /// path, so there is no directory to use.
    pub fn cache_config_load_default(&mut self) -> Result<&mut Self> {
        let directory = default_directory()?;
        Ok(self.cache_directory(directory))
    }

    /// Turns the compilation cache on, keeping entries in `directory` (a Tern
    /// extension; wasmtime names the directory in a configuration file), with
    /// wasmtime's default cleanup limits.
    pub fn cache_directory(&mut self, directory: impl Into<PathBuf>) -> &mut Self {
        self.cache = Some(CacheSettings {
            directory: directory.into(),
            limits: CleanupLimits::default(),
        });
        self
    }

    /// Turns the compilation cache off (the default for embedders).
    pub fn disable_cache(&mut self) -> &mut Self {
        self.cache = None;
        self
    }
}

/// The per-user cache directory, as described on `Config::cache_config_load_default`.
pub(crate) fn default_directory() -> Result<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = absolute(CACHE_DIR_ENV) {
        return Ok(dir);
    }
    if let Some(dir) = absolute("XDG_CACHE_HOME") {
        return Ok(dir.join("tern"));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".cache").join("tern"));
    }
    bail!("no cache directory: set {CACHE_DIR_ENV}, XDG_CACHE_HOME or HOME to an absolute path")
}

/// Whether `name` is the file name of a cache entry: the 64 hexadecimal
/// digits of a BLAKE3 hash (as [`entry_path`] writes them) and the entry
/// extension.
pub(crate) fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(ENTRY_EXTENSION)
        .and_then(|stem| stem.strip_suffix('.'))
        .is_some_and(|hash| {
            hash.len() == 2 * blake3::OUT_LEN
                && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// The path of the entry for `wasm` (a module or a component, as `domain`
/// says) compiled by `engine` in `directory`.
fn entry_path(engine: &Engine, directory: &Path, domain: &[u8], wasm: &[u8]) -> PathBuf {
    let mut hasher = blake3::Hasher::new();
    hasher.update(domain);
    // Two builds of one Tern version may emit different code: the build id
    // (a hash of the code generator's sources, see build.rs) keeps them apart.
    hasher.update(env!("TERN_BUILD_ID").as_bytes());
    for (key, value) in crate::artifact::fingerprint(engine) {
        // Length-prefixed, so that no two different lists hash the same bytes.
        for part in [key, value] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    hasher.update(&(wasm.len() as u64).to_le_bytes());
    hasher.update(wasm);
    let name = hasher.finalize().to_hex();
    directory.join(format!("{name}.{ENTRY_EXTENSION}"))
}

/// The module for the wasm binary `wasm`: loaded from the cache `settings`
/// describe when an intact, compatible entry is there; otherwise compiled by
/// `compile` and stored (errors storing it are ignored: the cache only saves
/// time), and the cache cleaned if its interval has passed.
///
/// # Errors
/// Only `compile`'s errors.
#[allow(
    unsafe_code,
    reason = "names Module::deserialize_file, called on entries Tern wrote (module notes)"
)]
pub(crate) fn module(
    engine: &Engine,
    settings: &CacheSettings,
    wasm: &[u8],
    compile: impl FnOnce() -> Result<Module>,
) -> Result<Module> {
    let kind = Kind {
        domain: MODULE_DOMAIN,
        load: Module::deserialize_file,
        serialize: Module::serialize,
    };
    load_or_compile(engine, settings, wasm, &kind, compile)
}

/// [`module`] for a component binary: one entry holds the whole component.
///
/// # Errors
/// Only `compile`'s errors.
#[allow(
    unsafe_code,
    reason = "names Component::deserialize_file, called on entries Tern wrote (module notes)"
)]
pub(crate) fn component(
    engine: &Engine,
    settings: &CacheSettings,
    wasm: &[u8],
    compile: impl FnOnce() -> Result<Component>,
) -> Result<Component> {
    let kind = Kind {
        domain: COMPONENT_DOMAIN,
        load: Component::deserialize_file,
        serialize: Component::serialize,
    };
    load_or_compile(engine, settings, wasm, &kind, compile)
}

/// How one kind of cached item is named, loaded and stored.
struct Kind<T> {
    /// The hash input's domain tag.
    domain: &'static [u8],
    /// Loads an entry (unsafe: it runs the entry's code unchecked).
    load: unsafe fn(&Engine, PathBuf) -> Result<T>,
    /// The item's artifact bytes.
    serialize: fn(&T) -> Result<Vec<u8>>,
}

/// The cache lookup shared by [`module`] and [`component`].
#[allow(
    unsafe_code,
    reason = "loads an entry Tern wrote; the trust argument is in this file's notes"
)]
fn load_or_compile<T>(
    engine: &Engine,
    settings: &CacheSettings,
    wasm: &[u8],
    kind: &Kind<T>,
    compile: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let directory = &settings.directory;
    let path = entry_path(engine, directory, kind.domain, wasm);
    if path.is_file() {
        // SAFETY: the file is a cache entry that Tern wrote (via an atomic
        // rename) into the user's own cache directory; anyone able to alter it
        // can already run code as this user (module notes). Entries are never
        // modified in place, only replaced by rename, so the mapped file does
        // not change while the module lives. Damage is refused by the artifact
        // checks (including an entry of the other kind) and leads to a
        // recompilation below.
        if let Ok(item) = unsafe { (kind.load)(engine, path.clone()) } {
            refresh(&path);
            return Ok(item);
        }
    }
    let item = compile()?;
    // Storing is best-effort: a read-only or full disk must not fail the load.
    match (kind.serialize)(&item).and_then(|bytes| store(directory, &path, &bytes)) {
        Ok(()) => cache_cleanup::after_write(directory, &settings.limits),
        Err(error) => tracing::debug!(
            "compilation cache: cannot store `{}`: {error:#}",
            path.display()
        ),
    }
    Ok(item)
}

/// Marks the entry at `path` as just used, by setting its modification time
/// to now: the cleaner deletes the least recently used entries first. A
/// failure only makes the entry look older than it is.
fn refresh(path: &Path) {
    let refreshed = std::fs::File::open(path).and_then(|file| file.set_modified(SystemTime::now()));
    if let Err(error) = refreshed {
        tracing::debug!(
            "compilation cache: cannot refresh `{}`: {error}",
            path.display()
        );
    }
}

/// Creates `directory` and its missing parents, readable and writable by the
/// current user only (the trust argument in the module notes relies on nobody
/// else writing entries).
fn create_private_dir(directory: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(directory)
}

/// Writes the artifact `bytes` to `path` through a temporary file and a rename.
fn store(directory: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);
    create_private_dir(directory)?;
    let temporary = directory.join(format!(
        "{TEMPORARY_PREFIX}{}-{}",
        std::process::id(),
        NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed)
    ));
    // No fsync: an entry cut short by a power loss fails the checksum and is
    // recompiled, which is cheaper than syncing every entry.
    let written = std::fs::File::create_new(&temporary).and_then(|mut file| file.write_all(bytes));
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    Ok(renamed?)
}

//! What kind of file `tern run` and `tern compile` were given, decided once
//! from its bytes: a wasm binary (module or component), WebAssembly text, a
//! Tern precompiled artifact (module or component), or something else, which
//! is refused with a message saying what the file is instead.
//!
//! The order of the tests matters: `\0asm` and ELF have fixed magic numbers,
//! and only what is neither is tried as text, so that random bytes are
//! reported as "not a WebAssembly module or text" rather than as a text
//! decoding error.

use anyhow::{bail, Context as _, Result};
use std::path::Path;
use tern::{Engine, Precompiled};

/// The kinds of input the CLI accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A core module, binary or text.
    Module,
    /// A component, binary or text.
    Component,
    /// A Tern precompiled artifact holding a module.
    ModuleArtifact,
    /// A Tern precompiled artifact holding a component.
    ComponentArtifact,
}

impl Kind {
    /// Whether the file is a precompiled artifact.
    pub fn is_artifact(self) -> bool {
        matches!(self, Kind::ModuleArtifact | Kind::ComponentArtifact)
    }

    /// Whether the file holds a component.
    pub fn is_component(self) -> bool {
        matches!(self, Kind::Component | Kind::ComponentArtifact)
    }
}

/// Reads `path` and decides its [`Kind`]. `engine` recognises artifacts; any
/// engine does (the header is checked, not the compatibility).
///
/// # Errors
/// Fails when the file cannot be read, or when it is none of the kinds: an ELF
/// file without Tern's header (the message says which sort of ELF file it
/// is), or bytes that are neither a wasm binary nor UTF-8 text.
pub fn classify(engine: &Engine, path: &Path) -> Result<Kind> {
    let bytes =
        std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
    classify_bytes(engine, &bytes, path)
}

/// [`classify`] for the bytes already read from `path` (named in errors).
///
/// # Errors
/// As [`classify`].
pub fn classify_bytes(engine: &Engine, bytes: &[u8], path: &Path) -> Result<Kind> {
    if bytes.starts_with(b"\0asm") {
        // The version field's upper half is the layer: 0 for a module, 1 for a component.
        return Ok(if bytes.get(6..8) == Some(&[0x01, 0x00]) {
            Kind::Component
        } else {
            Kind::Module
        });
    }
    if bytes.starts_with(b"\x7fELF") {
        return match engine.detect_precompiled(bytes) {
            Some(Precompiled::Module) => Ok(Kind::ModuleArtifact),
            Some(Precompiled::Component) => Ok(Kind::ComponentArtifact),
            None => bail!(
                "`{}` is {}, not a Tern precompiled artifact (it has no intact Tern header)",
                path.display(),
                elf_description(bytes)
            ),
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if starts_with_component(text) => Ok(Kind::Component),
        Ok(_) => Ok(Kind::Module),
        Err(_) => bail!(
            "`{}` is not a WebAssembly module or text: it does not start with the wasm \
             magic number `\\0asm` and is not UTF-8 text",
            path.display()
        ),
    }
}

/// Whether WebAssembly text starts (after `;;` comments) with `(component`.
fn starts_with_component(text: &str) -> bool {
    let mut rest = text.trim_start();
    while let Some(comment) = rest.strip_prefix(";;") {
        rest = comment.split_once('\n').map_or("", |(_, r)| r).trim_start();
    }
    rest.starts_with("(component")
}

/// What sort of ELF file `bytes` is, from its `e_type` field.
fn elf_description(bytes: &[u8]) -> &'static str {
    // e_ident[EI_DATA] (byte 5) gives the byte order of e_type (bytes 16..18).
    let e_type = match (bytes.get(5), bytes.get(16..18)) {
        (Some(1), Some(t)) => u16::from_le_bytes([t[0], t[1]]),
        (Some(2), Some(t)) => u16::from_be_bytes([t[0], t[1]]),
        _ => return "a malformed ELF file",
    };
    match e_type {
        1 => "an ELF relocatable object file",
        2 => "an ELF executable",
        3 => "an ELF shared object (a library or position-independent executable)",
        4 => "an ELF core dump",
        _ => "an ELF file of unknown type",
    }
}

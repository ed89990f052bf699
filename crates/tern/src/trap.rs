//! [`Trap`], the reason a wasm computation stopped, and [`WasmBacktrace`], the wasm
//! frames that were on the stack when it did.
//!
//! As in wasmtime, a trap reaches the embedder as an `anyhow::Error` whose root
//! cause is a `Trap` (`err.downcast_ref::<Trap>()`), with the backtrace attached
//! as context. A host function's own error keeps its type the same way.

use crate::vm::{registry, Unwind};
use std::fmt;

/// Why wasm code trapped: the trap codes compiled code raises.
pub use tern_environ::TrapKind as Trap;

/// One wasm frame of a backtrace.
#[derive(Debug, Clone)]
pub struct FrameInfo {
    module_name: Option<String>,
    func_index: u32,
    func_name: Option<String>,
    module_offset: Option<usize>,
    func_offset: Option<usize>,
}

impl FrameInfo {
    /// The module's name, from its name section.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }
    /// The function's index in its module.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }
    /// The function's name, from the name section.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }
    /// Byte offset, in the module's binary, of the instruction this frame was
    /// executing (the call, for an outer frame); `None` when unknown.
    pub fn module_offset(&self) -> Option<usize> {
        self.module_offset
    }
    /// [`FrameInfo::module_offset`] relative to the start of the function's
    /// body in the binary.
    pub fn func_offset(&self) -> Option<usize> {
        self.func_offset
    }
}

/// The wasm frames on the stack when a trap or host error happened, innermost first.
#[derive(Debug, Clone, Default)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    fn from_pcs(pcs: &[usize]) -> Self {
        let frames = pcs
            .iter()
            .enumerate()
            .filter_map(|(i, pc)| {
                // Return addresses point after the call; look up the call itself.
                let pc = if i == 0 { *pc } else { pc - 1 };
                let (info, offset) = registry::lookup(pc)?;
                let func_index = info.func_at(offset)?;
                let offsets = info.wasm_offsets_at(offset);
                Some(FrameInfo {
                    module_name: info.module_name.clone(),
                    func_index,
                    func_name: info.func_name(func_index).map(str::to_string),
                    module_offset: offsets.map(|(at, _)| at as usize),
                    func_offset: offsets
                        .and_then(|(at, body)| at.checked_sub(body))
                        .map(|o| o as usize),
                })
            })
            .collect();
        Self { frames }
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error while executing at wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            let module = frame.module_name.as_deref().unwrap_or("<unknown>");
            // wasmtime's layout: index, module offset, module!function.
            write!(f, "  {i:>3}: ")?;
            if let Some(offset) = frame.module_offset {
                write!(f, "{offset:#6x} - ")?;
            }
            match &frame.func_name {
                // `{:#}` drops the hash suffix of Rust symbols.
                Some(name) => write!(f, "{module}!{:#}", rustc_demangle::demangle(name))?,
                None => write!(f, "{module}!<wasm function {}>", frame.func_index)?,
            }
            if i + 1 < self.frames.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// Turns how wasm unwound into the error `Func::call` returns (or resumes a panic).
pub(crate) fn unwind_to_error(unwind: Unwind) -> anyhow::Error {
    match unwind {
        Unwind::Trap { kind, pcs } => {
            anyhow::Error::new(kind).context(WasmBacktrace::from_pcs(&pcs))
        }
        Unwind::Error { error, pcs } => {
            if pcs.is_empty() || error.downcast_ref::<WasmBacktrace>().is_some() {
                error
            } else {
                error.context(WasmBacktrace::from_pcs(&pcs))
            }
        }
        Unwind::Panic(payload) => std::panic::resume_unwind(payload),
    }
}

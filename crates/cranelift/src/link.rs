//! Lays compiled functions out in one text section and resolves the direct calls
//! between them, producing a relocation-free [`CodeImage`].

use crate::compiler::{CompiledFunction, RelocTarget};
use anyhow::{bail, Result};
use cranelift_codegen::binemit::Reloc;
use tern_environ::{AddressMap, TrapKind};

/// Where one function lives in the text section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncLoc {
    /// Offset of the first instruction.
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

/// Position-independent machine code for a whole module, ready to be mapped.
#[derive(Debug, Clone, Default)]
pub struct CodeImage {
    /// The text section.
    pub text: Vec<u8>,
    /// Location of each defined function, by defined-function index.
    pub funcs: Vec<FuncLoc>,
    /// Trap sites sorted by text offset.
    pub traps: Vec<(u32, TrapKind)>,
    /// Text offsets back to wasm offsets, for backtraces.
    pub address_map: AddressMap,
}

const FUNC_ALIGN: usize = 16;

/// Concatenates `funcs` (indexed by defined-function index; wasm function index =
/// `num_imported_funcs` + position) and patches every call between them.
///
/// # Errors
/// Fails on a relocation kind Tern does not know how to apply, or a call to an
/// imported function (those must go through the vmctx, never a direct call).
pub fn link(funcs: &[CompiledFunction], num_imported_funcs: u32) -> Result<CodeImage> {
    let mut image = CodeImage::default();
    for f in funcs {
        while image.text.len() % FUNC_ALIGN != 0 {
            image.text.push(0);
        }
        let start = image.text.len() as u32;
        image.text.extend_from_slice(&f.code);
        image.funcs.push(FuncLoc {
            start,
            len: f.code.len() as u32,
        });
        image
            .traps
            .extend(f.traps.iter().map(|(off, kind)| (start + off, *kind)));
        image.address_map.func_starts.push(f.wasm_start);
        image
            .address_map
            .sites
            .extend(f.srclocs.iter().map(|(off, wasm)| (start + off, *wasm)));
    }
    for (f, loc) in funcs.iter().zip(image.funcs.clone()) {
        for r in &f.relocs {
            let RelocTarget::Func(callee) = r.target;
            let Some(defined) = callee.checked_sub(num_imported_funcs) else {
                bail!("direct call to imported function {callee}");
            };
            let target = image.funcs[defined as usize].start as i64;
            let at = (loc.start + r.offset) as usize;
            match r.kind {
                Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
                    let delta = target + r.addend - at as i64;
                    let delta = i32::try_from(delta)?;
                    image.text[at..at + 4].copy_from_slice(&delta.to_le_bytes());
                }
                Reloc::Arm64Call => {
                    let delta = (target + r.addend - at as i64) >> 2;
                    let mut insn = u32::from_le_bytes(image.text[at..at + 4].try_into()?);
                    insn = (insn & !0x03ff_ffff) | (delta as u32 & 0x03ff_ffff);
                    image.text[at..at + 4].copy_from_slice(&insn.to_le_bytes());
                }
                other => bail!("unsupported relocation kind {other:?}"),
            }
        }
    }
    image.traps.sort_by_key(|(off, _)| *off);
    Ok(image)
}

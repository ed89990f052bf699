//! Lays compiled functions, then the module's trampolines, out in one text
//! section and resolves the direct calls between functions, producing a
//! relocation-free [`CodeImage`].

use crate::compiler::{CompiledFunction, RelocTarget};
use anyhow::{bail, Result};
use cranelift_codegen::binemit::Reloc;
use tern_environ::{AddressMap, ExceptionHandlers, StackMaps, TrapKind};

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
    /// Location of each trampoline, in the order they were given to [`link`].
    pub trampolines: Vec<FuncLoc>,
    /// Trap sites sorted by text offset.
    pub traps: Vec<(u32, TrapKind)>,
    /// Text offsets back to wasm offsets, for backtraces.
    pub address_map: AddressMap,
    /// Where each call with live GC references keeps them.
    pub stack_maps: StackMaps,
    /// Where calls inside a `try_table` resume when an exception reaches them.
    pub handlers: ExceptionHandlers,
}

/// Appends `f` to `image`'s text, at its alignment, and records its trap sites.
fn place(image: &mut CodeImage, f: &CompiledFunction) -> Result<FuncLoc> {
    let align = (f.alignment as usize).max(1);
    while !image.text.len().is_multiple_of(align) {
        image.text.push(0);
    }
    let start = u32::try_from(image.text.len())?;
    image.text.extend_from_slice(&f.code);
    image
        .traps
        .extend(f.traps.iter().map(|(off, kind)| (start + off, *kind)));
    Ok(FuncLoc {
        start,
        len: u32::try_from(f.code.len())?,
    })
}

/// Concatenates `funcs` (indexed by defined-function index; wasm function index =
/// `num_imported_funcs` + position), then `trampolines`, and patches every call
/// between the functions.
///
/// # Errors
/// Fails on a relocation kind Tern does not know how to apply, a call to an
/// imported function (those must go through the vmctx, never a direct call), a
/// trampoline with relocations, or a text section over 4 GiB.
pub fn link(
    funcs: &[CompiledFunction],
    trampolines: &[CompiledFunction],
    num_imported_funcs: u32,
) -> Result<CodeImage> {
    let mut image = CodeImage::default();
    for f in funcs {
        let loc = place(&mut image, f)?;
        image.funcs.push(loc);
        image.address_map.func_starts.push(f.wasm_start);
        image
            .address_map
            .sites
            .extend(f.srclocs.iter().map(|(off, wasm)| (loc.start + off, *wasm)));
        // Functions are placed in order, so their sorted maps stay sorted.
        for (ret, frame_size, slots) in &f.stack_maps {
            image.stack_maps.push(loc.start + ret, *frame_size, slots);
        }
        for (ret, frame_offset, handler) in &f.handlers {
            image
                .handlers
                .push(loc.start + ret, *frame_offset, loc.start + handler);
        }
    }
    for t in trampolines {
        if t.has_relocations() {
            bail!("a trampoline has relocations");
        }
        let loc = place(&mut image, t)?;
        image.trampolines.push(loc);
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
                    // `bl` holds a signed 26-bit count of instructions:
                    // ±128 MiB around the call.
                    let bytes = target + r.addend - at as i64;
                    if bytes % 4 != 0 || !(-(1 << 27)..1 << 27).contains(&bytes) {
                        bail!(
                            "a call from text offset {at:#x} cannot reach {bytes:+#x} bytes away"
                        );
                    }
                    let delta = bytes >> 2;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A function of `code` whose first instruction is an AArch64 `bl` to
    /// defined function `callee` with `addend`.
    fn caller(code: Vec<u8>, callee: u32, addend: i64) -> CompiledFunction {
        CompiledFunction {
            code,
            alignment: 64,
            relocs: vec![crate::compiler::Reloc {
                offset: 0,
                kind: Reloc::Arm64Call,
                target: RelocTarget::Func(callee),
                addend,
            }],
            traps: Vec::new(),
            srclocs: Vec::new(),
            wasm_start: 0,
            stack_maps: Vec::new(),
            handlers: Vec::new(),
        }
    }

    fn leaf() -> CompiledFunction {
        CompiledFunction {
            relocs: Vec::new(),
            ..caller(vec![0xc0, 0x03, 0x5f, 0xd6], 0, 0) // ret
        }
    }

    const BL: [u8; 4] = 0x9400_0000u32.to_le_bytes();

    #[test]
    fn arm64_calls_encode_the_instruction_distance() {
        let image = link(&[caller(BL.to_vec(), 1, 0), leaf()], &[], 0).unwrap();
        assert_eq!(image.funcs[1].start, 64);
        // 64 bytes ahead: 16 instructions.
        assert_eq!(image.text[..4], (0x9400_0000u32 | 16).to_le_bytes());
        // Backwards: the caller at 64 calls the function at 0, -16
        // instructions in two's complement.
        let image = link(&[leaf(), caller(BL.to_vec(), 0, 0)], &[], 0).unwrap();
        assert_eq!(
            image.text[64..68],
            (0x9400_0000u32 | 0x03ff_fff0).to_le_bytes()
        );
    }

    #[test]
    fn arm64_calls_out_of_reach_are_an_error() {
        let far = 1 << 27;
        let err = link(&[caller(BL.to_vec(), 1, far), leaf()], &[], 0).unwrap_err();
        assert!(err.to_string().contains("cannot reach"), "{err}");
        // The farthest reachable distance backwards still links.
        let image = link(&[caller(BL.to_vec(), 0, -far), leaf()], &[], 0).unwrap();
        assert_eq!(
            image.text[..4],
            (0x9400_0000u32 | 0x0200_0000).to_le_bytes()
        );
    }
}

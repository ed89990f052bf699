//! [`AddressMap`]: from a machine-code offset in a module's text section back
//! to the wasm instruction it was compiled from, as a byte offset in the
//! module's binary. Backtraces print these offsets (`0x1a2b - name`), as
//! wasmtime's do, so a frame can be found with `wasm-tools objdump` or a
//! disassembler.
//!
//! The code generator records one entry where each wasm instruction's code
//! starts, and [`AddressMap::NO_INSTRUCTION`] where code of no instruction
//! starts; such code (a function's prologue, where the stack-limit check
//! lives, and what follows it) maps to the function body's start.

use serde::{Deserialize, Serialize};

/// Machine-code offsets to wasm binary offsets, for a whole text section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressMap {
    /// Wasm offset of each defined function's body (its size field's end,
    /// where the local declarations start), by defined-function index.
    pub func_starts: Vec<u32>,
    /// (text offset, wasm offset) where each instruction's code starts,
    /// sorted by text offset.
    pub sites: Vec<(u32, u32)>,
}

impl AddressMap {
    /// The wasm offset recorded for code that belongs to no instruction.
    pub const NO_INSTRUCTION: u32 = u32::MAX;

    /// The wasm offset of the instruction whose code contains `text_offset`,
    /// which lies in defined function `defined_index` starting at text offset
    /// `func_text_start`. Code before the function's first recorded
    /// instruction maps to the body's start.
    pub fn wasm_offset(
        &self,
        defined_index: u32,
        func_text_start: u32,
        text_offset: u32,
    ) -> Option<u32> {
        let body = *self.func_starts.get(defined_index as usize)?;
        let i = self.sites.partition_point(|(at, _)| *at <= text_offset);
        match i.checked_sub(1).map(|i| self.sites[i]) {
            Some((at, wasm)) if at >= func_text_start && wasm != Self::NO_INSTRUCTION => Some(wasm),
            _ => Some(body),
        }
    }

    /// Whether the map is well formed for `funcs` defined functions in
    /// `code_len` bytes of code: a start per function, sites sorted and
    /// inside the code.
    /// The empty map (`Config::generate_address_map(false)`) is valid too.
    pub fn is_valid(&self, funcs: usize, code_len: u64) -> bool {
        if self.func_starts.is_empty() && self.sites.is_empty() {
            return true;
        }
        self.func_starts.len() == funcs
            && self.sites.is_sorted_by_key(|(at, _)| *at)
            && self
                .sites
                .last()
                .is_none_or(|(at, _)| u64::from(*at) < code_len.max(1))
    }
}

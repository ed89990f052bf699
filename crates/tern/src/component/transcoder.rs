//! The runtime function a compiled adapter calls to move a string between
//! two encodings (`tern.transcode`): one per adapter instance and
//! direction, knowing both memories, the receiver's `realloc` and both
//! encodings. It reads the sender's bytes in place and writes the
//! receiver's straight into its memory with the canonical ABI's
//! `store_string` (`abi/transcode.rs`, shared with the host path), so no
//! host copy of the string is made (except when both sides share one
//! memory, where the sender's bytes are snapshotted first, as the spec
//! lifts the whole string before it stores any of it).
//!
//! Why a host function rather than wasm code: the nine pairs' `realloc`
//! sequences, in-place inflation/deflation and decoding are a few hundred
//! lines of Rust that the host path needs anyway; generated wasm would be a
//! second implementation of the same rules to keep in step. The cost is one
//! host call per transcoded string (a plain copy between two memories of one
//! encoding stays wasm `memory.copy`).

use super::abi::transcode::{store_string, validate, Hint, Target};
use super::abi::{check_range, checked_realloc, Content, Mode};
use super::host::StoreGuest;
use crate::func::HostFn;
use crate::store::StoreInner;
use crate::{Caller, ValRaw};
use anyhow::{bail, Result};
use std::sync::Arc;
use tern_environ::component::StringEncoding;
use tern_environ::{WasmFuncType, WasmValType};

/// The side a string comes from.
#[derive(Clone, Copy)]
pub(crate) struct From {
    /// Its memory.
    pub(crate) memory: crate::Memory,
    /// Its string-encoding option.
    pub(crate) encoding: StringEncoding,
}

/// The side a string goes to.
#[derive(Clone, Copy)]
pub(crate) struct To {
    /// Its memory.
    pub(crate) memory: crate::Memory,
    /// Its `realloc`.
    pub(crate) realloc: crate::Func,
    /// Its string-encoding option.
    pub(crate) encoding: StringEncoding,
    /// The component instance and runtime instance `realloc` belongs to
    /// (whose `may_leave` is clear while it runs).
    pub(crate) owner: (usize, u32),
}

/// The core type of `tern.transcode`: `(ptr, tagged_len) -> i64`, the new
/// `ptr` in the low half and the new tagged length in the high half.
pub(crate) fn func_type() -> WasmFuncType {
    WasmFuncType {
        params: Box::new([WasmValType::I32; 2]),
        results: Box::new([WasmValType::I64]),
    }
}

/// Makes the `tern.transcode` function moving strings `from` → `to`.
pub(crate) fn transcode_func<T>(store: &mut StoreInner<T>, from: From, to: To) -> crate::Func {
    let f: Arc<HostFn<T>> = Arc::new(move |caller: Caller<'_, T>, raw: &mut [ValRaw]| {
        let (ptr, len) = (raw[0].get_i32() as u32, raw[1].get_i32() as u32);
        let (new_ptr, new_len) = transcode(caller.store, from, to, ptr, len)?;
        raw[0] = ValRaw::i64((u64::from(new_len) << 32 | u64::from(new_ptr)) as i64);
        Ok(())
    });
    crate::Func::from_host_arc(store, func_type(), f)
}

/// Moves the string `(ptr, tagged_len)` of `from`'s memory into `to`'s.
///
/// # Errors
/// The canonical ABI's traps: the string's range and encoding (already
/// checked by the adapter; checked again here with the same errors), its
/// length for the receiver, `realloc`'s results.
pub(crate) fn transcode<T>(
    store: &mut StoreInner<T>,
    from: From,
    to: To,
    ptr: u32,
    tagged_len: u32,
) -> Result<(u32, u32)> {
    let hint = Hint::lifted(from.encoding, tagged_len);
    let unit = if hint.simple == super::abi::transcode::Simple::Utf16 {
        2
    } else {
        1
    };
    let align = if from.encoding == StringEncoding::Utf8 {
        1
    } else {
        2
    };
    let byte_len = hint.units * unit;
    let src_memory = store.opaque.memories[from.memory.0.index].data();
    let offset = check_range(
        Mode::Adapter,
        src_memory.len(),
        ptr,
        byte_len,
        align,
        Content::String,
    )?;
    let range = offset..offset + byte_len as usize;
    validate(&src_memory[range.clone()], hint.simple)?;
    let snapshot =
        (from.memory.0.index == to.memory.0.index).then(|| src_memory[range.clone()].to_vec());
    let mut target = Between {
        guest: StoreGuest {
            store,
            memory: Some(to.memory),
            realloc: Some(to.realloc),
            owner: to.owner,
        },
        src: from.memory.0.index,
        range,
        snapshot,
    };
    store_string(&mut target, hint.simple, hint, to.encoding)
}

/// A [`Target`] whose source is a range of another memory of the store.
struct Between<'a, T> {
    guest: StoreGuest<'a, T>,
    /// The source memory's index in the store.
    src: usize,
    range: std::ops::Range<usize>,
    /// The source bytes, when the source memory is the receiver's.
    snapshot: Option<Vec<u8>>,
}

impl<T> Target for Between<'_, T> {
    fn split(&mut self) -> Result<(&[u8], &mut [u8])> {
        let Some(dst) = self.guest.memory.map(|m| m.0.index) else {
            bail!("a transcoding target without a memory (a Tern bug)");
        };
        let memories = &mut self.guest.store.opaque.memories;
        if let Some(bytes) = &self.snapshot {
            return Ok((bytes, memories[dst].data_mut()));
        }
        let Ok([src, dst]) = memories.get_disjoint_mut([self.src, dst]) else {
            bail!("a transcoding source memory is missing (a Tern bug)");
        };
        match src.data().get(self.range.clone()) {
            Some(bytes) => Ok((bytes, dst.data_mut())),
            None => bail!("a transcoding source moved out of its memory (a Tern bug)"),
        }
    }

    fn realloc(&mut self, old: u32, old_size: u64, align: u32, size: u64) -> Result<u32> {
        checked_realloc(
            &mut self.guest,
            Mode::Adapter,
            (old, old_size),
            align,
            size,
            Content::String,
        )
    }
}

//! Strings across the boundary in the canonical ABI's three encodings:
//! UTF-8, UTF-16 (little endian, lengths in code units) and latin1+utf16
//! (Latin-1 when every character fits, else UTF-16 with the length's top bit
//! set). Lifting checks alignment (2 for the UTF-16 encodings, even for an
//! empty string), bounds (even for an empty string, and before any host
//! allocation, so a huge length traps at once) and the encoding, decoding
//! straight from the guest's memory into the result; lowering runs the
//! canonical ABI's `store_string` (`transcode.rs`) with the producer's hint,
//! including, in a fused call, whether a latin1+utf16 string was tagged
//! UTF-16 ([`StringTags`]).

pub(crate) use super::transcode::too_long;
use super::transcode::{
    invalid_utf16, invalid_utf8, store_string, utf16_units, Hint, Simple, Target, UTF16_TAG,
};
use super::{Content, LiftContext, LowerContext};
use anyhow::Result;
use std::cell::RefCell;
use std::collections::VecDeque;
use tern_environ::component::StringEncoding;

/// Where a string lies in memory and how it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StringRange {
    pub(crate) offset: usize,
    pub(crate) byte_len: usize,
    pub(crate) utf16: bool,
    /// Latin-1 bytes (latin1+utf16 without the tag).
    pub(crate) latin1: bool,
}

/// Checks a lifted `(ptr, len)` string and returns where its bytes are.
pub(crate) fn check_string(cx: &LiftContext<'_>, ptr: u32, len: u32) -> Result<StringRange> {
    let (align, byte_len, utf16, latin1) = match cx.encoding {
        StringEncoding::Utf8 => (1, u64::from(len), false, false),
        StringEncoding::Utf16 => (2, 2 * u64::from(len), true, false),
        StringEncoding::CompactUtf16 if len & UTF16_TAG != 0 => {
            (2, 2 * u64::from(len ^ UTF16_TAG), true, false)
        }
        StringEncoding::CompactUtf16 => (2, u64::from(len), false, true),
    };
    let offset = cx.check(ptr, byte_len, align, Content::String)?;
    Ok(StringRange {
        offset,
        byte_len: byte_len as usize,
        utf16,
        latin1,
    })
}

/// Decodes the string at `range`.
pub(crate) fn decode(cx: &LiftContext<'_>, range: StringRange) -> Result<String> {
    let bytes = cx.bytes(range.offset, range.byte_len)?;
    decode_bytes(bytes, range)
}

/// Decodes string bytes laid out as `range` says, straight into the result
/// (the one copy the host's `String` needs, allocated at its final size).
pub(crate) fn decode_bytes(bytes: &[u8], range: StringRange) -> Result<String> {
    if range.utf16 {
        let mut out = String::new();
        reserve(&mut out, range.byte_len / 2)?;
        for c in char::decode_utf16(utf16_units(bytes)) {
            match c {
                Ok(c) => out.push(c),
                Err(e) => return invalid_utf16(e.unpaired_surrogate()),
            }
        }
        Ok(out)
    } else if range.latin1 {
        let mut out = String::new();
        reserve(
            &mut out,
            bytes.len() + bytes.iter().filter(|b| **b >= 0x80).count(),
        )?;
        out.extend(bytes.iter().map(|b| char::from(*b)));
        Ok(out)
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                let mut out = String::new();
                reserve(&mut out, s.len())?;
                out.push_str(s);
                Ok(out)
            }
            Err(e) => invalid_utf8(e),
        }
    }
}

/// Reserves `n` bytes for a lifted string, failing (not aborting) when the
/// host cannot allocate them.
fn reserve(out: &mut String, n: usize) -> Result<()> {
    out.try_reserve_exact(n).map_err(|_| {
        anyhow::anyhow!("cannot allocate {n} bytes of host memory for a lifted string")
    })
}

/// Lifts the string `(ptr, len)`.
pub(crate) fn lift_string(cx: &LiftContext<'_>, ptr: u32, len: u32) -> Result<String> {
    let range = check_string(cx, ptr, len)?;
    let s = decode(cx, range)?;
    if let (Some(tags), StringEncoding::CompactUtf16) = (cx.tags, cx.encoding) {
        tags.0.borrow_mut().push_back(range.utf16);
    }
    Ok(s)
}

/// Which latin1+utf16 strings lifted for a fused call were UTF-16, in the
/// order they were lifted (the order they are lowered in again), so that
/// lowering picks the canonical ABI's strategy from the producer's actual
/// choice, as the spec's `(string, encoding, tagged_code_units)` value does
/// (a producer may tag a string UTF-16 even when Latin-1 would fit).
#[derive(Debug, Default)]
pub(crate) struct StringTags(RefCell<VecDeque<bool>>);

/// A lowering target whose source is a Rust string.
struct StrTarget<'c, 'a> {
    cx: &'c mut LowerContext<'a>,
    src: &'c [u8],
}

impl Target for StrTarget<'_, '_> {
    fn split(&mut self) -> Result<(&[u8], &mut [u8])> {
        Ok((self.src, self.cx.guest.memory()))
    }

    fn realloc(&mut self, old: u32, old_size: u64, align: u32, size: u64) -> Result<u32> {
        self.cx.realloc(old, old_size, align, size, Content::String)
    }
}

/// Lowers `s`, which came from a side using `cx.src_encoding`, into the
/// receiver's memory and returns `(ptr, len)`, with the canonical ABI's
/// `store_string` (`transcode.rs`).
pub(crate) fn lower_string(cx: &mut LowerContext<'_>, s: &str) -> Result<(u32, u32)> {
    let tag = match (cx.tags, cx.src_encoding) {
        (Some(tags), StringEncoding::CompactUtf16) => tags.0.borrow_mut().pop_front(),
        _ => None,
    };
    let hint = Hint::of_str(cx.src_encoding, s, tag);
    let dst = cx.encoding;
    let mut target = StrTarget {
        cx,
        src: s.as_bytes(),
    };
    store_string(&mut target, Simple::Utf8, hint, dst)
}

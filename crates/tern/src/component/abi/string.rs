//! Strings across the boundary in the canonical ABI's three encodings:
//! UTF-8, UTF-16 (little endian, lengths in code units) and latin1+utf16
//! (Latin-1 when every character fits, else UTF-16 with the length's top bit
//! set). Lifting checks alignment (2 for the UTF-16 encodings, even for an
//! empty string), bounds (even for an empty string) and the encoding; lowering
//! allocates exactly the bytes needed through the receiver's `realloc`
//! (always called, even for an empty string) and checks what it returns.

use super::{trap, Content, LiftContext, LowerContext};
use crate::component::ComponentTrapKind;
use anyhow::Result;
use tern_environ::component::StringEncoding;

/// The tag bit of a latin1+utf16 length that says "UTF-16".
const UTF16_TAG: u32 = 1 << 31;
/// The longest string the ABI allows, in bytes.
const MAX_STRING_BYTE_LENGTH: u64 = (1 << 31) - 1;

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

/// Decodes string bytes laid out as `range` says.
pub(crate) fn decode_bytes(bytes: &[u8], range: StringRange) -> Result<String> {
    if range.utf16 {
        let units = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        let mut out = String::with_capacity(range.byte_len / 2);
        for c in char::decode_utf16(units) {
            match c {
                Ok(c) => out.push(c),
                Err(e) => {
                    return trap(
                        ComponentTrapKind::InvalidString,
                        format!(
                            "invalid utf-16: unpaired surrogate {:#x}",
                            e.unpaired_surrogate()
                        ),
                    )
                }
            }
        }
        Ok(out)
    } else if range.latin1 {
        Ok(bytes.iter().map(|b| char::from(*b)).collect())
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => trap(ComponentTrapKind::InvalidString, e.to_string()),
        }
    }
}

/// Lifts the string `(ptr, len)`.
pub(crate) fn lift_string(cx: &LiftContext<'_>, ptr: u32, len: u32) -> Result<String> {
    let range = check_string(cx, ptr, len)?;
    decode(cx, range)
}

fn too_long<T>(bytes: u64) -> Result<T> {
    trap(
        ComponentTrapKind::LengthOverflow,
        format!("string of {bytes} bytes is longer than the canonical ABI allows"),
    )
}

/// Lowers `s` into the receiver's memory and returns `(ptr, len)`.
pub(crate) fn lower_string(cx: &mut LowerContext<'_>, s: &str) -> Result<(u32, u32)> {
    match cx.encoding {
        StringEncoding::Utf8 => {
            let n = s.len() as u64;
            if n > MAX_STRING_BYTE_LENGTH {
                return too_long(n);
            }
            let ptr = cx.alloc(1, n, Content::String)?;
            cx.write(ptr as usize, s.as_bytes())?;
            Ok((ptr, n as u32))
        }
        StringEncoding::Utf16 => {
            let (ptr, units) = store_utf16(cx, s)?;
            Ok((ptr, units))
        }
        StringEncoding::CompactUtf16 => {
            if s.chars().all(|c| u32::from(c) <= 0xff) {
                let bytes: Vec<u8> = s.chars().map(|c| u32::from(c) as u8).collect();
                let n = bytes.len() as u64;
                if n > MAX_STRING_BYTE_LENGTH {
                    return too_long(n);
                }
                let ptr = cx.alloc(2, n, Content::String)?;
                cx.write(ptr as usize, &bytes)?;
                Ok((ptr, n as u32))
            } else {
                let (ptr, units) = store_utf16(cx, s)?;
                Ok((ptr, units | UTF16_TAG))
            }
        }
    }
}

fn store_utf16(cx: &mut LowerContext<'_>, s: &str) -> Result<(u32, u32)> {
    let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let n = bytes.len() as u64;
    if n > MAX_STRING_BYTE_LENGTH {
        return too_long(n);
    }
    let ptr = cx.alloc(2, n, Content::String)?;
    cx.write(ptr as usize, &bytes)?;
    Ok((ptr, (n / 2) as u32))
}

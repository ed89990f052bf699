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

pub(crate) fn too_long<T>(bytes: u64) -> Result<T> {
    trap(
        ComponentTrapKind::LengthOverflow,
        format!("string of {bytes} bytes is longer than the canonical ABI allows"),
    )
}

/// The encoding `s` had on the side it came from, reduced to one of three
/// simple encodings, and its length in that encoding's code units.
fn source_units(encoding: StringEncoding, s: &str) -> (Simple, u64) {
    match encoding {
        StringEncoding::Utf8 => (Simple::Utf8, s.len() as u64),
        StringEncoding::Utf16 => (Simple::Utf16, s.encode_utf16().count() as u64),
        // The tag the producer chose is not kept with the lifted string: a
        // string with a character past U+00FF was UTF-16, any other is taken
        // to have been Latin-1 (the choice every producer makes for it).
        StringEncoding::CompactUtf16 if s.chars().any(|c| u32::from(c) > 0xff) => {
            (Simple::Utf16, s.encode_utf16().count() as u64)
        }
        StringEncoding::CompactUtf16 => (Simple::Latin1, s.chars().count() as u64),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Simple {
    Utf8,
    Utf16,
    Latin1,
}

/// How many bytes a transcoded string is written in at a time, so the host
/// never holds a second full copy of a large string.
const CHUNK: usize = 64 * 1024;

/// Writes `s` as UTF-16 at `offset`, a chunk at a time; returns the bytes written.
fn write_utf16(cx: &mut LowerContext<'_>, offset: usize, s: &str) -> Result<u64> {
    let mut buf = Vec::with_capacity(CHUNK.min(2 * s.len()));
    let mut at = offset;
    for unit in s.encode_utf16() {
        buf.extend_from_slice(&unit.to_le_bytes());
        if buf.len() >= CHUNK {
            cx.write(at, &buf)?;
            at += buf.len();
            buf.clear();
        }
    }
    cx.write(at, &buf)?;
    Ok((at + buf.len() - offset) as u64)
}

/// Writes `s`, whose characters all fit in Latin-1, as Latin-1 at `offset`,
/// a chunk at a time; returns the bytes written.
fn write_latin1(cx: &mut LowerContext<'_>, offset: usize, s: &str) -> Result<u64> {
    let mut buf = Vec::with_capacity(CHUNK.min(s.len()));
    let mut at = offset;
    for c in s.chars() {
        buf.push(u32::from(c) as u8);
        if buf.len() >= CHUNK {
            cx.write(at, &buf)?;
            at += buf.len();
            buf.clear();
        }
    }
    cx.write(at, &buf)?;
    Ok((at + buf.len() - offset) as u64)
}

fn is_latin1(s: &str) -> bool {
    s.chars().all(|c| u32::from(c) <= 0xff)
}

fn check_len(n: u64) -> Result<()> {
    if n > MAX_STRING_BYTE_LENGTH {
        return too_long(n);
    }
    Ok(())
}

/// Lowers `s`, which came from a side using `cx.src_encoding`, into the
/// receiver's memory and returns `(ptr, len)`. The `realloc` calls follow
/// the canonical ABI's `store_string` exactly (guests can observe them): an
/// exact allocation when the size is known, else an optimistic or
/// worst-case allocation followed by a growing or shrinking `realloc`.
pub(crate) fn lower_string(cx: &mut LowerContext<'_>, s: &str) -> Result<(u32, u32)> {
    let (src, units) = source_units(cx.src_encoding, s);
    match (cx.encoding, src) {
        (StringEncoding::Utf8, Simple::Utf8) => copy(cx, s.as_bytes(), 1, units),
        (StringEncoding::Utf8, Simple::Utf16) => to_utf8(cx, s, units, 3 * units),
        (StringEncoding::Utf8, Simple::Latin1) => to_utf8(cx, s, units, 2 * units),
        (StringEncoding::Utf16, Simple::Utf8) => utf8_to_utf16(cx, s, units),
        (StringEncoding::Utf16, _) => copy_with(cx, 2 * units, 2, units, write_utf16, s),
        (StringEncoding::CompactUtf16, Simple::Latin1) => {
            copy_with(cx, units, 2, units, write_latin1, s)
        }
        (StringEncoding::CompactUtf16, Simple::Utf16)
            if cx.src_encoding == StringEncoding::CompactUtf16 =>
        {
            probably_utf16_to_compact(cx, s, units)
        }
        (StringEncoding::CompactUtf16, _) => to_latin1_or_utf16(cx, s, units),
    }
}

/// `store_string_copy`: one exact allocation.
fn copy(cx: &mut LowerContext<'_>, bytes: &[u8], align: u32, units: u64) -> Result<(u32, u32)> {
    let n = bytes.len() as u64;
    check_len(n)?;
    let ptr = cx.alloc(align, n, Content::String)?;
    cx.write(ptr as usize, bytes)?;
    Ok((ptr, units as u32))
}

/// `store_string_copy` into an encoding `write` produces in `size` bytes.
fn copy_with(
    cx: &mut LowerContext<'_>,
    size: u64,
    align: u32,
    units: u64,
    write: fn(&mut LowerContext<'_>, usize, &str) -> Result<u64>,
    s: &str,
) -> Result<(u32, u32)> {
    check_len(size)?;
    let ptr = cx.alloc(align, size, Content::String)?;
    write(cx, ptr as usize, s)?;
    Ok((ptr, units as u32))
}

/// `store_string_to_utf8`: assume one byte per code unit, grow to the worst
/// case at the first character that needs more, shrink to fit at the end.
fn to_utf8(cx: &mut LowerContext<'_>, s: &str, units: u64, worst: u64) -> Result<(u32, u32)> {
    check_len(units)?;
    let mut ptr = cx.alloc(1, units, Content::String)?;
    let encoded = s.as_bytes();
    let n = encoded.len() as u64;
    let head = units.min(n) as usize;
    cx.write(ptr as usize, &encoded[..head])?;
    if units < n {
        check_len(worst)?;
        ptr = cx.realloc(ptr, units, 1, worst, Content::String)?;
        cx.write(ptr as usize + head, &encoded[head..])?;
        if worst > n {
            ptr = cx.realloc(ptr, worst, 1, n, Content::String)?;
        }
    }
    Ok((ptr, n as u32))
}

/// `store_utf8_to_utf16`: allocate the worst case, shrink to fit.
fn utf8_to_utf16(cx: &mut LowerContext<'_>, s: &str, units: u64) -> Result<(u32, u32)> {
    let worst = 2 * units;
    check_len(worst)?;
    let mut ptr = cx.alloc(2, worst, Content::String)?;
    let n = write_utf16(cx, ptr as usize, s)?;
    if n < worst {
        ptr = cx.realloc(ptr, worst, 2, n, Content::String)?;
    }
    Ok((ptr, (n / 2) as u32))
}

/// `store_string_to_latin1_or_utf16`: try Latin-1 in `units` bytes; at the
/// first character past U+00FF grow to UTF-16's worst case and inflate;
/// shrink to fit either way.
fn to_latin1_or_utf16(cx: &mut LowerContext<'_>, s: &str, units: u64) -> Result<(u32, u32)> {
    check_len(units)?;
    let mut ptr = cx.alloc(2, units, Content::String)?;
    if is_latin1(s) {
        let n = write_latin1(cx, ptr as usize, s)?;
        if n < units {
            ptr = cx.realloc(ptr, units, 2, n, Content::String)?;
        }
        return Ok((ptr, n as u32));
    }
    let worst = 2 * units;
    check_len(worst)?;
    ptr = cx.realloc(ptr, units, 2, worst, Content::String)?;
    let n = write_utf16(cx, ptr as usize, s)?;
    if worst > n {
        ptr = cx.realloc(ptr, worst, 2, n, Content::String)?;
    }
    Ok((ptr, (n / 2) as u32 | UTF16_TAG))
}

/// `store_probably_utf16_to_latin1_or_utf16`: allocate for UTF-16, deflate
/// to Latin-1 (and shrink) when every character fits.
fn probably_utf16_to_compact(cx: &mut LowerContext<'_>, s: &str, units: u64) -> Result<(u32, u32)> {
    let size = 2 * units;
    check_len(size)?;
    let mut ptr = cx.alloc(2, size, Content::String)?;
    let written = write_utf16(cx, ptr as usize, s)?;
    if !is_latin1(s) {
        return Ok((ptr, (written / 2) as u32 | UTF16_TAG));
    }
    let n = write_latin1(cx, ptr as usize, s)?;
    ptr = cx.realloc(ptr, size, 1, n, Content::String)?;
    Ok((ptr, n as u32))
}

//! The canonical ABI's `store_string`: writing a string into a receiver's
//! memory in the receiver's encoding, with exactly the `realloc` calls, the
//! writes between them and the traps the spec prescribes for each of the
//! nine (source encoding × destination encoding) pairs. A guest can observe
//! all of it: the sizes and alignments `realloc` is asked for, and what the
//! memory holds when `realloc` runs (a moving `realloc` copies the prefix
//! written so far, and the Latin-1 → UTF-16 inflation and the UTF-16 →
//! Latin-1 deflation happen in place in the receiver's memory, after the
//! `realloc` that made room for them).
//!
//! One implementation serves the host path (the source is a Rust `&str`,
//! lowered by `string.rs`) and compiled adapters (the source is a range of
//! the caller's memory, `adapters.rs`): both hand [`store_string`] a
//! [`Target`] that exposes the source bytes and the destination memory at
//! the same time, so code units go straight from one to the other — the
//! host never builds a second copy of the string. The source must have been
//! validated ([`validate`]) before the first `realloc`, as the spec lifts
//! (and traps on invalid strings) before it stores.

use super::super::{trap, ComponentTrapKind};
use anyhow::{bail, Result};
use tern_environ::component::StringEncoding;

/// The tag bit of a latin1+utf16 length that says "UTF-16".
pub(crate) const UTF16_TAG: u32 = 1 << 31;
/// The longest string the ABI allows, in bytes.
pub(crate) const MAX_STRING_BYTE_LENGTH: u64 = (1 << 31) - 1;

/// The three encodings bytes can be in (latin1+utf16 is one of the last two
/// for any one string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Simple {
    /// UTF-8.
    Utf8,
    /// UTF-16, little endian.
    Utf16,
    /// Latin-1 (one byte per code point, all below U+0100).
    Latin1,
}

impl Simple {
    /// The bytes one code unit takes.
    fn unit(self) -> usize {
        match self {
            Simple::Utf16 => 2,
            Simple::Utf8 | Simple::Latin1 => 1,
        }
    }
}

/// What the canonical ABI carries with a lifted string besides its code
/// points: the string-encoding option of the side it was lifted from and its
/// length in that side's code units (for latin1+utf16, which of the two it
/// used). `store_string` picks its allocation strategy from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hint {
    /// The producer's string-encoding option.
    pub(crate) encoding: StringEncoding,
    /// The encoding the producer's bytes were in.
    pub(crate) simple: Simple,
    /// The length in the producer's code units (without the UTF-16 tag).
    pub(crate) units: u64,
}

impl Hint {
    /// The hint of a string lifted as `(ptr, tagged_len)` by a side using
    /// `encoding`.
    pub(crate) fn lifted(encoding: StringEncoding, tagged_len: u32) -> Self {
        let (simple, units) = match encoding {
            StringEncoding::Utf8 => (Simple::Utf8, tagged_len),
            StringEncoding::Utf16 => (Simple::Utf16, tagged_len),
            StringEncoding::CompactUtf16 if tagged_len & UTF16_TAG != 0 => {
                (Simple::Utf16, tagged_len ^ UTF16_TAG)
            }
            StringEncoding::CompactUtf16 => (Simple::Latin1, tagged_len),
        };
        Hint {
            encoding,
            simple,
            units: u64::from(units),
        }
    }

    /// The hint of a string `s` from a side using `encoding`; for
    /// latin1+utf16, `utf16` says which of the two its producer used (`None`
    /// when unknown: then UTF-16 exactly when a code point needs it).
    pub(crate) fn of_str(encoding: StringEncoding, s: &str, utf16: Option<bool>) -> Self {
        let simple = match encoding {
            StringEncoding::Utf8 => Simple::Utf8,
            StringEncoding::Utf16 => Simple::Utf16,
            StringEncoding::CompactUtf16 => {
                if utf16.unwrap_or_else(|| !is_latin1_str(s)) {
                    Simple::Utf16
                } else {
                    Simple::Latin1
                }
            }
        };
        let units = match simple {
            Simple::Utf8 => s.len() as u64,
            Simple::Utf16 => s.encode_utf16().count() as u64,
            Simple::Latin1 => s.chars().count() as u64,
        };
        Hint {
            encoding,
            simple,
            units,
        }
    }
}

fn is_latin1_str(s: &str) -> bool {
    s.chars().all(|c| u32::from(c) < 0x100)
}

/// Where a string is stored: the source's bytes and the receiver's memory
/// and `realloc`.
pub(crate) trait Target {
    /// The source string's bytes (exactly the string, in the format given to
    /// [`store_string`]) and the receiver's whole memory, at once.
    ///
    /// # Errors
    /// Fails when the source is no longer where it was (a Tern bug).
    fn split(&mut self) -> Result<(&[u8], &mut [u8])>;

    /// Calls the receiver's `realloc(old, old_size, align, size)` and checks
    /// the result is aligned and `size` bytes from it are in bounds.
    ///
    /// # Errors
    /// The traps `realloc` raises or its result earns.
    fn realloc(&mut self, old: u32, old_size: u64, align: u32, size: u64) -> Result<u32>;
}

/// The trap for a string too long for the canonical ABI.
pub(crate) fn too_long<T>(bytes: u64) -> Result<T> {
    trap(
        ComponentTrapKind::LengthOverflow,
        format!("string too large: {bytes} bytes is longer than the canonical ABI allows"),
    )
}

fn check_len(bytes: u64) -> Result<()> {
    if bytes > MAX_STRING_BYTE_LENGTH {
        return too_long(bytes);
    }
    Ok(())
}

/// The trap for bytes that are not valid UTF-8.
pub(crate) fn invalid_utf8<T>(e: std::str::Utf8Error) -> Result<T> {
    trap(ComponentTrapKind::InvalidString, e.to_string())
}

/// The trap for an unpaired surrogate in UTF-16.
pub(crate) fn invalid_utf16<T>(unit: u16) -> Result<T> {
    trap(
        ComponentTrapKind::InvalidString,
        format!("invalid utf-16: unpaired surrogate {unit:#x}"),
    )
}

/// The UTF-16 code units of `bytes` (an odd last byte is ignored).
pub(crate) fn utf16_units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
}

/// Checks that `bytes` are a valid string in `format` (the lifting half of
/// the spec's `load_string`, without building the string).
///
/// # Errors
/// The `InvalidString` trap the host path raises for the same bytes.
pub(crate) fn validate(bytes: &[u8], format: Simple) -> Result<()> {
    match format {
        Simple::Utf8 => match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) => invalid_utf8(e),
        },
        Simple::Utf16 => {
            for c in char::decode_utf16(utf16_units(bytes)) {
                if let Err(e) = c {
                    return invalid_utf16(e.unpaired_surrogate());
                }
            }
            Ok(())
        }
        Simple::Latin1 => Ok(()),
    }
}

/// The code points of validated `bytes` in `format`.
fn chars(bytes: &[u8], format: Simple) -> Result<Box<dyn Iterator<Item = char> + '_>> {
    Ok(match format {
        Simple::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => Box::new(s.chars()),
            Err(_) => bail!("a validated UTF-8 string changed while stored (a Tern bug)"),
        },
        Simple::Utf16 => Box::new(
            char::decode_utf16(utf16_units(bytes))
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)),
        ),
        Simple::Latin1 => Box::new(bytes.iter().map(|b| char::from(*b))),
    })
}

/// How many leading code points of `bytes` (in `format`) are below `limit`,
/// and how many source bytes they take.
fn prefix_below(bytes: &[u8], format: Simple, limit: u32) -> (usize, usize) {
    match format {
        Simple::Utf8 => {
            // Every code point below 0x80 is one byte; past that, walk chars.
            let ascii = bytes.iter().position(|b| *b >= 0x80).unwrap_or(bytes.len());
            if limit <= 0x80 || ascii == bytes.len() {
                return (ascii, ascii);
            }
            // Validated before: a failure here is a Tern bug, and an empty
            // rest only makes the caller's length checks fail loudly.
            let s = std::str::from_utf8(&bytes[ascii..]).unwrap_or("");
            let mut n = ascii;
            let mut at = ascii;
            for c in s.chars() {
                if u32::from(c) >= limit {
                    break;
                }
                n += 1;
                at += c.len_utf8();
            }
            (n, at)
        }
        Simple::Utf16 => {
            let n = utf16_units(bytes)
                .position(|u| u32::from(u) >= limit)
                .unwrap_or(bytes.len() / 2);
            (n, 2 * n)
        }
        Simple::Latin1 => {
            let n = bytes
                .iter()
                .position(|b| u32::from(*b) >= limit)
                .unwrap_or(bytes.len());
            (n, n)
        }
    }
}

/// `len` bytes of `memory` at `at` (in bounds after every checked `realloc`).
fn window(memory: &mut [u8], at: usize, len: usize) -> Result<&mut [u8]> {
    match memory.get_mut(at..at.saturating_add(len)) {
        Some(w) => Ok(w),
        None => bail!("a string write past a checked allocation (a Tern bug)"),
    }
}

/// Writes the code points of `src` (in `from`) into `dst` in `to`; returns
/// the bytes written. Every code point must fit `to` (Latin-1 callers make
/// sure) and `dst` must be large enough.
fn encode(src: &[u8], from: Simple, dst: &mut [u8], to: Simple) -> Result<usize> {
    let same_bytes = from == to || (from != Simple::Utf16 && to != Simple::Utf16 && src.is_ascii());
    if same_bytes {
        let d = window(dst, 0, src.len())?;
        d.copy_from_slice(src);
        return Ok(src.len());
    }
    let mut at = 0;
    let overflow = || anyhow::anyhow!("a string longer than its allocation (a Tern bug)");
    for c in chars(src, from)? {
        match to {
            Simple::Utf8 => {
                let n = c.len_utf8();
                let d = dst.get_mut(at..at + n).ok_or_else(overflow)?;
                c.encode_utf8(d);
                at += n;
            }
            Simple::Utf16 => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let d = dst.get_mut(at..at + 2).ok_or_else(overflow)?;
                    d.copy_from_slice(&u.to_le_bytes());
                    at += 2;
                }
            }
            Simple::Latin1 => {
                let d = dst.get_mut(at).ok_or_else(overflow)?;
                *d = u32::from(c) as u8;
                at += 1;
            }
        }
    }
    Ok(at)
}

/// Stores the string whose bytes `target` exposes (in `format`, already
/// validated, produced by a side described by `hint`) into the receiver's
/// memory in `dst` encoding; returns `(ptr, tagged_len)`.
///
/// # Errors
/// The canonical ABI's traps (length, `realloc` results) and any error of
/// the receiver's `realloc`.
pub(crate) fn store_string(
    target: &mut dyn Target,
    format: Simple,
    hint: Hint,
    dst: StringEncoding,
) -> Result<(u32, u32)> {
    let units = hint.units;
    match (dst, hint.simple) {
        (StringEncoding::Utf8, Simple::Utf8) => copy(target, format, units, Simple::Utf8, 1),
        (StringEncoding::Utf8, Simple::Utf16) => to_utf8(target, format, units, 3 * units),
        (StringEncoding::Utf8, Simple::Latin1) => to_utf8(target, format, units, 2 * units),
        (StringEncoding::Utf16, Simple::Utf8) => utf8_to_utf16(target, format, units),
        (StringEncoding::Utf16, _) => copy(target, format, units, Simple::Utf16, 2),
        (StringEncoding::CompactUtf16, Simple::Latin1)
            if hint.encoding == StringEncoding::CompactUtf16 =>
        {
            copy(target, format, units, Simple::Latin1, 2)
        }
        (StringEncoding::CompactUtf16, Simple::Utf16)
            if hint.encoding == StringEncoding::CompactUtf16 =>
        {
            probably_utf16_to_latin1_or_utf16(target, format, units)
        }
        (StringEncoding::CompactUtf16, _) => to_latin1_or_utf16(target, format, units),
    }
}

/// `store_string_copy`: one exact allocation, one copy.
fn copy(
    t: &mut dyn Target,
    format: Simple,
    units: u64,
    to: Simple,
    align: u32,
) -> Result<(u32, u32)> {
    let size = to.unit() as u64 * units;
    check_len(size)?;
    let ptr = t.realloc(0, 0, align, size)?;
    let (src, memory) = t.split()?;
    let n = encode(
        src,
        format,
        window(memory, ptr as usize, size as usize)?,
        to,
    )?;
    if n as u64 != size {
        bail!("a string's length hint disagrees with its contents (a Tern bug)");
    }
    Ok((ptr, units as u32))
}

/// `store_string_to_utf8`: one byte per source code unit at first; at the
/// first code point past ASCII, grow to `worst`, finish, shrink to fit.
fn to_utf8(t: &mut dyn Target, format: Simple, units: u64, worst: u64) -> Result<(u32, u32)> {
    check_len(units)?;
    let mut ptr = t.realloc(0, 0, 1, units)?;
    let (src, memory) = t.split()?;
    let (ascii, ascii_bytes) = prefix_below(src, format, 0x80);
    let head = window(memory, ptr as usize, ascii)?;
    encode(&src[..ascii_bytes], format, head, Simple::Latin1)?;
    if ascii_bytes == src.len() {
        return Ok((ptr, units as u32));
    }
    check_len(worst)?;
    ptr = t.realloc(ptr, units, 1, worst)?;
    let (src, memory) = t.split()?;
    let rest = window(memory, ptr as usize + ascii, (worst as usize) - ascii)?;
    let n = (ascii + encode(&src[ascii_bytes..], format, rest, Simple::Utf8)?) as u64;
    if worst > n {
        ptr = t.realloc(ptr, worst, 1, n)?;
    }
    Ok((ptr, n as u32))
}

/// `store_utf8_to_utf16`: allocate the worst case, shrink to fit.
fn utf8_to_utf16(t: &mut dyn Target, format: Simple, units: u64) -> Result<(u32, u32)> {
    let worst = 2 * units;
    check_len(worst)?;
    let mut ptr = t.realloc(0, 0, 2, worst)?;
    let (src, memory) = t.split()?;
    let out = window(memory, ptr as usize, worst as usize)?;
    let n = encode(src, format, out, Simple::Utf16)? as u64;
    if n < worst {
        ptr = t.realloc(ptr, worst, 2, n)?;
    }
    Ok((ptr, (n / 2) as u32))
}

/// `store_string_to_latin1_or_utf16`: Latin-1 in `units` bytes while every
/// code point fits; at the first that does not, grow to UTF-16's worst case,
/// inflate what was written in place, finish in UTF-16; shrink to fit.
fn to_latin1_or_utf16(t: &mut dyn Target, format: Simple, units: u64) -> Result<(u32, u32)> {
    check_len(units)?;
    let mut ptr = t.realloc(0, 0, 2, units)?;
    let (src, memory) = t.split()?;
    let (latin1, latin1_bytes) = prefix_below(src, format, 0x100);
    let head = window(memory, ptr as usize, latin1)?;
    encode(&src[..latin1_bytes], format, head, Simple::Latin1)?;
    if latin1_bytes == src.len() {
        if (latin1 as u64) < units {
            ptr = t.realloc(ptr, units, 2, latin1 as u64)?;
        }
        return Ok((ptr, latin1 as u32));
    }
    let worst = 2 * units;
    check_len(worst)?;
    ptr = t.realloc(ptr, units, 2, worst)?;
    let (src, memory) = t.split()?;
    let out = window(memory, ptr as usize, worst as usize)?;
    for j in (0..latin1).rev() {
        out[2 * j] = out[j];
        out[2 * j + 1] = 0;
    }
    let rest = &mut out[2 * latin1..];
    let n = (2 * latin1 + encode(&src[latin1_bytes..], format, rest, Simple::Utf16)?) as u64;
    if worst > n {
        ptr = t.realloc(ptr, worst, 2, n)?;
    }
    Ok((ptr, (n / 2) as u32 | UTF16_TAG))
}

/// `store_probably_utf16_to_latin1_or_utf16`: allocate for UTF-16; when
/// every code point fits Latin-1 after all, deflate in place and shrink.
fn probably_utf16_to_latin1_or_utf16(
    t: &mut dyn Target,
    format: Simple,
    units: u64,
) -> Result<(u32, u32)> {
    let size = 2 * units;
    check_len(size)?;
    let mut ptr = t.realloc(0, 0, 2, size)?;
    let (src, memory) = t.split()?;
    let out = window(memory, ptr as usize, size as usize)?;
    let n = encode(src, format, out, Simple::Utf16)?;
    let (_, latin1_bytes) = prefix_below(src, format, 0x100);
    if latin1_bytes != src.len() {
        return Ok((ptr, (n / 2) as u32 | UTF16_TAG));
    }
    let latin1 = n / 2;
    for i in 0..latin1 {
        out[i] = out[2 * i];
    }
    ptr = t.realloc(ptr, size, 1, latin1 as u64)?;
    Ok((ptr, latin1 as u32))
}

#[cfg(test)]
mod tests;

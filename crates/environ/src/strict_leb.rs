//! A strict re-read of memory limits, which must be at most 5-byte LEB128 `u32`s
//! for 32-bit memories (the spec's "integer representation too long").
//!
//! wasmparser reads every memory limit as a 64-bit LEB128 so that one reader
//! serves memory64, and therefore accepts a 6-byte encoding of a 32-bit limit.
//! This check restores the spec's rule without re-implementing the parser.

use anyhow::{bail, Result};

/// Checks the limits of every entry of a memory section's contents (`data`, which
/// starts at file offset `base`).
///
/// # Errors
/// Fails with "integer representation too long" on an over-long encoding.
pub(crate) fn check_limits_section(data: &[u8], base: usize) -> Result<()> {
    let mut pos = 0;
    let count = leb(data, &mut pos, 5, base)?;
    for _ in 0..count {
        let Some(&flags) = data.get(pos) else {
            return Ok(());
        };
        pos += 1;
        let max_bytes = if flags & 0x04 != 0 { 10 } else { 5 };
        leb(data, &mut pos, max_bytes, base)?;
        if flags & 0x01 != 0 {
            leb(data, &mut pos, max_bytes, base)?;
        }
        if flags & 0x08 != 0 {
            // Custom page size: a u32 log2 exponent follows.
            leb(data, &mut pos, 5, base)?;
        }
    }
    Ok(())
}

/// Skips one unsigned LEB128 of at most `max_bytes` bytes; other malformations
/// are left for wasmparser to report.
fn leb(data: &[u8], pos: &mut usize, max_bytes: usize, base: usize) -> Result<u64> {
    let mut value = 0u64;
    for i in 0..max_bytes {
        let Some(&byte) = data.get(*pos) else {
            return Ok(value);
        };
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i).min(63);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!(
        "integer representation too long (at offset {:#x})",
        base + *pos
    )
}

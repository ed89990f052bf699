//! Deterministic compilation: the same module compiled twice by the same
//! engine gives byte-identical artifacts (`Module::serialize`: code, trap
//! table, function offsets, metadata). The engine compiles in parallel, the
//! configuration where an ordering bug would show.

use anyhow::Result;

/// Compiles `wasm` twice with `engine` and compares the serialized artifacts.
/// `Ok(None)` means identical; `Ok(Some(offset))` gives the first differing
/// byte (or the shorter length).
///
/// # Errors
/// Fails if the module does not compile or serialize.
pub fn first_difference(engine: &tern::Engine, wasm: &[u8]) -> Result<Option<usize>> {
    let a = tern::Module::from_binary(engine, wasm)?.serialize()?;
    let b = tern::Module::from_binary(engine, wasm)?.serialize()?;
    if a == b {
        return Ok(None);
    }
    Ok(Some(
        a.iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len())),
    ))
}

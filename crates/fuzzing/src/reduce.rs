//! Reducing a diverging module to a small regression test with `wasm-shrink`.
//!
//! The predicate re-runs the whole differential check on each candidate and
//! keeps it only if it still diverges in the same way ([`DivergenceKind`]), so
//! the reduction cannot wander off to a different bug (or to a module the
//! oracle rejects, which never diverges). Candidates whose loops lost their
//! termination counter exhaust the oracle's fuel and are dropped the same way.

use crate::differential::{Differential, Divergence, DivergenceKind, Stats};
use anyhow::Result;

/// Shrinks `wasm`, which diverges as `kind` under `variant`, with up to
/// `attempts` unsuccessful shrink steps in a row.
///
/// # Errors
/// Fails if the input does not diverge to begin with.
pub fn reduce(
    diff: &Differential,
    wasm: &[u8],
    variant: u64,
    kind: DivergenceKind,
    attempts: u32,
) -> Result<Vec<u8>> {
    reduce_with(wasm, variant, attempts, |candidate| {
        let mut stats = Stats::default();
        diff.check(candidate, variant, &mut stats)
            .is_some_and(|d| d.kind == kind)
    })
}

/// Shrinks `wasm` with `wasm-shrink`, seeded with `variant`, keeping each
/// candidate for which `still_diverges` holds, with up to `attempts`
/// unsuccessful steps in a row (the engine behind [`reduce`], also used by
/// [`crate::gc_self`]).
///
/// # Errors
/// Fails if `wasm` itself does not satisfy `still_diverges`.
pub fn reduce_with(
    wasm: &[u8],
    variant: u64,
    attempts: u32,
    mut still_diverges: impl FnMut(&[u8]) -> bool,
) -> Result<Vec<u8>> {
    let info = wasm_shrink::WasmShrink::default()
        .attempts(attempts)
        .seed(variant)
        .run(wasm.to_vec(), |candidate| Ok(still_diverges(candidate)))?;
    Ok(info.output)
}

/// The text of a regression test for a reduced module: a header recording the
/// variant to replay it with and the divergence it showed, then the module.
///
/// # Errors
/// Fails if `wasm` cannot be printed as text.
pub fn regression_wat(wasm: &[u8], variant: u64, divergence: &Divergence) -> Result<String> {
    let text = wasmprinter::print_bytes(wasm)?;
    let detail = divergence.to_string().replace('\n', " ");
    Ok(format!(
        ";; tern-fuzz regression. Found as: {detail}\n;; variant: {variant}\n{text}\n"
    ))
}

/// The variant recorded in a regression test's header (`;; variant: N`).
pub fn variant_of(wat: &str) -> Option<u64> {
    wat.lines()
        .find_map(|l| l.trim().strip_prefix(";; variant:"))
        .and_then(|v| v.trim().parse().ok())
}

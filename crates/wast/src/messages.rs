//! How an `assert_invalid` or `assert_malformed` directive's expected message
//! is compared with Tern's error, as the spec's reference runner does: the
//! expected text must occur in Tern's message.
//!
//! Tern's validation and decoding messages are wasmparser's (and, for text
//! modules, the `wast` parser's); where their wording differs from the
//! reference interpreter's, [`EQUIVALENTS`] maps the spec's message to the
//! texts that mean the same thing. Each entry is a fact about two wordings of
//! one rule, never a catch-all: a mismatch not listed here is a failure, and
//! the spec test's ledger names it.

/// `(spec message, Tern messages that mean the same)`: the directive passes
/// when Tern's error contains the spec message or one of its equivalents.
pub const EQUIVALENTS: &[(&str, &[&str])] = &[];

/// Whether Tern's error text `actual` reports the failure the spec expects
/// (`expected`).
pub fn matches(expected: &str, actual: &str) -> bool {
    actual.contains(expected)
        || EQUIVALENTS
            .iter()
            .filter(|(spec, _)| *spec == expected)
            .any(|(_, ours)| ours.iter().any(|o| actual.contains(o)))
}

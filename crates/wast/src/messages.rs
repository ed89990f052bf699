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
//!
//! Malformed *text* (`assert_malformed` of a `module quote`) is the one class
//! rule: any error of the `wast` text parser is accepted there, since the
//! reference parser and the `wast` crate word text errors independently and
//! no wasm program can observe either (see `WastContext`). A quoted text that
//! parses but is then refused by wasmparser is compared like a binary.

/// `(spec message, Tern messages that mean the same)`: the directive passes
/// when Tern's error contains the spec message or one of its equivalents.
pub const EQUIVALENTS: &[(&str, &[&str])] = &[
    // A name (import, export, custom section) that is not UTF-8.
    ("invalid UTF-8 encoding", &["malformed UTF-8 encoding"]),
    // A memory limit above 2^16 pages (wasmparser prints the bound in hex).
    (
        "memory size must be at most 65536 pages (4GiB)",
        &["memory size must be at most 0x10000 65536-byte pages"],
    ),
    // `global.set` of an immutable global.
    ("immutable global", &["global is immutable"]),
    // `struct.set` of an immutable field (GC).
    ("immutable field", &["struct field is immutable"]),
    // `array.set`/`fill`/`copy`/`init_*` on an immutable array (GC).
    ("immutable array", &["array is immutable"]),
    // A SIMD lane index at or above the lane count.
    ("invalid lane index", &["SIMD index out of bounds"]),
    // A memory access's flags with reserved bits set.
    (
        "malformed memop flags",
        &["malformed memop: reserved flags bits set"],
    ),
    // A limits flags byte that is none of the defined ones.
    (
        "malformed limits flags",
        &[
            "invalid memory limits flags",
            "invalid table resizable limits flags",
        ],
    ),
    // A global's mutability byte that is neither 0 nor 1.
    ("malformed mutability", &["malformed global flags"]),
    ("invalid mutability", &["malformed global flags"]),
    // An import's kind byte that is no external kind.
    ("malformed import kind", &["for external kind"]),
    // A section id that no section has.
    ("malformed section id", &["malformed section id"]),
    ("invalid section id", &["malformed section id"]),
    // A reserved byte (memory index of `memory.size` & co.) that is not zero.
    ("zero flag expected", &["zero byte expected"]),
    // A function section without a code section, or the other way round.
    (
        "function and code section have inconsistent lengths",
        &[
            "function section has non-zero count but code section is absent",
            "function section is absent but code section has non-zero count",
        ],
    ),
    // A data count with no data section.
    (
        "data count and data section have inconsistent lengths",
        &["data count is non-zero but data section is absent"],
    ),
    // A section after the last one, or one section twice: wasmparser checks
    // both as "sections come once each, in order".
    (
        "unexpected content after last section",
        &["section out of order"],
    ),
    ("junk after last section", &["section out of order"]),
    ("multiple start sections", &["section out of order"]),
    // Bytes that end before what they announce (a section, a body, a name).
    ("unexpected end", &["unexpected end-of-file"]),
    ("length out of bounds", &["unexpected end-of-file"]),
    (
        "unexpected end of section or function",
        &["unexpected end-of-file", "control frames remain"],
    ),
    // A function body whose last instruction is not the closing `end`.
    ("END opcode expected", &["control frames remain"]),
];

/// Whether Tern's error text `actual` reports the failure the spec expects
/// (`expected`).
pub fn matches(expected: &str, actual: &str) -> bool {
    actual.contains(expected)
        || EQUIVALENTS
            .iter()
            .filter(|(spec, _)| *spec == expected)
            .any(|(_, ours)| ours.iter().any(|o| actual.contains(o)))
}

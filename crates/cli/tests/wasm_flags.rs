//! `-W NAME=y|n` on `tern run`, `tern compile` and `tern wast`, and `tern wast`
//! choosing a script's features from its path as the spec runner does.

mod common;

use common::{scratch, tern, text};

/// Two memories: invalid in WebAssembly 1.0, valid by default (multi-memory).
const TWO_MEMORIES: &str =
    "(assert_invalid (module (memory 1) (memory 1)) \"multiple memories\")\n";

#[test]
fn wast_features_come_from_the_path_then_the_flags() {
    // In a `wasm-v1/` folder, a second memory is invalid, as the spec expects.
    let v1 = scratch("wast-path", "wasm-v1/two.wast");
    std::fs::create_dir_all(v1.parent().unwrap()).unwrap();
    std::fs::write(&v1, TWO_MEMORIES).unwrap();
    let o = tern(&["wast", v1.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "1 passed, 0 failed\n",
        "{}",
        text(&o.stderr)
    );
    // Elsewhere the defaults apply, so the module is valid and the assertion fails…
    let plain = scratch("wast-path", "two.wast");
    std::fs::write(&plain, TWO_MEMORIES).unwrap();
    let o = tern(&["wast", plain.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "0 passed, 1 failed\n",
        "{}",
        text(&o.stderr)
    );
    // …unless `-W` turns the feature off.
    let o = tern(&["wast", "-W", "multi-memory=n", plain.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "1 passed, 0 failed\n",
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn wast_compares_validation_messages() {
    let script = scratch("wast-message", "wrong.wast");
    std::fs::write(
        &script,
        "(assert_invalid (module (func (result i32) (i64.const 0))) \"type mismatch\")\n\
         (assert_invalid (module (func (result i32) (i64.const 0))) \"unknown memory\")\n",
    )
    .unwrap();
    let o = tern(&["wast", script.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "1 passed, 1 failed\n",
        "{}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stderr).contains("expected rejection with `unknown memory`"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn unimplemented_features_and_unknown_flags_are_refused_by_name() {
    let wat = scratch("wflags", "start.wat");
    std::fs::write(&wat, "(module (func (export \"_start\")))").unwrap();
    let o = tern(&["run", "-W", "threads=y", wat.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("Tern does not implement these WebAssembly features yet: THREADS"),
        "{}",
        text(&o.stderr)
    );
    let o = tern(&["run", "-W", "no-such-feature", wat.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("unknown `-W` option `no-such-feature`"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn compile_and_run_share_the_flags() {
    let wat = scratch("wcompile", "wide.wat");
    std::fs::write(
        &wat,
        "(module (func (export \"hi\") (param i64 i64) (result i64) \
           (i64.mul_wide_u (local.get 0) (local.get 1)) (return)))",
    )
    .unwrap();
    let cwasm = scratch("wcompile", "wide.cwasm");
    let (wat, cwasm) = (wat.to_str().unwrap(), cwasm.to_str().unwrap());
    // With wide arithmetic off the module is invalid.
    let o = tern(&["compile", "-W", "wide-arithmetic=n", wat, "-o", cwasm]);
    assert!(!o.status.success(), "{}", text(&o.stderr));
    let o = tern(&["compile", "-C", "cache=n", wat, "-o", cwasm]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let run = |flags: &[&str]| {
        let mut args = vec!["run", "-C", "cache=n", "--allow-precompiled"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--invoke", "hi", cwasm, "-1", "2"]);
        tern(&args)
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1\n");
    // An engine with another feature set refuses the artifact, naming the feature.
    let o = run(&["-W", "wide-arithmetic=n"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("WIDE_ARITHMETIC"),
        "{}",
        text(&o.stderr)
    );
}

/// A legacy `try`/`catch`: refused unless `-W legacy-exceptions` or a
/// `legacy-exceptions/` folder turns the instructions on.
#[test]
fn legacy_exceptions_by_flag_or_folder() {
    const SCRIPT: &str = "(module (tag $e) (func (export \"f\") (result i32)\n\
        try (result i32) throw $e catch $e i32.const 3 end))\n\
        (assert_return (invoke \"f\") (i32.const 3))\n";
    let plain = scratch("wast-legacy", "legacy.wast");
    std::fs::write(&plain, SCRIPT).unwrap();
    let o = tern(&["wast", plain.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "0 passed, 2 failed\n",
        "{}",
        text(&o.stderr)
    );
    let o = tern(&["wast", "-W", "legacy-exceptions", plain.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "2 passed, 0 failed\n",
        "{}",
        text(&o.stderr)
    );
    let folder = scratch("wast-legacy", "legacy-exceptions/legacy.wast");
    std::fs::create_dir_all(folder.parent().unwrap()).unwrap();
    std::fs::write(&folder, SCRIPT).unwrap();
    let o = tern(&["wast", folder.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "2 passed, 0 failed\n",
        "{}",
        text(&o.stderr)
    );
}

/// `-W nan-canonicalization` is `Config::cranelift_nan_canonicalization`:
/// `0/0` then gives the positive canonical NaN (an exact-bits expectation in
/// the script), and `f32.neg` still keeps a signaling NaN's payload.
#[test]
fn nan_canonicalization_by_flag() {
    let script = scratch("wast-nan", "canon.wast");
    std::fs::write(
        &script,
        "(module\n\
           (func (export \"div\") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))\n\
           (func (export \"neg\") (param f32) (result f32) (f32.neg (local.get 0))))\n\
         (assert_return (invoke \"div\" (f32.const 0) (f32.const 0)) (f32.const nan:0x400000))\n\
         (assert_return (invoke \"neg\" (f32.const nan:0x200001)) (f32.const -nan:0x200001))\n",
    )
    .unwrap();
    let path = script.to_str().unwrap();
    let o = tern(&["wast", "-W", "nan-canonicalization", path]);
    assert_eq!(
        text(&o.stdout),
        "3 passed, 0 failed\n",
        "{}",
        text(&o.stderr)
    );
    // Without it, x86-64 computes the negative default NaN for `0/0`.
    if cfg!(target_arch = "x86_64") {
        let o = tern(&["wast", "-W", "nan-canonicalization=n", path]);
        assert_eq!(
            text(&o.stdout),
            "2 passed, 1 failed\n",
            "{}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains("got F32(4290772992)"),
            "{}",
            text(&o.stderr)
        );
    }
}

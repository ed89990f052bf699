//! `tern compile` and `tern run --allow-precompiled`, through the real binary:
//! an artifact runs like its source, is refused without the flag, and a damaged
//! one is an error, not a crash.

mod common;

use common::{scratch, tern, text};

const FIB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fib.wat");

#[test]
fn compile_then_run_precompiled() {
    let out = scratch("run", "fib.cwasm");
    let o = tern(&["compile", FIB, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"\x7fELF"), "the artifact is an ELF file");

    let o = tern(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "fib",
        out.to_str().unwrap(),
        "20",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "6765\n");

    // Without the flag the artifact is refused, naming the flag.
    let o = tern(&["run", "--invoke", "fib", out.to_str().unwrap(), "20"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("--allow-precompiled"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty());

    // A truncated artifact is an error with a message, not a crash.
    let cut = scratch("run", "cut.cwasm");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    let o = tern(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "fib",
        cut.to_str().unwrap(),
        "20",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("artifact"), "{}", text(&o.stderr));

    // Compiling an artifact again is refused.
    let o = tern(&[
        "compile",
        out.to_str().unwrap(),
        "-o",
        scratch("run", "again.cwasm").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("already a precompiled artifact"),
        "{}",
        text(&o.stderr)
    );
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
}

#[test]
fn compile_defaults_the_output_name_and_reports_invalid_input() {
    let wat = scratch("compile", "answer.wat");
    std::fs::write(
        &wat,
        r#"(module (func (export "answer") (result i32) (i32.const 42)))"#,
    )
    .unwrap();
    let o = tern(&["compile", wat.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = tern(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "answer",
        wat.with_extension("cwasm").to_str().unwrap(),
    ]);
    assert_eq!(text(&o.stdout), "42\n", "{}", text(&o.stderr));

    let bad = scratch("compile", "bad.wat");
    std::fs::write(&bad, "(module (func (result i32)))").unwrap();
    let o = tern(&["compile", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("failed to compile"),
        "{}",
        text(&o.stderr)
    );
    assert!(!bad.with_extension("cwasm").exists());
    std::fs::remove_dir_all(wat.parent().unwrap()).unwrap();
}

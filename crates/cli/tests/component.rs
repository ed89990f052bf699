//! `tern run --invoke 'name(args)' COMPONENT` with WAVE values, on
//! `examples/point.wat`, and `tern wast` on a component script.

use std::process::Command;

fn tern() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tern"))
}

fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/point.wat")
}

fn run(call: &str) -> (bool, String, String) {
    let out = tern()
        .arg("run")
        .arg("--invoke")
        .arg(call)
        .arg(example())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn invoke_with_wave_values() {
    assert_eq!(
        run("add({x: 1, y: 2}, {x: 10, y: -20})"),
        (true, "{x: 11, y: -18}\n".to_string(), String::new())
    );
    assert_eq!(run(r#"len("h\u{e9}llo ☃")"#).1, "10\n");
    let (ok, _, err) = run("len(5)");
    assert!(!ok && err.contains("cannot parse `5` as string"), "{err}");
    let (ok, _, err) = run("nope()");
    assert!(
        !ok && err.contains("does not export a function `nope`"),
        "{err}"
    );
}

#[test]
fn wast_runs_component_scripts() {
    let dir = std::env::temp_dir().join(format!("tern-cli-component-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("c.wast");
    let component = std::fs::read_to_string(example()).unwrap();
    std::fs::write(
        &script,
        format!(
            "{component}\n(assert_return (invoke \"len\" (str.const \"abc\")) (u32.const 3))\n\
             (assert_return (invoke \"add\" (record.const (field \"x\" s32.const 1) (field \"y\" s32.const 2))\n\
               (record.const (field \"x\" s32.const 3) (field \"y\" s32.const 4)))\n\
               (record.const (field \"x\" s32.const 4) (field \"y\" s32.const 6)))\n"
        ),
    )
    .unwrap();
    let out = tern().arg("wast").arg(&script).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3 passed, 0 failed\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compile_then_run_a_precompiled_component() {
    let dir = std::env::temp_dir().join(format!("tern-cli-cwasm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("point.cwasm");
    let status = tern()
        .arg("compile")
        .arg(example())
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let refused = tern()
        .arg("run")
        .arg("--invoke")
        .arg("len(\"ab\")")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let ran = tern()
        .arg("run")
        .arg("--allow-precompiled")
        .arg("--invoke")
        .arg("len(\"ab\")")
        .arg(&out)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "2\n",
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
}

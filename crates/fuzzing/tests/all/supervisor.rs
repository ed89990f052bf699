//! The `tern-fuzz malformed` supervisor observes a worker that crashes or
//! hangs, attributes it to the right input, saves that input, and finishes
//! the remaining inputs in a new worker.

use std::process::Command;

fn run(extra: &[&str]) -> (bool, String, std::path::PathBuf) {
    let out = std::env::temp_dir().join(format!(
        "tern-fuzz-supervisor-{}-{}",
        std::process::id(),
        extra.join("_")
    ));
    let output = Command::new(env!("CARGO_BIN_EXE_tern-fuzz"))
        .args(["malformed", "--seed", "3", "--count", "12", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        out,
    )
}

#[test]
fn a_clean_run_succeeds() {
    let (ok, stdout, _) = run(&[]);
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("12 inputs, 0 crashes, 0 hangs, 0 panics"),
        "{stdout}"
    );
}

#[test]
fn a_crashing_input_is_reported_saved_and_skipped() {
    let (ok, stdout, out) = run(&["--simulate-crash-at", "5"]);
    assert!(!ok, "a crash must fail the campaign");
    assert!(stdout.contains("12 inputs, 1 crashes, 0 hangs"), "{stdout}");
    let saved = std::fs::read(out.join("malformed-crash-3-5.wasm")).unwrap();
    assert_eq!(saved, tern_fuzz::malformed::input(3, 5));
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_hanging_input_is_reported_and_skipped() {
    let (ok, stdout, out) = run(&["--simulate-hang-at", "7", "--hang-secs", "2"]);
    assert!(!ok, "a hang must fail the campaign");
    assert!(stdout.contains("12 inputs, 0 crashes, 1 hangs"), "{stdout}");
    assert!(out.join("malformed-hang-3-7.wasm").exists());
    let _ = std::fs::remove_dir_all(out);
}

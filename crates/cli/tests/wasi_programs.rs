//! `tern run` of real WASI programs, through the real binary: every case of
//! `tests/programs/cases.txt` prints its expected output (the test-program
//! package checks the same files against native builds) and exits with its
//! code; traps exit with 134 and a wasm backtrace; README's main command works.
//! Every preview-1 case runs a second time as a component made with the
//! standard preview-1 adapter.

#[path = "../../../tests/programs/adapt.rs"]
mod adapt;
#[path = "../../../tests/programs/cases.rs"]
mod cases;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tern(args: &[String], env: &[(String, String)], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .current_dir(cases::fixtures_dir())
        .envs(env.iter().cloned())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tern starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("stdin written");
    child.wait_with_output().expect("tern ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn every_program_case_prints_its_expected_output() {
    for case in cases::cases() {
        let scratch = cases::Scratch::new("cli");
        let mut args = s(&["run", "--dir", ".", "--dir"]);
        args.push(format!("{}::{}", scratch.path_str(), cases::GUEST_SCRATCH));
        for (k, v) in &case.env {
            args.push("--env".into());
            args.push(format!("{k}={v}"));
        }
        for option in &case.wasi_options {
            args.push("-S".into());
            args.push(option.clone());
        }
        args.push(
            cases::wasm_path(&case.program)
                .to_str()
                .unwrap()
                .to_string(),
        );
        args.extend(cases::args_with_dir(&case, cases::GUEST_SCRATCH));
        let out = tern(&args, &[], &cases::stdin_bytes(&case));
        assert_eq!(
            text(&out.stdout),
            text(&cases::expected_stdout(&case)),
            "case {}: {}",
            case.name,
            text(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(case.exit),
            "case {}: {}",
            case.name,
            text(&out.stderr)
        );
    }
}

#[test]
fn every_preview1_case_prints_its_expected_output_as_an_adapted_component() {
    let dir = cases::Scratch::new("cli-adapted");
    // The components are cached in the scratch directory: a program's later
    // cases load its first case's entry.
    let cache = [(
        "TERN_CACHE_DIR".to_string(),
        dir.0.join("cache").to_str().unwrap().to_string(),
    )];
    let mut ran = 0;
    for case in cases::cases()
        .iter()
        .filter(|c| !cases::is_component(&c.program))
    {
        let component = dir.0.join(format!("{}.wasm", case.program));
        if !component.exists() {
            let module = std::fs::read(cases::wasm_path(&case.program)).unwrap();
            std::fs::write(&component, adapt::adapt(&module)).unwrap();
        }
        let scratch = cases::Scratch::new("cli-adapted-run");
        let mut args = s(&["run", "--dir", ".", "--dir"]);
        args.push(format!("{}::{}", scratch.path_str(), cases::GUEST_SCRATCH));
        for (k, v) in &case.env {
            args.push("--env".into());
            args.push(format!("{k}={v}"));
        }
        args.push(component.to_str().unwrap().to_string());
        args.extend(cases::args_with_dir(case, cases::GUEST_SCRATCH));
        let out = tern(&args, &cache, &cases::stdin_bytes(case));
        assert_eq!(
            text(&out.stdout),
            text(&cases::expected_stdout(case)),
            "case {} adapted: {}",
            case.name,
            text(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(adapt::adapted_exit_code(case.exit)),
            "case {} adapted: {}",
            case.name,
            text(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 10, "every preview-1 case ran ({ran})");
}

#[test]
fn a_trap_exits_134_with_a_wasm_backtrace() {
    let wasm = cases::wasm_path("wasi-demo");
    let out = tern(&s(&["run", wasm.to_str().unwrap(), "trap"]), &[], b"");
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(
        text(&out.stdout),
        "about to abort\n",
        "output before the trap is not lost"
    );
    let err = text(&out.stderr);
    assert!(err.contains("wasm backtrace"), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(
        err.contains("wasi_demo") && err.contains("main"),
        "frames name the functions: {err}"
    );
}

#[test]
fn exit_codes_pass_through_and_invalid_ones_are_errors() {
    let wasm = cases::wasm_path("wasi-demo");
    for code in ["0", "1", "42", "125"] {
        let out = tern(&s(&["run", wasm.to_str().unwrap(), "exit", code]), &[], b"");
        assert_eq!(
            out.status.code(),
            Some(code.parse().unwrap()),
            "{}",
            text(&out.stderr)
        );
    }
    let out = tern(
        &s(&["run", wasm.to_str().unwrap(), "exit", "200"]),
        &[],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("invalid exit status"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn env_flags_set_and_pass_through_variables() {
    let wasm = cases::wasm_path("wasi-demo");
    let env = [("TERN_TEST_HOST_VAR".to_string(), "from host".to_string())];
    let args = s(&[
        "run",
        "--env",
        "X=1",
        "--env",
        "TERN_TEST_HOST_VAR",
        wasm.to_str().unwrap(),
        "env",
    ]);
    let out = tern(&args, &env, b"");
    assert_eq!(
        text(&out.stdout),
        "TERN_TEST_HOST_VAR=from host\nX=1\n",
        "{}",
        text(&out.stderr)
    );
    let out = tern(
        &s(&[
            "run",
            "--env",
            "TERN_NO_SUCH_VAR_ANYWHERE",
            wasm.to_str().unwrap(),
            "env",
        ]),
        &[],
        b"",
    );
    assert!(!out.status.success());
}

#[test]
fn directories_are_only_reachable_when_given() {
    let wasm = cases::wasm_path("wc");
    // Without --dir the guest sees no files at all.
    let out = tern(&s(&["run", wasm.to_str().unwrap(), "poem.txt"]), &[], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("poem.txt"),
        "{}",
        text(&out.stderr)
    );
    // A missing host directory is reported before anything runs.
    let out = tern(
        &s(&[
            "run",
            "--dir",
            "/no/such/dir::/x",
            wasm.to_str().unwrap(),
            "a",
        ]),
        &[],
        b"",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("/no/such/dir"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn readme_main_command_counts_words_of_repository_files() {
    // README: cargo run --release -- run --dir . tests/programs/wasm/wc.wasm README.md docs/STATUS.md
    let root = cases::programs_dir().join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "run",
            "--dir",
            ".",
            "tests/programs/wasm/wc.wasm",
            "README.md",
            "docs/STATUS.md",
        ])
        .current_dir(&root)
        .output()
        .expect("tern runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut expected = String::new();
    let mut total = (0, 0, 0);
    for f in ["README.md", "docs/STATUS.md"] {
        let b = std::fs::read(root.join(f)).unwrap();
        let (l, w) = (
            b.iter().filter(|&&c| c == b'\n').count(),
            b.split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty())
                .count(),
        );
        expected.push_str(&format!("{l:>7} {w:>7} {:>8} {f}\n", b.len()));
        total = (total.0 + l, total.1 + w, total.2 + b.len());
    }
    expected.push_str(&format!(
        "{:>7} {:>7} {:>8} total\n",
        total.0, total.1, total.2
    ));
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn invoke_still_calls_a_function_with_wasi_linked() {
    let fib = cases::programs_dir().join("../../examples/fib.wat");
    let out = tern(
        &s(&["run", "--invoke", "fib", fib.to_str().unwrap(), "20"]),
        &[],
        b"",
    );
    assert_eq!(text(&out.stdout), "6765\n", "{}", text(&out.stderr));
}

#[test]
fn a_component_trap_exits_134_with_a_wasm_backtrace() {
    let wasm = cases::wasm_path("p2/wasi-demo");
    let out = tern(&s(&["run", wasm.to_str().unwrap(), "trap"]), &[], b"");
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "about to abort\n");
    let err = text(&out.stderr);
    assert!(err.contains("wasm backtrace"), "{err}");
    assert!(err.contains("unreachable"), "{err}");
}

#[test]
fn a_component_exports_stay_callable_with_invoke() {
    // `--invoke` calls an export by its path, with WASI 0.2 linked (the
    // program reads its arguments and writes to stderr).
    let wasm = cases::wasm_path("p2/wasi-demo");
    let out = tern(
        &s(&[
            "run",
            "--invoke",
            "wasi:cli/run@0.2.0#run()",
            wasm.to_str().unwrap(),
        ]),
        &[],
        b"",
    );
    // No arguments: the demo prints its usage to stderr and exits with 2,
    // which `wasi:cli/exit.exit` carries as `err`: status 1.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("usage: wasi-demo"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_component_exit_status_is_the_process_exit_code() {
    // Rust's `process::exit(N)` on wasm32-wasip2 (with this toolchain's
    // wasi-libc, which imports no `exit-with-code`) calls `wasi:cli/exit.exit`
    // with `err` for any N other than 0: the status is 1, as under wasmtime.
    let wasm = cases::wasm_path("p2/wasi-demo");
    for (code, expected) in [("0", 0), ("7", 1)] {
        let out = tern(&s(&["run", wasm.to_str().unwrap(), "exit", code]), &[], b"");
        assert_eq!(out.status.code(), Some(expected), "{}", text(&out.stderr));
    }
}

#[test]
fn a_component_has_no_network_without_dash_s() {
    // Without `-S inherit-network`, `std::net`'s bind gets `access-denied`
    // (EACCES: `PermissionDenied`); without `-S allow-ip-name-lookup`,
    // lookups fail (`permanent-resolver-failure`).
    let wasm = cases::wasm_path("p2/net");
    let wasm = wasm.to_str().unwrap();
    for cmd in ["tcp", "udp"] {
        let out = tern(&s(&["run", wasm, cmd]), &[], b"");
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("{cmd} failed: PermissionDenied\n")
        );
    }
    // Name lookup is its own permission: the network alone does not give it.
    let out = tern(
        &s(&["run", "-S", "inherit-network", wasm, "lookup"]),
        &[],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("lookup failed:"),
        "{}",
        text(&out.stdout)
    );
    // `=n` turns an option off again; an unknown option is an error.
    let out = tern(
        &s(&["run", "-S", "inherit-network=n", wasm, "tcp"]),
        &[],
        b"",
    );
    assert_eq!(text(&out.stdout), "tcp failed: PermissionDenied\n");
    let out = tern(&s(&["run", "-S", "no-such-option", wasm, "tcp"]), &[], b"");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown `-S` option `no-such-option`"),
        "{}",
        text(&out.stderr)
    );
}

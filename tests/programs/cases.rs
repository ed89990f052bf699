//! Reads `tests/programs/cases.txt`, the list of test-program runs. Included
//! (with `#[path]`) by the test-program package's tests, which compare Tern
//! with native builds, and by the `tern` CLI's tests, which check `tern run`.

#![allow(dead_code, reason = "each including test uses part of it")]

use std::path::{Path, PathBuf};

/// One run of a test program.
#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<String>,
    pub exit: i32,
    /// `tern run -S` options (`inherit-network`, `allow-ip-name-lookup`).
    pub wasi_options: Vec<String>,
}

/// `tests/programs/`, found above the including crate's manifest directory.
pub fn programs_dir() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let candidate = dir.join("tests/programs");
        if candidate.join("cases.txt").is_file() {
            return candidate;
        }
        assert!(
            dir.pop(),
            "tests/programs/cases.txt not found above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
}

/// `tests/programs/fixtures/`, every run's working directory.
pub fn fixtures_dir() -> PathBuf {
    programs_dir().join("fixtures")
}

/// Whether `program` is a WASI 0.2 component (`p2/NAME`).
pub fn is_component(program: &str) -> bool {
    program.starts_with("p2/")
}

/// The native program a case runs: `NAME` for both `NAME` and `p2/NAME`.
pub fn native_name(program: &str) -> &str {
    program.strip_prefix("p2/").unwrap_or(program)
}

/// The committed `.wasm` of `program`.
pub fn wasm_path(program: &str) -> PathBuf {
    programs_dir().join("wasm").join(format!("{program}.wasm"))
}

/// Every case, in file order.
pub fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(programs_dir().join("cases.txt")).expect("cases.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split(';').map(str::trim).collect();
            assert!(f.len() == 6 || f.len() == 7, "malformed case line: {line}");
            Case {
                name: f[0].to_string(),
                program: f[1].to_string(),
                args: f[2].split_whitespace().map(str::to_string).collect(),
                env: f[3]
                    .split(',')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').expect("NAME=VALUE");
                        (k.to_string(), v.to_string())
                    })
                    .collect(),
                stdin: (f[4] != "-").then(|| f[4].to_string()),
                exit: f[5].parse().expect("exit code"),
                wasi_options: f
                    .get(6)
                    .map(|o| o.split(',').filter(|o| !o.is_empty()))
                    .into_iter()
                    .flatten()
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect()
}

/// The expected standard output of `case`.
pub fn expected_stdout(case: &Case) -> Vec<u8> {
    let path = programs_dir()
        .join("expected")
        .join(format!("{}.stdout", case.name));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The case's standard input.
pub fn stdin_bytes(case: &Case) -> Vec<u8> {
    case.stdin.as_ref().map_or_else(Vec::new, |f| {
        std::fs::read(fixtures_dir().join(f)).expect("stdin fixture")
    })
}

/// The case's arguments with `{dir}` replaced.
pub fn args_with_dir(case: &Case, dir: &str) -> Vec<String> {
    case.args.iter().map(|a| a.replace("{dir}", dir)).collect()
}

/// What the guest calls the scratch directory.
pub const GUEST_SCRATCH: &str = "/scratch";

/// A fresh scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("tern-programs-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    pub fn path_str(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp dir")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! The execution workloads of `tern-bench` (`benches/workloads/`, issue 15's
//! seven) give under Tern the checksums their native build gives
//! (`benches/workloads/expected.txt`, written by `build.sh`), and the committed
//! `workloads.wasm` is what its source builds to.

use std::path::PathBuf;
use std::process::Command;

use tern::{Engine, Instance, Module, Store};

use super::bindgen_guest::target_installed;

fn workloads_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/workloads")
}

/// Every workload at its test size, run by Tern, against the native checksum.
#[test]
fn workloads_match_native_checksums() {
    let expected = std::fs::read_to_string(workloads_dir().join("expected.txt")).unwrap();
    let engine = Engine::default();
    let module = Module::from_file(&engine, workloads_dir().join("workloads.wasm")).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let mut seen = Vec::new();
    for line in expected.lines() {
        let [name, n, sum] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("malformed line {line:?} in expected.txt");
        };
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, &format!("run_{name}"))
            .unwrap();
        let got = f.call(&mut store, n.parse().unwrap()).unwrap() as u32;
        assert_eq!(got, sum.parse::<u32>().unwrap(), "workload {name}({n})");
        seen.push(name);
    }
    assert_eq!(
        seen,
        ["sieve", "nbody", "sha256", "matmul", "sort", "regex", "json"]
    );
}

/// The committed `workloads.wasm` and `expected.txt` are what the source builds to.
#[test]
fn committed_workloads_are_up_to_date() {
    if !target_installed("wasm32-unknown-unknown") {
        eprintln!("wasm32-unknown-unknown is not installed: not rebuilding benches/workloads");
        return;
    }
    let out = Command::new("bash")
        .arg(workloads_dir().join("build.sh"))
        .arg("--check")
        .output()
        .expect("build.sh runs");
    assert!(
        out.status.success(),
        "benches/workloads/build.sh --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

//! `-W`, `-C cache` and `--profile` reach components as they reach modules:
//! `tern run` and `tern compile` of a component build their engine from the
//! same options, a component is cached whole (a second run loads the entry,
//! and substituting it changes what runs), and `--profile=perfmap` names the
//! component's core functions (and `--profile=jitdump` its dump).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::tern_with_cache as tern;

/// A component whose core function tail-calls (valid only with tail calls on).
fn component(answer: u32) -> String {
    format!(
        r#"(component
  (core module $m
    (func $answer (result i32) (i32.const {answer}))
    (func (export "f") (result i32) (return_call $answer)))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f"))))"#
    )
}

/// A fresh scratch directory for the test named `test`, holding `f.wat`
/// (the component answering 42); its `cache` subdirectory does not exist yet.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tern-cli-component-options-{test}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f.wat"), component(42)).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
}

/// The files in `dir` but the cache cleaner's marker (`.cleanup`).
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| !path.ends_with(".cleanup"))
        .collect()
}

#[test]
fn wasm_flags_reach_components() {
    let dir = scratch("flags");
    let cache = dir.join("cache");
    let wat = dir.join("f.wat");
    let wat = wat.to_str().unwrap();
    assert_eq!(
        stdout(&tern(&cache, &["run", "--invoke", "f()", wat])),
        "42\n"
    );
    let o = tern(
        &cache,
        &["run", "-W", "tail-call=n", "--invoke", "f()", wat],
    );
    assert!(!o.status.success(), "tail calls were not turned off");
    assert!(text(&o.stderr).contains("tail call"), "{}", text(&o.stderr));
    // `-W component-model=n` is obeyed too.
    let o = tern(
        &cache,
        &["run", "-W", "component-model=n", "--invoke", "f()", wat],
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("the component model is disabled"),
        "{}",
        text(&o.stderr)
    );

    // `tern compile` of a component takes the same flags, and `tern run`
    // refuses an artifact made with other ones, naming the feature.
    let cwasm = dir.join("f.cwasm");
    let cwasm = cwasm.to_str().unwrap();
    let o = tern(&cache, &["compile", "-W", "tail-call=n", wat, "-o", cwasm]);
    assert!(!o.status.success(), "compile ignored -W");
    stdout(&tern(&cache, &["compile", wat, "-o", cwasm]));
    let run = |flags: &[&str]| {
        let mut args = vec!["run", "--allow-precompiled"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--invoke", "f()", cwasm]);
        tern(&cache, &args)
    };
    assert_eq!(stdout(&run(&[])), "42\n");
    let o = run(&["-W", "tail-call=n"]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("TAIL_CALL"), "{}", text(&o.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_component_is_cached_whole() {
    let dir = scratch("cache");
    let cache = dir.join("cache");
    let wat = dir.join("f.wat");
    let run = || {
        stdout(&tern(
            &cache,
            &["run", "--invoke", "f()", wat.to_str().unwrap()],
        ))
    };
    assert_eq!(run(), "42\n");
    let stored = entries(&cache);
    assert_eq!(
        stored.len(),
        1,
        "one entry for the whole component: {stored:?}"
    );
    let entry = &stored[0];
    let first = std::fs::metadata(entry).unwrap();
    assert_eq!(run(), "42\n");
    let second = std::fs::metadata(entry).unwrap();
    // A hit refreshes the entry's time (for the cache cleaner's LRU order)
    // but keeps the file.
    assert_eq!(
        first.ino(),
        second.ino(),
        "a miss would have renamed a new file over the entry"
    );
    assert_eq!(entries(&cache), stored);

    // The entry is what runs: put another component's artifact in its place.
    let other = dir.join("seven.wat");
    std::fs::write(&other, component(7)).unwrap();
    let artifact = dir.join("seven.cwasm");
    stdout(&tern(
        &cache,
        &[
            "compile",
            "-C",
            "cache=n",
            other.to_str().unwrap(),
            "-o",
            artifact.to_str().unwrap(),
        ],
    ));
    std::fs::copy(&artifact, entry).unwrap();
    assert_eq!(run(), "7\n", "the second run did not use the cache entry");

    // `-C cache=n` neither reads the entry nor creates a cache.
    let o = tern(
        &cache,
        &[
            "run",
            "-C",
            "cache=n",
            "--invoke",
            "f()",
            wat.to_str().unwrap(),
        ],
    );
    assert_eq!(stdout(&o), "42\n");
    let elsewhere = dir.join("unused");
    let o = tern(
        &elsewhere,
        &[
            "run",
            "-C",
            "cache=n",
            "--invoke",
            "f()",
            wat.to_str().unwrap(),
        ],
    );
    assert_eq!(stdout(&o), "42\n");
    assert!(
        !elsewhere.exists(),
        "-C cache=n created the cache directory"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn profile_perfmap_names_a_components_functions() {
    let dir = scratch("perfmap");
    let child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--profile=perfmap", "--invoke", "f()"])
        .arg(dir.join("f.wat"))
        .env("TERN_CACHE_DIR", dir.join("cache"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let map = PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "42\n");
    let text = std::fs::read_to_string(&map).unwrap();
    std::fs::remove_file(&map).unwrap();
    assert!(
        text.lines()
            .any(|l| l.ends_with("answer") && l.split(' ').count() == 3),
        "{text}"
    );
    // `--profile=jitdump` writes `jit-<pid>.dump` in the current directory,
    // naming the component's core function too.
    let child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--profile=jitdump", "--invoke", "f()"])
        .arg(dir.join("f.wat"))
        .env("TERN_CACHE_DIR", dir.join("cache"))
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dump = dir.join(format!("jit-{}.dump", child.id()));
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "42\n");
    let bytes = std::fs::read(&dump).unwrap();
    assert!(
        bytes.windows(7).any(|w| w == b"answer\0"),
        "the dump names the core function"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The compilation cache and `--profile` through the real binary: `tern run`
//! stores an artifact on the first run and runs it on the second (the entry is
//! left untouched, and substituting it changes what runs), `-C cache=n` neither
//! reads nor writes the cache, the limits of `-C cache-config=FILE` make the
//! cleaner trim the cache, and `--profile=perfmap` writes perf's map
//! (`--profile=jitdump` a jitdump file).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::tern_with_cache as tern;

const FIB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fib.wat");

/// `fib` with another answer, to tell which artifact ran.
const NOT_FIB: &str = r#"(module (func (export "fib") (param i32) (result i32) (i32.const 7)))"#;

/// A fresh scratch directory for the test named `test`; its `cache`
/// subdirectory does not exist yet.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-cli-cache-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The name of the cache cleaner's marker file.
const MARKER: &str = ".cleanup";

/// The cache entries in `cache` (every file but the cleaner's marker).
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| !path.ends_with(MARKER))
        .collect();
    entries.sort();
    entries
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_second_run_is_a_cache_hit() {
    let dir = scratch("hit");
    let cache = dir.join("cache");
    let run = || stdout(&tern(&cache, &["run", "--invoke", "fib", FIB, "20"]));
    assert_eq!(run(), "6765\n");
    let stored = entries(&cache);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let entry = &stored[0];
    let first = std::fs::metadata(entry).unwrap();
    assert_eq!(run(), "6765\n");
    // A miss would have renamed a new file over the entry; a hit refreshes
    // its time, which orders the cache cleaner's deletions.
    let second = std::fs::metadata(entry).unwrap();
    assert_eq!(first.ino(), second.ino());
    assert!(second.modified().unwrap() >= first.modified().unwrap());
    assert_eq!(entries(&cache), stored);

    // The entry is what runs: put another module's artifact in its place.
    let not_fib = dir.join("not_fib.wat");
    std::fs::write(&not_fib, NOT_FIB).unwrap();
    let artifact = dir.join("not_fib.cwasm");
    let o = tern(
        &cache,
        &[
            "compile",
            not_fib.to_str().unwrap(),
            "-o",
            artifact.to_str().unwrap(),
        ],
    );
    stdout(&o);
    std::fs::copy(&artifact, entry).unwrap();
    assert_eq!(run(), "7\n", "the second run did not use the cache entry");

    // `-C cache=n` neither reads the entry nor writes one.
    let uncached = |extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--invoke", "fib", FIB, "20"]);
        stdout(&tern(&cache, &args))
    };
    assert_eq!(uncached(&["-C", "cache=n"]), "6765\n");
    assert_eq!(uncached(&["-Ccache=no"]), "6765\n");
    assert_eq!(
        std::fs::read(entry).unwrap(),
        std::fs::read(&artifact).unwrap()
    );
    let elsewhere = dir.join("unused");
    let o = tern(
        &elsewhere,
        &["run", "-C", "cache=n", "--invoke", "fib", FIB, "5"],
    );
    assert_eq!(stdout(&o), "5\n");
    assert!(
        !elsewhere.exists(),
        "-C cache=n created the cache directory"
    );
    // `-C cache=y` is the default spelled out.
    assert_eq!(uncached(&["-C", "cache=y"]), "7\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_cache_options_are_errors() {
    let dir = scratch("bad");
    let cache = dir.join("cache");
    for (option, message) in [
        ("cache=maybe", "expected `y` or `n`"),
        ("frobnicate=1", "unknown `-C` option `frobnicate`"),
        (
            "cache-config=/nonexistent/tern.toml",
            "failed to read the cache configuration",
        ),
    ] {
        let o = tern(&cache, &["run", "-C", option, "--invoke", "fib", FIB, "5"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{option} was accepted");
        assert!(stderr.contains(message), "{option}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn profile_perfmap_names_the_functions() {
    let dir = scratch("perfmap");
    let child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--profile=perfmap", "--invoke", "fib", FIB, "10"])
        .env("TERN_CACHE_DIR", dir.join("cache"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let map = PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "55\n");
    let text = std::fs::read_to_string(&map).unwrap();
    std::fs::remove_file(&map).unwrap();
    assert!(
        text.lines()
            .any(|l| l.ends_with(" fib::fib") && l.split(' ').count() == 3),
        "{text}"
    );
    // `--profile=jitdump` writes `jit-<pid>.dump` in the current directory,
    // starting with the magic `JiTD` and naming `fib`.
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--profile=jitdump", "--invoke", "fib", FIB, "10"])
        .env("TERN_CACHE_DIR", dir.join("cache"))
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dump = dir.join(format!("jit-{}.dump", child.id()));
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "55\n");
    let bytes = std::fs::read(&dump).unwrap();
    assert_eq!(bytes[..4], 0x4A69_5444u32.to_ne_bytes());
    assert!(
        bytes.windows(9).any(|w| w == b"fib::fib\0"),
        "no `fib::fib` record"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cache_config_names_the_directory() {
    let dir = scratch("config");
    let chosen = dir.join("chosen");
    let file = dir.join("cache.toml");
    std::fs::write(
        &file,
        format!(
            "# Tern cache\n[cache]\nenabled = true\ndirectory = \"{}\"\n",
            chosen.display()
        ),
    )
    .unwrap();
    let option = format!("cache-config={}", file.display());
    let ignored = dir.join("default");
    let o = tern(
        &ignored,
        &["run", "-C", &option, "--invoke", "fib", FIB, "20"],
    );
    assert_eq!(stdout(&o), "6765\n");
    assert_eq!(entries(&chosen).len(), 1);
    assert!(!ignored.exists(), "the file's directory was not used");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cache_config_limits_trim_the_cache() {
    let dir = scratch("limits");
    let cache = dir.join("cache");
    let file = dir.join("cache.toml");
    std::fs::write(
        &file,
        format!(
            "[cache]\nenabled = true\ndirectory = \"{}\"\n\
             file-count-soft-limit = \"1\"\nfile-count-limit-percent-if-deleting = \"100%\"\n",
            cache.display()
        ),
    )
    .unwrap();
    let option = format!("cache-config={}", file.display());
    let not_fib = dir.join("not_fib.wat");
    std::fs::write(&not_fib, NOT_FIB).unwrap();
    let run = |wat: &str| {
        stdout(&tern(
            &cache,
            &["run", "-C", &option, "--invoke", "fib", wat, "20"],
        ))
    };
    assert_eq!(run(FIB), "6765\n");
    let fib_entry = entries(&cache);
    assert_eq!(fib_entry.len(), 1);
    assert!(cache.join(MARKER).is_file(), "the first write cleaned up");
    // fib's entry was last used an hour ago, and so was the last cleanup:
    // the next write finds two entries over the limit of one and deletes
    // the older.
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for path in [&fib_entry[0], &cache.join(MARKER)] {
        std::fs::File::options()
            .append(true)
            .open(path)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
    }
    assert_eq!(run(not_fib.to_str().unwrap()), "7\n");
    let left = entries(&cache);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(left, fib_entry, "the older entry was kept");
    std::fs::remove_dir_all(&dir).unwrap();
}

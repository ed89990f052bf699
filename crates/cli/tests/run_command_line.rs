//! `tern run`'s command line and messages, through the real binary: what a
//! file that is not a module is called, that everything after the module is
//! the guest's (flags included), the guest's `argv[0]`, and how a trap's
//! backtrace reads (code offsets, long ones shortened).

mod common;

use common::{scratch, tern, text};

/// A guest that writes its `argv`, each argument followed by a NUL byte.
const ECHO_ARGV: &str = r#"
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 1024) (i32.const 4096)))
    (i32.store (i32.const 16) (i32.const 4096))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))))
"#;

#[test]
fn random_bytes_are_not_a_module_or_text() {
    let file = scratch("random", "noise.bin");
    // Not `\0asm`, not ELF, not UTF-8 (0xff never appears in UTF-8).
    let noise: Vec<u8> = (0..256u32).map(|i| (i * 167 + 255) as u8).collect();
    assert!(std::str::from_utf8(&noise).is_err());
    std::fs::write(&file, &noise).unwrap();
    for args in [
        vec!["run"],
        vec!["run", "--allow-precompiled"],
        vec!["compile"],
    ] {
        let mut args = args.clone();
        args.push(file.to_str().unwrap());
        let o = tern(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("is not a WebAssembly module or text"),
            "{args:?}: {err}"
        );
        assert!(!err.to_lowercase().contains("utf-8\n"), "{args:?}: {err}");
        assert!(!err.contains("valid utf-8"), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn an_elf_file_is_an_artifact_only_with_terns_header() {
    // The `tern` binary itself is an ELF file, but not a Tern artifact.
    let elf = env!("CARGO_BIN_EXE_tern");
    for args in [
        vec!["run", elf],
        vec!["run", "--allow-precompiled", elf],
        vec!["compile", elf],
    ] {
        let o = tern(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("not a Tern precompiled artifact"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("an ELF executable") || err.contains("an ELF shared object"),
            "says what the file is instead: {err}"
        );
        assert!(!err.contains("--allow-precompiled` if you trust"), "{err}");
    }
}

#[test]
fn everything_after_the_module_belongs_to_the_guest() {
    let file = scratch("argv", "echo.wat");
    std::fs::write(&file, ECHO_ARGV).unwrap();
    let path = file.to_str().unwrap();
    // Flags after the module are the guest's, `--help` and Tern's own included.
    let o = tern(&["run", path, "--help", "--invoke", "x", "-h"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // argv[0] is the file name without its directories, as wasmtime passes it.
    assert_eq!(text(&o.stdout), "echo.wat\0--help\0--invoke\0x\0-h\0");

    // Tern's flags before the module are still Tern's.
    let o = tern(&["run", "--env", "A=1", path]);
    assert_eq!(text(&o.stdout), "echo.wat\0", "{}", text(&o.stderr));

    // A flag Tern does not know, before the module, is an error, not a module.
    let o = tern(&["run", "--bogus", path]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--bogus"), "{}", text(&o.stderr));

    // `tern run --help` is Tern's help.
    let o = tern(&["run", "--help"]);
    assert!(o.status.success());
    assert!(
        text(&o.stdout).contains("Usage: tern run"),
        "{}",
        text(&o.stdout)
    );
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

/// The frame lines of a backtrace printed by `tern run`: (index, offset, name).
fn frames(stderr: &str) -> Vec<(usize, u64, String)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (index, rest) = l.trim_start().split_once(": ")?;
            let (offset, name) = rest.trim_start().split_once(" - ")?;
            Some((
                index.parse().ok()?,
                u64::from_str_radix(offset.strip_prefix("0x")?, 16).ok()?,
                name.to_string(),
            ))
        })
        .collect()
}

#[test]
fn a_deep_recursion_prints_a_readable_backtrace() {
    let file = scratch("deep", "deep.wat");
    std::fs::write(
        &file,
        r#"(module (func $down (export "down") (param i32) (result i32)
             (call $down (i32.add (local.get 0) (i32.const 1)))))"#,
    )
    .unwrap();
    let o = tern(&["run", "--invoke", "down", file.to_str().unwrap(), "0"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(134), "{err}");
    assert!(err.contains("call stack exhausted"), "{err}");
    assert!(
        err.lines().count() < 40,
        "the backtrace is shortened: {err}"
    );

    let shown = frames(&err);
    let elided_line = err
        .lines()
        .find(|l| l.contains(" frames …"))
        .unwrap_or_else(|| panic!("an elision line: {err}"));
    let hidden: usize = elided_line
        .trim()
        .trim_start_matches('…')
        .trim()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Innermost frames from 0 on, outermost up to the last, none lost.
    let (first, last) = (&shown[0], &shown[shown.len() - 1]);
    assert_eq!(first.0, 0, "{err}");
    assert_eq!(last.0 + 1, shown.len() + hidden, "{err}");
    assert!(hidden > 100, "a deep recursion hides many frames: {err}");
    // Every outer frame is the same `call`; the innermost overflowed on
    // entry, which is reported at the start of the function's body.
    let call = shown[1].1;
    assert!(
        call > 0 && call < 100,
        "a module offset in the code section: {err}"
    );
    assert!(first.1 < call, "{err}");
    for (_, offset, name) in &shown[1..] {
        assert_eq!(name, "<unknown>!down", "{err}");
        assert_eq!(*offset, call, "{err}");
    }
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn backtrace_frames_carry_module_offsets() {
    let file = scratch("offsets", "two.wat");
    // The binary is the encoding of this text, so offsets are checked against it.
    let wat = r#"(module
      (func $inner (unreachable))
      (func (export "outer") (nop) (call $inner)))"#;
    std::fs::write(&file, wat).unwrap();
    let o = tern(&["run", "--invoke", "outer", file.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(134), "{err}");
    let shown = frames(&err);
    assert_eq!(shown.len(), 2, "{err}");
    assert_eq!(shown[0].2, "<unknown>!inner", "{err}");
    assert_eq!(shown[1].2, "<unknown>!<wasm function 1>", "{err}");

    // In the binary: `$inner`'s body is size 3, no locals, `unreachable`,
    // `end`; the export's is size 5, no locals, `nop`, `call 0`, `end`.
    let wasm = wat::parse_str(wat).unwrap();
    let find = |pattern: &[u8]| {
        let at = wasm.windows(pattern.len()).position(|w| w == pattern);
        at.unwrap_or_else(|| panic!("{pattern:x?} in {wasm:x?}"))
    };
    let unreachable = find(&[0x03, 0x00, 0x00, 0x0b]) + 2;
    let call = find(&[0x05, 0x00, 0x01, 0x10, 0x00, 0x0b]) + 3;
    assert_eq!(
        shown[0].1, unreachable as u64,
        "`unreachable`'s offset: {err}"
    );
    assert_eq!(shown[1].1, call as u64, "`call $inner`'s offset: {err}");
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

//! Bad guest pointers and lengths: each call fails with `EFAULT` (or
//! `EILSEQ` for a path that is not UTF-8) and the host carries on.

use crate::harness::{errno, Guest, TempDir, RIGHTS_ALL};
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, WasiCtxBuilder};

/// The guest's memory is 4 pages.
const END: i64 = 4 * 65536;

#[test]
fn out_of_bounds_pointers_are_efault() {
    let tmp = TempDir::new("efault");
    std::fs::write(tmp.path().join("f"), "data").unwrap();
    let ctx = WasiCtxBuilder::new()
        .args(&["a".into(), "b".into()])
        .unwrap()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap(),
            "d",
            DirPerms::all(),
            FilePerms::all(),
        )
        .unwrap()
        .build();
    let mut g = Guest::new(ctx);
    let ok = i64::from(g.alloc(64));
    let huge = 0xFFFF_FFF0u32 as i64;
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("args_sizes_get", vec![END - 2, ok]),
        ("args_get", vec![huge, ok]),
        ("args_get", vec![ok, END - 1]),
        ("environ_sizes_get", vec![ok, huge]),
        ("clock_time_get", vec![1, 0, END - 4]),
        ("clock_res_get", vec![0, huge]),
        ("fd_write", vec![1, huge, 1, ok]),
        ("fd_write", vec![1, ok, 0x2000_0000, ok]),
        ("fd_read", vec![0, END - 4, 1, ok]),
        ("fd_fdstat_get", vec![1, END - 8]),
        ("fd_filestat_get", vec![3, END - 63]),
        ("fd_prestat_get", vec![3, huge]),
        ("fd_prestat_dir_name", vec![3, END, 1]),
        ("fd_readdir", vec![3, END - 10, 100, 0, ok]),
        ("fd_readdir", vec![3, ok, 64, 0, huge]),
        (
            "path_open",
            vec![3, 0, huge, 10, 0, RIGHTS_ALL as i64, 0, 0, ok],
        ),
        (
            "path_open",
            vec![3, 0, ok, 0x7FFF_FFFF, 0, RIGHTS_ALL as i64, 0, 0, ok],
        ),
        ("path_create_directory", vec![3, END - 1, 2]),
        ("path_filestat_get", vec![3, 0, huge, 1, ok]),
        ("path_readlink", vec![3, huge, 1, ok, 10, ok]),
        ("path_symlink", vec![huge, 3, 3, ok, 1]),
        ("path_rename", vec![3, huge, 5, 3, ok, 1]),
        ("path_unlink_file", vec![3, ok, huge]),
        ("poll_oneoff", vec![huge, ok, 1, ok]),
        ("poll_oneoff", vec![ok, ok, 0x1000_0000, ok]),
        ("random_get", vec![END - 10, 11]),
        ("random_get", vec![huge, 0x20]),
    ];
    for (name, args) in &cases {
        assert_eq!(g.errno(name, args), errno::FAULT, "{name}{args:?}");
    }
    // An iovec whose buffer lies outside memory.
    let iov = g
        .put(&[(END as u32 - 2).to_le_bytes(), 4u32.to_le_bytes()].concat())
        .0;
    assert_eq!(g.errno("fd_write", &[1, iov, 1, ok]), errno::FAULT);
    // The result pointer of path_open is checked before anything is created.
    let (p, l) = g.put(b"created");
    assert_eq!(
        g.errno("path_open", &[3, 0, p, l, 1, RIGHTS_ALL as i64, 0, 0, huge]),
        errno::FAULT
    );
    assert!(!tmp.path().join("created").exists());
    // Still alive and well.
    assert_eq!(g.read_file(3, "f").unwrap(), b"data");
}

#[test]
fn paths_that_are_not_utf8_are_eilseq() {
    let tmp = TempDir::new("eilseq");
    let ctx = WasiCtxBuilder::new()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap(),
            "d",
            DirPerms::all(),
            FilePerms::all(),
        )
        .unwrap()
        .build();
    let mut g = Guest::new(ctx);
    let (p, l) = g.put(&[0x66, 0xFF, 0x66]);
    assert_eq!(g.errno("path_create_directory", &[3, p, l]), errno::ILSEQ);
    let (p, l) = g.put(b"a\0b");
    assert_eq!(g.errno("path_create_directory", &[3, p, l]), errno::ILSEQ);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_guest_without_memory_gets_efault_not_a_crash() {
    let mut g = Guest::without_memory(WasiCtxBuilder::new().build());
    assert_eq!(g.errno("args_sizes_get", &[0, 4]), errno::FAULT);
    assert_eq!(g.errno("fd_write", &[1, 0, 1, 8]), errno::FAULT);
    assert_eq!(g.errno("random_get", &[0, 0]), 0, "an empty range is fine");
    assert_eq!(g.errno("fd_close", &[0]), 0, "calls without pointers work");
}

#[test]
fn bad_descriptors_and_flags_are_errors() {
    let tmp = TempDir::new("badfd");
    let ctx = WasiCtxBuilder::new()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap(),
            "d",
            DirPerms::all(),
            FilePerms::all(),
        )
        .unwrap()
        .build();
    let mut g = Guest::new(ctx);
    for fd in [-1i64, 4, 1000, i32::MAX as i64] {
        assert_eq!(g.errno("fd_close", &[fd]), errno::BADF);
        assert_eq!(g.errno("fd_sync", &[fd]), errno::BADF);
        assert_eq!(
            g.path_op("path_create_directory", fd as u32, "x"),
            errno::BADF
        );
    }
    assert_eq!(g.path_op("path_create_directory", 1, "x"), errno::NOTDIR);
    let (p, l) = g.put(b"x");
    let ok = i64::from(g.alloc(8));
    assert_eq!(
        g.errno(
            "path_open",
            &[3, 0, p, l, 0x100, RIGHTS_ALL as i64, 0, 0, ok]
        ),
        errno::INVAL
    );
    assert_eq!(
        g.errno(
            "path_open",
            &[3, 0, p, l, 0, RIGHTS_ALL as i64, 0, 0x100, ok]
        ),
        errno::INVAL
    );
    assert_eq!(g.errno("fd_fdstat_set_flags", &[1, 0x100]), errno::INVAL);
}

//! Rights of directories opened with `path_open`, as the official WASI test
//! suite checks them (`directory_seek`, `fs_open_dir_write`): a directory never
//! holds file rights such as `FD_SEEK`, seeking one is `EBADF`, and asking for
//! write rights on one is `EISDIR`, with or without `O_DIRECTORY`.

use crate::harness::{errno, Guest, TempDir, RIGHTS_ALL, RIGHTS_DIR, RIGHTS_WRITE};
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, WasiCtxBuilder};

const DIR: u32 = 3;
const O_DIRECTORY: u32 = 2;
const FD_READ: u64 = 1 << 1;
const FD_SEEK: u64 = 1 << 2;
const FD_TELL: u64 = 1 << 5;
const FD_WRITE: u64 = 1 << 6;
const FD_READDIR: u64 = 1 << 14;
const FD_FILESTAT_GET: u64 = 1 << 21;
const FILETYPE_DIRECTORY: u8 = 3;

fn guest(tmp: &TempDir) -> Guest {
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    std::fs::write(tmp.path().join("file.txt"), b"text").unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap(),
            "/d",
            DirPerms::all(),
            FilePerms::all(),
        )
        .unwrap()
        .build();
    Guest::new(ctx)
}

/// `fd_fdstat_get(fd)`: (filetype, rights base).
fn fdstat(g: &mut Guest, fd: u32) -> (u8, u64) {
    let out = i64::from(g.alloc(24));
    assert_eq!(g.errno("fd_fdstat_get", &[fd.into(), out]), 0);
    (g.get(out, 1)[0], g.u64_at(out + 8))
}

#[test]
fn a_directory_opened_with_seek_rights_does_not_hold_them() {
    let tmp = TempDir::new("dir-seek");
    let mut g = guest(&tmp);
    for oflags in [O_DIRECTORY, 0] {
        let fd = g
            .open(DIR, "sub", 0, oflags, FD_SEEK | FD_TELL | FD_READDIR, 0)
            .unwrap();
        let (filetype, base) = fdstat(&mut g, fd);
        assert_eq!(filetype, FILETYPE_DIRECTORY);
        assert_eq!(base & FD_SEEK, 0, "a directory has no FD_SEEK: {base:#x}");
        assert_eq!(base & FD_TELL, 0, "a directory has no FD_TELL: {base:#x}");
        assert_eq!(base & FD_READDIR, FD_READDIR, "directory rights stay");

        let pos = i64::from(g.alloc(8));
        assert_eq!(g.errno("fd_seek", &[fd.into(), 0, 1, pos]), errno::BADF);
        assert_eq!(g.errno("fd_seek", &[fd.into(), 5, 0, pos]), errno::BADF);
        assert_eq!(g.errno("fd_tell", &[fd.into(), pos]), errno::BADF);
        assert_eq!(g.read(fd, 4), Err(errno::ISDIR));
        assert_eq!(g.errno("fd_close", &[fd.into()]), 0);
    }
    // Every directory right asked for (and none of a file's) is kept.
    let fd = g.open(DIR, "sub", 0, O_DIRECTORY, RIGHTS_DIR, 0).unwrap();
    let (_, base) = fdstat(&mut g, fd);
    assert_eq!(base & (FD_READ | FD_SEEK | FD_TELL | FD_WRITE), 0);
    assert_eq!(
        base & (FD_READDIR | FD_FILESTAT_GET),
        FD_READDIR | FD_FILESTAT_GET
    );
    // A file opened with the same request keeps its seek rights.
    let file = g
        .open(DIR, "file.txt", 0, 0, FD_READ | FD_SEEK | FD_TELL, 0)
        .unwrap();
    let (_, base) = fdstat(&mut g, file);
    assert_eq!(
        base & (FD_READ | FD_SEEK | FD_TELL),
        FD_READ | FD_SEEK | FD_TELL
    );
}

#[test]
fn opening_a_directory_for_writing_is_eisdir() {
    let tmp = TempDir::new("dir-write");
    let mut g = guest(&tmp);
    for right in [FD_WRITE, RIGHTS_WRITE, RIGHTS_ALL] {
        for oflags in [0, O_DIRECTORY] {
            assert_eq!(
                g.open(DIR, "sub", 0, oflags, right, 0),
                Err(errno::ISDIR),
                "rights {right:#x}, oflags {oflags}"
            );
            assert_eq!(
                g.open(DIR, ".", 0, oflags, right, 0),
                Err(errno::ISDIR),
                "the directory itself, rights {right:#x}, oflags {oflags}"
            );
        }
    }
    // Without write rights the directory opens; a file opens for writing.
    assert!(g.open(DIR, "sub", 0, O_DIRECTORY, FD_READDIR, 0).is_ok());
    assert!(g.open(DIR, "file.txt", 0, 0, FD_WRITE, 0).is_ok());
    // A file asked for as a directory is still `ENOTDIR`, write rights or not.
    assert_eq!(
        g.open(DIR, "file.txt", 0, O_DIRECTORY, RIGHTS_ALL, 0),
        Err(errno::NOTDIR)
    );
}

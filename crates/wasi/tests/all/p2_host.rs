//! The WASI 0.2 host called the way a guest's calls reach it (through the
//! `bindgen!` traits), with bad input: forged and mistyped handles, a
//! descriptor dropped while its stream lives, writes beyond `check-write`,
//! and the sandbox's escape attempts. Each must be a WIT error code or a
//! trap (`Err`), never a host panic or an escape.

use std::path::PathBuf;
use tern::component::{Resource, ResourceTable};
use tern_wasi::p2::bindings::wasi::cli::exit::Host as _;
use tern_wasi::p2::bindings::wasi::cli::stdout::Host as _;
use tern_wasi::p2::bindings::wasi::filesystem::preopens::Host as _;
use tern_wasi::p2::bindings::wasi::filesystem::types::{
    Descriptor, DescriptorFlags, ErrorCode, HostDescriptor, OpenFlags, PathFlags,
};
use tern_wasi::p2::bindings::wasi::io::poll::Host as _;
use tern_wasi::p2::bindings::wasi::io::streams::{HostInputStream, HostOutputStream, OutputStream};
use tern_wasi::p2::{FsError, StreamError, WasiView};
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, I32Exit, WasiCtx, WasiCtxBuilder, WritePipe};

struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
    fn ctx(&mut self) -> &mut WasiCtx {
        &mut self.ctx
    }
}

/// A scratch directory below a fresh parent (so `..` from it is real),
/// removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let parent = std::env::temp_dir().join(format!("tern-p2-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        std::fs::create_dir_all(parent.join("sandbox")).unwrap();
        std::fs::write(parent.join("secret.txt"), "outside").unwrap();
        Scratch(parent)
    }
    fn sandbox(&self) -> PathBuf {
        self.0.join("sandbox")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn host(dir: &std::path::Path, stdout: &WritePipe<std::io::Cursor<Vec<u8>>>) -> Host {
    let ctx = WasiCtxBuilder::new()
        .stdout(Box::new(stdout.clone()))
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(dir, ambient_authority()).unwrap(),
            "/",
            DirPerms::all(),
            FilePerms::all(),
        )
        .unwrap()
        .build();
    Host {
        ctx,
        table: ResourceTable::new(),
    }
}

fn preopen(h: &mut Host) -> Resource<Descriptor> {
    let mut dirs = h.get_directories().unwrap();
    assert_eq!(dirs.len(), 1);
    assert_eq!(dirs[0].1, "/");
    dirs.remove(0).0
}

fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

fn code<T: std::fmt::Debug>(r: Result<T, FsError>) -> ErrorCode {
    match r {
        Err(FsError::Code(c)) => c,
        other => panic!("expected an error code, got {other:?}"),
    }
}

fn open(
    h: &mut Host,
    dir: &Resource<Descriptor>,
    path: &str,
    follow: bool,
) -> Result<Resource<Descriptor>, FsError> {
    let pf = if follow {
        PathFlags::SYMLINK_FOLLOW
    } else {
        PathFlags::empty()
    };
    h.open_at(
        borrow(dir),
        pf,
        path.to_string(),
        OpenFlags::empty(),
        DescriptorFlags::READ,
    )
}

#[test]
fn forged_and_mistyped_handles_trap() {
    let s = Scratch::new("handles");
    let mut h = host(&s.sandbox(), &WritePipe::new_in_memory());
    let dir = preopen(&mut h);
    // A handle the table never gave out.
    let r = h.check_write(Resource::new_borrow(9999));
    assert!(matches!(r, Err(StreamError::Trap(_))), "{r:?}");
    // A descriptor's handle used as an output stream.
    let r = h.check_write(Resource::<OutputStream>::new_borrow(dir.rep()));
    assert!(matches!(r, Err(StreamError::Trap(_))), "{r:?}");
    assert!(matches!(
        h.stat(Resource::new_borrow(4242)),
        Err(FsError::Trap(_))
    ));
    // Dropping twice: the second drop finds nothing.
    let d2 = Resource::<Descriptor>::new_own(dir.rep());
    HostDescriptor::drop(&mut h, dir).unwrap();
    assert!(HostDescriptor::drop(&mut h, d2).is_err());
    // `poll` over nothing traps.
    assert!(h.poll(Vec::new()).is_err());
}

#[test]
fn a_descriptor_with_a_live_stream_cannot_be_dropped() {
    let s = Scratch::new("children");
    std::fs::write(s.sandbox().join("f.txt"), "abc").unwrap();
    let mut h = host(&s.sandbox(), &WritePipe::new_in_memory());
    let dir = preopen(&mut h);
    let file = open(&mut h, &dir, "f.txt", false).unwrap();
    let stream = h.read_via_stream(borrow(&file), 0).unwrap();
    let file_again = Resource::<Descriptor>::new_own(file.rep());
    assert!(
        HostDescriptor::drop(&mut h, file).is_err(),
        "parent dropped with a live child"
    );
    assert_eq!(
        HostInputStream::read(&mut h, borrow(&stream), 10).unwrap(),
        b"abc"
    );
    // At the end the stream is closed, from then on.
    assert!(matches!(
        HostInputStream::read(&mut h, borrow(&stream), 10),
        Err(StreamError::Closed)
    ));
    assert!(matches!(
        HostInputStream::read(&mut h, borrow(&stream), 10),
        Err(StreamError::Closed)
    ));
    HostInputStream::drop(&mut h, stream).unwrap();
    HostDescriptor::drop(&mut h, file_again).unwrap();
}

#[test]
fn writes_beyond_check_write_trap() {
    let s = Scratch::new("budget");
    let out = WritePipe::new_in_memory();
    let mut h = host(&s.sandbox(), &out);
    let stdout = h.get_stdout().unwrap();
    // No `check-write` yet: nothing is permitted.
    let r = HostOutputStream::write(&mut h, borrow(&stdout), b"x".to_vec());
    assert!(matches!(r, Err(StreamError::Trap(_))), "{r:?}");
    let n = h.check_write(borrow(&stdout)).unwrap();
    assert!(n >= 4096);
    HostOutputStream::write(&mut h, borrow(&stdout), b"hello ".to_vec()).unwrap();
    let r = HostOutputStream::write(&mut h, borrow(&stdout), vec![b'y'; n as usize]);
    assert!(matches!(r, Err(StreamError::Trap(_))), "{r:?}");
    h.blocking_write_and_flush(borrow(&stdout), b"world".to_vec())
        .unwrap();
    let r = h.blocking_write_and_flush(borrow(&stdout), vec![0; 4097]);
    assert!(matches!(r, Err(StreamError::Trap(_))), "{r:?}");
    // A huge `write-zeroes` traps before the host allocates anything.
    let r = h.write_zeroes(borrow(&stdout), u64::MAX);
    assert!(matches!(r, Err(StreamError::Trap(_))), "{r:?}");
    // The bytes reach the embedder's pipe, as preview 1's do.
    assert_eq!(out.contents(), b"hello world");
}

#[test]
fn paths_cannot_leave_the_preopen() {
    let s = Scratch::new("escape");
    let sandbox = s.sandbox();
    std::fs::create_dir(sandbox.join("sub")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", sandbox.join("out-rel")).unwrap();
    std::os::unix::fs::symlink(s.0.join("secret.txt"), sandbox.join("out-abs")).unwrap();
    std::os::unix::fs::symlink("sub", sandbox.join("in")).unwrap();
    let mut h = host(&sandbox, &WritePipe::new_in_memory());
    let dir = preopen(&mut h);
    for path in ["../secret.txt", "sub/../../secret.txt", "/etc/passwd"] {
        assert_eq!(
            code(open(&mut h, &dir, path, false)),
            ErrorCode::NotPermitted,
            "{path}"
        );
    }
    for path in ["out-rel", "out-abs"] {
        assert_eq!(
            code(open(&mut h, &dir, path, true)),
            ErrorCode::NotPermitted,
            "{path}"
        );
        // Not following, the link itself cannot be opened as a file.
        assert_eq!(
            code(open(&mut h, &dir, path, false)),
            ErrorCode::Loop,
            "{path}"
        );
    }
    // A link that stays inside is followed.
    assert!(open(&mut h, &dir, "in", true).is_ok());
    // The guest cannot make an escaping link.
    for target in ["../secret.txt", "/etc", "sub/../../x"] {
        let r = h.symlink_at(borrow(&dir), target.to_string(), "mine".to_string());
        assert_eq!(code(r), ErrorCode::NotPermitted, "{target}");
    }
    h.symlink_at(borrow(&dir), "sub".to_string(), "mine".to_string())
        .unwrap();
    assert_eq!(
        h.readlink_at(borrow(&dir), "mine".to_string()).unwrap(),
        "sub"
    );
    assert_eq!(
        code(h.stat_at(
            borrow(&dir),
            PathFlags::SYMLINK_FOLLOW,
            "out-abs".to_string()
        )),
        ErrorCode::NotPermitted
    );
}

#[test]
fn read_only_preopens_refuse_writes() {
    let s = Scratch::new("perms");
    std::fs::write(s.sandbox().join("f.txt"), "abc").unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(s.sandbox(), ambient_authority()).unwrap(),
            ".",
            DirPerms::READ,
            FilePerms::READ,
        )
        .unwrap()
        .build();
    let mut h = Host {
        ctx,
        table: ResourceTable::new(),
    };
    let dir = preopen_named(&mut h, ".");
    let r = h.open_at(
        borrow(&dir),
        PathFlags::empty(),
        "f.txt".to_string(),
        OpenFlags::empty(),
        DescriptorFlags::READ | DescriptorFlags::WRITE,
    );
    assert_eq!(code(r), ErrorCode::NotPermitted);
    let r = h.create_directory_at(borrow(&dir), "d".to_string());
    assert_eq!(code(r), ErrorCode::NotPermitted);
    let f = open(&mut h, &dir, "f.txt", false).unwrap();
    assert_eq!(
        code(h.write_via_stream(borrow(&f), 0)),
        ErrorCode::BadDescriptor
    );
    assert_eq!(
        HostDescriptor::read(&mut h, borrow(&f), 10, 1).unwrap(),
        (b"bc".to_vec(), false)
    );
    assert_eq!(
        HostDescriptor::read(&mut h, borrow(&f), 10, 3).unwrap(),
        (Vec::new(), true)
    );
}

fn preopen_named(h: &mut Host, name: &str) -> Resource<Descriptor> {
    let mut dirs = h.get_directories().unwrap();
    assert_eq!(dirs[0].1, name);
    dirs.remove(0).0
}

#[test]
fn exit_ends_the_call_with_its_code() {
    let s = Scratch::new("exit");
    let mut h = host(&s.sandbox(), &WritePipe::new_in_memory());
    let code = |r: tern::Result<()>| r.unwrap_err().downcast_ref::<I32Exit>().map(|e| e.0);
    assert_eq!(code(h.exit(Ok(()))), Some(0));
    assert_eq!(code(h.exit(Err(()))), Some(1));
    assert_eq!(code(h.exit_with_code(42)), Some(42));
    assert_eq!(code(h.exit_with_code(255)), Some(255));
}

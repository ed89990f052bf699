//! Each WASI function through the embedding API: arguments, environment,
//! standard streams, files and directories, clocks, polling, randomness, exit.

use crate::harness::{errno, Guest, TempDir, RIGHTS_ALL, RIGHTS_DIR};
use std::fs;
use std::time::{Duration, Instant, SystemTime};
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, I32Exit, ReadPipe, WasiCtxBuilder, WasiRandom, WritePipe};

const DIR: u32 = 3;

fn dir_guest(tmp: &TempDir) -> Guest {
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

#[test]
fn args_and_environment() {
    let ctx = WasiCtxBuilder::new()
        .args(&["prog".into(), "one".into(), "two words".into()])
        .unwrap()
        .env("A", "1")
        .unwrap()
        .env("B", "x=y")
        .unwrap()
        .build();
    let mut g = Guest::new(ctx);
    let (n, size) = (i64::from(g.alloc(4)), i64::from(g.alloc(4)));
    assert_eq!(g.errno("args_sizes_get", &[n, size]), 0);
    assert_eq!((g.u32_at(n), g.u32_at(size)), (3, 5 + 4 + 10));
    let (argv, buf) = (i64::from(g.alloc(12)), i64::from(g.alloc(19)));
    assert_eq!(g.errno("args_get", &[argv, buf]), 0);
    assert_eq!(g.get(buf, 19), b"prog\0one\0two words\0");
    assert_eq!(g.u32_at(argv + 8) as i64, buf + 9);

    assert_eq!(g.errno("environ_sizes_get", &[n, size]), 0);
    assert_eq!((g.u32_at(n), g.u32_at(size)), (2, 4 + 6));
    let (env, buf) = (i64::from(g.alloc(8)), i64::from(g.alloc(10)));
    assert_eq!(g.errno("environ_get", &[env, buf]), 0);
    assert_eq!(g.get(buf, 10), b"A=1\0B=x=y\0");
    assert_eq!(g.u32_at(env + 4) as i64, buf + 4);
}

#[test]
fn builder_refuses_what_wasi_cannot_carry() {
    assert!(WasiCtxBuilder::new().arg("a\0b").is_err());
    assert!(WasiCtxBuilder::new().env("A=B", "c").is_err());
    assert!(WasiCtxBuilder::new().env("", "c").is_err());
    let missing = std::env::temp_dir().join("tern-wasi-no-such-dir");
    assert!(Dir::open_ambient_dir(&missing, ambient_authority()).is_err());
    let dir = Dir::open_ambient_dir(std::env::temp_dir(), ambient_authority()).unwrap();
    assert!(WasiCtxBuilder::new()
        .preopened_dir(dir, "bad\0name")
        .is_err());
}

#[test]
fn captured_standard_streams() {
    let (out, err) = (WritePipe::new_in_memory(), WritePipe::new_in_memory());
    let ctx = WasiCtxBuilder::new()
        .stdin(Box::new(ReadPipe::from("typed input")))
        .stdout(Box::new(out.clone()))
        .stderr(Box::new(err.clone()))
        .build();
    let mut g = Guest::new(ctx);
    assert_eq!(g.read(0, 5).unwrap(), b"typed");
    assert_eq!(g.read(0, 100).unwrap(), b" input");
    assert_eq!(g.read(0, 100).unwrap(), b"");
    assert_eq!(g.write(1, b"to stdout"), Ok(9));
    assert_eq!(g.write(2, b"to stderr"), Ok(9));
    assert_eq!(out.contents(), b"to stdout");
    assert_eq!(err.contents(), b"to stderr");
    // Wrong directions and seeking a stream.
    assert_eq!(g.write(0, b"x"), Err(errno::BADF));
    assert_eq!(g.read(1, 1), Err(errno::BADF));
    let pos = i64::from(g.alloc(8));
    assert_eq!(g.errno("fd_seek", &[1, 0, 0, pos]), errno::NOTCAPABLE);
    // Gathered write of several buffers.
    let (a, al) = g.put(b"ab");
    let (c, cl) = g.put(b"cde");
    let iovs = g
        .put(
            &[
                (a as u32).to_le_bytes(),
                (al as u32).to_le_bytes(),
                (c as u32).to_le_bytes(),
                (cl as u32).to_le_bytes(),
            ]
            .concat(),
        )
        .0;
    let n = i64::from(g.alloc(4));
    assert_eq!(g.errno("fd_write", &[1, iovs, 2, n]), 0);
    assert_eq!(g.u32_at(n), 5);
    assert_eq!(out.contents(), b"to stdoutabcde");
    // Default streams: empty input, discarded output.
    let mut g = Guest::empty();
    assert_eq!(g.read(0, 10).unwrap(), b"");
    assert_eq!(g.write(1, b"gone"), Ok(4));
}

#[test]
fn files_read_write_seek_and_stat() {
    let tmp = TempDir::new("files");
    let mut g = dir_guest(&tmp);
    let fd = g.open(DIR, "f.txt", 0, 1 | 4, RIGHTS_ALL, 0).unwrap(); // CREAT | EXCL
    assert_eq!(
        g.open(DIR, "f.txt", 0, 1 | 4, RIGHTS_ALL, 0),
        Err(errno::EXIST)
    );
    assert_eq!(g.write(fd, b"hello world"), Ok(11));
    let pos = i64::from(g.alloc(8));
    assert_eq!(g.errno("fd_tell", &[fd.into(), pos]), 0);
    assert_eq!(g.u64_at(pos), 11);
    assert_eq!(g.errno("fd_seek", &[fd.into(), 6, 0, pos]), 0);
    assert_eq!(g.u64_at(pos), 6);
    assert_eq!(g.read(fd, 100).unwrap(), b"world");
    assert_eq!(g.errno("fd_seek", &[fd.into(), -5, 2, pos]), 0);
    assert_eq!(g.u64_at(pos), 6);
    assert_eq!(g.errno("fd_seek", &[fd.into(), -100, 1, pos]), errno::INVAL);
    assert_eq!(g.errno("fd_seek", &[fd.into(), 0, 7, pos]), errno::INVAL);

    // pread/pwrite leave the position alone.
    let (b, bl) = g.put(b"HELLO");
    let iov = g
        .put(&[(b as u32).to_le_bytes(), (bl as u32).to_le_bytes()].concat())
        .0;
    let n = i64::from(g.alloc(4));
    assert_eq!(g.errno("fd_pwrite", &[fd.into(), iov, 1, 0, n]), 0);
    assert_eq!(g.u32_at(n), 5);
    let buf = g.alloc(4);
    let iov = g.put(&[buf.to_le_bytes(), 4u32.to_le_bytes()].concat()).0;
    assert_eq!(g.errno("fd_pread", &[fd.into(), iov, 1, 3, n]), 0);
    assert_eq!(g.get(buf.into(), g.u32_at(n) as usize), b"LO w");
    assert_eq!(g.errno("fd_tell", &[fd.into(), pos]), 0);
    assert_eq!(g.u64_at(pos), 6);
    assert_eq!(
        fs::read_to_string(tmp.path().join("f.txt")).unwrap(),
        "HELLO world"
    );

    // Stat, truncate, extend, times.
    let st = i64::from(g.alloc(64));
    assert_eq!(g.errno("fd_filestat_get", &[fd.into(), st]), 0);
    assert_eq!(g.get(st + 16, 1)[0], 4, "regular file");
    assert_eq!(g.u64_at(st + 32), 11, "size");
    assert_eq!(g.u64_at(st + 24), 1, "nlink");
    assert_eq!(g.errno("fd_filestat_set_size", &[fd.into(), 5]), 0);
    assert_eq!(
        fs::read_to_string(tmp.path().join("f.txt")).unwrap(),
        "HELLO"
    );
    assert_eq!(g.errno("fd_allocate", &[fd.into(), 0, 100]), 0);
    assert_eq!(fs::metadata(tmp.path().join("f.txt")).unwrap().len(), 100);
    let t = 1_600_000_000_123_456_789i64;
    assert_eq!(
        g.errno("fd_filestat_set_times", &[fd.into(), t, t, 1 | 4]),
        0
    );
    assert_eq!(g.errno("fd_filestat_get", &[fd.into(), st]), 0);
    assert_eq!(g.u64_at(st + 48), t as u64, "mtim");
    assert_eq!(g.u64_at(st + 40), t as u64, "atim");
    assert_eq!(
        g.errno("fd_filestat_set_times", &[fd.into(), t, t, 1 | 2]),
        errno::INVAL
    );
    let (p, l) = g.put(b"f.txt");
    assert_eq!(
        g.errno(
            "path_filestat_set_times",
            &[3, 0, p, l, 0, t + 1_000_000_000, 4]
        ),
        0
    );
    assert_eq!(g.errno("path_filestat_get", &[3, 0, p, l, st]), 0);
    assert_eq!(g.u64_at(st + 48), (t + 1_000_000_000) as u64);

    // Sync, advise, fdstat.
    assert_eq!(g.errno("fd_sync", &[fd.into()]), 0);
    assert_eq!(g.errno("fd_datasync", &[fd.into()]), 0);
    assert_eq!(g.errno("fd_advise", &[fd.into(), 0, 0, 1]), 0);
    assert_eq!(g.errno("fd_advise", &[fd.into(), 0, 0, 9]), errno::INVAL);
    let fdstat = i64::from(g.alloc(24));
    assert_eq!(g.errno("fd_fdstat_get", &[fd.into(), fdstat]), 0);
    assert_eq!(g.get(fdstat, 1)[0], 4);
    assert_eq!(g.errno("fd_fdstat_get", &[3, fdstat]), 0);
    assert_eq!(g.get(fdstat, 1)[0], 3, "the preopen is a directory");

    // Close: the number is free afterwards.
    assert_eq!(g.errno("fd_close", &[fd.into()]), 0);
    assert_eq!(g.errno("fd_close", &[fd.into()]), errno::BADF);
    assert_eq!(g.read(fd, 1), Err(errno::BADF));
}

#[test]
fn append_flag_and_rights() {
    let tmp = TempDir::new("append");
    fs::write(tmp.path().join("log"), "one\n").unwrap();
    let mut g = dir_guest(&tmp);
    let fd = g.open(DIR, "log", 0, 0, RIGHTS_ALL, 1).unwrap(); // APPEND
    let pos = i64::from(g.alloc(8));
    assert_eq!(g.errno("fd_seek", &[fd.into(), 0, 0, pos]), 0);
    assert_eq!(g.write(fd, b"two\n"), Ok(4));
    assert_eq!(
        fs::read_to_string(tmp.path().join("log")).unwrap(),
        "one\ntwo\n"
    );
    // Clear APPEND: writes land at the position again.
    assert_eq!(g.errno("fd_fdstat_set_flags", &[fd.into(), 0]), 0);
    assert_eq!(g.errno("fd_seek", &[fd.into(), 0, 0, pos]), 0);
    assert_eq!(g.write(fd, b"ONE"), Ok(3));
    assert_eq!(
        fs::read_to_string(tmp.path().join("log")).unwrap(),
        "ONE\ntwo\n"
    );
    assert_eq!(
        g.errno("fd_fdstat_set_flags", &[fd.into(), 16]),
        58,
        "SYNC cannot be set later: ENOTSUP"
    );
    // Rights only shrink, and shrunk rights are enforced.
    const FD_READ: i64 = 1 << 1;
    assert_eq!(g.errno("fd_fdstat_set_rights", &[fd.into(), FD_READ, 0]), 0);
    assert_eq!(g.write(fd, b"x"), Err(errno::NOTCAPABLE));
    assert_eq!(
        g.errno("fd_fdstat_set_rights", &[fd.into(), FD_READ | (1 << 6), 0]),
        errno::NOTCAPABLE
    );
    let fdstat = i64::from(g.alloc(24));
    assert_eq!(g.errno("fd_fdstat_get", &[fd.into(), fdstat]), 0);
    assert_eq!(g.u64_at(fdstat + 8), FD_READ as u64);
}

#[test]
fn directories_create_list_rename_remove() {
    let tmp = TempDir::new("dirs");
    let mut g = dir_guest(&tmp);
    assert_eq!(g.path_op("path_create_directory", DIR, "a"), 0);
    assert_eq!(g.path_op("path_create_directory", DIR, "a"), errno::EXIST);
    assert_eq!(g.path_op("path_create_directory", DIR, "a/b/"), 0);
    assert!(tmp.path().join("a/b").is_dir());
    let names: Vec<String> = (0..40)
        .map(|i| format!("file-with-a-longer-name-{i:02}"))
        .collect();
    for n in &names {
        let fd = g.open(DIR, &format!("a/{n}"), 0, 1, RIGHTS_ALL, 0).unwrap();
        assert_eq!(g.errno("fd_close", &[fd.into()]), 0);
    }
    // List with a small buffer, following cookies, as libc does.
    let dfd = g.open(DIR, "a", 0, 2, RIGHTS_DIR, 0).unwrap();
    let mut seen = Vec::new();
    let mut cookie = 0u64;
    let buf = g.alloc(256);
    let used = i64::from(g.alloc(4));
    loop {
        assert_eq!(
            g.errno(
                "fd_readdir",
                &[dfd.into(), buf.into(), 256, cookie as i64, used]
            ),
            0
        );
        let n = g.u32_at(used) as usize;
        let bytes = g.get(buf.into(), n);
        let mut off = 0;
        let mut progressed = false;
        while off + 24 <= n {
            let next = u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap());
            let namlen = u32::from_le_bytes(bytes[off + 16..off + 20].try_into().unwrap()) as usize;
            if off + 24 + namlen > n {
                break;
            }
            seen.push((
                String::from_utf8(bytes[off + 24..off + 24 + namlen].to_vec()).unwrap(),
                bytes[off + 20],
            ));
            cookie = next;
            progressed = true;
            off += 24 + namlen;
        }
        if n < 256 {
            break;
        }
        assert!(progressed, "a 256-byte buffer holds at least one entry");
    }
    let mut files: Vec<_> = seen
        .iter()
        .filter(|(n, _)| n != "." && n != "..")
        .cloned()
        .collect();
    files.sort();
    let mut expected: Vec<_> = names
        .iter()
        .map(|n| (n.clone(), 4u8))
        .chain([("b".to_string(), 3u8)])
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    assert!(seen.iter().any(|(n, t)| n == "." && *t == 3));

    // Rename a file across directories and a directory; remove.
    assert_eq!(
        g.rename(DIR, "a/file-with-a-longer-name-00", "a/b/moved"),
        0
    );
    assert!(tmp.path().join("a/b/moved").is_file());
    assert_eq!(g.rename(DIR, "a/b", "c"), 0);
    assert!(tmp.path().join("c/moved").is_file());
    assert_eq!(
        g.path_op("path_remove_directory", DIR, "c"),
        errno::NOTEMPTY
    );
    assert_eq!(g.path_op("path_unlink_file", DIR, "c"), errno::ISDIR);
    assert_eq!(
        g.path_op("path_unlink_file", DIR, "c/moved/"),
        errno::NOTDIR
    );
    assert_eq!(g.path_op("path_unlink_file", DIR, "c/moved"), 0);
    assert_eq!(g.path_op("path_remove_directory", DIR, "c"), 0);
    assert_eq!(g.path_op("path_remove_directory", DIR, "c"), errno::NOENT);
    assert!(!tmp.path().join("c").exists());
    assert_eq!(
        g.open(DIR, "a/file-with-a-longer-name-01", 0, 2, RIGHTS_ALL, 0),
        Err(errno::NOTDIR)
    );
    assert_eq!(g.read(dfd, 10), Err(errno::ISDIR));
    assert_eq!(g.open(DIR, "", 0, 0, RIGHTS_ALL, 0), Err(errno::NOENT));
}

#[test]
fn symlinks_and_hard_links_inside() {
    let tmp = TempDir::new("links");
    fs::write(tmp.path().join("t.txt"), "target").unwrap();
    let mut g = dir_guest(&tmp);
    assert_eq!(g.symlink("t.txt", DIR, "l"), 0);
    let (p, l) = g.put(b"l");
    let buf = i64::from(g.alloc(32));
    let used = i64::from(g.alloc(4));
    assert_eq!(g.errno("path_readlink", &[3, p, l, buf, 32, used]), 0);
    assert_eq!(g.get(buf, g.u32_at(used) as usize), b"t.txt");
    assert_eq!(g.errno("path_readlink", &[3, p, l, buf, 3, used]), 0);
    assert_eq!(g.u32_at(used), 3, "cut to the buffer");
    assert_eq!(g.stat_type(DIR, "l", false), Ok(7));
    assert_eq!(g.stat_type(DIR, "l", true), Ok(4));
    let (o, ol) = g.put(b"t.txt");
    let (n, nl) = g.put(b"hard");
    assert_eq!(g.errno("path_link", &[3, 0, o, ol, 3, n, nl]), 0);
    assert_eq!(
        fs::read_to_string(tmp.path().join("hard")).unwrap(),
        "target"
    );
    let (p, l) = g.put(b"t.txt");
    assert_eq!(
        g.errno("path_readlink", &[3, p, l, buf, 32, used]),
        errno::INVAL,
        "not a link"
    );
}

#[test]
fn descriptors_renumber() {
    let tmp = TempDir::new("renumber");
    fs::write(tmp.path().join("x"), "x").unwrap();
    let mut g = dir_guest(&tmp);
    let a = g.open(DIR, "x", 0, 0, RIGHTS_ALL, 0).unwrap();
    let b = g.open(DIR, "x", 0, 0, RIGHTS_ALL, 0).unwrap();
    assert_eq!((a, b), (4, 5), "lowest free numbers after the preopen");
    assert_eq!(g.errno("fd_renumber", &[a.into(), b.into()]), 0);
    assert_eq!(g.read(a, 1), Err(errno::BADF));
    assert_eq!(g.read(b, 1).unwrap(), b"x");
    assert_eq!(g.errno("fd_renumber", &[b.into(), 77]), errno::BADF);
    assert_eq!(g.open(DIR, "x", 0, 0, RIGHTS_ALL, 0), Ok(4));
}

#[test]
fn clocks() {
    let mut g = Guest::empty();
    let out = i64::from(g.alloc(8));
    for id in 0..4 {
        assert_eq!(g.errno("clock_res_get", &[id, out]), 0);
        assert!(
            g.u64_at(out) > 0 && g.u64_at(out) <= 1_000_000,
            "clock {id} resolution"
        );
    }
    assert_eq!(g.errno("clock_res_get", &[9, out]), errno::INVAL);
    assert_eq!(g.errno("clock_time_get", &[9, 0, out]), errno::INVAL);
    assert_eq!(g.errno("clock_time_get", &[0, 0, out]), 0);
    let host = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        host.abs_diff(g.u64_at(out)) < 5_000_000_000,
        "realtime close to the host's"
    );
    assert_eq!(g.errno("clock_time_get", &[1, 0, out]), 0);
    let t0 = g.u64_at(out);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(g.errno("clock_time_get", &[1, 0, out]), 0);
    assert!(g.u64_at(out) >= t0 + 5_000_000, "monotonic advances");
}

fn clock_subscription(userdata: u64, id: u32, timeout: u64, flags: u16) -> Vec<u8> {
    let mut s = vec![0u8; 48];
    s[0..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = 0;
    s[16..20].copy_from_slice(&id.to_le_bytes());
    s[24..32].copy_from_slice(&timeout.to_le_bytes());
    s[40..42].copy_from_slice(&flags.to_le_bytes());
    s
}

#[test]
fn poll_oneoff_sleeps_and_reports() {
    let mut g = Guest::empty();
    let subs = g
        .put(
            &[
                clock_subscription(7, 1, 30_000_000, 0),
                clock_subscription(8, 1, 5_000_000_000, 0),
            ]
            .concat(),
        )
        .0;
    let events = i64::from(g.alloc(64));
    let n = i64::from(g.alloc(4));
    let start = Instant::now();
    assert_eq!(g.errno("poll_oneoff", &[subs, events, 2, n]), 0);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(30) && took < Duration::from_secs(4),
        "slept {took:?}"
    );
    assert_eq!(g.u32_at(n), 1, "only the first timer fired");
    assert_eq!(g.u64_at(events), 7);
    assert_eq!(g.get(events + 8, 3), [0, 0, 0], "no error, clock event");

    // An absolute deadline in the past returns at once.
    let subs = g.put(&clock_subscription(9, 1, 1, 1)).0;
    let start = Instant::now();
    assert_eq!(g.errno("poll_oneoff", &[subs, events, 1, n]), 0);
    assert!(start.elapsed() < Duration::from_millis(500));
    assert_eq!((g.u32_at(n), g.u64_at(events)), (1, 9));

    // Descriptor subscriptions are ready at once; a closed one reports EBADF.
    let mut fd_sub = vec![0u8; 48];
    fd_sub[0] = 3;
    fd_sub[8] = 1;
    fd_sub[16] = 0;
    let mut bad_sub = fd_sub.clone();
    bad_sub[0] = 4;
    bad_sub[16] = 99;
    let subs = g
        .put(&[fd_sub, bad_sub, clock_subscription(5, 1, 10_000_000_000, 0)].concat())
        .0;
    let events = i64::from(g.alloc(96));
    let start = Instant::now();
    assert_eq!(g.errno("poll_oneoff", &[subs, events, 3, n]), 0);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(g.u32_at(n), 2);
    assert_eq!((g.u64_at(events), g.get(events + 8, 2)), (3, vec![0, 0]));
    assert_eq!(
        (g.u64_at(events + 32), g.get(events + 40, 2)),
        (4, vec![errno::BADF as u8, 0])
    );

    assert_eq!(g.errno("poll_oneoff", &[subs, events, 0, n]), errno::INVAL);
    let bad_clock = g.put(&clock_subscription(1, 42, 0, 0)).0;
    assert_eq!(g.errno("poll_oneoff", &[bad_clock, events, 1, n]), 0);
    assert_eq!(g.get(events + 8, 1)[0], errno::INVAL as u8);
}

struct Counting(u8);

impl WasiRandom for Counting {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        for b in buf {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
        Ok(())
    }
}

#[test]
fn random_get_fills_from_the_source() {
    let mut g = Guest::new(WasiCtxBuilder::new().secure_random(Counting(10)).build());
    let buf = i64::from(g.alloc(6));
    assert_eq!(g.errno("random_get", &[buf, 6]), 0);
    assert_eq!(g.get(buf, 6), [10, 11, 12, 13, 14, 15]);
    let mut g = Guest::empty();
    let (a, b) = (i64::from(g.alloc(32)), i64::from(g.alloc(32)));
    assert_eq!(g.errno("random_get", &[a, 32]), 0);
    assert_eq!(g.errno("random_get", &[b, 32]), 0);
    assert_ne!(
        g.get(a, 32),
        g.get(b, 32),
        "the system source gives fresh bytes"
    );
    assert_eq!(g.errno("random_get", &[a, 0]), 0);
}

#[test]
fn proc_exit_unwinds_with_the_code() {
    let mut g = Guest::empty();
    let err = g.call("proc_exit", &[tern::Val::I32(3)]).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(3)));
    // The context survives: later calls still work.
    assert_eq!(g.errno("sched_yield", &[]), 0);
    let err = g.call("proc_exit", &[tern::Val::I32(200)]).unwrap_err();
    assert!(err.downcast_ref::<I32Exit>().is_none());
    assert!(
        format!("{err:?}").contains("invalid exit status"),
        "{err:?}"
    );
}

#[test]
fn unsupported_calls_say_why() {
    let mut g = Guest::empty();
    assert_eq!(g.errno("proc_raise", &[6]), errno::NOSYS);
    assert_eq!(g.errno("sched_yield", &[]), 0);
    assert_eq!(g.errno("sock_accept", &[1, 0, 1024]), errno::NOTSOCK);
    assert_eq!(g.errno("sock_recv", &[1, 0, 0, 0, 0, 0]), errno::NOTSOCK);
    assert_eq!(g.errno("sock_send", &[1, 0, 0, 0, 0]), errno::NOTSOCK);
    assert_eq!(g.errno("sock_shutdown", &[1, 0]), errno::NOTSOCK);
    assert_eq!(g.errno("sock_shutdown", &[50, 0]), errno::BADF);
    assert_eq!(g.errno("fd_seek", &[0, 0, 0, 1024]), errno::NOTCAPABLE);
    assert_eq!(g.errno("fd_advise", &[0, 0, 0, 0]), errno::NOTCAPABLE);
    let _ = errno::SPIPE;
}

//! Escape attempts: every way out of a preopened directory, each refused, and
//! the file outside never read, changed or created.

use crate::harness::{errno, Guest, TempDir, RIGHTS_ALL, RIGHTS_DIR};
use std::fs;
use std::os::unix::fs::symlink;
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, WasiCtxBuilder};

/// `tmp/outside/secret.txt` and the preopen `tmp/sandbox` (descriptor 3) with
/// `inside.txt`, `sub/`, `link_out -> ../outside` and `abs_link -> /…/outside/secret.txt`.
struct World {
    tmp: TempDir,
    guest: Guest,
}

const DIR: u32 = 3;

impl World {
    fn new() -> World {
        let tmp = TempDir::new("sandbox");
        let outside = tmp.path().join("outside");
        let sandbox = tmp.path().join("sandbox");
        fs::create_dir_all(&outside).unwrap();
        fs::create_dir_all(sandbox.join("sub")).unwrap();
        fs::write(outside.join("secret.txt"), "secret").unwrap();
        fs::write(sandbox.join("inside.txt"), "inside").unwrap();
        symlink("../outside", sandbox.join("link_out")).unwrap();
        symlink(outside.join("secret.txt"), sandbox.join("abs_link")).unwrap();
        let ctx = WasiCtxBuilder::new()
            .preopened_dir_with_perms(
                Dir::open_ambient_dir(&sandbox, ambient_authority()).unwrap(),
                "/sandbox",
                DirPerms::all(),
                FilePerms::all(),
            )
            .unwrap()
            .build();
        World {
            guest: Guest::new(ctx),
            tmp,
        }
    }

    fn outside(&self) -> std::path::PathBuf {
        self.tmp.path().join("outside")
    }

    fn sandbox(&self) -> std::path::PathBuf {
        self.tmp.path().join("sandbox")
    }

    /// The outside directory holds exactly `secret.txt`, unchanged.
    fn assert_outside_untouched(&self) {
        let names: Vec<_> = fs::read_dir(self.outside())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret.txt"]);
        assert_eq!(
            fs::read_to_string(self.outside().join("secret.txt")).unwrap(),
            "secret"
        );
        assert!(!self.tmp.path().join("stolen.txt").exists());
        assert!(!self.tmp.path().join("evil").exists());
    }
}

#[test]
fn dotdot_above_the_preopen_is_refused() {
    let mut w = World::new();
    for path in [
        "..",
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        "./sub/../..",
        "sub/../../sandbox/inside.txt",
    ] {
        assert_eq!(
            w.guest.open(DIR, path, 1, 0, RIGHTS_ALL, 0),
            Err(errno::NOTCAPABLE),
            "{path}"
        );
    }
    // `..` that stays inside is fine.
    assert_eq!(
        w.guest.read_file(DIR, "sub/../inside.txt").unwrap(),
        b"inside"
    );
    assert_eq!(
        w.guest
            .read_file(DIR, "sub/./../sub/../inside.txt")
            .unwrap(),
        b"inside"
    );
    w.assert_outside_untouched();
}

#[test]
fn absolute_paths_are_refused() {
    let mut w = World::new();
    let abs = w.outside().join("secret.txt");
    for path in ["/etc/passwd", "/", abs.to_str().unwrap(), "//etc"] {
        assert_eq!(
            w.guest.open(DIR, path, 1, 0, RIGHTS_ALL, 0),
            Err(errno::NOTCAPABLE),
            "{path}"
        );
        assert_eq!(
            w.guest.stat_type(DIR, path, true),
            Err(errno::NOTCAPABLE),
            "{path}"
        );
    }
    w.assert_outside_untouched();
}

#[test]
fn host_symlinks_pointing_outside_are_refused() {
    let mut w = World::new();
    // A link in the middle of a path, and at its end (followed).
    assert_eq!(
        w.guest
            .open(DIR, "link_out/secret.txt", 1, 0, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.open(DIR, "link_out", 1, 0, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.open(DIR, "abs_link", 1, 0, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest
            .open(DIR, "sub/../link_out/secret.txt", 1, 0, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.stat_type(DIR, "link_out/secret.txt", false),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.stat_type(DIR, "abs_link", true),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.stat_type(DIR, "link_out/", false),
        Err(errno::NOTCAPABLE)
    );
    // Not following the final link opens nothing through it either.
    assert_eq!(
        w.guest.open(DIR, "abs_link", 0, 0, RIGHTS_ALL, 0),
        Err(errno::LOOP)
    );
    // Looking at the link itself is allowed: it reveals only the link.
    assert_eq!(w.guest.stat_type(DIR, "abs_link", false), Ok(7));
    // Nothing may be created, removed or renamed through it.
    assert_eq!(
        w.guest
            .path_op("path_create_directory", DIR, "link_out/evil"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest
            .path_op("path_unlink_file", DIR, "link_out/secret.txt"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest.open(DIR, "link_out/new.txt", 1, 1, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.rename(DIR, "link_out/secret.txt", "stolen.txt"),
        errno::NOTCAPABLE
    );
    w.assert_outside_untouched();
    assert!(!w.sandbox().join("stolen.txt").exists());
}

#[test]
fn guest_symlinks_pointing_outside_are_refused() {
    let mut w = World::new();
    assert_eq!(
        w.guest.symlink("../outside/secret.txt", DIR, "mine"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest.symlink("/etc/passwd", DIR, "mine"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest.symlink("../../outside", DIR, "sub/mine"),
        errno::NOTCAPABLE
    );
    assert!(fs::symlink_metadata(w.sandbox().join("mine")).is_err());
    assert!(fs::symlink_metadata(w.sandbox().join("sub/mine")).is_err());

    // Links that stay inside work.
    assert_eq!(w.guest.symlink("inside.txt", DIR, "good"), 0);
    assert_eq!(w.guest.read_file(DIR, "good").unwrap(), b"inside");
    assert_eq!(w.guest.symlink("..", DIR, "sub/up"), 0);
    assert_eq!(
        w.guest.read_file(DIR, "sub/up/inside.txt").unwrap(),
        b"inside"
    );

    // A link whose text looks harmless but that climbs out when combined with
    // another link is caught when it is followed.
    assert_eq!(w.guest.symlink("sub/up/..", DIR, "sneaky"), 0);
    assert_eq!(
        w.guest
            .open(DIR, "sneaky/outside/secret.txt", 1, 0, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.open(
            DIR,
            "sub/up/sub/up/../outside/secret.txt",
            1,
            0,
            RIGHTS_ALL,
            0
        ),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        w.guest.stat_type(DIR, "sneaky", true),
        Err(errno::NOTCAPABLE)
    );
    w.assert_outside_untouched();
}

#[test]
fn symlink_loops_end_with_eloop() {
    let mut w = World::new();
    assert_eq!(w.guest.symlink("loop2", DIR, "loop1"), 0);
    assert_eq!(w.guest.symlink("loop1", DIR, "loop2"), 0);
    assert_eq!(
        w.guest.open(DIR, "loop1", 1, 0, RIGHTS_ALL, 0),
        Err(errno::LOOP)
    );
    assert_eq!(
        w.guest.open(DIR, "loop1/x", 1, 0, RIGHTS_ALL, 0),
        Err(errno::LOOP)
    );
    assert_eq!(w.guest.symlink("self/x", DIR, "self"), 0);
    assert_eq!(
        w.guest.open(DIR, "self", 1, 0, RIGHTS_ALL, 0),
        Err(errno::LOOP)
    );
}

#[test]
fn renames_links_and_removals_cannot_leave() {
    let mut w = World::new();
    assert_eq!(
        w.guest.rename(DIR, "inside.txt", "../stolen.txt"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest.rename(DIR, "../outside/secret.txt", "stolen.txt"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest
            .path_op("path_unlink_file", DIR, "../outside/secret.txt"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest.path_op("path_remove_directory", DIR, "../outside"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        w.guest.path_op("path_create_directory", DIR, "../evil"),
        errno::NOTCAPABLE
    );
    let (o, ol) = w.guest.put(b"link_out/secret.txt");
    let (n, nl) = w.guest.put(b"hard");
    assert_eq!(
        w.guest.errno("path_link", &[3, 1, o, ol, 3, n, nl]),
        errno::NOTCAPABLE
    );
    let (o, ol) = w.guest.put(b"inside.txt");
    let (n, nl) = w.guest.put(b"../hard");
    assert_eq!(
        w.guest.errno("path_link", &[3, 0, o, ol, 3, n, nl]),
        errno::NOTCAPABLE
    );
    // Unlinking the host's escaping link removes the link, not its target.
    assert_eq!(w.guest.path_op("path_unlink_file", DIR, "abs_link"), 0);
    assert!(fs::symlink_metadata(w.sandbox().join("abs_link")).is_err());
    assert!(w.sandbox().join("inside.txt").exists());
    w.assert_outside_untouched();
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_resolution_is_never_followed() {
    // One thread keeps swapping `sandbox/race` between a real directory (whose
    // `secret.txt` says "inside") and a symlink to the outside directory; the
    // guest keeps opening `race/secret.txt`. Every successful read must be
    // the inside file: a check-then-use resolver would sometimes read "secret".
    let w = World::new();
    let sandbox = w.sandbox();
    fs::create_dir(sandbox.join("race_dir")).unwrap();
    fs::write(sandbox.join("race_dir/secret.txt"), "inside").unwrap();
    symlink("../outside", sandbox.join("race_link")).unwrap();
    fs::rename(sandbox.join("race_dir"), sandbox.join("race")).unwrap();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let s = sandbox.clone();
        std::thread::spawn(move || {
            let mut swaps = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // race is the dir: park it, put the link in its place, and back.
                let _ = fs::rename(s.join("race"), s.join("race_dir"));
                let _ = fs::rename(s.join("race_link"), s.join("race"));
                let _ = fs::rename(s.join("race"), s.join("race_link"));
                let _ = fs::rename(s.join("race_dir"), s.join("race"));
                swaps += 1;
            }
            swaps
        })
    };
    let mut guest = w.guest;
    let (mut ok, mut refused) = (0, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(600);
    while std::time::Instant::now() < deadline {
        match guest.read_file(DIR, "race/secret.txt") {
            Ok(content) => {
                assert_eq!(content, b"inside", "read through a swapped-in symlink");
                ok += 1;
            }
            Err(_) => refused += 1,
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    eprintln!("race: {ok} reads of the inside file, {refused} refusals, {swaps} swaps");
    assert!(swaps > 10, "the swapper ran ({swaps} swaps)");
    assert!(
        ok + refused > 10,
        "the guest ran ({ok} reads, {refused} refusals)"
    );
    assert_eq!(
        fs::read_to_string(w.tmp.path().join("outside/secret.txt")).unwrap(),
        "secret"
    );
}

#[test]
fn read_only_preopens_refuse_changes() {
    let tmp = TempDir::new("readonly");
    fs::write(tmp.path().join("a.txt"), "a").unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap(),
            "ro",
            DirPerms::READ,
            FilePerms::READ,
        )
        .unwrap()
        .build();
    let mut g = Guest::new(ctx);
    assert_eq!(g.read_file(DIR, "a.txt").unwrap(), b"a");
    // Creating, truncating, making directories, removing: refused.
    assert_eq!(
        g.open(DIR, "new.txt", 1, 1, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        g.open(DIR, "a.txt", 1, 8, RIGHTS_ALL, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        g.path_op("path_create_directory", DIR, "d"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        g.path_op("path_unlink_file", DIR, "a.txt"),
        errno::NOTCAPABLE
    );
    // Opening for writing gives a descriptor without the write right.
    let fd = g.open(DIR, "a.txt", 1, 0, RIGHTS_ALL, 0).unwrap();
    assert_eq!(g.write(fd, b"x"), Err(errno::NOTCAPABLE));
    assert_eq!(fs::read_to_string(tmp.path().join("a.txt")).unwrap(), "a");
    assert!(!tmp.path().join("new.txt").exists());
}

#[test]
fn preopens_are_listed_and_nothing_else() {
    let tmp = TempDir::new("prestat");
    let ctx = WasiCtxBuilder::new()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap(),
            "/data",
            DirPerms::all(),
            FilePerms::all(),
        )
        .unwrap()
        .build();
    let mut g = Guest::new(ctx);
    let out = i64::from(g.alloc(8));
    assert_eq!(g.errno("fd_prestat_get", &[3, out]), 0);
    assert_eq!(g.get(out, 1)[0], 0, "preopentype dir");
    assert_eq!(g.u32_at(out + 4), 5);
    let buf = i64::from(g.alloc(16));
    assert_eq!(g.errno("fd_prestat_dir_name", &[3, buf, 5]), 0);
    assert_eq!(g.get(buf, 5), b"/data");
    assert_eq!(
        g.errno("fd_prestat_dir_name", &[3, buf, 2]),
        errno::NAMETOOLONG
    );
    // Standard streams, other directories and unused numbers: EBADF.
    for fd in [0, 1, 2, 4, 100] {
        assert_eq!(
            g.errno("fd_prestat_get", &[fd, out]),
            errno::BADF,
            "fd {fd}"
        );
    }
    let sub = g.open(DIR, ".", 0, 2, RIGHTS_DIR, 0).unwrap();
    assert_eq!(g.errno("fd_prestat_get", &[sub.into(), out]), errno::BADF);
}

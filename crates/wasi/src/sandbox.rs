//! Path resolution confined to a directory descriptor: the heart of the WASI
//! sandbox.
//!
//! A guest names files by a directory descriptor and a relative path. The
//! host kernel is never handed that path whole: [`resolve`] walks it one
//! component at a time, opening each directory with `openat(…, O_NOFOLLOW |
//! O_DIRECTORY)` relative to the previous one, so
//! - an absolute path, or a `..` that would climb above the starting
//!   directory, is refused with `ENOTCAPABLE` — `..` is handled here by
//!   popping the stack of directories opened so far, never by the kernel;
//! - a symbolic link met on the way is read with `readlinkat` and its target
//!   is resolved by the same rules (an absolute target is refused), at most
//!   [`MAX_SYMLINKS`] times;
//! - a component swapped for a symbolic link between two steps (a race) makes
//!   `O_NOFOLLOW` fail instead of being followed.
//!
//! The result is a directory descriptor and a single final name with no `/`;
//! callers then use `*at` calls that do not follow a symlink in the final
//! position (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, or calls that never follow:
//! `mkdirat`, `unlinkat`, `renameat`, `symlinkat`, `linkat` without
//! `AT_SYMLINK_FOLLOW`), so nothing outside the starting directory is ever
//! reached.

use crate::error::WasiResult;
use crate::types::Errno;
use rustix::fs::{Mode, OFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// How many symbolic links one resolution may follow (Linux's limit too).
pub(crate) const MAX_SYMLINKS: usize = 40;

/// The directory a resolved path's final component lives in.
pub(crate) enum Parent<'a> {
    /// The starting directory itself.
    Base(BorrowedFd<'a>),
    /// A directory opened on the way.
    Opened(OwnedFd),
}

impl AsFd for Parent<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Parent::Base(fd) => *fd,
            Parent::Opened(fd) => fd.as_fd(),
        }
    }
}

/// A path resolved to a parent directory and a final name.
pub(crate) struct Resolved<'a> {
    /// The directory holding the final component.
    pub(crate) parent: Parent<'a>,
    /// The final component: a single name, or `.` for the directory itself.
    pub(crate) name: String,
    /// How many directories below the starting one `parent` is.
    pub(crate) depth: usize,
    /// The path ended with `/`, so the final component must be a directory.
    pub(crate) must_be_dir: bool,
}

/// Splits a relative path into components, last first (for popping), and
/// whether it ends with a slash.
fn components(path: &str) -> WasiResult<(Vec<String>, bool)> {
    if path.starts_with('/') {
        return Err(Errno::Notcapable.into());
    }
    if path.contains('\0') {
        return Err(Errno::Ilseq.into());
    }
    let trailing_slash = path.ends_with('/');
    let comps = path
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    Ok((comps, trailing_slash))
}

/// The directory flags for each intermediate step: search-only where the
/// platform allows it, so a directory needs execute but not read permission.
fn step_flags() -> OFlags {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let access = OFlags::PATH;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let access = OFlags::RDONLY;
    access | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Resolves `path` under `base`. With `follow`, a symbolic link in the final
/// position is followed too (a trailing `/` implies it).
///
/// # Errors
/// `ENOTCAPABLE` for an escape (absolute path, `..` above `base`, a symlink
/// whose target does either), `ELOOP` past [`MAX_SYMLINKS`], `ENOENT` for an
/// empty path, and whatever the host reports for a missing or non-directory
/// component.
pub(crate) fn resolve<'a>(
    base: BorrowedFd<'a>,
    path: &str,
    follow: bool,
) -> WasiResult<Resolved<'a>> {
    if path.is_empty() {
        return Err(Errno::Noent.into());
    }
    let (mut queue, mut must_be_dir) = components(path)?;
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0usize;
    loop {
        let Some(comp) = queue.pop() else {
            return Ok(finish(base, stack, ".".to_string(), must_be_dir));
        };
        let last = queue.is_empty();
        match comp.as_str() {
            "." => {
                if last {
                    return Ok(finish(base, stack, ".".to_string(), must_be_dir));
                }
            }
            ".." => {
                if stack.pop().is_none() {
                    return Err(Errno::Notcapable.into());
                }
                if last {
                    return Ok(finish(base, stack, ".".to_string(), must_be_dir));
                }
            }
            name if last => {
                if !follow && !must_be_dir {
                    return Ok(finish(base, stack, comp, must_be_dir));
                }
                let dir = current(base, &stack);
                match rustix::fs::readlinkat(dir, name, Vec::new()) {
                    Ok(target) => {
                        let target = target.into_string().map_err(|_| Errno::Ilseq)?;
                        must_be_dir |= expand(&target, &mut queue, &mut links)?;
                    }
                    Err(_) => return Ok(finish(base, stack, comp, must_be_dir)),
                }
            }
            name => {
                let dir = current(base, &stack);
                match rustix::fs::openat(dir, name, step_flags(), Mode::empty()) {
                    Ok(fd) => stack.push(fd),
                    Err(e @ (rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR)) => {
                        match rustix::fs::readlinkat(dir, name, Vec::new()) {
                            Ok(target) => {
                                let target = target.into_string().map_err(|_| Errno::Ilseq)?;
                                expand(&target, &mut queue, &mut links)?;
                            }
                            Err(_) => return Err(e.into()),
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

fn current<'s>(base: BorrowedFd<'s>, stack: &'s [OwnedFd]) -> BorrowedFd<'s> {
    stack.last().map_or(base, |fd| fd.as_fd())
}

fn finish(
    base: BorrowedFd<'_>,
    mut stack: Vec<OwnedFd>,
    name: String,
    must_be_dir: bool,
) -> Resolved<'_> {
    let depth = stack.len();
    let parent = match stack.pop() {
        Some(fd) => Parent::Opened(fd),
        None => Parent::Base(base),
    };
    Resolved {
        parent,
        name,
        depth,
        must_be_dir,
    }
}

/// Queues a symlink's target in place of the link; returns whether the target
/// ends with `/`.
fn expand(target: &str, queue: &mut Vec<String>, links: &mut usize) -> WasiResult<bool> {
    *links += 1;
    if *links > MAX_SYMLINKS {
        return Err(Errno::Loop.into());
    }
    if target.is_empty() {
        return Err(Errno::Noent.into());
    }
    let (comps, trailing) = components(target)?;
    // Both are last-first: the queue pops from its end, so the target's
    // components go on top, its first component last.
    queue.extend(comps);
    Ok(trailing)
}

/// Whether a symbolic link created `depth` directories below a preopen with
/// contents `target` would point outside it, judged by its text alone (links
/// are re-checked when followed; this only keeps obviously escaping links out
/// of the host's file system).
pub(crate) fn target_escapes(depth: usize, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let mut d = depth as isize;
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                d -= 1;
                if d < 0 {
                    return true;
                }
            }
            _ => d += 1,
        }
    }
    false
}

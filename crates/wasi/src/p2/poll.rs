//! `wasi:io/poll`: pollables and waiting on many of them at once. A
//! pollable is a table entry saying what it waits for: nothing (files and
//! output streams are always ready), a monotonic-clock deadline, standard
//! input becoming readable, or a socket becoming readable or writable.
//! Waiting is one `poll(2)` over the descriptors involved, with the nearest
//! deadline as its timeout.

use super::bindings::wasi::io::poll::{Host, HostPollable, Pollable};
use super::{cast, WasiView};
use crate::stream::Stream;
use anyhow::{bail, Result};
use rustix::event::{PollFd, PollFlags};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use tern::component::Resource;

/// A pollable's table entry.
pub(crate) enum Poll {
    /// Always ready.
    Ready,
    /// Ready once the monotonic clock reaches this instant (nanoseconds).
    Deadline(u64),
    /// Ready when the guest's standard input has bytes (or its end).
    StdinReadable,
    /// Ready when `poll(2)` reports one of `events` (or an error or hang-up)
    /// on the socket `fd` (socket streams, datagram streams, name lookups).
    Fd {
        /// The descriptor, shared with the stream it came from.
        fd: Arc<OwnedFd>,
        /// `IN` or `OUT`.
        events: PollFlags,
    },
    /// The pollable of the TCP socket with this table rep (its parent):
    /// what it waits for follows the socket's state (`sockets/tcp.rs`).
    TcpSocket(u32),
}

/// What one pollable waits for at the moment of a `poll`.
enum Wait {
    Ready,
    Deadline(u64),
    Stdin,
    Fd(Arc<OwnedFd>, PollFlags),
}

/// Which of `polls` are ready now; with `block`, waits until one is.
fn wait<T: WasiView>(view: &mut T, reps: &[Resource<Pollable>], block: bool) -> Result<Vec<u32>> {
    if reps.is_empty() {
        bail!("`poll` needs at least one pollable");
    }
    if u32::try_from(reps.len()).is_err() {
        bail!("`poll` over more than 2^32 pollables");
    }
    let mut polls = Vec::with_capacity(reps.len());
    let table = view.table();
    for r in reps {
        polls.push(match table.get::<Poll>(&cast(r))? {
            Poll::Ready => Wait::Ready,
            Poll::Deadline(d) => Wait::Deadline(*d),
            Poll::StdinReadable => Wait::Stdin,
            Poll::Fd { fd, events } => Wait::Fd(fd.clone(), *events),
            Poll::TcpSocket(rep) => match super::sockets::tcp_wait(table, *rep)? {
                Some((fd, events)) => Wait::Fd(fd, events),
                None => Wait::Ready,
            },
        });
    }
    let state = view.ctx().state_mut()?;
    loop {
        let now = state.monotonic_clock.now();
        let stdin_ready = match state.stdio(0) {
            Some(s) => s.read_ready(),
            None => true,
        };
        let fds_ready = fds_ready(&polls)?;
        let ready: Vec<u32> = polls
            .iter()
            .enumerate()
            .filter(|(i, p)| match p {
                Wait::Ready => true,
                Wait::Deadline(d) => *d <= now,
                Wait::Stdin => stdin_ready,
                Wait::Fd(..) => fds_ready.contains(i),
            })
            .map(|(i, _)| i as u32)
            .collect();
        if !ready.is_empty() || !block {
            return Ok(ready);
        }
        let timeout = polls
            .iter()
            .filter_map(|p| match p {
                Wait::Deadline(d) => Some(d.saturating_sub(now)),
                _ => None,
            })
            .min();
        let waits_stdin = polls.iter().any(|p| matches!(p, Wait::Stdin));
        let stdin = match state.stdio(0) {
            Some(Stream::Host(f)) if waits_stdin => Some(f.try_clone()?),
            _ => None,
        };
        let mut fds: Vec<PollFd<'_>> = stdin
            .iter()
            .map(|f| PollFd::new(f, PollFlags::IN))
            .collect();
        for p in &polls {
            if let Wait::Fd(fd, events) = p {
                fds.push(PollFd::new(fd, *events));
            }
        }
        let ts = timeout.map(|ns| rustix::time::Timespec {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_nsec: (ns % 1_000_000_000) as i64,
        });
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The indices of the `Wait::Fd` entries of `polls` that are ready now.
fn fds_ready(polls: &[Wait]) -> Result<Vec<usize>> {
    let (index, mut fds): (Vec<usize>, Vec<PollFd<'_>>) = polls
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Wait::Fd(fd, events) => Some((i, PollFd::new(fd, *events))),
            _ => None,
        })
        .unzip();
    if fds.is_empty() {
        return Ok(Vec::new());
    }
    let zero = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match rustix::event::poll(&mut fds, Some(&zero)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(index
        .into_iter()
        .zip(&fds)
        .filter(|(_, f)| !f.revents().is_empty())
        .map(|(i, _)| i)
        .collect())
}

/// Whether `fd` reports one of `events` (or an error or hang-up) now; with
/// `block`, waits until it does.
pub(crate) fn fd_ready(fd: &OwnedFd, events: PollFlags, block: bool) -> std::io::Result<bool> {
    let zero = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        let mut fds = [PollFd::new(fd, events)];
        match rustix::event::poll(&mut fds, if block { None } else { Some(&zero) }) {
            Ok(_) => {
                let ready = !fds[0].revents().is_empty();
                if ready || !block {
                    return Ok(ready);
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

impl<T: WasiView> Host for T {
    fn poll(&mut self, polls: Vec<Resource<Pollable>>) -> Result<Vec<u32>> {
        wait(self, &polls, true)
    }
}

impl<T: WasiView> HostPollable for T {
    fn ready(&mut self, p: Resource<Pollable>) -> Result<bool> {
        Ok(!wait(self, &[p], false)?.is_empty())
    }

    fn block(&mut self, p: Resource<Pollable>) -> Result<()> {
        wait(self, &[p], true).map(drop)
    }

    fn drop(&mut self, p: Resource<Pollable>) -> Result<()> {
        self.table().delete::<Poll>(cast(&p))?;
        Ok(())
    }
}

//! `wasi:io/poll`: pollables and waiting on many of them at once. A
//! pollable is a table entry saying what it waits for: nothing (files and
//! output streams are always ready), a monotonic-clock deadline, or
//! standard input becoming readable. Waiting is one `poll(2)` over the
//! descriptors involved, with the nearest deadline as its timeout.

use super::bindings::wasi::io::poll::{Host, HostPollable, Pollable};
use super::{cast, WasiView};
use crate::pipe::Stream;
use anyhow::{bail, Result};
use rustix::event::{PollFd, PollFlags};
use tern::component::Resource;

/// A pollable's table entry.
pub(crate) enum Poll {
    /// Always ready.
    Ready,
    /// Ready once the monotonic clock reaches this instant (nanoseconds).
    Deadline(u64),
    /// Ready when the guest's standard input has bytes (or its end).
    StdinReadable,
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
    for r in reps {
        polls.push(match view.table().get::<Poll>(&cast(r))? {
            Poll::Ready => Poll::Ready,
            Poll::Deadline(d) => Poll::Deadline(*d),
            Poll::StdinReadable => Poll::StdinReadable,
        });
    }
    let state = view.ctx().state_mut()?;
    loop {
        let now = state.monotonic_clock.now();
        let stdin_ready = match state.stdio(0) {
            Some(s) => s.read_ready(),
            None => true,
        };
        let ready: Vec<u32> = polls
            .iter()
            .enumerate()
            .filter(|(_, p)| match p {
                Poll::Ready => true,
                Poll::Deadline(d) => *d <= now,
                Poll::StdinReadable => stdin_ready,
            })
            .map(|(i, _)| i as u32)
            .collect();
        if !ready.is_empty() || !block {
            return Ok(ready);
        }
        let timeout = polls
            .iter()
            .filter_map(|p| match p {
                Poll::Deadline(d) => Some(d.saturating_sub(now)),
                _ => None,
            })
            .min();
        let waits_stdin = polls.iter().any(|p| matches!(p, Poll::StdinReadable));
        let stdin = match state.stdio(0) {
            Some(Stream::Host(f)) if waits_stdin => Some(f.try_clone()?),
            _ => None,
        };
        let mut fds: Vec<PollFd<'_>> = stdin
            .iter()
            .map(|f| PollFd::new(f, PollFlags::IN))
            .collect();
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

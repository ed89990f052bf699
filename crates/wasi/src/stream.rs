//! One of a guest's three standard streams as the descriptor table holds it:
//! a host descriptor, an embedder's reader or writer (from the public pipes
//! in `pipe.rs` or any `WasiFile`), nothing, or a stream that could not be
//! opened (an inherited descriptor that failed to duplicate).
//!
//! Host descriptors are used as plain files, so guest output is written
//! straight to the descriptor: no buffering in the host that could reorder it
//! or lose it at `proc_exit`. This file never decides what a stream is; the
//! `WasiFile` implementations do, when the context is built.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;

/// A standard stream.
pub(crate) enum Stream {
    /// A host file descriptor (a duplicate of the host's 0, 1 or 2, or a file
    /// the embedder handed over).
    Host(File),
    /// An embedder-provided input.
    Input(Box<dyn Read + Send>),
    /// An embedder-provided output (flushed after every write).
    Output(Box<dyn Write + Send>),
    /// Empty input, discarded output.
    Null,
    /// A stream that could not be opened: every read and write fails with
    /// this host `errno`.
    Unavailable(i32),
}

impl Stream {
    /// A duplicate of one of the host's descriptors, or [`Stream::Unavailable`]
    /// with the reason when duplicating fails (the guest then sees the error
    /// on its first read or write, never a panic).
    pub(crate) fn inherit(fd: std::os::fd::BorrowedFd<'_>) -> Self {
        match fd.try_clone_to_owned() {
            Ok(owned) => Stream::Host(File::from(owned)),
            Err(e) => Stream::Unavailable(
                e.raw_os_error()
                    .unwrap_or(rustix::io::Errno::BADF.raw_os_error()),
            ),
        }
    }

    /// The host's standard input.
    pub(crate) fn host_stdin() -> Self {
        Self::inherit(io::stdin().as_fd())
    }

    /// The host's standard output.
    pub(crate) fn host_stdout() -> Self {
        Self::inherit(io::stdout().as_fd())
    }

    /// The host's standard error.
    pub(crate) fn host_stderr() -> Self {
        Self::inherit(io::stderr().as_fd())
    }

    /// Whether a read would return without waiting (always, except for a
    /// host descriptor with nothing to read yet).
    pub(crate) fn read_ready(&self) -> bool {
        match self {
            Stream::Host(f) => {
                let mut fds = [rustix::event::PollFd::new(f, rustix::event::PollFlags::IN)];
                let zero = rustix::time::Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // An error (say, a descriptor that cannot be polled) counts as
                // ready: the read then reports it.
                !matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(0))
            }
            _ => true,
        }
    }

    /// Reads at most `buf.len()` bytes (0 at end of input).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Host(f) => f.read(buf),
            Stream::Input(r) => r.read(buf),
            Stream::Output(_) => Err(badf()),
            Stream::Null => Ok(0),
            Stream::Unavailable(e) => Err(io::Error::from_raw_os_error(*e)),
        }
    }

    /// Writes all of `bufs`, returning the number of bytes written.
    pub(crate) fn write(&mut self, bufs: &[&[u8]]) -> io::Result<usize> {
        let mut n = 0;
        for b in bufs {
            match self {
                Stream::Host(f) => f.write_all(b)?,
                Stream::Output(w) => w.write_all(b).and_then(|()| w.flush())?,
                Stream::Input(_) => return Err(badf()),
                Stream::Null => {}
                Stream::Unavailable(e) => return Err(io::Error::from_raw_os_error(*e)),
            }
            n += b.len();
        }
        Ok(n)
    }
}

fn badf() -> io::Error {
    io::Error::from_raw_os_error(rustix::io::Errno::BADF.raw_os_error())
}

#[cfg(test)]
mod tests {
    use super::Stream;

    /// A stream that could not be opened fails every read and write with its
    /// host error (which the guest then sees as the matching errno).
    #[test]
    fn an_unavailable_stream_reports_its_error() {
        let emfile = rustix::io::Errno::MFILE.raw_os_error();
        let mut s = Stream::Unavailable(emfile);
        let err = s.write(&[b"x"]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(emfile));
        let err = s.read(&mut [0; 4]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(emfile));
    }
}

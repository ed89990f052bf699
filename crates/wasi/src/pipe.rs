//! Standard input, output and error of a guest: the host's own (inherited), or
//! pipes the embedder reads and fills ([`ReadPipe`], [`WritePipe`]), or nothing.
//!
//! Inherited streams are duplicates of the host's descriptors 0, 1 and 2 used
//! as plain files, so guest output is written straight to the descriptor: no
//! buffering in the host that could reorder it or lose it at `proc_exit`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, PoisonError};

/// A source of bytes for a guest's standard input.
pub struct ReadPipe {
    pub(crate) reader: Box<dyn Read + Send>,
}

impl ReadPipe {
    /// Reads from any reader.
    pub fn new(reader: impl Read + Send + 'static) -> Self {
        Self {
            reader: Box::new(reader),
        }
    }

    /// Serves `bytes`, then end of file.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self::new(io::Cursor::new(bytes.into()))
    }
}

impl std::fmt::Debug for ReadPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPipe").finish_non_exhaustive()
    }
}

enum Sink {
    Memory(Vec<u8>),
    Writer(Box<dyn Write + Send>),
}

/// A destination for a guest's standard output or error. Clones share the
/// destination, so the embedder keeps one to read what the guest wrote.
#[derive(Clone)]
pub struct WritePipe {
    sink: Arc<Mutex<Sink>>,
}

impl WritePipe {
    /// Collects everything written in memory; read it with [`WritePipe::contents`].
    pub fn new_in_memory() -> Self {
        Self {
            sink: Arc::new(Mutex::new(Sink::Memory(Vec::new()))),
        }
    }

    /// Writes to any writer.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self {
            sink: Arc::new(Mutex::new(Sink::Writer(Box::new(writer)))),
        }
    }

    /// What was written so far (empty for a pipe made with [`WritePipe::new`]).
    pub fn contents(&self) -> Vec<u8> {
        match &*self.sink.lock().unwrap_or_else(PoisonError::into_inner) {
            Sink::Memory(v) => v.clone(),
            Sink::Writer(_) => Vec::new(),
        }
    }

    pub(crate) fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        match &mut *self.sink.lock().unwrap_or_else(PoisonError::into_inner) {
            Sink::Memory(v) => {
                v.extend_from_slice(buf);
                Ok(())
            }
            Sink::Writer(w) => w.write_all(buf).and_then(|()| w.flush()),
        }
    }
}

impl std::fmt::Debug for WritePipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePipe").finish_non_exhaustive()
    }
}

/// One of the three standard streams, as the descriptor table holds it.
pub(crate) enum Stream {
    /// A duplicate of the host's own descriptor.
    Host(File),
    /// An embedder-provided input.
    Input(ReadPipe),
    /// An embedder-provided output.
    Output(WritePipe),
    /// Empty input, discarded output.
    Null,
}

impl Stream {
    /// A duplicate of one of the host's standard descriptors.
    pub(crate) fn inherit(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Self> {
        Ok(Stream::Host(File::from(fd.try_clone_to_owned()?)))
    }

    /// The host's standard input.
    pub(crate) fn host_stdin() -> io::Result<Self> {
        Self::inherit(io::stdin().as_fd())
    }

    /// The host's standard output.
    pub(crate) fn host_stdout() -> io::Result<Self> {
        Self::inherit(io::stdout().as_fd())
    }

    /// The host's standard error.
    pub(crate) fn host_stderr() -> io::Result<Self> {
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
            Stream::Input(p) => p.reader.read(buf),
            Stream::Output(_) => Err(io::Error::from_raw_os_error(
                rustix::io::Errno::BADF.raw_os_error(),
            )),
            Stream::Null => Ok(0),
        }
    }

    /// Writes all of `bufs`, returning the number of bytes written.
    pub(crate) fn write(&mut self, bufs: &[&[u8]]) -> io::Result<usize> {
        let mut n = 0;
        for b in bufs {
            match self {
                Stream::Host(f) => f.write_all(b)?,
                Stream::Output(p) => p.write_all(b)?,
                Stream::Input(_) => {
                    return Err(io::Error::from_raw_os_error(
                        rustix::io::Errno::BADF.raw_os_error(),
                    ))
                }
                Stream::Null => {}
            }
            n += b.len();
        }
        Ok(n)
    }
}

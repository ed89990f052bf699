//! `wasi:io/streams`: the host's input and output streams (standard
//! streams, file streams) and the stream rules the guest can observe:
//! - a `write` may carry at most what the last `check-write` permitted, and
//!   `blocking-write-and-flush` at most 4096 bytes; more is a trap;
//! - an input stream at its end, and an output stream after a failed write,
//!   report `closed` from then on;
//! - a stream cannot be dropped while a pollable subscribed to it lives (the
//!   pollable is the stream's child in the table), which traps.
//!
//! Writes to files and standard streams reach the host before `write`
//! returns, so `flush` has nothing to wait for and those streams are always
//! ready. A TCP
//! socket's streams (`sockets/tcp.rs` makes them) read without blocking,
//! and a `write` sends what the socket takes and keeps the rest, which
//! `check-write` and `flush` send later (`check-write` permits 0 bytes until
//! nothing waits and the socket's send buffer has room; the `blocking-*`
//! functions wait until everything is sent).

use super::bindings::wasi::io::poll::Pollable;
use super::bindings::wasi::io::streams::{
    Host, HostInputStream, HostOutputStream, InputStream, OutputStream,
    StreamError as WitStreamError,
};
use super::error::{stream_error_to_wit, StreamError};
use super::poll::{fd_ready, Poll};
use super::{cast, WasiView};
use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use tern::component::Resource;

/// How many bytes `check-write` permits at a time.
pub(crate) const WRITE_BUDGET: u64 = 1 << 20;
/// How many bytes `check-write` permits on a TCP socket with room in its
/// send buffer (a `write` of them may wait for the rest of the room).
const TCP_WRITE_BUDGET: u64 = 64 << 10;
/// The most `blocking-write-and-flush` (and `-write-zeroes-`) may carry.
const BLOCKING_WRITE_MAX: u64 = 4096;
/// The most one `read` returns, whatever the guest asks for (so a guest
/// cannot make the host allocate gigabytes).
const READ_MAX: u64 = 1 << 20;

/// An input stream's table entry.
pub(crate) enum Input {
    /// The guest's standard input (preview 1's descriptor 0, shared).
    Stdin,
    /// A file from `read-via-stream`, read at `offset` with `pread`.
    File { file: File, offset: u64 },
    /// A connected TCP socket (non-blocking), shared with its `tcp-socket`.
    Tcp(Arc<OwnedFd>),
    /// Finished: every read reports `closed`.
    Closed,
}

/// Where an output stream's bytes go.
pub(crate) enum Sink {
    /// Standard output (1) or error (2), preview 1's descriptors, shared.
    Stdio(u32),
    /// A file from `write-via-stream`, written at `offset` with `pwrite`.
    File { file: File, offset: u64 },
    /// A file from `append-via-stream`.
    Append(File),
    /// A connected TCP socket (non-blocking), shared with its `tcp-socket`,
    /// and the bytes written that it did not take yet.
    Tcp { fd: Arc<OwnedFd>, pending: Vec<u8> },
}

/// An output stream's table entry.
pub(crate) struct Output {
    pub(crate) sink: Sink,
    /// What the last `check-write` permitted and no `write` used yet.
    permit: u64,
    /// A write failed: the stream is closed.
    closed: bool,
}

impl Output {
    /// A fresh stream to `sink`.
    pub(crate) fn new(sink: Sink) -> Self {
        Self {
            sink,
            permit: 0,
            closed: false,
        }
    }
}

fn input<'v, T: WasiView>(
    view: &'v mut T,
    r: &Resource<InputStream>,
) -> Result<&'v mut Input, StreamError> {
    Ok(view.table().get_mut::<Input>(&cast(r))?)
}

fn output<'v, T: WasiView>(
    view: &'v mut T,
    r: &Resource<OutputStream>,
) -> Result<&'v mut Output, StreamError> {
    Ok(view.table().get_mut::<Output>(&cast(r))?)
}

/// Reads at most `len` bytes; `blocking` waits for standard input or a
/// socket to have some (files never wait).
fn read<T: WasiView>(
    view: &mut T,
    r: &Resource<InputStream>,
    len: u64,
    blocking: bool,
) -> Result<Vec<u8>, StreamError> {
    let len = len.min(READ_MAX) as usize;
    let mut buf = vec![0u8; len];
    let n = match input(view, r)? {
        Input::Closed => return Err(StreamError::Closed),
        _ if len == 0 => return Ok(Vec::new()),
        Input::File { file, offset } => {
            let n = file.read_at(&mut buf, *offset)?;
            *offset += n as u64;
            n
        }
        Input::Tcp(fd) => match tcp_read(fd, &mut buf, blocking)? {
            Some(n) => n,
            None => return Ok(Vec::new()),
        },
        Input::Stdin => {
            let state = view.ctx().state_mut().map_err(StreamError::Trap)?;
            let Some(stream) = state.stdio(0) else {
                return Err(StreamError::Closed);
            };
            if !blocking && !stream.read_ready() {
                return Ok(Vec::new());
            }
            stream.read(&mut buf)?
        }
    };
    if n == 0 {
        *input(view, r)? = Input::Closed;
        return Err(StreamError::Closed);
    }
    buf.truncate(n);
    Ok(buf)
}

/// Writes all of `bytes` to the stream's sink. A socket sends what it can
/// take now and keeps the rest for later (`check-write` permits nothing
/// until it is sent); with `blocking`, it waits until everything is sent.
fn write_now<T: WasiView>(
    view: &mut T,
    r: &Resource<OutputStream>,
    bytes: &[u8],
    blocking: bool,
) -> Result<(), StreamError> {
    let out = output(view, r)?;
    if out.closed {
        return Err(StreamError::Closed);
    }
    let socket = matches!(out.sink, Sink::Tcp { .. });
    let result = match &mut out.sink {
        Sink::File { file, offset } => file.write_all_at(bytes, *offset).map(|()| {
            *offset += bytes.len() as u64;
        }),
        Sink::Append(file) => file
            .seek(SeekFrom::End(0))
            .and_then(|_| file.write_all(bytes)),
        Sink::Tcp { fd, pending } => {
            pending.extend_from_slice(bytes);
            tcp_send_pending(fd, pending, blocking)
        }
        Sink::Stdio(fd) => {
            let fd = *fd;
            let state = view.ctx().state_mut().map_err(StreamError::Trap)?;
            match state.stdio(fd) {
                Some(stream) => stream.write(&[bytes]).map(|_| ()),
                None => Ok(()),
            }
        }
    };
    if let Err(e) = result {
        output(view, r)?.closed = true;
        if socket && e.raw_os_error() == Some(Errno::PIPE.raw_os_error()) {
            // A socket shut down for sending (or reset by the peer).
            return Err(StreamError::Closed);
        }
        return Err(StreamError::LastOperationFailed(e));
    }
    Ok(())
}

/// Sends what waits of a socket's earlier writes (`blocking`: all of it);
/// other sinks have nothing waiting. `closed` for a closed stream.
fn flush_now<T: WasiView>(
    view: &mut T,
    r: &Resource<OutputStream>,
    blocking: bool,
) -> Result<(), StreamError> {
    let out = output(view, r)?;
    if out.closed {
        return Err(StreamError::Closed);
    }
    match out.sink {
        Sink::Tcp { .. } => write_now(view, r, &[], blocking),
        _ => Ok(()),
    }
}

/// One non-blocking `recv` on a TCP socket (after waiting for bytes with
/// `blocking`): `Some(0)` at the end of the stream, `None` when nothing is
/// there yet.
fn tcp_read(fd: &OwnedFd, buf: &mut [u8], blocking: bool) -> std::io::Result<Option<usize>> {
    loop {
        if blocking {
            fd_ready(fd, PollFlags::IN, true)?;
        }
        match rustix::net::recv(fd, &mut *buf, RecvFlags::empty()) {
            Ok((n, _)) => return Ok(Some(n)),
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) if blocking => {}
            Err(Errno::AGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sends what waits in `pending` on a TCP socket: what its buffer takes
/// now, or with `blocking` all of it, waiting for room (without `SIGPIPE`:
/// a closed connection is `EPIPE`).
fn tcp_send_pending(fd: &OwnedFd, pending: &mut Vec<u8>, blocking: bool) -> std::io::Result<()> {
    let mut sent = 0;
    let result = loop {
        if sent == pending.len() {
            break Ok(());
        }
        match rustix::net::send(fd, &pending[sent..], SendFlags::NOSIGNAL) {
            Ok(n) => sent += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) if blocking => {
                if let Err(e) = fd_ready(fd, PollFlags::OUT, true) {
                    break Err(e);
                }
            }
            Err(Errno::AGAIN) => break Ok(()),
            Err(e) => break Err(e.into()),
        }
    };
    pending.drain(..sent);
    result
}

impl<T: WasiView> Host for T {
    fn convert_stream_error(&mut self, err: StreamError) -> tern::Result<WitStreamError> {
        stream_error_to_wit(self.table(), err)
    }
}

impl<T: WasiView> HostInputStream for T {
    fn read(&mut self, s: Resource<InputStream>, len: u64) -> Result<Vec<u8>, StreamError> {
        read(self, &s, len, false)
    }

    fn blocking_read(
        &mut self,
        s: Resource<InputStream>,
        len: u64,
    ) -> Result<Vec<u8>, StreamError> {
        read(self, &s, len, true)
    }

    fn skip(&mut self, s: Resource<InputStream>, len: u64) -> Result<u64, StreamError> {
        read(self, &s, len, false).map(|b| b.len() as u64)
    }

    fn blocking_skip(&mut self, s: Resource<InputStream>, len: u64) -> Result<u64, StreamError> {
        read(self, &s, len, true).map(|b| b.len() as u64)
    }

    fn subscribe(&mut self, s: Resource<InputStream>) -> tern::Result<Resource<Pollable>> {
        let poll = match self.table().get::<Input>(&cast(&s))? {
            Input::Stdin => Poll::StdinReadable,
            Input::Tcp(fd) => Poll::Fd {
                fd: fd.clone(),
                events: PollFlags::IN,
            },
            _ => Poll::Ready,
        };
        let p = self.table().push_child(poll, &s)?;
        Ok(cast(&p))
    }

    fn convert_stream_error(&mut self, err: StreamError) -> tern::Result<WitStreamError> {
        stream_error_to_wit(self.table(), err)
    }

    fn drop(&mut self, s: Resource<InputStream>) -> tern::Result<()> {
        self.table().delete::<Input>(cast(&s))?;
        Ok(())
    }
}

impl<T: WasiView> HostOutputStream for T {
    fn check_write(&mut self, s: Resource<OutputStream>) -> Result<u64, StreamError> {
        // A socket first sends what waits from earlier writes, and permits
        // more once all of it is sent and its send buffer has room.
        flush_now(self, &s, false)?;
        let out = output(self, &s)?;
        let budget = match &out.sink {
            Sink::Tcp { fd, pending }
                if !pending.is_empty() || !fd_ready(fd, PollFlags::OUT, false)? =>
            {
                0
            }
            Sink::Tcp { .. } => TCP_WRITE_BUDGET,
            _ => WRITE_BUDGET,
        };
        out.permit = budget;
        Ok(budget)
    }

    fn write(&mut self, s: Resource<OutputStream>, contents: Vec<u8>) -> Result<(), StreamError> {
        let out = output(self, &s)?;
        let len = contents.len() as u64;
        if len > out.permit {
            return Err(StreamError::trap(format!(
                "write of {len} bytes exceeds the {} bytes `check-write` permitted",
                out.permit
            )));
        }
        out.permit -= len;
        write_now(self, &s, &contents, false)
    }

    fn blocking_write_and_flush(
        &mut self,
        s: Resource<OutputStream>,
        contents: Vec<u8>,
    ) -> Result<(), StreamError> {
        if contents.len() as u64 > BLOCKING_WRITE_MAX {
            return Err(StreamError::trap(format!(
                "blocking-write-and-flush of {} bytes (at most {BLOCKING_WRITE_MAX})",
                contents.len()
            )));
        }
        write_now(self, &s, &contents, true)
    }

    fn flush(&mut self, s: Resource<OutputStream>) -> Result<(), StreamError> {
        flush_now(self, &s, false)
    }

    fn blocking_flush(&mut self, s: Resource<OutputStream>) -> Result<(), StreamError> {
        flush_now(self, &s, true)
    }

    fn subscribe(&mut self, s: Resource<OutputStream>) -> tern::Result<Resource<Pollable>> {
        let poll = match &self.table().get::<Output>(&cast(&s))?.sink {
            Sink::Tcp { fd, .. } => Poll::Fd {
                fd: fd.clone(),
                events: PollFlags::OUT,
            },
            _ => Poll::Ready,
        };
        let p = self.table().push_child(poll, &s)?;
        Ok(cast(&p))
    }

    fn write_zeroes(&mut self, s: Resource<OutputStream>, len: u64) -> Result<(), StreamError> {
        // Checked before allocating: the permit bounds the allocation.
        let permit = output(self, &s)?.permit;
        if len > permit {
            return Err(StreamError::trap(format!(
                "write-zeroes of {len} bytes exceeds the {permit} bytes `check-write` permitted"
            )));
        }
        HostOutputStream::write(self, s, vec![0; len as usize])
    }

    fn blocking_write_zeroes_and_flush(
        &mut self,
        s: Resource<OutputStream>,
        len: u64,
    ) -> Result<(), StreamError> {
        if len > BLOCKING_WRITE_MAX {
            return Err(StreamError::trap(format!(
                "blocking-write-zeroes-and-flush of {len} bytes (at most {BLOCKING_WRITE_MAX})"
            )));
        }
        write_now(self, &s, &vec![0; len as usize], true)
    }

    fn splice(
        &mut self,
        s: Resource<OutputStream>,
        src: Resource<InputStream>,
        len: u64,
    ) -> Result<u64, StreamError> {
        let out = output(self, &s)?;
        if out.closed {
            return Err(StreamError::Closed);
        }
        let len = len.min(out.permit);
        let bytes = read(self, &src, len, false)?;
        output(self, &s)?.permit -= bytes.len() as u64;
        write_now(self, &s, &bytes, false)?;
        Ok(bytes.len() as u64)
    }

    fn blocking_splice(
        &mut self,
        s: Resource<OutputStream>,
        src: Resource<InputStream>,
        len: u64,
    ) -> Result<u64, StreamError> {
        let bytes = read(self, &src, len.min(BLOCKING_WRITE_MAX), true)?;
        write_now(self, &s, &bytes, true)?;
        Ok(bytes.len() as u64)
    }

    fn convert_stream_error(&mut self, err: StreamError) -> tern::Result<WitStreamError> {
        stream_error_to_wit(self.table(), err)
    }

    fn drop(&mut self, s: Resource<OutputStream>) -> tern::Result<()> {
        self.table().delete::<Output>(cast(&s))?;
        Ok(())
    }
}

//! Virtual pipes for a guest's standard streams, in the shape of
//! `wasi_common::pipe` (wasmtime 12): [`ReadPipe`] serves a reader as the
//! guest's input, [`WritePipe`] collects the guest's output in a writer the
//! embedder keeps a clone of. Both are handed to the builder boxed as
//! [`WasiFile`](crate::WasiFile)s.
//!
//! ```
//! use tern_wasi::pipe::{ReadPipe, WritePipe};
//! use tern_wasi::sync::WasiCtxBuilder;
//! let stdout = WritePipe::new_in_memory();
//! let ctx = WasiCtxBuilder::new()
//!     .stdin(Box::new(ReadPipe::from("input")))
//!     .stdout(Box::new(stdout.clone()))
//!     .build();
//! // … run the guest, then drop the store (and with it `ctx`) …
//! drop(ctx);
//! let bytes: Vec<u8> = stdout.try_into_inner().expect("sole owner").into_inner();
//! assert!(bytes.is_empty());
//! ```

use crate::stream::Stream;
use crate::wasi_file::{sealed, WasiFile};
use std::any::Any;
use std::io::{self, Cursor, Read, Write};
use std::sync::{Arc, PoisonError, RwLock};

/// The read end of a virtual pipe: the guest reads what `R` yields. Clones
/// share the reader.
#[derive(Debug)]
pub struct ReadPipe<R: Read> {
    reader: Arc<RwLock<R>>,
}

impl<R: Read> Clone for ReadPipe<R> {
    fn clone(&self) -> Self {
        Self {
            reader: Arc::clone(&self.reader),
        }
    }
}

impl<R: Read> ReadPipe<R> {
    /// A pipe reading from `r`.
    pub fn new(r: R) -> Self {
        Self::from_shared(Arc::new(RwLock::new(r)))
    }

    /// A pipe reading from a reader the caller shares.
    pub fn from_shared(reader: Arc<RwLock<R>>) -> Self {
        Self { reader }
    }

    /// The reader back, or `Err(self)` while another clone (say, the one a
    /// live `WasiCtx` holds) still shares it.
    ///
    /// # Errors
    /// Returns the pipe itself when it is not the only owner.
    pub fn try_into_inner(self) -> Result<R, Self> {
        match Arc::try_unwrap(self.reader) {
            Ok(lock) => Ok(lock.into_inner().unwrap_or_else(PoisonError::into_inner)),
            Err(reader) => Err(Self { reader }),
        }
    }
}

impl From<Vec<u8>> for ReadPipe<Cursor<Vec<u8>>> {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(Cursor::new(bytes))
    }
}

impl From<&[u8]> for ReadPipe<Cursor<Vec<u8>>> {
    fn from(bytes: &[u8]) -> Self {
        Self::from(bytes.to_vec())
    }
}

impl From<String> for ReadPipe<Cursor<String>> {
    fn from(s: String) -> Self {
        Self::new(Cursor::new(s))
    }
}

impl From<&str> for ReadPipe<Cursor<String>> {
    fn from(s: &str) -> Self {
        Self::from(s.to_string())
    }
}

/// The write end of a virtual pipe: what the guest writes goes to `W`.
/// Clones share the writer, so the embedder keeps one to read the output.
#[derive(Debug)]
pub struct WritePipe<W: Write> {
    writer: Arc<RwLock<W>>,
}

impl<W: Write> Clone for WritePipe<W> {
    fn clone(&self) -> Self {
        Self {
            writer: Arc::clone(&self.writer),
        }
    }
}

impl<W: Write> WritePipe<W> {
    /// A pipe writing to `w`.
    pub fn new(w: W) -> Self {
        Self::from_shared(Arc::new(RwLock::new(w)))
    }

    /// A pipe writing to a writer the caller shares.
    pub fn from_shared(writer: Arc<RwLock<W>>) -> Self {
        Self { writer }
    }

    /// The writer back, or `Err(self)` while another clone (say, the one a
    /// live `WasiCtx` holds) still shares it.
    ///
    /// # Errors
    /// Returns the pipe itself when it is not the only owner.
    pub fn try_into_inner(self) -> Result<W, Self> {
        match Arc::try_unwrap(self.writer) {
            Ok(lock) => Ok(lock.into_inner().unwrap_or_else(PoisonError::into_inner)),
            Err(writer) => Err(Self { writer }),
        }
    }
}

impl WritePipe<Cursor<Vec<u8>>> {
    /// A pipe collecting everything written in memory.
    pub fn new_in_memory() -> Self {
        Self::new(Cursor::new(Vec::new()))
    }

    /// A copy of what was written so far, readable while the guest's
    /// context still holds a clone (Tern's addition; wasmtime 12 offers only
    /// [`WritePipe::try_into_inner`]).
    pub fn contents(&self) -> Vec<u8> {
        self.writer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get_ref()
            .clone()
    }
}

/// A shared reader as the descriptor table holds it.
struct SharedReader<R>(Arc<RwLock<R>>);

impl<R: Read> Read for SharedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .read(buf)
    }
}

/// A shared writer as the descriptor table holds it.
struct SharedWriter<W>(Arc<RwLock<W>>);

impl<W: Write> Write for SharedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

impl<R: Read + Send + Sync + 'static> sealed::Sealed for ReadPipe<R> {
    fn into_stream(self: Box<Self>) -> sealed::IntoStream {
        sealed::IntoStream(Stream::Input(Box::new(SharedReader(self.reader))))
    }
}

impl<R: Read + Send + Sync + 'static> WasiFile for ReadPipe<R> {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl<W: Write + Send + Sync + 'static> sealed::Sealed for WritePipe<W> {
    fn into_stream(self: Box<Self>) -> sealed::IntoStream {
        sealed::IntoStream(Stream::Output(Box::new(SharedWriter(self.writer))))
    }
}

impl<W: Write + Send + Sync + 'static> WasiFile for WritePipe<W> {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

//! [`WasiFile`] and [`WasiDir`]: the names wasmtime 12 (`wasi-common`) gives
//! to "something that can be a guest's file" and "something that can be a
//! guest's directory", so that `Box<dyn WasiFile>` code ports unchanged.
//!
//! In Tern both traits are *sealed*: Tern implements them for its own types
//! ([`pipe::ReadPipe`](crate::pipe::ReadPipe),
//! [`pipe::WritePipe`](crate::pipe::WritePipe),
//! [`sync::file::File`](crate::sync::file::File),
//! [`sync::stdio`](crate::sync::stdio)'s streams and
//! [`sync::dir::Dir`](crate::sync::dir::Dir)) and an embedder cannot implement
//! them for a type of its own. wasmtime 12's traits are async traits with
//! some thirty methods over wasi-common's own types; a reader or writer of
//! one's own goes through `ReadPipe::new` / `WritePipe::new` instead.

use crate::stream::Stream;
use std::any::Any;

/// The sealing: a public trait in a private module, so code outside this
/// crate can name neither it nor what it converts to.
pub(crate) mod sealed {
    /// What a [`WasiFile`](super::WasiFile) becomes in the descriptor table.
    pub struct IntoStream(pub(crate) super::Stream);

    /// What a [`WasiDir`](super::WasiDir) becomes in the descriptor table.
    pub struct IntoDir(pub(crate) std::fs::File);

    /// Implemented only inside this crate.
    pub trait Sealed {
        /// The stream the descriptor table keeps.
        fn into_stream(self: Box<Self>) -> IntoStream;
    }

    /// Implemented only inside this crate.
    pub trait SealedDir {
        /// The directory the descriptor table keeps.
        fn into_dir(self: Box<Self>) -> IntoDir;
    }
}

/// A file a guest can hold as a descriptor: what the builder's
/// `stdin`/`stdout`/`stderr` and `WasiCtx::set_stdout` & co. take, boxed.
/// Sealed (see the module note).
pub trait WasiFile: sealed::Sealed + Send + Sync {
    /// The value as `Any`, to downcast to the concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// A directory a guest can hold as a descriptor: what
/// `WasiCtx::push_preopened_dir` takes, boxed. Sealed (see the module note).
pub trait WasiDir: sealed::SealedDir + Send + Sync {
    /// The value as `Any`, to downcast to the concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// The stream a boxed file becomes.
pub(crate) fn stream_of(f: Box<dyn WasiFile>) -> Stream {
    f.into_stream().0
}

/// The host directory a boxed directory becomes.
pub(crate) fn dir_of(d: Box<dyn WasiDir>) -> std::fs::File {
    d.into_dir().0
}

/// What a guest may do with a file given by `WasiCtx::insert_file` /
/// `push_file` (wasi-common 12's `file::FileAccessMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileAccessMode {
    bits: u8,
}

impl FileAccessMode {
    /// Read it.
    pub const READ: FileAccessMode = FileAccessMode { bits: 1 };
    /// Write it.
    pub const WRITE: FileAccessMode = FileAccessMode { bits: 2 };

    /// Neither.
    pub const fn empty() -> FileAccessMode {
        FileAccessMode { bits: 0 }
    }

    /// Both.
    pub const fn all() -> FileAccessMode {
        FileAccessMode { bits: 3 }
    }

    /// Whether every mode in `other` is in `self`.
    pub const fn contains(self, other: FileAccessMode) -> bool {
        self.bits & other.bits == other.bits
    }
}

impl std::ops::BitOr for FileAccessMode {
    type Output = FileAccessMode;
    fn bitor(self, other: FileAccessMode) -> FileAccessMode {
        FileAccessMode {
            bits: self.bits | other.bits,
        }
    }
}

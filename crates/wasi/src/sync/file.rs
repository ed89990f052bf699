//! [`File`]: an open host file as a [`WasiFile`] (wasmtime 12's
//! `wasi_cap_std_sync::file::File`), to give a guest as a standard stream.

use crate::stream::Stream;
use crate::wasi_file::{sealed, WasiFile};
use std::any::Any;

/// A host file a guest can hold as a standard stream.
#[derive(Debug)]
pub struct File(std::fs::File);

impl File {
    /// Wraps an open `std::fs::File` (wasmtime 12's constructor is
    /// `from_cap_std(cap_std::fs::File)`; Tern does not depend on cap-std).
    pub fn from_std(file: std::fs::File) -> Self {
        File(file)
    }
}

impl sealed::Sealed for File {
    fn into_stream(self: Box<Self>) -> sealed::IntoStream {
        sealed::IntoStream(Stream::Host(self.0))
    }
}

impl WasiFile for File {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

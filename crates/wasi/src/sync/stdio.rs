//! The host process's standard streams as [`WasiFile`]s (wasmtime 12's
//! `wasi_cap_std_sync::stdio`): what `inherit_stdin`/`inherit_stdout`/
//! `inherit_stderr` hand the builder.
//!
//! The host descriptor is duplicated when the builder takes the stream. If
//! that fails (the process is out of descriptors), the guest's stream
//! reports the host's error on every read or write; building never fails
//! and never panics.

use crate::stream::Stream;
use crate::wasi_file::{sealed, WasiFile};
use std::any::Any;

/// The host's standard input.
#[derive(Debug, Clone, Copy)]
pub struct Stdin(());

/// The host's standard output.
#[derive(Debug, Clone, Copy)]
pub struct Stdout(());

/// The host's standard error.
#[derive(Debug, Clone, Copy)]
pub struct Stderr(());

/// The host's standard input.
pub fn stdin() -> Stdin {
    Stdin(())
}

/// The host's standard output.
pub fn stdout() -> Stdout {
    Stdout(())
}

/// The host's standard error.
pub fn stderr() -> Stderr {
    Stderr(())
}

macro_rules! host_stream {
    ($ty:ident, $open:ident) => {
        impl sealed::Sealed for $ty {
            fn into_stream(self: Box<Self>) -> sealed::IntoStream {
                sealed::IntoStream(Stream::$open())
            }
        }

        impl WasiFile for $ty {
            fn as_any(&self) -> &dyn Any {
                self
            }
        }
    };
}

host_stream!(Stdin, host_stdin);
host_stream!(Stdout, host_stdout);
host_stream!(Stderr, host_stderr);

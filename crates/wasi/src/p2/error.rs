//! The three trappable WIT errors of the WASI 0.2 host: [`StreamError`] for
//! `wasi:io/streams`, [`FsError`] for `wasi:filesystem/types` and
//! [`SocketError`] for `wasi:sockets`. Each is either the WIT value the
//! guest receives or a trap that ends the guest.

use super::bindings::wasi::filesystem::types::ErrorCode;
use super::bindings::wasi::io::error::Error as IoErrorMarker;
use super::bindings::wasi::io::streams::StreamError as WitStreamError;
use super::bindings::wasi::sockets::network::ErrorCode as SocketCode;
use tern::component::ResourceTableError;

/// A failed stream operation: the stream is closed, an I/O error happened
/// (reported to the guest as a `wasi:io/error.error`), or a trap.
#[derive(Debug)]
pub enum StreamError {
    /// The stream is closed: no more bytes will come or go.
    Closed,
    /// The last operation failed; the guest gets an `error` resource
    /// describing it.
    LastOperationFailed(std::io::Error),
    /// The guest broke a rule (a write beyond `check-write`, a bad handle):
    /// it traps.
    Trap(anyhow::Error),
}

impl StreamError {
    /// A trap with `msg`.
    pub(crate) fn trap(msg: impl Into<String>) -> Self {
        Self::Trap(anyhow::Error::msg(msg.into()))
    }
}

impl From<ResourceTableError> for StreamError {
    fn from(e: ResourceTableError) -> Self {
        Self::Trap(e.into())
    }
}

impl From<std::io::Error> for StreamError {
    fn from(e: std::io::Error) -> Self {
        Self::LastOperationFailed(e)
    }
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => f.write_str("stream closed"),
            Self::LastOperationFailed(e) => write!(f, "stream operation failed: {e}"),
            Self::Trap(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StreamError {}

/// A failed filesystem operation: a WIT `error-code`, or a trap.
#[derive(Debug)]
pub enum FsError {
    /// The error code the guest receives.
    Code(ErrorCode),
    /// A trap (a bad handle, a broken rule).
    Trap(anyhow::Error),
}

impl From<ErrorCode> for FsError {
    fn from(e: ErrorCode) -> Self {
        Self::Code(e)
    }
}

impl From<ResourceTableError> for FsError {
    fn from(e: ResourceTableError) -> Self {
        Self::Trap(e.into())
    }
}

impl From<rustix::io::Errno> for FsError {
    fn from(e: rustix::io::Errno) -> Self {
        Self::Code(super::filesystem::errno_code(e))
    }
}

impl From<std::io::Error> for FsError {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => rustix::io::Errno::from_raw_os_error(n).into(),
            None => Self::Code(ErrorCode::Io),
        }
    }
}

impl From<crate::error::Error> for FsError {
    fn from(e: crate::error::Error) -> Self {
        match e {
            crate::error::Error::Errno(n) => Self::Code(super::filesystem::p1_errno_code(n)),
            crate::error::Error::Trap(t) => Self::Trap(t),
        }
    }
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => write!(f, "filesystem error {c:?}"),
            Self::Trap(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FsError {}

/// Turns a host [`StreamError`] into the WIT value, pushing an `error`
/// resource for a failed operation.
pub(crate) fn stream_error_to_wit(
    table: &mut tern::component::ResourceTable,
    e: StreamError,
) -> anyhow::Result<WitStreamError> {
    match e {
        StreamError::Closed => Ok(WitStreamError::Closed),
        StreamError::LastOperationFailed(io) => {
            let r = table.push(super::io::IoError(io))?;
            Ok(WitStreamError::LastOperationFailed(super::cast::<
                _,
                IoErrorMarker,
            >(&r)))
        }
        StreamError::Trap(t) => Err(t),
    }
}

/// Turns a host [`FsError`] into the WIT value (or the trap).
pub(crate) fn fs_error_to_wit(e: FsError) -> anyhow::Result<ErrorCode> {
    match e {
        FsError::Code(c) => Ok(c),
        FsError::Trap(t) => Err(t),
    }
}

/// A failed socket operation: a `wasi:sockets/network` `error-code`, or a
/// trap.
#[derive(Debug)]
pub enum SocketError {
    /// The error code the guest receives.
    Code(SocketCode),
    /// A trap (a bad handle, a broken rule).
    Trap(anyhow::Error),
}

impl From<SocketCode> for SocketError {
    fn from(e: SocketCode) -> Self {
        Self::Code(e)
    }
}

impl From<ResourceTableError> for SocketError {
    fn from(e: ResourceTableError) -> Self {
        Self::Trap(e.into())
    }
}

impl From<rustix::io::Errno> for SocketError {
    fn from(e: rustix::io::Errno) -> Self {
        Self::Code(super::sockets::errno_code(e))
    }
}

impl From<anyhow::Error> for SocketError {
    fn from(e: anyhow::Error) -> Self {
        Self::Trap(e)
    }
}

impl std::fmt::Display for SocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => write!(f, "socket error {c:?}"),
            Self::Trap(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SocketError {}

/// Turns a host [`SocketError`] into the WIT value (or the trap).
pub(crate) fn socket_error_to_wit(e: SocketError) -> anyhow::Result<SocketCode> {
    match e {
        SocketError::Code(c) => Ok(c),
        SocketError::Trap(t) => Err(t),
    }
}

impl From<std::io::Error> for SocketError {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => rustix::io::Errno::from_raw_os_error(n).into(),
            None => Self::Code(SocketCode::Unknown),
        }
    }
}

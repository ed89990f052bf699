//! How a WASI function fails: with an error number the guest sees ([`Errno`]),
//! or with a trap that ends the guest (`proc_exit`, an unrecoverable host
//! error). Also the one table translating host `errno` values to WASI ones.

use crate::types::Errno;

/// The failure of one WASI call.
#[derive(Debug)]
pub(crate) enum Error {
    /// Returned to the guest as the function's result.
    Errno(Errno),
    /// Unwinds the guest: the error reaches the embedder from `Func::call`.
    Trap(anyhow::Error),
}

/// What every WASI function body returns.
pub(crate) type WasiResult<T> = Result<T, Error>;

impl From<Errno> for Error {
    fn from(e: Errno) -> Self {
        Error::Errno(e)
    }
}

impl From<rustix::io::Errno> for Error {
    fn from(e: rustix::io::Errno) -> Self {
        Error::Errno(from_host_errno(e))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Errno(from_io_error(&e))
    }
}

/// The WASI error number for a host I/O error.
pub(crate) fn from_io_error(e: &std::io::Error) -> Errno {
    match e.raw_os_error() {
        Some(raw) => from_host_errno(rustix::io::Errno::from_raw_os_error(raw)),
        None => match e.kind() {
            std::io::ErrorKind::NotFound => Errno::Noent,
            std::io::ErrorKind::PermissionDenied => Errno::Acces,
            std::io::ErrorKind::AlreadyExists => Errno::Exist,
            std::io::ErrorKind::InvalidInput => Errno::Inval,
            std::io::ErrorKind::InvalidData => Errno::Ilseq,
            std::io::ErrorKind::BrokenPipe => Errno::Pipe,
            std::io::ErrorKind::WouldBlock => Errno::Again,
            std::io::ErrorKind::Interrupted => Errno::Intr,
            std::io::ErrorKind::Unsupported => Errno::Notsup,
            std::io::ErrorKind::OutOfMemory => Errno::Nomem,
            _ => Errno::Io,
        },
    }
}

/// The WASI error number for a host `errno`.
pub(crate) fn from_host_errno(e: rustix::io::Errno) -> Errno {
    use rustix::io::Errno as H;
    match e {
        H::TOOBIG => Errno::TooBig,
        H::ACCESS => Errno::Acces,
        H::ADDRINUSE => Errno::Addrinuse,
        H::ADDRNOTAVAIL => Errno::Addrnotavail,
        H::AFNOSUPPORT => Errno::Afnosupport,
        H::AGAIN => Errno::Again,
        H::ALREADY => Errno::Already,
        H::BADF => Errno::Badf,
        H::BADMSG => Errno::Badmsg,
        H::BUSY => Errno::Busy,
        H::CANCELED => Errno::Canceled,
        H::CHILD => Errno::Child,
        H::CONNABORTED => Errno::Connaborted,
        H::CONNREFUSED => Errno::Connrefused,
        H::CONNRESET => Errno::Connreset,
        H::DEADLK => Errno::Deadlk,
        H::DESTADDRREQ => Errno::Destaddrreq,
        H::DOM => Errno::Dom,
        H::DQUOT => Errno::Dquot,
        H::EXIST => Errno::Exist,
        H::FAULT => Errno::Fault,
        H::FBIG => Errno::Fbig,
        H::HOSTUNREACH => Errno::Hostunreach,
        H::IDRM => Errno::Idrm,
        H::ILSEQ => Errno::Ilseq,
        H::INPROGRESS => Errno::Inprogress,
        H::INTR => Errno::Intr,
        H::INVAL => Errno::Inval,
        H::IO => Errno::Io,
        H::ISCONN => Errno::Isconn,
        H::ISDIR => Errno::Isdir,
        H::LOOP => Errno::Loop,
        H::MFILE => Errno::Mfile,
        H::MLINK => Errno::Mlink,
        H::MSGSIZE => Errno::Msgsize,
        H::MULTIHOP => Errno::Multihop,
        H::NAMETOOLONG => Errno::Nametoolong,
        H::NETDOWN => Errno::Netdown,
        H::NETRESET => Errno::Netreset,
        H::NETUNREACH => Errno::Netunreach,
        H::NFILE => Errno::Nfile,
        H::NOBUFS => Errno::Nobufs,
        H::NODEV => Errno::Nodev,
        H::NOENT => Errno::Noent,
        H::NOEXEC => Errno::Noexec,
        H::NOLCK => Errno::Nolck,
        H::NOLINK => Errno::Nolink,
        H::NOMEM => Errno::Nomem,
        H::NOMSG => Errno::Nomsg,
        H::NOPROTOOPT => Errno::Noprotoopt,
        H::NOSPC => Errno::Nospc,
        H::NOSYS => Errno::Nosys,
        H::NOTCONN => Errno::Notconn,
        H::NOTDIR => Errno::Notdir,
        H::NOTEMPTY => Errno::Notempty,
        H::NOTRECOVERABLE => Errno::Notrecoverable,
        H::NOTSOCK => Errno::Notsock,
        H::NOTSUP => Errno::Notsup,
        H::NOTTY => Errno::Notty,
        H::NXIO => Errno::Nxio,
        H::OVERFLOW => Errno::Overflow,
        H::OWNERDEAD => Errno::Ownerdead,
        H::PERM => Errno::Perm,
        H::PIPE => Errno::Pipe,
        H::PROTO => Errno::Proto,
        H::PROTONOSUPPORT => Errno::Protonosupport,
        H::PROTOTYPE => Errno::Prototype,
        H::RANGE => Errno::Range,
        H::ROFS => Errno::Rofs,
        H::SPIPE => Errno::Spipe,
        H::SRCH => Errno::Srch,
        H::STALE => Errno::Stale,
        H::TIMEDOUT => Errno::Timedout,
        H::TXTBSY => Errno::Txtbsy,
        H::XDEV => Errno::Xdev,
        _ => Errno::Io,
    }
}

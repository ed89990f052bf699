//! `wasi:filesystem`: `preopens`, the error mapping, and the facts the
//! descriptor methods (`descriptor.rs`) share: types and stats of host
//! files. Preopened directories are those of the [`crate::WasiCtx`]
//! (preview 1's), each handed out as a fresh descriptor of a duplicate of
//! the host directory, with the permissions the embedder granted.

use super::bindings::wasi::filesystem::preopens;
use super::bindings::wasi::filesystem::types::{self, DescriptorStat, DescriptorType, ErrorCode};
use super::descriptor::{Descriptor, Perms};
use super::{cast, WasiView};
use crate::types::{rights, Errno};
use rustix::fs::FileType;
use tern::component::Resource;

/// The WIT error code for a preview 1 error number (the one mapping from
/// host errors: host `errno` → preview 1 `Errno` → `error-code`).
pub(crate) fn p1_errno_code(e: Errno) -> ErrorCode {
    use ErrorCode as C;
    match e {
        Errno::Acces => C::Access,
        Errno::Again => C::WouldBlock,
        Errno::Already => C::Already,
        Errno::Badf => C::BadDescriptor,
        Errno::Busy => C::Busy,
        Errno::Deadlk => C::Deadlock,
        Errno::Dquot => C::Quota,
        Errno::Exist => C::Exist,
        Errno::Fbig => C::FileTooLarge,
        Errno::Ilseq => C::IllegalByteSequence,
        Errno::Inprogress => C::InProgress,
        Errno::Intr => C::Interrupted,
        Errno::Inval => C::Invalid,
        Errno::Isdir => C::IsDirectory,
        Errno::Loop => C::Loop,
        Errno::Mlink => C::TooManyLinks,
        Errno::Msgsize => C::MessageSize,
        Errno::Nametoolong => C::NameTooLong,
        Errno::Nodev => C::NoDevice,
        Errno::Noent => C::NoEntry,
        Errno::Nolck => C::NoLock,
        Errno::Nomem => C::InsufficientMemory,
        Errno::Nospc => C::InsufficientSpace,
        Errno::Notdir => C::NotDirectory,
        Errno::Notempty => C::NotEmpty,
        Errno::Notrecoverable => C::NotRecoverable,
        Errno::Notsup | Errno::Nosys => C::Unsupported,
        Errno::Notty => C::NoTty,
        Errno::Nxio => C::NoSuchDevice,
        Errno::Overflow => C::Overflow,
        Errno::Perm | Errno::Notcapable => C::NotPermitted,
        Errno::Pipe => C::Pipe,
        Errno::Rofs => C::ReadOnly,
        Errno::Spipe => C::InvalidSeek,
        Errno::Txtbsy => C::TextFileBusy,
        Errno::Xdev => C::CrossDevice,
        _ => C::Io,
    }
}

/// The WIT error code for a host `errno`.
pub(crate) fn errno_code(e: rustix::io::Errno) -> ErrorCode {
    p1_errno_code(crate::error::from_host_errno(e))
}

/// The descriptor type of a host file type.
pub(crate) fn descriptor_type(t: FileType) -> DescriptorType {
    match t {
        FileType::RegularFile => DescriptorType::RegularFile,
        FileType::Directory => DescriptorType::Directory,
        FileType::Symlink => DescriptorType::SymbolicLink,
        FileType::Fifo => DescriptorType::Fifo,
        FileType::Socket => DescriptorType::Socket,
        FileType::CharacterDevice => DescriptorType::CharacterDevice,
        FileType::BlockDevice => DescriptorType::BlockDevice,
        FileType::Unknown => DescriptorType::Unknown,
    }
}

fn datetime(sec: i64, nsec: i64) -> Option<types::Datetime> {
    Some(types::Datetime {
        seconds: u64::try_from(sec).ok()?,
        nanoseconds: u32::try_from(nsec).ok()?,
    })
}

/// The WIT stat of a host stat.
#[allow(
    clippy::unnecessary_cast,
    reason = "field types differ between targets"
)]
pub(crate) fn stat(s: &rustix::fs::Stat) -> DescriptorStat {
    DescriptorStat {
        r#type: descriptor_type(FileType::from_raw_mode(s.st_mode as _)),
        link_count: s.st_nlink as u64,
        size: s.st_size as u64,
        data_access_timestamp: datetime(s.st_atime as i64, s.st_atime_nsec as i64),
        data_modification_timestamp: datetime(s.st_mtime as i64, s.st_mtime_nsec as i64),
        status_change_timestamp: datetime(s.st_ctime as i64, s.st_ctime_nsec as i64),
    }
}

impl<T: WasiView> preopens::Host for T {
    fn get_directories(&mut self) -> tern::Result<Vec<(Resource<preopens::Descriptor>, String)>> {
        let mut dirs = Vec::new();
        for (name, file, base, inheriting) in self.ctx().state_mut()?.table.preopens() {
            let perms = Perms {
                read: base & rights::PATH_OPEN != 0,
                mutate: base & rights::PATH_CREATE_DIRECTORY != 0,
                file_read: inheriting & rights::FD_READ != 0,
                file_write: inheriting & rights::FD_WRITE != 0,
            };
            dirs.push((file.try_clone()?, perms, name.to_string()));
        }
        let mut out = Vec::with_capacity(dirs.len());
        for (file, perms, name) in dirs {
            let d = self.table().push(Descriptor::dir(file, perms))?;
            out.push((cast(&d), name));
        }
        Ok(out)
    }
}

//! The guest's descriptor table: what each WASI file descriptor number stands
//! for (a standard stream, a file, or a directory that paths resolve under),
//! with the rights and flags the guest was granted on it.
//!
//! Every descriptor holds a host file descriptor of its own (a `std::fs::File`,
//! even for directories), so the sandbox never names host paths after
//! `WasiCtxBuilder::preopened_dir` opened the preopens.

use crate::error::WasiResult;
use crate::stream::Stream;
use crate::types::{filetype, Errno};
use std::fs::File;

/// A directory entry as `fd_readdir` reports it.
pub(crate) struct DirEntry {
    pub(crate) ino: u64,
    pub(crate) filetype: u8,
    pub(crate) name: Vec<u8>,
}

/// What a descriptor refers to.
pub(crate) enum Kind {
    /// Standard input, output or error.
    Stream(Stream),
    /// A regular file (or any non-directory the guest opened).
    File(File),
    /// A directory.
    Dir(Dir),
}

/// A directory descriptor.
pub(crate) struct Dir {
    pub(crate) file: File,
    /// The guest path it was preopened as (`fd_prestat_*`), if it is a preopen.
    pub(crate) preopen: Option<String>,
    /// The listing read by the last `fd_readdir` with cookie 0; later cookies
    /// index into it so that a listing is read once, not once per call.
    pub(crate) listing: Option<Vec<DirEntry>>,
}

/// One open descriptor.
pub(crate) struct Desc {
    pub(crate) kind: Kind,
    /// Rights on this descriptor.
    pub(crate) base: u64,
    /// Rights that descriptors opened through it may get.
    pub(crate) inheriting: u64,
    /// `fdflags` given at open or by `fd_fdstat_set_flags`.
    pub(crate) flags: u16,
    /// The WASI file type, fixed at open.
    pub(crate) filetype: u8,
}

impl Desc {
    /// Fails with `ENOTCAPABLE` unless every right in `needed` is held.
    pub(crate) fn require(&self, needed: u64) -> WasiResult<()> {
        if self.base & needed == needed {
            Ok(())
        } else {
            Err(Errno::Notcapable.into())
        }
    }

    /// The directory, or `ENOTDIR`.
    pub(crate) fn dir(&mut self) -> WasiResult<&mut Dir> {
        match &mut self.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(Errno::Notdir.into()),
        }
    }

    /// The directory's host file, or `ENOTDIR`.
    pub(crate) fn dir_file(&self) -> WasiResult<&File> {
        match &self.kind {
            Kind::Dir(d) => Ok(&d.file),
            _ => Err(Errno::Notdir.into()),
        }
    }

    /// The host file (files and directories), or `EBADF` for a stream.
    pub(crate) fn host_file(&self) -> WasiResult<&File> {
        match &self.kind {
            Kind::File(f) => Ok(f),
            Kind::Dir(d) => Ok(&d.file),
            Kind::Stream(Stream::Host(f)) => Ok(f),
            Kind::Stream(_) => Err(Errno::Badf.into()),
        }
    }

    /// Whether this is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        self.filetype == filetype::DIRECTORY
    }
}

/// The table: descriptor numbers to descriptors. New descriptors take the
/// lowest free number, as POSIX `open` does.
#[derive(Default)]
pub(crate) struct Table {
    slots: Vec<Option<Desc>>,
}

impl Table {
    /// The descriptor `fd`, or `EBADF`.
    pub(crate) fn get(&mut self, fd: u32) -> WasiResult<&mut Desc> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or_else(|| Errno::Badf.into())
    }

    /// The descriptor `fd`, shared, or `EBADF`.
    pub(crate) fn get_ref(&self, fd: u32) -> WasiResult<&Desc> {
        self.slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| Errno::Badf.into())
    }

    /// Inserts at the lowest free number.
    pub(crate) fn push(&mut self, desc: Desc) -> WasiResult<u32> {
        let index = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        let fd = u32::try_from(index).map_err(|_| Errno::Mfile)?;
        self.slots[index] = Some(desc);
        Ok(fd)
    }

    /// Puts `desc` at number `fd`, closing what was there (the table grows
    /// to reach `fd`).
    pub(crate) fn insert_at(&mut self, fd: u32, desc: Desc) {
        let index = fd as usize;
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        self.slots[index] = Some(desc);
    }

    /// Removes `fd`, returning it (`EBADF` if not open).
    pub(crate) fn remove(&mut self, fd: u32) -> WasiResult<Desc> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or_else(|| Errno::Badf.into())
    }

    /// The preopened directories still open, in descriptor order: guest
    /// name, host directory, rights and inheriting rights.
    pub(crate) fn preopens(&self) -> impl Iterator<Item = (&str, &File, u64, u64)> {
        self.slots.iter().flatten().filter_map(|d| match &d.kind {
            Kind::Dir(Dir {
                file,
                preopen: Some(name),
                ..
            }) => Some((name.as_str(), file, d.base, d.inheriting)),
            _ => None,
        })
    }

    /// Moves `from` to number `to`, closing what `to` was (`fd_renumber`).
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> WasiResult<()> {
        self.get(from)?;
        self.get(to)?;
        if from != to {
            let desc = self.remove(from)?;
            self.slots[to as usize] = Some(desc);
        }
        Ok(())
    }
}

//! WASI functions on descriptors and paths: `fd_*` and `path_*`.
//!
//! Every path goes through `sandbox::resolve` first and is then used with a
//! single-name `*at` call that does not follow a final symbolic link, so a
//! guest only reaches what lies under the directory descriptor it names.

use crate::ctx::State;
use crate::error::WasiResult;
use crate::memory::GuestMemory;
use crate::sandbox::{self, Resolved};
use crate::table::{Desc, Dir, DirEntry, Kind};
use crate::types::{
    encode_dirent, encode_fdstat, fdflags, filetype, fstflags, lookupflags, oflags, rights, size,
    whence, Errno, Filestat, ADVICE_MAX, PREOPENTYPE_DIR,
};
use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

/// The WASI file type of a host `st_mode`.
fn filetype_of_mode(mode: u32) -> u8 {
    match rustix::fs::FileType::from_raw_mode(mode as rustix::fs::RawMode) {
        rustix::fs::FileType::RegularFile => filetype::REGULAR_FILE,
        rustix::fs::FileType::Directory => filetype::DIRECTORY,
        rustix::fs::FileType::Symlink => filetype::SYMBOLIC_LINK,
        rustix::fs::FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
        rustix::fs::FileType::BlockDevice => filetype::BLOCK_DEVICE,
        rustix::fs::FileType::Socket => filetype::SOCKET_STREAM,
        _ => filetype::UNKNOWN,
    }
}

/// A stat's `st_mode`, whose integer type differs between targets.
#[allow(
    clippy::unnecessary_cast,
    reason = "st_mode is u32 on some targets, u16 on others"
)]
fn mode(s: &rustix::fs::Stat) -> u32 {
    s.st_mode as u32
}

/// The WASI file type of an open host file.
pub(crate) fn filetype_of(file: &File) -> u8 {
    rustix::fs::fstat(file).map_or(filetype::UNKNOWN, |s| filetype_of_mode(mode(&s)))
}

fn nanos(sec: i64, nsec: i64) -> u64 {
    (sec.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec.max(0) as u64)
}

#[allow(
    clippy::unnecessary_cast,
    reason = "field types differ between targets"
)]
fn filestat(s: &rustix::fs::Stat) -> Filestat {
    Filestat {
        dev: s.st_dev as u64,
        ino: s.st_ino as u64,
        filetype: filetype_of_mode(mode(s)),
        nlink: s.st_nlink as u64,
        size: s.st_size as u64,
        atim: nanos(s.st_atime as i64, s.st_atime_nsec as i64),
        mtim: nanos(s.st_mtime as i64, s.st_mtime_nsec as i64),
        ctim: nanos(s.st_ctime as i64, s.st_ctime_nsec as i64),
    }
}

/// The `Timestamps` for `futimens`/`utimensat` from WASI's arguments.
fn timestamps(atim: u64, mtim: u64, flags: u16) -> WasiResult<Timestamps> {
    let one = |t: u64, set: u16, now: u16| -> WasiResult<Timespec> {
        match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Errno::Inval.into()),
            (true, false) => Ok(Timespec {
                tv_sec: (t / 1_000_000_000) as _,
                tv_nsec: (t % 1_000_000_000) as _,
            }),
            (false, true) => Ok(Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_NOW,
            }),
            (false, false) => Ok(Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            }),
        }
    };
    if flags & !(fstflags::ATIM | fstflags::ATIM_NOW | fstflags::MTIM | fstflags::MTIM_NOW) != 0 {
        return Err(Errno::Inval.into());
    }
    Ok(Timestamps {
        last_access: one(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        last_modification: one(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    })
}

/// Reads a directory's whole listing (with `.` and `..`, as the host gives them).
fn read_listing(dir: &File) -> WasiResult<Vec<DirEntry>> {
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let filetype = match entry.file_type() {
            rustix::fs::FileType::RegularFile => filetype::REGULAR_FILE,
            rustix::fs::FileType::Directory => filetype::DIRECTORY,
            rustix::fs::FileType::Symlink => filetype::SYMBOLIC_LINK,
            rustix::fs::FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
            rustix::fs::FileType::BlockDevice => filetype::BLOCK_DEVICE,
            rustix::fs::FileType::Socket => filetype::SOCKET_STREAM,
            _ => filetype::UNKNOWN,
        };
        out.push(DirEntry {
            ino: entry.ino(),
            filetype,
            name: entry.file_name().to_bytes().to_vec(),
        });
    }
    Ok(out)
}

impl State {
    /// The directory descriptor `fd` with `needed` rights, for a path call.
    fn dir_fd(&mut self, fd: u32, needed: u64) -> WasiResult<&mut Desc> {
        let desc = self.table.get(fd)?;
        if !desc.is_dir() {
            return Err(Errno::Notdir.into());
        }
        desc.require(needed)?;
        Ok(desc)
    }

    /// Resolves `path` under directory descriptor `fd` (checked for `needed`).
    fn resolve<'s>(
        &'s mut self,
        fd: u32,
        needed: u64,
        path: &str,
        follow: bool,
    ) -> WasiResult<Resolved<'s>> {
        let desc = self.dir_fd(fd, needed)?;
        let dir = desc.dir()?;
        sandbox::resolve(dir.file.as_fd(), path, follow)
    }

    /// `fd_advise`: validated, then ignored (advice is only a hint).
    pub(crate) fn fd_advise(
        &mut self,
        fd: u32,
        _offset: u64,
        _len: u64,
        advice: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_ADVISE)?;
        if advice > u32::from(ADVICE_MAX) {
            return Err(Errno::Inval.into());
        }
        match desc.kind {
            Kind::File(_) => Ok(()),
            Kind::Dir(_) => Err(Errno::Isdir.into()),
            Kind::Stream(_) => Err(Errno::Spipe.into()),
        }
    }

    /// `fd_allocate`: extends the file to cover `offset + len` if shorter.
    pub(crate) fn fd_allocate(&mut self, fd: u32, offset: u64, len: u64) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_ALLOCATE)?;
        let Kind::File(f) = &desc.kind else {
            return Err(Errno::Badf.into());
        };
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or(Errno::Fbig)?;
        if f.metadata()?.len() < end {
            f.set_len(end)?;
        }
        Ok(())
    }

    /// `fd_close`.
    pub(crate) fn fd_close(&mut self, fd: u32) -> WasiResult<()> {
        self.table.remove(fd).map(drop)
    }

    /// `fd_datasync`.
    pub(crate) fn fd_datasync(&mut self, fd: u32) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_DATASYNC)?;
        desc.host_file()?.sync_data()?;
        Ok(())
    }

    /// `fd_sync`.
    pub(crate) fn fd_sync(&mut self, fd: u32) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_SYNC)?;
        desc.host_file()?.sync_all()?;
        Ok(())
    }

    /// `fd_fdstat_get`.
    pub(crate) fn fd_fdstat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        out: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        mem.write(
            out,
            &encode_fdstat(desc.filetype, desc.flags, desc.base, desc.inheriting),
        )
    }

    /// `fd_fdstat_set_flags`: `APPEND` and `NONBLOCK` may change; the
    /// synchronization flags only at open.
    pub(crate) fn fd_fdstat_set_flags(&mut self, fd: u32, flags: u32) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_FDSTAT_SET_FLAGS)?;
        let flags = u16::try_from(flags)
            .ok()
            .filter(|f| f & !fdflags::ALL == 0)
            .ok_or(Errno::Inval)?;
        let sync = fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC;
        if flags & sync != desc.flags & sync {
            return Err(Errno::Notsup.into());
        }
        if let Kind::File(f) = &desc.kind {
            let mut host = rustix::fs::fcntl_getfl(f)?;
            host.set(OFlags::APPEND, flags & fdflags::APPEND != 0);
            host.set(OFlags::NONBLOCK, flags & fdflags::NONBLOCK != 0);
            rustix::fs::fcntl_setfl(f, host)?;
        }
        desc.flags = flags;
        Ok(())
    }

    /// `fd_fdstat_set_rights`: rights may only be dropped.
    pub(crate) fn fd_fdstat_set_rights(
        &mut self,
        fd: u32,
        base: u64,
        inheriting: u64,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        if base & !desc.base != 0 || inheriting & !desc.inheriting != 0 {
            return Err(Errno::Notcapable.into());
        }
        desc.base = base;
        desc.inheriting = inheriting;
        Ok(())
    }

    /// `fd_filestat_get`.
    pub(crate) fn fd_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        out: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_FILESTAT_GET)?;
        let stat = match desc.host_file() {
            Ok(f) => filestat(&rustix::fs::fstat(f)?),
            Err(_) => Filestat {
                filetype: desc.filetype,
                ..Filestat::default()
            },
        };
        mem.write(out, &stat.encode())
    }

    /// `fd_filestat_set_size`.
    pub(crate) fn fd_filestat_set_size(&mut self, fd: u32, size: u64) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_FILESTAT_SET_SIZE)?;
        let Kind::File(f) = &desc.kind else {
            return Err(Errno::Badf.into());
        };
        if size > i64::MAX as u64 {
            return Err(Errno::Fbig.into());
        }
        f.set_len(size)?;
        Ok(())
    }

    /// `fd_filestat_set_times`.
    pub(crate) fn fd_filestat_set_times(
        &mut self,
        fd: u32,
        atim: u64,
        mtim: u64,
        flags: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_FILESTAT_SET_TIMES)?;
        let ts = timestamps(atim, mtim, u16::try_from(flags).map_err(|_| Errno::Inval)?)?;
        rustix::fs::futimens(desc.host_file()?, &ts)?;
        Ok(())
    }

    /// `fd_read`: fills the buffers in order, stopping at a short read; from a
    /// standard stream, only the first non-empty buffer (so it never blocks
    /// waiting for more than one read's worth).
    pub(crate) fn fd_read(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        iovs: u32,
        n: u32,
        nread: u32,
    ) -> WasiResult<()> {
        let iovs = mem.iovecs(iovs, n)?;
        let desc = self.table.get(fd)?;
        refuse_dir(desc)?;
        desc.require(rights::FD_READ)?;
        let mut total = 0usize;
        for &(ptr, len) in iovs.iter().filter(|(_, l)| *l > 0) {
            let buf = mem.slice_mut(ptr, len)?;
            let got = match &mut desc.kind {
                Kind::File(f) => f.read(buf)?,
                Kind::Stream(s) => s.read(buf)?,
                Kind::Dir(_) => return Err(Errno::Isdir.into()),
            };
            total += got;
            if got < buf.len() || matches!(desc.kind, Kind::Stream(_)) {
                break;
            }
        }
        mem.write_u32(nread, total as u32)
    }

    /// `fd_pread`.
    pub(crate) fn fd_pread(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        iovs: u32,
        n: u32,
        offset: u64,
        nread: u32,
    ) -> WasiResult<()> {
        let iovs = mem.iovecs(iovs, n)?;
        let desc = self.table.get(fd)?;
        refuse_dir(desc)?;
        desc.require(rights::FD_READ | rights::FD_SEEK)?;
        let f = match &desc.kind {
            Kind::File(f) => f,
            Kind::Dir(_) => return Err(Errno::Isdir.into()),
            Kind::Stream(_) => return Err(Errno::Spipe.into()),
        };
        let mut total = 0u64;
        for &(ptr, len) in iovs.iter().filter(|(_, l)| *l > 0) {
            let buf = mem.slice_mut(ptr, len)?;
            let got = f.read_at(buf, offset.checked_add(total).ok_or(Errno::Inval)?)?;
            total += got as u64;
            if got < buf.len() {
                break;
            }
        }
        mem.write_u32(nread, total as u32)
    }

    /// `fd_write`: writes every buffer whole.
    pub(crate) fn fd_write(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        iovs: u32,
        n: u32,
        nwritten: u32,
    ) -> WasiResult<()> {
        let iovs = mem.iovecs(iovs, n)?;
        let desc = self.table.get(fd)?;
        refuse_dir(desc)?;
        desc.require(rights::FD_WRITE)?;
        let bufs = mem.gather(&iovs)?;
        let total = match &mut desc.kind {
            Kind::File(f) => {
                let mut t = 0;
                for b in &bufs {
                    f.write_all(b)?;
                    t += b.len();
                }
                t
            }
            Kind::Stream(s) => s.write(&bufs)?,
            Kind::Dir(_) => return Err(Errno::Isdir.into()),
        };
        mem.write_u32(nwritten, total as u32)
    }

    /// `fd_pwrite`.
    pub(crate) fn fd_pwrite(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        iovs: u32,
        n: u32,
        offset: u64,
        nwritten: u32,
    ) -> WasiResult<()> {
        let iovs = mem.iovecs(iovs, n)?;
        let desc = self.table.get(fd)?;
        refuse_dir(desc)?;
        desc.require(rights::FD_WRITE | rights::FD_SEEK)?;
        let f = match &desc.kind {
            Kind::File(f) => f,
            Kind::Dir(_) => return Err(Errno::Isdir.into()),
            Kind::Stream(_) => return Err(Errno::Spipe.into()),
        };
        let mut total = 0u64;
        for b in mem.gather(&iovs)? {
            f.write_all_at(b, offset.checked_add(total).ok_or(Errno::Inval)?)?;
            total += b.len() as u64;
        }
        mem.write_u32(nwritten, total as u32)
    }

    /// `fd_seek`.
    pub(crate) fn fd_seek(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        offset: i64,
        wh: u32,
        out: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        // A directory has no position: `EBADF` whatever its rights, as the
        // WASI test suite expects.
        if matches!(desc.kind, Kind::Dir(_)) {
            return Err(Errno::Badf.into());
        }
        let needed = if offset == 0 && wh == u32::from(whence::CUR) {
            rights::FD_TELL
        } else {
            rights::FD_SEEK
        };
        desc.require(needed)?;
        let pos = match u8::try_from(wh).map_err(|_| Errno::Inval)? {
            whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
            whence::CUR => SeekFrom::Current(offset),
            whence::END => SeekFrom::End(offset),
            _ => return Err(Errno::Inval.into()),
        };
        let new = match &mut desc.kind {
            Kind::File(f) => f.seek(pos)?,
            Kind::Dir(_) => return Err(Errno::Badf.into()),
            Kind::Stream(_) => return Err(Errno::Spipe.into()),
        };
        mem.write_u64(out, new)
    }

    /// `fd_tell`.
    pub(crate) fn fd_tell(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        out: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        if matches!(desc.kind, Kind::Dir(_)) {
            return Err(Errno::Badf.into());
        }
        desc.require(rights::FD_TELL)?;
        let pos = match &mut desc.kind {
            Kind::File(f) => f.stream_position()?,
            Kind::Dir(_) => return Err(Errno::Badf.into()),
            Kind::Stream(_) => return Err(Errno::Spipe.into()),
        };
        mem.write_u64(out, pos)
    }

    /// `fd_readdir`: entries from `cookie` on, each a `dirent` header and its
    /// name, the last one cut at the buffer's end (the guest then retries with
    /// a larger buffer). Cookie `n` is the position after the `n`th entry.
    pub(crate) fn fd_readdir(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        buf: u32,
        buf_len: u32,
        cookie: u64,
        bufused: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        desc.require(rights::FD_READDIR)?;
        let dir = desc.dir().map_err(|_| Errno::Badf)?;
        if cookie == 0 || dir.listing.is_none() {
            dir.listing = Some(read_listing(&dir.file)?);
        }
        let listing = dir.listing.as_deref().unwrap_or_default();
        let cap = buf_len as usize;
        let mut out = Vec::with_capacity(cap.min(64 * 1024));
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        for (i, e) in listing.iter().enumerate().skip(start) {
            if out.len() >= cap {
                break;
            }
            let namlen = u32::try_from(e.name.len()).map_err(|_| Errno::Nametoolong)?;
            out.extend_from_slice(&encode_dirent(i as u64 + 1, e.ino, namlen, e.filetype));
            out.extend_from_slice(&e.name);
        }
        out.truncate(cap);
        mem.write(buf, &out)?;
        mem.write_u32(bufused, out.len() as u32)
    }

    /// `fd_prestat_get`: `EBADF` for anything but a preopened directory (the
    /// guest's libc stops scanning descriptors at the first `EBADF`).
    pub(crate) fn fd_prestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        out: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        let Kind::Dir(Dir {
            preopen: Some(name),
            ..
        }) = &desc.kind
        else {
            return Err(Errno::Badf.into());
        };
        let mut b = [0u8; size::PRESTAT];
        b[0] = PREOPENTYPE_DIR;
        b[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
        mem.write(out, &b)
    }

    /// `fd_prestat_dir_name`.
    pub(crate) fn fd_prestat_dir_name(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        path: u32,
        len: u32,
    ) -> WasiResult<()> {
        let desc = self.table.get(fd)?;
        let Kind::Dir(Dir {
            preopen: Some(name),
            ..
        }) = &desc.kind
        else {
            return Err(Errno::Badf.into());
        };
        if (len as usize) < name.len() {
            return Err(Errno::Nametoolong.into());
        }
        mem.write(path, name.as_bytes())
    }

    /// `fd_renumber`.
    pub(crate) fn fd_renumber(&mut self, from: u32, to: u32) -> WasiResult<()> {
        self.table.renumber(from, to)
    }

    /// `path_create_directory`.
    pub(crate) fn path_create_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        path: u32,
        len: u32,
    ) -> WasiResult<()> {
        let path = mem.str(path, len)?;
        let r = self.resolve(fd, rights::PATH_CREATE_DIRECTORY, path, false)?;
        rustix::fs::mkdirat(&r.parent, r.name.as_str(), Mode::from_bits_truncate(0o777))?;
        Ok(())
    }

    /// `path_filestat_get`.
    pub(crate) fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        flags: u32,
        path: u32,
        len: u32,
        out: u32,
    ) -> WasiResult<()> {
        let path = mem.str(path, len)?;
        let follow = flags & lookupflags::SYMLINK_FOLLOW != 0;
        let r = self.resolve(fd, rights::PATH_FILESTAT_GET, path, follow)?;
        let stat = rustix::fs::statat(&r.parent, r.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
        if r.must_be_dir && filetype_of_mode(mode(&stat)) != filetype::DIRECTORY {
            return Err(Errno::Notdir.into());
        }
        mem.write(out, &filestat(&stat).encode())
    }

    /// `path_filestat_set_times`.
    #[allow(clippy::too_many_arguments, reason = "the WASI signature")]
    pub(crate) fn path_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        flags: u32,
        path: u32,
        len: u32,
        atim: u64,
        mtim: u64,
        fst: u32,
    ) -> WasiResult<()> {
        let path = mem.str(path, len)?;
        let ts = timestamps(atim, mtim, u16::try_from(fst).map_err(|_| Errno::Inval)?)?;
        let follow = flags & lookupflags::SYMLINK_FOLLOW != 0;
        let r = self.resolve(fd, rights::PATH_FILESTAT_SET_TIMES, path, follow)?;
        rustix::fs::utimensat(&r.parent, r.name.as_str(), &ts, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }

    /// `path_link`: a hard link; the source is never followed if it is a
    /// symbolic link outside the sandbox (links are resolved like any path).
    #[allow(clippy::too_many_arguments, reason = "the WASI signature")]
    pub(crate) fn path_link(
        &mut self,
        mem: &mut GuestMemory<'_>,
        old_fd: u32,
        old_flags: u32,
        old_path: u32,
        old_len: u32,
        new_fd: u32,
        new_path: u32,
        new_len: u32,
    ) -> WasiResult<()> {
        let old_path = mem.str(old_path, old_len)?;
        let new_path = mem.str(new_path, new_len)?;
        let follow = old_flags & lookupflags::SYMLINK_FOLLOW != 0;
        self.dir_fd(old_fd, rights::PATH_LINK_SOURCE)?;
        self.dir_fd(new_fd, rights::PATH_LINK_TARGET)?;
        let old_base = self.table.get_ref(old_fd)?.dir_file()?.as_fd();
        let new_base = self.table.get_ref(new_fd)?.dir_file()?.as_fd();
        let old = sandbox::resolve(old_base, old_path, follow)?;
        let new = sandbox::resolve(new_base, new_path, false)?;
        if new.must_be_dir {
            return Err(Errno::Noent.into());
        }
        rustix::fs::linkat(
            &old.parent,
            old.name.as_str(),
            &new.parent,
            new.name.as_str(),
            AtFlags::empty(),
        )?;
        Ok(())
    }

    /// `path_open`.
    #[allow(clippy::too_many_arguments, reason = "the WASI signature")]
    pub(crate) fn path_open(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        dirflags: u32,
        path: u32,
        len: u32,
        oflags: u32,
        base: u64,
        inheriting: u64,
        fdflags: u32,
        out: u32,
    ) -> WasiResult<()> {
        let path = mem.str(path, len)?;
        mem.slice(out, 4)?;
        let oflags = u16::try_from(oflags)
            .ok()
            .filter(|f| f & !oflags::ALL == 0)
            .ok_or(Errno::Inval)?;
        let fdflags = u16::try_from(fdflags)
            .ok()
            .filter(|f| f & !fdflags::ALL == 0)
            .ok_or(Errno::Inval)?;
        let mut needed = rights::PATH_OPEN;
        if oflags & oflags::CREAT != 0 {
            needed |= rights::PATH_CREATE_FILE;
        }
        if oflags & oflags::TRUNC != 0 {
            needed |= rights::PATH_FILESTAT_SET_SIZE;
        }
        let dir = self.dir_fd(fd, needed)?;
        let granted_base = base & dir.inheriting;
        let granted_inheriting = inheriting & dir.inheriting;
        let follow = dirflags & lookupflags::SYMLINK_FOLLOW != 0;
        let r = self.resolve(fd, needed, path, follow)?;

        let read = granted_base & rights::WANTS_READ != 0;
        let write = granted_base & rights::WANTS_WRITE != 0;
        let mut flags = OFlags::NOFOLLOW | OFlags::CLOEXEC;
        // A directory is never opened for writing (the host would refuse with
        // EISDIR); its rights still say what may be done under it.
        let wants_dir = oflags & oflags::DIRECTORY != 0 || r.must_be_dir;
        flags |= match (read, write && !wants_dir) {
            (_, false) => OFlags::RDONLY,
            (false, true) => OFlags::WRONLY,
            (true, true) => OFlags::RDWR,
        };
        if oflags & oflags::CREAT != 0 {
            flags |= OFlags::CREATE;
        }
        if oflags & oflags::EXCL != 0 {
            flags |= OFlags::EXCL;
        }
        if oflags & oflags::TRUNC != 0 {
            flags |= OFlags::TRUNC;
        }
        if wants_dir {
            flags |= OFlags::DIRECTORY;
        }
        if fdflags & fdflags::APPEND != 0 {
            flags |= OFlags::APPEND;
        }
        if fdflags & fdflags::NONBLOCK != 0 {
            flags |= OFlags::NONBLOCK;
        }
        if fdflags & fdflags::DSYNC != 0 {
            flags |= OFlags::DSYNC;
        }
        if fdflags & fdflags::SYNC != 0 {
            flags |= OFlags::SYNC;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if fdflags & fdflags::RSYNC != 0 {
            flags |= OFlags::RSYNC;
        }
        if (oflags & oflags::CREAT != 0) && r.name == "." {
            return Err(Errno::Isdir.into());
        }
        let host = rustix::fs::openat(
            &r.parent,
            r.name.as_str(),
            flags,
            Mode::from_bits_truncate(0o666),
        )?;
        drop(r);
        let file = File::from(host);
        let ft = filetype_of(&file);
        // A directory cannot be written: asking for write rights on one is
        // `EISDIR`, as POSIX `open` says and wasmtime and the WASI test suite
        // expect, whether or not `O_DIRECTORY` was given. (The rights a
        // directory passes on to what is opened under it are `inheriting`.)
        if ft == filetype::DIRECTORY && base & rights::WANTS_WRITE != 0 {
            return Err(Errno::Isdir.into());
        }
        // A directory holds only directory rights: it cannot be read, seeked
        // or told, so `fd_fdstat_get` must not report `FD_SEEK` and the like.
        let granted_base = if ft == filetype::DIRECTORY {
            granted_base & rights::DIR_ALL
        } else {
            granted_base
        };
        let kind = if ft == filetype::DIRECTORY {
            Kind::Dir(Dir {
                file,
                preopen: None,
                listing: None,
            })
        } else {
            if oflags & oflags::DIRECTORY != 0 {
                return Err(Errno::Notdir.into());
            }
            Kind::File(file)
        };
        let desc = Desc {
            kind,
            base: granted_base,
            inheriting: granted_inheriting,
            flags: fdflags,
            filetype: ft,
        };
        let new_fd = self.table.push(desc)?;
        mem.write_u32(out, new_fd)
    }

    /// `path_readlink`: the link's text, cut to the buffer.
    #[allow(clippy::too_many_arguments, reason = "the WASI signature")]
    pub(crate) fn path_readlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        path: u32,
        len: u32,
        buf: u32,
        buf_len: u32,
        bufused: u32,
    ) -> WasiResult<()> {
        let path = mem.str(path, len)?;
        let r = self.resolve(fd, rights::PATH_READLINK, path, false)?;
        let target = rustix::fs::readlinkat(&r.parent, r.name.as_str(), Vec::new())?;
        let bytes = target.as_bytes();
        let n = bytes.len().min(buf_len as usize);
        mem.write(buf, &bytes[..n])?;
        mem.write_u32(bufused, n as u32)
    }

    /// `path_remove_directory`.
    pub(crate) fn path_remove_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        path: u32,
        len: u32,
    ) -> WasiResult<()> {
        let path = mem.str(path, len)?;
        let r = self.resolve(fd, rights::PATH_REMOVE_DIRECTORY, path, false)?;
        rustix::fs::unlinkat(&r.parent, r.name.as_str(), AtFlags::REMOVEDIR)?;
        Ok(())
    }

    /// `path_rename`.
    #[allow(clippy::too_many_arguments, reason = "the WASI signature")]
    pub(crate) fn path_rename(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        old_path: u32,
        old_len: u32,
        new_fd: u32,
        new_path: u32,
        new_len: u32,
    ) -> WasiResult<()> {
        let old_path = mem.str(old_path, old_len)?;
        let new_path = mem.str(new_path, new_len)?;
        self.dir_fd(fd, rights::PATH_RENAME_SOURCE)?;
        self.dir_fd(new_fd, rights::PATH_RENAME_TARGET)?;
        let old_base = self.table.get_ref(fd)?.dir_file()?.as_fd();
        let new_base = self.table.get_ref(new_fd)?.dir_file()?.as_fd();
        let old = sandbox::resolve(old_base, old_path, false)?;
        let new = sandbox::resolve(new_base, new_path, false)?;
        if old.must_be_dir || new.must_be_dir {
            let stat =
                rustix::fs::statat(&old.parent, old.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
            if filetype_of_mode(mode(&stat)) != filetype::DIRECTORY {
                return Err(Errno::Notdir.into());
            }
        }
        rustix::fs::renameat(
            &old.parent,
            old.name.as_str(),
            &new.parent,
            new.name.as_str(),
        )?;
        Ok(())
    }

    /// `path_symlink`: refuses a target that points outside the sandbox by
    /// its text (absolute, or climbing above the preopen with `..`).
    pub(crate) fn path_symlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        old_path: u32,
        old_len: u32,
        fd: u32,
        new_path: u32,
        new_len: u32,
    ) -> WasiResult<()> {
        let target = mem.str(old_path, old_len)?;
        let new_path = mem.str(new_path, new_len)?;
        let r = self.resolve(fd, rights::PATH_SYMLINK, new_path, false)?;
        if r.must_be_dir {
            return Err(Errno::Noent.into());
        }
        if sandbox::target_escapes(r.depth, target) {
            return Err(Errno::Notcapable.into());
        }
        rustix::fs::symlinkat(target, &r.parent, r.name.as_str())?;
        Ok(())
    }

    /// `path_unlink_file`.
    pub(crate) fn path_unlink_file(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        path: u32,
        len: u32,
    ) -> WasiResult<()> {
        let path = mem.str(path, len)?;
        let r = self.resolve(fd, rights::PATH_UNLINK_FILE, path, false)?;
        if r.must_be_dir {
            let stat = rustix::fs::statat(&r.parent, r.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
            return Err(if filetype_of_mode(mode(&stat)) == filetype::DIRECTORY {
                Errno::Isdir
            } else {
                Errno::Notdir
            }
            .into());
        }
        rustix::fs::unlinkat(&r.parent, r.name.as_str(), AtFlags::empty())?;
        Ok(())
    }
}

/// `EISDIR` for a directory: reading or writing one is that error whatever
/// the descriptor's rights (a directory never holds `FD_READ` or `FD_WRITE`,
/// so checking rights first would say `ENOTCAPABLE` instead).
fn refuse_dir(desc: &Desc) -> WasiResult<()> {
    match desc.kind {
        Kind::Dir(_) => Err(Errno::Isdir.into()),
        _ => Ok(()),
    }
}

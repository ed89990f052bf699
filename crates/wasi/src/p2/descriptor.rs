//! `wasi:filesystem/types`: every method of `descriptor` and
//! `directory-entry-stream`. Paths resolve through preview 1's sandbox
//! (`crate::sandbox::resolve`), so a path can reach nothing outside the
//! directory it is resolved under: `..` above it, absolute paths and
//! symbolic links pointing out are `not-permitted`, and a guest cannot
//! create a symbolic link whose text escapes.
//!
//! What a descriptor may do is fixed when it is made: a preopen gets the
//! embedder's permissions; a descriptor opened under a directory gets the
//! flags the guest asked for, if the directory's permissions allow them.

use super::bindings::wasi::filesystem::types;
use super::bindings::wasi::filesystem::types::{
    Advice, Descriptor as DescriptorMarker, DescriptorFlags, DescriptorStat, DescriptorType,
    DirectoryEntry, DirectoryEntryStream as EntriesMarker, ErrorCode, HostDescriptor,
    HostDirectoryEntryStream, InputStream, MetadataHashValue, NewTimestamp, OpenFlags,
    OutputStream, PathFlags,
};
use super::error::{fs_error_to_wit, FsError};
use super::filesystem::{descriptor_type, errno_code, stat};
use super::io::IoError;
use super::streams::{Input, Output, Sink, WRITE_BUDGET};
use super::{cast, WasiView};
use crate::sandbox::{self, Resolved};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::FileExt;
use tern::component::Resource;

/// What a descriptor's holder may do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Perms {
    /// (Directories) list, stat and open entries.
    pub(crate) read: bool,
    /// (Directories) create, rename and remove entries.
    pub(crate) mutate: bool,
    /// Files opened under it may be read (for a file: it may be read).
    pub(crate) file_read: bool,
    /// Files opened under it may be written (for a file: it may be written).
    pub(crate) file_write: bool,
}

/// A descriptor's table entry.
pub(crate) struct Descriptor {
    file: File,
    dir: bool,
    perms: Perms,
    /// What `get-flags` reports.
    flags: DescriptorFlags,
}

impl Descriptor {
    /// A directory descriptor (a preopen).
    pub(crate) fn dir(file: File, perms: Perms) -> Self {
        let mut flags = DescriptorFlags::READ;
        if perms.mutate {
            flags |= DescriptorFlags::MUTATE_DIRECTORY;
        }
        Self {
            file,
            dir: true,
            perms,
            flags,
        }
    }
}

/// A directory listing, read whole when `read-directory` is called.
pub(crate) struct Entries(std::vec::IntoIter<Result<DirectoryEntry, ErrorCode>>);

/// The largest single `read` (as for streams).
const READ_MAX: u64 = 1 << 20;

type FsResult<T> = Result<T, FsError>;

fn desc<'t, T: WasiView>(
    view: &'t mut T,
    r: &Resource<DescriptorMarker>,
) -> FsResult<&'t Descriptor> {
    Ok(view.table().get::<Descriptor>(&cast(r))?)
}

/// Which right of a regular file an operation needs.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

/// The descriptor `r` as a regular file with the right `access` needs:
/// `is-directory` for a directory, `bad-descriptor` without the right.
fn regular_file<'t, T: WasiView>(
    view: &'t mut T,
    r: &Resource<DescriptorMarker>,
    access: Access,
) -> FsResult<&'t Descriptor> {
    let d = desc(view, r)?;
    if d.dir {
        return Err(ErrorCode::IsDirectory.into());
    }
    let allowed = match access {
        Access::Read => d.perms.file_read,
        Access::Write => d.perms.file_write,
    };
    if !allowed {
        return Err(ErrorCode::BadDescriptor.into());
    }
    Ok(d)
}

fn file<T: WasiView>(view: &mut T, r: &Resource<DescriptorMarker>) -> FsResult<File> {
    Ok(desc(view, r)?.file.try_clone()?)
}

/// The directory of `r` and its permissions, checked: `not-directory` for a
/// file, `not-permitted` without `mutate` when `mutate` is needed.
fn dir<T: WasiView>(
    view: &mut T,
    r: &Resource<DescriptorMarker>,
    mutate: bool,
) -> FsResult<(File, Perms)> {
    let d = desc(view, r)?;
    if !d.dir {
        return Err(ErrorCode::NotDirectory.into());
    }
    if (mutate && !d.perms.mutate) || (!mutate && !d.perms.read) {
        return Err(ErrorCode::NotPermitted.into());
    }
    Ok((d.file.try_clone()?, d.perms))
}

/// The path as the sandbox takes it.
fn resolve<'a>(base: &'a File, path: &str, follow: bool) -> FsResult<Resolved<'a>> {
    use std::os::fd::AsFd;
    Ok(sandbox::resolve(base.as_fd(), path, follow)?)
}

fn follows(f: PathFlags) -> bool {
    f.contains(PathFlags::SYMLINK_FOLLOW)
}

/// The status of `path` under the directory `r` (`stat-at`, `metadata-hash-at`):
/// the sandbox resolves the path, following a final symlink only when `flags` say so.
fn stat_at_path<T: WasiView>(
    view: &mut T,
    r: &Resource<DescriptorMarker>,
    flags: PathFlags,
    path: &str,
) -> FsResult<rustix::fs::Stat> {
    let (d, _) = dir(view, r, false)?;
    let p = resolve(&d, path, follows(flags))?;
    Ok(rustix::fs::statat(
        &p.parent,
        p.name.as_str(),
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

fn timespec(t: NewTimestamp) -> Timespec {
    match t {
        NewTimestamp::NoChange => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        NewTimestamp::Now => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        NewTimestamp::Timestamp(d) => Timespec {
            tv_sec: d.seconds.min(i64::MAX as u64) as _,
            tv_nsec: d.nanoseconds as _,
        },
    }
}

fn timestamps(a: NewTimestamp, m: NewTimestamp) -> FsResult<Timestamps> {
    for t in [&a, &m] {
        if let NewTimestamp::Timestamp(d) = t {
            if d.nanoseconds >= 1_000_000_000 {
                return Err(ErrorCode::Invalid.into());
            }
        }
    }
    Ok(Timestamps {
        last_access: timespec(a),
        last_modification: timespec(m),
    })
}

#[allow(
    clippy::unnecessary_cast,
    reason = "field types differ between targets"
)]
fn hash(s: &rustix::fs::Stat) -> MetadataHashValue {
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        (s.st_dev as u64, s.st_ino as u64, salt).hash(&mut h);
        h.finish()
    };
    MetadataHashValue {
        lower: half(0),
        upper: half(1),
    }
}

fn read_listing(dir: &File) -> FsResult<Vec<Result<DirectoryEntry, ErrorCode>>> {
    let mut d = rustix::fs::Dir::read_from(dir)?;
    let mut out = Vec::new();
    while let Some(e) = d.read() {
        let e = e?;
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let Ok(name) = String::from_utf8(name.to_vec()) else {
            out.push(Err(ErrorCode::IllegalByteSequence));
            continue;
        };
        let mut ty = e.file_type();
        if ty == FileType::Unknown {
            ty = rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_or(FileType::Unknown, |s| {
                    FileType::from_raw_mode(s.st_mode as _)
                });
        }
        out.push(Ok(DirectoryEntry {
            r#type: descriptor_type(ty),
            name,
        }));
    }
    Ok(out)
}

impl<T: WasiView> types::Host for T {
    fn filesystem_error_code(
        &mut self,
        err: Resource<types::Error>,
    ) -> tern::Result<Option<ErrorCode>> {
        let e = self.table().get::<IoError>(&cast(&err))?;
        Ok(e.0
            .raw_os_error()
            .map(|n| errno_code(rustix::io::Errno::from_raw_os_error(n))))
    }

    fn convert_error_code(&mut self, err: FsError) -> tern::Result<ErrorCode> {
        fs_error_to_wit(err)
    }
}

impl<T: WasiView> HostDescriptor for T {
    fn read_via_stream(
        &mut self,
        r: Resource<DescriptorMarker>,
        offset: u64,
    ) -> FsResult<Resource<InputStream>> {
        let d = regular_file(self, &r, Access::Read)?;
        let file = d.file.try_clone()?;
        Ok(cast(
            &self.table().push_child(Input::File { file, offset }, &r)?,
        ))
    }

    fn write_via_stream(
        &mut self,
        r: Resource<DescriptorMarker>,
        offset: u64,
    ) -> FsResult<Resource<OutputStream>> {
        let d = regular_file(self, &r, Access::Write)?;
        let file = d.file.try_clone()?;
        let out = Output::new(Sink::File { file, offset });
        Ok(cast(&self.table().push_child(out, &r)?))
    }

    fn append_via_stream(
        &mut self,
        r: Resource<DescriptorMarker>,
    ) -> FsResult<Resource<OutputStream>> {
        let d = regular_file(self, &r, Access::Write)?;
        let file = d.file.try_clone()?;
        Ok(cast(
            &self
                .table()
                .push_child(Output::new(Sink::Append(file)), &r)?,
        ))
    }

    fn advise(
        &mut self,
        r: Resource<DescriptorMarker>,
        offset: u64,
        len: u64,
        advice: Advice,
    ) -> FsResult<()> {
        let f = file(self, &r)?;
        let advice = match advice {
            Advice::Normal => rustix::fs::Advice::Normal,
            Advice::Sequential => rustix::fs::Advice::Sequential,
            Advice::Random => rustix::fs::Advice::Random,
            Advice::WillNeed => rustix::fs::Advice::WillNeed,
            Advice::DontNeed => rustix::fs::Advice::DontNeed,
            Advice::NoReuse => rustix::fs::Advice::NoReuse,
        };
        rustix::fs::fadvise(&f, offset, std::num::NonZeroU64::new(len), advice)?;
        Ok(())
    }

    fn sync_data(&mut self, r: Resource<DescriptorMarker>) -> FsResult<()> {
        rustix::fs::fdatasync(file(self, &r)?)?;
        Ok(())
    }

    fn get_flags(&mut self, r: Resource<DescriptorMarker>) -> FsResult<DescriptorFlags> {
        Ok(desc(self, &r)?.flags)
    }

    fn get_type(&mut self, r: Resource<DescriptorMarker>) -> FsResult<DescriptorType> {
        let s = rustix::fs::fstat(file(self, &r)?)?;
        Ok(stat(&s).r#type)
    }

    fn set_size(&mut self, r: Resource<DescriptorMarker>, size: u64) -> FsResult<()> {
        let d = regular_file(self, &r, Access::Write)?;
        rustix::fs::ftruncate(&d.file, size)?;
        Ok(())
    }

    fn set_times(
        &mut self,
        r: Resource<DescriptorMarker>,
        atime: NewTimestamp,
        mtime: NewTimestamp,
    ) -> FsResult<()> {
        let ts = timestamps(atime, mtime)?;
        rustix::fs::futimens(file(self, &r)?, &ts)?;
        Ok(())
    }

    fn read(
        &mut self,
        r: Resource<DescriptorMarker>,
        len: u64,
        offset: u64,
    ) -> FsResult<(Vec<u8>, bool)> {
        let d = regular_file(self, &r, Access::Read)?;
        let mut buf = vec![0; len.min(READ_MAX) as usize];
        let n = d.file.read_at(&mut buf, offset)?;
        buf.truncate(n);
        Ok((buf, n == 0 && len > 0))
    }

    fn write(&mut self, r: Resource<DescriptorMarker>, buf: Vec<u8>, offset: u64) -> FsResult<u64> {
        let d = regular_file(self, &r, Access::Write)?;
        let buf = &buf[..buf.len().min(WRITE_BUDGET as usize)];
        Ok(d.file.write_at(buf, offset)? as u64)
    }

    fn read_directory(
        &mut self,
        r: Resource<DescriptorMarker>,
    ) -> FsResult<Resource<EntriesMarker>> {
        let (d, _) = dir(self, &r, false)?;
        let entries = Entries(read_listing(&d)?.into_iter());
        Ok(cast(&self.table().push_child(entries, &r)?))
    }

    fn sync(&mut self, r: Resource<DescriptorMarker>) -> FsResult<()> {
        rustix::fs::fsync(file(self, &r)?)?;
        Ok(())
    }

    fn create_directory_at(&mut self, r: Resource<DescriptorMarker>, path: String) -> FsResult<()> {
        let (d, _) = dir(self, &r, true)?;
        let p = resolve(&d, &path, false)?;
        if p.name == "." {
            return Err(ErrorCode::Exist.into());
        }
        rustix::fs::mkdirat(&p.parent, p.name.as_str(), Mode::from_bits_truncate(0o777))?;
        Ok(())
    }

    fn stat(&mut self, r: Resource<DescriptorMarker>) -> FsResult<DescriptorStat> {
        Ok(stat(&rustix::fs::fstat(file(self, &r)?)?))
    }

    fn stat_at(
        &mut self,
        r: Resource<DescriptorMarker>,
        flags: PathFlags,
        path: String,
    ) -> FsResult<DescriptorStat> {
        Ok(stat(&stat_at_path(self, &r, flags, &path)?))
    }

    fn set_times_at(
        &mut self,
        r: Resource<DescriptorMarker>,
        flags: PathFlags,
        path: String,
        atime: NewTimestamp,
        mtime: NewTimestamp,
    ) -> FsResult<()> {
        let (d, _) = dir(self, &r, true)?;
        let ts = timestamps(atime, mtime)?;
        let p = resolve(&d, &path, follows(flags))?;
        rustix::fs::utimensat(&p.parent, p.name.as_str(), &ts, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }

    fn link_at(
        &mut self,
        r: Resource<DescriptorMarker>,
        old_flags: PathFlags,
        old_path: String,
        new_dir: Resource<DescriptorMarker>,
        new_path: String,
    ) -> FsResult<()> {
        let (old_d, _) = dir(self, &r, true)?;
        let (new_d, _) = dir(self, &new_dir, true)?;
        let old = resolve(&old_d, &old_path, follows(old_flags))?;
        let new = resolve(&new_d, &new_path, false)?;
        rustix::fs::linkat(
            &old.parent,
            old.name.as_str(),
            &new.parent,
            new.name.as_str(),
            AtFlags::empty(),
        )?;
        Ok(())
    }

    fn open_at(
        &mut self,
        r: Resource<DescriptorMarker>,
        path_flags: PathFlags,
        path: String,
        open: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<DescriptorMarker>> {
        let (d, perms) = dir(self, &r, false)?;
        let creates = open.contains(OpenFlags::CREATE) || open.contains(OpenFlags::TRUNCATE);
        if creates && !perms.mutate {
            return Err(ErrorCode::NotPermitted.into());
        }
        let wants_read = flags.contains(DescriptorFlags::READ);
        let wants_write = flags.contains(DescriptorFlags::WRITE);
        if (wants_read && !perms.file_read) || (wants_write && !perms.file_write) {
            return Err(ErrorCode::NotPermitted.into());
        }
        if flags.contains(DescriptorFlags::MUTATE_DIRECTORY) && !perms.mutate {
            return Err(ErrorCode::NotPermitted.into());
        }
        let wants_dir = open.contains(OpenFlags::DIRECTORY);
        if wants_dir
            && (wants_write
                || open.contains(OpenFlags::CREATE)
                || open.contains(OpenFlags::TRUNCATE))
        {
            return Err(ErrorCode::Invalid.into());
        }
        let p = resolve(&d, &path, follows(path_flags))?;
        let wants_dir = wants_dir || p.must_be_dir;
        let mut o = OFlags::NOFOLLOW | OFlags::CLOEXEC;
        o |= match (wants_read, wants_write) {
            (_, false) => OFlags::RDONLY,
            (false, true) => OFlags::WRONLY,
            (true, true) => OFlags::RDWR,
        };
        if open.contains(OpenFlags::CREATE) {
            if p.name == "." {
                return Err(ErrorCode::IsDirectory.into());
            }
            o |= OFlags::CREATE;
        }
        if open.contains(OpenFlags::EXCLUSIVE) {
            o |= OFlags::EXCL;
        }
        if open.contains(OpenFlags::TRUNCATE) {
            o |= OFlags::TRUNC;
        }
        if wants_dir {
            o |= OFlags::DIRECTORY;
        }
        if flags.contains(DescriptorFlags::FILE_INTEGRITY_SYNC) {
            o |= OFlags::SYNC;
        }
        if flags.contains(DescriptorFlags::DATA_INTEGRITY_SYNC) {
            o |= OFlags::DSYNC;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if flags.contains(DescriptorFlags::REQUESTED_WRITE_SYNC) {
            o |= OFlags::RSYNC;
        }
        let fd = match rustix::fs::openat(
            &p.parent,
            p.name.as_str(),
            o,
            Mode::from_bits_truncate(0o666),
        ) {
            Ok(fd) => fd,
            // `O_NOFOLLOW` on a symbolic link in the final position.
            Err(rustix::io::Errno::LOOP) if !follows(path_flags) => {
                return Err(ErrorCode::Loop.into())
            }
            Err(e) => return Err(e.into()),
        };
        drop(p);
        let file = File::from(fd);
        let is_dir = rustix::fs::fstat(&file)
            .map(|s| FileType::from_raw_mode(s.st_mode as _) == FileType::Directory)?;
        if is_dir && wants_write {
            return Err(ErrorCode::IsDirectory.into());
        }
        let entry = if is_dir {
            // A directory opened under another has its permissions (as in
            // wasmtime): `mutate-directory` only shows in `get-flags`.
            let mut e = Descriptor::dir(file, perms);
            e.flags = flags & (DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY);
            e
        } else {
            Descriptor {
                file,
                dir: false,
                perms: Perms {
                    read: false,
                    mutate: false,
                    file_read: wants_read,
                    file_write: wants_write,
                },
                flags,
            }
        };
        Ok(cast(&self.table().push(entry)?))
    }

    fn readlink_at(&mut self, r: Resource<DescriptorMarker>, path: String) -> FsResult<String> {
        let (d, _) = dir(self, &r, false)?;
        let p = resolve(&d, &path, false)?;
        let target = rustix::fs::readlinkat(&p.parent, p.name.as_str(), Vec::new())?;
        target
            .into_string()
            .map_err(|_| ErrorCode::IllegalByteSequence.into())
    }

    fn remove_directory_at(&mut self, r: Resource<DescriptorMarker>, path: String) -> FsResult<()> {
        let (d, _) = dir(self, &r, true)?;
        let p = resolve(&d, &path, false)?;
        if p.name == "." {
            return Err(ErrorCode::Invalid.into());
        }
        rustix::fs::unlinkat(&p.parent, p.name.as_str(), AtFlags::REMOVEDIR)?;
        Ok(())
    }

    fn rename_at(
        &mut self,
        r: Resource<DescriptorMarker>,
        old_path: String,
        new_dir: Resource<DescriptorMarker>,
        new_path: String,
    ) -> FsResult<()> {
        let (old_d, _) = dir(self, &r, true)?;
        let (new_d, _) = dir(self, &new_dir, true)?;
        let old = resolve(&old_d, &old_path, false)?;
        let new = resolve(&new_d, &new_path, false)?;
        if old.name == "." || new.name == "." {
            return Err(ErrorCode::Busy.into());
        }
        rustix::fs::renameat(
            &old.parent,
            old.name.as_str(),
            &new.parent,
            new.name.as_str(),
        )?;
        Ok(())
    }

    fn symlink_at(
        &mut self,
        r: Resource<DescriptorMarker>,
        target: String,
        path: String,
    ) -> FsResult<()> {
        let (d, _) = dir(self, &r, true)?;
        let p = resolve(&d, &path, false)?;
        if p.must_be_dir {
            return Err(ErrorCode::NoEntry.into());
        }
        if sandbox::target_escapes(p.depth, &target) {
            return Err(ErrorCode::NotPermitted.into());
        }
        rustix::fs::symlinkat(target.as_str(), &p.parent, p.name.as_str())?;
        Ok(())
    }

    fn unlink_file_at(&mut self, r: Resource<DescriptorMarker>, path: String) -> FsResult<()> {
        let (d, _) = dir(self, &r, true)?;
        let p = resolve(&d, &path, false)?;
        let s = rustix::fs::statat(&p.parent, p.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(s.st_mode as _) == FileType::Directory {
            return Err(ErrorCode::IsDirectory.into());
        }
        if p.must_be_dir {
            return Err(ErrorCode::NotDirectory.into());
        }
        rustix::fs::unlinkat(&p.parent, p.name.as_str(), AtFlags::empty())?;
        Ok(())
    }

    #[allow(
        clippy::unnecessary_cast,
        reason = "field types differ between targets"
    )]
    fn is_same_object(
        &mut self,
        r: Resource<DescriptorMarker>,
        other: Resource<DescriptorMarker>,
    ) -> tern::Result<bool> {
        let a = rustix::fs::fstat(&self.table().get::<Descriptor>(&cast(&r))?.file)?;
        let b = rustix::fs::fstat(&self.table().get::<Descriptor>(&cast(&other))?.file)?;
        Ok(a.st_dev as u64 == b.st_dev as u64 && a.st_ino as u64 == b.st_ino as u64)
    }

    fn metadata_hash(&mut self, r: Resource<DescriptorMarker>) -> FsResult<MetadataHashValue> {
        Ok(hash(&rustix::fs::fstat(file(self, &r)?)?))
    }

    fn metadata_hash_at(
        &mut self,
        r: Resource<DescriptorMarker>,
        flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        Ok(hash(&stat_at_path(self, &r, flags, &path)?))
    }

    fn convert_error_code(&mut self, err: FsError) -> tern::Result<ErrorCode> {
        fs_error_to_wit(err)
    }

    fn drop(&mut self, r: Resource<DescriptorMarker>) -> tern::Result<()> {
        self.table().delete::<Descriptor>(cast(&r))?;
        Ok(())
    }
}

impl<T: WasiView> HostDirectoryEntryStream for T {
    fn read_directory_entry(
        &mut self,
        r: Resource<EntriesMarker>,
    ) -> FsResult<Option<DirectoryEntry>> {
        let entries = self.table().get_mut::<Entries>(&cast(&r))?;
        match entries.0.next() {
            None => Ok(None),
            Some(Ok(e)) => Ok(Some(e)),
            Some(Err(c)) => Err(c.into()),
        }
    }

    fn convert_error_code(&mut self, err: FsError) -> tern::Result<ErrorCode> {
        fs_error_to_wit(err)
    }

    fn drop(&mut self, r: Resource<EntriesMarker>) -> tern::Result<()> {
        self.table().delete::<Entries>(cast(&r))?;
        Ok(())
    }
}

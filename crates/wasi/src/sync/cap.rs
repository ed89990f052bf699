//! [`Dir`] and [`ambient_authority`], spelled as `cap_std::fs::Dir` and
//! `cap_std::ambient_authority` are (wasmtime 12 re-exports those two from
//! `wasi-cap-std-sync`): opening a directory by a host path needs the
//! caller to say, with an [`AmbientAuthority`] value, that it means to use
//! the process's ambient rights. Tern keeps only what embedders call to hand
//! a directory to a guest; the guest's own path resolution lives in
//! `sandbox.rs`, never here.

use std::fs::File;
use std::io;
use std::path::Path;

/// The token saying "use the process's ambient authority" (cap-std's name).
#[derive(Debug, Clone, Copy)]
pub struct AmbientAuthority(());

/// The [`AmbientAuthority`] token.
pub fn ambient_authority() -> AmbientAuthority {
    AmbientAuthority(())
}

/// An open host directory, to preopen for a guest.
#[derive(Debug)]
pub struct Dir {
    pub(crate) file: File,
}

impl Dir {
    /// Opens the host directory `path`.
    ///
    /// # Errors
    /// Fails when `path` cannot be opened or is not a directory.
    pub fn open_ambient_dir<P: AsRef<Path>>(
        path: P,
        ambient_authority: AmbientAuthority,
    ) -> io::Result<Self> {
        let _ = ambient_authority;
        let fd = rustix::fs::open(
            path.as_ref(),
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        Ok(Dir {
            file: File::from(fd),
        })
    }

    /// A directory from an open `std::fs::File` (which must be a directory:
    /// the guest's operations on it fail otherwise).
    pub fn from_std_file(file: File) -> Self {
        Dir { file }
    }

    /// The underlying `std::fs::File`.
    pub fn into_std_file(self) -> File {
        self.file
    }
}

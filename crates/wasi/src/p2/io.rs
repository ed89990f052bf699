//! `wasi:io/error`: the `error` resource a failed stream operation hands
//! the guest, carrying the host's I/O error.

use super::bindings::wasi::io::error::{Error, Host, HostError};
use super::{cast, WasiView};
use tern::component::Resource;

/// An `error`'s table entry.
pub(crate) struct IoError(pub(crate) std::io::Error);

impl<T: WasiView> Host for T {}

impl<T: WasiView> HostError for T {
    fn to_debug_string(&mut self, e: Resource<Error>) -> tern::Result<String> {
        Ok(self.table().get::<IoError>(&cast(&e))?.0.to_string())
    }

    fn drop(&mut self, e: Resource<Error>) -> tern::Result<()> {
        self.table().delete::<IoError>(cast(&e))?;
        Ok(())
    }
}

//! [`Dir`]: a host directory as a [`WasiDir`] (wasmtime 12's
//! `wasi_cap_std_sync::dir::Dir`), for `WasiCtx::push_preopened_dir`.

use crate::wasi_file::{sealed, WasiDir};
use std::any::Any;

/// A host directory a guest can hold.
#[derive(Debug)]
pub struct Dir(super::Dir);

impl Dir {
    /// Wraps an open directory (wasmtime 12 takes a `cap_std::fs::Dir`, which
    /// is what [`crate::sync::Dir`] stands for here).
    pub fn from_cap_std(dir: super::Dir) -> Self {
        Dir(dir)
    }
}

impl sealed::SealedDir for Dir {
    fn into_dir(self: Box<Self>) -> sealed::IntoDir {
        sealed::IntoDir(self.0.file)
    }
}

impl WasiDir for Dir {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

//! The bodies of the `wasi_snapshot_preview1` functions, as methods of the
//! context's state taking the guest memory: `fs.rs` for descriptors and paths,
//! `misc.rs` for arguments, environment, clocks, polling, randomness, process
//! exit and the socket stubs.
//!
//! Each method takes the raw ABI arguments (pointers as `u32`) and returns
//! `WasiResult<()>`: results go to guest memory through the out-pointers, and
//! an error becomes the function's errno. They never panic on guest input.

pub(crate) mod fs;
pub(crate) mod misc;
pub(crate) mod preview0;

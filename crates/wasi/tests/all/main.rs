//! Integration tests of `tern-wasi`, one binary: a generated guest that calls
//! each WASI function directly (`harness.rs`), the sandbox's escape attempts,
//! every function's behaviour, and bad guest pointers.

mod api;
mod dir_rights;
mod harness;
mod memory_safety;
mod p2_guest;
mod p2_host;
mod p2_sockets;
mod sandbox;

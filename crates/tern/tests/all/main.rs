//! Integration tests of Tern's public API, one binary with a module per topic.

mod api;
mod artifact;
mod errors;
mod proposals;
mod traps;

//! Integration tests of Tern's public API, one binary with a module per topic.

mod api;
mod api_regressions;
mod artifact;
mod component;
mod component_abi;
mod component_derive;
mod component_fuzz;
mod component_gen;
mod embedder12;
mod errors;
mod limits;
mod proposals;
mod traps;
mod wasmtime12;

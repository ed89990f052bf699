//! Integration tests of Tern's public API, one binary with a module per topic.

mod api;
mod api_regressions;
mod artifact;
mod bindgen_expansion;
mod bindgen_guest;
mod bindgen_resources;
mod bindgen_twice;
mod bindgen_types;
mod bindgen_with;
mod cache;
mod component;
mod component_abi;
mod component_derive;
mod component_fuzz;
mod component_gen;
mod component_resources;
mod embedder12;
mod errors;
mod limits;
mod memory_image;
mod precompiled;
mod profiling;
mod proposals;
mod signals;
mod traps;
mod wasmtime12;

//! Integration tests of Tern's public API, one binary with a module per topic.

mod api;
mod artifact;
mod bindgen_expansion;
mod bindgen_guest;
// `mod bindgen_resources;` joins once `res` (Resource, ResourceAny, ResourceType,
// LinkerInstance::resource) is merged: it needs those APIs to compile.
mod bindgen_twice;
mod bindgen_types;
mod bindgen_with;
mod component;
mod component_abi;
mod component_derive;
mod component_fuzz;
mod component_gen;
mod errors;
mod limits;
mod proposals;
mod traps;

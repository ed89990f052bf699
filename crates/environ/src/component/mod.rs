//! Component translation: a component binary in, a [`ComponentTranslation`]
//! out — the bytes of its static core modules plus a [`ComponentInfo`] that
//! says how to instantiate it (see `info.rs`) and every type it uses (see
//! `types.rs`).
//!
//! The stages, each in its own file: `parse` (wasmparser validation and a
//! tree of definitions), `inline` (compile-time evaluation of nested
//! instantiations into a flat list of initializers), `convert` (validator
//! types into Tern's interned types). Nothing here compiles or runs code.

mod convert;
mod info;
mod inline;
mod parse;
mod types;

pub use convert::MAX_TYPE_DEPTH;
pub use info::{
    BuiltinKind, CanonOptions, ComponentInfo, CoreDef, Export, FuncDef, ImportPath, Initializer, ModuleDef,
    StringEncoding,
};
pub use types::{
    align_to, discriminant_size, flags_size, ComponentItemType, ComponentTypes, CoreModuleType, FlatType, FuncType,
    InterfaceType, Layout, TypeDef, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS,
};

use anyhow::Result;
use wasmparser::WasmFeatures;

/// A validated, inlined component: what to compile and how to instantiate it.
pub struct ComponentTranslation<'data> {
    /// The component's description.
    pub info: ComponentInfo,
    /// The bytes of each static core module, borrowed from the input.
    pub modules: Vec<&'data [u8]>,
}

/// Validates `bytes` as a component with `features` and translates it.
///
/// # Errors
/// Fails with wasmparser's message (naming the byte offset) on malformed or
/// invalid input, when `bytes` is a core module, and on component features
/// Tern does not support (values, start functions, GC options, instantiating
/// imported components).
pub fn translate_component(bytes: &[u8], features: WasmFeatures) -> Result<ComponentTranslation<'_>> {
    let parsed = parse::parse(bytes, features)?;
    let info = inline::Inliner::new(&parsed)?.run()?;
    Ok(ComponentTranslation { info, modules: parsed.modules })
}

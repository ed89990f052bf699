//! Component translation: a component binary in, a [`ComponentTranslation`]
//! out — the bytes of its static core modules plus a [`ComponentInfo`] that
//! says how to instantiate it (see `info.rs`) and every type it uses (see
//! `types.rs`).
//!
//! The stages, each in its own file: `parse` (wasmparser validation and a
//! tree of definitions), `inline` (compile-time evaluation of nested
//! instantiations into a flat list of initializers), `convert` (validator
//! types into Tern's interned types). Nothing here compiles or runs code.

mod adapter;
mod convert;
mod info;
mod inline;
mod parse;
mod types;
mod vmctx;

pub use adapter::{adapter_names, plan_adapters, AdapterTrap};
pub use convert::MAX_TYPE_DEPTH;
pub use info::{
    AdapterInfo, BuiltinKind, CanonOptions, ComponentInfo, CoreDef, Export, FuncDef, FusedCall,
    ImportPath, Initializer, ModuleDef, ResourceDef, StringEncoding,
};
pub use types::{
    align_to, discriminant_size, flags_size, ComponentItemType, ComponentTypes, CoreModuleType,
    FlatType, FuncType, InterfaceType, Layout, TypeDef, MAX_FLAT_ASYNC_PARAMS, MAX_FLAT_PARAMS,
    MAX_FLAT_RESULTS,
};
pub use vmctx::{VMComponentOffsets, FLAG_MAY_ENTER, FLAG_MAY_LEAVE};

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
///
/// Component-level core type definitions are validated with the GC proposal's
/// type syntax allowed (the component model's current text assumes a
/// WebAssembly 3.0 core): a component may declare such types, but every core
/// module it contains is still compiled with the engine's own features, so a
/// module that uses GC is refused as before.
///
/// One legacy encoding is accepted: the `cancellable` immediate byte of
/// `waitable-set.wait`/`poll` and the `thread.yield` family, which the
/// component-model reference tests still use and wasmparser 0.263 refuses.
/// Tern runs none of those built-ins, so the flag changes nothing: the byte
/// is cleared in a private copy and validation is retried.
pub fn translate_component(
    bytes: &[u8],
    features: WasmFeatures,
) -> Result<ComponentTranslation<'_>> {
    let features = features | WasmFeatures::GC | WasmFeatures::FUNCTION_REFERENCES;
    let mut patched: Option<Vec<u8>> = None;
    for _ in 0..64 {
        let buf = patched.as_deref().unwrap_or(bytes);
        let error = match parse::parse(buf, features) {
            Ok(parsed) => {
                let info = inline::Inliner::new(&parsed)?.run()?;
                // Patches never touch core modules, so their bytes are the input's.
                let modules = parsed.modules.iter().map(|r| &bytes[r.clone()]).collect();
                return Ok(ComponentTranslation { info, modules });
            }
            Err(e) => e,
        };
        match legacy_cancellable_byte(&error, buf) {
            Some(offset) => patched.get_or_insert_with(|| bytes.to_vec())[offset] = 0,
            None => return Err(error),
        }
    }
    anyhow::bail!("too many legacy `cancellable` immediates")
}

/// The offset of a legacy `cancellable` byte that `error` complains about.
fn legacy_cancellable_byte(error: &anyhow::Error, bytes: &[u8]) -> Option<usize> {
    let e = error.downcast_ref::<wasmparser::BinaryReaderError>()?;
    if !e
        .message()
        .contains("historically accepted as `cancellable`")
    {
        return None;
    }
    let offset = usize::try_from(e.offset()).ok()?;
    (bytes.get(offset) == Some(&1)).then_some(offset)
}

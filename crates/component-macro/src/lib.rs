//! Derive macros for Tern's component model API: `#[derive(ComponentType,
//! Lift, Lower)]` on structs (`#[component(record)]`) and enums
//! (`#[component(variant)]`, `#[component(enum)]`), and `flags!` for flags
//! types. Re-exported from `tern::component`; use them from there.
//!
//! Names: a Rust field or case name maps to the WIT name in kebab case
//! (`max_len` → `max-len`, `NotFound` → `not-found`, `READ_ALL` →
//! `read-all`); `#[component(name = "…")]` on a field, case or flag sets it
//! explicitly. The generated code calls hidden helpers in
//! `tern::component::__internal`, so the layout logic lives in Tern, not here.

mod bindgen;
mod derive;
mod flags;

use proc_macro::TokenStream;

/// Implements `tern::component::ComponentType` for a record, variant or enum.
#[proc_macro_derive(ComponentType, attributes(component))]
pub fn component_type(input: TokenStream) -> TokenStream {
    derive::expand(input, derive::Trait::ComponentType)
}

/// Implements `tern::component::Lift` (receiving the type from a component).
#[proc_macro_derive(Lift, attributes(component))]
pub fn lift(input: TokenStream) -> TokenStream {
    derive::expand(input, derive::Trait::Lift)
}

/// Implements `tern::component::Lower` (passing the type into a component).
#[proc_macro_derive(Lower, attributes(component))]
pub fn lower(input: TokenStream) -> TokenStream {
    derive::expand(input, derive::Trait::Lower)
}

/// Defines a flags type:
///
/// ```ignore
/// tern::component::flags! {
///     Permissions {
///         const READ;
///         #[component(name = "write-all")]
///         const WRITE;
///     }
/// }
/// ```
///
/// The type has one associated constant per flag, set operations (`|`, `&`,
/// `^`, `!`, `contains`, `empty`, `all`), `Debug`, and the component traits.
#[proc_macro]
pub fn flags(input: TokenStream) -> TokenStream {
    flags::expand(input)
}

/// Generates Rust bindings for a WIT world (wasmtime's `bindgen!`).
///
/// ```ignore
/// tern::component::bindgen!({
///     world: "my-world",                 // optional when the package has one world
///     path: "wit",                       // file or directory, from CARGO_MANIFEST_DIR
///     // inline: "package a:b; world w { … }",
///     // interfaces: "import a:b/c;",    // a world made of these items
///     trappable_error_type: { "a:b/c/error-code" => MyError },
///     with: { "a:b/c": crate::other_bindings::a::b::c },
///     additional_derives: [PartialEq],
///     ownership: Owning,                 // the only mode so far
/// });
/// ```
///
/// Output, for a world `my-world` importing `a:b/c` and exporting `a:b/d`:
/// - the WIT types of each interface in its module (`a::b::c::…`):
///   records, variants and enums derive `ComponentType`, `Lift`, `Lower`
///   with `#[component(name = "…")]` on every field and case, flags use
///   `flags!`, other named types are aliases (`list` → `Vec`, `option` →
///   `Option`, `result` → `Result`, `tuple` → tuples);
/// - `a::b::c::Host`, one method per function returning `tern::Result<T>`
///   (an `Err` traps the guest), a `HostNAME` trait per resource, and
///   `a::b::c::add_to_linker(&mut Linker<T>, get)`; world-level imports go in
///   the `MyWorldImports` trait;
/// - `MyWorld` with `add_to_linker`, `instantiate`, `instantiate_pre`,
///   `new(store, &Instance)`, `call_NAME` for exported functions and
///   `a_b_d()` returning `exports::a::b::d::Guest` with its `call_NAME`s.
#[proc_macro]
pub fn bindgen(input: TokenStream) -> TokenStream {
    bindgen::expand(input)
}

/// `bindgen!`'s expansion, or its error message, as a string literal: for
/// the committed snapshot and error-message tests; not a stable API.
#[doc(hidden)]
#[proc_macro]
pub fn __bindgen_expansion(input: TokenStream) -> TokenStream {
    bindgen::expand_to_string(input)
}

/// `snake_case`, `CamelCase` or `SCREAMING_CASE` as `kebab-case`.
pub(crate) fn kebab(ident: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in ident.trim_start_matches("r#").chars() {
        if c == '_' {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            prev_lower = false;
        } else if c.is_uppercase() {
            if prev_lower {
                out.push('-');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// The `name = "…"` of a `#[component(…)]` attribute, if any.
pub(crate) fn name_attr(attrs: &[syn::Attribute]) -> syn::Result<Option<String>> {
    let mut name = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("component")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                name = Some(lit.value());
                Ok(())
            } else {
                Err(meta.error("expected `name = \"...\"`"))
            }
        })?;
    }
    Ok(name)
}

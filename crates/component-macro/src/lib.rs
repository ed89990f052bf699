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

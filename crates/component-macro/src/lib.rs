//! Derive macros for Tern's component model API: `#[derive(ComponentType,
//! Lift, Lower)]` on structs (`#[component(record)]`) and enums
//! (`#[component(variant)]`, `#[component(enum)]`), and `flags!` for flags
//! types. Re-exported from `tern::component`; use them from there.
//!
//! Names follow wasmtime's rules: a Rust field, case or flag name is the WIT
//! name as written (`B` stays `B`); `#[component(name = "…")]` sets another
//! (`#[component(name = "not-found")] NotFound`). The generated code calls
//! hidden helpers in `tern::component::__internal` — through the name the
//! using crate gives Tern in its `Cargo.toml` (see `crate_path`), so a crate
//! that depends on `wasmtime = { package = "tern", … }` works unchanged — and
//! the layout logic lives in Tern, not here.

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

/// The WIT name a Rust field, case or flag gets without `#[component(name = "…")]`:
/// its identifier unchanged (as in wasmtime: `B` stays `B`, `max_len` stays
/// `max_len`, which only matches a WIT name spelled the same way).
pub(crate) fn default_name(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_string()
}

/// The path of the Tern crate as the crate using the macro calls it: `::tern`,
/// or the name it was renamed to in its `Cargo.toml` (`wasmtime = { package =
/// "tern", … }`), so that code ported from wasmtime by renaming the dependency
/// keeps compiling.
pub(crate) fn crate_path() -> proc_macro2::TokenStream {
    let name = std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .and_then(|dir| std::fs::read_to_string(std::path::Path::new(&dir).join("Cargo.toml")).ok())
        .and_then(|manifest| dependency_name(&manifest))
        .unwrap_or_else(|| "tern".to_string());
    let ident = syn::Ident::new(&name.replace('-', "_"), proc_macro2::Span::call_site());
    quote::quote!(::#ident)
}

/// The key under which `manifest` depends on the `tern` package, if it renames
/// it: `key = { package = "tern", … }` in a dependencies table, or a
/// `[dependencies.key]` table with `package = "tern"`. A dependency inherited
/// from the workspace (`key.workspace = true`) carries no package name here; it
/// is taken to be Tern when it is called `wasmtime` and no `tern` dependency exists.
fn dependency_name(manifest: &str) -> Option<String> {
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.trim().to_string();
            continue;
        }
        let in_deps = section.ends_with("dependencies");
        let table_key = ["dependencies.", "dev-dependencies.", "build-dependencies."]
            .iter()
            .find_map(|p| {
                section
                    .split_once(p)
                    .map(|(_, k)| k.trim_matches('"').to_string())
            });
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim().trim_matches('"'), value.trim());
        let renames_tern =
            |v: &str| v.contains("package") && (v.contains("\"tern\"") || v.contains("'tern'"));
        if in_deps {
            let key = key.split('.').next().unwrap_or(key).to_string();
            if renames_tern(value) {
                return Some(key);
            }
            keys.push(key);
        } else if let Some(table_key) = table_key {
            if key == "package" && renames_tern(line) {
                return Some(table_key);
            }
            keys.push(table_key);
        }
    }
    let named = |k: &str| keys.iter().any(|key| key == k);
    (!named("tern") && named("wasmtime")).then(|| "wasmtime".to_string())
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

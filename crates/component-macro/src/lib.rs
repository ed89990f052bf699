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
//! that depends on `wasmtime = { package = "tern", … }` works unchanged, or
//! through the path given by wasmtime's `#[component(wasmtime_crate = path)]`
//! (`bindgen!`: `wasmtime_crate: path`) — and the layout logic lives in
//! Tern, not here.

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
///     // or wasmtime 12's spelling, which defines `Error` in `a::b::c`:
///     // trappable_error_type: { "a:b/c"::"error-code": Error },
///     with: { "a:b/c": crate::other_bindings::a::b::c },
///     additional_derives: [PartialEq],
///     ownership: Owning,                 // or Borrowing { duplicate_if_necessary: false }
///     features: ["clocks-timezone"],     // keep these `@unstable` WIT items
///     async: false,                      // true: async host traits and calls (below)
///     // wasmtime_crate: crate::reexports::wasmtime, // where the runtime is
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
///
/// `async: true` (wasmtime's shape; the engine needs `Config::async_support`):
/// every host trait (`Host`, `HostNAME`, `MyWorldImports`) is an
/// `#[async_trait]` trait with a `Send` supertrait whose WIT functions are
/// `async fn`s, so a host writes `#[async_trait::async_trait] impl Host for
/// MyState { async fn f(&mut self, …) -> tern::Result<T> { … } }`; a
/// resource's `drop` and the `convert_NAME` methods of trappable errors stay
/// synchronous. `add_to_linker` (with `T: Send`, `U: Send`) defines the
/// functions through `func_wrap_async`; `MyWorld` has `instantiate_async` and
/// an async `instantiate_pre` (no synchronous `instantiate`), and every
/// `call_NAME` is an `async fn` (`call_async` then `post_return_async`) whose
/// future is `Send` when the store is.
///
/// `ownership` decides how exported functions take their parameters
/// (wasmtime's `Ownership`); host traits of imports always get owned types.
/// - `Owning` (the default): every generated type owns its data. A `call_NAME`
///   takes a `string` as `&str`, a `list<T>` as `&[T]` (with owned `T`), a
///   named type holding a string or list as `&Name`, and `option`, `tuple`
///   and `result` with those rules applied inside (`Option<&str>`); the rest
///   by value.
/// - `Borrowing { duplicate_if_necessary: false }`: parameters are deeply
///   borrowed: `list<list<string>>` is `&[&[&str]]`, and a record or variant
///   holding strings or lists that is used only in exported functions'
///   parameters is defined borrowing, `Name<'a>` with `&'a str` / `&'a [T]`
///   fields (deriving `ComponentType` and `Lower`, not `Lift`), so a caller
///   builds arguments without allocating. A type also used in an owning
///   position (an import, or an exported function's result) is defined once,
///   owned, and passed as `&Name`.
/// - `Borrowing { duplicate_if_necessary: true }`: such a type is defined
///   twice, `NameResult` (owned: results and imports) and `NameParam<'a>`
///   (borrowing: exported functions' parameters).
///
/// Types holding an `own` handle used only in parameters, types no function
/// uses, and types of interfaces taken from `with` stay owned.
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

//! The options of `bindgen!`, parsed from the macro's `{ key: value, … }`
//! input (wasmtime's keys and meanings), and the WIT they name loaded into a
//! `wit_parser::Resolve`.

use proc_macro2::Span;
use std::path::PathBuf;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, Error, LitStr, Token};
use wit_parser::{PackageId, Resolve, WorldId};

/// Where the WIT comes from.
pub(crate) enum Source {
    /// `path: "…"`: a file or directory, relative to the invoking crate's
    /// `CARGO_MANIFEST_DIR`.
    Path(LitStr),
    /// `inline: "…"`: WIT text.
    Inline(LitStr),
}

/// One entry of `trappable_error_type`.
pub(crate) struct Trappable {
    /// `"ns:pkg/iface/type-name"`: the WIT error type.
    pub(crate) key: LitStr,
    /// What the host's functions return for it.
    pub(crate) rust: TrappableRust,
}

/// The Rust side of a trappable error type.
pub(crate) enum TrappableRust {
    /// Later wasmtime's `"ns:pkg/iface/type" => path::To::Type`: the user's
    /// type, turned into the WIT value (or a trap) by the `Host` trait's
    /// `convert_type` method.
    User(syn::Path),
    /// wasmtime 12's `"ns:pkg/iface"::"type": Name`: `bindgen!` defines
    /// `Name` beside the WIT type, holding either a WIT value or a trap.
    Generated(syn::Ident),
}

/// `ownership`: how the types in exported functions' parameters hold their
/// strings and lists (wasmtime's `Ownership`).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Ownership {
    /// Every generated type owns its data (`String`, `Vec<T>`); exported
    /// functions still take top-level strings, lists and list-holding
    /// types by reference.
    #[default]
    Owning,
    /// Types used in exported functions' parameters are "deeply borrowing":
    /// `&'a str`, `&'a [T]` and a lifetime parameter on records and
    /// variants holding them, so a caller need not allocate.
    Borrowing {
        /// A type used both in a borrowing position and an owning one gets
        /// two definitions, `NameParam<'a>` and `NameResult`; without it,
        /// such a type is defined once, owned.
        duplicate_if_necessary: bool,
    },
}

/// Everything `bindgen!` was asked for.
pub(crate) struct Opts {
    pub(crate) world: Option<LitStr>,
    pub(crate) sources: Vec<Source>,
    /// `trappable_error_type`, in either spelling.
    pub(crate) trappable: Vec<Trappable>,
    /// `with: { "ns:pkg/iface": path }`.
    pub(crate) with: Vec<(LitStr, syn::Path)>,
    pub(crate) additional_derives: Vec<syn::Path>,
    /// `interfaces: "import …; export …;"`: the body of a world generated
    /// around the given items.
    pub(crate) interfaces: Option<LitStr>,
    /// `wasmtime_crate: path`: where the generated code finds the runtime
    /// crate (default: the name the using crate's `Cargo.toml` gives Tern).
    pub(crate) wasmtime_crate: Option<syn::Path>,
    /// `ownership: Owning | Borrowing { duplicate_if_necessary: bool }`.
    pub(crate) ownership: Ownership,
    /// `features: ["name", …]`: the `@unstable(feature = name)` WIT items to
    /// keep (wit-parser leaves the others out).
    pub(crate) features: Vec<LitStr>,
    /// `async: true`: host traits are `#[async_trait]` traits whose methods
    /// are `async fn`s, imports are defined with `func_wrap_async`, and the
    /// world is instantiated and its exports called through the async API.
    pub(crate) async_: bool,
}

mod kw {
    syn::custom_keyword!(world);
    syn::custom_keyword!(path);
    syn::custom_keyword!(inline);
    syn::custom_keyword!(trappable_error_type);
    syn::custom_keyword!(with);
    syn::custom_keyword!(ownership);
    syn::custom_keyword!(additional_derives);
    syn::custom_keyword!(interfaces);
    syn::custom_keyword!(wasmtime_crate);
    syn::custom_keyword!(features);
    syn::custom_keyword!(Owning);
    syn::custom_keyword!(Borrowing);
    syn::custom_keyword!(duplicate_if_necessary);
}

impl Parse for Opts {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut opts = Opts {
            world: None,
            sources: Vec::new(),
            trappable: Vec::new(),
            with: Vec::new(),
            additional_derives: Vec::new(),
            interfaces: None,
            wasmtime_crate: None,
            ownership: Ownership::Owning,
            features: Vec::new(),
            async_: false,
        };
        // `bindgen!("world")` and `bindgen!("world" in "path")`: wasmtime's short forms.
        if input.peek(LitStr) {
            opts.world = Some(input.parse()?);
            if input.peek(Token![in]) {
                input.parse::<Token![in]>()?;
                opts.sources.push(Source::Path(input.parse()?));
            }
            return Ok(opts);
        }
        let body;
        braced!(body in input);
        while !body.is_empty() {
            let l = body.lookahead1();
            if l.peek(kw::world) {
                body.parse::<kw::world>()?;
                body.parse::<Token![:]>()?;
                opts.world = Some(body.parse()?);
            } else if l.peek(kw::path) {
                body.parse::<kw::path>()?;
                body.parse::<Token![:]>()?;
                opts.sources.push(Source::Path(body.parse()?));
            } else if l.peek(kw::inline) {
                body.parse::<kw::inline>()?;
                body.parse::<Token![:]>()?;
                opts.sources.push(Source::Inline(body.parse()?));
            } else if l.peek(kw::interfaces) {
                body.parse::<kw::interfaces>()?;
                body.parse::<Token![:]>()?;
                opts.interfaces = Some(body.parse()?);
            } else if l.peek(kw::trappable_error_type) {
                body.parse::<kw::trappable_error_type>()?;
                body.parse::<Token![:]>()?;
                opts.trappable = parse_trappable(&body)?;
            } else if l.peek(kw::with) {
                body.parse::<kw::with>()?;
                body.parse::<Token![:]>()?;
                opts.with = parse_map(&body)?;
            } else if l.peek(kw::ownership) {
                body.parse::<kw::ownership>()?;
                body.parse::<Token![:]>()?;
                opts.ownership = parse_ownership(&body)?;
            } else if l.peek(kw::wasmtime_crate) {
                body.parse::<kw::wasmtime_crate>()?;
                body.parse::<Token![:]>()?;
                opts.wasmtime_crate = Some(body.parse()?);
            } else if l.peek(kw::features) {
                body.parse::<kw::features>()?;
                body.parse::<Token![:]>()?;
                let list;
                syn::bracketed!(list in body);
                let names: Punctuated<LitStr, Token![,]> =
                    list.parse_terminated(|p| p.parse::<LitStr>(), Token![,])?;
                opts.features = names.into_iter().collect();
            } else if l.peek(Token![async]) {
                body.parse::<Token![async]>()?;
                body.parse::<Token![:]>()?;
                opts.async_ = body.parse::<syn::LitBool>()?.value;
            } else if l.peek(kw::additional_derives) {
                body.parse::<kw::additional_derives>()?;
                body.parse::<Token![:]>()?;
                let list;
                syn::bracketed!(list in body);
                let paths: Punctuated<syn::Path, Token![,]> =
                    list.parse_terminated(syn::Path::parse, Token![,])?;
                opts.additional_derives = paths.into_iter().collect();
            } else {
                return Err(l.error());
            }
            if !body.is_empty() {
                body.parse::<Token![,]>()?;
            }
        }
        Ok(opts)
    }
}

/// `Owning` or `Borrowing { duplicate_if_necessary: true | false }`.
fn parse_ownership(input: ParseStream<'_>) -> syn::Result<Ownership> {
    let l = input.lookahead1();
    if l.peek(kw::Owning) {
        input.parse::<kw::Owning>()?;
        return Ok(Ownership::Owning);
    }
    if !l.peek(kw::Borrowing) {
        return Err(l.error());
    }
    input.parse::<kw::Borrowing>()?;
    let body;
    braced!(body in input);
    body.parse::<kw::duplicate_if_necessary>()?;
    body.parse::<Token![:]>()?;
    let duplicate_if_necessary = body.parse::<syn::LitBool>()?.value;
    if !body.is_empty() {
        body.parse::<Token![,]>()?;
    }
    if !body.is_empty() {
        return Err(body.error("`Borrowing` has one field, `duplicate_if_necessary`"));
    }
    Ok(Ownership::Borrowing {
        duplicate_if_necessary,
    })
}

/// `{ "key": path, … }` (`with`).
fn parse_map(input: ParseStream<'_>) -> syn::Result<Vec<(LitStr, syn::Path)>> {
    let body;
    braced!(body in input);
    let mut out = Vec::new();
    while !body.is_empty() {
        let key: LitStr = body.parse()?;
        body.parse::<Token![:]>()?;
        out.push((key, body.parse()?));
        if !body.is_empty() {
            body.parse::<Token![,]>()?;
        }
    }
    Ok(out)
}

/// The entries of `trappable_error_type: { … }`, each in either spelling:
/// `"ns:pkg/iface/type" => path::Type` (wasmtime 14 and later) or
/// `"ns:pkg/iface"::"type": Name` / `"ns:pkg/iface"::type_name: Name`
/// (wasmtime 12; a WIT name that is not a Rust identifier is quoted).
fn parse_trappable(input: ParseStream<'_>) -> syn::Result<Vec<Trappable>> {
    let body;
    braced!(body in input);
    let mut out = Vec::new();
    while !body.is_empty() {
        let first: LitStr = body.parse()?;
        let l = body.lookahead1();
        let entry = if l.peek(Token![=>]) {
            body.parse::<Token![=>]>()?;
            Trappable {
                key: first,
                rust: TrappableRust::User(body.parse()?),
            }
        } else if l.peek(Token![::]) {
            body.parse::<Token![::]>()?;
            let ty = if body.peek(LitStr) {
                body.parse::<LitStr>()?.value()
            } else {
                // A Rust identifier stands for the WIT name with `-` for `_`.
                body.parse::<syn::Ident>()?.to_string().replace('_', "-")
            };
            body.parse::<Token![:]>()?;
            let name: syn::Ident = body.parse()?;
            Trappable {
                key: LitStr::new(&format!("{}/{ty}", first.value()), first.span()),
                rust: TrappableRust::Generated(name),
            }
        } else {
            return Err(l.error());
        };
        out.push(entry);
        if !body.is_empty() {
            body.parse::<Token![,]>()?;
        }
    }
    Ok(out)
}

/// The package the synthetic `interfaces:` world lives in.
const INTERFACES_PKG: &str = "tern:bindgen-interfaces";

impl Opts {
    /// Parses every source into one `Resolve` and selects the world.
    ///
    /// # Errors
    /// WIT that does not parse or resolve (the message carries wit-parser's
    /// file:line:column), a missing file, or no such world.
    pub(crate) fn load(&self) -> syn::Result<(Resolve, WorldId, Vec<PathBuf>)> {
        let mut resolve = Resolve::default();
        resolve
            .features
            .extend(self.features.iter().map(LitStr::value));
        let mut main = Vec::<PackageId>::new();
        let mut files = Vec::new();
        let root = std::env::var("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_default();
        let render = |resolve: &Resolve, e: anyhow::Error| -> String {
            let rendered = resolve.render_error(&e);
            format!("{rendered}\n{e:#}")
        };
        let mut sources: Vec<&Source> = self.sources.iter().collect();
        // Paths first so that inline text can `use` their packages.
        sources.sort_by_key(|s| matches!(s, Source::Inline(_)));
        for source in sources {
            match source {
                Source::Path(lit) => {
                    let path = root.join(lit.value());
                    if !path.exists() {
                        return Err(Error::new(
                            lit.span(),
                            format!(
                                "no WIT file or directory at `{}` (paths are relative to \
                                 the crate's directory, `CARGO_MANIFEST_DIR`)",
                                lit.value()
                            ),
                        ));
                    }
                    let (pkg, map) = resolve
                        .push_path(&path)
                        .map_err(|e| Error::new(lit.span(), render(&resolve, e)))?;
                    files.extend(map.paths().map(|p| p.to_path_buf()));
                    main.push(pkg);
                }
                Source::Inline(lit) => {
                    let pkg = resolve
                        .push_source("<inline>.wit", &lit.value())
                        .map_err(|e| Error::new(lit.span(), render(&resolve, e)))?;
                    main.push(pkg);
                }
            }
        }
        if let Some(items) = &self.interfaces {
            if self.world.is_some() {
                return Err(Error::new(
                    items.span(),
                    "`interfaces` generates its own world: give `world` or `interfaces`, not both",
                ));
            }
            let text = format!(
                "package {INTERFACES_PKG};\nworld interfaces {{\n{}\n}}\n",
                items.value()
            );
            let pkg = resolve
                .push_source("<interfaces>.wit", &text)
                .map_err(|e| Error::new(items.span(), render(&resolve, e)))?;
            let world = resolve
                .select_world(&[pkg], Some("interfaces"))
                .map_err(|e| Error::new(items.span(), format!("{e:#}")))?;
            return Ok((resolve, world, files));
        }
        if main.is_empty() {
            return Err(Error::new(
                Span::call_site(),
                "give the WIT with `path: \"…\"` or `inline: \"…\"`",
            ));
        }
        let span = self
            .world
            .as_ref()
            .map(LitStr::span)
            .unwrap_or_else(Span::call_site);
        let world = resolve
            .select_world(&main, self.world.as_ref().map(LitStr::value).as_deref())
            .map_err(|e| Error::new(span, format!("{e:#}")))?;
        Ok((resolve, world, files))
    }
}

//! WIT types as Rust: names (kebab-case to `snake_case`/`UpperCamelCase`),
//! where each named type is defined in the generated module tree, how a use
//! of a type is written from a given module (relative `super::` paths, so
//! the bindings work wherever the macro is invoked), and the definitions
//! themselves: records, variants and enums through `#[derive(ComponentType,
//! Lift, Lower)]` with an explicit `#[component(name = "…")]` on every field
//! and case, flags through `flags!`, everything else as a type alias.

use super::input::Ownership;
use super::ownership::Defs;
use super::Gen;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use syn::Error;
use wit_parser::{Docs, Handle, Type, TypeDefKind, TypeId};

/// A module in the generated tree, as its path from the macro's root.
pub(crate) type ModPath = Vec<Ident>;

/// How a use of a type is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The type owns its data: imported functions' parameters and results,
    /// exported functions' results, owned definitions.
    Owned,
    /// A parameter of an exported function: strings as `&str`, lists as
    /// `&[T]` (elements owned under `ownership: Owning`, borrowed under
    /// `Borrowing`), named types holding strings or lists by reference or as
    /// their borrowing definition (`Name<'_>`), the rest by value.
    Param,
    /// Inside a borrowing definition (`ownership: Borrowing`): as `Param`,
    /// with the definition's lifetime `'a`.
    Field,
}

impl Mode {
    /// `&` or `&'a `.
    fn amp(self) -> TokenStream {
        match self {
            Mode::Field => quote!(&'a),
            _ => quote!(&),
        }
    }

    /// The lifetime argument of a borrowing definition: `'_` or `'a`.
    fn lifetime(self) -> TokenStream {
        match self {
            Mode::Field => quote!('a),
            _ => quote!('_),
        }
    }
}

/// `some-name` as `some_name`, escaped if it is a Rust keyword.
pub(crate) fn snake(name: &str) -> Ident {
    ident(&name.replace('-', "_").to_lowercase())
}

/// `some-name` as `SomeName`, escaped if it is a Rust keyword.
pub(crate) fn camel(name: &str) -> Ident {
    let s: String = name
        .split('-')
        .map(|part| {
            let mut cs = part.chars();
            match cs.next() {
                Some(c) => c.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect();
    ident(&s)
}

/// `some-name` as `SOME_NAME` (flag constants).
pub(crate) fn shouty(name: &str) -> Ident {
    ident(&name.replace('-', "_").to_uppercase())
}

fn ident(s: &str) -> Ident {
    const STRICT: &[&str] = &["self", "Self", "super", "crate", "_"];
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
        "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async",
        "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
        "typeof", "unsized", "virtual", "yield", "try", "gen",
    ];
    let s = if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s.to_string()
    };
    if STRICT.contains(&s.as_str()) {
        format_ident!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        Ident::new_raw(&s, Span::call_site())
    } else {
        Ident::new(&s, Span::call_site())
    }
}

/// `super::super::a::b::` reaching module `target` from module `cur`
/// (empty when they are the same).
pub(crate) fn relative(cur: &[Ident], target: &[Ident]) -> TokenStream {
    let common = cur.iter().zip(target).take_while(|(a, b)| a == b).count();
    let ups = cur[common..].iter().map(|_| quote!(super::));
    let down = &target[common..];
    quote!(#(#ups)* #(#down::)*)
}

/// `#[allow(clippy::too_many_arguments)]` for a method with `params` WIT
/// parameters plus `extra` Rust ones (`self`, the store), where clippy's
/// limit of 7 would otherwise fire on generated code.
pub(crate) fn allow_many_args(params: usize, extra: usize) -> TokenStream {
    if params + extra > 7 {
        quote!(#[allow(clippy::too_many_arguments, reason = "one Rust parameter per WIT parameter")])
    } else {
        quote!()
    }
}

/// The item's WIT documentation, or `fallback` when it has none.
pub(crate) fn docs(docs: &Docs, fallback: String) -> TokenStream {
    let text = docs.contents.clone().unwrap_or(fallback);
    let lines = text.lines().map(|l| format!(" {l}"));
    quote!(#(#[doc = #lines])*)
}

impl Gen<'_> {
    /// Follows `type a = b` aliases to the type they name.
    pub(crate) fn dealias(&self, mut id: TypeId) -> TypeId {
        while let TypeDefKind::Type(Type::Id(next)) = &self.resolve.types[id].kind {
            id = *next;
        }
        id
    }

    /// The Rust type for `ty`, written as seen from module `cur`.
    ///
    /// # Errors
    /// WIT types Tern's component runtime has no Rust form for (`future`,
    /// `stream`, `error-context`, `map`, fixed-length lists).
    pub(crate) fn ty(&self, ty: &Type, cur: &[Ident], mode: Mode) -> syn::Result<TokenStream> {
        Ok(match ty {
            Type::Bool => quote!(bool),
            Type::U8 => quote!(u8),
            Type::U16 => quote!(u16),
            Type::U32 => quote!(u32),
            Type::U64 => quote!(u64),
            Type::S8 => quote!(i8),
            Type::S16 => quote!(i16),
            Type::S32 => quote!(i32),
            Type::S64 => quote!(i64),
            Type::F32 => quote!(f32),
            Type::F64 => quote!(f64),
            Type::Char => quote!(char),
            Type::String if mode == Mode::Owned => quote!(::std::string::String),
            Type::String => {
                let amp = mode.amp();
                quote!(#amp str)
            }
            Type::ErrorContext => return Err(self.unsupported("error-context")),
            Type::Id(id) => self.ty_id(*id, cur, mode)?,
        })
    }

    fn ty_id(&self, id: TypeId, cur: &[Ident], mode: Mode) -> syn::Result<TokenStream> {
        let def = &self.resolve.types[id];
        if def.name.is_some() {
            if mode == Mode::Owned {
                return Ok(self.type_path(id, cur, Mode::Owned));
            }
            if self.defs(id) != Defs::Owned {
                let path = self.type_path(id, cur, mode);
                let lt = mode.lifetime();
                return Ok(quote!(#path<#lt>));
            }
            let path = self.type_path(id, cur, Mode::Owned);
            let amp = mode.amp();
            return Ok(if self.by_reference(id) {
                quote!(#amp #path)
            } else {
                path
            });
        }
        self.ty_kind(&def.kind, cur, mode)
    }

    /// The structural Rust form of an anonymous type (or of the right-hand
    /// side of a named `type x = option<…>`).
    fn ty_kind(&self, kind: &TypeDefKind, cur: &[Ident], mode: Mode) -> syn::Result<TokenStream> {
        let inner = |t: &Type| self.ty(t, cur, mode);
        let opt = |t: &Option<Type>| match t {
            Some(t) => inner(t),
            None => Ok(quote!(())),
        };
        Ok(match kind {
            TypeDefKind::Option(t) => {
                let t = inner(t)?;
                quote!(::std::option::Option<#t>)
            }
            TypeDefKind::Result(r) => {
                let (ok, err) = (opt(&r.ok)?, opt(&r.err)?);
                quote!(::std::result::Result<#ok, #err>)
            }
            TypeDefKind::List(t) if mode == Mode::Owned => {
                let t = inner(t)?;
                quote!(::std::vec::Vec<#t>)
            }
            TypeDefKind::List(t) => {
                // Under `Owning`, a borrowed list's elements own their data.
                let elem = match self.opts.ownership {
                    Ownership::Owning => Mode::Owned,
                    Ownership::Borrowing { .. } => mode,
                };
                let t = self.ty(t, cur, elem)?;
                let amp = mode.amp();
                quote!(#amp [#t])
            }
            TypeDefKind::Tuple(t) => {
                let ts = t.types.iter().map(inner).collect::<syn::Result<Vec<_>>>()?;
                quote!((#(#ts,)*))
            }
            TypeDefKind::Type(t) => self.ty(t, cur, mode)?,
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                let r = self.dealias(*r);
                if self.host_resources.contains(&r) {
                    let path = self.type_path(r, cur, Mode::Owned);
                    quote!(::tern::component::Resource<#path>)
                } else {
                    quote!(::tern::component::ResourceAny)
                }
            }
            TypeDefKind::Future(_) => return Err(self.unsupported("future")),
            TypeDefKind::Stream(_) => return Err(self.unsupported("stream")),
            TypeDefKind::Map(..) => return Err(self.unsupported("map")),
            TypeDefKind::FixedLengthList(..) => return Err(self.unsupported("fixed-length list")),
            TypeDefKind::Record(_)
            | TypeDefKind::Variant(_)
            | TypeDefKind::Enum(_)
            | TypeDefKind::Flags(_)
            | TypeDefKind::Resource
            | TypeDefKind::Unknown => {
                return Err(Error::new(
                    self.span,
                    "internal error: an anonymous named-only WIT type",
                ))
            }
        })
    }

    fn unsupported(&self, what: &str) -> Error {
        Error::new(
            self.span,
            format!("WIT `{what}` types are not supported by `bindgen!` yet"),
        )
    }

    /// The path of named type `id` from `cur`: of its owned definition
    /// (`mode` [`Mode::Owned`]) or of its borrowing one.
    fn type_path(&self, id: TypeId, cur: &[Ident], mode: Mode) -> TokenStream {
        let home = self.type_home.get(&id).cloned().unwrap_or_default();
        let rel = relative(cur, &home);
        let ident = self.type_name(id, mode);
        quote!(#rel #ident)
    }

    /// The Rust name of named type `id`'s owned definition (`mode`
    /// [`Mode::Owned`]) or borrowing one: the WIT name in `UpperCamelCase`,
    /// with `Result` / `Param` appended when the type has both (wasmtime's
    /// names under `ownership: Borrowing { duplicate_if_necessary: true }`).
    pub(crate) fn type_name(&self, id: TypeId, mode: Mode) -> Ident {
        let name = camel(self.resolve.types[id].name.as_deref().unwrap_or(""));
        match (self.defs(id), mode) {
            (Defs::Both, Mode::Owned) => format_ident!("{name}Result"),
            (Defs::Both, _) => format_ident!("{name}Param"),
            _ => name,
        }
    }

    /// Whether values of `ty` can derive `Clone`: host resource handles
    /// (`Resource<T>`) are owned exactly once and are not `Clone`.
    fn cloneable(&self, ty: &Type) -> bool {
        let Type::Id(id) = ty else { return true };
        match &self.resolve.types[*id].kind {
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                !self.host_resources.contains(&self.dealias(*r))
            }
            TypeDefKind::Record(r) => r.fields.iter().all(|f| self.cloneable(&f.ty)),
            TypeDefKind::Variant(v) => v
                .cases
                .iter()
                .filter_map(|c| c.ty.as_ref())
                .all(|t| self.cloneable(t)),
            TypeDefKind::Option(t) | TypeDefKind::List(t) | TypeDefKind::Type(t) => {
                self.cloneable(t)
            }
            TypeDefKind::Result(r) => [&r.ok, &r.err]
                .into_iter()
                .flatten()
                .all(|t| self.cloneable(t)),
            TypeDefKind::Tuple(t) => t.types.iter().all(|t| self.cloneable(t)),
            _ => true,
        }
    }

    /// The derives for a record or variant (`Clone` where possible, `Debug`,
    /// the component traits; no `Lift` for a borrowing definition, which
    /// cannot be built from guest memory) plus `additional_derives`, without
    /// duplicates.
    fn derives(&self, base: &[&str], cloneable: bool, mode: Mode) -> TokenStream {
        let mut names: Vec<String> = Vec::new();
        let mut out: Vec<TokenStream> = Vec::new();
        for b in base {
            if *b == "Clone" && !cloneable {
                continue;
            }
            names.push((*b).to_string());
            let id = format_ident!("{b}");
            out.push(quote!(#id));
        }
        for p in &self.opts.additional_derives {
            let last = p
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            if !names.contains(&last) {
                names.push(last);
                out.push(quote!(#p));
            }
        }
        let c = quote!(::tern::component);
        if mode == Mode::Owned {
            quote!(#[derive(#(#out,)* #c::ComponentType, #c::Lift, #c::Lower)])
        } else {
            quote!(#[derive(#(#out,)* #c::ComponentType, #c::Lower)])
        }
    }

    /// The definitions of named type `id`, placed in module `cur`: owned,
    /// borrowing, or both (see [`Gen::defs`]).
    ///
    /// # Errors
    /// As [`Gen::ty`].
    pub(crate) fn define(&self, id: TypeId, cur: &[Ident]) -> syn::Result<TokenStream> {
        Ok(match self.defs(id) {
            Defs::Owned => self.define_as(id, cur, Mode::Owned)?,
            Defs::Borrowed => self.define_as(id, cur, Mode::Field)?,
            Defs::Both => {
                let owned = self.define_as(id, cur, Mode::Owned)?;
                let borrowed = self.define_as(id, cur, Mode::Field)?;
                quote!(#owned #borrowed)
            }
        })
    }

    /// One definition of named type `id`: owned ([`Mode::Owned`]) or
    /// borrowing ([`Mode::Field`], with a lifetime parameter `'a`).
    fn define_as(&self, id: TypeId, cur: &[Ident], mode: Mode) -> syn::Result<TokenStream> {
        let def = &self.resolve.types[id];
        let wit_name = def.name.as_deref().unwrap_or("");
        let name = self.type_name(id, mode);
        let field = |t: &Type| self.ty(t, cur, mode);
        let (generics, form) = match mode {
            Mode::Owned => (quote!(), quote!()),
            _ => (
                quote!(<'a>),
                quote! {
                    #[doc = ""]
                    #[doc = " Its borrowing form (`ownership: Borrowing`), for exported functions' parameters."]
                },
            ),
        };
        Ok(match &def.kind {
            TypeDefKind::Record(r) => {
                let doc = docs(&def.docs, format!("The WIT record `{wit_name}`."));
                let derives =
                    self.derives(&["Clone", "Debug"], self.cloneable(&Type::Id(id)), mode);
                let fields = r
                    .fields
                    .iter()
                    .map(|f| {
                        let (n, ident, t) = (&f.name, snake(&f.name), field(&f.ty)?);
                        let doc = docs(&f.docs, format!("The field `{n}`."));
                        Ok(quote!(#doc #[component(name = #n)] pub #ident: #t))
                    })
                    .collect::<syn::Result<Vec<_>>>()?;
                quote! {
                    #doc
                    #form
                    #derives
                    #[component(record)]
                    pub struct #name #generics { #(#fields,)* }
                }
            }
            TypeDefKind::Variant(v) => {
                let doc = docs(&def.docs, format!("The WIT variant `{wit_name}`."));
                let derives =
                    self.derives(&["Clone", "Debug"], self.cloneable(&Type::Id(id)), mode);
                let cases = v
                    .cases
                    .iter()
                    .map(|c| {
                        let (n, ident) = (&c.name, camel(&c.name));
                        let doc = docs(&c.docs, format!("The case `{n}`."));
                        Ok(match &c.ty {
                            Some(t) => {
                                let t = field(t)?;
                                quote!(#doc #[component(name = #n)] #ident(#t))
                            }
                            None => quote!(#doc #[component(name = #n)] #ident),
                        })
                    })
                    .collect::<syn::Result<Vec<_>>>()?;
                quote! {
                    #doc
                    #form
                    #derives
                    #[component(variant)]
                    pub enum #name #generics { #(#cases,)* }
                }
            }
            TypeDefKind::Enum(e) => {
                let doc = docs(&def.docs, format!("The WIT enum `{wit_name}`."));
                let derives =
                    self.derives(&["Clone", "Copy", "Debug", "PartialEq", "Eq"], true, mode);
                let cases = e.cases.iter().map(|c| {
                    let (n, ident) = (&c.name, camel(&c.name));
                    let doc = docs(&c.docs, format!("The case `{n}`."));
                    quote!(#doc #[component(name = #n)] #ident)
                });
                quote! {
                    #doc
                    #derives
                    #[component(enum)]
                    pub enum #name { #(#cases,)* }
                }
            }
            TypeDefKind::Flags(f) => {
                let doc = docs(&def.docs, format!("The WIT flags `{wit_name}`."));
                let flags = f.flags.iter().map(|fl| {
                    let (n, ident) = (&fl.name, shouty(&fl.name));
                    quote!(#[component(name = #n)] const #ident;)
                });
                // `flags!` takes no outer attributes; its type documents itself.
                let _ = doc;
                quote!(::tern::component::flags! { pub #name { #(#flags)* } })
            }
            TypeDefKind::Resource => {
                if self.host_resources.contains(&id) {
                    let doc = docs(
                        &def.docs,
                        format!(
                            "The host resource `{wit_name}`: a marker type for `Resource<{name}>` \
                             handles; the host keeps the state (e.g. in a table) keyed by the handle's rep."
                        ),
                    );
                    quote!(#doc pub enum #name {})
                } else {
                    let doc = docs(
                        &def.docs,
                        format!("The guest resource `{wit_name}`, handled as `ResourceAny`."),
                    );
                    quote!(#doc pub type #name = ::tern::component::ResourceAny;)
                }
            }
            _ => {
                let doc = docs(&def.docs, format!("The WIT type `{wit_name}`."));
                let target = match &def.kind {
                    TypeDefKind::Type(t) => field(t)?,
                    kind => self.ty_kind(kind, cur, mode)?,
                };
                quote!(#doc #form pub type #name #generics = #target;)
            }
        })
    }
}

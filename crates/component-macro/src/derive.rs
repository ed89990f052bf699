//! `#[derive(ComponentType, Lift, Lower)]` for records (structs with named
//! fields), variants (enums whose cases have at most one unnamed field) and
//! enums (enums of unit cases).

use crate::{crate_path, default_name, name_attr};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields};

/// Which trait to implement.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trait {
    ComponentType,
    Lift,
    Lower,
}

enum Kind {
    Record,
    Variant,
    Enum,
}

/// The type-level `#[component(…)]` options: the kind, and
/// `wasmtime_crate = path` (wasmtime's name for the path through which the
/// generated code reaches the runtime crate; without it, the name the
/// using crate's `Cargo.toml` gives Tern).
fn kind(input: &DeriveInput) -> syn::Result<(Kind, Option<syn::Path>)> {
    let mut kind = None;
    let mut krate = None;
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("component"))
    {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("wasmtime_crate") {
                krate = Some(meta.value()?.parse::<syn::Path>()?);
                return Ok(());
            }
            kind = Some(if meta.path.is_ident("record") {
                Kind::Record
            } else if meta.path.is_ident("variant") {
                Kind::Variant
            } else if meta.path.is_ident("enum") {
                Kind::Enum
            } else {
                return Err(
                    meta.error("expected `record`, `variant`, `enum` or `wasmtime_crate = path`")
                );
            });
            Ok(())
        })?;
    }
    let kind = kind.ok_or_else(|| {
        syn::Error::new_spanned(
            &input.ident,
            "add `#[component(record)]`, `#[component(variant)]` or `#[component(enum)]`",
        )
    })?;
    Ok((kind, krate))
}

pub(crate) fn expand(input: proc_macro::TokenStream, which: Trait) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_inner(&input, which) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// A field of a record or the payload of a case: its WIT name, Rust type and accessor.
struct Part {
    name: String,
    ident: syn::Ident,
    ty: Option<syn::Type>,
}

fn parts(input: &DeriveInput, kind: &Kind) -> syn::Result<Vec<Part>> {
    let mut out = Vec::new();
    match (&input.data, kind) {
        (Data::Struct(s), Kind::Record) => {
            let Fields::Named(fields) = &s.fields else {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "a record must be a struct with named fields",
                ));
            };
            for f in &fields.named {
                let ident = f.ident.clone().expect("named field");
                let name = name_attr(&f.attrs)?.unwrap_or_else(|| default_name(&ident));
                out.push(Part {
                    name,
                    ident,
                    ty: Some(f.ty.clone()),
                });
            }
        }
        (Data::Enum(e), Kind::Variant | Kind::Enum) => {
            for v in &e.variants {
                let name = name_attr(&v.attrs)?.unwrap_or_else(|| default_name(&v.ident));
                let ty = match &v.fields {
                    Fields::Unit => None,
                    Fields::Unnamed(f) if f.unnamed.len() == 1 && matches!(kind, Kind::Variant) => {
                        Some(f.unnamed[0].ty.clone())
                    }
                    _ => {
                        let what = if matches!(kind, Kind::Enum) {
                            "an enum case has no payload"
                        } else {
                            "a variant case has at most one unnamed field"
                        };
                        return Err(syn::Error::new_spanned(&v.ident, what));
                    }
                };
                out.push(Part {
                    name,
                    ident: v.ident.clone(),
                    ty,
                });
            }
            if out.is_empty() {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "needs at least one case",
                ));
            }
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`record` goes on structs, `variant` and `enum` on enums",
            ))
        }
    }
    Ok(out)
}

fn expand_inner(input: &DeriveInput, which: Trait) -> syn::Result<TokenStream> {
    let (kind, krate) = kind(input)?;
    let parts = parts(input, &kind)?;
    let name = &input.ident;
    let krate = match krate {
        Some(path) => quote!(#path),
        None => crate_path(),
    };
    let i = quote!(#krate::component::__internal);
    let c = quote!(#krate::component);
    let bound = match which {
        Trait::ComponentType => quote!(#c::ComponentType),
        Trait::Lift => quote!(#c::Lift),
        Trait::Lower => quote!(#c::Lower),
    };
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#bound));
    }
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let names: Vec<&String> = parts.iter().map(|p| &p.name).collect();
    let body = match (which, &kind) {
        (Trait::ComponentType, Kind::Record) => {
            let tys: Vec<&syn::Type> = parts.iter().filter_map(|p| p.ty.as_ref()).collect();
            quote! {
                fn typecheck(ty: #i::InterfaceType, types: &#i::ComponentTypes) -> #i::anyhow::Result<()> {
                    #i::typecheck_record(ty, types, &[#((#names, <#tys as #c::ComponentType>::typecheck as #i::TypecheckFn)),*])
                }
                fn describe() -> ::std::string::String {
                    let fields: ::std::vec::Vec<::std::string::String> =
                        ::std::vec![#(::std::format!("{}: {}", #names, <#tys as #c::ComponentType>::describe())),*];
                    ::std::format!("record {{ {} }}", fields.join(", "))
                }
            }
        }
        (Trait::ComponentType, Kind::Variant) => {
            let checks = parts.iter().map(|p| match &p.ty {
                Some(t) => quote!(::std::option::Option::Some(<#t as #c::ComponentType>::typecheck as #i::TypecheckFn)),
                None => quote!(::std::option::Option::None),
            });
            let descs = parts.iter().map(|p| {
                let n = &p.name;
                match &p.ty {
                    Some(t) => {
                        quote!(::std::format!("{}({})", #n, <#t as #c::ComponentType>::describe()))
                    }
                    None => quote!(::std::string::String::from(#n)),
                }
            });
            quote! {
                fn typecheck(ty: #i::InterfaceType, types: &#i::ComponentTypes) -> #i::anyhow::Result<()> {
                    #i::typecheck_variant(ty, types, &[#((#names, #checks)),*])
                }
                fn describe() -> ::std::string::String {
                    let cases: ::std::vec::Vec<::std::string::String> = ::std::vec![#(#descs),*];
                    ::std::format!("variant {{ {} }}", cases.join(", "))
                }
            }
        }
        (Trait::ComponentType, Kind::Enum) => quote! {
            fn typecheck(ty: #i::InterfaceType, types: &#i::ComponentTypes) -> #i::anyhow::Result<()> {
                #i::typecheck_enum(ty, types, &[#(#names),*])
            }
            fn describe() -> ::std::string::String {
                ::std::format!("enum {{ {} }}", [#(#names),*].join(", "))
            }
        },
        (Trait::Lower, Kind::Record) => {
            let idents: Vec<&syn::Ident> = parts.iter().map(|p| &p.ident).collect();
            let idx: Vec<usize> = (0..parts.len()).collect();
            quote! {
                fn lower(&self, cx: &mut #i::LowerContext<'_>, ty: #i::InterfaceType, dst: &mut #i::FlatDst) -> #i::anyhow::Result<()> {
                    #({
                        let (t, _) = #i::field(cx.types(), ty, #idx)?;
                        #c::Lower::lower(&self.#idents, cx, t, dst)?;
                    })*
                    ::std::result::Result::Ok(())
                }
                fn store(&self, cx: &mut #i::LowerContext<'_>, ty: #i::InterfaceType, offset: usize) -> #i::anyhow::Result<()> {
                    #({
                        let (t, at) = #i::field(cx.types(), ty, #idx)?;
                        #c::Lower::store(&self.#idents, cx, t, offset + at)?;
                    })*
                    ::std::result::Result::Ok(())
                }
            }
        }
        (Trait::Lift, Kind::Record) => {
            let idents: Vec<&syn::Ident> = parts.iter().map(|p| &p.ident).collect();
            let tys: Vec<&syn::Type> = parts.iter().filter_map(|p| p.ty.as_ref()).collect();
            let idx: Vec<usize> = (0..parts.len()).collect();
            quote! {
                const BORROWS: bool = false #(|| <#tys as #c::Lift>::BORROWS)*;
                fn lift(cx: &#i::LiftContext<'_>, ty: #i::InterfaceType, src: &mut #i::FlatSrc<'_>) -> #i::anyhow::Result<Self> {
                    ::std::result::Result::Ok(Self { #(#idents: #c::Lift::lift(cx, #i::field(cx.types(), ty, #idx)?.0, src)?,)* })
                }
                fn load(cx: &#i::LiftContext<'_>, ty: #i::InterfaceType, offset: usize) -> #i::anyhow::Result<Self> {
                    ::std::result::Result::Ok(Self {
                        #(#idents: {
                            let (t, at) = #i::field(cx.types(), ty, #idx)?;
                            #c::Lift::load(cx, t, offset + at)?
                        },)*
                    })
                }
            }
        }
        (Trait::Lower, Kind::Variant | Kind::Enum) => {
            let lower_arms = parts.iter().enumerate().map(|(n, p)| {
                let (id, disc) = (&p.ident, n as u32);
                match &p.ty {
                    Some(_) => quote!(Self::#id(v) => info.lower_case(cx, dst, #disc, |cx, t, dst| #c::Lower::lower(v, cx, t, dst))),
                    None => quote!(Self::#id => info.lower_case(cx, dst, #disc, |_, _, _| ::std::result::Result::Ok(()))),
                }
            });
            let store_arms = parts.iter().enumerate().map(|(n, p)| {
                let (id, disc) = (&p.ident, n as u32);
                match &p.ty {
                    Some(_) => quote!(Self::#id(v) => info.store_case(cx, offset, #disc, |cx, t, at| #c::Lower::store(v, cx, t, at))),
                    None => quote!(Self::#id => info.store_case(cx, offset, #disc, |_, _, _| ::std::result::Result::Ok(()))),
                }
            });
            quote! {
                fn lower(&self, cx: &mut #i::LowerContext<'_>, ty: #i::InterfaceType, dst: &mut #i::FlatDst) -> #i::anyhow::Result<()> {
                    let info = #i::VariantInfo::new(cx.types(), ty)?;
                    match self { #(#lower_arms,)* }
                }
                fn store(&self, cx: &mut #i::LowerContext<'_>, ty: #i::InterfaceType, offset: usize) -> #i::anyhow::Result<()> {
                    let info = #i::VariantInfo::new(cx.types(), ty)?;
                    match self { #(#store_arms,)* }
                }
            }
        }
        (Trait::Lift, Kind::Variant | Kind::Enum) => {
            let tys: Vec<&syn::Type> = parts.iter().filter_map(|p| p.ty.as_ref()).collect();
            let lift_arms = parts.iter().enumerate().map(|(n, p)| {
                let id = &p.ident;
                match &p.ty {
                    Some(_) => quote!(#n => Self::#id(#c::Lift::lift(cx, info.payload(cx.types(), #n)?, &mut payload)?)),
                    None => quote!(#n => Self::#id),
                }
            });
            let load_arms = parts.iter().enumerate().map(|(n, p)| {
                let id = &p.ident;
                match &p.ty {
                    Some(_) => quote!(#n => Self::#id(#c::Lift::load(cx, info.payload(cx.types(), #n)?, at)?)),
                    None => quote!(#n => Self::#id),
                }
            });
            let unused = format_ident!("_unused");
            quote! {
                const BORROWS: bool = false #(|| <#tys as #c::Lift>::BORROWS)*;
                fn lift(cx: &#i::LiftContext<'_>, ty: #i::InterfaceType, src: &mut #i::FlatSrc<'_>) -> #i::anyhow::Result<Self> {
                    let info = #i::VariantInfo::new(cx.types(), ty)?;
                    #[allow(unused_mut, reason = "cases without payloads")]
                    let (disc, mut payload) = info.lift_case(src)?;
                    ::std::result::Result::Ok(match disc {
                        #(#lift_arms,)*
                        #unused => return #i::bad_case(#unused),
                    })
                }
                fn load(cx: &#i::LiftContext<'_>, ty: #i::InterfaceType, offset: usize) -> #i::anyhow::Result<Self> {
                    let info = #i::VariantInfo::new(cx.types(), ty)?;
                    #[allow(unused_variables, reason = "cases without payloads")]
                    let (disc, at) = info.load_case(cx, offset)?;
                    ::std::result::Result::Ok(match disc {
                        #(#load_arms,)*
                        #unused => return #i::bad_case(#unused),
                    })
                }
            }
        }
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_g #bound for #name #ty_g #where_g {
            #body
        }
    })
}

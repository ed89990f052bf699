//! `flags!`: a flags type as a set of bits in 32-bit words (so more than 32
//! flags work wherever the component model allows them), with constants,
//! set operations and the component traits.

use crate::{crate_path, default_name, name_attr};
use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{braced, Attribute, Ident, Token, Visibility};

struct Flag {
    attrs: Vec<Attribute>,
    ident: Ident,
    name: String,
}

struct Flags {
    vis: Visibility,
    name: Ident,
    flags: Vec<Flag>,
}

impl Parse for Flags {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let vis: Visibility = input.parse()?;
        let name: Ident = input.parse()?;
        let body;
        braced!(body in input);
        let mut flags = Vec::new();
        while !body.is_empty() {
            let all = body.call(Attribute::parse_outer)?;
            body.parse::<Token![const]>()?;
            let ident: Ident = body.parse()?;
            body.parse::<Token![;]>()?;
            let name = name_attr(&all)?.unwrap_or_else(|| default_name(&ident));
            let attrs = all
                .into_iter()
                .filter(|a| !a.path().is_ident("component"))
                .collect();
            flags.push(Flag { attrs, ident, name });
        }
        if flags.is_empty() {
            return Err(syn::Error::new(
                name.span(),
                "a flags type needs at least one flag",
            ));
        }
        Ok(Flags { vis, name, flags })
    }
}

pub(crate) fn expand(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    match syn::parse::<Flags>(input) {
        Ok(f) => generate(&f).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn generate(f: &Flags) -> TokenStream {
    let (vis, name) = (&f.vis, &f.name);
    let krate = crate_path();
    let i = quote!(#krate::component::__internal);
    let c = quote!(#krate::component);
    let n = f.flags.len();
    let words = n.div_ceil(32);
    let names: Vec<&String> = f.flags.iter().map(|fl| &fl.name).collect();
    let consts = f.flags.iter().enumerate().map(|(k, fl)| {
        let (ident, attrs, flag) = (&fl.ident, &fl.attrs, &fl.name);
        let (word, bit) = (k / 32, 1u32 << (k % 32));
        let doc = format!("The `{flag}` flag.");
        quote! {
            #(#attrs)*
            #[doc = #doc]
            pub const #ident: Self = {
                let mut bits = [0u32; #words];
                bits[#word] = #bit;
                Self { bits }
            };
        }
    });
    let all_bits: Vec<u32> = (0..words)
        .map(|w| {
            let in_word = (n - w * 32).min(32);
            if in_word == 32 {
                u32::MAX
            } else {
                (1u32 << in_word) - 1
            }
        })
        .collect();
    let doc = format!("A component `flags` type with {n} flags.");
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        #vis struct #name {
            bits: [u32; #words],
        }

        impl #name {
            #(#consts)*

            /// No flag set.
            pub const fn empty() -> Self {
                Self { bits: [0u32; #words] }
            }

            /// Every flag set.
            pub const fn all() -> Self {
                Self { bits: [#(#all_bits),*] }
            }

            /// Whether every flag of `other` is set in `self`.
            pub fn contains(&self, other: Self) -> bool {
                self.bits.iter().zip(other.bits.iter()).all(|(a, b)| a & b == *b)
            }

            /// Whether no flag is set.
            pub fn is_empty(&self) -> bool {
                self.bits.iter().all(|w| *w == 0)
            }

            /// The names of the flags that are set, in declaration order.
            pub fn names(&self) -> ::std::vec::Vec<&'static str> {
                const NAMES: [&str; #n] = [#(#names),*];
                (0..#n).filter(|k| self.bits[k / 32] & (1 << (k % 32)) != 0).map(|k| NAMES[k]).collect()
            }
        }

        impl ::std::ops::BitOr for #name {
            type Output = Self;
            fn bitor(mut self, rhs: Self) -> Self {
                for (a, b) in self.bits.iter_mut().zip(rhs.bits) { *a |= b; }
                self
            }
        }

        impl ::std::ops::BitOrAssign for #name {
            fn bitor_assign(&mut self, rhs: Self) {
                *self = *self | rhs;
            }
        }

        impl ::std::ops::BitAnd for #name {
            type Output = Self;
            fn bitand(mut self, rhs: Self) -> Self {
                for (a, b) in self.bits.iter_mut().zip(rhs.bits) { *a &= b; }
                self
            }
        }

        impl ::std::ops::BitXor for #name {
            type Output = Self;
            fn bitxor(mut self, rhs: Self) -> Self {
                for (a, b) in self.bits.iter_mut().zip(rhs.bits) { *a ^= b; }
                self
            }
        }

        impl ::std::ops::Not for #name {
            type Output = Self;
            fn not(self) -> Self {
                self ^ Self::all()
            }
        }

        impl ::std::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::write!(f, "{}({})", ::std::stringify!(#name), self.names().join(" | "))
            }
        }

        #[automatically_derived]
        impl #c::ComponentType for #name {
            fn typecheck(ty: #i::InterfaceType, types: &#i::ComponentTypes) -> #i::anyhow::Result<()> {
                #i::typecheck_flags(ty, types, &[#(#names),*])
            }
            fn describe() -> ::std::string::String {
                ::std::format!("flags {{ {} }}", [#(#names),*].join(", "))
            }
        }

        #[automatically_derived]
        impl #c::Lower for #name {
            fn lower(&self, _: &mut #i::LowerContext<'_>, _: #i::InterfaceType, dst: &mut #i::FlatDst) -> #i::anyhow::Result<()> {
                #i::flags_lower(&self.bits, dst)
            }
            fn store(&self, cx: &mut #i::LowerContext<'_>, _: #i::InterfaceType, offset: usize) -> #i::anyhow::Result<()> {
                #i::flags_store(&self.bits, #n, cx, offset)
            }
        }

        #[automatically_derived]
        impl #c::Lift for #name {
            fn lift(_: &#i::LiftContext<'_>, _: #i::InterfaceType, src: &mut #i::FlatSrc<'_>) -> #i::anyhow::Result<Self> {
                let words = #i::flags_lift(#n, src)?;
                let mut bits = [0u32; #words];
                bits.copy_from_slice(&words);
                ::std::result::Result::Ok(Self { bits })
            }
            fn load(cx: &#i::LiftContext<'_>, _: #i::InterfaceType, offset: usize) -> #i::anyhow::Result<Self> {
                let words = #i::flags_load(#n, cx, offset)?;
                let mut bits = [0u32; #words];
                bits.copy_from_slice(&words);
                ::std::result::Result::Ok(Self { bits })
            }
        }
    }
}

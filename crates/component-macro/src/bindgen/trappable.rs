//! The error types `bindgen!` defines for wasmtime 12's spelling of
//! `trappable_error_type` (`"ns:pkg/iface"::"error-code": Error`): `Error`
//! holds either a value of the WIT error type or a trap, so a host function
//! returns `Result<T, Error>`, writes `Err(code.into())` for an error the
//! guest sees and `Err(Error::trap(e))` to trap. (Later wasmtime, and
//! Tern's `"ns:pkg/iface/error-code" => path::Type`, use the user's type and
//! a `convert_error_code` method instead.)

use super::types::Mode;
use super::Gen;
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use wit_parser::{Type, TypeId};

impl Gen<'_> {
    /// `name`, defined in the module `cur` of the WIT type `err`.
    pub(crate) fn generated_error(
        &self,
        err: TypeId,
        name: &Ident,
        cur: &[Ident],
    ) -> syn::Result<TokenStream> {
        let wit = self.resolve.types[err].name.clone().unwrap_or_default();
        let code = self.ty(&Type::Id(err), cur, Mode::Owned)?;
        let doc = format!(
            " The error of the host functions returning `result<_, {wit}>`: a `{wit}` \
             value passed to the guest, or a trap."
        );
        Ok(quote! {
            #[doc = #doc]
            pub struct #name {
                inner: ::tern::Error,
            }

            impl #name {
                /// An error that traps the guest instead of returning a WIT value.
                pub fn trap(err: ::tern::Error) -> Self {
                    #name { inner: err }
                }

                /// The WIT value, or the trap when this error is one.
                ///
                /// # Errors
                /// The trap, when this error was made by [`Self::trap`].
                pub fn downcast(self) -> ::std::result::Result<#code, ::tern::Error> {
                    self.inner.downcast::<#code>()
                }

                /// The WIT value, unless this error is a trap.
                pub fn downcast_ref(&self) -> ::std::option::Option<&#code> {
                    self.inner.downcast_ref::<#code>()
                }
            }

            impl ::std::convert::From<#code> for #name {
                fn from(code: #code) -> Self {
                    #name { inner: ::tern::Error::new(code) }
                }
            }

            impl ::std::fmt::Debug for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    ::std::fmt::Debug::fmt(&self.inner, f)
                }
            }

            impl ::std::fmt::Display for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    ::std::fmt::Display::fmt(&self.inner, f)
                }
            }

            impl ::std::error::Error for #name {
                fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
                    self.inner.source()
                }
            }

            impl ::std::fmt::Display for #code {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    ::std::fmt::Debug::fmt(self, f)
                }
            }

            impl ::std::error::Error for #code {}
        })
    }
}

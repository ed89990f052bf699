//! The host side of imports: for each imported interface a `Host` trait
//! (one method per function, `HostNAME` traits for its resources) and an
//! `add_to_linker` that defines every function in a `Linker` by calling the
//! trait on the value `get` projects out of the store's data.
//!
//! Every method returns `tern::Result<T>` (wasmtime 12's shape: an `Err`
//! traps the guest), except that a function returning `result<T, E>` whose
//! `E` is named in `trappable_error_type` returns `Result<T, RustError>`;
//! the trait's `convert_E` then turns a `RustError` into the WIT error value,
//! or into a trap by returning `Err`.
//!
//! Under `async: true` every host trait is an `#[async_trait]` trait with a
//! `Send` supertrait and each WIT function an `async fn` (so a user's own
//! `#[async_trait::async_trait] impl` expands to the same boxed, `Send`
//! future), and `add_to_linker` defines the functions with
//! `func_wrap_async`. A resource's `drop` and the `convert_E` methods stay
//! synchronous: the linker's resource destructors are synchronous
//! (`LinkerInstance::resource` has no async twin), as in wasmtime 14–20.

use super::types::{allow_many_args, camel, docs, relative, snake, Mode};
use super::Gen;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use wit_parser::{Function, FunctionKind, InterfaceId, TypeId, WorldKey};

/// Functions grouped by the resource they belong to (`None`: freestanding).
pub(crate) fn by_resource<'f>(
    funcs: impl Iterator<Item = &'f Function>,
) -> Vec<(Option<TypeId>, Vec<&'f Function>)> {
    let mut groups: Vec<(Option<TypeId>, Vec<&Function>)> = Vec::new();
    for f in funcs {
        let r = f.kind.resource();
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, fs)) => fs.push(f),
            None => groups.push((r, vec![f])),
        }
    }
    groups
}

/// The Rust method name of a function (`new` for constructors).
pub(crate) fn method_name(f: &Function) -> Ident {
    match f.kind {
        FunctionKind::Constructor(_) => format_ident!("new"),
        _ => snake(f.item_name()),
    }
}

impl Gen<'_> {
    /// The attribute and supertraits that open every host trait: nothing,
    /// or under `async: true` `#[async_trait]` and `Send` before `supers`.
    pub(crate) fn host_trait_head(&self, supers: &[TokenStream]) -> (TokenStream, TokenStream) {
        let mut all = Vec::new();
        let attr = if self.opts.async_ {
            all.push(quote!(::std::marker::Send));
            quote!(#[::tern::component::__internal::async_trait])
        } else {
            quote!()
        };
        all.extend(supers.iter().cloned());
        if all.is_empty() {
            (attr, quote!())
        } else {
            (attr, quote!(: #(#all)+*))
        }
    }

    /// The bounds `add_to_linker` puts on the store's data `T` and on `U`
    /// beyond its traits: `T: Send` and `U: Send` under `async: true`, as the
    /// futures hold both across awaits.
    pub(crate) fn linker_send_bounds(&self) -> (TokenStream, TokenStream) {
        if self.opts.async_ {
            (
                quote!(T: ::std::marker::Send,),
                quote!(+ ::std::marker::Send),
            )
        } else {
            (quote!(), quote!())
        }
    }

    /// Whether the trait signature of `f` is supported, with a clear error otherwise.
    pub(crate) fn check_sync(&self, f: &Function) -> syn::Result<()> {
        match f.kind {
            FunctionKind::Freestanding
            | FunctionKind::Method(_)
            | FunctionKind::Static(_)
            | FunctionKind::Constructor(_) => Ok(()),
            _ => Err(syn::Error::new(
                self.span,
                format!(
                    "function `{}`: WIT `async func`s and getters/setters are not supported \
                     yet (the option `async: true` makes host calls async; it does not cover \
                     component-model async functions)",
                    f.name
                ),
            )),
        }
    }

    /// The trait method declaring `f`.
    pub(crate) fn host_method(&self, f: &Function, cur: &[Ident]) -> syn::Result<TokenStream> {
        self.host_method_inner(f, cur)
            .map_err(|e| self.at(&format!("imported function `{}`", f.name), f.span, e))
    }

    fn host_method_inner(&self, f: &Function, cur: &[Ident]) -> syn::Result<TokenStream> {
        self.check_sync(f)?;
        let name = method_name(f);
        let params = f
            .params
            .iter()
            .map(|p| {
                let (n, t) = (param_name(&p.name), self.ty(&p.ty, cur, Mode::Owned)?);
                Ok(quote!(#n: #t))
            })
            .collect::<syn::Result<Vec<_>>>()?;
        let ret = self.host_result(f, cur)?;
        let doc = docs(&f.docs, format!("The WIT function `{}`.", f.name));
        let allow = allow_many_args(f.params.len(), 1);
        let asyncness = if self.opts.async_ {
            quote!(async)
        } else {
            quote!()
        };
        Ok(quote! {
            #doc
            #allow
            #asyncness fn #name(&mut self, #(#params),*) -> #ret;
        })
    }

    fn host_result(&self, f: &Function, cur: &[Ident]) -> syn::Result<TokenStream> {
        if let Some((_, alias)) = self.trappable_error(&f.result) {
            let ok = match self.ok_of(&f.result) {
                Some(t) => self.ty(&t, cur, Mode::Owned)?,
                None => quote!(()),
            };
            let rel = relative(cur, &[]);
            return Ok(quote!(::std::result::Result<#ok, #rel #alias>));
        }
        let r = match &f.result {
            Some(t) => self.ty(t, cur, Mode::Owned)?,
            None => quote!(()),
        };
        Ok(quote!(::tern::Result<#r>))
    }

    /// The `ok` payload of a function's `result<T, E>`.
    fn ok_of(&self, result: &Option<wit_parser::Type>) -> Option<wit_parser::Type> {
        let Some(wit_parser::Type::Id(id)) = result else {
            return None;
        };
        match &self.resolve.types[self.dealias(*id)].kind {
            wit_parser::TypeDefKind::Result(r) => r.ok,
            _ => None,
        }
    }

    /// `convert_E` methods for the trappable errors `funcs` use.
    pub(crate) fn convert_methods(
        &self,
        funcs: &[&Function],
        cur: &[Ident],
    ) -> syn::Result<Vec<TokenStream>> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for f in funcs {
            let Some((err, alias)) = self.trappable_error(&f.result) else {
                continue;
            };
            if self.trappable_is_generated(&f.result) || seen.contains(&err) {
                continue;
            }
            seen.push(err);
            let wit = self.resolve.types[err].name.clone().unwrap_or_default();
            let method = format_ident!(
                "convert_{}",
                snake(&wit).to_string().trim_start_matches("r#")
            );
            let wit_ty = self.ty(&wit_parser::Type::Id(err), cur, Mode::Owned)?;
            let rel = relative(cur, &[]);
            let doc = format!(
                " Turns the Rust error of a function returning `result<_, {wit}>` into the WIT \
                 value passed to the guest, or into a trap by returning `Err`."
            );
            out.push(quote! {
                #[doc = #doc]
                fn #method(&mut self, err: #rel #alias) -> ::tern::Result<#wit_ty>;
            });
        }
        Ok(out)
    }

    /// `inst.func_wrap("name", …)` calling `Trait::method` on `get(data)`.
    pub(crate) fn wrap_func(
        &self,
        f: &Function,
        trait_path: &TokenStream,
        cur: &[Ident],
    ) -> syn::Result<TokenStream> {
        let name = &f.name;
        let method = method_name(f);
        let args: Vec<Ident> = (0..f.params.len())
            .map(|i| format_ident!("arg{i}"))
            .collect();
        let tys = f
            .params
            .iter()
            .map(|p| self.ty(&p.ty, cur, Mode::Owned))
            .collect::<syn::Result<Vec<_>>>()?;
        let call = if self.opts.async_ {
            quote!(#trait_path::#method(host, #(#args),*).await)
        } else {
            quote!(#trait_path::#method(host, #(#args),*))
        };
        let value = if self.trappable_is_generated(&f.result) {
            // wasmtime 12's generated error type: a WIT value or a trap.
            quote! {
                match #call {
                    ::std::result::Result::Ok(v) => ::std::result::Result::Ok(v),
                    ::std::result::Result::Err(e) => ::std::result::Result::Err(e.downcast()?),
                }
            }
        } else if let Some((err, _)) = self.trappable_error(&f.result) {
            let wit = self.resolve.types[err].name.clone().unwrap_or_default();
            let convert = format_ident!(
                "convert_{}",
                snake(&wit).to_string().trim_start_matches("r#")
            );
            quote! {
                match #call {
                    ::std::result::Result::Ok(v) => ::std::result::Result::Ok(v),
                    ::std::result::Result::Err(e) => ::std::result::Result::Err(#trait_path::#convert(host, e)?),
                }
            }
        } else {
            quote!(#call?)
        };
        let allow = match &f.result {
            Some(_) => quote!(),
            None => quote!(#[allow(clippy::let_unit_value, reason = "the function has no result")]),
        };
        let (ret_ty, ret) = match &f.result {
            Some(t) => {
                let t = self.ty(t, cur, Mode::Owned)?;
                (quote!((#t,)), quote!((r,)))
            }
            None => (quote!(()), quote!(())),
        };
        if self.opts.async_ {
            return Ok(quote! {
                inst.func_wrap_async(
                    #name,
                    move |mut caller: ::tern::StoreContextMut<'_, T>, (#(#args,)*): (#(#tys,)*)| {
                        ::std::boxed::Box::new(async move {
                            let host = get(caller.data_mut());
                            #allow
                            let r = #value;
                            ::tern::Result::<#ret_ty>::Ok(#ret)
                        })
                    },
                )?;
            });
        }
        Ok(quote! {
            inst.func_wrap(
                #name,
                move |mut caller: ::tern::StoreContextMut<'_, T>, (#(#args,)*): (#(#tys,)*)| -> ::tern::Result<#ret_ty> {
                    let host = get(caller.data_mut());
                    #allow
                    let r = #value;
                    ::std::result::Result::Ok(#ret)
                },
            )?;
        })
    }

    /// The `Host` trait, resource traits and `add_to_linker` of an imported interface.
    pub(crate) fn host_interface(
        &self,
        key: &WorldKey,
        id: InterfaceId,
        cur: &[Ident],
    ) -> syn::Result<TokenStream> {
        let iface = &self.resolve.interfaces[id];
        let instance_name = self.resolve.name_world_key(key);
        let mut traits = Vec::new();
        let mut supertraits = Vec::new();
        let mut host_methods = Vec::new();
        let mut defs = Vec::new();
        let all: Vec<&Function> = iface.functions.values().collect();
        for (resource, funcs) in by_resource(iface.functions.values()) {
            match resource {
                None => {
                    for f in &funcs {
                        host_methods.push(self.host_method(f, cur)?);
                        defs.push(self.wrap_func(f, &quote!(Host), cur)?);
                    }
                }
                Some(r) => {
                    let (t, d) = self.resource_trait(r, &funcs, cur)?;
                    traits.push(t.0);
                    supertraits.push(t.1);
                    defs.extend(d);
                }
            }
        }
        // Resources without any function still need a trait for `drop`.
        for (_, ty) in &iface.types {
            if self.host_resources.contains(ty)
                && self.type_home.get(ty).map(Vec::as_slice) == Some(cur)
                && !iface
                    .functions
                    .values()
                    .any(|f| f.kind.resource() == Some(*ty))
            {
                let (t, d) = self.resource_trait(*ty, &[], cur)?;
                traits.push(t.0);
                supertraits.push(t.1);
                defs.extend(d);
            }
        }
        host_methods.extend(self.convert_methods(&all, cur)?);
        let doc = format!(" The host's implementation of `{instance_name}`.");
        let add_doc = format!(
            " Defines every function of `{instance_name}` in `linker`, calling [`Host`] on \
             the value `get` returns from the store's data.\n\n # Errors\n Fails when \
             `{instance_name}` is already defined in `linker`."
        );
        let (attr, supers) = self.host_trait_head(&supertraits);
        let (t_send, u_send) = self.linker_send_bounds();
        Ok(quote! {
            #(#traits)*
            #[doc = #doc]
            #attr
            pub trait Host #supers {
                #(#host_methods)*
            }
            #[doc = #add_doc]
            pub fn add_to_linker<T, U>(
                linker: &mut ::tern::component::Linker<T>,
                get: impl Fn(&mut T) -> &mut U + Send + Sync + Copy + 'static,
            ) -> ::tern::Result<()>
            where
                #t_send
                U: Host #u_send,
            {
                let mut inst = linker.instance(#instance_name)?;
                #(#defs)*
                ::std::result::Result::Ok(())
            }
        })
    }

    /// `HostNAME` (constructor, methods, statics, `drop`) for host resource `r`,
    /// its name for the `Host` supertrait list, and its linker definitions.
    pub(crate) fn resource_trait(
        &self,
        r: TypeId,
        funcs: &[&Function],
        cur: &[Ident],
    ) -> syn::Result<((TokenStream, TokenStream), Vec<TokenStream>)> {
        let wit = self.resolve.types[r].name.clone().unwrap_or_default();
        let res = camel(&wit);
        let trait_name = format_ident!("Host{}", res);
        let mut methods = Vec::new();
        let mut defs = Vec::new();
        // The resource type itself, with the destructor calling `drop`.
        defs.push(quote! {
            inst.resource(
                #wit,
                ::tern::component::ResourceType::host::<#res>(),
                move |mut store: ::tern::StoreContextMut<'_, T>, rep: u32| -> ::tern::Result<()> {
                    #trait_name::drop(get(store.data_mut()), ::tern::component::Resource::new_own(rep))
                },
            )?;
        });
        for f in funcs {
            methods.push(self.host_method(f, cur)?);
            defs.push(self.wrap_func(f, &quote!(#trait_name), cur)?);
        }
        methods.extend(self.convert_methods(funcs, cur)?);
        let doc = format!(" The host's implementation of resource `{wit}`.");
        let drop_doc = format!(" Called when the guest drops its last owned handle to a `{wit}`.");
        let (attr, supers) = self.host_trait_head(&[]);
        Ok((
            (
                quote! {
                    #[doc = #doc]
                    #attr
                    pub trait #trait_name #supers {
                        #(#methods)*
                        #[doc = #drop_doc]
                        fn drop(&mut self, rep: ::tern::component::Resource<#res>) -> ::tern::Result<()>;
                    }
                },
                quote!(#trait_name),
            ),
            defs,
        ))
    }
}

/// A parameter's Rust name (`self` of methods becomes `self_`).
pub(crate) fn param_name(name: &str) -> Ident {
    snake(name)
}

//! The guest side: the world struct (`instantiate`, `instantiate_pre`,
//! `new`, `add_to_linker`, one `call_NAME` per exported function, one
//! accessor per exported interface), each exported interface's `Guest`
//! struct, and the world-level import trait `{World}Imports`.
//!
//! Exported functions are looked up and type-checked once in `new`; a call
//! re-derives the typed view (a cheap check) so that parameters can borrow
//! (`&str`, `&[T]`) without lifetimes on the struct.
//!
//! Under `async: true` (wasmtime's shape) the world has `instantiate_async`
//! and an async `instantiate_pre` instead of the synchronous pair, and each
//! `call_NAME` is an `async fn` calling `call_async` then
//! `post_return_async`, for stores whose data is `Send`.

use super::host::{by_resource, method_name, param_name};
use super::types::{allow_many_args, camel, docs, relative, snake, Mode};
use super::{Gen, Home};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use wit_parser::{Function, FunctionKind, InterfaceId, WorldItem, WorldKey};

/// One exported function as stored in a struct and called through it.
struct Export {
    field: Ident,
    lookup: TokenStream,
    call: TokenStream,
}

impl Gen<'_> {
    /// The field, lookup and `call_*` method of exported function `f`.
    /// `path` is `[]` for a world-level function, `[instance]` otherwise.
    /// `via` reaches the struct holding the funcs from `self`.
    fn export(
        &self,
        f: &Function,
        instance: Option<&str>,
        cur: &[Ident],
        via: &TokenStream,
    ) -> syn::Result<Export> {
        self.export_inner(f, instance, cur, via)
            .map_err(|e| self.at(&format!("exported function `{}`", f.name), f.span, e))
    }

    fn export_inner(
        &self,
        f: &Function,
        instance: Option<&str>,
        cur: &[Ident],
        via: &TokenStream,
    ) -> syn::Result<Export> {
        self.check_sync(f)?;
        let field = snake(
            &f.name
                .replace(['[', ']', '.'], "-")
                .trim_matches('-')
                .replace("--", "-"),
        );
        let call_name = match f.kind {
            FunctionKind::Freestanding => format_ident!("call_{}", trim_raw(&snake(&f.name))),
            FunctionKind::Constructor(_) => format_ident!("call_constructor"),
            _ => format_ident!("call_{}", trim_raw(&method_name(f))),
        };
        let name = &f.name;
        let args: Vec<Ident> = f.params.iter().map(|p| param_name(&p.name)).collect();
        let ptys = f
            .params
            .iter()
            .map(|p| self.ty(&p.ty, cur, Mode::Param))
            .collect::<syn::Result<Vec<_>>>()?;
        let (rty, rtuple, unpack, ret) = match &f.result {
            Some(t) => {
                let t = self.ty(t, cur, Mode::Owned)?;
                (t.clone(), quote!((#t,)), quote!((r,)), quote!(r))
            }
            None => (quote!(()), quote!(()), quote!(()), quote!(())),
        };
        let typed = quote!(typed::<(#(#ptys,)*), #rtuple>);
        let what = match instance {
            Some(i) => format!("function `{name}` of exported instance `{i}`"),
            None => format!("exported function `{name}`"),
        };
        let missing = format!("the component has no {what}");
        let mistyped = format!("{what} has the wrong type");
        let get = match instance {
            Some(i) => quote!(instance.get_func_at(&mut store, &[#i, #name])),
            None => quote!(instance.get_func(&mut store, #name)),
        };
        let lookup = quote! {
            let #field = #get.ok_or_else(|| ::tern::Error::msg(#missing))?;
            #field.#typed(&store).map_err(|e| e.context(#mistyped))?;
        };
        let doc = docs(&f.docs, format!("Calls the exported function `{name}`."));
        let errors = " # Errors\n Fails when the guest traps or breaks a canonical ABI rule, or \
                      `store` is not the instance's store.";
        let allow = allow_many_args(f.params.len(), 2);
        let call = if self.opts.async_ {
            quote! {
                #doc
                #[doc = ""]
                #[doc = #errors]
                #allow
                pub async fn #call_name<S: ::tern::AsContextMut>(&self, mut store: S, #(#args: #ptys),*) -> ::tern::Result<#rty>
                where
                    <S as ::tern::AsContext>::Data: ::std::marker::Send,
                {
                    let callee = #via.#field.#typed(store.as_context())?;
                    let #unpack = callee.call_async(store.as_context_mut(), (#(#args,)*)).await?;
                    callee.post_return_async(store.as_context_mut()).await?;
                    ::std::result::Result::Ok(#ret)
                }
            }
        } else {
            quote! {
            #doc
            #[doc = ""]
            #[doc = #errors]
            #allow
            pub fn #call_name<S: ::tern::AsContextMut>(&self, mut store: S, #(#args: #ptys),*) -> ::tern::Result<#rty>
            {
                let callee = #via.#field.#typed(store.as_context())?;
                let #unpack = callee.call(store.as_context_mut(), (#(#args,)*))?;
                ::std::result::Result::Ok(#ret)
            }
            }
        };
        Ok(Export {
            field,
            lookup,
            call,
        })
    }

    /// The `Guest` struct of an exported interface, with `GuestNAME` views for its resources.
    pub(crate) fn guest_interface(
        &self,
        key: &WorldKey,
        id: InterfaceId,
        cur: &[Ident],
    ) -> syn::Result<TokenStream> {
        let instance = self.resolve.name_world_key(key);
        let iface = &self.resolve.interfaces[id];
        let mut fields = Vec::new();
        let mut lookups = Vec::new();
        let mut calls = Vec::new();
        let mut views = Vec::new();
        for (resource, funcs) in by_resource(iface.functions.values()) {
            let via = match resource {
                None => quote!(self),
                Some(_) => quote!(self.funcs),
            };
            let exports = funcs
                .iter()
                .map(|f| self.export(f, Some(&instance), cur, &via))
                .collect::<syn::Result<Vec<_>>>()?;
            for e in &exports {
                fields.push(e.field.clone());
                lookups.push(e.lookup.clone());
            }
            match resource {
                None => calls.extend(exports.into_iter().map(|e| e.call)),
                Some(r) => {
                    let wit = self.resolve.types[r].name.clone().unwrap_or_default();
                    let view = format_ident!("Guest{}", camel(&wit));
                    let accessor = snake(&wit);
                    let doc = format!(" The functions of the guest resource `{wit}`.");
                    let methods = exports.into_iter().map(|e| e.call);
                    views.push(quote! {
                        #[doc = #doc]
                        pub struct #view<'a> {
                            funcs: &'a Guest,
                        }
                        impl #view<'_> {
                            #(#methods)*
                        }
                    });
                    let acc_doc = format!(" The functions of resource `{wit}`.");
                    calls.push(quote! {
                        #[doc = #acc_doc]
                        pub fn #accessor(&self) -> #view<'_> {
                            #view { funcs: self }
                        }
                    });
                }
            }
        }
        let doc = format!(" The functions the guest exports as `{instance}`.");
        let new_doc = format!(
            " Looks up and type-checks every function of `{instance}` in `instance`.\n\n # Errors\n \
             Fails when a function is missing or has another type."
        );
        let compat = camel(iface.name.as_deref().unwrap_or("guest"));
        let compat_doc = format!(" wasmtime 12's name for [`Guest`] (`{instance}`).");
        let compat = if compat == "Guest" {
            quote!()
        } else {
            quote!(#[doc = #compat_doc] pub type #compat = Guest;)
        };
        Ok(quote! {
            #[doc = #doc]
            #[derive(Clone, Debug)]
            pub struct Guest {
                #(#fields: ::tern::component::Func,)*
            }
            #compat
            impl Guest {
                #[doc = #new_doc]
                pub fn new(mut store: impl ::tern::AsContextMut, instance: &::tern::component::Instance) -> ::tern::Result<Guest> {
                    #(#lookups)*
                    ::std::result::Result::Ok(Guest { #(#fields,)* })
                }
                #(#calls)*
            }
            #(#views)*
        })
    }

    /// The world struct and the `{World}Imports` trait.
    pub(crate) fn world_struct(&self) -> syn::Result<TokenStream> {
        let w = &self.resolve.worlds[self.world];
        let name = camel(&w.name);
        let cur: &[Ident] = &[];
        let mut fields = Vec::new();
        let mut field_tys = Vec::new();
        let mut lookups = Vec::new();
        let mut methods = Vec::new();
        for (key, item) in &w.exports {
            match item {
                WorldItem::Function(f) => {
                    if f.kind.resource().is_some() {
                        return Err(syn::Error::new(
                            self.span,
                            "world-level exported resources are not supported yet; export them from an interface",
                        ));
                    }
                    let e = self.export(f, None, cur, &quote!(self))?;
                    fields.push(e.field.clone());
                    field_tys.push(quote!(::tern::component::Func));
                    lookups.push(e.lookup);
                    methods.push(e.call);
                }
                WorldItem::Interface { id, .. } => {
                    let instance = self.resolve.name_world_key(key);
                    let path = &self
                        .exports
                        .iter()
                        .find(|(k, _, _)| k == key)
                        .expect("export")
                        .2;
                    let field = self.export_accessor(key, *id);
                    let rel = relative(cur, path);
                    fields.push(field.clone());
                    field_tys.push(quote!(#rel Guest));
                    lookups.push(quote! {
                        let #field = #rel Guest::new(&mut store, instance)?;
                    });
                    let doc = format!(" The exported interface `{instance}`.");
                    methods.push(quote! {
                        #[doc = #doc]
                        pub fn #field(&self) -> &#rel Guest {
                            &self.#field
                        }
                    });
                }
                WorldItem::Type { .. } => {}
            }
        }
        // Imports: interfaces through their own `add_to_linker`, world-level functions here.
        let mut bounds = Vec::new();
        let mut adds = Vec::new();
        for (_, _, home) in &self.imports {
            let rel = match home {
                Home::Generated(p) => relative(cur, p),
                Home::Remapped(alias) => quote!(#alias::),
            };
            bounds.push(quote!(#rel Host));
            adds.push(quote!(#rel add_to_linker(linker, get)?;));
        }
        let imports_trait = format_ident!("{}Imports", name);
        let mut trait_methods = Vec::new();
        let mut defs = Vec::new();
        let mut world_funcs = Vec::new();
        for item in w.imports.values() {
            if let WorldItem::Function(f) = item {
                if f.kind.resource().is_some() {
                    continue;
                }
                world_funcs.push(f);
                trait_methods.push(self.host_method(f, cur)?);
                defs.push(self.wrap_func(f, &quote!(#imports_trait), cur)?);
            }
        }
        // World-level resources and their functions.
        let mut resource_traits = Vec::new();
        for (r, funcs) in by_resource(w.imports.values().filter_map(|i| match i {
            WorldItem::Function(f) => Some(f),
            _ => None,
        })) {
            if let Some(r) = r {
                let ((t, n), d) = self.resource_trait(r, &funcs, cur)?;
                resource_traits.push(t);
                bounds.push(n);
                defs.extend(d);
            }
        }
        let has_root = !defs.is_empty();
        trait_methods.extend(self.convert_methods(&world_funcs, cur)?);
        let imports_item = if has_root {
            bounds.push(quote!(#imports_trait));
            let doc = format!(
                " The host's implementation of the functions world `{}` imports directly.",
                w.name
            );
            let (attr, supers) = self.host_trait_head(&[]);
            quote! {
                #(#resource_traits)*
                #[doc = #doc]
                #attr
                pub trait #imports_trait #supers { #(#trait_methods)* }
            }
        } else {
            quote!()
        };
        let root_defs = if has_root {
            quote! {
                let mut inst = linker.root();
                #(#defs)*
            }
        } else {
            quote!()
        };
        let (t_send, u_send) = self.linker_send_bounds();
        let bound = if bounds.is_empty() {
            quote!(#t_send)
        } else {
            quote!(#t_send U: #(#bounds)+* #u_send,)
        };
        let instantiate = self.instantiate_fns();
        let wit_name = &w.name;
        let doc = docs(
            &w.docs,
            format!("An instance of a component of world `{wit_name}`, with its exports."),
        );
        Ok(quote! {
            #imports_item
            #doc
            #[derive(Clone, Debug)]
            pub struct #name {
                #(#fields: #field_tys,)*
            }
            impl #name {
                /// Defines everything the world imports in `linker`, each import
                /// calling its trait on the value `get` returns from the store's data.
                ///
                /// # Errors
                /// Fails when an import is already defined in `linker`.
                pub fn add_to_linker<T, U>(
                    linker: &mut ::tern::component::Linker<T>,
                    get: impl Fn(&mut T) -> &mut U + Send + Sync + Copy + 'static,
                ) -> ::tern::Result<()>
                where
                    #bound
                {
                    #(#adds)*
                    #root_defs
                    let _ = (&linker, &get);
                    ::std::result::Result::Ok(())
                }

                #instantiate

                /// Looks up and type-checks the world's exports in `instance`.
                ///
                /// # Errors
                /// Fails when an export is missing or has another type.
                pub fn new(
                    mut store: impl ::tern::AsContextMut,
                    instance: &::tern::component::Instance,
                ) -> ::tern::Result<Self> {
                    #(#lookups)*
                    let _ = (&mut store, instance);
                    ::std::result::Result::Ok(Self { #(#fields,)* })
                }

                #(#methods)*
            }
        })
    }

    /// The world's `instantiate` and `instantiate_pre`, or under `async: true`
    /// `instantiate_async` and an async `instantiate_pre` (wasmtime's names:
    /// the async world has no synchronous instantiation).
    fn instantiate_fns(&self) -> TokenStream {
        if self.opts.async_ {
            return quote! {
                /// Instantiates `component` with `linker`'s definitions on a
                /// fiber (so its start functions may call async host functions)
                /// and looks up its exports.
                ///
                /// # Errors
                /// Fails when instantiation fails, an export is missing or
                /// mistyped, or the engine lacks `Config::async_support`.
                pub async fn instantiate_async<T: ::std::marker::Send>(
                    mut store: impl ::tern::AsContextMut<Data = T>,
                    component: &::tern::component::Component,
                    linker: &::tern::component::Linker<T>,
                ) -> ::tern::Result<(Self, ::tern::component::Instance)> {
                    let instance = linker.instantiate_async(&mut store, component).await?;
                    ::std::result::Result::Ok((Self::new(store, &instance)?, instance))
                }

                /// Instantiates a pre-linked component on a fiber and looks up its exports.
                ///
                /// # Errors
                /// As [`Self::instantiate_async`].
                pub async fn instantiate_pre<T: ::std::marker::Send>(
                    mut store: impl ::tern::AsContextMut<Data = T>,
                    instance_pre: &::tern::component::InstancePre<T>,
                ) -> ::tern::Result<(Self, ::tern::component::Instance)> {
                    let instance = instance_pre.instantiate_async(&mut store).await?;
                    ::std::result::Result::Ok((Self::new(store, &instance)?, instance))
                }
            };
        }
        quote! {
            /// Instantiates `component` with `linker`'s definitions and looks up its exports.
            ///
            /// # Errors
            /// Fails when instantiation fails or an export is missing or mistyped.
            pub fn instantiate<T>(
                mut store: impl ::tern::AsContextMut<Data = T>,
                component: &::tern::component::Component,
                linker: &::tern::component::Linker<T>,
            ) -> ::tern::Result<(Self, ::tern::component::Instance)> {
                let instance = linker.instantiate(&mut store, component)?;
                ::std::result::Result::Ok((Self::new(store, &instance)?, instance))
            }

            /// Instantiates a pre-linked component and looks up its exports.
            ///
            /// # Errors
            /// As [`Self::instantiate`].
            pub fn instantiate_pre<T>(
                mut store: impl ::tern::AsContextMut<Data = T>,
                instance_pre: &::tern::component::InstancePre<T>,
            ) -> ::tern::Result<(Self, ::tern::component::Instance)> {
                let instance = instance_pre.instantiate(&mut store)?;
                ::std::result::Result::Ok((Self::new(store, &instance)?, instance))
            }
        }
    }

    /// The accessor of an exported interface: its name, or `ns_pkg_iface`.
    fn export_accessor(&self, key: &WorldKey, id: InterfaceId) -> Ident {
        match key {
            WorldKey::Name(n) => snake(n),
            WorldKey::Interface(_) => {
                let iface = &self.resolve.interfaces[id];
                let mut parts = Vec::new();
                if let Some(pkg) = iface.package {
                    let n = &self.resolve.packages[pkg].name;
                    parts.push(n.namespace.clone());
                    parts.push(n.name.clone());
                }
                parts.push(iface.name.clone().unwrap_or_default());
                snake(&parts.join("-"))
            }
        }
    }
}

/// `r#type` as `type`, for building a longer identifier.
fn trim_raw(id: &Ident) -> String {
    id.to_string().trim_start_matches("r#").to_string()
}

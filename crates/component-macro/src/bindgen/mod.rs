//! `bindgen!`: Rust bindings for a WIT world, for hosts that embed
//! components with Tern.
//!
//! The pipeline: [`input`] parses the options and loads the WIT into a
//! `wit_parser::Resolve`; [`Gen::new`] decides where everything lives in the
//! generated module tree (an imported interface `ns:pkg/iface` under
//! `ns::pkg::iface`, an exported one under `exports::ns::pkg::iface`, a
//! named one under its name, one remapped by `with` at the user's path);
//! [`types`] writes the Rust types, [`host`] the `Host` traits and
//! `add_to_linker` functions for imports, and [`world`] the world struct
//! that instantiates a component and calls its exports. Generated code
//! names Tern only through absolute `::tern::…` paths and names its own
//! items through relative `super::` paths, so it works wherever the macro
//! is invoked.

mod host;
mod input;
mod ownership;
mod trappable;
mod types;
mod world;

use input::Opts;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use std::collections::{HashMap, HashSet};
use types::{snake, ModPath};
use wit_parser::{
    InterfaceId, Resolve, Type, TypeDefKind, TypeId, TypeOwner, WorldId, WorldItem, WorldKey,
};

/// Expands `bindgen!(…)`.
pub(crate) fn expand(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let opts = match syn::parse::<Opts>(input) {
        Ok(opts) => opts,
        Err(e) => return e.to_compile_error().into(),
    };
    let krate = match &opts.wasmtime_crate {
        Some(path) => quote!(#path),
        None => crate::crate_path(),
    };
    match generate(&opts, true) {
        Ok(t) => renamed_crate(t, &krate).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The expansion (without the file-tracking `include_str!`s, whose
/// absolute paths differ per machine), or the error message, as a string
/// literal: for the committed snapshot and the error-message tests.
pub(crate) fn expand_to_string(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let text = match syn::parse::<Opts>(input).and_then(|opts| generate(&opts, false)) {
        Ok(t) => t.to_string(),
        Err(e) => format!("error: {e}"),
    };
    quote!(#text).into()
}

fn generate(opts: &Opts, track_files: bool) -> syn::Result<TokenStream> {
    let (resolve, world, files) = opts.load()?;
    let gen = Gen::new(&resolve, world, opts)?;
    let mut tokens = gen.generate()?;
    // Rebuild when a WIT file changes.
    for f in files.iter().filter(|_| track_files) {
        let f = f.display().to_string();
        tokens.extend(quote!(
            const _: &str = ::core::include_str!(#f);
        ));
    }
    Ok(tokens)
}

/// `tokens` with every absolute path `::tern::…` rewritten to start at `krate`
/// (the name the using crate gives Tern, e.g. `::wasmtime` after a port by
/// renaming the dependency, or a `wasmtime_crate: path` such as
/// `crate::reexports::wasmtime`). The generator writes `::tern` throughout;
/// only a leading `::` followed by `tern` is rewritten, so a WIT item called
/// `tern` (always reached through `super::` or a module path) is left alone.
fn renamed_crate(tokens: TokenStream, krate: &TokenStream) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    if krate.to_string().replace(' ', "") == "::tern" {
        return tokens;
    }
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(trees.len());
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), renamed_crate(g.stream(), krate));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            TokenTree::Ident(ident) if ident == "tern" && is_leading_path_sep(&trees, i) => {
                // Replace `::tern` (the two colons are already in `out`).
                out.truncate(out.len() - 2);
                out.extend(krate.clone().into_iter().map(|mut t| {
                    t.set_span(tree.span());
                    t
                }));
            }
            other => out.push(other.clone()),
        }
    }
    out.into_iter().collect()
}

/// Whether `trees[i]` follows a `::` that starts an absolute path.
fn is_leading_path_sep(trees: &[proc_macro2::TokenTree], i: usize) -> bool {
    use proc_macro2::TokenTree;
    let colon =
        |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    if i < 2 || !colon(trees.get(i - 1)) || !colon(trees.get(i - 2)) {
        return false;
    }
    // After an ordinary identifier the `::` continues a path (`a::tern`); after
    // a keyword, punctuation (`->`, `<`, `&`, `: ::tern`) or nothing it starts one.
    const KEYWORDS: &[&str] = &[
        "as", "impl", "dyn", "for", "mut", "in", "where", "return", "let", "const", "static",
        "type", "use", "pub", "fn", "move", "ref", "unsafe", "extern",
    ];
    match i.checked_sub(3).and_then(|j| trees.get(j)) {
        Some(TokenTree::Ident(ident)) => KEYWORDS.iter().any(|k| ident == k),
        _ => true,
    }
}

/// Where an interface's bindings live.
#[derive(Clone)]
pub(crate) enum Home {
    /// Generated here, at this module path.
    Generated(ModPath),
    /// Generated elsewhere (`with`), reached through the root-level alias.
    Remapped(Ident),
}

impl Home {
    fn path(&self) -> ModPath {
        match self {
            Home::Generated(p) => p.clone(),
            Home::Remapped(alias) => vec![alias.clone()],
        }
    }
}

/// Everything decided before writing code.
pub(crate) struct Gen<'a> {
    pub(crate) resolve: &'a Resolve,
    pub(crate) world: WorldId,
    pub(crate) opts: &'a Opts,
    /// The span errors point at (the macro's input).
    pub(crate) span: Span,
    /// Imported interfaces by world key.
    pub(crate) imports: Vec<(WorldKey, InterfaceId, Home)>,
    /// Exported interfaces by world key.
    pub(crate) exports: Vec<(WorldKey, InterfaceId, ModPath)>,
    /// The module where each named type is defined.
    pub(crate) type_home: HashMap<TypeId, ModPath>,
    /// Resources the host implements (defined by imported interfaces or the world).
    pub(crate) host_resources: HashSet<TypeId>,
    /// Error types mapped by `trappable_error_type`, to the root-level alias
    /// of the Rust type and whether `bindgen!` defines that type (wasmtime 12's
    /// spelling) rather than the user (later wasmtime's).
    pub(crate) trappable: HashMap<TypeId, (Ident, bool)>,
    /// The error types `bindgen!` defines (wasmtime 12's `trappable_error_type`):
    /// the WIT type and the Rust name.
    pub(crate) generated_errors: Vec<(TypeId, Ident)>,
    /// `use … as …;` items for the root module (`with` and trappable targets).
    pub(crate) root_uses: Vec<TokenStream>,
    /// Where each named type is used (for `ownership`).
    pub(crate) usage: ownership::Usage,
}

impl<'a> Gen<'a> {
    fn new(resolve: &'a Resolve, world: WorldId, opts: &'a Opts) -> syn::Result<Self> {
        let mut gen = Gen {
            resolve,
            world,
            opts,
            span: Span::call_site(),
            imports: Vec::new(),
            exports: Vec::new(),
            type_home: HashMap::new(),
            host_resources: HashSet::new(),
            trappable: HashMap::new(),
            generated_errors: Vec::new(),
            root_uses: Vec::new(),
            usage: ownership::Usage::new(),
        };
        let mut with: HashMap<String, Ident> = HashMap::new();
        let mut used_with = HashSet::new();
        for (k, (key, path)) in opts.with.iter().enumerate() {
            let alias = format_ident!("__with_name{k}");
            gen.root_uses
                .push(quote!(#[allow(unused_imports)] use #path as #alias;));
            with.insert(key.value(), alias);
        }
        let w = &resolve.worlds[world];
        for (key, item) in &w.imports {
            if let WorldItem::Interface { id, .. } = item {
                let name = resolve.name_world_key(key);
                let home = match with.get(&name) {
                    Some(alias) => {
                        used_with.insert(name.clone());
                        Home::Remapped(alias.clone())
                    }
                    None => Home::Generated(gen.module_path(key, *id)),
                };
                gen.imports.push((key.clone(), *id, home));
            }
        }
        for (key, item) in &w.exports {
            if let WorldItem::Interface { id, .. } = item {
                let mut path = vec![format_ident!("exports")];
                path.extend(gen.module_path(key, *id));
                gen.exports.push((key.clone(), *id, path));
            }
        }
        for (key, _) in &opts.with {
            if !used_with.contains(&key.value()) {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "`with` names `{}`, which the world does not import",
                        key.value()
                    ),
                ));
            }
        }
        // Type homes: imports first, so an interface both imported and
        // exported defines its types once, on the import side.
        let homes: Vec<(InterfaceId, ModPath, bool)> = gen
            .imports
            .iter()
            .map(|(_, id, home)| (*id, home.path(), true))
            .chain(gen.exports.iter().map(|(_, id, p)| (*id, p.clone(), false)))
            .collect();
        for (iface, path, imported) in homes {
            for (_, ty) in &resolve.interfaces[iface].types {
                gen.type_home.entry(*ty).or_insert_with(|| path.clone());
                if imported && matches!(resolve.types[*ty].kind, TypeDefKind::Resource) {
                    gen.host_resources.insert(*ty);
                }
            }
        }
        for (key, item) in &w.imports {
            if let (WorldKey::Name(_), WorldItem::Type { id, .. }) = (key, item) {
                gen.type_home.entry(*id).or_default();
                if matches!(resolve.types[*id].kind, TypeDefKind::Resource) {
                    gen.host_resources.insert(*id);
                }
            }
        }
        for (key, item) in &w.exports {
            if let WorldItem::Type { id, .. } = item {
                let _ = key;
                gen.type_home.entry(*id).or_default();
            }
        }
        gen.resolve_trappable()?;
        gen.usage = gen.analyze_usage();
        Ok(gen)
    }

    /// `ns::pkg::iface` for `ns:pkg/iface`, `name` for a named import.
    fn module_path(&self, key: &WorldKey, id: InterfaceId) -> ModPath {
        match key {
            WorldKey::Name(n) => vec![snake(n)],
            WorldKey::Interface(_) => {
                let iface = &self.resolve.interfaces[id];
                let mut path = Vec::new();
                if let Some(pkg) = iface.package {
                    let name = &self.resolve.packages[pkg].name;
                    path.push(snake(&name.namespace));
                    path.push(snake(&name.name));
                }
                path.push(snake(iface.name.as_deref().unwrap_or("interface")));
                path
            }
        }
    }

    /// Resolves each `trappable_error_type` entry to the WIT type.
    fn resolve_trappable(&mut self) -> syn::Result<()> {
        for (k, entry) in self.opts.trappable.iter().enumerate() {
            let key = &entry.key;
            let text = key.value();
            let found = text.rsplit_once('/').and_then(|(iface, ty)| {
                let (_, id, _) = self
                    .imports
                    .iter()
                    .find(|(wk, _, _)| self.resolve.name_world_key(wk) == iface)?;
                self.resolve.interfaces[*id].types.get(ty).copied()
            });
            let Some(ty) = found else {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "`trappable_error_type` names `{text}`, which is not a type of an \
                         imported interface (write \"ns:pkg/iface/type-name\")"
                    ),
                ));
            };
            let alias = format_ident!("__trappable{k}");
            let ty = self.dealias(ty);
            match &entry.rust {
                input::TrappableRust::User(path) => {
                    self.root_uses
                        .push(quote!(#[allow(unused_imports)] use #path as #alias;));
                    self.trappable.insert(ty, (alias, false));
                }
                input::TrappableRust::Generated(name) => {
                    let home = self.type_home.get(&ty).cloned().unwrap_or_default();
                    let remapped = self.imports.iter().any(|(_, id, h)| {
                        matches!(h, Home::Remapped(_))
                            && self.resolve.interfaces[*id]
                                .types
                                .values()
                                .any(|t| *t == ty)
                    });
                    if remapped {
                        return Err(syn::Error::new(
                            key.span(),
                            format!(
                                "`trappable_error_type` names `{text}`, whose interface comes \
                                 from `with`: define the error type where those bindings are \
                                 generated"
                            ),
                        ));
                    }
                    self.root_uses.push(
                        quote!(#[allow(unused_imports)] use self #(::#home)* :: #name as #alias;),
                    );
                    self.trappable.insert(ty, (alias, true));
                    self.generated_errors.push((ty, name.clone()));
                }
            }
        }
        Ok(())
    }

    /// `e`, extended with the WIT item it concerns and where it is
    /// (`file.wit:line:column`).
    pub(crate) fn at(&self, what: &str, span: wit_parser::Span, e: syn::Error) -> syn::Error {
        let loc = self.resolve.render_location(span);
        syn::Error::new(self.span, format!("{e}\n  in {what}, at {loc}"))
    }

    /// The error type a function's `result<_, E>` maps to, if `E` is trappable.
    pub(crate) fn trappable_error(&self, result: &Option<Type>) -> Option<(TypeId, &Ident)> {
        self.trappable_entry(result)
            .map(|(err, (alias, _))| (err, alias))
    }

    /// Whether `bindgen!` defines the error type of `result` (wasmtime 12's
    /// spelling of `trappable_error_type`; no `convert_` method then).
    pub(crate) fn trappable_is_generated(&self, result: &Option<Type>) -> bool {
        self.trappable_entry(result).is_some_and(|(_, (_, g))| *g)
    }

    fn trappable_entry(&self, result: &Option<Type>) -> Option<(TypeId, &(Ident, bool))> {
        let Some(Type::Id(id)) = result else {
            return None;
        };
        let TypeDefKind::Result(r) = &self.resolve.types[self.dealias(*id)].kind else {
            return None;
        };
        let Some(Type::Id(err)) = r.err else {
            return None;
        };
        let err = self.dealias(err);
        self.trappable.get(&err).map(|entry| (err, entry))
    }

    fn generate(&self) -> syn::Result<TokenStream> {
        let mut tree = Tree::default();
        // World-level types live at the root.
        let w = &self.resolve.worlds[self.world];
        let mut root_items = Vec::new();
        for item in w.imports.values().chain(w.exports.values()) {
            if let WorldItem::Type { id, .. } = item {
                root_items.push(self.define_at(*id, &[])?);
            }
        }
        tree.add(&[], root_items);
        let mut seen_types = HashSet::new();
        for (key, id, home) in &self.imports {
            let Home::Generated(path) = home else {
                continue;
            };
            let mut items = self.interface_types(*id, path, &mut seen_types)?;
            items.push(self.host_interface(key, *id, path)?);
            tree.add(path, items);
            let doc = format!(
                " Bindings for the imported interface `{}`.",
                self.resolve.name_world_key(key)
            );
            tree.doc(path, doc);
        }
        for (key, id, path) in &self.exports {
            let mut items = self.interface_types(*id, path, &mut seen_types)?;
            items.push(self.guest_interface(key, *id, path)?);
            tree.add(path, items);
            let doc = format!(
                " Bindings for the exported interface `{}`.",
                self.resolve.name_world_key(key)
            );
            tree.doc(path, doc);
        }
        for (ty, name) in &self.generated_errors {
            let home = self.type_home.get(ty).cloned().unwrap_or_default();
            let item = self.generated_error(*ty, name, &home)?;
            tree.add(&home, vec![item]);
        }
        let world = self.world_struct()?;
        let uses = &self.root_uses;
        let modules = tree.render(&[]);
        Ok(quote! {
            #(#uses)*
            #world
            #modules
        })
    }

    /// The definitions of an interface's types, each once.
    fn interface_types(
        &self,
        iface: InterfaceId,
        cur: &[Ident],
        seen: &mut HashSet<TypeId>,
    ) -> syn::Result<Vec<TokenStream>> {
        let mut items = Vec::new();
        for (_, ty) in &self.resolve.interfaces[iface].types {
            if self.type_home.get(ty).map(Vec::as_slice) != Some(cur) || !seen.insert(*ty) {
                continue;
            }
            // A type owned by another interface (`use`) is an alias there.
            debug_assert!(matches!(
                self.resolve.types[*ty].owner,
                TypeOwner::Interface(_)
            ));
            items.push(self.define_at(*ty, cur)?);
        }
        Ok(items)
    }
}

impl Gen<'_> {
    /// [`Gen::define`], with errors naming the type and its WIT location.
    fn define_at(&self, id: TypeId, cur: &[Ident]) -> syn::Result<TokenStream> {
        let def = &self.resolve.types[id];
        self.define(id, cur).map_err(|e| {
            let name = def.name.as_deref().unwrap_or("<anonymous>");
            self.at(&format!("type `{name}`"), def.span, e)
        })
    }
}

/// The generated module tree.
#[derive(Default)]
struct Tree {
    items: Vec<TokenStream>,
    doc: Option<String>,
    children: Vec<(Ident, Tree)>,
}

impl Tree {
    fn node(&mut self, path: &[Ident]) -> &mut Tree {
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        let pos = match self.children.iter().position(|(n, _)| n == first) {
            Some(p) => p,
            None => {
                self.children.push((first.clone(), Tree::default()));
                self.children.len() - 1
            }
        };
        self.children[pos].1.node(rest)
    }

    fn add(&mut self, path: &[Ident], items: Vec<TokenStream>) {
        self.node(path).items.extend(items);
    }

    fn doc(&mut self, path: &[Ident], doc: String) {
        self.node(path).doc = Some(doc);
    }

    fn render(&self, path: &[Ident]) -> TokenStream {
        let items = &self.items;
        let children = self.children.iter().map(|(name, child)| {
            let mut p = path.to_vec();
            p.push(name.clone());
            let doc = child
                .doc
                .clone()
                .unwrap_or_else(|| format!(" Bindings under `{name}`."));
            let body = child.render(&p);
            quote! {
                #[doc = #doc]
                pub mod #name { #body }
            }
        });
        quote!(#(#items)* #(#children)*)
    }
}

//! `ownership`: where each named WIT type is used, and from that which Rust
//! definitions it gets.
//!
//! A type reached (directly or through other types) from a parameter of an
//! exported function is used in a *borrowing* position: the host builds the
//! value only to hand it to the guest, so under `ownership: Borrowing` its
//! strings and lists can be `&'a str` and `&'a [T]`. A type reached from an
//! imported function (parameters or result) or from an exported function's
//! result is used in an *owning* position: the host receives or returns it,
//! so it must own its data. Under `Borrowing`, a type that holds a string or
//! list and is used only in borrowing positions is defined once, borrowing
//! (`Name<'a>`); one used in both is defined once, owned, or, with
//! `duplicate_if_necessary: true`, twice: `NameParam<'a>` and `NameResult`
//! (wasmtime's names). A type holding an `own` handle is never defined
//! borrowing only (wasmtime's rule), and a type used by no function, or
//! defined by bindings from `with`, is owned.

use super::input::Ownership;
use super::{Gen, Home};
use std::collections::{HashMap, HashSet};
use wit_parser::{Function, Handle, Type, TypeDefKind, TypeId, WorldItem};

/// Where a named type is used, and what it holds.
#[derive(Clone, Copy, Default)]
pub(crate) struct TypeInfo {
    /// Reached from an exported function's parameters.
    borrowed: bool,
    /// Reached from an imported function or an exported function's result.
    owned: bool,
    /// Holds a string or a list (so borrowing it can avoid an allocation).
    has_list: bool,
    /// Holds an `own` handle.
    has_own_handle: bool,
}

/// The Rust definitions of a named type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Defs {
    /// One owned definition, under the WIT name.
    Owned,
    /// One borrowing definition with a lifetime, `Name<'a>`.
    Borrowed,
    /// Both: `NameResult` (owned) and `NameParam<'a>` (borrowing).
    Both,
}

/// The usage of every named type in the world's functions.
pub(crate) type Usage = HashMap<TypeId, TypeInfo>;

impl Gen<'_> {
    /// Walks every function of the world, recording where each named type is used.
    pub(crate) fn analyze_usage(&self) -> Usage {
        let mut usage = Usage::new();
        let w = &self.resolve.worlds[self.world];
        let items = w
            .imports
            .values()
            .map(|i| (true, i))
            .chain(w.exports.values().map(|i| (false, i)));
        for (imported, item) in items {
            let funcs: Vec<&Function> = match item {
                WorldItem::Function(f) => vec![f],
                WorldItem::Interface { id, .. } => {
                    self.resolve.interfaces[*id].functions.values().collect()
                }
                WorldItem::Type { .. } => Vec::new(),
            };
            for f in funcs {
                for p in &f.params {
                    self.mark(&p.ty, imported, !imported, &mut usage, &mut HashSet::new());
                }
                if let Some(r) = &f.result {
                    self.mark(r, true, false, &mut usage, &mut HashSet::new());
                }
            }
        }
        usage
    }

    /// Marks every named type `ty` reaches as used owned and/or borrowed.
    fn mark(
        &self,
        ty: &Type,
        owned: bool,
        borrowed: bool,
        usage: &mut Usage,
        seen: &mut HashSet<TypeId>,
    ) {
        let Type::Id(id) = ty else { return };
        if !seen.insert(*id) {
            return;
        }
        let def = &self.resolve.types[*id];
        if def.name.is_some() {
            let info = usage.entry(*id).or_insert_with(|| TypeInfo {
                has_list: self.has_list(ty),
                has_own_handle: self.has_own_handle(ty),
                ..TypeInfo::default()
            });
            info.owned |= owned;
            info.borrowed |= borrowed;
        }
        let mut go = |t: &Type| self.mark(t, owned, borrowed, usage, seen);
        match &def.kind {
            TypeDefKind::Record(r) => r.fields.iter().for_each(|f| go(&f.ty)),
            TypeDefKind::Variant(v) => v.cases.iter().filter_map(|c| c.ty.as_ref()).for_each(go),
            TypeDefKind::Option(t) | TypeDefKind::List(t) | TypeDefKind::Type(t) => go(t),
            TypeDefKind::Result(r) => [&r.ok, &r.err].into_iter().flatten().for_each(go),
            TypeDefKind::Tuple(t) => t.types.iter().for_each(go),
            _ => {}
        }
    }

    /// Whether `ty` holds a string or a list.
    fn has_list(&self, ty: &Type) -> bool {
        self.any_part(ty, &|t| {
            matches!(t, Type::String)
                || matches!(t, Type::Id(id) if matches!(self.resolve.types[*id].kind, TypeDefKind::List(_)))
        })
    }

    /// Whether `ty` holds an `own` handle.
    fn has_own_handle(&self, ty: &Type) -> bool {
        self.any_part(ty, &|t| {
            matches!(t, Type::Id(id) if matches!(self.resolve.types[*id].kind, TypeDefKind::Handle(Handle::Own(_))))
        })
    }

    /// Whether `pred` holds for `ty` or any type inside it.
    fn any_part(&self, ty: &Type, pred: &dyn Fn(&Type) -> bool) -> bool {
        if pred(ty) {
            return true;
        }
        let Type::Id(id) = ty else { return false };
        let mut parts: Vec<&Type> = Vec::new();
        match &self.resolve.types[*id].kind {
            TypeDefKind::Record(r) => parts.extend(r.fields.iter().map(|f| &f.ty)),
            TypeDefKind::Variant(v) => parts.extend(v.cases.iter().filter_map(|c| c.ty.as_ref())),
            TypeDefKind::Option(t) | TypeDefKind::List(t) | TypeDefKind::Type(t) => parts.push(t),
            TypeDefKind::Result(r) => parts.extend([&r.ok, &r.err].into_iter().flatten()),
            TypeDefKind::Tuple(t) => parts.extend(&t.types),
            _ => {}
        }
        parts.into_iter().any(|t| self.any_part(t, pred))
    }

    /// The definitions named type `id` gets.
    pub(crate) fn defs(&self, id: TypeId) -> Defs {
        let Ownership::Borrowing {
            duplicate_if_necessary,
        } = self.opts.ownership
        else {
            return Defs::Owned;
        };
        let Some(info) = self.usage.get(&id) else {
            return Defs::Owned;
        };
        if !info.has_list || !info.borrowed || self.is_remapped(id) {
            return Defs::Owned;
        }
        match (info.owned, duplicate_if_necessary) {
            (true, true) => Defs::Both,
            (true, false) => Defs::Owned,
            (false, _) if info.has_own_handle => Defs::Owned,
            (false, _) => Defs::Borrowed,
        }
    }

    /// Whether a value of named type `id` in a borrowing position is passed
    /// by reference to its owned definition (it holds a string or a list,
    /// and has no borrowing definition).
    pub(crate) fn by_reference(&self, id: TypeId) -> bool {
        self.defs(id) == Defs::Owned && self.has_list(&Type::Id(id))
    }

    /// Whether `id` is defined by bindings generated elsewhere (`with`).
    fn is_remapped(&self, id: TypeId) -> bool {
        let wit_parser::TypeOwner::Interface(iface) = self.resolve.types[id].owner else {
            return false;
        };
        self.imports
            .iter()
            .any(|(_, i, home)| *i == iface && matches!(home, Home::Remapped(_)))
    }
}

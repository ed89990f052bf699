//! The engine's type registry: engine-wide ids for every type of every module
//! (and every host signature), canonicalised by recursion group.
//!
//! WebAssembly 3.0 type equivalence is *iso-recursive*: two recursion groups
//! are the same when they are structurally identical, with references to the
//! group's own members compared by position. The registry keys a group by its
//! list of sub types in which a reference into the group is
//! `TypeIndex::RecGroup(i)` and a reference to an earlier group is that
//! group's engine id (`TypeIndex::Engine`); equal keys get the same ids. Each
//! registered type is stored with every reference resolved to an engine id,
//! and with its declared supertype, from which subtyping of concrete types is
//! decided. A host `FuncType` is a group of one `final` function type without
//! supertype, as `(type (func …))` is in the text format, so host and wasm
//! signatures share ids. Types are never unregistered while the engine lives.

use anyhow::{bail, Result};
use std::collections::HashMap;
use tern_environ::{TypeIndex, WasmFuncType, WasmSubType};

/// Every type the engine has seen (see the module doc).
#[derive(Default)]
pub(crate) struct TypeRegistry {
    /// Group key → engine id of the group's first type.
    groups: HashMap<Vec<WasmSubType>, u32>,
    /// By engine id: the type with engine ids throughout.
    types: Vec<WasmSubType>,
    /// The ids of groups of one `final` function type without supertype (all
    /// types without GC, and every host signature), by signature: looked up
    /// without building a group key, so host functions stay as cheap to
    /// create as before GC.
    signatures: HashMap<WasmFuncType, u32>,
}

impl TypeRegistry {
    /// The engine id of the first type of the group `key` (in key form:
    /// group-relative and engine indices only), registering it on first use.
    pub(crate) fn intern_group(&mut self, key: Vec<WasmSubType>) -> u32 {
        if let Some(first) = self.groups.get(&key) {
            return *first;
        }
        let first = self.types.len() as u32;
        for ty in &key {
            self.types.push(ty.map_indices(|i| match i {
                TypeIndex::RecGroup(j) => TypeIndex::Engine(first + j),
                other => other,
            }));
        }
        if let [only] = key.as_slice() {
            if let (true, None, Some(f)) = (only.is_final, only.supertype, only.as_func()) {
                self.signatures.insert(f.clone(), first);
            }
        }
        self.groups.insert(key, first);
        first
    }

    /// The id of signature `ty` as a group of one `final` function type, if
    /// registered (the fast path of `Engine::signature_id`).
    pub(crate) fn find_signature(&self, ty: &WasmFuncType) -> Option<u32> {
        self.signatures.get(ty).copied()
    }

    /// The lookup-only twin of [`Self::intern_group`].
    pub(crate) fn find_group(&self, key: &[WasmSubType]) -> Option<u32> {
        self.groups.get(key).copied()
    }

    /// The type registered under `id`.
    pub(crate) fn get(&self, id: u32) -> Option<&WasmSubType> {
        self.types.get(id as usize)
    }

    /// The declared supertype of concrete type `t`, if any.
    pub(crate) fn supertype(&self, t: TypeIndex) -> Option<TypeIndex> {
        match t {
            TypeIndex::Engine(id) => self.get(id)?.supertype,
            _ => None,
        }
    }

    /// Whether engine type `sub` is `sup` or declares it (transitively) as a supertype.
    pub(crate) fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        let mut cur = Some(TypeIndex::Engine(sub));
        while let Some(t) = cur {
            if t == TypeIndex::Engine(sup) {
                return true;
            }
            cur = self.supertype(t);
        }
        false
    }
}

/// The key of the host signature `ty` (already in engine ids): a group of one
/// `final` function type.
pub(crate) fn signature_key(ty: &WasmFuncType) -> Vec<WasmSubType> {
    vec![WasmSubType::func(ty.clone())]
}

/// The registry key of the recursion group `types[start..start + len]` of a
/// module whose earlier types have engine ids `ids`.
///
/// # Errors
/// Fails if a type names a later group's type (validation rules that out).
pub(crate) fn group_key(
    types: &[WasmSubType],
    ids: &[u32],
    start: u32,
    len: u32,
) -> Result<Vec<WasmSubType>> {
    let mut bad = None;
    let key = types[start as usize..(start + len) as usize]
        .iter()
        .map(|ty| {
            ty.map_indices(|i| match i {
                TypeIndex::Module(i) if i >= start && i < start + len => {
                    TypeIndex::RecGroup(i - start)
                }
                TypeIndex::Module(i) => match ids.get(i as usize) {
                    Some(id) => TypeIndex::Engine(*id),
                    None => {
                        bad = Some(i);
                        TypeIndex::Module(i)
                    }
                },
                other => other,
            })
        })
        .collect();
    if let Some(i) = bad {
        bail!("type group at {start} refers to type {i}, which is defined after it");
    }
    Ok(key)
}

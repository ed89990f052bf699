//! Resource handle tables and the canonical ABI's rules over them.
//!
//! Every inlined component instance has a table of handles (index 0 is never
//! used); the host has one more, behind [`super::ResourceAny`]. A slot is an
//! `own` (with the number of borrows currently lent out of it) or a `borrow`
//! (with the call scope it was created in). The rules, each a
//! [`super::ComponentTrap`] naming it:
//! - an owned handle with outstanding borrows cannot be dropped or moved out
//!   (`cannot remove owned resource while borrowed`);
//! - a borrow handed to a guest callee must be dropped before the call returns
//!   (`borrow handles still remain at the end of the call`);
//! - a handle is used only at its own resource type (`handle index N used
//!   with the wrong type, …`) and only while it exists (`unknown handle index N`).
//!
//! A call across a component boundary opens a [`Scope`]: borrows created in
//! the callee count against it, and own handles lent for the call are
//! released when it closes. Borrows handed to the host (as `ResourceAny`)
//! end with the scope too.
//!
//! The state lives per store in a `Mutex` so that a lift, which reads memory
//! through a shared borrow of the store, can still move handles; nothing
//! holds the lock across a call into wasm.

use super::resources::{poisoned, ResourceType};
use super::{trap, ComponentTrapKind};
use anyhow::Result;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Which table a handle lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TableId {
    /// The host's table (handles behind `ResourceAny`).
    Host,
    /// Component instance `ci` of the store, inlined instance `rt`.
    Guest { ci: usize, rt: u32 },
}

/// One slot of a handle table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    Free,
    Own {
        ty: ResourceType,
        rep: u32,
        lends: u32,
    },
    Borrow {
        ty: ResourceType,
        rep: u32,
        scope: usize,
    },
}

impl Slot {
    fn ty(&self) -> Option<ResourceType> {
        match self {
            Slot::Free => None,
            Slot::Own { ty, .. } | Slot::Borrow { ty, .. } => Some(*ty),
        }
    }
}

/// A handle table: slots plus a free list. Each slot has a generation that
/// changes when it is freed, so a stale host handle is never confused with a
/// new one.
#[derive(Debug)]
pub(crate) struct Table {
    slots: Vec<(Slot, u32)>,
    free: Vec<u32>,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            slots: vec![(Slot::Free, 0)],
            free: Vec::new(),
        }
    }
}

/// The most handles one table may hold (the ABI reserves the top bits).
const MAX_HANDLES: usize = 1 << 28;

impl Table {
    fn insert(&mut self, slot: Slot) -> Result<(u32, u32)> {
        if let Some(i) = self.free.pop() {
            let entry = &mut self.slots[i as usize];
            entry.0 = slot;
            return Ok((i, entry.1));
        }
        if self.slots.len() >= MAX_HANDLES {
            return trap(
                ComponentTrapKind::BadHandle,
                "resource handle table is full",
            );
        }
        self.slots.push((slot, 0));
        Ok((self.slots.len() as u32 - 1, 0))
    }

    fn get(&self, index: u32) -> Result<Slot> {
        match self.slots.get(index as usize) {
            Some((slot, _)) if !matches!(slot, Slot::Free) => Ok(*slot),
            _ => unknown_handle(index),
        }
    }

    fn generation(&self, index: u32) -> Option<u32> {
        self.slots.get(index as usize).map(|s| s.1)
    }

    fn remove(&mut self, index: u32) {
        if let Some(entry) = self.slots.get_mut(index as usize) {
            entry.0 = Slot::Free;
            entry.1 = entry.1.wrapping_add(1);
            self.free.push(index);
        }
    }

    fn set(&mut self, index: u32, slot: Slot) {
        if let Some(entry) = self.slots.get_mut(index as usize) {
            entry.0 = slot;
        }
    }
}

fn unknown_handle<T>(index: u32) -> Result<T> {
    trap(
        ComponentTrapKind::BadHandle,
        format!("unknown handle index {index}"),
    )
}

fn wrong_type<T>(index: u32, expected: ResourceType, found: ResourceType) -> Result<T> {
    let what = |t: ResourceType| {
        if t.is_host() {
            "host resource"
        } else {
            "guest-defined resource"
        }
    };
    let found_desc = if expected.is_host() == found.is_host() {
        format!("a different {}", what(found))
    } else {
        what(found).to_string()
    };
    trap(
        ComponentTrapKind::BadHandle,
        format!(
            "handle index {index} used with the wrong type, expected {} but found {found_desc}",
            what(expected)
        ),
    )
}

fn no_scope() -> anyhow::Error {
    anyhow::anyhow!("an adapter moved a handle outside its call's scope (a Tern bug)")
}

fn still_borrowed<T>() -> Result<T> {
    trap(
        ComponentTrapKind::ResourceBorrowed,
        "cannot remove owned resource while borrowed",
    )
}

/// What a resource type needs at run time.
#[derive(Debug, Clone)]
pub(crate) struct TypeInfo {
    /// The inlined instance that implements it (`None` for host resources).
    pub(crate) implementer: Option<TableId>,
    /// Its destructor, called with the rep when the last own handle goes.
    pub(crate) dtor: Option<crate::Func>,
}

/// The borrows and lends of one call across a component boundary.
#[derive(Debug, Default)]
struct Scope {
    /// Borrow handles created in the callee's table and not dropped yet.
    borrows: u32,
    /// Own handles lent for the call.
    lends: Vec<(TableId, u32)>,
    /// Borrows handed to the host, removed when the call ends.
    host_borrows: Vec<u32>,
    /// Handles a compiled adapter lifted and has not lowered yet, in order.
    staged: VecDeque<(ResourceType, u32)>,
}

/// Every handle table of a store, the scopes of running calls, and the
/// runtime information of every resource type in use.
#[derive(Debug, Default)]
pub(crate) struct HandleState {
    host: Table,
    guest: HashMap<(usize, u32), Table>,
    scopes: Vec<Scope>,
    pub(crate) types: HashMap<ResourceType, TypeInfo>,
}

/// A store's [`HandleState`], made on first use: a store that never meets a
/// component pays neither for the tables nor for their room in the store
/// (which keeps `Store::new` one small allocation).
#[derive(Debug, Default)]
pub(crate) struct StoreHandles(Mutex<Option<Box<HandleState>>>);

impl StoreHandles {
    /// The state, for a caller holding the store exclusively.
    ///
    /// # Errors
    /// Fails when a panic poisoned the lock.
    pub(crate) fn get_mut(&mut self) -> Result<&mut HandleState> {
        let state = self.0.get_mut().map_err(poisoned)?;
        Ok(state.get_or_insert_with(Box::default))
    }

    /// Runs `f` on the state, under the lock.
    ///
    /// # Errors
    /// Fails when a panic poisoned the lock, or as `f` does.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut HandleState) -> Result<R>) -> Result<R> {
        let mut state = self.0.lock().map_err(poisoned)?;
        f(state.get_or_insert_with(Box::default))
    }
}

/// A removed own handle: its rep and the destructor to run (outside the lock).
pub(crate) struct Dropped {
    pub(crate) rep: u32,
    pub(crate) dtor: Option<crate::Func>,
}

impl HandleState {
    fn table(&mut self, id: TableId) -> &mut Table {
        match id {
            TableId::Host => &mut self.host,
            TableId::Guest { ci, rt } => self.guest.entry((ci, rt)).or_default(),
        }
    }

    fn check_type(slot: Slot, index: u32, expected: ResourceType) -> Result<Slot> {
        match slot.ty() {
            Some(ty) if ty == expected => Ok(slot),
            Some(ty) => wrong_type(index, expected, ty),
            None => unknown_handle(index),
        }
    }

    /// Opens the scope of a call; returns its depth for [`Self::close_scope`].
    pub(crate) fn open_scope(&mut self) -> usize {
        self.scopes.push(Scope::default());
        self.scopes.len() - 1
    }

    /// Closes every scope from `depth` up: releases lends and host borrows.
    /// With `check`, traps when the callee left borrow handles behind.
    pub(crate) fn close_scope(&mut self, depth: usize, check: bool) -> Result<()> {
        let mut remaining = 0;
        while self.scopes.len() > depth {
            let Some(scope) = self.scopes.pop() else {
                break;
            };
            remaining += scope.borrows;
            for (table, index) in scope.lends {
                let t = self.table(table);
                if let Ok(Slot::Own { ty, rep, lends }) = t.get(index) {
                    t.set(
                        index,
                        Slot::Own {
                            ty,
                            rep,
                            lends: lends.saturating_sub(1),
                        },
                    );
                }
            }
            for index in scope.host_borrows {
                if let Ok(Slot::Borrow { .. }) = self.host.get(index) {
                    self.host.remove(index);
                }
            }
        }
        if check && remaining > 0 {
            return trap(
                ComponentTrapKind::ResourceBorrowed,
                "borrow handles still remain at the end of the call",
            );
        }
        Ok(())
    }

    /// Keeps the rep of a handle a compiled adapter lifted in the call's
    /// scope `depth`, for [`Self::unstage`].
    pub(crate) fn stage(&mut self, depth: usize, ty: ResourceType, rep: u32) -> Result<()> {
        let scope = self.scopes.get_mut(depth).ok_or_else(no_scope)?;
        scope.staged.push_back((ty, rep));
        Ok(())
    }

    /// The oldest handle [`Self::stage`]d in scope `depth`.
    pub(crate) fn unstage(&mut self, depth: usize) -> Result<(ResourceType, u32)> {
        let scope = self.scopes.get_mut(depth).ok_or_else(no_scope)?;
        scope.staged.pop_front().ok_or_else(|| {
            anyhow::anyhow!("an adapter lowered a handle it did not lift (a Tern bug)")
        })
    }

    /// `resource.new`: a new own handle of `ty` in `table`.
    pub(crate) fn new_own(&mut self, table: TableId, ty: ResourceType, rep: u32) -> Result<u32> {
        Ok(self.table(table).insert(Slot::Own { ty, rep, lends: 0 })?.0)
    }

    /// A new own handle in the host table, with its generation.
    pub(crate) fn new_host_own(&mut self, ty: ResourceType, rep: u32) -> Result<(u32, u32)> {
        self.host.insert(Slot::Own { ty, rep, lends: 0 })
    }

    /// `resource.rep`: the rep of handle `index` of type `ty`.
    pub(crate) fn rep(&mut self, table: TableId, index: u32, ty: ResourceType) -> Result<u32> {
        let slot = Self::check_type(self.table(table).get(index)?, index, ty)?;
        match slot {
            Slot::Own { rep, .. } | Slot::Borrow { rep, .. } => Ok(rep),
            Slot::Free => unknown_handle(index),
        }
    }

    /// Removes handle `index` of type `ty`: `resource.drop`, or moving an own
    /// out. For an own handle, returns what its destructor needs.
    pub(crate) fn remove(
        &mut self,
        table: TableId,
        index: u32,
        ty: ResourceType,
    ) -> Result<Option<Dropped>> {
        let slot = Self::check_type(self.table(table).get(index)?, index, ty)?;
        match slot {
            Slot::Own { lends, .. } if lends > 0 => still_borrowed(),
            Slot::Own { rep, ty, .. } => {
                self.table(table).remove(index);
                let dtor = self.types.get(&ty).and_then(|t| t.dtor);
                Ok(Some(Dropped { rep, dtor }))
            }
            Slot::Borrow { scope, .. } => {
                self.table(table).remove(index);
                if table != TableId::Host {
                    if let Some(s) = self.scopes.get_mut(scope) {
                        s.borrows = s.borrows.saturating_sub(1);
                    }
                }
                Ok(None)
            }
            Slot::Free => unknown_handle(index),
        }
    }

    /// Lifts an `own` out of `table`: the handle is removed and its rep returned.
    pub(crate) fn lift_own(&mut self, table: TableId, index: u32, ty: ResourceType) -> Result<u32> {
        let slot = Self::check_type(self.table(table).get(index)?, index, ty)?;
        match slot {
            Slot::Own { lends, .. } if lends > 0 => still_borrowed(),
            Slot::Own { rep, .. } => {
                self.table(table).remove(index);
                Ok(rep)
            }
            Slot::Borrow { .. } => trap(
                ComponentTrapKind::BadHandle,
                format!("handle index {index} is a borrow, but an owned handle was expected"),
            ),
            Slot::Free => unknown_handle(index),
        }
    }

    /// Lifts a `borrow` from `table` for the current call: an own handle is
    /// lent until the call's scope closes. Returns the rep.
    pub(crate) fn lift_borrow(
        &mut self,
        table: TableId,
        index: u32,
        ty: ResourceType,
    ) -> Result<u32> {
        let slot = Self::check_type(self.table(table).get(index)?, index, ty)?;
        match slot {
            Slot::Own { ty, rep, lends } => {
                self.table(table).set(
                    index,
                    Slot::Own {
                        ty,
                        rep,
                        lends: lends + 1,
                    },
                );
                if let Some(scope) = self.scopes.last_mut() {
                    scope.lends.push((table, index));
                }
                Ok(rep)
            }
            Slot::Borrow { rep, .. } => Ok(rep),
            Slot::Free => unknown_handle(index),
        }
    }

    /// Lowers a `borrow` of `ty` into `table` for the current call: the rep
    /// itself when `table` implements `ty`, else a new borrow handle that the
    /// callee must drop before returning.
    pub(crate) fn lower_borrow(
        &mut self,
        table: TableId,
        ty: ResourceType,
        rep: u32,
    ) -> Result<u32> {
        if self.types.get(&ty).and_then(|t| t.implementer) == Some(table) {
            return Ok(rep);
        }
        let scope = self.scopes.len().saturating_sub(1);
        let (index, _) = self.table(table).insert(Slot::Borrow { ty, rep, scope })?;
        if table != TableId::Host {
            if let Some(s) = self.scopes.get_mut(scope) {
                s.borrows += 1;
            }
        } else if let Some(s) = self.scopes.get_mut(scope) {
            s.host_borrows.push(index);
        }
        Ok(index)
    }

    /// A borrow handle in the host table (a `ResourceAny` the host gets as a
    /// parameter), valid until the current scope closes.
    pub(crate) fn new_host_borrow(&mut self, ty: ResourceType, rep: u32) -> Result<(u32, u32)> {
        let scope = self.scopes.len().saturating_sub(1);
        let (index, generation) = self.host.insert(Slot::Borrow { ty, rep, scope })?;
        if let Some(s) = self.scopes.get_mut(scope) {
            s.host_borrows.push(index);
        }
        Ok((index, generation))
    }

    /// The slot behind a host handle, if it is still the same one.
    pub(crate) fn host_slot(&self, index: u32, generation: u32) -> Result<Slot> {
        match self.host.generation(index) {
            Some(g) if g == generation => self.host.get(index),
            _ => unknown_handle(index),
        }
    }
}

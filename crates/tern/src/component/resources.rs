//! Resources on the public API, in later wasmtime's shapes: [`ResourceType`]
//! (a host type, or a type a component instance defined — distinct for every
//! instantiation), [`Resource<T>`] (a typed host resource: a rep, owned or
//! borrowed) and [`ResourceAny`] (any resource the host holds, as a handle
//! in the store's host table); plus how both cross the boundary (the lift
//! and lower helpers the `Val` and typed paths share).
//!
//! A handle crossing into a component lands in its inlined instance's table
//! (`handles.rs`); one coming out is removed from it (`own`) or lent for the
//! call (`borrow`).

use super::abi::{LiftContext, LowerContext};
use super::handles::TableId;
use super::typed::{type_error, ComponentType, Lift, Lower};
use super::{trap, ComponentTrapKind};
use crate::store::StoreInner;
use crate::{AsContextMut, ValRaw};
use anyhow::{bail, Result};
use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use tern_environ::component::{ComponentTypes, InterfaceType, TypeDef};

/// The type of a resource: a host type (`ResourceType::host::<T>()`) or a
/// resource defined by one instantiation of a component.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceType(Kind);

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Host(TypeId),
    Guest {
        store: u64,
        instance: usize,
        index: u32,
    },
}

impl ResourceType {
    /// The resource type of host type `T` (the same for every component and
    /// store).
    pub fn host<T: 'static>() -> Self {
        Self(Kind::Host(TypeId::of::<T>()))
    }

    /// Resource number `index` of component instance `instance` of `store`.
    pub(crate) fn guest(store: u64, instance: usize, index: u32) -> Self {
        Self(Kind::Guest {
            store,
            instance,
            index,
        })
    }

    pub(crate) fn is_host(&self) -> bool {
        matches!(self.0, Kind::Host(_))
    }
}

impl fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Kind::Host(t) => write!(f, "ResourceType::host({t:?})"),
            Kind::Guest {
                instance, index, ..
            } => write!(
                f,
                "ResourceType::guest(instance {instance}, resource {index})"
            ),
        }
    }
}

/// A host-defined resource of type `T`: its representation (`rep`, a `u32`
/// the host chooses, typically an index into a [`super::ResourceTable`])
/// and whether the holder owns it or only borrows it for a call.
pub struct Resource<T> {
    rep: u32,
    owned: bool,
    _marker: PhantomData<fn() -> T>,
}

impl<T: 'static> Resource<T> {
    /// An owned resource with representation `rep`.
    pub fn new_own(rep: u32) -> Self {
        Self {
            rep,
            owned: true,
            _marker: PhantomData,
        }
    }

    /// A borrowed resource with representation `rep`.
    pub fn new_borrow(rep: u32) -> Self {
        Self {
            rep,
            owned: false,
            _marker: PhantomData,
        }
    }

    /// The representation.
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// Whether this is an owned (not borrowed) resource.
    pub fn owned(&self) -> bool {
        self.owned
    }

    /// This resource as a [`ResourceAny`] of `store` (a handle in its host
    /// table), for the dynamic API ([`super::Val::Resource`]). A borrowed one
    /// is valid until the current host call returns.
    ///
    /// # Errors
    /// Fails when the store's host table is full.
    pub fn try_into_resource_any(self, mut store: impl AsContextMut) -> Result<ResourceAny> {
        let store = store.as_context_mut().0;
        let id = store.opaque.id();
        let handles = store.opaque.components.handles_mut()?;
        let ty = ResourceType::host::<T>();
        let (index, generation) = if self.owned {
            handles.new_host_own(ty, self.rep)?
        } else {
            handles.new_host_borrow(ty, self.rep)?
        };
        Ok(ResourceAny {
            store: id,
            index,
            generation,
            ty,
            owned: self.owned,
        })
    }
}

impl<T> fmt::Debug for Resource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("rep", &self.rep)
            .field("owned", &self.owned)
            .finish()
    }
}

/// A resource of any type held by the host: a handle in its store's host
/// table. An owned one should be dropped with [`ResourceAny::resource_drop`]
/// (which runs the destructor) or passed back into a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceAny {
    store: u64,
    index: u32,
    generation: u32,
    ty: ResourceType,
    owned: bool,
}

impl ResourceAny {
    /// The resource's type.
    pub fn ty(&self) -> ResourceType {
        self.ty
    }

    /// Whether the host owns this resource (else it is borrowed for a call).
    pub fn owned(&self) -> bool {
        self.owned
    }

    /// This resource as a typed [`Resource<T>`]; an owned one leaves the host
    /// table (its destructor does not run: the host now owns the rep).
    ///
    /// # Errors
    /// Fails when the resource is not of host type `T`, when the handle is
    /// stale or lent out, or when `store` is not the resource's store.
    pub fn try_into_resource<T: 'static>(
        self,
        mut store: impl AsContextMut,
    ) -> Result<Resource<T>> {
        let store = store.as_context_mut().0;
        if store.opaque.id() != self.store {
            bail!("resource used with the wrong store");
        }
        if self.ty != ResourceType::host::<T>() {
            bail!("resource is not of the requested host type");
        }
        let handles = store.opaque.components.handles_mut()?;
        handles.host_slot(self.index, self.generation)?;
        if self.owned {
            let rep = handles.lift_own(TableId::Host, self.index, self.ty)?;
            Ok(Resource::new_own(rep))
        } else {
            let rep = handles.rep(TableId::Host, self.index, self.ty)?;
            Ok(Resource::new_borrow(rep))
        }
    }

    /// Drops the resource: an owned one runs its destructor (a guest's
    /// `dtor`, or the host destructor given to
    /// [`super::LinkerInstance::resource`]); a borrowed one just ends.
    ///
    /// # Errors
    /// Fails when the handle is stale (already dropped, or a borrow whose
    /// call ended), when an owned resource is still lent out, when the
    /// destructor traps, or when `store` is not the resource's store.
    pub fn resource_drop(self, mut store: impl AsContextMut) -> Result<()> {
        let store = store.as_context_mut().0;
        if store.opaque.id() != self.store {
            bail!("resource used with the wrong store");
        }
        let handles = store.opaque.components.handles_mut()?;
        handles.host_slot(self.index, self.generation)?;
        let implementer = handles.types.get(&self.ty).and_then(|t| t.implementer);
        let dropped = handles.remove(TableId::Host, self.index, self.ty)?;
        if let Some(d) = dropped {
            run_dtor(store, implementer, TableId::Host, d.dtor, d.rep)?;
        }
        Ok(())
    }
}

/// Calls a destructor with `rep` on behalf of `caller`. A guest destructor
/// called from outside its implementing instance is a call into it: the
/// instance must be enterable, and is not while the destructor runs.
pub(crate) fn run_dtor<T>(
    store: &mut StoreInner<T>,
    implementer: Option<TableId>,
    caller: TableId,
    dtor: Option<crate::Func>,
    rep: u32,
) -> Result<()> {
    let Some(f) = dtor else {
        return Ok(());
    };
    let enter = match implementer {
        Some(TableId::Guest { ci, rt }) if implementer != Some(caller) => Some((ci, rt)),
        _ => None,
    };
    if let Some((ci, rt)) = enter {
        let vmctx = &store.opaque.components.instances[ci].vmctx;
        if !vmctx.may_enter(rt) {
            return trap(
                ComponentTrapKind::CannotEnter,
                "cannot enter component instance",
            );
        }
        vmctx.set_may_enter(rt, false);
    }
    f.call_raw(store, &mut [ValRaw::i32(rep as i32)])?;
    if let Some((ci, rt)) = enter {
        store.opaque.components.instances[ci]
            .vmctx
            .set_may_enter(rt, true);
    }
    Ok(())
}

pub(crate) fn poisoned<E>(_: E) -> anyhow::Error {
    anyhow::anyhow!("a resource handle table was poisoned by an earlier panic")
}

/// Whether `ty` is `own<R>` (`Some(true)`) or `borrow<R>` (`Some(false)`), and R.
fn handle_kind(types: &ComponentTypes, ty: InterfaceType) -> Option<(bool, u32)> {
    match types.def(ty)? {
        TypeDef::Own(r) => Some((true, *r)),
        TypeDef::Borrow(r) => Some((false, *r)),
        _ => None,
    }
}

/// Whether handle type `ty` is owned, and the runtime resource type it names
/// in the instance `resources` describes.
fn resource_side(
    types: &ComponentTypes,
    resources: &super::abi::ResourceCx,
    ty: InterfaceType,
) -> Result<(bool, ResourceType)> {
    let (own, r) = handle_kind(types, ty)
        .ok_or_else(|| anyhow::anyhow!("type `{}` is not a handle", types.display(ty)))?;
    let rt = resources.types.get(r as usize).copied().flatten();
    let rt = rt.ok_or_else(|| anyhow::anyhow!("resource {r} has no runtime type"))?;
    Ok((own, rt))
}

impl LiftContext<'_> {
    fn resource_side(&self, ty: InterfaceType) -> Result<(bool, ResourceType)> {
        resource_side(self.types, &self.resources, ty)
    }

    /// Lifts handle `index` of type `ty` from the component into the host table.
    pub(crate) fn lift_resource_any(&self, ty: InterfaceType, index: u32) -> Result<ResourceAny> {
        let (own, rty) = self.resource_side(ty)?;
        let table = self.resources.table;
        let (slot, generation) = self.handles.with(|handles| {
            if own {
                let rep = handles.lift_own(table, index, rty)?;
                handles.new_host_own(rty, rep)
            } else {
                let rep = handles.lift_borrow(table, index, rty)?;
                handles.new_host_borrow(rty, rep)
            }
        })?;
        Ok(ResourceAny {
            store: self.resources.store,
            index: slot,
            generation,
            ty: rty,
            owned: own,
        })
    }

    /// Lifts handle `index` of type `ty` as a rep of host type `expected`.
    fn lift_host(
        &self,
        ty: InterfaceType,
        index: u32,
        expected: ResourceType,
    ) -> Result<(u32, bool)> {
        let (own, rty) = self.resource_side(ty)?;
        if rty != expected {
            bail!("resource type mismatch: the component's type is not the host type expected");
        }
        let table = self.resources.table;
        let rep = self.handles.with(|handles| {
            if own {
                handles.lift_own(table, index, rty)
            } else {
                handles.lift_borrow(table, index, rty)
            }
        })?;
        Ok((rep, own))
    }
}

impl LowerContext<'_> {
    fn resource_side(&self, ty: InterfaceType) -> Result<(bool, ResourceType)> {
        resource_side(self.types, &self.resources, ty)
    }

    /// Lowers a host-held resource into the component as a handle of type `ty`.
    pub(crate) fn lower_resource_any(&mut self, ty: InterfaceType, r: &ResourceAny) -> Result<u32> {
        let (own, rty) = self.resource_side(ty)?;
        if r.store != self.resources.store {
            bail!("resource used with the wrong store");
        }
        let table = self.resources.table;
        let handles = self.guest.handles()?;
        handles.host_slot(r.index, r.generation)?;
        if own {
            if !r.owned {
                return trap(
                    ComponentTrapKind::BadHandle,
                    "cannot lower a borrowed resource as an owned one",
                );
            }
            let rep = handles.lift_own(TableId::Host, r.index, rty)?;
            handles.new_own(table, rty, rep)
        } else {
            let rep = handles.lift_borrow(TableId::Host, r.index, rty)?;
            handles.lower_borrow(table, rty, rep)
        }
    }

    /// Lowers a host resource of type `expected` with `rep` as a handle of type `ty`.
    fn lower_host(
        &mut self,
        ty: InterfaceType,
        expected: ResourceType,
        rep: u32,
        owned: bool,
    ) -> Result<u32> {
        let (own, rty) = self.resource_side(ty)?;
        if rty != expected {
            bail!("resource type mismatch: the component's type is not the host type given");
        }
        let table = self.resources.table;
        let handles = self.guest.handles()?;
        if own {
            if !owned {
                return trap(
                    ComponentTrapKind::BadHandle,
                    "cannot lower a borrowed resource as an owned one",
                );
            }
            handles.new_own(table, rty, rep)
        } else {
            handles.lower_borrow(table, rty, rep)
        }
    }
}

fn typecheck_handle(ty: InterfaceType, types: &ComponentTypes, what: &str) -> Result<()> {
    match handle_kind(types, ty) {
        Some(_) => Ok(()),
        None => Err(type_error(types, ty, what)),
    }
}

impl<T: 'static> ComponentType for Resource<T> {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        typecheck_handle(ty, types, "own or borrow")
    }
    fn describe() -> String {
        "resource".to_string()
    }
}

impl<T: 'static> Lower for Resource<T> {
    fn lower(
        &self,
        cx: &mut LowerContext<'_>,
        ty: InterfaceType,
        dst: &mut super::abi::FlatDst,
    ) -> Result<()> {
        let h = cx.lower_host(ty, ResourceType::host::<T>(), self.rep, self.owned)?;
        dst.push_u32(h);
        Ok(())
    }
    fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()> {
        let h = cx.lower_host(ty, ResourceType::host::<T>(), self.rep, self.owned)?;
        cx.write(offset, &h.to_le_bytes())
    }
}

impl<T: 'static> Lift for Resource<T> {
    fn lift(
        cx: &LiftContext<'_>,
        ty: InterfaceType,
        src: &mut super::abi::FlatSrc<'_>,
    ) -> Result<Self> {
        let index = src.next_u32()?;
        let (rep, owned) = cx.lift_host(ty, index, ResourceType::host::<T>())?;
        Ok(Self {
            rep,
            owned,
            _marker: PhantomData,
        })
    }
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
        let index = cx.load_u32(offset)?;
        let (rep, owned) = cx.lift_host(ty, index, ResourceType::host::<T>())?;
        Ok(Self {
            rep,
            owned,
            _marker: PhantomData,
        })
    }
}

impl ComponentType for ResourceAny {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        typecheck_handle(ty, types, "own or borrow")
    }
    fn describe() -> String {
        "resource".to_string()
    }
}

impl Lower for ResourceAny {
    fn lower(
        &self,
        cx: &mut LowerContext<'_>,
        ty: InterfaceType,
        dst: &mut super::abi::FlatDst,
    ) -> Result<()> {
        let h = cx.lower_resource_any(ty, self)?;
        dst.push_u32(h);
        Ok(())
    }
    fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()> {
        let h = cx.lower_resource_any(ty, self)?;
        cx.write(offset, &h.to_le_bytes())
    }
}

impl Lift for ResourceAny {
    fn lift(
        cx: &LiftContext<'_>,
        ty: InterfaceType,
        src: &mut super::abi::FlatSrc<'_>,
    ) -> Result<Self> {
        let index = src.next_u32()?;
        cx.lift_resource_any(ty, index)
    }
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
        let index = cx.load_u32(offset)?;
        cx.lift_resource_any(ty, index)
    }
}

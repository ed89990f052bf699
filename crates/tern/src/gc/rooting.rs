//! Host handles to GC objects with later wasmtime's names and lifetimes:
//! [`Rooted`] (scoped, released when its [`RootScope`] ends), [`ManuallyRooted`]
//! (released by [`ManuallyRooted::unroot`]) and [`OwnedRooted`] (released when
//! its last clone drops). Each derefs to the plain handle `T` ([`AnyRef`],
//! [`StructRef`], [`ArrayRef`]), whose methods take the store; the plain
//! handle names the same root, so it is usable exactly as long as the root
//! is live. Every use checks the store and the root (`gc/roots.rs`): a handle
//! used after its root was released, or with another store, is an `Err`.
//!
//! **Lifetimes, as in wasmtime.** A `Rooted` made through a [`RootScope`] is
//! released when that scope drops. One made directly through a `Store` (or a
//! `StoreContextMut`) outside any scope lives in the store's own scope, which
//! only ends when the store drops, so long-running embedders open a
//! `RootScope` (or use manual/owned roots) in loops. A host function runs in
//! a scope of its own: the `Rooted` values it receives as parameters and
//! every `Rooted` it makes through its `Caller` are released when it returns
//! (its results are read before that). If a host function panics, its scope
//! is not left until the enclosing one is (the roots stay, they do not
//! dangle).

use super::roots::{GcRootIndex, OwnedSlot};
use super::{AnyRef, ArrayRef, ExnRef, StructRef};
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, StoreContext, StoreContextMut};
use anyhow::Result;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

pub(crate) mod sealed {
    use super::GcRootIndex;

    /// What a plain GC handle is made of: one root index.
    pub trait GcRefImpl: Sized {
        /// The root this handle names.
        fn root_index(&self) -> GcRootIndex;
        /// The handle naming `root`.
        fn from_root_index(root: GcRootIndex) -> Self;
    }

    /// A rooting wrapper (sealed).
    pub trait RootedImpl {}
}

use sealed::{GcRefImpl, RootedImpl};

/// A plain handle to a GC object ([`AnyRef`], [`StructRef`], [`ArrayRef`]):
/// what [`Rooted`], [`ManuallyRooted`] and [`OwnedRooted`] deref to.
pub trait GcRef: GcRefImpl + Copy + fmt::Debug + Send + Sync + 'static {}

impl GcRef for AnyRef {}
impl GcRef for StructRef {}
impl GcRef for ArrayRef {}
impl GcRef for ExnRef {}

/// Any rooted form of a `T` ([`Rooted`], [`ManuallyRooted`], [`OwnedRooted`]).
pub trait RootedGcRef<T: GcRef>: RootedImpl + Deref<Target = T> {}

impl<T: GcRef> RootedImpl for Rooted<T> {}
impl<T: GcRef> RootedGcRef<T> for Rooted<T> {}
impl<T: GcRef> RootedImpl for ManuallyRooted<T> {}
impl<T: GcRef> RootedGcRef<T> for ManuallyRooted<T> {}
impl<T: GcRef> RootedImpl for OwnedRooted<T> {}
impl<T: GcRef> RootedGcRef<T> for OwnedRooted<T> {}

/// A scoped root of a GC object: usable until the [`RootScope`] it was made
/// in ends (or, made outside any scope, until its store drops; see the
/// module note). `Copy`; derefs to `T`.
#[derive(Clone, Copy)]
pub struct Rooted<T: GcRef> {
    inner: T,
}

impl<T: GcRef> fmt::Debug for Rooted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Rooted").field(&self.inner).finish()
    }
}

impl<T: GcRef> Deref for Rooted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: GcRef> Rooted<T> {
    /// Wraps a handle naming a LIFO root.
    pub(crate) fn from_inner(inner: T) -> Self {
        debug_assert!(inner.root_index().is_lifo());
        Self { inner }
    }

    /// The same root seen as another handle type (an upcast).
    fn cast<U: GcRef>(self) -> Rooted<U> {
        Rooted {
            inner: U::from_root_index(self.inner.root_index()),
        }
    }

    /// A manual root of the same object, which outlives this one's scope.
    ///
    /// # Errors
    /// Fails if this root was released or belongs to another store.
    pub fn to_manually_rooted(&self, mut store: impl AsContextMut) -> Result<ManuallyRooted<T>> {
        let store = &mut store.as_context_mut().0.opaque;
        let word = store.gc_rooted(self.inner.root_index())?;
        let root = store.gc_root_slot(word);
        Ok(ManuallyRooted {
            inner: T::from_root_index(root),
        })
    }

    /// An owned root of the same object, released when its last clone drops.
    ///
    /// # Errors
    /// Fails if this root was released or belongs to another store.
    pub fn to_owned_rooted(&self, mut store: impl AsContextMut) -> Result<OwnedRooted<T>> {
        let store = &mut store.as_context_mut().0.opaque;
        let word = store.gc_rooted(self.inner.root_index())?;
        Ok(OwnedRooted::new(store, word))
    }

    /// Whether `a` and `b` are the same root (not merely the same object).
    pub fn rooted_eq(a: Self, b: Self) -> bool {
        a.inner.root_index() == b.inner.root_index()
    }

    /// Whether `a` and `b` name the same object (`ref.eq`: i31s compare by
    /// value).
    ///
    /// # Errors
    /// Fails if either root was released or belongs to another store.
    pub fn ref_eq(
        store: impl AsContext,
        a: &impl RootedGcRef<T>,
        b: &impl RootedGcRef<T>,
    ) -> Result<bool> {
        let store = &store.as_context().0.opaque;
        Ok(store.gc_rooted(a.root_index())? == store.gc_rooted(b.root_index())?)
    }
}

/// A root of a GC object that lives until [`Self::unroot`] is called
/// (dropping it without unrooting keeps the object alive until its store
/// drops, as in wasmtime). Derefs to `T`.
pub struct ManuallyRooted<T: GcRef> {
    inner: T,
}

impl<T: GcRef> fmt::Debug for ManuallyRooted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManuallyRooted").field(&self.inner).finish()
    }
}

impl<T: GcRef> Deref for ManuallyRooted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

/// The store of `context`, checked to be the one `root` belongs to.
///
/// # Panics
/// Panics if it is another store (what wasmtime's manual roots do).
fn owning_store<'a, D>(
    context: &'a mut StoreContextMut<'_, D>,
    root: GcRootIndex,
) -> &'a mut StoreOpaque {
    let store = &mut context.0.opaque;
    assert!(
        root.store_id() == store.id(),
        "GC root used with the wrong store"
    );
    store
}

impl<T: GcRef> ManuallyRooted<T> {
    /// The same root seen as another handle type (an upcast).
    fn cast<U: GcRef>(self) -> ManuallyRooted<U> {
        ManuallyRooted {
            inner: U::from_root_index(self.inner.root_index()),
        }
    }

    /// A second manual root of the same object (each needs unrooting).
    ///
    /// # Panics
    /// Panics if `store` is not the root's store.
    pub fn clone(&self, mut store: impl AsContextMut) -> Self {
        let mut cx = store.as_context_mut();
        let store = owning_store(&mut cx, self.inner.root_index());
        let word = store
            .gc_rooted(self.inner.root_index())
            .expect("a manual root stays live until unrooted");
        let root = store.gc_root_slot(word);
        Self {
            inner: T::from_root_index(root),
        }
    }

    /// Releases the root; the object may then be collected, and copies of the
    /// plain handle fail.
    ///
    /// # Panics
    /// Panics if `store` is not the root's store.
    pub fn unroot(self, mut store: impl AsContextMut) {
        let mut cx = store.as_context_mut();
        let store = owning_store(&mut cx, self.inner.root_index());
        let _ = store.gc_unroot(self.inner.root_index());
    }

    /// A scoped root of the same object in `store`'s current scope.
    ///
    /// # Panics
    /// Panics if `store` is not the root's store.
    pub fn to_rooted(&self, mut store: impl AsContextMut) -> Rooted<T> {
        let mut cx = store.as_context_mut();
        let store = owning_store(&mut cx, self.inner.root_index());
        let word = store
            .gc_rooted(self.inner.root_index())
            .expect("a manual root stays live until unrooted");
        Rooted::from_inner(T::from_root_index(store.gc_root(word)))
    }

    /// [`Self::to_rooted`], then [`Self::unroot`].
    ///
    /// # Panics
    /// Panics if `store` is not the root's store.
    pub fn into_rooted(self, mut store: impl AsContextMut) -> Rooted<T> {
        let rooted = self.to_rooted(&mut store);
        self.unroot(store);
        rooted
    }

    /// Whether this root belongs to `store`.
    pub fn comes_from_same_store(&self, store: impl AsContext) -> bool {
        self.inner.root_index().store_id() == store.as_context().0.opaque.id()
    }
}

/// A root of a GC object released when its last clone drops, with or
/// without the store at hand: a drop queues the release, and the store's
/// root table applies it at its next use. Derefs to `T`.
pub struct OwnedRooted<T: GcRef> {
    inner: T,
    owner: Arc<OwnedSlot>,
}

impl<T: GcRef> Clone for OwnedRooted<T> {
    /// Another handle to the same root (the root is released when the last
    /// one drops).
    fn clone(&self) -> Self {
        Self {
            inner: self.inner,
            owner: self.owner.clone(),
        }
    }
}

impl<T: GcRef> fmt::Debug for OwnedRooted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedRooted").field(&self.inner).finish()
    }
}

impl<T: GcRef> Deref for OwnedRooted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: GcRef> OwnedRooted<T> {
    /// An owned root of the heap word `word`.
    pub(crate) fn new(store: &mut StoreOpaque, word: u64) -> Self {
        let (slot, owner) = store.gc_root_owned(word);
        Self {
            inner: T::from_root_index(slot),
            owner: Arc::new(owner),
        }
    }

    /// The same root seen as another handle type (an upcast).
    fn cast<U: GcRef>(self) -> OwnedRooted<U> {
        OwnedRooted {
            inner: U::from_root_index(self.inner.root_index()),
            owner: self.owner,
        }
    }

    /// A scoped root of the same object in `store`'s current scope.
    ///
    /// # Panics
    /// Panics if `store` is not the root's store.
    pub fn to_rooted(&self, mut store: impl AsContextMut) -> Rooted<T> {
        let mut cx = store.as_context_mut();
        let store = owning_store(&mut cx, self.inner.root_index());
        let word = store
            .gc_rooted(self.inner.root_index())
            .expect("an owned root stays live while a handle to it exists");
        Rooted::from_inner(T::from_root_index(store.gc_root(word)))
    }

    /// [`Self::to_rooted`], releasing this handle.
    ///
    /// # Panics
    /// Panics if `store` is not the root's store.
    pub fn into_rooted(self, store: impl AsContextMut) -> Rooted<T> {
        self.to_rooted(store)
    }

    /// Whether this root belongs to `store`.
    pub fn comes_from_same_store(&self, store: impl AsContext) -> bool {
        self.inner.root_index().store_id() == store.as_context().0.opaque.id()
    }
}

macro_rules! upcasts {
    ($($t:ident),*) => {$(
        impl Rooted<$t> {
            /// This reference as an `anyref` (the same root).
            pub fn to_anyref(self) -> Rooted<AnyRef> {
                self.cast()
            }
        }
        impl ManuallyRooted<$t> {
            /// This reference as an `anyref` (the same root, still to unroot).
            pub fn to_anyref(self) -> ManuallyRooted<AnyRef> {
                self.cast()
            }
        }
        impl OwnedRooted<$t> {
            /// This reference as an `anyref` (the same root).
            pub fn to_anyref(self) -> OwnedRooted<AnyRef> {
                self.cast()
            }
        }
        impl From<Rooted<$t>> for Rooted<AnyRef> {
            fn from(r: Rooted<$t>) -> Self {
                r.cast()
            }
        }
        impl From<OwnedRooted<$t>> for OwnedRooted<AnyRef> {
            fn from(r: OwnedRooted<$t>) -> Self {
                r.cast()
            }
        }
    )*};
}

upcasts!(StructRef, ArrayRef);

/// A nested scope for [`Rooted`] handles: every `Rooted` made through it (it
/// is a store context: pass `&mut scope` wherever a store is taken) is
/// released when it drops. Scopes nest; they end in LIFO order.
pub struct RootScope<C: AsContextMut> {
    store: C,
    scope: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// Opens a scope on `store`.
    pub fn new(mut store: C) -> Self {
        let scope = store.as_context_mut().0.opaque.gc_roots.enter_lifo();
        Self { store, scope }
    }

    /// Makes room for `additional` more roots without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        self.store
            .as_context_mut()
            .0
            .opaque
            .gc_roots
            .reserve(additional);
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        let scope = self.scope;
        self.store
            .as_context_mut()
            .0
            .opaque
            .gc_roots
            .exit_lifo(scope);
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.store.as_context_mut()
    }
}

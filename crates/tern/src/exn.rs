//! Exception handling in the API: [`Tag`] (an exception tag, an importable and
//! exportable item), [`ExnRef`] (a thrown or caught exception), and
//! [`ThrownException`], the error that carries an exception across the host
//! boundary, with the names of later wasmtime versions.
//!
//! # Where exceptions live
//! An exception is an object on the store's GC heap (`docs/design/gc.md`),
//! of kind `GcKind::Exn`: a header whose type id is the tag's function type,
//! the tag's identity (its `VMTagDefinition`'s address) and the payload,
//! laid out by `tern_environ::gc_exn_layout`. An `exnref` word is the
//! object's heap offset (even, below 2^32), like any other object reference.
//! Compiled code builds the object inline (`throw` allocates as `struct.new`
//! does); the host builds it with [`ExnRef::new`]. So the heap is used
//! whenever exceptions are, GC enabled or not (it is reserved on its first
//! allocation), and a store whose heap cannot grow further — its
//! `ResourceLimiter` refuses, or the 4 GiB maximum — traps with
//! `Trap::GcHeapOutOfMemory` on the next `throw`. The collector frees
//! exceptions nothing refers to any more, like any other object.
//!
//! The host's handles ([`ExnRef`], handed out as
//! [`Rooted<ExnRef>`](crate::Rooted) and its other rooted forms, with
//! [`ExnType`](crate::ExnType) and [`ExnRefPre`](crate::ExnRefPre)) live in
//! `gc/exnref.rs` with the other GC objects' handles. The store's pending
//! exception is held as its heap word;
//! [`StoreOpaque::for_each_exception_root`] hands it, and the one in flight,
//! to the collector.
//!
//! # Crossing the host boundary
//! An exception that no wasm handler catches leaves `Func::call` (and every
//! other entry) as an error that is a [`ThrownException`]; the exception itself
//! is then the store's *pending exception*, which
//! [`Store::take_pending_exception`](crate::Store::take_pending_exception)
//! returns. A host function throws into wasm with
//! [`Caller::throw`](crate::Caller::throw) (or `Store::throw`): it records the
//! pending exception and returns `Err(ThrownException)`, which the host
//! function propagates as its error; wasm's handlers then see the exception as
//! if a wasm `throw` had raised it. A host function that calls wasm and gets
//! `ThrownException` back can simply return that error to rethrow it.

use crate::gc::rooting::sealed::GcRefImpl;
use crate::store::{StoreOpaque, Stored};
use crate::vm::VMTagDefinition;
use crate::{AsContext, AsContextMut, ExnRef, FuncType, Rooted, Trap, Val};
use anyhow::{bail, Result};
use tern_environ::{gc_exn_layout, GcKind, WasmStorageType, WasmValType, GC_EXN_TAG};

/// The type of an exception tag: the function type whose parameters are the
/// exception's payload (its results are always empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagType {
    ty: FuncType,
    /// The tag type's recursion group and its position there: two tag types
    /// match only if both are equal (iso-recursive type equivalence).
    rec: (Vec<tern_environ::WasmSubType>, u32),
}

impl TagType {
    /// A tag type with the payload `ty.params()`.
    ///
    /// The type is alone in its recursion group, as a type written without
    /// `rec` in the text format.
    pub fn new(ty: FuncType) -> Self {
        let rec = (vec![tern_environ::WasmSubType::func(ty.ty.clone())], 0);
        Self { ty, rec }
    }

    pub(crate) fn from_module(env: &tern_environ::Module, type_index: u32) -> Self {
        let (start, len) = env.type_groups[type_index as usize];
        let group = env.types[start as usize..(start + len) as usize].to_vec();
        Self {
            ty: FuncType::from_wasm(env.signature(type_index).clone()),
            rec: (group, type_index - start),
        }
    }

    /// The function type whose parameters are the payload.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

impl std::fmt::Display for TagType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(tag {})", self.ty)
    }
}

/// An exception tag owned by a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(pub(crate) Stored);

/// A store's record of a tag: its definition (whose address is its identity).
pub(crate) struct TagData {
    pub(crate) def: Box<VMTagDefinition>,
    pub(crate) ty: TagType,
}

impl Tag {
    /// Creates a new tag of type `ty` in `store`, distinct from every other tag.
    ///
    /// # Errors
    /// Fails when `ty` has results (a tag's type must return nothing).
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Result<Tag> {
        if ty.ty.results().len() != 0 {
            bail!("non-empty tag result type");
        }
        let store = &mut store.as_context_mut().0.opaque;
        Ok(store.push_tag(ty.clone()))
    }

    /// The tag's type.
    ///
    /// # Panics
    /// Panics if the tag belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        let store = &store.as_context().0.opaque;
        store.check(self.0).expect("tag used with the wrong store");
        store.tags[self.0.index].ty.clone()
    }

    /// Whether two handles name the same tag.
    pub fn eq(a: &Tag, b: &Tag, _store: impl AsContext) -> bool {
        a == b
    }
}

/// The error of a call that ended with an uncaught wasm exception, or that a
/// host function returns to throw one (see the module docs). The exception
/// itself is the store's pending exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrownException;

impl std::fmt::Display for ThrownException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("thrown Wasm exception")
    }
}

impl std::error::Error for ThrownException {}

impl StoreOpaque {
    /// Registers a new tag of type `ty`.
    pub(crate) fn push_tag(&mut self, ty: TagType) -> Tag {
        let type_id = self.engine.signature_id(&ty.ty.ty);
        self.tags.push(TagData {
            def: Box::new(VMTagDefinition { type_id }),
            ty,
        });
        Tag(self.stored(self.tags.len() - 1))
    }

    /// The definition (identity) of store tag `index`.
    pub(crate) fn tag_def(&self, index: usize) -> *const VMTagDefinition {
        &*self.tags[index].def
    }

    /// Allocates an exception of store tag `tag` with payload `fields` (of
    /// the tag's parameter types); its heap offset.
    ///
    /// # Errors
    /// `Trap::GcHeapOutOfMemory` when the heap is full, the resource
    /// limiter's error, or a field that is a reference of another store.
    pub(crate) fn new_exception(&mut self, tag: usize, fields: &[Val]) -> Result<u64> {
        let params: Vec<WasmValType> = self.tags[tag].ty.ty.ty.params.to_vec();
        let layout = gc_exn_layout(&params);
        let type_id = self.tags[tag].def.type_id;
        let size = u64::from(layout.size);
        let Some(at) = self.gc_alloc_object(type_id, GcKind::Exn, size)? else {
            bail!(Trap::GcHeapOutOfMemory);
        };
        let identity = self.tag_def(tag) as usize as u64;
        self.gc_write(at + u64::from(GC_EXN_TAG), &identity.to_le_bytes());
        for ((v, t), offset) in fields.iter().zip(params).zip(&layout.fields[1..]) {
            self.gc_write_value(WasmStorageType::Val(t), at + u64::from(*offset), v)?;
        }
        Ok(at)
    }

    /// The store tag of the exception at heap offset `at`.
    ///
    /// # Errors
    /// Fails when `at` does not hold an exception of one of this store's tags.
    pub(crate) fn exception_tag(&self, at: u64) -> Result<usize> {
        if self.gc_header(at).1 != Some(GcKind::Exn) {
            bail!("not an exception object");
        }
        let identity = u64::from_le_bytes(self.gc_read(at + u64::from(GC_EXN_TAG)));
        match (0..self.tags.len()).find(|&t| self.tag_def(t) as usize as u64 == identity) {
            Some(t) => Ok(t),
            None => bail!("exception of an unknown tag"),
        }
    }

    /// The payload types of the exception at heap offset `at`.
    ///
    /// # Errors
    /// As [`StoreOpaque::exception_tag`].
    pub(crate) fn exception_params(&self, at: u64) -> Result<Vec<WasmValType>> {
        let tag = self.exception_tag(at)?;
        Ok(self.tags[tag].ty.ty.ty.params.to_vec())
    }

    /// Makes `exn` the store's pending exception (`Store::throw`).
    ///
    /// # Panics
    /// Panics if `exn` belongs to another store.
    pub(crate) fn set_pending_exception(&mut self, exn: &ExnRef) {
        let at = self
            .gc_rooted(exn.root_index())
            .expect("exception used with the wrong store or after its root was released");
        self.pending_exception = at as u32;
    }

    /// Takes the store's pending exception, rooted for the host.
    pub(crate) fn take_pending_exception(&mut self) -> Option<Rooted<ExnRef>> {
        let word = std::mem::take(&mut self.pending_exception);
        ExnRef::from_raw(self, u64::from(word))
    }

    /// Every exception word the collector must treat as a root and update
    /// when it moves the object: the store's pending exception (the one that
    /// left wasm uncaught, or that a host function is throwing) and the one
    /// in flight in the runtime limits (set only while an exception leaves
    /// an activation, when no collection can run, but visited all the same).
    /// Null words are not visited.
    pub(crate) fn for_each_exception_root(&mut self, f: &mut dyn FnMut(&mut u32)) {
        if self.pending_exception != 0 {
            f(&mut self.pending_exception);
        }
        if let Some((raw, tag)) = self.limits.pending_exception() {
            let mut word = raw as u32;
            f(&mut word);
            self.limits
                .set_pending_exception(Some((u64::from(word), tag)));
        }
    }

    /// When wasm unwound to the host: moves the exception that escaped the
    /// activation (`vm::unwind`) to the store's pending exception; returns
    /// whether there was one.
    pub(crate) fn exception_escaped(&mut self) -> bool {
        match self.limits.pending_exception() {
            Some((raw, _)) => {
                self.limits.set_pending_exception(None);
                self.pending_exception = raw as u32;
                true
            }
            None => false,
        }
    }

    /// When a host function returned `ThrownException` to wasm: takes the
    /// store's pending exception, with its tag identity (what the unwinder
    /// carries, `vm::unwind`), if there is one.
    pub(crate) fn exception_rethrown(&mut self) -> Option<(u64, *const VMTagDefinition)> {
        match std::mem::take(&mut self.pending_exception) {
            0 => None,
            word => {
                let raw = u64::from(word);
                let identity = u64::from_le_bytes(self.gc_read(raw + u64::from(GC_EXN_TAG)));
                Some((raw, identity as usize as *const VMTagDefinition))
            }
        }
    }
}

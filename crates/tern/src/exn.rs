//! Exception handling in the API: [`Tag`] (an exception tag, an importable and
//! exportable item), [`ExnRef`] (a thrown or caught exception), and
//! [`ThrownException`], the error that carries an exception across the host
//! boundary, with the names of later wasmtime versions.
//!
//! # Where exceptions live
//! Tern has no garbage collector yet, so exception objects live in a simple
//! arena owned by the store (`StoreOpaque::exns`): an `exnref` is its arena
//! index plus one (0 is null), and every exception lives until the store is
//! dropped, like `externref`s today. A loop that throws a million exceptions
//! therefore keeps a million small payloads alive until the store goes. So
//! that a guest cannot grow host memory without bound this way, a store holds
//! at most [`MAX_EXCEPTION_SLOTS`] slots of exceptions (each costs its payload
//! fields plus [`EXCEPTION_OVERHEAD_SLOTS`]); a `throw` past that traps with an
//! error saying so, and `ExnRef::new` fails. That is also why exception
//! handling is off by default until exceptions are collected.
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

use crate::store::{StoreOpaque, Stored};
use crate::vm::{VMTagDefinition, ValRaw};
use crate::{AsContext, AsContextMut, FuncType, Val};
use anyhow::{bail, Result};

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

/// A store's record of an exception: its tag and payload.
pub(crate) struct ExnData {
    pub(crate) tag: usize,
    pub(crate) fields: Vec<ValRaw>,
}

/// A reference to an exception object (`exnref`), owned by a store.
///
/// Exceptions live until their store is dropped (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExnRef(pub(crate) Stored);

impl ExnRef {
    /// Allocates an exception of `tag` with payload `fields`, to throw with
    /// [`Store::throw`](crate::Store::throw). (Later wasmtime takes an
    /// `ExnRefPre` as well; Tern needs none.)
    ///
    /// # Errors
    /// Fails when the tag belongs to another store or the fields do not match
    /// the tag's parameters, or when the store holds too many exceptions (see
    /// the module docs).
    pub fn new(mut store: impl AsContextMut, tag: &Tag, fields: &[Val]) -> Result<ExnRef> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(tag.0)?;
        let ty = store.tags[tag.0.index].ty.ty.clone();
        if ty.params().len() != fields.len() {
            bail!(
                "exception payload has {} fields, the tag's type {} needs {}",
                fields.len(),
                ty,
                ty.params().len()
            );
        }
        let mut raw = Vec::with_capacity(fields.len());
        for (v, t) in fields.iter().zip(ty.params()) {
            if v.ty() != t {
                bail!("exception field of type {} where {t} is expected", v.ty());
            }
            raw.push(v.to_raw(store)?);
        }
        let index = store.new_exception(tag.0.index, raw)?;
        Ok(ExnRef(store.stored(index)))
    }

    /// The exception's tag.
    ///
    /// # Errors
    /// Fails when the exception belongs to another store.
    pub fn tag(&self, store: impl AsContext) -> Result<Tag> {
        let store = &store.as_context().0.opaque;
        store.check(self.0)?;
        Ok(Tag(store.stored(store.exns[self.0.index].tag)))
    }

    /// Payload field `index`.
    ///
    /// # Errors
    /// Fails when the exception belongs to another store or has no such field.
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.0)?;
        let exn = &store.exns[self.0.index];
        let ty = store.tags[exn.tag].ty.ty.clone();
        let (Some(raw), Some(t)) = (exn.fields.get(index).copied(), ty.params().nth(index)) else {
            bail!("exception field {index} out of range");
        };
        Ok(Val::from_raw(store, raw, t))
    }

    /// Every payload field, in order.
    ///
    /// # Errors
    /// Fails when the exception belongs to another store.
    pub fn fields(&self, mut store: impl AsContextMut) -> Result<Vec<Val>> {
        let mut store = store.as_context_mut();
        let n = {
            let opaque = &store.0.opaque;
            opaque.check(self.0)?;
            opaque.exns[self.0.index].fields.len()
        };
        (0..n).map(|i| self.field(&mut store, i)).collect()
    }

    /// The raw value wasm holds for this exception (arena index + 1).
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<u64> {
        store.check(self.0)?;
        Ok(self.0.index as u64 + 1)
    }

    /// The exception behind a raw value read from wasm (0 is null).
    pub(crate) fn from_raw(store: &StoreOpaque, raw: u64) -> Option<ExnRef> {
        (raw != 0).then(|| ExnRef(store.stored(raw as usize - 1)))
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

/// The most value slots a store's exceptions may take together (16 bytes
/// each: 256 MiB); see the module docs.
pub(crate) const MAX_EXCEPTION_SLOTS: usize = 1 << 24;

/// What one exception costs beyond its payload fields, in value slots (its
/// record in the arena).
pub(crate) const EXCEPTION_OVERHEAD_SLOTS: usize = 4;

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

    /// Allocates an exception of store tag `tag`; returns its arena index.
    ///
    /// # Errors
    /// Fails when the store's exceptions would exceed [`MAX_EXCEPTION_SLOTS`].
    pub(crate) fn new_exception(&mut self, tag: usize, fields: Vec<ValRaw>) -> Result<usize> {
        let cost = fields.len() + EXCEPTION_OVERHEAD_SLOTS;
        if self.exception_slots + cost > MAX_EXCEPTION_SLOTS {
            bail!(
                "too many exceptions thrown in this store: they are kept until the store \
                 is dropped (Tern does not collect them yet), and the store's limit of \
                 {MAX_EXCEPTION_SLOTS} value slots is reached"
            );
        }
        self.exception_slots += cost;
        self.exns.push(ExnData { tag, fields });
        Ok(self.exns.len() - 1)
    }

    /// Allocates an exception of tag `tag` of instance `instance` with the
    /// payload `fields` and makes it the exception in flight (the `throw`
    /// instruction).
    ///
    /// # Errors
    /// As [`StoreOpaque::new_exception`].
    pub(crate) fn throw_new(&mut self, instance: usize, tag: u32, fields: &[ValRaw]) -> Result<()> {
        let tag = self.instances[instance].tags[tag as usize].0.index;
        let index = self.new_exception(tag, fields.to_vec())?;
        self.throw_raw(index as u64 + 1);
        Ok(())
    }

    /// Makes the exception with raw value `raw` (non-null) the one in flight.
    pub(crate) fn throw_raw(&mut self, raw: u64) {
        let def = self.tag_def(self.exns[raw as usize - 1].tag);
        self.limits.set_pending_exception(Some((raw, def)));
    }

    /// The payload of the exception with raw value `raw` (non-null).
    pub(crate) fn exception_fields(&self, raw: u64) -> &[ValRaw] {
        &self.exns[raw as usize - 1].fields
    }

    /// When wasm returns to the host: moves an exception still in flight to
    /// the store's pending exception; returns whether there was one.
    pub(crate) fn exception_escaped(&mut self) -> bool {
        match self.limits.pending_exception() {
            Some((raw, _)) => {
                self.limits.set_pending_exception(None);
                self.pending_exception = ExnRef::from_raw(self, raw);
                true
            }
            None => false,
        }
    }

    /// When a host function returned `ThrownException` to wasm: moves the
    /// store's pending exception in flight; returns whether there was one.
    pub(crate) fn exception_rethrown(&mut self) -> bool {
        match self.pending_exception.take() {
            Some(exn) => {
                self.throw_raw(exn.0.index as u64 + 1);
                true
            }
            None => false,
        }
    }
}

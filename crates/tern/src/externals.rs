//! The things a module imports and exports: [`Extern`] and its variants
//! [`Memory`], [`Table`], [`Global`] (functions are in `func.rs`).

use crate::store::{GlobalData, Stored, TableData};
use crate::vm::{self, GlobalPtr, ValRaw};
use crate::{
    AsContext, AsContextMut, ExternType, Func, GlobalType, MemoryType, Mutability, TableIndex,
    TableType, Val,
};
use anyhow::{bail, Context as _, Result};

/// An external item: what an import needs or an export provides.
#[derive(Debug, Clone)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A global.
    Global(Global),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// An exception tag.
    Tag(crate::Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Self::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Self::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Self::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Self::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<crate::Tag> {
        if let Self::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The item's type.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        let store = store.as_context();
        match self {
            Self::Func(f) => ExternType::Func(f.ty(&store)),
            Self::Global(g) => ExternType::Global(g.ty(&store)),
            Self::Table(t) => ExternType::Table(t.ty(&store)),
            Self::Memory(m) => ExternType::Memory(m.ty(&store)),
            Self::Tag(t) => ExternType::Tag(t.ty(&store)),
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Self {
        Self::Func(f)
    }
}
impl From<crate::Tag> for Extern {
    fn from(t: crate::Tag) -> Self {
        Self::Tag(t)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Self {
        Self::Global(g)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Self {
        Self::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Self {
        Self::Memory(m)
    }
}

/// A linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory(pub(crate) Stored);

impl Memory {
    /// Creates a memory of type `ty` in the store.
    ///
    /// # Errors
    /// Fails if the type is too large or the OS refuses the reservation.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check_new_memory(ty.minimum(), ty.maximum())?;
        let style = tern_environ::MemoryStyle::for_plan(&ty.plan, store.engine().tunables());
        let memory = vm::Memory::new(
            ty.minimum(),
            ty.maximum(),
            ty.is_64(),
            style,
            Some(&mut store.arena),
        )?;
        store.memories.push(Box::new(memory));
        Ok(Memory(store.stored(store.memories.len() - 1)))
    }

    fn get<'a>(&self, store: &'a crate::store::StoreOpaque) -> &'a vm::Memory {
        assert_eq!(
            self.0.store_id,
            store.id(),
            "memory used with the wrong store"
        );
        &store.memories[self.0.index]
    }

    /// The memory's type (with its current maximum).
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let m = self.get(&store.as_context().0.opaque);
        m.ty()
    }

    /// The memory's bytes.
    ///
    /// # Panics
    /// Panics if `store` is not the memory's store.
    pub fn data<'a, T: 'a>(&self, store: impl Into<crate::StoreContext<'a, T>>) -> &'a [u8] {
        let store = store.into();
        self.get(&store.0.opaque).data()
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContextMut<'a, T>>,
    ) -> &'a mut [u8] {
        let store = store.into();
        assert_eq!(
            self.0.store_id,
            store.0.opaque.id(),
            "memory used with the wrong store"
        );
        store.0.opaque.memories[self.0.index].data_mut()
    }

    /// The memory's bytes and the store's data at once, for host functions that
    /// need both (wasmtime's `data_and_store_mut`).
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let store = store.into().0;
        assert_eq!(
            self.0.store_id,
            store.opaque.id(),
            "memory used with the wrong store"
        );
        let memory = store.opaque.memories[self.0.index].data_mut();
        (memory, &mut store.data)
    }

    /// The address of the memory's first byte, valid until the memory grows
    /// (a dynamic memory moves then; a static one never does) or the store
    /// drops. Reading or writing through it is the caller's responsibility, as
    /// with any raw pointer.
    pub fn data_ptr(&self, store: impl AsContext) -> *mut u8 {
        self.get(&store.as_context().0.opaque).base()
    }

    /// Size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.get(&store.as_context().0.opaque).byte_size()
    }

    /// Size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.get(&store.as_context().0.opaque).pages()
    }

    /// Grows by `delta` pages and returns the previous size in pages.
    ///
    /// # Errors
    /// Fails when the memory would exceed its maximum.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.0)?;
        store.grow_memory(self.0.index, delta)?.context(
            "failed to grow memory: the maximum size or a resource limit would be exceeded",
        )
    }

    /// [`Memory::grow`] on a fiber, so that an async resource limiter
    /// (`Store::limiter_async`) can be awaited.
    ///
    /// # Errors
    /// Fails as [`Memory::grow`] does, and when the engine was not configured
    /// with `Config::async_support`.
    pub async fn grow_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        delta: u64,
    ) -> Result<u64> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let memory = *self;
        vm::fiber::on_fiber(store, move |store| {
            memory.grow(crate::StoreContextMut(store), delta)
        })?
        .await?
    }

    /// Copies `buffer.len()` bytes at `offset` into `buffer`.
    ///
    /// # Errors
    /// [`MemoryAccessError`] when the range is out of bounds.
    ///
    /// # Panics
    /// When the memory belongs to another store (as in wasmtime).
    pub fn read(
        &self,
        store: impl AsContext,
        offset: usize,
        buffer: &mut [u8],
    ) -> std::result::Result<(), MemoryAccessError> {
        let store = store.as_context();
        let data = self.get(&store.0.opaque).data();
        let src = offset
            .checked_add(buffer.len())
            .and_then(|end| data.get(offset..end))
            .ok_or(MemoryAccessError { _private: () })?;
        buffer.copy_from_slice(src);
        Ok(())
    }

    /// Copies `buffer` into memory at `offset`.
    ///
    /// # Errors
    /// [`MemoryAccessError`] when the range is out of bounds.
    ///
    /// # Panics
    /// When the memory belongs to another store (as in wasmtime).
    pub fn write(
        &self,
        mut store: impl AsContextMut,
        offset: usize,
        buffer: &[u8],
    ) -> std::result::Result<(), MemoryAccessError> {
        let store = &mut store.as_context_mut().0.opaque;
        assert_eq!(
            self.0.store_id,
            store.id(),
            "memory used with the wrong store"
        );
        let data = store.memories[self.0.index].data_mut();
        let dst = offset
            .checked_add(buffer.len())
            .and_then(|end| data.get_mut(offset..end))
            .ok_or(MemoryAccessError { _private: () })?;
        dst.copy_from_slice(buffer);
        Ok(())
    }
}

/// The error of [`Memory::read`] and [`Memory::write`]: the range is not
/// inside the memory. Converts into [`crate::Error`] with `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryAccessError {
    _private: (),
}

impl std::fmt::Display for MemoryAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of bounds memory access")
    }
}

impl std::error::Error for MemoryAccessError {}

impl<'a, T> From<&'a crate::Store<T>> for crate::StoreContext<'a, T> {
    fn from(s: &'a crate::Store<T>) -> Self {
        crate::StoreContext(&s.inner)
    }
}
impl<'a, T> From<&'a mut crate::Store<T>> for crate::StoreContext<'a, T> {
    fn from(s: &'a mut crate::Store<T>) -> Self {
        crate::StoreContext(&s.inner)
    }
}
impl<'a, T> From<&'a mut crate::Store<T>> for crate::StoreContextMut<'a, T> {
    fn from(s: &'a mut crate::Store<T>) -> Self {
        crate::StoreContextMut(&mut s.inner)
    }
}
impl<'a, T> From<&'a crate::Caller<'_, T>> for crate::StoreContext<'a, T> {
    fn from(c: &'a crate::Caller<'_, T>) -> Self {
        crate::StoreContext(c.store)
    }
}
impl<'a, T> From<&'a mut crate::Caller<'_, T>> for crate::StoreContext<'a, T> {
    fn from(c: &'a mut crate::Caller<'_, T>) -> Self {
        crate::StoreContext(c.store)
    }
}
impl<'a, T> From<&'a mut crate::Caller<'_, T>> for crate::StoreContextMut<'a, T> {
    fn from(c: &'a mut crate::Caller<'_, T>) -> Self {
        crate::StoreContextMut(c.store)
    }
}
impl<'a, T> From<crate::StoreContextMut<'a, T>> for crate::StoreContext<'a, T> {
    fn from(c: crate::StoreContextMut<'a, T>) -> Self {
        crate::StoreContext(c.0)
    }
}

/// A global variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global(pub(crate) Stored);

impl Global {
    /// Creates a global of type `ty` holding `val`.
    ///
    /// # Errors
    /// Fails when `val` does not have the global's value type.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global> {
        let store = &mut store.as_context_mut().0.opaque;
        if !val.matches_ty(store, ty.content())? {
            bail!(
                "value of type {} does not match global type {}",
                val.ty(),
                ty.content()
            );
        }
        let raw = val.to_raw(store)?;
        let storage = vm::global::new_host_global(raw);
        let ptr =
            GlobalPtr(&*storage as *const vm::VMGlobalDefinition as *mut vm::VMGlobalDefinition);
        store.host_globals.push(storage);
        store.globals.push(GlobalData { ptr, ty });
        Ok(Global(store.stored(store.globals.len() - 1)))
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let store = store.as_context();
        assert_eq!(
            self.0.store_id,
            store.0.opaque.id(),
            "global used with the wrong store"
        );
        store.0.opaque.globals[self.0.index].ty.clone()
    }

    /// The current value.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = &mut store.as_context_mut().0.opaque;
        assert_eq!(
            self.0.store_id,
            store.id(),
            "global used with the wrong store"
        );
        let g = &store.globals[self.0.index];
        let (raw, ty) = (g.ptr.get(), *g.ty.content());
        Val::from_raw(store, raw, ty)
    }

    /// Sets the value.
    ///
    /// # Errors
    /// Fails when the global is immutable or `val` has another type.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.0)?;
        let g = &store.globals[self.0.index];
        if g.ty.mutability() == Mutability::Const {
            bail!("immutable global cannot be set");
        }
        if !val.matches_ty(store, g.ty.content())? {
            bail!(
                "global of type {} cannot be set to a {}",
                g.ty.content(),
                val.ty()
            );
        }
        let ptr = g.ptr;
        ptr.set(val.to_raw(store)?);
        Ok(())
    }
}

/// A table of references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table(pub(crate) Stored);

impl Table {
    /// Creates a table of type `ty` with every element set to `init`.
    ///
    /// # Errors
    /// Fails when the element type is not a reference type (`TableType::new`
    /// accepts any `ValType`, as in wasmtime), when `init` has the wrong type,
    /// or when the size is too large.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let store = &mut store.as_context_mut().0.opaque;
        if !ty.element().is_ref() {
            bail!(
                "a table's elements must be references, not {}",
                ty.element()
            );
        }
        if !init.matches_ty(store, &ty.element())? {
            bail!(
                "initial value of type {} does not match table element type {}",
                init.ty(),
                ty.element()
            );
        }
        store.check_new_table(ty.plan.minimum, ty.plan.maximum)?;
        let raw = init.to_raw(store)?.get_u64() as usize as *const vm::VMFuncRef;
        let mut table = vm::Table::new(0, ty.plan.maximum, ty.plan.element.is_func())?;
        table
            .grow(ty.plan.minimum, raw)
            .context("table minimum exceeds its maximum")?;
        store.tables.push(TableData {
            table: Box::new(table),
            ty,
        });
        Ok(Table(store.stored(store.tables.len() - 1)))
    }

    /// The table's type (with its current size as minimum).
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let store = store.as_context();
        assert_eq!(
            self.0.store_id,
            store.0.opaque.id(),
            "table used with the wrong store"
        );
        let t = &store.0.opaque.tables[self.0.index];
        let mut ty = t.ty.clone();
        ty.plan.minimum = t.table.size();
        ty
    }

    /// Number of elements (`u32`, as in wasmtime 12: a table never holds more
    /// than 10,000,000 elements in Tern).
    pub fn size(&self, store: impl AsContext) -> u32 {
        let store = store.as_context();
        saturate(store.0.opaque.tables[self.0.index].table.size())
    }

    /// Element `index`, or `None` out of bounds. `index` is a `u32` (wasmtime
    /// 12), a `u64` (later wasmtime) or an integer literal (see [`TableIndex`]).
    pub fn get(&self, mut store: impl AsContextMut, index: impl TableIndex) -> Option<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let table = &mut store.tables[self.0.index];
        let raw = table.table.get(index.to_table_index()?)?;
        let element = table.ty.element();
        Some(Val::from_raw(
            store,
            ValRaw::u64(raw as usize as u64),
            element,
        ))
    }

    /// `val` as the raw element this table stores.
    ///
    /// # Errors
    /// Fails when `val`'s type is not the table's element type, or it belongs
    /// to another store.
    fn element_raw(&self, store: &mut crate::store::StoreOpaque, val: Val) -> Result<usize> {
        if !val.matches_ty(store, &store.tables[self.0.index].ty.element())? {
            bail!(
                "value of type {} does not match the table's element type",
                val.ty()
            );
        }
        Ok(val.to_raw(store)?.get_u64() as usize)
    }

    /// Sets the `len` elements from `dst` on to `val`.
    ///
    /// # Errors
    /// Fails, changing nothing, when the range is out of bounds or `val` has
    /// the wrong type or store.
    pub fn fill(
        &self,
        mut store: impl AsContextMut,
        dst: impl TableIndex,
        val: Val,
        len: impl TableIndex,
    ) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.0)?;
        let raw = self.element_raw(store, val)? as *const vm::VMFuncRef;
        let table = &mut store.tables[self.0.index].table;
        let range = table_range(dst, len, table.size() as usize)?;
        let filled = table.fill(range.start as u64, range.len() as u64, raw);
        debug_assert!(filled, "the range was checked");
        Ok(())
    }

    /// Copies `len` elements of `src_table` from `src_index` on into `dst_table`
    /// from `dst_index` on; the ranges may overlap (as `table.copy` in wasm).
    ///
    /// # Errors
    /// Fails, changing nothing, when a range is out of bounds, the element types
    /// do not match, or a table belongs to another store.
    pub fn copy(
        mut store: impl AsContextMut,
        dst_table: &Table,
        dst_index: impl TableIndex,
        src_table: &Table,
        src_index: impl TableIndex,
        len: impl TableIndex,
    ) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(dst_table.0)?;
        store.check(src_table.0)?;
        let (dst, src) = (dst_table.0.index, src_table.0.index);
        if !store.tables[src]
            .ty
            .element()
            .matches(&store.tables[dst].ty.element())
        {
            bail!("tables of different element types cannot be copied between");
        }
        let src_range = table_range(src_index, len, store.tables[src].table.size() as usize)?;
        // Uninitialised funcref slots take their value from their position:
        // resolved first, the words copied mean the same anywhere.
        let src_table = &mut store.tables[src].table;
        src_table.materialize(src_range.start as u64, src_range.len() as u64);
        let copied: Vec<usize> = src_table.elements()[src_range].to_vec();
        let dst_elements = store.tables[dst].table.elements_mut();
        let dst_range = table_range(dst_index, len, dst_elements.len())?;
        dst_elements[dst_range].copy_from_slice(&copied);
        Ok(())
    }

    /// Sets element `index`.
    ///
    /// # Errors
    /// Fails out of bounds or for a value of the wrong type.
    pub fn set(
        &self,
        mut store: impl AsContextMut,
        index: impl TableIndex,
        val: Val,
    ) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.0)?;
        let raw = self.element_raw(store, val)? as *const vm::VMFuncRef;
        let set = index
            .to_table_index()
            .is_some_and(|i| store.tables[self.0.index].table.set(i, raw));
        if !set {
            bail!("table element index {index} out of bounds");
        }
        Ok(())
    }

    /// Grows by `delta` elements set to `init`; returns the previous size
    /// (`u32`, as in wasmtime 12).
    ///
    /// # Errors
    /// Fails beyond the maximum, for a negative `delta` or for a value of the
    /// wrong type.
    pub fn grow(
        &self,
        mut store: impl AsContextMut,
        delta: impl TableIndex,
        init: Val,
    ) -> Result<u32> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.0)?;
        let raw = self.element_raw(store, init)?;
        let delta = delta
            .to_table_index()
            .with_context(|| format!("cannot grow a table by {delta} elements"))?;
        store
            .grow_table(self.0.index, delta, raw)?
            .map(saturate)
            .context("failed to grow table: the maximum size or a resource limit would be exceeded")
    }

    /// [`Table::grow`] on a fiber, so that an async resource limiter
    /// (`Store::limiter_async`) can be awaited.
    ///
    /// # Errors
    /// Fails as [`Table::grow`] does, and when the engine was not configured
    /// with `Config::async_support`.
    pub async fn grow_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        delta: u32,
        init: Val,
    ) -> Result<u32> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let table = *self;
        vm::fiber::on_fiber(store, move |store| {
            table.grow(crate::StoreContextMut(store), delta, init)
        })?
        .await?
    }
}

/// A table size as wasmtime 12's `u32`. Tables never exceed 10,000,000
/// elements (`vm::Table::grow`), so this never saturates in practice.
fn saturate(size: u64) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// The element range `start..start + len` of a table of `size` elements.
///
/// # Errors
/// Fails when the range does not fit.
fn table_range(
    start: impl TableIndex,
    len: impl TableIndex,
    size: usize,
) -> Result<std::ops::Range<usize>> {
    let range = start
        .to_table_index()
        .zip(len.to_table_index())
        .and_then(|(s, l)| Some((s, s.checked_add(l)?)));
    match range {
        Some((s, end)) if end <= size as u64 => Ok(s as usize..end as usize),
        _ => bail!("table index out of bounds: {len} elements from {start} in a table of {size}"),
    }
}

//! [`ResourceTable`]: where a host keeps the Rust values behind its
//! [`Resource<T>`] handles (later wasmtime's shape, which the WASI 0.2 host
//! builds on). Entries are typed `Any` values indexed by the handle's rep;
//! an entry may have a parent, and a parent with live children cannot be
//! deleted, so a child (a stream of a file, say) never outlives it.

use super::Resource;
use std::any::Any;
use std::fmt;

/// Why a [`ResourceTable`] operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceTableError {
    /// The table has no room for another entry.
    Full,
    /// No entry has this handle (never pushed, or deleted).
    NotPresent,
    /// The entry has another type than the handle says.
    WrongType,
    /// The entry still has children, so it cannot be deleted.
    HasChildren,
}

impl fmt::Display for ResourceTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "resource table has no free keys",
            Self::NotPresent => "resource not present",
            Self::WrongType => "resource is of another type",
            Self::HasChildren => "resource has children",
        })
    }
}

impl std::error::Error for ResourceTableError {}

struct Entry {
    value: Box<dyn Any + Send>,
    parent: Option<u32>,
    children: Vec<u32>,
}

/// A table of host resource values, keyed by the rep of their [`Resource<T>`].
#[derive(Default)]
pub struct ResourceTable {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
}

impl fmt::Debug for ResourceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTable")
            .field("live", &(self.entries.len() - self.free.len()))
            .finish()
    }
}

impl ResourceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, entry: Entry) -> Result<u32, ResourceTableError> {
        if let Some(i) = self.free.pop() {
            self.entries[i as usize] = Some(entry);
            return Ok(i);
        }
        let i = u32::try_from(self.entries.len()).map_err(|_| ResourceTableError::Full)?;
        self.entries.push(Some(entry));
        Ok(i)
    }

    fn entry(&self, rep: u32) -> Result<&Entry, ResourceTableError> {
        self.entries
            .get(rep as usize)
            .and_then(Option::as_ref)
            .ok_or(ResourceTableError::NotPresent)
    }

    /// Adds `value` and returns an owned handle to it.
    ///
    /// # Errors
    /// [`ResourceTableError::Full`] when no key is left.
    pub fn push<T: Send + 'static>(&mut self, value: T) -> Result<Resource<T>, ResourceTableError> {
        let rep = self.insert(Entry {
            value: Box::new(value),
            parent: None,
            children: Vec::new(),
        })?;
        Ok(Resource::new_own(rep))
    }

    /// Adds `value` as a child of `parent`, which cannot be deleted while
    /// the child lives.
    ///
    /// # Errors
    /// [`ResourceTableError::NotPresent`] when `parent` is not in the table,
    /// [`ResourceTableError::Full`] when no key is left.
    pub fn push_child<T: Send + 'static, U: 'static>(
        &mut self,
        value: T,
        parent: &Resource<U>,
    ) -> Result<Resource<T>, ResourceTableError> {
        self.entry(parent.rep())?;
        let rep = self.insert(Entry {
            value: Box::new(value),
            parent: Some(parent.rep()),
            children: Vec::new(),
        })?;
        if let Some(Some(p)) = self.entries.get_mut(parent.rep() as usize) {
            p.children.push(rep);
        }
        Ok(Resource::new_own(rep))
    }

    /// The value behind `key`.
    ///
    /// # Errors
    /// [`ResourceTableError::NotPresent`] or [`ResourceTableError::WrongType`].
    pub fn get<T: 'static>(&self, key: &Resource<T>) -> Result<&T, ResourceTableError> {
        self.entry(key.rep())?
            .value
            .downcast_ref()
            .ok_or(ResourceTableError::WrongType)
    }

    /// The value behind `key`, mutably.
    ///
    /// # Errors
    /// [`ResourceTableError::NotPresent`] or [`ResourceTableError::WrongType`].
    pub fn get_mut<T: 'static>(&mut self, key: &Resource<T>) -> Result<&mut T, ResourceTableError> {
        self.entries
            .get_mut(key.rep() as usize)
            .and_then(Option::as_mut)
            .ok_or(ResourceTableError::NotPresent)?
            .value
            .downcast_mut()
            .ok_or(ResourceTableError::WrongType)
    }

    /// Removes the entry behind `key` and returns its value.
    ///
    /// # Errors
    /// [`ResourceTableError::NotPresent`], [`ResourceTableError::WrongType`],
    /// or [`ResourceTableError::HasChildren`] when children still live.
    pub fn delete<T: 'static>(&mut self, key: Resource<T>) -> Result<T, ResourceTableError> {
        let rep = key.rep();
        let entry = self.entry(rep)?;
        if !entry.value.is::<T>() {
            return Err(ResourceTableError::WrongType);
        }
        if !entry.children.is_empty() {
            return Err(ResourceTableError::HasChildren);
        }
        let entry = self.entries[rep as usize]
            .take()
            .ok_or(ResourceTableError::NotPresent)?;
        self.free.push(rep);
        if let Some(parent) = entry.parent {
            if let Some(Some(p)) = self.entries.get_mut(parent as usize) {
                p.children.retain(|c| *c != rep);
            }
        }
        entry
            .value
            .downcast()
            .map(|b| *b)
            .map_err(|_| ResourceTableError::WrongType)
    }

    /// The values of the children of `parent`.
    ///
    /// # Errors
    /// [`ResourceTableError::NotPresent`] when `parent` is not in the table.
    pub fn iter_children<T: 'static>(
        &self,
        parent: &Resource<T>,
    ) -> Result<impl Iterator<Item = &(dyn Any + Send)>, ResourceTableError> {
        let entry = self.entry(parent.rep())?;
        Ok(entry.children.iter().filter_map(|c| {
            self.entries
                .get(*c as usize)
                .and_then(Option::as_ref)
                .map(|e| &*e.value)
        }))
    }
}

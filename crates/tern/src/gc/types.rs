//! Struct and array types in the API ([`StructType`], [`ArrayType`] and
//! their [`FieldType`]s, whose [`Mutability`] is the one globals use), with later wasmtime's names. A type made by the host
//! is registered in the engine as a `final` type with no supertype, in a
//! recursion group of its own, so it is the very type a module's identical
//! `(type (struct …))` declaration canonicalises to.

use crate::{Engine, Mutability, ValType};
use anyhow::{bail, Result};
use tern_environ::{
    WasmArrayType, WasmCompositeType, WasmFieldType, WasmStorageType, WasmStructType, WasmSubType,
};

/// What a field or array element stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// A packed 8-bit integer (read as `i32`).
    I8,
    /// A packed 16-bit integer (read as `i32`).
    I16,
    /// A full value.
    ValType(ValType),
}

/// A struct field or an array's element type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldType {
    mutability: Mutability,
    element: StorageType,
}

impl FieldType {
    /// A field storing `element`.
    pub fn new(mutability: Mutability, element: StorageType) -> Self {
        Self {
            mutability,
            element,
        }
    }

    /// Whether the field is mutable.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    /// What the field stores.
    pub fn element_type(&self) -> &StorageType {
        &self.element
    }

    fn to_wasm(&self) -> WasmFieldType {
        WasmFieldType {
            element: match &self.element {
                StorageType::I8 => WasmStorageType::I8,
                StorageType::I16 => WasmStorageType::I16,
                StorageType::ValType(v) => WasmStorageType::Val(v.to_wasm()),
            },
            mutable: self.mutability == Mutability::Var,
        }
    }

    fn from_wasm(f: WasmFieldType) -> Self {
        Self {
            mutability: if f.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
            element: match f.element {
                WasmStorageType::I8 => StorageType::I8,
                WasmStorageType::I16 => StorageType::I16,
                WasmStorageType::Val(v) => StorageType::ValType(ValType::from_wasm(v)),
            },
        }
    }
}

/// A struct type registered in an engine.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructType {
    id: u32,
    ty: WasmStructType,
}

impl StructType {
    /// Registers a struct type with `fields` in `engine`.
    ///
    /// # Errors
    /// Fails if a field's reference type names a type of another engine
    /// (a concrete type index the engine does not know).
    pub fn new(engine: &Engine, fields: impl IntoIterator<Item = FieldType>) -> Result<Self> {
        let ty = WasmStructType {
            fields: fields.into_iter().map(|f| f.to_wasm()).collect(),
        };
        let id = register(engine, WasmCompositeType::Struct(ty.clone()))?;
        Ok(Self { id, ty })
    }

    /// The fields, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldType> + '_ {
        self.ty.fields.iter().map(|f| FieldType::from_wasm(*f))
    }

    /// The type of field `index`, if it exists.
    pub fn field(&self, index: usize) -> Option<FieldType> {
        self.ty.fields.get(index).map(|f| FieldType::from_wasm(*f))
    }

    /// The struct type registered under engine id `id`, if it is one.
    pub(crate) fn from_id(engine: &Engine, id: u32) -> Option<Self> {
        match engine.sub_type(id)?.composite {
            WasmCompositeType::Struct(ty) => Some(Self { id, ty }),
            _ => None,
        }
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn wasm(&self) -> &WasmStructType {
        &self.ty
    }
}

/// An array type registered in an engine.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArrayType {
    id: u32,
    ty: WasmArrayType,
}

impl ArrayType {
    /// Registers an array type of `element`s in `engine`.
    ///
    /// # Errors
    /// As for [`StructType::new`].
    pub fn new(engine: &Engine, element: FieldType) -> Result<Self> {
        let ty = WasmArrayType(element.to_wasm());
        let id = register(engine, WasmCompositeType::Array(ty))?;
        Ok(Self { id, ty })
    }

    /// The element type.
    pub fn field_type(&self) -> FieldType {
        FieldType::from_wasm(self.ty.0)
    }

    /// The array type registered under engine id `id`, if it is one.
    pub(crate) fn from_id(engine: &Engine, id: u32) -> Option<Self> {
        match engine.sub_type(id)?.composite {
            WasmCompositeType::Array(ty) => Some(Self { id, ty }),
            _ => None,
        }
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn wasm(&self) -> WasmArrayType {
        self.ty
    }
}

/// Registers `composite` as a final type without supertype in a group of its own.
fn register(engine: &Engine, composite: WasmCompositeType) -> Result<u32> {
    let ty = WasmSubType {
        is_final: true,
        supertype: None,
        composite,
    };
    let mut ok = true;
    ty.map_indices(|i| {
        match i {
            tern_environ::TypeIndex::Engine(id) if engine.sub_type(id).is_some() => {}
            _ => ok = false,
        }
        i
    });
    if !ok {
        bail!("a field type names a type this engine does not know");
    }
    Ok(engine.register_single_type(ty))
}

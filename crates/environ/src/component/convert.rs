//! Converts the validator's component types (ids into wasmparser's type list)
//! into Tern's interned [`ComponentTypes`], caching each id.
//!
//! Conversion is recursive over the type structure; a depth limit turns a
//! pathologically nested type into an error instead of a stack overflow.

use super::types::{
    ComponentItemType, ComponentTypes, CoreModuleType, FuncType, InterfaceType, TypeDef,
};
use anyhow::{bail, Result};
use std::collections::HashMap;
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentDefinedType, ComponentDefinedTypeId, ComponentEntityType,
    ComponentFuncTypeId, ComponentValType, ResourceId,
};
use wasmparser::types::{EntityType, Types};
use wasmparser::PrimitiveValType;

/// How deeply component types may nest before Tern refuses them.
pub const MAX_TYPE_DEPTH: usize = 100;

pub(crate) struct TypeConverter<'a> {
    types: &'a Types,
    pub(crate) out: ComponentTypes,
    defined: HashMap<ComponentDefinedTypeId, InterfaceType>,
    funcs: HashMap<ComponentFuncTypeId, u32>,
    resources: HashMap<ResourceId, u32>,
}

impl<'a> TypeConverter<'a> {
    pub(crate) fn new(types: &'a Types) -> Self {
        Self {
            types,
            out: ComponentTypes::default(),
            defined: HashMap::new(),
            funcs: HashMap::new(),
            resources: HashMap::new(),
        }
    }

    /// The number of resource `id`: its own, or the one it was aliased to.
    pub(crate) fn resource(&mut self, id: ResourceId) -> u32 {
        if let Some(n) = self.resources.get(&id) {
            return *n;
        }
        let n = self.out.resources.len() as u32;
        self.out.resources.push(format!("resource{n}"));
        self.resources.insert(id, n);
        n
    }

    pub(crate) fn val(&mut self, ty: ComponentValType) -> Result<InterfaceType> {
        self.val_at(ty, 0)
    }

    fn val_at(&mut self, ty: ComponentValType, depth: usize) -> Result<InterfaceType> {
        match ty {
            ComponentValType::Primitive(p) => primitive(p, &mut self.out),
            ComponentValType::Type(id) => self.defined(id, depth),
        }
    }

    fn opt(&mut self, ty: Option<ComponentValType>, depth: usize) -> Result<Option<InterfaceType>> {
        ty.map(|t| self.val_at(t, depth)).transpose()
    }

    fn defined(&mut self, id: ComponentDefinedTypeId, depth: usize) -> Result<InterfaceType> {
        if let Some(t) = self.defined.get(&id) {
            return Ok(*t);
        }
        if depth > MAX_TYPE_DEPTH {
            bail!("component type nesting exceeds Tern's limit of {MAX_TYPE_DEPTH}");
        }
        let d = depth + 1;
        let def = match &self.types[id] {
            ComponentDefinedType::Primitive(p) => {
                let t = primitive(*p, &mut self.out)?;
                self.defined.insert(id, t);
                return Ok(t);
            }
            ComponentDefinedType::Record(r) => {
                let mut fields = Vec::new();
                for (name, ty) in r.fields.iter() {
                    fields.push((name.as_str().to_string(), self.val_at(*ty, d)?));
                }
                TypeDef::Record(fields)
            }
            ComponentDefinedType::Variant(v) => {
                let mut cases = Vec::new();
                for (name, case) in v.cases.iter() {
                    cases.push((name.as_str().to_string(), self.opt(case.ty, d)?));
                }
                TypeDef::Variant(cases)
            }
            ComponentDefinedType::List { element, .. } => TypeDef::List(self.val_at(*element, d)?),
            ComponentDefinedType::Map { key, value, .. } => {
                TypeDef::Map(self.val_at(*key, d)?, self.val_at(*value, d)?)
            }
            ComponentDefinedType::FixedLengthList {
                element, length, ..
            } => TypeDef::FixedList(self.val_at(*element, d)?, *length),
            ComponentDefinedType::Tuple(t) => {
                let mut tys = Vec::new();
                for ty in t.types.iter() {
                    tys.push(self.val_at(*ty, d)?);
                }
                TypeDef::Tuple(tys)
            }
            ComponentDefinedType::Flags(names) => {
                TypeDef::Flags(names.iter().map(|n| n.as_str().to_string()).collect())
            }
            ComponentDefinedType::Enum(names) => {
                TypeDef::Enum(names.iter().map(|n| n.as_str().to_string()).collect())
            }
            ComponentDefinedType::Option { ty, .. } => TypeDef::Option(self.val_at(*ty, d)?),
            ComponentDefinedType::Result { ok, err, .. } => TypeDef::Result {
                ok: self.opt(*ok, d)?,
                err: self.opt(*err, d)?,
            },
            ComponentDefinedType::Own(r) => TypeDef::Own(self.resource(r.resource())),
            ComponentDefinedType::Borrow(r) => TypeDef::Borrow(self.resource(r.resource())),
            ComponentDefinedType::Future { ty, .. } => TypeDef::Future(self.opt(*ty, d)?),
            ComponentDefinedType::Stream { ty, .. } => TypeDef::Stream(self.opt(*ty, d)?),
        };
        let t = self.out.intern(def);
        self.defined.insert(id, t);
        Ok(t)
    }

    pub(crate) fn func(&mut self, id: ComponentFuncTypeId) -> Result<u32> {
        if let Some(i) = self.funcs.get(&id) {
            return Ok(*i);
        }
        let f = &self.types[id];
        let (is_async, raw_params, raw_result) = (f.async_, f.params.clone(), f.result);
        let mut params = Vec::new();
        for (name, ty) in raw_params.iter() {
            params.push((name.as_str().to_string(), self.val(*ty)?));
        }
        let result = raw_result.map(|r| self.val(r)).transpose()?;
        let index = self.out.intern_func(FuncType {
            params,
            result,
            is_async,
        });
        self.funcs.insert(id, index);
        Ok(index)
    }

    pub(crate) fn any(&mut self, id: ComponentAnyTypeId) -> Result<ComponentItemType> {
        Ok(match id {
            ComponentAnyTypeId::Resource(r) => {
                ComponentItemType::Resource(self.resource(r.resource()))
            }
            ComponentAnyTypeId::Defined(d) => ComponentItemType::Type(self.defined(d, 0)?),
            ComponentAnyTypeId::Func(f) => ComponentItemType::Func(self.func(f)?),
            ComponentAnyTypeId::Instance(i) => self.entity(ComponentEntityType::Instance(i), 0)?,
            ComponentAnyTypeId::Component(c) => {
                self.entity(ComponentEntityType::Component(c), 0)?
            }
        })
    }

    pub(crate) fn item(&mut self, ty: ComponentEntityType) -> Result<ComponentItemType> {
        self.entity(ty, 0)
    }

    fn entity(&mut self, ty: ComponentEntityType, depth: usize) -> Result<ComponentItemType> {
        if depth > MAX_TYPE_DEPTH {
            bail!("component type nesting exceeds Tern's limit of {MAX_TYPE_DEPTH}");
        }
        let types = self.types;
        Ok(match ty {
            ComponentEntityType::Func(f) => ComponentItemType::Func(self.func(f)?),
            ComponentEntityType::Value(v) => ComponentItemType::Value(self.val(v)?),
            ComponentEntityType::Type { referenced, .. } => self.any(referenced)?,
            ComponentEntityType::Instance(i) => {
                let mut exports = Vec::new();
                for (name, item) in types[i].exports.iter() {
                    exports.push((name.clone(), self.entity(item.ty, depth + 1)?));
                }
                ComponentItemType::Instance(exports)
            }
            ComponentEntityType::Component(c) => {
                let (mut imports, mut exports) = (Vec::new(), Vec::new());
                for (name, item) in types[c].imports.iter() {
                    imports.push((name.clone(), self.entity(item.ty, depth + 1)?));
                }
                for (name, item) in types[c].exports.iter() {
                    exports.push((name.clone(), self.entity(item.ty, depth + 1)?));
                }
                ComponentItemType::Component { imports, exports }
            }
            ComponentEntityType::Module(m) => {
                let m = &types[m];
                ComponentItemType::Module(CoreModuleType {
                    imports: m
                        .imports
                        .iter()
                        .map(|((a, b), t)| (a.clone(), b.clone(), entity_kind(t).to_string()))
                        .collect(),
                    exports: m
                        .exports
                        .iter()
                        .map(|(a, t)| (a.clone(), entity_kind(t).to_string()))
                        .collect(),
                })
            }
        })
    }
}

fn entity_kind(ty: &EntityType) -> &'static str {
    match ty {
        EntityType::Func(_) | EntityType::FuncExact(_) => "func",
        EntityType::Table(_) => "table",
        EntityType::Memory(_) => "memory",
        EntityType::Global(_) => "global",
        EntityType::Tag(_) => "tag",
    }
}

fn primitive(p: PrimitiveValType, out: &mut ComponentTypes) -> Result<InterfaceType> {
    use InterfaceType as I;
    Ok(match p {
        PrimitiveValType::Bool => I::Bool,
        PrimitiveValType::S8 => I::S8,
        PrimitiveValType::U8 => I::U8,
        PrimitiveValType::S16 => I::S16,
        PrimitiveValType::U16 => I::U16,
        PrimitiveValType::S32 => I::S32,
        PrimitiveValType::U32 => I::U32,
        PrimitiveValType::S64 => I::S64,
        PrimitiveValType::U64 => I::U64,
        PrimitiveValType::F32 => I::Float32,
        PrimitiveValType::F64 => I::Float64,
        PrimitiveValType::Char => I::Char,
        PrimitiveValType::String => I::String,
        PrimitiveValType::ErrorContext => out.intern(TypeDef::ErrorContext),
    })
}

//! Component value types as Tern sees them after translation: an interned
//! table of [`TypeDef`]s, each with its canonical-ABI layout computed once
//! (size and alignment in linear memory, flattened core types).
//!
//! Interning is structural, so two structurally equal types get the same
//! index and type equality is index equality; that is what import type
//! checks and `Val` checks compare. The layout rules are the canonical ABI's
//! (CanonicalABI.md: `alignment`, `elem_size`, `flatten_type`,
//! `discriminant_type`, `join`); nothing here touches memory or runs code.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// At most this many core parameters are passed flat; more spill to memory.
pub const MAX_FLAT_PARAMS: usize = 16;
/// At most this many core results are returned flat; more go through memory.
pub const MAX_FLAT_RESULTS: usize = 1;
/// At most this many core parameters are passed flat to an async-lowered function.
pub const MAX_FLAT_ASYNC_PARAMS: usize = 4;

/// A component value type: a primitive, or an index into [`ComponentTypes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InterfaceType {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `u8`
    U8,
    /// `s16`
    S16,
    /// `u16`
    U16,
    /// `s32`
    S32,
    /// `u32`
    U32,
    /// `s64`
    S64,
    /// `u64`
    U64,
    /// `f32`
    Float32,
    /// `f64`
    Float64,
    /// `char`
    Char,
    /// `string`
    String,
    /// A defined type: an index into [`ComponentTypes::defs`].
    Defined(u32),
}

/// The definition of a compound component type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TypeDef {
    /// `list<T>`
    List(InterfaceType),
    /// `list<T, N>` (fixed length)
    FixedList(InterfaceType, u32),
    /// `map<K, V>`: laid out as `list<tuple<K, V>>`.
    Map(InterfaceType, InterfaceType),
    /// `record { name: T, … }`
    Record(Vec<(String, InterfaceType)>),
    /// `tuple<T, …>`
    Tuple(Vec<InterfaceType>),
    /// `variant { case(T?), … }`
    Variant(Vec<(String, Option<InterfaceType>)>),
    /// `enum { case, … }`
    Enum(Vec<String>),
    /// `option<T>`
    Option(InterfaceType),
    /// `result<T?, E?>`
    Result {
        /// The `ok` payload, if any.
        ok: Option<InterfaceType>,
        /// The `error` payload, if any.
        err: Option<InterfaceType>,
    },
    /// `flags { name, … }`
    Flags(Vec<String>),
    /// `own<R>`: the resource's number in [`ComponentTypes::resources`].
    Own(u32),
    /// `borrow<R>`
    Borrow(u32),
    /// `future<T?>` (async; not implemented at runtime)
    Future(Option<InterfaceType>),
    /// `stream<T?>` (async; not implemented at runtime)
    Stream(Option<InterfaceType>),
    /// `error-context` (async; not implemented at runtime)
    ErrorContext,
}

/// A core wasm type that a component value flattens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FlatType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl FlatType {
    /// The canonical ABI's `join`: the slot type that can carry both.
    pub fn join(a: FlatType, b: FlatType) -> FlatType {
        match (a, b) {
            _ if a == b => a,
            (FlatType::I32, FlatType::F32) | (FlatType::F32, FlatType::I32) => FlatType::I32,
            _ => FlatType::I64,
        }
    }
}

/// A type's canonical-ABI layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Bytes the value takes in linear memory (`elem_size`).
    pub size: u32,
    /// Its alignment in linear memory (`alignment`).
    pub align: u32,
    /// Its flattened core types, or `None` when there are more than
    /// [`MAX_FLAT_PARAMS`] (such a value is never passed flat).
    pub flat: Option<Vec<FlatType>>,
    /// Records and tuples: each field's type and offset; maps: the key's and
    /// the value's within an entry. Empty otherwise.
    pub fields: Vec<(InterfaceType, u32)>,
    /// Variants, enums, options, results: each case's payload type.
    pub cases: Vec<Option<InterfaceType>>,
    /// Variant-likes: the payload's offset from the discriminant.
    pub payload_offset: u32,
}

/// A component function type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FuncType {
    /// Named parameters, in order.
    pub params: Vec<(String, InterfaceType)>,
    /// The result, if any.
    pub result: Option<InterfaceType>,
    /// Whether the function is `async` (not implemented at runtime).
    pub is_async: bool,
}

/// A core module's type as a component sees it: its imports and exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreModuleType {
    /// `(module, name, kind)` of each import.
    pub imports: Vec<(String, String, String)>,
    /// `(name, kind)` of each export.
    pub exports: Vec<(String, String)>,
}

/// The type of something a component imports or exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComponentItemType {
    /// A function.
    Func(u32),
    /// An instance, with the types of its exports.
    Instance(Vec<(String, ComponentItemType)>),
    /// A core module.
    Module(CoreModuleType),
    /// A component, with its imports and exports.
    Component {
        /// What it imports.
        imports: Vec<(String, ComponentItemType)>,
        /// What it exports.
        exports: Vec<(String, ComponentItemType)>,
    },
    /// A value type (a `type` import or export).
    Type(InterfaceType),
    /// A resource type: its number in [`ComponentTypes::resources`].
    Resource(u32),
    /// A value import or export (not supported at runtime).
    Value(InterfaceType),
}

/// Every type a component uses, interned, with layouts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ComponentTypes {
    /// The compound types, indexed by [`InterfaceType::Defined`].
    pub defs: Vec<TypeDef>,
    /// The layout of each entry of `defs`.
    pub layouts: Vec<Layout>,
    /// Function types, interned.
    pub funcs: Vec<FuncType>,
    /// A display name for each resource type (its number is the index).
    pub resources: Vec<String>,
    #[serde(skip)]
    def_index: HashMap<TypeDef, u32>,
    #[serde(skip)]
    func_index: HashMap<FuncType, u32>,
}

/// The discriminant of a variant with `cases` cases: its size in bytes.
pub fn discriminant_size(cases: usize) -> u32 {
    if cases <= 1 << 8 {
        1
    } else if cases <= 1 << 16 {
        2
    } else {
        4
    }
}

/// Bytes a `flags` value with `n` flags takes in memory.
pub fn flags_size(n: usize) -> u32 {
    match n {
        0 => 0,
        1..=8 => 1,
        9..=16 => 2,
        _ => 4 * n.div_ceil(32) as u32,
    }
}

/// Rounds `n` up to a multiple of `align` (a power of two).
pub fn align_to(n: u32, align: u32) -> u32 {
    n.div_ceil(align) * align
}

fn cap(flat: Vec<FlatType>) -> Option<Vec<FlatType>> {
    (flat.len() <= MAX_FLAT_PARAMS).then_some(flat)
}

impl ComponentTypes {
    /// Interns `def`, computing its layout, and returns its type.
    pub fn intern(&mut self, def: TypeDef) -> InterfaceType {
        if let Some(i) = self.def_index.get(&def) {
            return InterfaceType::Defined(*i);
        }
        let layout = self.compute_layout(&def);
        let index = self.defs.len() as u32;
        self.def_index.insert(def.clone(), index);
        self.defs.push(def);
        self.layouts.push(layout);
        InterfaceType::Defined(index)
    }

    /// Interns a function type and returns its index in `funcs`.
    pub fn intern_func(&mut self, ty: FuncType) -> u32 {
        if let Some(i) = self.func_index.get(&ty) {
            return *i;
        }
        let index = self.funcs.len() as u32;
        self.func_index.insert(ty.clone(), index);
        self.funcs.push(ty);
        index
    }

    /// Rebuilds the interning maps after deserialization.
    pub fn rebuild_index(&mut self) {
        self.def_index = self
            .defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.clone(), i as u32))
            .collect();
        self.func_index = self
            .funcs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), i as u32))
            .collect();
    }

    /// The definition behind a defined type, or `None` for a primitive.
    pub fn def(&self, ty: InterfaceType) -> Option<&TypeDef> {
        match ty {
            InterfaceType::Defined(i) => self.defs.get(i as usize),
            _ => None,
        }
    }

    /// A function type by index.
    pub fn func(&self, index: u32) -> &FuncType {
        &self.funcs[index as usize]
    }

    /// Size in memory of `ty`.
    pub fn size(&self, ty: InterfaceType) -> u32 {
        self.size_align(ty).0
    }

    /// Alignment in memory of `ty`.
    pub fn align(&self, ty: InterfaceType) -> u32 {
        self.size_align(ty).1
    }

    /// `(size, alignment)` of `ty` in memory.
    pub fn size_align(&self, ty: InterfaceType) -> (u32, u32) {
        use InterfaceType as I;
        match ty {
            I::Bool | I::S8 | I::U8 => (1, 1),
            I::S16 | I::U16 => (2, 2),
            I::S32 | I::U32 | I::Float32 | I::Char => (4, 4),
            I::S64 | I::U64 | I::Float64 => (8, 8),
            I::String => (8, 4),
            I::Defined(i) => {
                let l = &self.layouts[i as usize];
                (l.size, l.align)
            }
        }
    }

    /// The flattened core types of `ty`, or `None` when there are more than 16.
    pub fn flat(&self, ty: InterfaceType) -> Option<&[FlatType]> {
        use InterfaceType as I;
        const I32: &[FlatType] = &[FlatType::I32];
        const I64: &[FlatType] = &[FlatType::I64];
        match ty {
            I::Bool | I::S8 | I::U8 | I::S16 | I::U16 | I::S32 | I::U32 | I::Char => Some(I32),
            I::S64 | I::U64 => Some(I64),
            I::Float32 => Some(&[FlatType::F32]),
            I::Float64 => Some(&[FlatType::F64]),
            I::String => Some(&[FlatType::I32, FlatType::I32]),
            I::Defined(i) => self.layouts[i as usize].flat.as_deref(),
        }
    }

    /// The flattened core types of a list of types, or `None` past `max`.
    pub fn flat_list(
        &self,
        tys: impl IntoIterator<Item = InterfaceType>,
        max: usize,
    ) -> Option<Vec<FlatType>> {
        let mut out = Vec::new();
        for ty in tys {
            out.extend_from_slice(self.flat(ty)?);
            if out.len() > max {
                return None;
            }
        }
        Some(out)
    }

    /// `(size, alignment)` of the tuple of `tys` (how spilled params and
    /// results are laid out), with the offset of each element.
    pub fn tuple_layout(
        &self,
        tys: impl IntoIterator<Item = InterfaceType>,
    ) -> (u32, u32, Vec<u32>) {
        let mut offsets = Vec::new();
        let (mut size, mut align) = (0u32, 1u32);
        for ty in tys {
            let (s, a) = self.size_align(ty);
            size = align_to(size, a);
            offsets.push(size);
            size += s;
            align = align.max(a);
        }
        (align_to(size, align), align, offsets)
    }

    /// Layout of a variant's cases: `(size, alignment, payload offset)`.
    pub fn variant_layout(&self, cases: &[Option<InterfaceType>]) -> (u32, u32, u32) {
        let disc = discriminant_size(cases.len());
        let (mut max_size, mut max_align) = (0u32, 1u32);
        for ty in cases.iter().flatten() {
            let (s, a) = self.size_align(*ty);
            max_size = max_size.max(s);
            max_align = max_align.max(a);
        }
        let align = disc.max(max_align);
        let payload = align_to(disc, max_align);
        (align_to(payload + max_size, align), align, payload)
    }

    /// The joined payload flats of a variant's cases (without the discriminant).
    fn variant_flat(&self, cases: &[Option<InterfaceType>]) -> Option<Vec<FlatType>> {
        let mut flat: Vec<FlatType> = Vec::new();
        for ty in cases.iter().flatten() {
            for (i, f) in self.flat(*ty)?.iter().enumerate() {
                match flat.get_mut(i) {
                    Some(slot) => *slot = FlatType::join(*slot, *f),
                    None => flat.push(*f),
                }
            }
        }
        let mut out = vec![FlatType::I32];
        out.extend(flat);
        cap(out)
    }

    /// The case payload types of a variant-like definition (variant, enum,
    /// option, result), or `None` for other definitions.
    pub fn cases(&self, def: &TypeDef) -> Option<Vec<Option<InterfaceType>>> {
        Some(match def {
            TypeDef::Variant(cases) => cases.iter().map(|(_, t)| *t).collect(),
            TypeDef::Enum(names) => vec![None; names.len()],
            TypeDef::Option(t) => vec![None, Some(*t)],
            TypeDef::Result { ok, err } => vec![*ok, *err],
            _ => return None,
        })
    }

    /// The fields of a record or tuple (the key and value of a map entry):
    /// types and offsets.
    #[inline]
    pub fn fields(&self, ty: InterfaceType) -> &[(InterfaceType, u32)] {
        match ty {
            InterfaceType::Defined(i) => self.layouts.get(i as usize).map_or(&[], |l| &l.fields),
            _ => &[],
        }
    }

    /// The case payload types of a variant-like type (empty for others).
    pub fn case_types(&self, ty: InterfaceType) -> &[Option<InterfaceType>] {
        match ty {
            InterfaceType::Defined(i) => self.layouts.get(i as usize).map_or(&[], |l| &l.cases),
            _ => &[],
        }
    }

    /// The payload offset of a variant-like type.
    pub fn payload_offset(&self, ty: InterfaceType) -> u32 {
        match ty {
            InterfaceType::Defined(i) => {
                self.layouts.get(i as usize).map_or(0, |l| l.payload_offset)
            }
            _ => 0,
        }
    }

    fn fields_of(
        &self,
        tys: impl Iterator<Item = InterfaceType> + Clone,
    ) -> Vec<(InterfaceType, u32)> {
        let (_, _, offsets) = self.tuple_layout(tys.clone());
        tys.zip(offsets).collect()
    }

    fn compute_layout(&self, def: &TypeDef) -> Layout {
        let base = |size: u32, align: u32, flat: Option<Vec<FlatType>>| Layout {
            size,
            align,
            flat,
            fields: Vec::new(),
            cases: Vec::new(),
            payload_offset: 0,
        };
        let i32s = |n: usize| Some(vec![FlatType::I32; n]);
        match def {
            TypeDef::List(_) => base(8, 4, i32s(2)),
            TypeDef::Map(k, v) => Layout {
                fields: self.fields_of([*k, *v].into_iter()),
                ..base(8, 4, i32s(2))
            },
            TypeDef::FixedList(elem, n) => {
                let (s, a) = self.size_align(*elem);
                let flat = self.flat(*elem).and_then(|f| {
                    let total = f.len().checked_mul(*n as usize)?;
                    (total <= MAX_FLAT_PARAMS).then(|| f.repeat(*n as usize))
                });
                base(s.saturating_mul(*n), a, flat)
            }
            TypeDef::Record(fields) => {
                let tys = fields.iter().map(|(_, t)| *t);
                let (size, align, _) = self.tuple_layout(tys.clone());
                Layout {
                    fields: self.fields_of(tys.clone()),
                    ..base(size, align, self.flat_list(tys, MAX_FLAT_PARAMS))
                }
            }
            TypeDef::Tuple(tys) => {
                let tys = tys.iter().copied();
                let (size, align, _) = self.tuple_layout(tys.clone());
                Layout {
                    fields: self.fields_of(tys.clone()),
                    ..base(size, align, self.flat_list(tys, MAX_FLAT_PARAMS))
                }
            }
            TypeDef::Variant(_)
            | TypeDef::Enum(_)
            | TypeDef::Option(_)
            | TypeDef::Result { .. } => {
                let cases = self.cases(def).unwrap_or_default();
                let (size, align, payload_offset) = self.variant_layout(&cases);
                let flat = self.variant_flat(&cases);
                Layout {
                    cases,
                    payload_offset,
                    ..base(size, align, flat)
                }
            }
            TypeDef::Flags(names) => {
                let size = flags_size(names.len());
                base(size, size.clamp(1, 4), i32s(names.len().div_ceil(32)))
            }
            TypeDef::Own(_)
            | TypeDef::Borrow(_)
            | TypeDef::Future(_)
            | TypeDef::Stream(_)
            | TypeDef::ErrorContext => base(4, 4, i32s(1)),
        }
    }

    /// Writes `ty` in WIT-like syntax (`list<record { a: u32 }>`).
    pub fn display(&self, ty: InterfaceType) -> String {
        let mut s = String::new();
        self.write_type(&mut s, ty, 0)
            .expect("writing to a String cannot fail");
        s
    }

    /// Writes a function type in WIT-like syntax (`func(x: u32) -> string`).
    pub fn display_func(&self, index: u32) -> String {
        let f = self.func(index);
        let params: Vec<String> = f
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {}", self.display(*t)))
            .collect();
        let mut s = format!(
            "{}func({})",
            if f.is_async { "async " } else { "" },
            params.join(", ")
        );
        if let Some(r) = f.result {
            s.push_str(" -> ");
            s.push_str(&self.display(r));
        }
        s
    }

    fn write_type(&self, f: &mut String, ty: InterfaceType, depth: usize) -> fmt::Result {
        use fmt::Write;
        use InterfaceType as I;
        let name = match ty {
            I::Bool => "bool",
            I::S8 => "s8",
            I::U8 => "u8",
            I::S16 => "s16",
            I::U16 => "u16",
            I::S32 => "s32",
            I::U32 => "u32",
            I::S64 => "s64",
            I::U64 => "u64",
            I::Float32 => "f32",
            I::Float64 => "f64",
            I::Char => "char",
            I::String => "string",
            I::Defined(_) => "",
        };
        if !name.is_empty() {
            return f.write_str(name);
        }
        let Some(def) = self.def(ty) else {
            return f.write_str("<unknown type>");
        };
        if depth > 32 {
            return f.write_str("…");
        }
        let d = depth + 1;
        match def {
            TypeDef::List(t) => {
                f.write_str("list<")?;
                self.write_type(f, *t, d)?;
                f.write_str(">")
            }
            TypeDef::FixedList(t, n) => {
                f.write_str("list<")?;
                self.write_type(f, *t, d)?;
                write!(f, ", {n}>")
            }
            TypeDef::Map(k, v) => {
                f.write_str("map<")?;
                self.write_type(f, *k, d)?;
                f.write_str(", ")?;
                self.write_type(f, *v, d)?;
                f.write_str(">")
            }
            TypeDef::Record(fields) => {
                f.write_str("record { ")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: ")?;
                    self.write_type(f, *t, d)?;
                }
                f.write_str(" }")
            }
            TypeDef::Tuple(tys) => {
                f.write_str("tuple<")?;
                for (i, t) in tys.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    self.write_type(f, *t, d)?;
                }
                f.write_str(">")
            }
            TypeDef::Variant(cases) => {
                f.write_str("variant { ")?;
                for (i, (n, t)) in cases.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(n)?;
                    if let Some(t) = t {
                        f.write_str("(")?;
                        self.write_type(f, *t, d)?;
                        f.write_str(")")?;
                    }
                }
                f.write_str(" }")
            }
            TypeDef::Enum(names) => write!(f, "enum {{ {} }}", names.join(", ")),
            TypeDef::Flags(names) => write!(f, "flags {{ {} }}", names.join(", ")),
            TypeDef::Option(t) => {
                f.write_str("option<")?;
                self.write_type(f, *t, d)?;
                f.write_str(">")
            }
            TypeDef::Result { ok, err } => {
                f.write_str("result")?;
                if ok.is_none() && err.is_none() {
                    return Ok(());
                }
                f.write_str("<")?;
                match ok {
                    Some(t) => self.write_type(f, *t, d)?,
                    None => f.write_str("_")?,
                }
                if let Some(e) = err {
                    f.write_str(", ")?;
                    self.write_type(f, *e, d)?;
                }
                f.write_str(">")
            }
            TypeDef::Own(r) => write!(f, "own<{}>", self.resource_name(*r)),
            TypeDef::Borrow(r) => write!(f, "borrow<{}>", self.resource_name(*r)),
            TypeDef::Future(t) | TypeDef::Stream(t) => {
                f.write_str(if matches!(def, TypeDef::Future(_)) {
                    "future"
                } else {
                    "stream"
                })?;
                if let Some(t) = t {
                    f.write_str("<")?;
                    self.write_type(f, *t, d)?;
                    f.write_str(">")?;
                }
                Ok(())
            }
            TypeDef::ErrorContext => f.write_str("error-context"),
        }
    }

    fn resource_name(&self, r: u32) -> &str {
        self.resources
            .get(r as usize)
            .map(String::as_str)
            .unwrap_or("resource")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_follow_the_canonical_abi() {
        let mut t = ComponentTypes::default();
        let rec = t.intern(TypeDef::Record(vec![
            ("a".into(), InterfaceType::U8),
            ("b".into(), InterfaceType::U32),
        ]));
        assert_eq!(t.size_align(rec), (8, 4));
        let opt = t.intern(TypeDef::Option(InterfaceType::U64));
        assert_eq!(t.size_align(opt), (16, 8));
        assert_eq!(t.flat(opt), Some(&[FlatType::I32, FlatType::I64][..]));
        let mix = t.intern(TypeDef::Variant(vec![
            ("f".into(), Some(InterfaceType::Float32)),
            ("i".into(), Some(InterfaceType::U32)),
        ]));
        assert_eq!(t.flat(mix), Some(&[FlatType::I32, FlatType::I32][..]));
        let flags = t.intern(TypeDef::Flags((0..40).map(|i| format!("f{i}")).collect()));
        assert_eq!(t.size_align(flags), (8, 4));
        assert_eq!(t.flat(flags).map(|f| f.len()), Some(2));
        let big = t.intern(TypeDef::Tuple(vec![InterfaceType::U32; 17]));
        assert_eq!(t.flat(big), None);
        // Interning is structural.
        assert_eq!(t.intern(TypeDef::Option(InterfaceType::U64)), opt);
        assert_eq!(t.display(mix), "variant { f(f32), i(u32) }");
    }
}

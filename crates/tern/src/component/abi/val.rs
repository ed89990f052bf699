//! Lifting and lowering [`Val`]s by type, flat (core values) or in memory,
//! plus the type check of a `Val` against its expected type.
//!
//! The check runs over the whole value before anything is lowered, so a
//! mismatch allocates nothing in the receiver; it names the path to the
//! offending part (`params[1].points[3].x`).

use super::string::{lift_string, lower_string};
use super::{
    check_discriminant, lift_char, load_discriminant, store_discriminant, trap, Content, FlatDst,
    FlatSrc, LiftContext, LowerContext,
};
use crate::component::{ComponentTrapKind, Val};
use anyhow::{bail, Result};
use std::fmt;
use tern_environ::component::{
    discriminant_size, flags_size, ComponentTypes, InterfaceType, TypeDef,
};

/// A value that does not have the type it is used at.
#[derive(Debug, Clone)]
pub(crate) struct TypeMismatch {
    /// Path segments, innermost first.
    path: Vec<String>,
    message: String,
}

impl fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            return f.write_str(&self.message);
        }
        let path: String = self.path.iter().rev().map(String::as_str).collect();
        write!(
            f,
            "type mismatch at `{}`: {}",
            path.trim_start_matches('.'),
            self.message
        )
    }
}

impl std::error::Error for TypeMismatch {}

/// Prefixes the path of a [`TypeMismatch`] with `segment` (other errors pass through).
pub(crate) fn within(mut e: anyhow::Error, segment: impl FnOnce() -> String) -> anyhow::Error {
    if let Some(m) = e.downcast_mut::<TypeMismatch>() {
        m.path.push(segment());
    }
    e
}

fn mismatch(types: &ComponentTypes, ty: InterfaceType, v: &Val) -> anyhow::Error {
    TypeMismatch {
        path: Vec::new(),
        message: format!("expected {}, found {}", types.display(ty), v.desc()),
    }
    .into()
}

fn mismatch_msg(message: String) -> anyhow::Error {
    TypeMismatch {
        path: Vec::new(),
        message,
    }
    .into()
}

fn unsupported<T>(types: &ComponentTypes, ty: InterfaceType) -> Result<T> {
    trap(
        ComponentTrapKind::Unsupported,
        format!(
            "values of type `{}` are not supported by Tern yet",
            types.display(ty)
        ),
    )
}

/// Checks that `v` has type `ty`.
pub(crate) fn check(types: &ComponentTypes, ty: InterfaceType, v: &Val) -> Result<()> {
    use InterfaceType as I;
    let ok = match (ty, v) {
        (I::Bool, Val::Bool(_))
        | (I::S8, Val::S8(_))
        | (I::U8, Val::U8(_))
        | (I::S16, Val::S16(_))
        | (I::U16, Val::U16(_))
        | (I::S32, Val::S32(_))
        | (I::U32, Val::U32(_))
        | (I::S64, Val::S64(_))
        | (I::U64, Val::U64(_))
        | (I::Float32, Val::Float32(_))
        | (I::Float64, Val::Float64(_))
        | (I::Char, Val::Char(_))
        | (I::String, Val::String(_)) => true,
        (I::Defined(_), v) => return check_defined(types, ty, v),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(mismatch(types, ty, v))
    }
}

fn check_defined(types: &ComponentTypes, ty: InterfaceType, v: &Val) -> Result<()> {
    let Some(def) = types.def(ty) else {
        bail!("unknown type")
    };
    match (def, v) {
        (TypeDef::List(elem), Val::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(types, *elem, item).map_err(|e| within(e, || format!("[{i}]")))?;
            }
        }
        (TypeDef::FixedList(elem, n), Val::List(items)) => {
            if items.len() != *n as usize {
                return Err(mismatch_msg(format!(
                    "expected a list of {n} elements, found {}",
                    items.len()
                )));
            }
            for (i, item) in items.iter().enumerate() {
                check(types, *elem, item).map_err(|e| within(e, || format!("[{i}]")))?;
            }
        }
        (TypeDef::Map(k, val), Val::Map(entries)) => {
            for (i, (key, value)) in entries.iter().enumerate() {
                check(types, *k, key).map_err(|e| within(e, || format!("[{i}].key")))?;
                check(types, *val, value).map_err(|e| within(e, || format!("[{i}].value")))?;
            }
        }
        (TypeDef::Record(fields), Val::Record(vals)) => {
            if fields.len() != vals.len() {
                return Err(mismatch_msg(format!(
                    "expected a record of {} fields, found {}",
                    fields.len(),
                    vals.len()
                )));
            }
            for ((name, fty), (vname, value)) in fields.iter().zip(vals) {
                if name != vname {
                    return Err(mismatch_msg(format!(
                        "expected field `{name}`, found `{vname}`"
                    )));
                }
                check(types, *fty, value).map_err(|e| within(e, || format!(".{name}")))?;
            }
        }
        (TypeDef::Tuple(tys), Val::Tuple(vals)) => {
            if tys.len() != vals.len() {
                return Err(mismatch_msg(format!(
                    "expected a tuple of {} elements, found {}",
                    tys.len(),
                    vals.len()
                )));
            }
            for (i, (t, value)) in tys.iter().zip(vals).enumerate() {
                check(types, *t, value).map_err(|e| within(e, || format!(".{i}")))?;
            }
        }
        (TypeDef::Variant(cases), Val::Variant(name, payload)) => {
            let Some((_, case_ty)) = cases.iter().find(|(n, _)| n == name) else {
                return Err(mismatch_msg(format!(
                    "`{name}` is not a case of {}",
                    types.display(ty)
                )));
            };
            check_payload(types, *case_ty, payload.as_deref())
                .map_err(|e| within(e, || format!(".{name}")))?;
        }
        (TypeDef::Enum(names), Val::Enum(name)) => {
            if !names.contains(name) {
                return Err(mismatch_msg(format!(
                    "`{name}` is not a case of {}",
                    types.display(ty)
                )));
            }
        }
        (TypeDef::Option(t), Val::Option(v)) => {
            if let Some(v) = v {
                check(types, *t, v).map_err(|e| within(e, || ".some".to_string()))?;
            }
        }
        (TypeDef::Result { ok, err }, Val::Result(r)) => match r {
            Ok(v) => check_payload(types, *ok, v.as_deref())
                .map_err(|e| within(e, || ".ok".to_string()))?,
            Err(v) => check_payload(types, *err, v.as_deref())
                .map_err(|e| within(e, || ".err".to_string()))?,
        },
        (TypeDef::Flags(names), Val::Flags(set)) => {
            for name in set {
                if !names.contains(name) {
                    return Err(mismatch_msg(format!(
                        "`{name}` is not a flag of {}",
                        types.display(ty)
                    )));
                }
            }
        }
        (TypeDef::Own(_) | TypeDef::Borrow(_), Val::Resource(_)) => {}
        (
            TypeDef::Own(_)
            | TypeDef::Borrow(_)
            | TypeDef::Future(_)
            | TypeDef::Stream(_)
            | TypeDef::ErrorContext,
            _,
        ) => return unsupported(types, ty),
        _ => return Err(mismatch(types, ty, v)),
    }
    Ok(())
}

fn check_payload(types: &ComponentTypes, ty: Option<InterfaceType>, v: Option<&Val>) -> Result<()> {
    match (ty, v) {
        (None, None) => Ok(()),
        (Some(t), Some(v)) => check(types, t, v),
        (None, Some(_)) => Err(mismatch_msg("expected no payload, found one".to_string())),
        (Some(t), None) => Err(mismatch_msg(format!(
            "expected a payload of type {}, found none",
            types.display(t)
        ))),
    }
}

fn case_index(names: impl Iterator<Item = impl AsRef<str>>, name: &str) -> Result<u32> {
    for (i, n) in names.enumerate() {
        if n.as_ref() == name {
            return Ok(i as u32);
        }
    }
    Err(mismatch_msg(format!("unknown case `{name}`")))
}

/// The case index and payload of a variant-like value of definition `def`.
fn variant_parts<'v>(def: &TypeDef, v: &'v Val) -> Result<(u32, Option<&'v Val>)> {
    Ok(match (def, v) {
        (TypeDef::Variant(cases), Val::Variant(name, payload)) => (
            case_index(cases.iter().map(|(n, _)| n), name)?,
            payload.as_deref(),
        ),
        (TypeDef::Enum(names), Val::Enum(name)) => (case_index(names.iter(), name)?, None),
        (TypeDef::Option(_), Val::Option(v)) => (u32::from(v.is_some()), v.as_deref()),
        (TypeDef::Result { .. }, Val::Result(Ok(v))) => (0, v.as_deref()),
        (TypeDef::Result { .. }, Val::Result(Err(v))) => (1, v.as_deref()),
        _ => {
            return Err(mismatch_msg(format!(
                "expected a variant-like value, found {}",
                v.desc()
            )))
        }
    })
}

/// The bit words of a flags value.
fn flag_words(names: &[String], set: &[String]) -> Result<Vec<u32>> {
    let mut words = vec![0u32; names.len().div_ceil(32)];
    for name in set {
        let i = case_index(names.iter(), name)? as usize;
        words[i / 32] |= 1 << (i % 32);
    }
    Ok(words)
}

fn flags_from_words(names: &[String], words: &[u32]) -> Val {
    let set = names
        .iter()
        .enumerate()
        .filter(|(i, _)| words.get(i / 32).is_some_and(|w| w & (1 << (i % 32)) != 0))
        .map(|(_, n)| n.clone())
        .collect();
    Val::Flags(set)
}

/// Lowers `v` of type `ty` to flat core values.
pub(crate) fn lower_flat(
    cx: &mut LowerContext<'_>,
    ty: InterfaceType,
    v: &Val,
    dst: &mut FlatDst,
) -> Result<()> {
    use InterfaceType as I;
    let bits = match (ty, v) {
        (I::Bool, Val::Bool(b)) => u64::from(*b),
        (I::S8, Val::S8(x)) => u64::from(i32::from(*x) as u32),
        (I::U8, Val::U8(x)) => u64::from(*x),
        (I::S16, Val::S16(x)) => u64::from(i32::from(*x) as u32),
        (I::U16, Val::U16(x)) => u64::from(*x),
        (I::S32, Val::S32(x)) => u64::from(*x as u32),
        (I::U32, Val::U32(x)) => u64::from(*x),
        (I::S64, Val::S64(x)) => *x as u64,
        (I::U64, Val::U64(x)) => *x,
        (I::Float32, Val::Float32(x)) => u64::from(x.to_bits()),
        (I::Float64, Val::Float64(x)) => x.to_bits(),
        (I::Char, Val::Char(c)) => u64::from(u32::from(*c)),
        (I::String, Val::String(s)) => {
            let (ptr, len) = lower_string(cx, s)?;
            dst.push_u32(ptr);
            dst.push_u32(len);
            return Ok(());
        }
        (I::Defined(_), _) => return lower_flat_defined(cx, ty, v, dst),
        _ => return Err(mismatch(cx.types, ty, v)),
    };
    dst.push(bits);
    Ok(())
}

fn lower_flat_defined(
    cx: &mut LowerContext<'_>,
    ty: InterfaceType,
    v: &Val,
    dst: &mut FlatDst,
) -> Result<()> {
    let types = cx.types.clone();
    let Some(def) = types.def(ty) else {
        bail!("unknown type")
    };
    match (def, v) {
        (TypeDef::List(elem), Val::List(items)) => {
            let (ptr, len) = store_list(cx, *elem, items)?;
            dst.push_u32(ptr);
            dst.push_u32(len);
        }
        (TypeDef::Map(k, val), Val::Map(entries)) => {
            let (ptr, len) = store_map(cx, *k, *val, entries)?;
            dst.push_u32(ptr);
            dst.push_u32(len);
        }
        (TypeDef::FixedList(elem, _), Val::List(items)) => {
            for item in items {
                lower_flat(cx, *elem, item, dst)?;
            }
        }
        (TypeDef::Record(fields), Val::Record(vals)) => {
            for ((_, fty), (_, value)) in fields.iter().zip(vals) {
                lower_flat(cx, *fty, value, dst)?;
            }
        }
        (TypeDef::Tuple(tys), Val::Tuple(vals)) => {
            for (t, value) in tys.iter().zip(vals) {
                lower_flat(cx, *t, value, dst)?;
            }
        }
        (TypeDef::Flags(names), Val::Flags(set)) => {
            for w in flag_words(names, set)? {
                dst.push_u32(w);
            }
        }
        (
            TypeDef::Variant(_) | TypeDef::Enum(_) | TypeDef::Option(_) | TypeDef::Result { .. },
            _,
        ) => {
            let (disc, payload) = variant_parts(def, v)?;
            let cases = types.case_types(ty);
            let total = types.flat(ty).map_or(0, |f| f.len());
            let start = dst.len();
            dst.push_u32(disc);
            if let (Some(Some(case_ty)), Some(payload)) = (cases.get(disc as usize), payload) {
                lower_flat(cx, *case_ty, payload, dst)?;
            }
            dst.pad_to(start + total);
        }
        (TypeDef::Own(_) | TypeDef::Borrow(_), Val::Resource(r)) => {
            let h = cx.lower_resource_any(ty, r)?;
            dst.push_u32(h);
        }
        _ => return unsupported_or_mismatch(&types, ty, def, v),
    }
    Ok(())
}

fn unsupported_or_mismatch(
    types: &ComponentTypes,
    ty: InterfaceType,
    def: &TypeDef,
    v: &Val,
) -> Result<()> {
    match def {
        TypeDef::Own(_)
        | TypeDef::Borrow(_)
        | TypeDef::Future(_)
        | TypeDef::Stream(_)
        | TypeDef::ErrorContext => unsupported(types, ty),
        _ => Err(mismatch(types, ty, v)),
    }
}

/// Allocates and writes a list; returns `(ptr, len)`.
fn store_list(cx: &mut LowerContext<'_>, elem: InterfaceType, items: &[Val]) -> Result<(u32, u32)> {
    let (size, align) = cx.types.size_align(elem);
    let ptr = cx.alloc(align, u64::from(size) * items.len() as u64, Content::List)?;
    for (i, item) in items.iter().enumerate() {
        store(cx, elem, item, ptr as usize + i * size as usize)?;
    }
    Ok((ptr, items.len() as u32))
}

fn store_map(
    cx: &mut LowerContext<'_>,
    k: InterfaceType,
    v: InterfaceType,
    entries: &[(Val, Val)],
) -> Result<(u32, u32)> {
    let (size, align, offsets) = cx.types.tuple_layout([k, v]);
    let ptr = cx.alloc(align, u64::from(size) * entries.len() as u64, Content::List)?;
    for (i, (key, value)) in entries.iter().enumerate() {
        let base = ptr as usize + i * size as usize;
        store(cx, k, key, base + offsets[0] as usize)?;
        store(cx, v, value, base + offsets[1] as usize)?;
    }
    Ok((ptr, entries.len() as u32))
}

/// Writes `v` of type `ty` at `offset` of the receiver's memory.
pub(crate) fn store(
    cx: &mut LowerContext<'_>,
    ty: InterfaceType,
    v: &Val,
    offset: usize,
) -> Result<()> {
    use InterfaceType as I;
    match (ty, v) {
        (I::Bool, Val::Bool(b)) => cx.write(offset, &[u8::from(*b)]),
        (I::S8, Val::S8(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::U8, Val::U8(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::S16, Val::S16(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::U16, Val::U16(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::S32, Val::S32(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::U32, Val::U32(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::S64, Val::S64(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::U64, Val::U64(x)) => cx.write(offset, &x.to_le_bytes()),
        (I::Float32, Val::Float32(x)) => cx.write(offset, &x.to_bits().to_le_bytes()),
        (I::Float64, Val::Float64(x)) => cx.write(offset, &x.to_bits().to_le_bytes()),
        (I::Char, Val::Char(c)) => cx.write(offset, &u32::from(*c).to_le_bytes()),
        (I::String, Val::String(s)) => {
            let (ptr, len) = lower_string(cx, s)?;
            cx.write(offset, &ptr.to_le_bytes())?;
            cx.write(offset + 4, &len.to_le_bytes())
        }
        (I::Defined(_), _) => store_defined(cx, ty, v, offset),
        _ => Err(mismatch(cx.types, ty, v)),
    }
}

fn store_defined(
    cx: &mut LowerContext<'_>,
    ty: InterfaceType,
    v: &Val,
    offset: usize,
) -> Result<()> {
    let types = cx.types.clone();
    let Some(def) = types.def(ty) else {
        bail!("unknown type")
    };
    match (def, v) {
        (TypeDef::List(elem), Val::List(items)) => {
            let (ptr, len) = store_list(cx, *elem, items)?;
            cx.write(offset, &ptr.to_le_bytes())?;
            cx.write(offset + 4, &len.to_le_bytes())?;
        }
        (TypeDef::Map(k, val), Val::Map(entries)) => {
            let (ptr, len) = store_map(cx, *k, *val, entries)?;
            cx.write(offset, &ptr.to_le_bytes())?;
            cx.write(offset + 4, &len.to_le_bytes())?;
        }
        (TypeDef::FixedList(elem, _), Val::List(items)) => {
            let size = types.size(*elem) as usize;
            for (i, item) in items.iter().enumerate() {
                store(cx, *elem, item, offset + i * size)?;
            }
        }
        (TypeDef::Record(_), Val::Record(vals)) => {
            for ((_, value), (fty, off)) in vals.iter().zip(types.fields(ty)) {
                store(cx, *fty, value, offset + *off as usize)?;
            }
        }
        (TypeDef::Tuple(_), Val::Tuple(vals)) => {
            for (value, (t, off)) in vals.iter().zip(types.fields(ty)) {
                store(cx, *t, value, offset + *off as usize)?;
            }
        }
        (TypeDef::Flags(names), Val::Flags(set)) => {
            let words = flag_words(names, set)?;
            match flags_size(names.len()) {
                0 => {}
                1 => cx.write(offset, &[words[0] as u8])?,
                2 => cx.write(offset, &(words[0] as u16).to_le_bytes())?,
                _ => {
                    for (i, w) in words.iter().enumerate() {
                        cx.write(offset + 4 * i, &w.to_le_bytes())?;
                    }
                }
            }
        }
        (
            TypeDef::Variant(_) | TypeDef::Enum(_) | TypeDef::Option(_) | TypeDef::Result { .. },
            _,
        ) => {
            let (disc, payload) = variant_parts(def, v)?;
            let cases = types.case_types(ty);
            let payload_offset = types.payload_offset(ty);
            store_discriminant(cx, offset, discriminant_size(cases.len()), disc)?;
            if let (Some(Some(case_ty)), Some(payload)) = (cases.get(disc as usize), payload) {
                store(cx, *case_ty, payload, offset + payload_offset as usize)?;
            }
        }
        (TypeDef::Own(_) | TypeDef::Borrow(_), Val::Resource(r)) => {
            let h = cx.lower_resource_any(ty, r)?;
            cx.write(offset, &h.to_le_bytes())?;
        }
        _ => return unsupported_or_mismatch(&types, ty, def, v),
    }
    Ok(())
}

/// Lifts a value of type `ty` from flat core values.
pub(crate) fn lift_flat(
    cx: &LiftContext<'_>,
    ty: InterfaceType,
    src: &mut FlatSrc<'_>,
) -> Result<Val> {
    use InterfaceType as I;
    Ok(match ty {
        I::Bool => Val::Bool(src.next_u32()? != 0),
        I::S8 => Val::S8(src.next_u32()? as u8 as i8),
        I::U8 => Val::U8(src.next_u32()? as u8),
        I::S16 => Val::S16(src.next_u32()? as u16 as i16),
        I::U16 => Val::U16(src.next_u32()? as u16),
        I::S32 => Val::S32(src.next_u32()? as i32),
        I::U32 => Val::U32(src.next_u32()?),
        I::S64 => Val::S64(src.bits()? as i64),
        I::U64 => Val::U64(src.bits()?),
        I::Float32 => Val::Float32(super::canonicalize_f32(f32::from_bits(src.next_u32()?))),
        I::Float64 => Val::Float64(super::canonicalize_f64(f64::from_bits(src.bits()?))),
        I::Char => Val::Char(lift_char(src.next_u32()?)?),
        I::String => {
            let (ptr, len) = (src.next_u32()?, src.next_u32()?);
            Val::String(lift_string(cx, ptr, len)?)
        }
        I::Defined(_) => lift_flat_defined(cx, ty, src)?,
    })
}

fn lift_flat_defined(
    cx: &LiftContext<'_>,
    ty: InterfaceType,
    src: &mut FlatSrc<'_>,
) -> Result<Val> {
    let types = cx.types;
    let Some(def) = types.def(ty) else {
        bail!("unknown type")
    };
    Ok(match def {
        TypeDef::List(elem) => {
            let (ptr, len) = (src.next_u32()?, src.next_u32()?);
            Val::List(load_list(cx, *elem, ptr, len)?)
        }
        TypeDef::Map(k, v) => {
            let (ptr, len) = (src.next_u32()?, src.next_u32()?);
            Val::Map(load_map(cx, *k, *v, ptr, len)?)
        }
        TypeDef::FixedList(elem, n) => {
            let mut items = Vec::with_capacity(*n as usize);
            for _ in 0..*n {
                items.push(lift_flat(cx, *elem, src)?);
            }
            Val::List(items)
        }
        TypeDef::Record(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for (name, fty) in fields {
                out.push((name.clone(), lift_flat(cx, *fty, src)?));
            }
            Val::Record(out)
        }
        TypeDef::Tuple(tys) => {
            let mut out = Vec::with_capacity(tys.len());
            for t in tys {
                out.push(lift_flat(cx, *t, src)?);
            }
            Val::Tuple(out)
        }
        TypeDef::Flags(names) => {
            let mut words = Vec::new();
            for _ in 0..names.len().div_ceil(32) {
                words.push(src.next_u32()?);
            }
            flags_from_words(names, &words)
        }
        TypeDef::Variant(_) | TypeDef::Enum(_) | TypeDef::Option(_) | TypeDef::Result { .. } => {
            let cases = types.case_types(ty);
            let total = types.flat(ty).map_or(1, |f| f.len());
            let disc = check_discriminant(src.next_u32()?, cases.len())?;
            let mut payload_src = src.take(total - 1)?;
            let payload = match cases[disc] {
                Some(t) => Some(Box::new(lift_flat(cx, t, &mut payload_src)?)),
                None => None,
            };
            variant_val(def, disc, payload)
        }
        TypeDef::Own(_) | TypeDef::Borrow(_) => {
            Val::Resource(cx.lift_resource_any(ty, src.next_u32()?)?)
        }
        _ => return unsupported(types, ty),
    })
}

fn variant_val(def: &TypeDef, disc: usize, payload: Option<Box<Val>>) -> Val {
    match def {
        TypeDef::Variant(cases) => Val::Variant(cases[disc].0.clone(), payload),
        TypeDef::Enum(names) => Val::Enum(names[disc].clone()),
        TypeDef::Option(_) => Val::Option(payload),
        _ if disc == 0 => Val::Result(Ok(payload)),
        _ => Val::Result(Err(payload)),
    }
}

/// Reads a list's elements after checking its range.
fn load_list(cx: &LiftContext<'_>, elem: InterfaceType, ptr: u32, len: u32) -> Result<Vec<Val>> {
    let (size, align) = cx.types.size_align(elem);
    let base = cx.check(ptr, u64::from(size) * u64::from(len), align, Content::List)?;
    guard_zero_sized(size, len)?;
    let mut items = Vec::new();
    reserve(&mut items, len)?;
    for i in 0..len as usize {
        items.push(load(cx, elem, base + i * size as usize)?);
    }
    Ok(items)
}

fn load_map(
    cx: &LiftContext<'_>,
    k: InterfaceType,
    v: InterfaceType,
    ptr: u32,
    len: u32,
) -> Result<Vec<(Val, Val)>> {
    let (size, align, offsets) = cx.types.tuple_layout([k, v]);
    let base = cx.check(ptr, u64::from(size) * u64::from(len), align, Content::List)?;
    guard_zero_sized(size, len)?;
    let mut entries = Vec::new();
    reserve(&mut entries, len)?;
    for i in 0..len as usize {
        let at = base + i * size as usize;
        entries.push((
            load(cx, k, at + offsets[0] as usize)?,
            load(cx, v, at + offsets[1] as usize)?,
        ));
    }
    Ok(entries)
}

/// Reserves room for `len` lifted elements, failing (not aborting) when the
/// host cannot allocate it: a list's length is bounded by the guest's
/// memory, but a `Val` is larger than most elements in memory.
fn reserve<T>(v: &mut Vec<T>, len: u32) -> Result<()> {
    v.try_reserve_exact(len as usize).map_err(|_| {
        anyhow::anyhow!("cannot allocate host memory for a lifted list of {len} elements")
    })
}

/// Zero-sized elements take no memory, so their count is not bounded by it;
/// bound it here so a hostile length cannot make the host allocate without end.
pub(crate) fn guard_zero_sized(size: u32, len: u32) -> Result<()> {
    if size == 0 && len > 1 << 20 {
        return trap(
            ComponentTrapKind::LengthOverflow,
            format!("list of {len} zero-sized elements is too long"),
        );
    }
    Ok(())
}

/// Reads a value of type `ty` at `offset`, which is in bounds.
pub(crate) fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Val> {
    use InterfaceType as I;
    Ok(match ty {
        I::Bool => Val::Bool(cx.load::<1>(offset)?[0] != 0),
        I::S8 => Val::S8(i8::from_le_bytes(cx.load(offset)?)),
        I::U8 => Val::U8(u8::from_le_bytes(cx.load(offset)?)),
        I::S16 => Val::S16(i16::from_le_bytes(cx.load(offset)?)),
        I::U16 => Val::U16(u16::from_le_bytes(cx.load(offset)?)),
        I::S32 => Val::S32(i32::from_le_bytes(cx.load(offset)?)),
        I::U32 => Val::U32(u32::from_le_bytes(cx.load(offset)?)),
        I::S64 => Val::S64(i64::from_le_bytes(cx.load(offset)?)),
        I::U64 => Val::U64(u64::from_le_bytes(cx.load(offset)?)),
        I::Float32 => Val::Float32(super::canonicalize_f32(f32::from_bits(
            cx.load_u32(offset)?,
        ))),
        I::Float64 => Val::Float64(super::canonicalize_f64(f64::from_bits(u64::from_le_bytes(
            cx.load(offset)?,
        )))),
        I::Char => Val::Char(lift_char(cx.load_u32(offset)?)?),
        I::String => {
            let (ptr, len) = (cx.load_u32(offset)?, cx.load_u32(offset + 4)?);
            Val::String(lift_string(cx, ptr, len)?)
        }
        I::Defined(_) => load_defined(cx, ty, offset)?,
    })
}

fn load_defined(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Val> {
    let types = cx.types;
    let Some(def) = types.def(ty) else {
        bail!("unknown type")
    };
    Ok(match def {
        TypeDef::List(elem) => {
            let (ptr, len) = (cx.load_u32(offset)?, cx.load_u32(offset + 4)?);
            Val::List(load_list(cx, *elem, ptr, len)?)
        }
        TypeDef::Map(k, v) => {
            let (ptr, len) = (cx.load_u32(offset)?, cx.load_u32(offset + 4)?);
            Val::Map(load_map(cx, *k, *v, ptr, len)?)
        }
        TypeDef::FixedList(elem, n) => {
            let size = types.size(*elem) as usize;
            let mut items = Vec::with_capacity(*n as usize);
            for i in 0..*n as usize {
                items.push(load(cx, *elem, offset + i * size)?);
            }
            Val::List(items)
        }
        TypeDef::Record(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for ((name, _), (fty, off)) in fields.iter().zip(types.fields(ty)) {
                out.push((name.clone(), load(cx, *fty, offset + *off as usize)?));
            }
            Val::Record(out)
        }
        TypeDef::Tuple(tys) => {
            let mut out = Vec::with_capacity(tys.len());
            for (t, off) in types.fields(ty) {
                out.push(load(cx, *t, offset + *off as usize)?);
            }
            Val::Tuple(out)
        }
        TypeDef::Flags(names) => {
            let words = match flags_size(names.len()) {
                0 => Vec::new(),
                1 => vec![u32::from(cx.load::<1>(offset)?[0])],
                2 => vec![u32::from(u16::from_le_bytes(cx.load(offset)?))],
                n => (0..n as usize / 4)
                    .map(|i| cx.load_u32(offset + 4 * i))
                    .collect::<Result<_>>()?,
            };
            flags_from_words(names, &words)
        }
        TypeDef::Variant(_) | TypeDef::Enum(_) | TypeDef::Option(_) | TypeDef::Result { .. } => {
            let cases = types.case_types(ty);
            let payload_offset = types.payload_offset(ty);
            let disc = load_discriminant(cx, offset, discriminant_size(cases.len()))?;
            let disc = check_discriminant(disc, cases.len())?;
            let payload = match cases[disc] {
                Some(t) => Some(Box::new(load(cx, t, offset + payload_offset as usize)?)),
                None => None,
            };
            variant_val(def, disc, payload)
        }
        TypeDef::Own(_) | TypeDef::Borrow(_) => {
            Val::Resource(cx.lift_resource_any(ty, cx.load_u32(offset)?)?)
        }
        _ => return unsupported(types, ty),
    })
}

//! [`ComponentType`], [`Lift`] and [`Lower`] for Rust's own types, and the
//! helpers that `#[derive]`d records, variants, enums and `flags!` types call.

use super::{
    decode_str, disc_check, disc_load, disc_store, lift_char_bits, lift_str, lower_str, type_error,
    ComponentNamedList, ComponentType, Lift, Lower,
};
use crate::component::abi::val::guard_zero_sized;
use crate::component::abi::{Content, FlatDst, FlatSrc, LiftContext, LowerContext};
use anyhow::{bail, Context as _, Result};
use tern_environ::component::{flags_size, ComponentTypes, InterfaceType, TypeDef};

macro_rules! primitive {
    ($($t:ty => $it:ident, $name:literal, |$v:ident| $lower:expr, |$b:ident| $lift:expr;)*) => {$(
        impl ComponentType for $t {
            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                if ty == InterfaceType::$it { Ok(()) } else { Err(type_error(types, ty, $name)) }
            }
            fn describe() -> String {
                $name.to_string()
            }
        }
        impl Lower for $t {
            fn lower(&self, _: &mut LowerContext<'_>, _: InterfaceType, dst: &mut FlatDst) -> Result<()> {
                let $v = *self;
                dst.push($lower);
                Ok(())
            }
            fn store(&self, cx: &mut LowerContext<'_>, _: InterfaceType, offset: usize) -> Result<()> {
                cx.write(offset, &self.to_le_bytes())
            }
        }
        impl Lift for $t {
            fn lift(_: &LiftContext<'_>, _: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
                let $b = src.bits()?;
                Ok(Canonical::canonical($lift))
            }
            fn load(cx: &LiftContext<'_>, _: InterfaceType, offset: usize) -> Result<Self> {
                Ok(Canonical::canonical(<$t>::from_le_bytes(cx.load(offset)?)))
            }
        }
    )*};
}

/// What lifting does to a primitive after decoding it: floats' NaNs become
/// the canonical NaN, integers stay as they are.
trait Canonical {
    fn canonical(self) -> Self;
}

macro_rules! canonical_identity {
    ($($t:ty),*) => {$(
        impl Canonical for $t {
            fn canonical(self) -> Self {
                self
            }
        }
    )*};
}
canonical_identity!(i8, i16, u16, i32, u32, i64, u64);

impl Canonical for f32 {
    fn canonical(self) -> Self {
        crate::component::abi::canonicalize_f32(self)
    }
}

impl Canonical for f64 {
    fn canonical(self) -> Self {
        crate::component::abi::canonicalize_f64(self)
    }
}

primitive! {
    i8 => S8, "s8", |v| u64::from(i32::from(v) as u32), |b| b as u8 as i8;
    i16 => S16, "s16", |v| u64::from(i32::from(v) as u32), |b| b as u16 as i16;
    u16 => U16, "u16", |v| u64::from(v), |b| b as u16;
    i32 => S32, "s32", |v| u64::from(v as u32), |b| b as u32 as i32;
    u32 => U32, "u32", |v| u64::from(v), |b| b as u32;
    i64 => S64, "s64", |v| v as u64, |b| b as i64;
    u64 => U64, "u64", |v| v, |b| b;
    f32 => Float32, "f32", |v| u64::from(v.to_bits()), |b| f32::from_bits(b as u32);
    f64 => Float64, "f64", |v| v.to_bits(), |b| f64::from_bits(b);
}

impl ComponentType for u8 {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        if ty == InterfaceType::U8 {
            Ok(())
        } else {
            Err(type_error(types, ty, "u8"))
        }
    }
    fn describe() -> String {
        "u8".to_string()
    }
}

impl Lower for u8 {
    fn lower(&self, _: &mut LowerContext<'_>, _: InterfaceType, dst: &mut FlatDst) -> Result<()> {
        dst.push(u64::from(*self));
        Ok(())
    }
    fn store(&self, cx: &mut LowerContext<'_>, _: InterfaceType, offset: usize) -> Result<()> {
        cx.write(offset, &[*self])
    }
    fn store_many(
        items: &[Self],
        cx: &mut LowerContext<'_>,
        _: InterfaceType,
        offset: usize,
    ) -> Result<()> {
        cx.write(offset, items)
    }
}

impl Lift for u8 {
    fn lift(_: &LiftContext<'_>, _: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        Ok(src.bits()? as u8)
    }
    fn load(cx: &LiftContext<'_>, _: InterfaceType, offset: usize) -> Result<Self> {
        Ok(cx.load::<1>(offset)?[0])
    }
    fn load_many(
        cx: &LiftContext<'_>,
        _: InterfaceType,
        offset: usize,
        len: usize,
    ) -> Result<Vec<Self>> {
        Ok(cx.bytes(offset, len)?.to_vec())
    }
}

impl ComponentType for bool {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        if ty == InterfaceType::Bool {
            Ok(())
        } else {
            Err(type_error(types, ty, "bool"))
        }
    }
    fn describe() -> String {
        "bool".to_string()
    }
}

impl Lower for bool {
    fn lower(&self, _: &mut LowerContext<'_>, _: InterfaceType, dst: &mut FlatDst) -> Result<()> {
        dst.push(u64::from(*self));
        Ok(())
    }
    fn store(&self, cx: &mut LowerContext<'_>, _: InterfaceType, offset: usize) -> Result<()> {
        cx.write(offset, &[u8::from(*self)])
    }
}

impl Lift for bool {
    fn lift(_: &LiftContext<'_>, _: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        Ok(src.next_u32()? != 0)
    }
    fn load(cx: &LiftContext<'_>, _: InterfaceType, offset: usize) -> Result<Self> {
        Ok(cx.load::<1>(offset)?[0] != 0)
    }
}

impl ComponentType for char {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        if ty == InterfaceType::Char {
            Ok(())
        } else {
            Err(type_error(types, ty, "char"))
        }
    }
    fn describe() -> String {
        "char".to_string()
    }
}

impl Lower for char {
    fn lower(&self, _: &mut LowerContext<'_>, _: InterfaceType, dst: &mut FlatDst) -> Result<()> {
        dst.push(u64::from(u32::from(*self)));
        Ok(())
    }
    fn store(&self, cx: &mut LowerContext<'_>, _: InterfaceType, offset: usize) -> Result<()> {
        cx.write(offset, &u32::from(*self).to_le_bytes())
    }
}

impl Lift for char {
    fn lift(_: &LiftContext<'_>, _: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        lift_char_bits(src.next_u32()?)
    }
    fn load(cx: &LiftContext<'_>, _: InterfaceType, offset: usize) -> Result<Self> {
        lift_char_bits(cx.load_u32(offset)?)
    }
}

fn string_typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
    if ty == InterfaceType::String {
        Ok(())
    } else {
        Err(type_error(types, ty, "string"))
    }
}

fn lower_string_flat(cx: &mut LowerContext<'_>, s: &str, dst: &mut FlatDst) -> Result<()> {
    let (ptr, len) = lower_str(cx, s)?;
    dst.push_u32(ptr);
    dst.push_u32(len);
    Ok(())
}

fn store_string(cx: &mut LowerContext<'_>, s: &str, offset: usize) -> Result<()> {
    let (ptr, len) = lower_str(cx, s)?;
    cx.write(offset, &ptr.to_le_bytes())?;
    cx.write(offset + 4, &len.to_le_bytes())
}

macro_rules! string_like {
    ($($t:ty),*) => {$(
        impl ComponentType for $t {
            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                string_typecheck(ty, types)
            }
            fn describe() -> String {
                "string".to_string()
            }
        }
        impl Lower for $t {
            fn lower(&self, cx: &mut LowerContext<'_>, _: InterfaceType, dst: &mut FlatDst) -> Result<()> {
                lower_string_flat(cx, self, dst)
            }
            fn store(&self, cx: &mut LowerContext<'_>, _: InterfaceType, offset: usize) -> Result<()> {
                store_string(cx, self, offset)
            }
        }
    )*};
}

string_like!(String, str, Box<str>);

impl Lift for String {
    fn lift(cx: &LiftContext<'_>, _: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        let (ptr, len) = (src.next_u32()?, src.next_u32()?);
        lift_str(cx, ptr, len)
    }
    fn load(cx: &LiftContext<'_>, _: InterfaceType, offset: usize) -> Result<Self> {
        decode_str(cx, cx.load_u32(offset)?, cx.load_u32(offset + 4)?)
    }
}

impl Lift for Box<str> {
    fn lift(cx: &LiftContext<'_>, ty: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        Ok(String::lift(cx, ty, src)?.into_boxed_str())
    }
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
        Ok(String::load(cx, ty, offset)?.into_boxed_str())
    }
}

impl<T: ComponentType + ?Sized> ComponentType for &T {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        T::typecheck(ty, types)
    }
    fn describe() -> String {
        T::describe()
    }
}

impl<T: Lower + ?Sized> Lower for &T {
    fn lower(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, dst: &mut FlatDst) -> Result<()> {
        (**self).lower(cx, ty, dst)
    }
    fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()> {
        (**self).store(cx, ty, offset)
    }
}

fn list_elem(ty: InterfaceType, types: &ComponentTypes, rust: &str) -> Result<InterfaceType> {
    match types.def(ty) {
        Some(TypeDef::List(elem)) => Ok(*elem),
        _ => Err(type_error(types, ty, rust)),
    }
}

fn list_typecheck<T: ComponentType>(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
    let elem = list_elem(ty, types, &format!("list<{}>", T::describe()))?;
    T::typecheck(elem, types).context("in a list element")
}

fn store_slice<T: Lower>(
    cx: &mut LowerContext<'_>,
    ty: InterfaceType,
    items: &[T],
) -> Result<(u32, u32)> {
    let elem = list_elem(ty, cx.types(), "list")?;
    let (size, align) = cx.types().size_align(elem);
    let ptr = cx.alloc(align, u64::from(size) * items.len() as u64, Content::List)?;
    T::store_many(items, cx, elem, ptr as usize)?;
    Ok((ptr, items.len() as u32))
}

fn load_vec<T: Lift>(
    cx: &LiftContext<'_>,
    ty: InterfaceType,
    ptr: u32,
    len: u32,
) -> Result<Vec<T>> {
    let elem = list_elem(ty, cx.types(), "list")?;
    let (size, align) = cx.types().size_align(elem);
    let offset = cx.check(ptr, u64::from(size) * u64::from(len), align, Content::List)?;
    guard_zero_sized(size, len)?;
    T::load_many(cx, elem, offset, len as usize)
}

macro_rules! list_like {
    ($($t:ty),*) => {$(
        impl<T: ComponentType> ComponentType for $t {
            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                list_typecheck::<T>(ty, types)
            }
            fn describe() -> String {
                format!("list<{}>", T::describe())
            }
        }
        impl<T: Lower> Lower for $t {
            fn lower(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, dst: &mut FlatDst) -> Result<()> {
                let (ptr, len) = store_slice(cx, ty, self)?;
                dst.push_u32(ptr);
                dst.push_u32(len);
                Ok(())
            }
            fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()> {
                let (ptr, len) = store_slice(cx, ty, self)?;
                cx.write(offset, &ptr.to_le_bytes())?;
                cx.write(offset + 4, &len.to_le_bytes())
            }
        }
    )*};
}

list_like!(Vec<T>, [T], Box<[T]>);

impl<T: Lift> Lift for Vec<T> {
    const BORROWS: bool = T::BORROWS;
    fn lift(cx: &LiftContext<'_>, ty: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        let (ptr, len) = (src.next_u32()?, src.next_u32()?);
        load_vec(cx, ty, ptr, len)
    }
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
        load_vec(cx, ty, cx.load_u32(offset)?, cx.load_u32(offset + 4)?)
    }
}

/// The layout of a variant-like type (variant, enum, option, result), for
/// lifting and lowering it case by case without allocating.
#[derive(Debug, Clone, Copy)]
pub struct VariantInfo {
    ty: InterfaceType,
    cases: usize,
    flat_len: usize,
    payload_offset: u32,
}

impl VariantInfo {
    /// The layout of variant-like type `ty`.
    ///
    /// # Errors
    /// Fails when `ty` is not variant-like.
    pub fn new(types: &ComponentTypes, ty: InterfaceType) -> Result<Self> {
        let cases = types.case_types(ty).len();
        if cases == 0 {
            bail!("`{}` is not a variant type", types.display(ty));
        }
        let flat_len = types.flat(ty).map_or(0, |f| f.len());
        Ok(Self {
            ty,
            cases,
            flat_len,
            payload_offset: types.payload_offset(ty),
        })
    }

    /// The payload type of case `disc`, which must have one.
    ///
    /// # Errors
    /// Fails when the case has no payload.
    pub fn payload(&self, types: &ComponentTypes, disc: usize) -> Result<InterfaceType> {
        types
            .case_types(self.ty)
            .get(disc)
            .copied()
            .flatten()
            .context("variant case has no payload")
    }

    /// Lowers case `disc`; `payload` lowers the payload when the case has one.
    ///
    /// # Errors
    /// As `payload`.
    pub fn lower_case(
        &self,
        cx: &mut LowerContext<'_>,
        dst: &mut FlatDst,
        disc: u32,
        payload: impl FnOnce(&mut LowerContext<'_>, InterfaceType, &mut FlatDst) -> Result<()>,
    ) -> Result<()> {
        let start = dst.len();
        dst.push_u32(disc);
        let ty = cx
            .types()
            .case_types(self.ty)
            .get(disc as usize)
            .copied()
            .flatten();
        if let Some(t) = ty {
            payload(cx, t, dst)?;
        }
        dst.pad_to(start + self.flat_len);
        Ok(())
    }

    /// Stores case `disc` at `offset`; `payload` stores the payload.
    ///
    /// # Errors
    /// As `payload`.
    pub fn store_case(
        &self,
        cx: &mut LowerContext<'_>,
        offset: usize,
        disc: u32,
        payload: impl FnOnce(&mut LowerContext<'_>, InterfaceType, usize) -> Result<()>,
    ) -> Result<()> {
        disc_store(cx, offset, self.cases, disc)?;
        let ty = cx
            .types()
            .case_types(self.ty)
            .get(disc as usize)
            .copied()
            .flatten();
        if let Some(t) = ty {
            payload(cx, t, offset + self.payload_offset as usize)?;
        }
        Ok(())
    }

    /// Lifts the discriminant (checked) and returns it with a source over the payload slots.
    ///
    /// # Errors
    /// Traps on a discriminant out of range.
    pub fn lift_case<'a>(&self, src: &mut FlatSrc<'a>) -> Result<(usize, FlatSrc<'a>)> {
        let disc = disc_check(src.next_u32()?, self.cases)?;
        let payload = src.take(self.flat_len.saturating_sub(1))?;
        Ok((disc, payload))
    }

    /// Loads the discriminant (checked) and returns it with the payload's offset.
    ///
    /// # Errors
    /// Traps on a discriminant out of range.
    pub fn load_case(&self, cx: &LiftContext<'_>, offset: usize) -> Result<(usize, usize)> {
        let disc = disc_check(disc_load(cx, offset, self.cases)?, self.cases)?;
        Ok((disc, offset + self.payload_offset as usize))
    }
}

impl<T: ComponentType> ComponentType for Option<T> {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        match types.def(ty) {
            Some(TypeDef::Option(t)) => T::typecheck(*t, types),
            _ => Err(type_error(types, ty, &Self::describe())),
        }
    }
    fn describe() -> String {
        format!("option<{}>", T::describe())
    }
}

impl<T: Lower> Lower for Option<T> {
    fn lower(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, dst: &mut FlatDst) -> Result<()> {
        let info = VariantInfo::new(cx.types(), ty)?;
        match self {
            None => info.lower_case(cx, dst, 0, |_, _, _| Ok(())),
            Some(v) => info.lower_case(cx, dst, 1, |cx, t, dst| v.lower(cx, t, dst)),
        }
    }
    fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()> {
        let info = VariantInfo::new(cx.types(), ty)?;
        match self {
            None => info.store_case(cx, offset, 0, |_, _, _| Ok(())),
            Some(v) => info.store_case(cx, offset, 1, |cx, t, off| v.store(cx, t, off)),
        }
    }
}

impl<T: Lift> Lift for Option<T> {
    const BORROWS: bool = T::BORROWS;
    fn lift(cx: &LiftContext<'_>, ty: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        let info = VariantInfo::new(cx.types(), ty)?;
        let (disc, mut p) = info.lift_case(src)?;
        Ok(if disc == 0 {
            None
        } else {
            Some(T::lift(cx, info.payload(cx.types(), 1)?, &mut p)?)
        })
    }
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
        let info = VariantInfo::new(cx.types(), ty)?;
        let (disc, at) = info.load_case(cx, offset)?;
        Ok(if disc == 0 {
            None
        } else {
            Some(T::load(cx, info.payload(cx.types(), 1)?, at)?)
        })
    }
}

fn payload_typecheck<T: ComponentType>(
    ty: Option<InterfaceType>,
    types: &ComponentTypes,
) -> Result<()> {
    match (ty, T::IS_UNIT) {
        (None, true) => Ok(()),
        (Some(t), false) => T::typecheck(t, types),
        (None, false) => bail!("expected no payload, Rust type has `{}`", T::describe()),
        (Some(t), true) => bail!(
            "expected payload `{}`, Rust type has none",
            types.display(t)
        ),
    }
}

impl<T: ComponentType, E: ComponentType> ComponentType for Result<T, E> {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        match types.def(ty) {
            Some(TypeDef::Result { ok, err }) => {
                payload_typecheck::<T>(*ok, types).context("in the `ok` payload")?;
                payload_typecheck::<E>(*err, types).context("in the `error` payload")
            }
            _ => Err(type_error(types, ty, &Self::describe())),
        }
    }
    fn describe() -> String {
        let part = |unit: bool, d: String| if unit { "_".to_string() } else { d };
        format!(
            "result<{}, {}>",
            part(T::IS_UNIT, T::describe()),
            part(E::IS_UNIT, E::describe())
        )
    }
}

impl<T: Lower, E: Lower> Lower for Result<T, E> {
    fn lower(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, dst: &mut FlatDst) -> Result<()> {
        let info = VariantInfo::new(cx.types(), ty)?;
        match self {
            Ok(v) => info.lower_case(cx, dst, 0, |cx, t, dst| v.lower(cx, t, dst)),
            Err(e) => info.lower_case(cx, dst, 1, |cx, t, dst| e.lower(cx, t, dst)),
        }
    }
    fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()> {
        let info = VariantInfo::new(cx.types(), ty)?;
        match self {
            Ok(v) => info.store_case(cx, offset, 0, |cx, t, off| v.store(cx, t, off)),
            Err(e) => info.store_case(cx, offset, 1, |cx, t, off| e.store(cx, t, off)),
        }
    }
}

fn lift_payload<T: Lift>(
    cx: &LiftContext<'_>,
    info: &VariantInfo,
    disc: usize,
    src: &mut FlatSrc<'_>,
) -> Result<T> {
    if T::IS_UNIT {
        return T::lift_list(cx, &[], src);
    }
    T::lift(cx, info.payload(cx.types(), disc)?, src)
}

fn load_payload<T: Lift>(
    cx: &LiftContext<'_>,
    info: &VariantInfo,
    disc: usize,
    at: usize,
) -> Result<T> {
    if T::IS_UNIT {
        return T::lift_list(cx, &[], &mut FlatSrc::new(&[]));
    }
    T::load(cx, info.payload(cx.types(), disc)?, at)
}

impl<T: Lift, E: Lift> Lift for Result<T, E> {
    const BORROWS: bool = T::BORROWS || E::BORROWS;
    fn lift(cx: &LiftContext<'_>, ty: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        let info = VariantInfo::new(cx.types(), ty)?;
        let (disc, mut p) = info.lift_case(src)?;
        Ok(if disc == 0 {
            Ok(lift_payload(cx, &info, 0, &mut p)?)
        } else {
            Err(lift_payload(cx, &info, 1, &mut p)?)
        })
    }
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
        let info = VariantInfo::new(cx.types(), ty)?;
        let (disc, at) = info.load_case(cx, offset)?;
        Ok(if disc == 0 {
            Ok(load_payload(cx, &info, 0, at)?)
        } else {
            Err(load_payload(cx, &info, 1, at)?)
        })
    }
}

fn tuple_types(
    ty: InterfaceType,
    types: &ComponentTypes,
    rust: &str,
) -> Result<Vec<InterfaceType>> {
    match types.def(ty) {
        Some(TypeDef::Tuple(tys)) => Ok(tys.clone()),
        _ => Err(type_error(types, ty, rust)),
    }
}

macro_rules! tuples {
    ($($n:tt: ($($t:ident $i:tt),*);)*) => {$(
        #[allow(unused_variables, reason = "empty tuple")]
        impl<$($t: ComponentType),*> ComponentType for ($($t,)*) {
            const IS_UNIT: bool = $n == 0;
            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                let tys = tuple_types(ty, types, &Self::describe())?;
                Self::typecheck_list(&tys, types)
            }
            fn describe() -> String {
                let parts: Vec<String> = vec![$($t::describe()),*];
                format!("tuple<{}>", parts.join(", "))
            }
        }

        #[allow(unused_variables, unused_mut, reason = "empty tuple")]
        impl<$($t: ComponentType),*> ComponentNamedList for ($($t,)*) {
            fn typecheck_list(tys: &[InterfaceType], types: &ComponentTypes) -> Result<()> {
                if tys.len() != $n {
                    bail!("expected {} values, Rust tuple has {}", tys.len(), $n);
                }
                $($t::typecheck(tys[$i], types).with_context(|| format!("in value {}", $i))?;)*
                Ok(())
            }
            fn describe_list() -> String {
                let parts: Vec<String> = vec![$($t::describe()),*];
                format!("({})", parts.join(", "))
            }
        }

        #[allow(unused_variables, reason = "empty tuple")]
        impl<$($t: Lower),*> Lower for ($($t,)*) {
            fn lower(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, dst: &mut FlatDst) -> Result<()> {
                let tys = tuple_types(ty, cx.types(), "tuple")?;
                self.lower_list(cx, &tys, dst)
            }
            fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()> {
                if cx.types().fields(ty).len() != $n {
                    return Err(type_error(cx.types(), ty, "tuple"));
                }
                $(let (t, off) = cx.types().fields(ty)[$i];
                self.$i.store(cx, t, offset + off as usize)?;)*
                Ok(())
            }
            fn lower_list(&self, cx: &mut LowerContext<'_>, tys: &[InterfaceType], dst: &mut FlatDst) -> Result<()> {
                if tys.len() != $n {
                    bail!("expected {} values, Rust tuple has {}", tys.len(), $n);
                }
                $(self.$i.lower(cx, tys[$i], dst)?;)*
                Ok(())
            }
            fn store_list(&self, cx: &mut LowerContext<'_>, tys: &[InterfaceType], offset: usize) -> Result<()> {
                if tys.len() != $n {
                    bail!("expected {} values, Rust tuple has {}", tys.len(), $n);
                }
                let (_, _, offsets) = cx.types().tuple_layout(tys.iter().copied());
                $(self.$i.store(cx, tys[$i], offset + offsets[$i] as usize)?;)*
                Ok(())
            }
        }

        #[allow(unused_variables, clippy::unused_unit, reason = "empty tuple")]
        impl<$($t: Lift),*> Lift for ($($t,)*) {
            const BORROWS: bool = false $(|| $t::BORROWS)*;
            fn lift(cx: &LiftContext<'_>, ty: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
                let tys = tuple_types(ty, cx.types(), "tuple")?;
                Self::lift_list(cx, &tys, src)
            }
            fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
                let fields = cx.types().fields(ty);
                if fields.len() != $n {
                    return Err(type_error(cx.types(), ty, "tuple"));
                }
                Ok(($($t::load(cx, fields[$i].0, offset + fields[$i].1 as usize)?,)*))
            }
            fn lift_list(cx: &LiftContext<'_>, tys: &[InterfaceType], src: &mut FlatSrc<'_>) -> Result<Self> {
                if tys.len() != $n {
                    bail!("expected {} values, Rust tuple has {}", tys.len(), $n);
                }
                Ok(($($t::lift(cx, tys[$i], src)?,)*))
            }
            fn load_list(cx: &LiftContext<'_>, tys: &[InterfaceType], offset: usize) -> Result<Self> {
                if tys.len() != $n {
                    bail!("expected {} values, Rust tuple has {}", tys.len(), $n);
                }
                let (_, _, offsets) = cx.types().tuple_layout(tys.iter().copied());
                Ok(($($t::load(cx, tys[$i], offset + offsets[$i] as usize)?,)*))
            }
        }
    )*};
}

tuples! {
    0: ();
    1: (A 0);
    2: (A 0, B 1);
    3: (A 0, B 1, C 2);
    4: (A 0, B 1, C 2, D 3);
    5: (A 0, B 1, C 2, D 3, E 4);
    6: (A 0, B 1, C 2, D 3, E 4, F 5);
    7: (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    8: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    9: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    10: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    11: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    12: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
    13: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
    14: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
    15: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
    16: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
    17: (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16);
}

/// A typecheck function, as the derive macros pass them.
pub type TypecheckFn = fn(InterfaceType, &ComponentTypes) -> Result<()>;

/// Checks a `#[component(record)]` struct: same field names, in order, with
/// matching types.
///
/// # Errors
/// Names the first difference.
pub fn typecheck_record(
    ty: InterfaceType,
    types: &ComponentTypes,
    fields: &[(&str, TypecheckFn)],
) -> Result<()> {
    let Some(TypeDef::Record(actual)) = types.def(ty) else {
        bail!("expected a record, component has `{}`", types.display(ty));
    };
    if actual.len() != fields.len() {
        bail!(
            "expected a record of {} fields, component's has {}",
            fields.len(),
            actual.len()
        );
    }
    for ((name, check), (aname, aty)) in fields.iter().zip(actual) {
        if name != aname {
            bail!("expected record field `{name}`, component has `{aname}`");
        }
        check(*aty, types).with_context(|| format!("in record field `{name}`"))?;
    }
    Ok(())
}

/// Checks a `#[component(variant)]` enum: same case names, in order, with
/// payloads present in the same cases and of matching types.
///
/// # Errors
/// Names the first difference.
pub fn typecheck_variant(
    ty: InterfaceType,
    types: &ComponentTypes,
    cases: &[(&str, Option<TypecheckFn>)],
) -> Result<()> {
    let Some(TypeDef::Variant(actual)) = types.def(ty) else {
        bail!("expected a variant, component has `{}`", types.display(ty));
    };
    if actual.len() != cases.len() {
        bail!(
            "expected a variant of {} cases, component's has {}",
            cases.len(),
            actual.len()
        );
    }
    for ((name, check), (aname, aty)) in cases.iter().zip(actual) {
        if name != aname {
            bail!("expected variant case `{name}`, component has `{aname}`");
        }
        match (check, aty) {
            (None, None) => {}
            (Some(check), Some(t)) => {
                check(*t, types).with_context(|| format!("in variant case `{name}`"))?
            }
            _ => bail!("variant case `{name}` has a payload on one side only"),
        }
    }
    Ok(())
}

/// Checks a `#[component(enum)]` enum: same case names, in order.
///
/// # Errors
/// Names the first difference.
pub fn typecheck_enum(ty: InterfaceType, types: &ComponentTypes, names: &[&str]) -> Result<()> {
    match types.def(ty) {
        Some(TypeDef::Enum(actual))
            if actual.iter().map(String::as_str).eq(names.iter().copied()) =>
        {
            Ok(())
        }
        _ => bail!(
            "expected `enum {{ {} }}`, component has `{}`",
            names.join(", "),
            types.display(ty)
        ),
    }
}

/// Checks a `flags!` type: same flag names, in order.
///
/// # Errors
/// Names both types.
pub fn typecheck_flags(ty: InterfaceType, types: &ComponentTypes, names: &[&str]) -> Result<()> {
    match types.def(ty) {
        Some(TypeDef::Flags(actual))
            if actual.iter().map(String::as_str).eq(names.iter().copied()) =>
        {
            Ok(())
        }
        _ => bail!(
            "expected `flags {{ {} }}`, component has `{}`",
            names.join(", "),
            types.display(ty)
        ),
    }
}

/// Field `i` of record (or tuple) type `ty`: its type and offset.
///
/// # Errors
/// Fails when the type has no such field (derived code indexes through this
/// rather than panicking when used without a type check).
#[inline]
pub fn field(
    types: &ComponentTypes,
    ty: InterfaceType,
    i: usize,
) -> Result<(InterfaceType, usize)> {
    match types.fields(ty).get(i) {
        Some((t, o)) => Ok((*t, *o as usize)),
        None => Err(no_field(types, ty, i)),
    }
}

#[cold]
fn no_field(types: &ComponentTypes, ty: InterfaceType, i: usize) -> anyhow::Error {
    anyhow::anyhow!("`{}` has no field {i}", types.display(ty))
}

/// The error for a case number a derived variant does not have.
///
/// # Errors
/// Always.
pub fn bad_case<T>(disc: usize) -> Result<T> {
    bail!("variant case {disc} has no Rust counterpart")
}

/// Lowers flags given as 32-bit words.
///
/// # Errors
/// Never in practice; kept fallible like every lowering.
pub fn flags_lower(words: &[u32], dst: &mut FlatDst) -> Result<()> {
    for w in words {
        dst.push_u32(*w);
    }
    Ok(())
}

/// Stores flags given as words at `offset`, in the type's memory size.
///
/// # Errors
/// Fails only when `offset` is out of bounds.
pub fn flags_store(
    words: &[u32],
    n: usize,
    cx: &mut LowerContext<'_>,
    offset: usize,
) -> Result<()> {
    match flags_size(n) {
        0 => Ok(()),
        1 => cx.write(offset, &[words[0] as u8]),
        2 => cx.write(offset, &(words[0] as u16).to_le_bytes()),
        _ => {
            for (i, w) in words.iter().enumerate() {
                cx.write(offset + 4 * i, &w.to_le_bytes())?;
            }
            Ok(())
        }
    }
}

fn mask(words: &mut [u32], n: usize) {
    for (i, w) in words.iter_mut().enumerate() {
        let bits = n.saturating_sub(i * 32).min(32);
        if bits < 32 {
            *w &= (1u32 << bits) - 1;
        }
    }
}

/// Lifts `n` flags as words (undefined bits cleared).
///
/// # Errors
/// Fails only on an internal inconsistency.
pub fn flags_lift(n: usize, src: &mut FlatSrc<'_>) -> Result<Vec<u32>> {
    let mut words = (0..n.div_ceil(32))
        .map(|_| src.next_u32())
        .collect::<Result<Vec<_>>>()?;
    mask(&mut words, n);
    Ok(words)
}

/// Loads `n` flags as words from `offset` (undefined bits cleared).
///
/// # Errors
/// Fails only when `offset` is out of bounds.
pub fn flags_load(n: usize, cx: &LiftContext<'_>, offset: usize) -> Result<Vec<u32>> {
    let mut words = match flags_size(n) {
        0 => Vec::new(),
        1 => vec![u32::from(cx.load::<1>(offset)?[0])],
        2 => vec![u32::from(u16::from_le_bytes(cx.load(offset)?))],
        size => (0..size as usize / 4)
            .map(|i| cx.load_u32(offset + 4 * i))
            .collect::<Result<_>>()?,
    };
    mask(&mut words, n);
    Ok(words)
}

//! The host side of the GC campaign's values ([`crate::gc_self`]): the
//! arguments passed to exported functions, and the structural dump through
//! which results, globals, table entries and exception payloads are compared
//! across setups (a tree of i31 values, objects' field and element storage
//! types and values, within a budget; function and host references by
//! null-ness only; no engine type indices, which differ between engines).

use crate::rng::Rng;
use crate::value::{arbitrary_value, Kind};
use anyhow::Result;
use std::fmt::{self, Write as _};
use tern::{AnyRef, HeapType, StorageType, Store, Tag, Val, ValType, I31};

/// Objects a dump visits at most, per value.
pub const DUMP_OBJECTS: u32 = 200;

/// Array elements a dump shows at most, per array (the length is always shown).
pub const DUMP_ELEMENTS: u32 = 64;

/// One argument of a call, independent of any store: an i31 becomes a
/// rooted `anyref` only in the store it is passed to ([`Arg::to_val`]).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// A number or a null reference.
    Plain(Val),
    /// A non-null `i31ref` of this value.
    I31(i32),
}

impl Arg {
    /// The value in `store` (an i31 is rooted in the store's current scope).
    pub(crate) fn to_val<T>(&self, store: &mut Store<T>) -> Val {
        match self {
            Arg::Plain(v) => v.clone(),
            Arg::I31(v) => Val::AnyRef(Some(AnyRef::from_i31(store, I31::wrapping_i32(*v)))),
        }
    }
}

/// Arguments for a call of a function of type `ty`: numbers from `rng`,
/// null for nullable references, an i31 for `(ref i31)`, `(ref eq)` and
/// `(ref any)`; `None` if a parameter is another non-nullable reference.
pub(crate) fn arguments(rng: &mut Rng, ty: &tern::FuncType) -> Option<Vec<Arg>> {
    ty.params()
        .map(|p| {
            Some(Arg::Plain(match p {
                ValType::I32 => to_val(arbitrary_value(rng, Kind::I32)),
                ValType::I64 => to_val(arbitrary_value(rng, Kind::I64)),
                ValType::F32 => to_val(arbitrary_value(rng, Kind::F32)),
                ValType::F64 => to_val(arbitrary_value(rng, Kind::F64)),
                ValType::V128 => to_val(arbitrary_value(rng, Kind::V128)),
                ValType::Ref(r) => {
                    let heap = *r.heap_type();
                    if r.is_nullable() {
                        null_of(heap)
                    } else if matches!(heap, HeapType::I31 | HeapType::Eq | HeapType::Any) {
                        let v = match arbitrary_value(rng, Kind::I32) {
                            crate::value::Value::I32(x) => x,
                            _ => 0,
                        };
                        return Some(Arg::I31(v));
                    } else {
                        return None;
                    }
                }
            }))
        })
        .collect()
}

fn to_val(v: crate::value::Value) -> Val {
    use crate::value::Value;
    match v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(x) => Val::F32(x),
        Value::F64(x) => Val::F64(x),
        Value::V128(x) => Val::V128(x),
        Value::FuncRef { .. } => Val::FuncRef(None),
        Value::ExternRef { .. } => Val::ExternRef(None),
        Value::ExnRef { .. } => Val::ExnRef(None),
    }
}

/// The null reference of `heap`'s hierarchy.
pub(crate) fn null_of(heap: HeapType) -> Val {
    match heap {
        HeapType::Func | HeapType::ConcreteFunc(_) | HeapType::NoFunc => Val::FuncRef(None),
        HeapType::Extern | HeapType::NoExtern => Val::ExternRef(None),
        HeapType::Exn | HeapType::NoExn => Val::ExnRef(None),
        _ => Val::AnyRef(None),
    }
}

pub(crate) fn show_args(args: &[Arg]) -> String {
    let mut s = String::from("(");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let a = match a {
            Arg::I31(x) => {
                write!(s, "i31 {x}").expect("writing to a String");
                continue;
            }
            Arg::Plain(v) => v,
        };
        match a {
            Val::I32(x) => write!(s, "i32 {x}"),
            Val::I64(x) => write!(s, "i64 {x}"),
            Val::F32(x) => write!(s, "f32 bits {x:#x}"),
            Val::F64(x) => write!(s, "f64 bits {x:#x}"),
            Val::V128(x) => write!(s, "v128 {x:#x}"),
            _ => write!(s, "null"),
        }
        .expect("writing to a String");
    }
    s.push(')');
    s
}

/// What a dump may still visit, and what it visited.
pub(crate) struct Budget {
    left: u32,
    /// Objects visited.
    pub(crate) objects: u64,
    /// i31 values visited.
    pub(crate) i31s: u64,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Self {
            left: DUMP_OBJECTS,
            objects: 0,
            i31s: 0,
        }
    }
}

/// Appends a structural description of `v` to `out` (see the module docs).
pub(crate) fn dump<T>(
    store: &mut Store<T>,
    tags: &[(String, Tag)],
    v: &Val,
    budget: &mut Budget,
    out: &mut String,
) {
    let w = |out: &mut String, s: &dyn fmt::Display| {
        write!(out, "{s}").expect("writing to a String");
    };
    match v {
        Val::I32(x) => w(out, &format_args!("i32:{x}")),
        Val::I64(x) => w(out, &format_args!("i64:{x}")),
        Val::F32(x) => w(out, &format_args!("f32:{x:#x}")),
        Val::F64(x) => w(out, &format_args!("f64:{x:#x}")),
        Val::V128(x) => w(out, &format_args!("v128:{x:#x}")),
        Val::FuncRef(f) => out.push_str(if f.is_some() { "func" } else { "null-func" }),
        Val::ExternRef(None) => out.push_str("null-extern"),
        Val::ExternRef(Some(e)) => match e.data().downcast_ref::<AnyRef>() {
            Some(any) => {
                out.push_str("extern(");
                dump_any(store, tags, any, budget, out);
                out.push(')');
            }
            None => out.push_str("extern(host)"),
        },
        Val::ExnRef(None) => out.push_str("null-exn"),
        Val::ExnRef(Some(exn)) => dump_exn(store, tags, exn, budget, out),
        Val::AnyRef(None) => out.push_str("null-any"),
        Val::AnyRef(Some(any)) => dump_any(store, tags, any, budget, out),
    }
}

fn dump_any<T>(
    store: &mut Store<T>,
    tags: &[(String, Tag)],
    any: &AnyRef,
    budget: &mut Budget,
    out: &mut String,
) {
    if let Ok(Some(i)) = any.as_i31(&*store) {
        budget.i31s += 1;
        write!(out, "i31:{}", i.get_i32()).expect("writing to a String");
        return;
    }
    if budget.left == 0 {
        out.push('…');
        return;
    }
    budget.left -= 1;
    budget.objects += 1;
    let result = (|| -> Result<()> {
        if let Some(s) = any.as_struct(&*store)? {
            let ty = s.ty(&*store)?;
            let n = ty.fields().len();
            out.push_str("struct{");
            for i in 0..n {
                if i > 0 {
                    out.push_str(", ");
                }
                let field = ty.field(i).expect("a field below the count");
                out.push_str(storage(field.element_type()));
                out.push('=');
                let v = s.field(&mut *store, i)?;
                dump(store, tags, &v, budget, out);
            }
            out.push('}');
        } else if let Some(a) = any.as_array(&*store)? {
            let ty = a.ty(&*store)?;
            let len = a.len(&*store)?;
            write!(
                out,
                "array<{}>[{len}](",
                storage(ty.field_type().element_type())
            )?;
            for i in 0..len.min(DUMP_ELEMENTS) {
                if i > 0 {
                    out.push_str(", ");
                }
                let v = a.get(&mut *store, i)?;
                dump(store, tags, &v, budget, out);
            }
            if len > DUMP_ELEMENTS {
                out.push_str(", …");
            }
            out.push(')');
        } else {
            out.push_str("any(internalized host reference)");
        }
        Ok(())
    })();
    if let Err(e) = result {
        write!(out, "<host API error: {e:#}>").expect("writing to a String");
    }
}

pub(crate) fn dump_exn<T>(
    store: &mut Store<T>,
    tags: &[(String, Tag)],
    exn: &tern::ExnRef,
    budget: &mut Budget,
    out: &mut String,
) {
    let result = (|| -> Result<()> {
        let tag = exn.tag(&*store)?;
        let name = tags
            .iter()
            .find(|(_, t)| Tag::eq(t, &tag, &*store))
            .map_or("(unexported)", |(n, _)| n.as_str());
        write!(out, "exn tag `{name}`(")?;
        let fields = exn.fields(&mut *store)?;
        for (i, v) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            dump(store, tags, v, budget, out);
        }
        out.push(')');
        Ok(())
    })();
    if let Err(e) = result {
        write!(out, "<host API error: {e:#}>").expect("writing to a String");
    }
}

/// A storage type without engine type indices (which differ between the
/// setups' engines): packed, numeric, or the reference's nullability and
/// hierarchy.
fn storage(t: &StorageType) -> &'static str {
    match t {
        StorageType::I8 => "i8",
        StorageType::I16 => "i16",
        StorageType::ValType(ValType::I32) => "i32",
        StorageType::ValType(ValType::I64) => "i64",
        StorageType::ValType(ValType::F32) => "f32",
        StorageType::ValType(ValType::F64) => "f64",
        StorageType::ValType(ValType::V128) => "v128",
        StorageType::ValType(ValType::Ref(r)) => match (r.is_nullable(), null_of(*r.heap_type())) {
            (true, Val::FuncRef(_)) => "funcref",
            (false, Val::FuncRef(_)) => "(ref func)",
            (true, Val::ExternRef(_)) => "externref",
            (false, Val::ExternRef(_)) => "(ref extern)",
            (true, Val::ExnRef(_)) => "exnref",
            (false, Val::ExnRef(_)) => "(ref exn)",
            (true, _) => "anyref",
            (false, _) => "(ref any)",
        },
    }
}

//! [`Val`]: a component value of any type, for calls whose types are only
//! known at runtime (`Func::call`, `Linker::func_new`).
//!
//! This is the shape later wasmtime versions settled on (plain vectors and
//! names, checked against the expected type when lowered) rather than
//! wasmtime 12's typed wrappers (`List::new(ty, values)`): a value needs no
//! type handle to be built, and a mismatch is reported with the path to the
//! offending field (`params[0].point.x: expected u32, found string`).

use std::fmt;

/// A component model value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `u8`
    U8(u8),
    /// `s16`
    S16(i16),
    /// `u16`
    U16(u16),
    /// `s32`
    S32(i32),
    /// `u32`
    U32(u32),
    /// `s64`
    S64(i64),
    /// `u64`
    U64(u64),
    /// `f32`
    Float32(f32),
    /// `f64`
    Float64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<T>` (also `list<T, N>`)
    List(Vec<Val>),
    /// `record { … }`: fields in declaration order, by name.
    Record(Vec<(String, Val)>),
    /// `tuple<…>`
    Tuple(Vec<Val>),
    /// `variant { … }`: the case's name and its payload.
    Variant(String, Option<Box<Val>>),
    /// `enum { … }`: the case's name.
    Enum(String),
    /// `option<T>`
    Option(Option<Box<Val>>),
    /// `result<T, E>`: payloads are `None` when the type has none.
    Result(Result<Option<Box<Val>>, Option<Box<Val>>>),
    /// `flags { … }`: the names of the flags that are set.
    Flags(Vec<String>),
    /// `map<K, V>`: entries in order.
    Map(Vec<(Val, Val)>),
    /// `own<R>` or `borrow<R>`: a resource the host holds.
    Resource(super::ResourceAny),
}

impl Val {
    /// A short name of the value's kind, for error messages.
    pub fn desc(&self) -> &'static str {
        match self {
            Val::Bool(_) => "bool",
            Val::S8(_) => "s8",
            Val::U8(_) => "u8",
            Val::S16(_) => "s16",
            Val::U16(_) => "u16",
            Val::S32(_) => "s32",
            Val::U32(_) => "u32",
            Val::S64(_) => "s64",
            Val::U64(_) => "u64",
            Val::Float32(_) => "f32",
            Val::Float64(_) => "f64",
            Val::Char(_) => "char",
            Val::String(_) => "string",
            Val::List(_) => "list",
            Val::Record(_) => "record",
            Val::Tuple(_) => "tuple",
            Val::Variant(..) => "variant",
            Val::Enum(_) => "enum",
            Val::Option(_) => "option",
            Val::Result(_) => "result",
            Val::Flags(_) => "flags",
            Val::Map(_) => "map",
            Val::Resource(_) => "resource",
        }
    }
}

fn write_f64(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_nan() {
        f.write_str("nan")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        write!(f, "{v}")
    }
}

fn write_str_lit(f: &mut fmt::Formatter<'_>, s: &str, quote: char) -> fmt::Result {
    use fmt::Write;
    f.write_char(quote)?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c == quote => write!(f, "\\{c}")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char(quote)
}

fn write_list<'a>(
    f: &mut fmt::Formatter<'_>,
    open: &str,
    items: impl Iterator<Item = &'a Val>,
    close: &str,
) -> fmt::Result {
    f.write_str(open)?;
    for (i, v) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{v}")?;
    }
    f.write_str(close)
}

/// Values print in the WebAssembly Value Encoding (WAVE) text format:
/// `[1, 2]`, `{x: 1, y: "a"}`, `some(3)`, `ok("x")`, `{read, write}`.
impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Bool(v) => write!(f, "{v}"),
            Val::S8(v) => write!(f, "{v}"),
            Val::U8(v) => write!(f, "{v}"),
            Val::S16(v) => write!(f, "{v}"),
            Val::U16(v) => write!(f, "{v}"),
            Val::S32(v) => write!(f, "{v}"),
            Val::U32(v) => write!(f, "{v}"),
            Val::S64(v) => write!(f, "{v}"),
            Val::U64(v) => write!(f, "{v}"),
            Val::Float32(v) => write_f64(f, f64::from(*v)),
            Val::Float64(v) => write_f64(f, *v),
            Val::Char(c) => write_str_lit(f, &c.to_string(), '\''),
            Val::String(s) => write_str_lit(f, s, '"'),
            Val::List(items) | Val::Tuple(items) => {
                let (open, close) = if matches!(self, Val::List(_)) {
                    ("[", "]")
                } else {
                    ("(", ")")
                };
                write_list(f, open, items.iter(), close)
            }
            Val::Record(fields) => {
                f.write_str("{")?;
                for (i, (n, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {v}")?;
                }
                f.write_str("}")
            }
            Val::Variant(name, payload) => match payload {
                Some(v) => write!(f, "{name}({v})"),
                None => f.write_str(name),
            },
            Val::Enum(name) => f.write_str(name),
            Val::Option(None) => f.write_str("none"),
            Val::Option(Some(v)) => write!(f, "some({v})"),
            Val::Result(Ok(None)) => f.write_str("ok"),
            Val::Result(Ok(Some(v))) => write!(f, "ok({v})"),
            Val::Result(Err(None)) => f.write_str("err"),
            Val::Result(Err(Some(v))) => write!(f, "err({v})"),
            Val::Flags(names) => write!(f, "{{{}}}", names.join(", ")),
            Val::Map(entries) => {
                f.write_str("[")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "({k}, {v})")?;
                }
                f.write_str("]")
            }
            Val::Resource(r) => write!(f, "resource({:?})", r.ty()),
        }
    }
}

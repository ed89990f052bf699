//! Type reflection: the component types of a [`super::Func`]'s parameters and
//! results ([`Type`]) and of a component's imports and exports
//! ([`ComponentItem`]), in the shape later wasmtime versions use.
//!
//! Compound types are handles into the component's interned type table, so
//! they are cheap to clone and compare (two handles are equal when they name
//! the same type of the same component).

use std::fmt;
use std::sync::Arc;
use tern_environ::component::{ComponentItemType, ComponentTypes, InterfaceType, TypeDef};

/// A handle to a compound type of one component.
#[derive(Clone)]
pub struct Handle {
    types: Arc<ComponentTypes>,
    ty: InterfaceType,
}

impl PartialEq for Handle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.types, &other.types) && self.ty == other.ty
    }
}

impl Eq for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.types.display(self.ty))
    }
}

impl Handle {
    fn def(&self) -> Option<&TypeDef> {
        self.types.def(self.ty)
    }

    fn ty(&self, t: InterfaceType) -> Type {
        Type::new(&self.types, t)
    }
}

/// A record field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
}

/// A variant case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Its name.
    pub name: String,
    /// Its payload type, if any.
    pub ty: Option<Type>,
}

macro_rules! handles {
    ($($name:ident: $doc:literal;)*) => {$(
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(Handle);
    )*};
}

handles! {
    List: "A `list<T>` (or `list<T, N>`) type.";
    Map: "A `map<K, V>` type.";
    Record: "A `record` type.";
    Tuple: "A `tuple` type.";
    Variant: "A `variant` type.";
    Enum: "An `enum` type.";
    OptionType: "An `option<T>` type.";
    ResultType: "A `result<T, E>` type.";
    Flags: "A `flags` type.";
    ResourceType: "A resource handle type (`own<R>` or `borrow<R>`).";
    AsyncType: "A `future`, `stream` or `error-context` type (not usable at runtime yet).";
}

impl List {
    /// The element type.
    pub fn ty(&self) -> Type {
        match self.0.def() {
            Some(TypeDef::List(t) | TypeDef::FixedList(t, _)) => self.0.ty(*t),
            _ => Type::Bool,
        }
    }

    /// The length of a fixed-length list.
    pub fn fixed_len(&self) -> Option<u32> {
        match self.0.def() {
            Some(TypeDef::FixedList(_, n)) => Some(*n),
            _ => None,
        }
    }
}

impl Map {
    /// The key type.
    pub fn key(&self) -> Type {
        match self.0.def() {
            Some(TypeDef::Map(k, _)) => self.0.ty(*k),
            _ => Type::Bool,
        }
    }

    /// The value type.
    pub fn value(&self) -> Type {
        match self.0.def() {
            Some(TypeDef::Map(_, v)) => self.0.ty(*v),
            _ => Type::Bool,
        }
    }
}

impl Record {
    /// The fields, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = Field> + '_ {
        let fields: &[(String, InterfaceType)] = match self.0.def() {
            Some(TypeDef::Record(f)) => f,
            _ => &[],
        };
        fields.iter().map(|(n, t)| Field {
            name: n.clone(),
            ty: self.0.ty(*t),
        })
    }
}

impl Tuple {
    /// The element types.
    pub fn types(&self) -> impl ExactSizeIterator<Item = Type> + '_ {
        let tys: &[InterfaceType] = match self.0.def() {
            Some(TypeDef::Tuple(t)) => t,
            _ => &[],
        };
        tys.iter().map(|t| self.0.ty(*t))
    }
}

impl Variant {
    /// The cases, in order.
    pub fn cases(&self) -> impl ExactSizeIterator<Item = Case> + '_ {
        let cases: &[(String, Option<InterfaceType>)] = match self.0.def() {
            Some(TypeDef::Variant(c)) => c,
            _ => &[],
        };
        cases.iter().map(|(n, t)| Case {
            name: n.clone(),
            ty: t.map(|t| self.0.ty(t)),
        })
    }
}

impl Enum {
    /// The case names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        let names: &[String] = match self.0.def() {
            Some(TypeDef::Enum(n)) => n,
            _ => &[],
        };
        names.iter().map(String::as_str)
    }
}

impl Flags {
    /// The flag names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        let names: &[String] = match self.0.def() {
            Some(TypeDef::Flags(n)) => n,
            _ => &[],
        };
        names.iter().map(String::as_str)
    }
}

impl OptionType {
    /// The payload type.
    pub fn ty(&self) -> Type {
        match self.0.def() {
            Some(TypeDef::Option(t)) => self.0.ty(*t),
            _ => Type::Bool,
        }
    }
}

impl ResultType {
    /// The `ok` payload type, if any.
    pub fn ok(&self) -> Option<Type> {
        match self.0.def() {
            Some(TypeDef::Result { ok, .. }) => ok.map(|t| self.0.ty(t)),
            _ => None,
        }
    }

    /// The `error` payload type, if any.
    pub fn err(&self) -> Option<Type> {
        match self.0.def() {
            Some(TypeDef::Result { err, .. }) => err.map(|t| self.0.ty(t)),
            _ => None,
        }
    }
}

/// A component value type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    missing_docs,
    reason = "the variants are the WIT types of the same names"
)]
pub enum Type {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    Float32,
    Float64,
    Char,
    String,
    List(List),
    Map(Map),
    Record(Record),
    Tuple(Tuple),
    Variant(Variant),
    Enum(Enum),
    Option(OptionType),
    Result(ResultType),
    Flags(Flags),
    Own(ResourceType),
    Borrow(ResourceType),
    Async(AsyncType),
}

impl Type {
    pub(crate) fn new(types: &Arc<ComponentTypes>, ty: InterfaceType) -> Type {
        use InterfaceType as I;
        let h = || Handle {
            types: types.clone(),
            ty,
        };
        match ty {
            I::Bool => Type::Bool,
            I::S8 => Type::S8,
            I::U8 => Type::U8,
            I::S16 => Type::S16,
            I::U16 => Type::U16,
            I::S32 => Type::S32,
            I::U32 => Type::U32,
            I::S64 => Type::S64,
            I::U64 => Type::U64,
            I::Float32 => Type::Float32,
            I::Float64 => Type::Float64,
            I::Char => Type::Char,
            I::String => Type::String,
            I::Defined(_) => match types.def(ty) {
                Some(TypeDef::List(_) | TypeDef::FixedList(..)) => Type::List(List(h())),
                Some(TypeDef::Map(..)) => Type::Map(Map(h())),
                Some(TypeDef::Record(_)) => Type::Record(Record(h())),
                Some(TypeDef::Tuple(_)) => Type::Tuple(Tuple(h())),
                Some(TypeDef::Variant(_)) => Type::Variant(Variant(h())),
                Some(TypeDef::Enum(_)) => Type::Enum(Enum(h())),
                Some(TypeDef::Option(_)) => Type::Option(OptionType(h())),
                Some(TypeDef::Result { .. }) => Type::Result(ResultType(h())),
                Some(TypeDef::Flags(_)) => Type::Flags(Flags(h())),
                Some(TypeDef::Own(_)) => Type::Own(ResourceType(h())),
                Some(TypeDef::Borrow(_)) => Type::Borrow(ResourceType(h())),
                _ => Type::Async(AsyncType(h())),
            },
        }
    }

    /// The type in WIT-like syntax, e.g. `list<record { x: u32 }>`.
    pub fn display(&self) -> String {
        match self {
            Type::List(List(h))
            | Type::Map(Map(h))
            | Type::Record(Record(h))
            | Type::Tuple(Tuple(h))
            | Type::Variant(Variant(h))
            | Type::Enum(Enum(h))
            | Type::Option(OptionType(h))
            | Type::Result(ResultType(h))
            | Type::Flags(Flags(h))
            | Type::Own(ResourceType(h))
            | Type::Borrow(ResourceType(h))
            | Type::Async(AsyncType(h)) => h.types.display(h.ty),
            primitive => format!("{primitive:?}")
                .to_lowercase()
                .replace("float", "f"),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// A component function's type.
#[derive(Debug, Clone)]
pub struct ComponentFunc {
    types: Arc<ComponentTypes>,
    index: u32,
}

impl ComponentFunc {
    /// The parameters: names and types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, Type)> + '_ {
        self.types
            .func(self.index)
            .params
            .iter()
            .map(|(n, t)| (n.as_str(), Type::new(&self.types, *t)))
    }

    /// The results (none or one).
    pub fn results(&self) -> impl ExactSizeIterator<Item = Type> + '_ {
        self.types
            .func(self.index)
            .result
            .into_iter()
            .map(|t| Type::new(&self.types, t))
    }

    /// Whether the function is `async`.
    pub fn is_async(&self) -> bool {
        self.types.func(self.index).is_async
    }
}

impl fmt::Display for ComponentFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.types.display_func(self.index))
    }
}

/// The type of an item a component imports or exports.
#[derive(Debug, Clone)]
pub enum ComponentItem {
    /// A function.
    ComponentFunc(ComponentFunc),
    /// An instance: its exports, by name.
    ComponentInstance(Vec<(String, ComponentItem)>),
    /// A core module: `(module, name, kind)` imports and `(name, kind)` exports.
    Module {
        /// Its imports.
        imports: Vec<(String, String, String)>,
        /// Its exports.
        exports: Vec<(String, String)>,
    },
    /// A component: its imports and exports.
    Component {
        /// What it imports.
        imports: Vec<(String, ComponentItem)>,
        /// What it exports.
        exports: Vec<(String, ComponentItem)>,
    },
    /// A value type.
    Type(Type),
    /// A resource type.
    Resource,
}

impl ComponentItem {
    pub(crate) fn new(types: &Arc<ComponentTypes>, ty: &ComponentItemType) -> Self {
        let list = |items: &[(String, ComponentItemType)]| -> Vec<(String, ComponentItem)> {
            items
                .iter()
                .map(|(n, t)| (n.clone(), ComponentItem::new(types, t)))
                .collect()
        };
        match ty {
            ComponentItemType::Func(index) => ComponentItem::ComponentFunc(ComponentFunc {
                types: types.clone(),
                index: *index,
            }),
            ComponentItemType::Instance(items) => ComponentItem::ComponentInstance(list(items)),
            ComponentItemType::Module(m) => ComponentItem::Module {
                imports: m.imports.clone(),
                exports: m.exports.clone(),
            },
            ComponentItemType::Component { imports, exports } => ComponentItem::Component {
                imports: list(imports),
                exports: list(exports),
            },
            ComponentItemType::Type(t) | ComponentItemType::Value(t) => {
                ComponentItem::Type(Type::new(types, *t))
            }
            ComponentItemType::Resource(_) => ComponentItem::Resource,
        }
    }
}

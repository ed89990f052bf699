//! What a translated component is: its static core modules (by index), an
//! ordered list of [`Initializer`]s, its imports and its export tree.
//!
//! The hard part is that a component is a program over index spaces —
//! nested components instantiated with arguments, aliases, instances built
//! from exports — while instantiating one should be a straight walk. So
//! translation (`inline.rs`) runs that program at compile time over symbolic
//! values and leaves only what needs a store: instantiate core module M with
//! these core items; make a core function that lowers import I (or a lifted
//! function of another inlined instance) with these options; lift core
//! function F with these options; make built-in B. Every core item those
//! steps mention is a [`CoreDef`]: an export of an earlier runtime core
//! instance, a lowered function, or a built-in, and the walk only ever looks
//! backwards, because component validation guarantees definitions precede uses.

use super::types::{ComponentItemType, ComponentTypes, InterfaceType};
use crate::WasmFuncType;
use serde::{Deserialize, Serialize};

/// A core wasm item (function, memory, table, global or tag) used by an initializer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoreDef {
    /// Export `name` of runtime core instance `instance` (numbered in
    /// instantiation order).
    Export {
        /// The core instance.
        instance: u32,
        /// The export's name.
        name: String,
    },
    /// The core function made by [`Initializer::Lower`] number `0`.
    Lowered(u32),
    /// The core function made by [`Initializer::Builtin`] number `0`.
    Builtin(u32),
}

/// A path to a root import: the import's position, then names of nested
/// instance exports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportPath {
    /// Position in [`ComponentInfo::imports`].
    pub import: u32,
    /// Export names inside the imported instance, outermost first.
    pub path: Vec<String>,
}

/// Where a component-level function comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FuncDef {
    /// A function the embedder supplies through a root import.
    Import(ImportPath),
    /// The function made by [`Initializer::Lift`] number `0`.
    Lifted(u32),
}

/// Where a core module comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModuleDef {
    /// Static module number `0` of the component.
    Static(u32),
    /// A module the embedder supplies through a root import.
    Import(ImportPath),
}

/// How strings are encoded in a side's linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum StringEncoding {
    /// UTF-8 (the default).
    #[default]
    Utf8,
    /// UTF-16, little endian; lengths count code units.
    Utf16,
    /// Latin-1 when possible, else UTF-16 (the length's top bit says which).
    CompactUtf16,
}

/// The canonical options of a `canon lift` or `canon lower`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CanonOptions {
    /// String encoding in this side's memory.
    pub string_encoding: StringEncoding,
    /// The memory that pointers refer to.
    pub memory: Option<CoreDef>,
    /// `realloc(old, old_size, align, new_size) -> ptr` for allocating in `memory`.
    pub realloc: Option<CoreDef>,
    /// Called with the core results after they have been lifted (lift only).
    pub post_return: Option<CoreDef>,
    /// The `async` option (not implemented at runtime).
    pub is_async: bool,
    /// The `callback` option of an async lift (not implemented at runtime).
    pub callback: Option<CoreDef>,
}

/// Where a runtime resource comes from. Inlining numbers the resources that
/// exist at run time (every definition in every inlined instance, every
/// imported one); each inlined instance maps the resource type numbers of
/// its types ([`super::TypeDef::Own`]/`Borrow`) to them
/// ([`ComponentInfo::instance_resources`]). Every instantiation of the
/// component makes a fresh runtime type for each `Defined` one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceDef {
    /// Defined by inlined component instance `instance`, with its destructor.
    Defined {
        /// The runtime component instance that implements it.
        instance: u32,
        /// The destructor `(func (param i32))`, if any.
        dtor: Option<CoreDef>,
    },
    /// Supplied by the embedder through a root import.
    Imported(ImportPath),
}

/// A canonical built-in that needs runtime support (every `canon` other than
/// `lift` and `lower`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BuiltinKind {
    /// `resource.new` of runtime resource `0` (see [`ResourceDef`]).
    ResourceNew(u32),
    /// `resource.rep`.
    ResourceRep(u32),
    /// `resource.drop` (the destructor is in [`ComponentInfo::resources`]).
    ResourceDrop(u32),
    /// `context.get i32 slot`.
    ContextGet(u32),
    /// `context.set i32 slot`.
    ContextSet(u32),
    /// `backpressure.inc`.
    BackpressureInc,
    /// `backpressure.dec`.
    BackpressureDec,
    /// `task.return`: delivers the result of the running async-lifted export.
    TaskReturn {
        /// The result type.
        result: Option<InterfaceType>,
        /// Its options (memory and string encoding the result is read with).
        options: CanonOptions,
    },
    /// An async/threads built-in Tern validates but does not run (named).
    Unsupported(String),
}

/// One step of instantiation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Initializer {
    /// Instantiates a core module; the result is the next runtime core instance.
    InstantiateModule {
        /// The module.
        module: ModuleDef,
        /// `(module, name, item)` for every import the module's type declares.
        args: Vec<(String, String, CoreDef)>,
        /// The runtime component instance it belongs to (which cannot be
        /// entered while the module's start function runs).
        instance: u32,
    },
    /// Makes the core function [`CoreDef::Lowered`] `index`.
    Lower {
        /// Its number.
        index: u32,
        /// The component function it calls.
        callee: FuncDef,
        /// The caller's options (its memory, realloc, encoding).
        options: CanonOptions,
        /// The component function type, as the caller sees it.
        ty: u32,
        /// The core signature of the lowered function.
        core_ty: WasmFuncType,
        /// The runtime component instance the function belongs to.
        instance: u32,
    },
    /// Makes the lifted function [`FuncDef::Lifted`] `index`.
    Lift {
        /// Its number.
        index: u32,
        /// The core function that implements it.
        func: CoreDef,
        /// The callee's options.
        options: CanonOptions,
        /// The component function type.
        ty: u32,
        /// The runtime component instance it belongs to.
        instance: u32,
    },
    /// Makes the core function [`CoreDef::Builtin`] `index`.
    Builtin {
        /// Its number.
        index: u32,
        /// What it does.
        kind: BuiltinKind,
        /// Its core signature.
        core_ty: WasmFuncType,
        /// The runtime component instance it belongs to.
        instance: u32,
    },
}

/// One item of a component's export tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Export {
    /// A function, with its type.
    Func(FuncDef, u32),
    /// An instance: named items.
    Instance(Vec<(String, Export)>),
    /// A core module.
    Module(ModuleDef),
    /// A type.
    Type(ComponentItemType),
    /// A component (can be listed, not instantiated by Tern).
    Component,
}

/// A translated component: everything except the compiled core modules.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ComponentInfo {
    /// Every type it uses.
    pub types: ComponentTypes,
    /// Root imports, in order: name and type.
    pub imports: Vec<(String, ComponentItemType)>,
    /// The instantiation steps, in order.
    pub initializers: Vec<Initializer>,
    /// Root exports, in order.
    pub exports: Vec<(String, Export)>,
    /// The types of the root exports, in the same order.
    pub export_types: Vec<ComponentItemType>,
    /// How many runtime component instances inlining produced (the root and
    /// every nested instantiation): each has its own flags and handle table.
    pub num_runtime_instances: u32,
    /// Every runtime resource.
    pub resources: Vec<ResourceDef>,
    /// Per runtime component instance: `(resource type number, runtime
    /// resource)` for each resource its types mention, sorted.
    pub instance_resources: Vec<Vec<(u32, u32)>>,
    /// How many runtime core instances instantiation creates.
    pub num_core_instances: u32,
    /// How many functions are lowered, lifted, and built in.
    pub num_lowered: u32,
    /// See `num_lowered`.
    pub num_lifted: u32,
    /// See `num_lowered`.
    pub num_builtins: u32,
    /// The compiled adapters of component-to-component calls, by lowered
    /// function (see `adapter.rs`); empty until `plan_adapters` runs.
    pub adapters: Vec<AdapterInfo>,
    /// The component-to-component calls that stay on the host-fused path,
    /// each with the reason no adapter was compiled for it.
    pub fused_calls: Vec<FusedCall>,
}

/// A compiled adapter: the core module that implements lowered function
/// `lowered` by calling lifted function `lifted` directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterInfo {
    /// The [`CoreDef::Lowered`] function it implements.
    pub lowered: u32,
    /// The [`FuncDef::Lifted`] function it calls.
    pub lifted: u32,
    /// Its core module, a static module of the component.
    pub module: u32,
    /// The runtime component instance of the caller (whose `may_leave` it checks).
    pub caller: u32,
    /// The runtime component instance of the callee (whose `may_enter` it checks).
    pub callee: u32,
}

/// A component-to-component call left on the host-fused path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusedCall {
    /// The [`CoreDef::Lowered`] function.
    pub lowered: u32,
    /// Why no adapter was compiled for it.
    pub reason: String,
}

impl ComponentInfo {
    /// The type of lifted function `index`.
    pub fn lifted_type(&self, index: u32) -> Option<u32> {
        self.initializers.iter().find_map(|i| match i {
            Initializer::Lift { index: j, ty, .. } if *j == index => Some(*ty),
            _ => None,
        })
    }

    /// The types of a function's params, for convenience.
    pub fn param_types(&self, func_ty: u32) -> Vec<InterfaceType> {
        self.types
            .func(func_ty)
            .params
            .iter()
            .map(|(_, t)| *t)
            .collect()
    }
}

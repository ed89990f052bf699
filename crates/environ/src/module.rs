//! The translated description of a core module: everything the code generator and
//! the runtime need, without the function bodies' machine code.
//!
//! Index spaces follow the wasm spec: imported entities come first, then defined
//! ones. `num_imported_*` tells where the defined part starts.

use crate::{
    ConstExpr, MemoryPlan, TablePlan, WasmFuncType, WasmRefType, WasmSubType, WasmValType,
};
use std::collections::HashMap;

/// An index into one of the module's index spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntityIndex {
    /// A function index.
    Function(u32),
    /// A table index.
    Table(u32),
    /// A memory index.
    Memory(u32),
    /// A global index.
    Global(u32),
    /// A tag index (exception handling).
    Tag(u32),
}

/// One import of the module.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Import {
    /// The module name.
    pub module: String,
    /// The field name.
    pub field: String,
    /// What the import defines in the module's index spaces.
    pub index: EntityIndex,
}

/// One export of the module.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Export {
    /// The export's name.
    pub name: String,
    /// What it exports.
    pub index: EntityIndex,
}

/// A global's type and initialiser.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Global {
    /// Value type.
    pub ty: WasmValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
    /// Initialiser (only meaningful for defined globals).
    pub init: Option<ConstExpr>,
}

/// When a segment is applied.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum SegmentMode {
    /// Copied into a table/memory at instantiation.
    Active {
        /// Table or memory index.
        index: u32,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Used by `memory.init` / `table.init`.
    Passive,
    /// Only declares functions as referenceable (element segments).
    Declared,
}

/// Items of an element segment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum ElemItems {
    /// Function indices.
    Functions(Vec<u32>),
    /// Constant expressions producing references.
    Expressions(Vec<ConstExpr>),
}

impl ElemItems {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            Self::Functions(f) => f.len(),
            Self::Expressions(e) => e.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An element segment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ElemSegment {
    /// When it applies.
    pub mode: SegmentMode,
    /// Element type.
    pub ty: WasmRefType,
    /// The references it holds.
    pub items: ElemItems,
}

/// A data segment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DataSegment {
    /// When it applies.
    pub mode: SegmentMode,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A module's description, independent of any compiler.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Module {
    /// The module's name from the name section.
    pub name: Option<String>,
    /// The type section by type index: function signatures and, with GC,
    /// struct and array types, each with its finality and supertype.
    pub types: Vec<WasmSubType>,
    /// Each type's recursion group as (first type index, number of types).
    pub type_groups: Vec<(u32, u32)>,
    /// Type index of every function (imports first).
    pub functions: Vec<u32>,
    /// Every table's type (imports first).
    pub tables: Vec<TablePlan>,
    /// The initialiser of every defined table (`None`: null), in definition order
    /// (`(table N (ref $t) (ref.func $f))` of typed function references).
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Every memory's type (imports first).
    pub memories: Vec<MemoryPlan>,
    /// Every global (imports first).
    pub globals: Vec<Global>,
    /// Every exception tag's function type index (imports first); the type's
    /// parameters are the exception's payload, its results are empty.
    pub tags: Vec<u32>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// Imports in declaration order.
    pub imports: Vec<Import>,
    /// Exports in declaration order.
    pub exports: Vec<Export>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elems: Vec<ElemSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Function names from the name section (serialized sorted, so artifacts are reproducible).
    #[serde(serialize_with = "serialize_sorted")]
    pub func_names: HashMap<u32, String>,
}

fn serialize_sorted<S: serde::Serializer>(
    map: &HashMap<u32, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().collect::<std::collections::BTreeMap<_, _>>())
}

impl Module {
    /// The signature of function `index`.
    ///
    /// # Panics
    /// Panics if the function's type is not a function type, which validation
    /// rules out.
    pub fn func_type(&self, index: u32) -> &WasmFuncType {
        self.signature(self.functions[index as usize])
    }

    /// The function type at type index `index`, where validation guarantees
    /// one (a function's, tag's, `call_indirect`'s or `call_ref`'s type).
    ///
    /// # Panics
    /// Panics if type `index` is a struct or array type.
    pub fn signature(&self, index: u32) -> &WasmFuncType {
        self.types[index as usize].unwrap_func()
    }

    /// Whether function `index` is imported.
    pub fn is_imported_func(&self, index: u32) -> bool {
        index < self.num_imported_funcs
    }

    /// The payload signature of tag `index` (its parameters; no results).
    pub fn tag_type(&self, index: u32) -> &WasmFuncType {
        self.signature(self.tags[index as usize])
    }

    /// Whether global `index` is imported.
    pub fn is_imported_global(&self, index: u32) -> bool {
        index < self.num_imported_globals
    }

    /// Number of functions with a body in this module.
    pub fn num_defined_funcs(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_funcs
    }

    /// Looks up an export by name.
    pub fn export(&self, name: &str) -> Option<EntityIndex> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
    }
}

/// The body of a defined function, borrowed from the module's bytes.
#[derive(Debug)]
pub struct FunctionBody<'data> {
    /// The function's index in the module's function index space.
    pub func_index: u32,
    /// The body's bytes and offset.
    pub body: wasmparser::FunctionBody<'data>,
    /// The validator to run over the body while it is translated.
    pub validator: wasmparser::FuncToValidate<wasmparser::ValidatorResources>,
}

/// The result of translating a module: its description plus the bodies to compile.
pub struct ModuleTranslation<'data> {
    /// The module's description.
    pub module: Module,
    /// Function bodies in definition order.
    pub bodies: Vec<FunctionBody<'data>>,
}

//! Reads and validates a module's sections into a [`ModuleTranslation`].
//!
//! Section-level validation happens here, in order; function bodies are handed
//! off with their `FuncToValidate` so the code generator validates each one while
//! it translates it, in parallel.

use crate::{
    CompositeKind, ConstExpr, DataSegment, ElemItems, ElemSegment, EntityIndex, Export,
    FunctionBody, Global, Import, MemoryPlan, Module, ModuleTranslation, SegmentMode, TablePlan,
    WasmRefType, WasmSubType, WasmValType,
};
use anyhow::{bail, Context, Result};
use wasmparser::{Parser, Payload, ValidPayload, Validator};

pub use wasmparser::WasmFeatures;

/// Validates `bytes` with `features` and translates the module's sections.
///
/// # Errors
/// Fails with wasmparser's message (which names the byte offset) on malformed or
/// invalid input, and on constructs Tern does not support.
pub fn translate_module(bytes: &[u8], features: WasmFeatures) -> Result<ModuleTranslation<'_>> {
    let mut validator = Validator::new_with_features(features);
    let mut module = Module::default();
    let mut bodies = Vec::new();
    let mut defined_func_cursor = 0u32;
    // The kind of every type so far, to classify concrete heap types.
    let mut kinds: Vec<CompositeKind> = Vec::new();

    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Ok => {}
            ValidPayload::Func(validator, body) => {
                let func_index = module.num_imported_funcs + defined_func_cursor;
                defined_func_cursor += 1;
                bodies.push(FunctionBody {
                    func_index,
                    body,
                    validator,
                });
                continue;
            }
            ValidPayload::End(_) => break,
            ValidPayload::Parser(_) => bail!("nested modules are not supported"),
        }
        match payload {
            Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => {
                bail!("expected a core module, found a component (use `component::Component` for components)")
            }
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    let start = module.types.len() as u32;
                    let len = group.types().len() as u32;
                    for _ in 0..len {
                        module.type_groups.push((start, len));
                    }
                    // The group's own kinds first: its types may name each other.
                    kinds.extend(group.types().map(|t| CompositeKind::of(&t.composite_type)));
                    for sub in group.into_types() {
                        module
                            .types
                            .push(WasmSubType::from_wasmparser(&sub, &kinds)?);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let index = match import.ty {
                        wasmparser::TypeRef::Func(ty) | wasmparser::TypeRef::FuncExact(ty) => {
                            module.functions.push(ty);
                            module.num_imported_funcs += 1;
                            EntityIndex::Function(module.functions.len() as u32 - 1)
                        }
                        wasmparser::TypeRef::Table(t) => {
                            module.tables.push(table_plan(&t, &kinds)?);
                            module.num_imported_tables += 1;
                            EntityIndex::Table(module.tables.len() as u32 - 1)
                        }
                        wasmparser::TypeRef::Memory(m) => {
                            module.memories.push(memory_plan(&m));
                            module.num_imported_memories += 1;
                            EntityIndex::Memory(module.memories.len() as u32 - 1)
                        }
                        wasmparser::TypeRef::Global(g) => {
                            module.globals.push(Global {
                                ty: WasmValType::from_wasmparser_in(g.content_type, &kinds)?,
                                mutable: g.mutable,
                                init: None,
                            });
                            module.num_imported_globals += 1;
                            EntityIndex::Global(module.globals.len() as u32 - 1)
                        }
                        wasmparser::TypeRef::Tag(t) => {
                            module.tags.push(t.func_type_idx);
                            module.num_imported_tags += 1;
                            EntityIndex::Tag(module.tags.len() as u32 - 1)
                        }
                    };
                    module.imports.push(Import {
                        module: import.module.to_string(),
                        field: import.name.to_string(),
                        index,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    module.functions.push(ty?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    module.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(expr) => {
                            Some(ConstExpr::from_wasmparser(&expr)?)
                        }
                    });
                    module.tables.push(table_plan(&table.ty, &kinds)?);
                }
            }
            Payload::MemorySection(reader) => {
                let range = reader.range();
                let (start, end) = (range.start as usize, range.end as usize);
                crate::strict_leb::check_limits_section(&bytes[start..end], start)?;
                for memory in reader {
                    module.memories.push(memory_plan(&memory?));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    module.globals.push(Global {
                        ty: WasmValType::from_wasmparser_in(global.ty.content_type, &kinds)?,
                        mutable: global.ty.mutable,
                        init: Some(ConstExpr::from_wasmparser(&global.init_expr)?),
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let index = match export.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            EntityIndex::Function(export.index)
                        }
                        wasmparser::ExternalKind::Table => EntityIndex::Table(export.index),
                        wasmparser::ExternalKind::Memory => EntityIndex::Memory(export.index),
                        wasmparser::ExternalKind::Global => EntityIndex::Global(export.index),
                        wasmparser::ExternalKind::Tag => EntityIndex::Tag(export.index),
                    };
                    module.exports.push(Export {
                        name: export.name.to_string(),
                        index,
                    });
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    module.tags.push(tag?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => module.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    module.elems.push(elem_segment(elem?, &kinds)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => SegmentMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: memory_index,
                            offset: ConstExpr::from_wasmparser(&offset_expr)?,
                        },
                    };
                    module.data.push(DataSegment {
                        mode,
                        data: data.data.to_vec(),
                    });
                }
            }
            Payload::CustomSection(section) => {
                if let wasmparser::KnownCustom::Name(names) = section.as_known() {
                    // A malformed name section is ignored, as the spec asks.
                    let _ = read_names(&mut module, names);
                }
            }
            _ => {}
        }
    }
    Ok(ModuleTranslation { module, bodies })
}

fn table_plan(t: &wasmparser::TableType, kinds: &[CompositeKind]) -> Result<TablePlan> {
    Ok(TablePlan {
        element: WasmRefType::from_wasmparser_in(t.element_type, kinds)
            .context("unsupported table element type")?,
        minimum: t.initial,
        maximum: t.maximum,
        table64: t.table64,
    })
}

fn memory_plan(m: &wasmparser::MemoryType) -> MemoryPlan {
    MemoryPlan {
        minimum: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        shared: m.shared,
    }
}

fn elem_segment(elem: wasmparser::Element<'_>, kinds: &[CompositeKind]) -> Result<ElemSegment> {
    let mode = match elem.kind {
        wasmparser::ElementKind::Passive => SegmentMode::Passive,
        wasmparser::ElementKind::Declared => SegmentMode::Declared,
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => SegmentMode::Active {
            index: table_index.unwrap_or(0),
            offset: ConstExpr::from_wasmparser(&offset_expr)?,
        },
    };
    let (ty, items) = match elem.items {
        wasmparser::ElementItems::Functions(funcs) => (
            WasmRefType::FUNCREF,
            ElemItems::Functions(funcs.into_iter().collect::<Result<_, _>>()?),
        ),
        wasmparser::ElementItems::Expressions(ty, exprs) => {
            let ty = WasmRefType::from_wasmparser_in(ty, kinds)?;
            let mut items = Vec::new();
            for expr in exprs {
                items.push(ConstExpr::from_wasmparser(&expr?)?);
            }
            (ty, ElemItems::Expressions(items))
        }
    };
    Ok(ElemSegment { mode, ty, items })
}

fn read_names(module: &mut Module, names: wasmparser::NameSectionReader<'_>) -> Result<()> {
    for name in names {
        match name? {
            wasmparser::Name::Module { name, .. } => module.name = Some(name.to_string()),
            wasmparser::Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    module
                        .func_names
                        .insert(naming.index, naming.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

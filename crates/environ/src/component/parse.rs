//! Validates a component binary with wasmparser and reads it into a tree of
//! [`ParsedComponent`]s: for each component (the root and every nested one),
//! the definitions of its sections in order, plus the validator's type
//! information; and the byte range of every core module, numbered in the
//! order they appear (the "static modules").
//!
//! Function bodies of nested core modules are not validated here: each static
//! module is compiled on its own afterwards, which validates every body.

use anyhow::{bail, Context as _, Result};
use wasmparser::types::Types;
use wasmparser::{
    CanonicalFunction, ComponentAlias, ComponentExport, ComponentImport, ComponentInstance,
    ComponentType, Encoding, Instance, Parser, Payload, ValidPayload, Validator, WasmFeatures,
};

/// One definition of a component, in section order.
pub(crate) enum Item<'data> {
    /// A nested core module: static module number.
    Module(u32),
    /// A nested component: its number in the parsed list.
    Component(u32),
    /// A core instance.
    CoreInstance(Instance<'data>),
    /// A component instance.
    Instance(ComponentInstance<'data>),
    /// An alias.
    Alias(ComponentAlias<'data>),
    /// A core type (only counted: Tern reads core types from the validator).
    CoreType,
    /// A component type; `Some(dtor)` when it defines a resource.
    Type(Option<Option<u32>>),
    /// A canonical function.
    Canon(CanonicalFunction),
    /// An import.
    Import(ComponentImport<'data>),
    /// An export.
    Export(ComponentExport<'data>),
}

/// A component's definitions and the validator's view of its types.
pub(crate) struct ParsedComponent<'data> {
    pub(crate) items: Vec<Item<'data>>,
    pub(crate) types: Option<Types>,
}

/// The parse of a whole component binary.
#[derive(Default)]
pub(crate) struct Parsed<'data> {
    /// Every component; the root is number 0.
    pub(crate) components: Vec<ParsedComponent<'data>>,
    /// Where each static core module lies in the input.
    pub(crate) modules: Vec<std::ops::Range<usize>>,
}

enum Open {
    Component(usize),
    Module,
}

/// Validates and parses `bytes`, which must be a component.
///
/// # Errors
/// Fails with wasmparser's message (naming the byte offset) on malformed or
/// invalid input, and when `bytes` is a core module rather than a component.
pub(crate) fn parse(bytes: &[u8], features: WasmFeatures) -> Result<Parsed<'_>> {
    let mut validator = Validator::new_with_features(features);
    let mut parsed = Parsed {
        components: Vec::new(),
        modules: Vec::new(),
    };
    let mut stack: Vec<Open> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        let valid = validator.payload(&payload)?;
        if let Payload::Version { encoding, .. } = &payload {
            if stack.is_empty() {
                if *encoding != Encoding::Component {
                    bail!(
                        "expected a component, found a core module (use `Module` for core modules)"
                    );
                }
                parsed.components.push(ParsedComponent {
                    items: Vec::new(),
                    types: None,
                });
                stack.push(Open::Component(0));
            }
            continue;
        }
        if let ValidPayload::End(types) = valid {
            match stack.pop() {
                Some(Open::Component(i)) => parsed.components[i].types = Some(types),
                Some(Open::Module) => {}
                None => bail!("unbalanced end of component"),
            }
            if stack.is_empty() {
                break;
            }
            continue;
        }
        let Some(Open::Component(current)) = stack.last() else {
            // Payloads of a nested core module: validated above, compiled later.
            continue;
        };
        let current = *current;
        match payload {
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                let range = unchecked_range.start as usize..unchecked_range.end as usize;
                bytes
                    .get(range.clone())
                    .context("core module extends past the end of the component")?;
                parsed.modules.push(range);
                let index = parsed.modules.len() as u32 - 1;
                parsed.components[current].items.push(Item::Module(index));
                stack.push(Open::Module);
            }
            Payload::ComponentSection { .. } => {
                let index = parsed.components.len();
                parsed.components.push(ParsedComponent {
                    items: Vec::new(),
                    types: None,
                });
                parsed.components[current]
                    .items
                    .push(Item::Component(index as u32));
                stack.push(Open::Component(index));
            }
            Payload::InstanceSection(reader) => {
                for i in reader {
                    parsed.components[current]
                        .items
                        .push(Item::CoreInstance(i?));
                }
            }
            Payload::CoreTypeSection(reader) => {
                for t in reader {
                    t?;
                    parsed.components[current].items.push(Item::CoreType);
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for i in reader {
                    parsed.components[current].items.push(Item::Instance(i?));
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for a in reader {
                    parsed.components[current].items.push(Item::Alias(a?));
                }
            }
            Payload::ComponentTypeSection(reader) => {
                for t in reader {
                    let resource = match t? {
                        ComponentType::Resource { dtor, .. } => Some(dtor),
                        _ => None,
                    };
                    parsed.components[current].items.push(Item::Type(resource));
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                for c in reader {
                    parsed.components[current].items.push(Item::Canon(c?));
                }
            }
            Payload::ComponentStartSection { .. } => {
                bail!("component start functions (value imports) are not supported");
            }
            Payload::ComponentImportSection(reader) => {
                for i in reader {
                    parsed.components[current].items.push(Item::Import(i?));
                }
            }
            Payload::ComponentExportSection(reader) => {
                for e in reader {
                    parsed.components[current].items.push(Item::Export(e?));
                }
            }
            _ => {}
        }
    }
    if parsed.components.first().is_none_or(|c| c.types.is_none()) {
        bail!("unexpected end of component");
    }
    Ok(parsed)
}

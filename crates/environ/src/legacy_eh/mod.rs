//! Legacy exception handling (`try`, `catch`, `catch_all`, `rethrow`,
//! `delegate`: wasmparser's `legacy_exceptions`) as a rewrite of the module
//! onto the final proposal's instructions, before translation.
//!
//! Why a rewrite: the code generator then knows only one exception mechanism
//! (`try_table`/`throw_ref`), whatever that mechanism is, and the legacy
//! forms cost nothing when unused. The original bytes are validated first,
//! with the configured features, so every error a user sees is the
//! validator's about *their* module; then each body that uses a legacy
//! instruction is rewritten ([`body`]) and the others are copied. The
//! rewrite needs block types with several values (a `catch` block receives
//! the tag's payload and the `exnref`), which only a type index can express,
//! so new function types are appended to the type section as singleton
//! groups, after every existing type (no index moves).
//!
//! Backtraces keep pointing into the *original* bytes: [`OffsetMap`] maps
//! each offset of the rewritten module back, and [`OffsetMap::apply`] fixes
//! a compiled module's [`AddressMap`] with it.
//!
//! This must never accept what the validator refuses, and never rewrite
//! a module that does not use the legacy instructions.

mod body;
mod encode;

use crate::AddressMap;
use anyhow::{bail, Result};
use std::ops::Range;
use wasmparser::{CompositeInnerType, Parser, Payload, ValType, Validator, WasmFeatures};

/// A function signature, as the rewrite compares and appends them.
#[derive(Clone, Default, PartialEq, Eq, Hash, Debug)]
struct Sig {
    params: Vec<ValType>,
    results: Vec<ValType>,
}

impl Sig {
    /// `[params] → [exnref]`: a block receiving a caught exception.
    fn exn(params: Vec<ValType>) -> Sig {
        Sig {
            params,
            results: vec![ValType::EXNREF],
        }
    }
}

/// A module rewritten off the legacy exception instructions.
#[derive(Debug)]
pub struct LegacyRewrite {
    /// The rewritten module's bytes (valid with the exceptions feature).
    pub bytes: Vec<u8>,
    /// Rewritten offsets back to the original ones.
    pub offsets: OffsetMap,
}

/// From offsets in a rewritten module back to the original module's.
#[derive(Debug, Default, Clone)]
pub struct OffsetMap {
    /// (rewritten offset, original offset, whether the bytes from there on
    /// are a verbatim copy), sorted by rewritten offset. In a copied stretch
    /// an offset moves by the same amount; in a rewritten body every byte
    /// maps to the start of the original instruction it came from.
    entries: Vec<(u32, u32, bool)>,
}

impl OffsetMap {
    /// The original offset of `offset` in the rewritten module.
    pub fn original(&self, offset: u32) -> u32 {
        let i = self.entries.partition_point(|(at, _, _)| *at <= offset);
        match i.checked_sub(1).map(|i| self.entries[i]) {
            Some((at, orig, true)) => orig + (offset - at),
            Some((_, orig, false)) => orig,
            None => offset,
        }
    }

    /// Rewrites every wasm offset in `map` to the original module's.
    pub fn apply(&self, map: &mut AddressMap) {
        for start in &mut map.func_starts {
            *start = self.original(*start);
        }
        for (_, wasm) in &mut map.sites {
            if *wasm != AddressMap::NO_INSTRUCTION {
                *wasm = self.original(*wasm);
            }
        }
    }
}

/// Rewrites `bytes` off the legacy exception instructions if `features`
/// allows them and the module uses them; `Ok(None)` otherwise (also for a
/// component or malformed input, which the ordinary path then reports).
///
/// # Errors
/// The validator's error when the module is invalid with `features`; an error
/// naming the construct when a body combines legacy exceptions with an
/// instruction the rewrite cannot renumber (stack switching, descriptor casts).
pub fn rewrite_legacy_exceptions(
    bytes: &[u8],
    features: WasmFeatures,
) -> Result<Option<LegacyRewrite>> {
    if !features.contains(WasmFeatures::LEGACY_EXCEPTIONS) || !uses_legacy(bytes) {
        return Ok(None);
    }
    Validator::new_with_features(features).validate_all(bytes)?;
    rewrite(bytes).map(Some)
}

/// Whether a core module's bodies contain a legacy exception instruction
/// (`false` for components and for anything that does not parse).
fn uses_legacy(bytes: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { return false };
        match payload {
            Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => return false,
            Payload::CodeSectionEntry(body) if body_uses_legacy(&body) => return true,
            _ => {}
        }
    }
    false
}

/// A section of the original module, in order.
enum Section<'a> {
    /// Copied as is: id and content range.
    Copy(u8, Range<usize>),
    /// The type section: its content range and number of entries.
    Types(Range<usize>, u32),
    /// The code section's bodies.
    Code(Vec<wasmparser::FunctionBody<'a>>),
}

/// Rewrites a valid module that uses legacy exception instructions.
fn rewrite(bytes: &[u8]) -> Result<LegacyRewrite> {
    let mut info = body::ModuleInfo {
        types: Vec::new(),
        tags: Vec::new(),
        num_types: 0,
    };
    let mut funcs: Vec<u32> = Vec::new();
    let mut sections = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group?.into_types() {
                        info.types.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(Sig {
                                params: f.params().to_vec(),
                                results: f.results().to_vec(),
                            }),
                            _ => None,
                        });
                    }
                }
                let range = reader.range();
                sections.push(Section::Types(
                    range.start as usize..range.end as usize,
                    reader.count(),
                ));
                continue;
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    match import?.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            funcs.push(t)
                        }
                        wasmparser::TypeRef::Tag(t) => info.tags.push(t.func_type_idx),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for f in reader.clone() {
                    funcs.push(f?);
                }
            }
            Payload::TagSection(reader) => {
                for t in reader.clone() {
                    info.tags.push(t?.func_type_idx);
                }
            }
            Payload::CodeSectionStart { .. } => {
                sections.push(Section::Code(Vec::new()));
                continue;
            }
            Payload::CodeSectionEntry(body) => {
                if let Some(Section::Code(bodies)) = sections.last_mut() {
                    bodies.push(body.clone());
                }
                continue;
            }
            Payload::Version { .. } | Payload::End(_) => continue,
            _ => {}
        }
        match payload.as_section() {
            Some((id, range)) => {
                sections.push(Section::Copy(id, range.start as usize..range.end as usize))
            }
            None => bail!("legacy exception rewrite: unexpected payload in a valid module"),
        }
    }
    info.num_types = info.types.len() as u32;
    let num_imported = funcs.len()
        - sections
            .iter()
            .map(|s| match s {
                Section::Code(b) => b.len(),
                _ => 0,
            })
            .sum::<usize>();

    // Rewrite the bodies first: they decide which types to append.
    let mut new_types = body::NewTypes::default();
    let mut code: Vec<Option<body::RewrittenBody>> = Vec::new();
    for section in &sections {
        if let Section::Code(bodies) = section {
            for (i, b) in bodies.iter().enumerate() {
                let ty = funcs[num_imported + i] as usize;
                let params = info
                    .types
                    .get(ty)
                    .cloned()
                    .flatten()
                    .unwrap_or_default()
                    .params
                    .len();
                code.push(if body_uses_legacy(b) {
                    Some(body::rewrite(bytes, b, params, &info, &mut new_types)?)
                } else {
                    None
                });
            }
        }
    }

    let mut out = bytes[..8].to_vec();
    let mut offsets = OffsetMap::default();
    for section in &sections {
        match section {
            Section::Copy(id, range) => {
                let content = &bytes[range.clone()];
                out.push(*id);
                encode::u32_leb(&mut out, content.len() as u32);
                offsets
                    .entries
                    .push((out.len() as u32, range.start as u32, true));
                out.extend_from_slice(content);
            }
            Section::Types(range, count) => {
                let (_, count_len) = encode::read_u32_leb(bytes, range.start)
                    .ok_or_else(|| anyhow::anyhow!("malformed type section"))?;
                let mut content = Vec::new();
                encode::u32_leb(&mut content, count + new_types.sigs.len() as u32);
                let old_start = content.len();
                content.extend_from_slice(&bytes[range.start + count_len..range.end]);
                for sig in &new_types.sigs {
                    content.push(0x60);
                    encode::u32_leb(&mut content, sig.params.len() as u32);
                    for t in &sig.params {
                        encode::val_type(&mut content, *t);
                    }
                    encode::u32_leb(&mut content, sig.results.len() as u32);
                    for t in &sig.results {
                        encode::val_type(&mut content, *t);
                    }
                }
                out.push(1);
                encode::u32_leb(&mut out, content.len() as u32);
                offsets.entries.push((
                    (out.len() + old_start) as u32,
                    (range.start + count_len) as u32,
                    true,
                ));
                out.extend_from_slice(&content);
            }
            Section::Code(bodies) => {
                // Lay the section out first: its size prefix comes before it.
                let mut content = Vec::new();
                let mut entries = Vec::new();
                encode::u32_leb(&mut content, bodies.len() as u32);
                for (b, rewritten) in bodies.iter().zip(code.drain(..bodies.len())) {
                    let range = b.range();
                    let (body_bytes, sites) = match &rewritten {
                        Some(r) => (&r.bytes[..], Some(&r.sites)),
                        None => (&bytes[range.start as usize..range.end as usize], None),
                    };
                    encode::u32_leb(&mut content, body_bytes.len() as u32);
                    let at = content.len() as u32;
                    match sites {
                        Some(sites) => {
                            entries.extend(sites.iter().map(|(s, orig)| (at + s, *orig, false)))
                        }
                        None => entries.push((at, range.start as u32, true)),
                    }
                    content.extend_from_slice(body_bytes);
                }
                out.push(10);
                encode::u32_leb(&mut out, content.len() as u32);
                let base = out.len() as u32;
                offsets.entries.extend(
                    entries
                        .into_iter()
                        .map(|(at, orig, copy)| (base + at, orig, copy)),
                );
                out.extend_from_slice(&content);
            }
        }
    }
    Ok(LegacyRewrite {
        bytes: out,
        offsets,
    })
}

/// Whether one body contains a legacy exception instruction.
fn body_uses_legacy(body: &wasmparser::FunctionBody<'_>) -> bool {
    let Ok(mut ops) = body.get_operators_reader() else {
        return false;
    };
    while !ops.eof() {
        match ops.read() {
            Ok(
                wasmparser::Operator::Try { .. }
                | wasmparser::Operator::Delegate { .. }
                | wasmparser::Operator::Rethrow { .. }
                | wasmparser::Operator::Catch { .. }
                | wasmparser::Operator::CatchAll,
            ) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_linearly_in_copies_and_exactly_in_rewritten_bodies() {
        let map = OffsetMap {
            entries: vec![
                (8, 8, true),
                (30, 20, true),
                (50, 40, false),
                (53, 41, false),
            ],
        };
        assert_eq!(map.original(3), 3, "before any entry: unchanged");
        assert_eq!(map.original(10), 10);
        assert_eq!(map.original(35), 25, "a copied stretch moves as a whole");
        assert_eq!(
            map.original(52),
            40,
            "synthesised bytes map to their instruction"
        );
        assert_eq!(map.original(60), 41);
        let mut address_map = AddressMap {
            func_starts: vec![30],
            sites: vec![(0, 35), (4, AddressMap::NO_INSTRUCTION), (9, 53)],
        };
        map.apply(&mut address_map);
        assert_eq!(address_map.func_starts, [20]);
        assert_eq!(
            address_map.sites,
            [(0, 25), (4, AddressMap::NO_INSTRUCTION), (9, 41)]
        );
    }

    #[test]
    fn only_modules_with_legacy_instructions_are_rewritten_into_the_final_form() {
        // `(module (func))`, legacy on: nothing to rewrite.
        let bytes = [
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b,
        ];
        let features = WasmFeatures::default() | WasmFeatures::LEGACY_EXCEPTIONS;
        assert!(rewrite_legacy_exceptions(&bytes, features)
            .unwrap()
            .is_none());
        // `try end` in the body: rewritten onto `try_table`, and the result
        // validates without the legacy feature.
        let legacy = [
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 7, 1, 5, 0, 0x06,
            0x40, 0x0b, 0x0b,
        ];
        let rewritten = rewrite_legacy_exceptions(&legacy, features)
            .unwrap()
            .expect("rewritten");
        let final_form = WasmFeatures::default().difference(WasmFeatures::LEGACY_EXCEPTIONS);
        Validator::new_with_features(final_form)
            .validate_all(&rewritten.bytes)
            .expect("the rewrite validates without legacy instructions");
        // The original itself needs the legacy feature.
        let err = Validator::new_with_features(final_form)
            .validate_all(&legacy)
            .map(|_| ())
            .unwrap_err();
        assert!(format!("{err}").contains("legacy_exceptions"), "{err}");
    }
}

//! The reference fields of an exception object, for the collector's tracer
//! (the `GcKind::Exn` arm): which payload words are GC references, where they
//! are and how wide. The layout itself is `gc_layout::gc_exn_layout`.
//!
//! A field of the `any` hierarchy is a 32-bit word; `extern` and `exn` fields
//! are 64-bit self-describing words (see `docs/design/gc.md`). Function
//! references are not GC references and are never listed, nor is the tag
//! identity (a host address).

use crate::{gc_exn_layout, WasmHeapType, WasmValType};

/// One reference field of an object: where it is and how wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcRefField {
    /// Offset from the object's start.
    pub offset: u32,
    /// 4 for a 32-bit `any` word, 8 for a 64-bit word.
    pub width: u32,
}

/// The reference fields of an exception object whose tag has the
/// parameters `params` (the tag's function type is the object's header type
/// id), in field order.
pub fn exn_reference_fields(params: &[WasmValType]) -> Vec<GcRefField> {
    let layout = gc_exn_layout(params);
    params
        .iter()
        .zip(&layout.fields[1..])
        .filter_map(|(ty, &offset)| {
            let WasmValType::Ref(r) = ty else {
                return None;
            };
            match r.heap.top() {
                WasmHeapType::Any => Some(GcRefField { offset, width: 4 }),
                WasmHeapType::Extern | WasmHeapType::Exn => Some(GcRefField { offset, width: 8 }),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WasmRefType;

    fn r(heap: WasmHeapType) -> WasmValType {
        WasmValType::Ref(WasmRefType {
            nullable: true,
            heap,
        })
    }

    #[test]
    fn only_gc_references_are_listed_with_their_widths() {
        let params = [
            WasmValType::I32,
            r(WasmHeapType::Any),
            r(WasmHeapType::Func),
            r(WasmHeapType::Extern),
            WasmValType::F64,
            r(WasmHeapType::Exn),
            r(WasmHeapType::I31),
        ];
        let layout = gc_exn_layout(&params);
        assert_eq!(
            exn_reference_fields(&params),
            vec![
                GcRefField {
                    offset: layout.fields[2],
                    width: 4
                },
                GcRefField {
                    offset: layout.fields[4],
                    width: 8
                },
                GcRefField {
                    offset: layout.fields[6],
                    width: 8
                },
                GcRefField {
                    offset: layout.fields[7],
                    width: 4
                },
            ]
        );
        assert!(exn_reference_fields(&[WasmValType::I64]).is_empty());
    }
}

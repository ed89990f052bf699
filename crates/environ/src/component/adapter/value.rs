//! The seam of adapter generation: [`Body::convert`] moves one value of an
//! [`InterfaceType`] from the sending side's place to the receiving side's,
//! dispatching per type — scalars, flags and variants (`scalar.rs`), strings
//! of one encoding and lists (`memory.rs`), strings between two encodings
//! (`transcode.rs`), resource handles (`res.rs`). Each returns `Err(reason)`
//! for what it cannot compile yet, and the call is then left fused with
//! that reason.
//!
//! Conversion assumes the value was checked first (`check.rs`): the
//! canonical ABI lifts (and so checks) every argument before it lowers
//! any, so no `realloc` may run before a later argument's trap.

use super::body::{Body, Place};
use crate::component::types::{ComponentTypes, InterfaceType, TypeDef};
use crate::component::StringEncoding;

impl Body {
    /// Converts the value of `ty` at `src` into `dst` (see the module doc).
    pub(super) fn convert(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        src: &Place,
        dst: &Place,
    ) -> Result<(), String> {
        use InterfaceType as T;
        match ty {
            T::String => {
                let (from, to) = (self.src.encoding, self.dst.encoding);
                if is_copy(from, to) {
                    self.copy_string(from, src, dst)
                } else {
                    self.transcode_string(from, to, src, dst)
                }
            }
            T::Defined(_) => match types.def(ty) {
                Some(TypeDef::Record(_) | TypeDef::Tuple(_)) => {
                    let fields = types.fields(ty).to_vec();
                    let mut flat_pos = 0;
                    for (t, offset) in fields {
                        let n = flat_len(types, t);
                        self.convert(
                            types,
                            t,
                            &src.part(flat_pos, n, offset),
                            &dst.part(flat_pos, n, offset),
                        )?;
                        flat_pos += n;
                    }
                    Ok(())
                }
                Some(TypeDef::FixedList(elem, count)) => {
                    let (elem, count) = (*elem, *count);
                    let (n, size) = (flat_len(types, elem), types.size(elem));
                    for i in 0..count as usize {
                        let offset = size * i as u32;
                        self.convert(
                            types,
                            elem,
                            &src.part(i * n, n, offset),
                            &dst.part(i * n, n, offset),
                        )?;
                    }
                    Ok(())
                }
                Some(TypeDef::Flags(names)) => {
                    self.convert_flags(names.len(), src, dst);
                    Ok(())
                }
                Some(
                    TypeDef::Variant(_)
                    | TypeDef::Enum(_)
                    | TypeDef::Option(_)
                    | TypeDef::Result { .. },
                ) => self.convert_variant(types, ty, src, dst),
                Some(TypeDef::List(elem)) => self.copy_list(types, *elem, src, dst),
                Some(TypeDef::Map(..)) => Err("a map crosses (not compiled yet)".into()),
                Some(def @ (TypeDef::Own(_) | TypeDef::Borrow(_))) => {
                    self.convert_handle(types, ty, def, src, dst)
                }
                Some(TypeDef::Future(_) | TypeDef::Stream(_) | TypeDef::ErrorContext) => {
                    Err("an async value crosses (not compiled yet)".into())
                }
                None => Err("an unknown type (a Tern bug)".into()),
            },
            _ => {
                self.convert_scalar(ty, src, dst);
                Ok(())
            }
        }
    }
}

/// Whether a string goes from encoding `from` to `to` as a plain copy
/// (latin1+utf16 never does: a UTF-16 string of Latin-1 characters is
/// deflated, as the canonical ABI's `store_probably_utf16_to_latin1_or_utf16`
/// says).
pub(super) fn is_copy(from: StringEncoding, to: StringEncoding) -> bool {
    from == to && from != StringEncoding::CompactUtf16
}

/// How many flat values `ty` has (a value in memory has the same layout
/// whatever this says; callers only use it for flat places).
pub(super) fn flat_len(types: &ComponentTypes, ty: InterfaceType) -> usize {
    types.flat(ty).map_or(0, <[_]>::len)
}

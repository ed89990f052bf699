//! Strings that cross between two different encodings (or in
//! latin1+utf16 on both sides, which may deflate): the canonical ABI's
//! transcoding `store_string_*` sequences. The adapter calls a runtime
//! import, `tern.transcode-to-callee` or `tern.transcode-to-caller` (see
//! [`super::interface::adapter_names`]), with the checked `(ptr,
//! tagged_len)`; the runtime (`tern::component::transcoder`) reads the
//! sender's bytes and writes the receiver's with its `realloc`, using the
//! same code as the host-fused path, and the adapter stores the new pair.
//! Why a runtime call rather than generated wasm is said there.

use super::body::{Body, Place};
use crate::component::types::{ComponentTypes, InterfaceType, TypeDef};
use crate::component::StringEncoding;
use wasm_encoder::{Instruction as I, ValType};

impl Body {
    /// Moves a string from encoding `from` at `src` to encoding `to` at
    /// `dst` (checked first by [`Body::check_string`]).
    pub(super) fn transcode_string(
        &mut self,
        from: StringEncoding,
        to: StringEncoding,
        src: &Place,
        dst: &Place,
    ) -> Result<(), String> {
        let func = if self.src.is_callee {
            self.funcs.transcode_to_caller
        } else {
            self.funcs.transcode_to_callee
        };
        let Some(func) = func else {
            return Err(format!(
                "a string crosses from {from:?} to {to:?} without a transcoder import (a Tern bug)"
            ));
        };
        let (ptr, len) = self.pointer_pair(src);
        let (out, new_ptr, new_len) = (
            self.local(ValType::I64),
            self.local(ValType::I32),
            self.local(ValType::I32),
        );
        self.op(I::LocalGet(ptr))
            .op(I::LocalGet(len))
            .op(I::Call(func))
            .op(I::LocalTee(out))
            .op(I::I32WrapI64)
            .op(I::LocalSet(new_ptr));
        self.op(I::LocalGet(out))
            .op(I::I64Const(32))
            .op(I::I64ShrU)
            .op(I::I32WrapI64)
            .op(I::LocalSet(new_len));
        self.store_pointer_pair(dst, new_ptr, new_len);
        Ok(())
    }
}

/// Whether a value of `ty` contains a string.
pub(super) fn has_string(types: &ComponentTypes, ty: InterfaceType) -> bool {
    match ty {
        InterfaceType::String => true,
        InterfaceType::Defined(_) => match types.def(ty) {
            Some(TypeDef::Record(fields)) => fields.iter().any(|(_, t)| has_string(types, *t)),
            Some(TypeDef::Tuple(tys)) => tys.iter().any(|t| has_string(types, *t)),
            Some(TypeDef::List(elem) | TypeDef::FixedList(elem, _)) => has_string(types, *elem),
            Some(TypeDef::Variant(cases)) => cases
                .iter()
                .filter_map(|(_, t)| *t)
                .any(|t| has_string(types, t)),
            Some(TypeDef::Option(t)) => has_string(types, *t),
            Some(TypeDef::Result { ok, err }) => {
                ok.iter().chain(err).any(|t| has_string(types, *t))
            }
            Some(TypeDef::Map(k, v)) => has_string(types, *k) || has_string(types, *v),
            _ => false,
        },
        _ => false,
    }
}

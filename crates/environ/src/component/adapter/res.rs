//! Resource handles (`own`, `borrow`) crossing in an adapter: moving an
//! owned handle from the caller's table to the callee's, lending a borrow
//! for the call.
//!
//! Not compiled yet: [`Body::convert_handle`] and [`Body::check_handle`]
//! return the reason, and the call stays on the host-fused path
//! (`tern::component::handles`).

use super::body::{Body, Place};
use crate::component::types::{ComponentTypes, InterfaceType, TypeDef};

impl Body {
    /// Moves the handle of `ty` (`def` is its `Own` or `Borrow`) from `src`
    /// to `dst`.
    pub(super) fn convert_handle(
        &mut self,
        _types: &ComponentTypes,
        _ty: InterfaceType,
        _def: &TypeDef,
        _src: &Place,
        _dst: &Place,
    ) -> Result<(), String> {
        Err("a resource handle crosses (not compiled yet)".into())
    }

    /// Checks the handle of `ty` at `src` before anything is lowered.
    pub(super) fn check_handle(
        &mut self,
        _types: &ComponentTypes,
        _ty: InterfaceType,
        _def: &TypeDef,
        _src: &Place,
    ) -> Result<(), String> {
        Err("a resource handle crosses (not compiled yet)".into())
    }
}

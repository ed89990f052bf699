//! Strings that cross between two different encodings (or in
//! latin1+utf16 on both sides, which may deflate): the canonical ABI's
//! transcoding `store_string_*` sequences, compiled into the adapter.
//!
//! Not compiled yet: [`Body::transcode_string`] returns the reason, and the
//! call stays on the host-fused path (`abi/string.rs`), which implements
//! every pair.

use super::body::{Body, Place};
use crate::component::StringEncoding;

impl Body {
    /// Moves a string from encoding `from` at `src` to encoding `to` at
    /// `dst` (checked first by [`Body::check_string`]).
    pub(super) fn transcode_string(
        &mut self,
        from: StringEncoding,
        to: StringEncoding,
        _src: &Place,
        _dst: &Place,
    ) -> Result<(), String> {
        Err(format!(
            "a string crosses from {from:?} to {to:?} (transcoding is not compiled yet)"
        ))
    }
}

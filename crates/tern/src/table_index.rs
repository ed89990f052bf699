//! [`TableIndex`]: the integer types [`crate::Table`]'s methods take for an
//! element index, a length or a growth delta.
//!
//! wasmtime 12 takes `u32` there, later wasmtime `u64` (64-bit tables); Tern
//! takes either, so code written against both compiles unchanged. `i32` is
//! accepted too because an integer literal that nothing else constrains is an
//! `i32` in Rust (`table.get(&mut store, 0)`); a negative `i32` is simply out of
//! bounds. The trait is sealed: it only converts, it adds no behaviour.

mod sealed {
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
    impl Sealed for i32 {}
}

/// An element index, length or delta for [`crate::Table`]: `u32` (wasmtime
/// 12), `u64` (later wasmtime), or `i32` (an unsuffixed literal; negative
/// values are out of bounds).
pub trait TableIndex: sealed::Sealed + Copy + std::fmt::Display {
    /// The value as a 64-bit table index, `None` when negative.
    #[doc(hidden)]
    fn to_table_index(self) -> Option<u64>;
}

impl TableIndex for u32 {
    fn to_table_index(self) -> Option<u64> {
        Some(u64::from(self))
    }
}

impl TableIndex for u64 {
    fn to_table_index(self) -> Option<u64> {
        Some(self)
    }
}

impl TableIndex for i32 {
    fn to_table_index(self) -> Option<u64> {
        u64::try_from(self).ok()
    }
}

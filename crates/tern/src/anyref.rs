//! Values of the GC `any` hierarchy in the API: [`AnyRef`] and [`I31`].
//!
//! **GC phase 1** (see `docs/design/gc.md`): there is no GC heap yet, so the
//! only non-null `anyref` values that exist are unboxed 31-bit integers
//! (`i31ref`). An [`AnyRef`] is therefore a plain copyable value here, not
//! wasmtime's store-rooted `Rooted<AnyRef>`; phase 2 turns it into a rooted
//! handle when structs and arrays arrive. It keeps the reference's word as
//! compiled code holds it, privately, so converting to and from wasm never
//! loses information.

/// An unboxed 31-bit integer (`i31ref`), as in wasmtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `v` (the top bit is dropped).
    pub fn wrapping_u32(v: u32) -> Self {
        Self(v & 0x7fff_ffff)
    }

    /// The low 31 bits of `v`, as two's complement (the top bit is dropped).
    pub fn wrapping_i32(v: i32) -> Self {
        Self::wrapping_u32(v as u32)
    }

    /// `v` if it fits in 31 unsigned bits.
    pub fn new_u32(v: u32) -> Option<Self> {
        (v <= 0x7fff_ffff).then_some(Self(v))
    }

    /// `v` if it fits in 31 signed bits.
    pub fn new_i32(v: i32) -> Option<Self> {
        (-(1 << 30)..(1 << 30))
            .contains(&v)
            .then(|| Self::wrapping_i32(v))
    }

    /// The value zero-extended (what `i31.get_u` returns).
    pub fn get_u32(self) -> u32 {
        self.0
    }

    /// The value sign-extended (what `i31.get_s` returns).
    pub fn get_i32(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}

/// A non-null reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`).
/// In GC phase 1 every such value is an [`I31`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyRef {
    /// The reference word as compiled code holds it (never 0).
    word: u64,
}

impl AnyRef {
    /// The `i31ref` holding `i`.
    pub fn from_i31(i: I31) -> Self {
        Self {
            word: tern_environ::i31_word(i.get_u32() as i32),
        }
    }

    /// Whether this is an `i31ref`.
    pub fn is_i31(&self) -> bool {
        self.word & 1 == 1
    }

    /// The integer, if this is an `i31ref`.
    pub fn as_i31(&self) -> Option<I31> {
        self.is_i31()
            .then(|| I31::wrapping_u32((self.word as u32) >> 1))
    }

    /// The word compiled code holds for this reference.
    pub(crate) fn to_raw(self) -> u64 {
        self.word
    }

    /// The reference of a word compiled code produced (`None` for null).
    pub(crate) fn from_raw(word: u64) -> Option<Self> {
        (word != 0).then_some(Self { word })
    }
}

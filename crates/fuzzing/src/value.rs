//! The engine-neutral vocabulary of a differential run: [`Value`]s, the
//! [`Outcome`] of an instantiation or a call, the [`Snapshot`] of an instance's
//! exported state, and the argument generator.
//!
//! Values compare bit for bit (floats as their bits: the generated modules
//! canonicalise NaNs). References compare by null-ness only: the two engines'
//! function references cannot be matched up by identity.

use crate::rng::Rng;

/// A WebAssembly value as both engines can report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits.
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref`; only whether it is null.
    FuncRef {
        /// Whether the reference is null.
        null: bool,
    },
    /// An `externref`; only whether it is null.
    ExternRef {
        /// Whether the reference is null.
        null: bool,
    },
    /// An `exnref`; only whether it is null (Tern only: the generator never
    /// enables exception handling, which the oracle lacks).
    ExnRef {
        /// Whether the reference is null.
        null: bool,
    },
}

/// The type of a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// `funcref`
    FuncRef,
    /// `externref`
    ExternRef,
    /// `exnref`
    ExnRef,
}

impl Kind {
    /// The kind of a Tern value type.
    pub fn from_tern(ty: &tern::ValType) -> Self {
        match ty {
            tern::ValType::I32 => Self::I32,
            tern::ValType::I64 => Self::I64,
            tern::ValType::F32 => Self::F32,
            tern::ValType::F64 => Self::F64,
            tern::ValType::V128 => Self::V128,
            tern::ValType::Ref(r) => match r.heap_type() {
                tern::HeapType::Extern | tern::HeapType::NoExtern => Self::ExternRef,
                tern::HeapType::Exn | tern::HeapType::NoExn => Self::ExnRef,
                // The generator enables no GC types: every other
                // reference is a function reference.
                _ => Self::FuncRef,
            },
        }
    }
}

/// How an instantiation or a call ended, on one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished normally with these results (none for an instantiation).
    Values(Vec<Value>),
    /// Trapped; trap kinds are expressed in Tern's vocabulary.
    Trap(tern::Trap),
    /// Ran out of stack. Not compared: the engines' stacks are measured in
    /// different units, so near the limit one may overflow where the other
    /// does not (a campaign counts these and moves to the next instance).
    Exhausted,
    /// The oracle ran out of its own fuel (a safety net under the module's
    /// termination counter); the case is skipped, Tern is not run.
    OracleOutOfFuel,
    /// Failed with an error that is not a trap (the message).
    Error(String),
}

impl Outcome {
    /// Whether this outcome is a stack exhaustion.
    pub fn is_exhausted(&self) -> bool {
        matches!(self, Self::Exhausted)
    }
}

/// The exported state of an instance after a call: globals, memories and
/// tables, by export name, in export order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Each exported global's value.
    pub globals: Vec<(String, Value)>,
    /// Each exported memory's bytes.
    pub memories: Vec<(String, Vec<u8>)>,
    /// Each exported table's entries, as null-ness.
    pub tables: Vec<(String, Vec<bool>)>,
}

impl Snapshot {
    /// A one-line description of the first difference from `other`, if any.
    pub fn first_difference(&self, other: &Snapshot) -> Option<String> {
        if self == other {
            return None;
        }
        for (a, b) in self.globals.iter().zip(&other.globals) {
            if a != b {
                return Some(format!("global `{}`: {:?} vs {:?}", a.0, a.1, b.1));
            }
        }
        for (a, b) in self.memories.iter().zip(&other.memories) {
            if a.1.len() != b.1.len() {
                return Some(format!(
                    "memory `{}`: {} bytes vs {} bytes",
                    a.0,
                    a.1.len(),
                    b.1.len()
                ));
            }
            if let Some(i) = a.1.iter().zip(&b.1).position(|(x, y)| x != y) {
                return Some(format!(
                    "memory `{}` byte {i}: {:#04x} vs {:#04x}",
                    a.0, a.1[i], b.1[i]
                ));
            }
        }
        for (a, b) in self.tables.iter().zip(&other.tables) {
            if a.1.len() != b.1.len() {
                return Some(format!(
                    "table `{}`: {} entries vs {}",
                    a.0,
                    a.1.len(),
                    b.1.len()
                ));
            }
            if let Some(i) = a.1.iter().zip(&b.1).position(|(x, y)| x != y) {
                return Some(format!(
                    "table `{}` entry {i}: null={} vs null={}",
                    a.0, a.1[i], b.1[i]
                ));
            }
        }
        Some("exported state differs in shape".to_string())
    }
}

/// An argument of kind `kind`: boundary values half of the time, random bits
/// otherwise. References are always null (the caller has none to pass).
pub fn arbitrary_value(rng: &mut Rng, kind: Kind) -> Value {
    let edgy = rng.chance(1, 2);
    match kind {
        Kind::I32 => Value::I32(if edgy {
            *rng.pick(&[
                0,
                1,
                -1,
                2,
                7,
                31,
                32,
                63,
                64,
                255,
                65535,
                65536,
                i32::MIN,
                i32::MAX,
                i32::MIN + 1,
            ])
        } else if rng.chance(1, 2) {
            rng.range(0, 256) as i32 - 128
        } else {
            rng.next_u64() as i32
        }),
        Kind::I64 => Value::I64(if edgy {
            *rng.pick(&[
                0,
                1,
                -1,
                2,
                63,
                64,
                65536,
                i64::from(i32::MIN),
                i64::from(u32::MAX),
                i64::MIN,
                i64::MAX,
            ])
        } else if rng.chance(1, 2) {
            rng.range(0, 256) as i64 - 128
        } else {
            rng.next_u64() as i64
        }),
        Kind::F32 => Value::F32(if edgy {
            *rng.pick(&[
                0.0f32.to_bits(),
                (-0.0f32).to_bits(),
                1.0f32.to_bits(),
                (-1.5f32).to_bits(),
                f32::INFINITY.to_bits(),
                f32::NEG_INFINITY.to_bits(),
                0x7fc0_0000, // canonical NaN
                f32::MAX.to_bits(),
                f32::MIN_POSITIVE.to_bits(),
                1, // smallest subnormal
                2147483648.0f32.to_bits(),
                (-2147483904.0f32).to_bits(),
                4294967296.0f32.to_bits(),
            ])
        } else if rng.chance(1, 2) {
            ((rng.range(0, 20000) as f32 - 10000.0) / 8.0).to_bits()
        } else {
            rng.next_u64() as u32
        }),
        Kind::F64 => Value::F64(if edgy {
            *rng.pick(&[
                0.0f64.to_bits(),
                (-0.0f64).to_bits(),
                1.0f64.to_bits(),
                (-1.5f64).to_bits(),
                f64::INFINITY.to_bits(),
                f64::NEG_INFINITY.to_bits(),
                0x7ff8_0000_0000_0000, // canonical NaN
                f64::MAX.to_bits(),
                f64::MIN_POSITIVE.to_bits(),
                1,
                2147483648.0f64.to_bits(),
                (-2147483649.0f64).to_bits(),
                9223372036854775808.0f64.to_bits(),
            ])
        } else if rng.chance(1, 2) {
            ((rng.range(0, 20000) as f64 - 10000.0) / 8.0).to_bits()
        } else {
            rng.next_u64()
        }),
        Kind::V128 => Value::V128(if edgy {
            *rng.pick(&[
                0,
                u128::MAX,
                1,
                0x8000_0000_8000_0000_8000_0000_8000_0000,
                0x7fc0_0000_3f80_0000_0000_0000_bf80_0000,
            ])
        } else {
            (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
        }),
        Kind::FuncRef => Value::FuncRef { null: true },
        Kind::ExternRef => Value::ExternRef { null: true },
        Kind::ExnRef => Value::ExnRef { null: true },
    }
}

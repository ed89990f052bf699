//! The reasons compiled code can trap, shared by the code generator (which encodes
//! them as Cranelift trap codes) and the runtime, which reports them as this very
//! type (`tern::Trap` is a re-export): one list, no mirror to keep in step.

/// Why a WebAssembly computation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum TrapKind {
    /// The wasm stack exceeded `Config::max_wasm_stack`.
    StackOverflow = 1,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// A table access outside the table.
    TableOutOfBounds,
    /// `call_indirect` found a null entry.
    IndirectCallToNull,
    /// `call_indirect` found a function of another type.
    BadSignature,
    /// Signed division overflow or a float too large for the integer type.
    IntegerOverflow,
    /// Division or remainder by zero.
    IntegerDivisionByZero,
    /// A NaN converted to an integer.
    BadConversionToInteger,
    /// The `unreachable` instruction.
    UnreachableCodeReached,
    /// An epoch deadline interrupted the code.
    Interrupt,
    /// The store ran out of fuel.
    OutOfFuel,
    /// A null reference was dereferenced.
    NullReference,
    /// A component instance was entered when the component model forbids it
    /// (re-entrance, or after it trapped). Raised by the runtime, not by
    /// compiled core code.
    CannotEnterComponent,
    /// `ref.cast` found a reference of another type (GC).
    CastFailure,
    /// `i31.get_s`/`i31.get_u` found a null reference (GC).
    NullI31Reference,
    /// A `struct.*` operator found a null reference (GC).
    NullStructReference,
    /// An `array.*` operator found a null reference (GC).
    NullArrayReference,
    /// An array index or range outside the array (GC).
    ArrayOutOfBounds,
    /// The store's GC heap could not grow to hold a new object (GC).
    GcHeapOutOfMemory,
    /// An atomic memory access at an address not aligned to its size
    /// (wasmtime 12's name; threads). Tern does not implement threads, so it
    /// never raises this trap.
    HeapMisaligned,
    /// `memory.atomic.wait` on a memory that is not shared (wasmtime 12's
    /// name; threads). Tern does not implement threads, so it never raises
    /// this trap.
    AtomicWaitNonSharedMemory,
    /// A component adapter that always traps was called (wasmtime 12's name,
    /// for a function lifted and lowered through the same instance). Tern
    /// compiles no such adapter, so it never raises this trap.
    AlwaysTrapAdapter,
}

impl TrapKind {
    /// Every trap kind, for tables and tests.
    pub const ALL: [TrapKind; 22] = [
        Self::StackOverflow,
        Self::MemoryOutOfBounds,
        Self::TableOutOfBounds,
        Self::IndirectCallToNull,
        Self::BadSignature,
        Self::IntegerOverflow,
        Self::IntegerDivisionByZero,
        Self::BadConversionToInteger,
        Self::UnreachableCodeReached,
        Self::Interrupt,
        Self::OutOfFuel,
        Self::NullReference,
        Self::CannotEnterComponent,
        Self::CastFailure,
        Self::NullI31Reference,
        Self::NullStructReference,
        Self::NullArrayReference,
        Self::ArrayOutOfBounds,
        Self::GcHeapOutOfMemory,
        Self::HeapMisaligned,
        Self::AtomicWaitNonSharedMemory,
        Self::AlwaysTrapAdapter,
    ];

    /// The numeric code used in compiled code's trap tables.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`TrapKind::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// The message the WebAssembly specification's tests expect for this trap.
    pub fn message(self) -> &'static str {
        match self {
            Self::StackOverflow => "call stack exhausted",
            Self::MemoryOutOfBounds => "out of bounds memory access",
            Self::TableOutOfBounds => "undefined element: out of bounds table access",
            Self::IndirectCallToNull => "uninitialized element",
            Self::BadSignature => "indirect call type mismatch",
            Self::IntegerOverflow => "integer overflow",
            Self::IntegerDivisionByZero => "integer divide by zero",
            Self::BadConversionToInteger => "invalid conversion to integer",
            Self::UnreachableCodeReached => "unreachable",
            Self::Interrupt => "interrupt",
            Self::OutOfFuel => "all fuel consumed by WebAssembly",
            Self::NullReference => "null reference",
            Self::CannotEnterComponent => "cannot enter component instance",
            Self::CastFailure => "cast failure",
            Self::NullI31Reference => "null i31 reference",
            Self::NullStructReference => "null structure reference",
            Self::NullArrayReference => "null array reference",
            Self::ArrayOutOfBounds => "out of bounds array access",
            Self::GcHeapOutOfMemory => "GC heap out of memory",
            Self::HeapMisaligned => "unaligned atomic",
            Self::AtomicWaitNonSharedMemory => "atomic wait on non-shared memory",
            Self::AlwaysTrapAdapter => "degenerate component adapter called",
        }
    }
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wasm trap: {}", self.message())
    }
}

impl std::error::Error for TrapKind {}

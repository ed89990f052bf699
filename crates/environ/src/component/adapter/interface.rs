//! What an adapter module and the runtime that instantiates it agree on:
//! the names of the module's imports and export ([`adapter_names`]) and the
//! trap codes it passes to `tern.trap` ([`AdapterTrap`]). Nothing here
//! generates code.

/// The names an adapter module imports and exports; the runtime supplies
/// the imports by these names when it instantiates one.
pub mod adapter_names {
    /// Import module of the flags slots.
    pub const FLAGS: &str = "flags";
    /// The caller's flags slot (in [`FLAGS`]).
    pub const CALLER_FLAGS: &str = "caller";
    /// The callee's flags slot (in [`FLAGS`]).
    pub const CALLEE_FLAGS: &str = "callee";
    /// Import module of the callee's core functions.
    pub const CALLEE: &str = "callee";
    /// The callee's core function (in [`CALLEE`]).
    pub const FUNC: &str = "func";
    /// The callee's post-return function (in [`CALLEE`]), when it has one.
    pub const POST_RETURN: &str = "post-return";
    /// Import module of the runtime's functions.
    pub const RUNTIME: &str = "tern";
    /// `trap(code, a, b)`: fails the call with the error of
    /// [`super::AdapterTrap`] `code` (never returns normally).
    pub const TRAP: &str = "trap";
    /// `enter()`: runs a deferred post-return of the component, if any (the
    /// only thing that can make a clear `may_enter` flag set again).
    pub const ENTER: &str = "enter";
    /// `transcode-to-callee(ptr, tagged_len) -> i64` (in [`RUNTIME`]): moves
    /// the caller's string `(ptr, tagged_len)` into the callee's memory in
    /// the callee's encoding, with the canonical ABI's `realloc` sequence;
    /// returns the new pointer in the low half and the new tagged length in
    /// the high half. Imported when a parameter holds a string whose two
    /// encodings are not a plain copy.
    pub const TRANSCODE_TO_CALLEE: &str = "transcode-to-callee";
    /// `transcode-to-caller`: the same for strings in the result.
    pub const TRANSCODE_TO_CALLER: &str = "transcode-to-caller";
    /// Import module of the caller's options.
    pub const CALLER: &str = "caller";
    /// A side's memory (in [`CALLER`] or [`CALLEE`]), when values cross in
    /// memory; the module also exports it under the same two-level name
    /// joined by `-` (`caller-memory`), for the runtime's trap messages.
    pub const MEMORY: &str = "memory";
    /// A side's `realloc` (in [`CALLER`] or [`CALLEE`]), when the adapter
    /// allocates in that side.
    pub const REALLOC: &str = "realloc";
    /// `resource_enter_call() -> depth`: opens the scope of a call that
    /// moves resource handles (see `res.rs`).
    pub const ENTER_CALL: &str = "resource_enter_call";
    /// `resource_exit_call(depth)`: closes it (lends end; a borrow the
    /// callee kept traps).
    pub const EXIT_CALL: &str = "resource_exit_call";
    /// `resource_unwind_call(depth)`: closes it as a wasm exception unwinds
    /// through the adapter (lends end, no check), as the fused path does
    /// when the call fails.
    pub const UNWIND_CALL: &str = "resource_unwind_call";
    /// `resource_lift_own(index, resource, from, depth)`: removes an own
    /// handle from `from`'s table, keeping its rep in the scope.
    pub const LIFT_OWN: &str = "resource_lift_own";
    /// `resource_lift_borrow(index, resource, from, depth)`: lends a handle
    /// of `from` for the call, keeping its rep in the scope.
    pub const LIFT_BORROW: &str = "resource_lift_borrow";
    /// `resource_lower_own(to, depth) -> index`: the next kept rep as a new
    /// own handle of `to`.
    pub const LOWER_OWN: &str = "resource_lower_own";
    /// `resource_lower_borrow(to, depth) -> index`: the next kept rep as a
    /// borrow handle of `to` (or the rep, when `to` implements it).
    pub const LOWER_BORROW: &str = "resource_lower_borrow";
    /// The export: the lowered function.
    pub const EXPORT: &str = "adapter";
    /// The export of the caller's memory (see [`MEMORY`]).
    pub const CALLER_MEMORY_EXPORT: &str = "caller-memory";
    /// The export of the callee's memory (see [`MEMORY`]).
    pub const CALLEE_MEMORY_EXPORT: &str = "callee-memory";
}

/// The reasons an adapter calls `tern.trap`, with the operands it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterTrap {
    /// The caller may not leave (`a`, `b` unused).
    CannotLeave,
    /// The callee may not be entered (`a`, `b` unused).
    CannotEnter,
    /// `a` is not a Unicode scalar value.
    InvalidChar,
    /// Discriminant `a` is out of range for `b` cases.
    InvalidDiscriminant,
    /// A pointer in the sending side's memory is not aligned.
    Unaligned,
    /// A range of the sending side's memory is out of bounds; `a` says what
    /// it holds (0 a string, 1 a list, 2 a tuple: parameters or a result).
    OutOfBounds,
    /// The receiving side's `realloc` returned an unaligned pointer.
    ReallocUnaligned,
    /// The receiving side's `realloc` returned a range out of bounds (`a` as
    /// for [`AdapterTrap::OutOfBounds`]).
    ReallocOutOfBounds,
    /// A list's byte size does not fit in 32 bits.
    AllocTooLarge,
    /// A string of `a | b << 32` bytes is longer than the ABI allows.
    StringTooLong,
    /// A list of `a` zero-sized elements is too long.
    ZeroSizedList,
    /// The UTF-8 string `(a, b)` in the caller's memory is invalid.
    InvalidUtf8InCaller,
    /// The UTF-8 string `(a, b)` in the callee's memory is invalid.
    InvalidUtf8InCallee,
    /// A UTF-16 string has the unpaired surrogate `a`.
    InvalidUtf16,
}

impl AdapterTrap {
    const ALL: [AdapterTrap; 14] = [
        AdapterTrap::CannotLeave,
        AdapterTrap::CannotEnter,
        AdapterTrap::InvalidChar,
        AdapterTrap::InvalidDiscriminant,
        AdapterTrap::Unaligned,
        AdapterTrap::OutOfBounds,
        AdapterTrap::ReallocUnaligned,
        AdapterTrap::ReallocOutOfBounds,
        AdapterTrap::AllocTooLarge,
        AdapterTrap::StringTooLong,
        AdapterTrap::ZeroSizedList,
        AdapterTrap::InvalidUtf8InCaller,
        AdapterTrap::InvalidUtf8InCallee,
        AdapterTrap::InvalidUtf16,
    ];

    /// The code passed to `tern.trap`.
    pub fn code(self) -> i32 {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0) as i32
    }

    /// The trap of `code`, if it is one.
    pub fn from_code(code: i32) -> Option<Self> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

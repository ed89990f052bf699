//! The one list of libcalls: functions compiled code calls through the
//! `VMBuiltins` table of function pointers every vmctx points to.
//!
//! [`for_each_libcall!`](crate::for_each_libcall) names every libcall once,
//! with its parameters and result. Three things are generated from it, so they
//! cannot drift apart:
//! - here, the [`Builtin`] enum: each libcall's table slot ([`Builtin::offset`],
//!   8 bytes per entry in list order) and its signature ([`Builtin::params`],
//!   [`Builtin::result`]);
//! - in `tern-cranelift`, the CLIF signature of each call, built from
//!   `params`/`result`;
//! - in `tern`'s `vm::libcalls`, the `#[repr(C)] VMBuiltins` struct of
//!   `unsafe extern "C" fn` pointers, whose fields must name functions with
//!   exactly these Rust types (a mismatch does not compile), with compile-time
//!   checks that each field sits at [`Builtin::offset`].
//!
//! Every libcall takes the calling instance's vmctx first (not listed). Those
//! that can go out of bounds return a `u32` status: 0 for success, anything
//! else means nothing was written, and compiled code then traps with the right
//! code (so the trap gets a proper backtrace).

/// Calls `$mac!` with the list of libcalls, one per line:
/// `Variant snake_name(param: type, …) -> result;` with `u32`/`u64` types,
/// preceded by its doc comment. The list order is the `VMBuiltins` table order.
#[macro_export]
macro_rules! for_each_libcall {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: the old size in pages, or `u64::MAX` when the
            /// memory cannot grow by `delta` pages.
            MemoryGrow memory_grow(delta: u64, memory: u32) -> u64;
            /// `memory.copy` once compiled code has checked both ranges:
            /// moves `len` bytes from native address `src` to native address
            /// `dst` (the ranges may overlap).
            MemoryMove memory_move(dst: u64, src: u64, len: u64);
            /// `memory.fill` once compiled code has checked the range: sets
            /// `len` bytes at native address `dst` to the low byte of `byte`.
            MemorySet memory_set(dst: u64, byte: u32, len: u64);
            /// `memory.init`: status (0 = done, else out of bounds).
            MemoryInit memory_init(mem: u32, data: u32, dst: u64, src: u32, len: u32) -> u32;
            /// `data.drop`.
            DataDrop data_drop(data: u32);
            /// `table.copy`: status (0 = done, else out of bounds).
            TableCopy table_copy(dst_table: u32, src_table: u32, dst: u64, src: u64, len: u64) -> u32;
            /// `table.init`: status (0 = done, else out of bounds).
            TableInit table_init(table: u32, elem: u32, dst: u64, src: u32, len: u32) -> u32;
            /// `elem.drop`.
            ElemDrop elem_drop(elem: u32);
            /// `table.grow`: the old size, or `u64::MAX` when the table cannot
            /// grow by `delta` elements.
            TableGrow table_grow(table: u32, init: u64, delta: u64) -> u64;
            /// `table.fill`: status (0 = done, else out of bounds).
            TableFill table_fill(table: u32, dst: u64, value: u64, len: u64) -> u32;
            /// Fuel ran out: status 0 when the store gave more fuel (and
            /// yielded to the async executor), else compiled code traps.
            OutOfFuel out_of_fuel() -> u32;
            /// The epoch deadline passed: status 0 when the store moved the
            /// deadline (and yielded to the async executor), else compiled code traps.
            NewEpoch new_epoch() -> u32;
            /// `ref.func` of a defined function: the address of its
            /// `VMFuncRef` in the vmctx, which the runtime fills on first use
            /// (instantiation leaves the funcref array untouched).
            RefFunc ref_func(func: u32) -> u64;
            /// GC casts: 1 when engine type `sub` is engine type `sup` or
            /// declares it (transitively) as its supertype, else 0. Compiled
            /// code calls it only after an exact id comparison failed and only
            /// for a target type that is not `final`.
            IsSubtype is_subtype(sub: u32, sup: u32) -> u32;
            /// GC: the inline bump allocation ran out of room. Grows the
            /// store's GC heap (within its limits) and allocates `size`
            /// zeroed bytes; the new object's heap offset, or 0 when the
            /// heap cannot grow (compiled code traps).
            GcAlloc gc_alloc(size: u64) -> u64;
            /// `array.new_data`: a new array of engine type `ty` with
            /// `elem_size`-byte elements copied from data segment `data` at
            /// `src`; its offset, or 0 when the bytes are out of the segment,
            /// 1 when the heap is full (compiled code traps).
            ArrayNewData array_new_data(ty: u32, elem_size: u32, data: u32, src: u32, len: u32) -> u64;
            /// `array.new_elem`: as `array_new_data`, from element segment `elem`.
            ArrayNewElem array_new_elem(ty: u32, elem_size: u32, elem: u32, src: u32, len: u32) -> u64;
            /// `array.init_data`: status 0, 1 when the array range is out of
            /// bounds, 2 when the segment range is.
            ArrayInitData array_init_data(array: u64, elem_size: u32, dst: u32, data: u32, src: u32, len: u32) -> u32;
            /// `array.init_elem`: as `array_init_data`, from element segment `elem`.
            ArrayInitElem array_init_elem(array: u64, elem_size: u32, dst: u32, elem: u32, src: u32, len: u32) -> u32;
            /// `array.copy` between two non-null arrays of `elem_size`-byte
            /// elements: status 0, or 1 when a range is out of bounds.
            ArrayCopy array_copy(dst: u64, dst_index: u32, src: u64, src_index: u32, len: u32, elem_size: u32) -> u32;
            /// Reading slot `index` of funcref table `table` found it
            /// uninitialised (0): its value from the table's image, resolved
            /// and stored back, as a `*const VMFuncRef` (0 for null).
            /// Compiled code calls it only for an in-bounds slot.
            TableGetLazyInitFuncRef table_get_lazy_init_func_ref(table: u32, index: u64) -> u64;
            /// `throw`/`throw_ref` with no handler in the throwing function
            /// (and a `try_table` whose clauses did not match): unwinds to
            /// the innermost wasm handler of the activation, or out of it as
            /// `ThrownException`, with exception `exn` of tag identity `tag`
            /// (its `VMTagDefinition`'s address). Never returns.
            Throw throw(exn: u64, tag: u64);
        }
    };
}

/// The type of a libcall parameter or result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibcallType {
    /// A 32-bit integer (`u32` on the Rust side).
    I32,
    /// A 64-bit integer (`u64` on the Rust side).
    I64,
}

/// Maps a type of the libcall list to a [`LibcallType`].
macro_rules! libcall_type {
    (u32) => {
        LibcallType::I32
    };
    (u64) => {
        LibcallType::I64
    };
}

macro_rules! declare_builtins {
    ($(
        $(#[$doc:meta])*
        $variant:ident $name:ident ($($param:ident: $ty:ident),*) $(-> $ret:ident)?;
    )*) => {
        /// The libcalls compiled code reaches through the `VMBuiltins` table,
        /// in table order (generated from [`for_each_libcall!`](crate::for_each_libcall)).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub enum Builtin {
            $( $(#[$doc])* $variant, )*
        }

        impl Builtin {
            /// Every libcall, in table order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$variant),*];

            /// The libcall's name (also its `VMBuiltins` field name).
            pub fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => stringify!($name),)*
                }
            }

            /// The parameter types after the leading vmctx.
            pub fn params(self) -> &'static [LibcallType] {
                match self {
                    $(Builtin::$variant => &[$(libcall_type!($ty)),*],)*
                }
            }

            /// The result type, if the libcall returns one.
            pub fn result(self) -> Option<LibcallType> {
                match self {
                    $(Builtin::$variant => None $(.or(Some(libcall_type!($ret))))?,)*
                }
            }
        }
    };
}

for_each_libcall!(declare_builtins);

impl Builtin {
    /// Offset of this libcall's pointer in the `VMBuiltins` table: 8 bytes per
    /// entry, in list order.
    pub const fn offset(self) -> u32 {
        8 * self as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_list_order() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(b.offset() as usize, 8 * i, "{}", b.name());
        }
    }

    #[test]
    fn signatures_come_from_the_list() {
        assert_eq!(
            Builtin::MemoryGrow.params(),
            &[LibcallType::I64, LibcallType::I32]
        );
        assert_eq!(Builtin::MemoryGrow.result(), Some(LibcallType::I64));
        assert_eq!(Builtin::DataDrop.params(), &[LibcallType::I32]);
        assert_eq!(Builtin::DataDrop.result(), None);
        assert_eq!(Builtin::TableFill.name(), "table_fill");
    }
}

//! The component VMContext layout: the per-instantiation state of a
//! component that compiled code reads and writes, defined once here for both
//! the runtime (`tern::component::vmctx`) and the adapter generator
//! (`adapter.rs`), so the two cannot drift.
//!
//! Today it holds one slot per runtime component instance (the root and every
//! inlined nested instance): the canonical ABI's `may_leave` and `may_enter`
//! flags, packed in one `i32`. Each slot has the layout of a core
//! `VMGlobalDefinition` (16 bytes), so compiled adapters reach it as an
//! imported mutable `i32` global — one load through the import's pointer —
//! and the host reads it through the same storage. Handle tables stay in the
//! host (`tern::component::handles`); adapters that move handles are not
//! compiled yet.

/// Bit of a flags slot: the instance may call out (clear while its
/// post-return function or a `realloc` the ABI calls runs).
pub const FLAG_MAY_LEAVE: i32 = 1;

/// Bit of a flags slot: the instance may be entered (clear while it runs, and
/// for good once it trapped).
pub const FLAG_MAY_ENTER: i32 = 2;

/// The layout of one component instantiation's VMContext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMComponentOffsets {
    /// How many runtime component instances the component has.
    pub num_runtime_instances: u32,
}

impl VMComponentOffsets {
    /// The size of one slot: a core `VMGlobalDefinition`.
    pub const SLOT_SIZE: u32 = 16;

    /// The layout for a component with `num_runtime_instances` runtime instances.
    pub fn new(num_runtime_instances: u32) -> Self {
        Self {
            num_runtime_instances,
        }
    }

    /// How many slots the VMContext has.
    pub fn num_slots(&self) -> u32 {
        self.num_runtime_instances
    }

    /// The slot of runtime instance `rt`'s flags.
    pub fn flags(&self, rt: u32) -> u32 {
        debug_assert!(rt < self.num_runtime_instances);
        rt
    }

    /// The byte offset of runtime instance `rt`'s flags.
    pub fn flags_offset(&self, rt: u32) -> u32 {
        self.flags(rt) * Self::SLOT_SIZE
    }

    /// The value every flags slot starts with: both flags set.
    pub const INITIAL_FLAGS: i32 = FLAG_MAY_LEAVE | FLAG_MAY_ENTER;
}

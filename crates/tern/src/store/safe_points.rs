//! When the store's stack roots can be walked exactly: the count of the
//! store's activations that are *not* stopped at a recorded exit.
//!
//! `vm::stack_roots` walks each activation of the store from the frame
//! pointer its wasm-to-host trampoline recorded (`last_wasm_exit_fp`). That
//! pointer is right only while the activation is stopped in a host function
//! the trampoline called; while wasm runs, or inside a libcall (which records
//! no exit), it is stale. So the store counts its activations that are not
//! stopped at a recorded exit: `vm::call_wasm` adds one while wasm runs, and
//! a host function entered through a trampoline (`vm::host_func`) takes it
//! back while it runs. The walk is exact exactly when the count is zero.
//!
//! A libcall that records its own exit frame (the collector's allocation
//! trampoline, gc.md §5) brackets its work with [`StoreOpaque::exit_recorded`]
//! and [`StoreOpaque::exit_resumed`] as host functions do.
//!
//! Nothing here may be wrong in the unsafe direction: a count too high only
//! defers a prune; `call_wasm` restores the count it found on every return,
//! so an unwinding host function cannot leave it too low.

use super::StoreOpaque;

impl StoreOpaque {
    /// Whether every activation of this store on the stack is stopped at a
    /// recorded exit (or there is none), so that `vm::stack_roots` may walk.
    pub(crate) fn stack_walk_exact(&self) -> bool {
        self.unrecorded_exits == 0
    }

    /// Wasm of this store starts running: returns the count to restore with
    /// [`Self::wasm_returned`].
    #[inline]
    pub(crate) fn wasm_entered(&mut self) -> u32 {
        let saved = self.unrecorded_exits;
        self.unrecorded_exits = saved.saturating_add(1);
        saved
    }

    /// Wasm entered with [`Self::wasm_entered`] returned or unwound.
    #[inline]
    pub(crate) fn wasm_returned(&mut self, saved: u32) {
        self.unrecorded_exits = saved;
    }

    /// The innermost activation is now stopped at a recorded exit (a host
    /// function called through a wasm-to-host trampoline starts).
    #[inline]
    pub(crate) fn exit_recorded(&mut self) {
        debug_assert!(
            self.unrecorded_exits > 0,
            "no running wasm recorded an exit"
        );
        self.unrecorded_exits = self.unrecorded_exits.saturating_sub(1);
    }

    /// The activation stopped at [`Self::exit_recorded`] resumes wasm.
    #[inline]
    pub(crate) fn exit_resumed(&mut self) {
        self.unrecorded_exits = self.unrecorded_exits.saturating_add(1);
    }
}

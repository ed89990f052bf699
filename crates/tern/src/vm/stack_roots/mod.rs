//! Stack roots: the GC references that a store's wasm frames hold while
//! they are stopped at calls, found precisely and handed out as pointers a
//! moving collector can rewrite.
//!
//! Compiled code keeps every live reference of the `any`/`extern`/`exn`
//! hierarchies in a stack slot across each call, and its module's
//! [`tern_environ::StackMaps`] say, per return address, which slots those
//! are (`tern-cranelift`'s translator declares the values; Cranelift spills
//! and reloads them; see `docs/design/gc.md` §4). After the call returns the
//! code *reloads* each reference from its slot, so a value written into a
//! slot here is what the wasm code continues with.
//!
//! The walk: `traphandlers::for_each_store_frame` follows the frame-pointer
//! chain of each of the store's activations on this thread (as backtraces
//! do); for each wasm frame, the return address it is stopped at is looked
//! up in its module's stack maps (a binary search), and each slot is at
//! `fp - frame_size + offset` (Cranelift gives offsets from the stack
//! pointer, and `frame_size` is the distance from it up to the frame
//! pointer; going through the frame pointer also holds when a call left the
//! stack pointer elsewhere). A frame stopped at a call without live
//! references has no stack map and gives nothing; trampolines never have
//! one.
//!
//! This module only finds roots; nothing here reads or moves objects, and it
//! must never write a slot itself. The collector (`crate::gc::collect`) and
//! the prune of host `externref`s (`store/externrefs.rs`) reach it through
//! [`for_each_store_stack_root`], whose safety rests on the safepoint rule
//! of `vm::gc_libcalls`: every path into a collection
//! starts from a host function (entered through a wasm-to-host trampoline),
//! from a libcall entered through a recording C entry, or from the host with
//! no wasm of the store running on the innermost activation.

use super::registry;
use super::traphandlers;
use super::vmcontext::VMRuntimeLimits;

#[cfg(test)]
mod tests;

/// Calls `visit` with a pointer to each live GC-reference slot (a 64-bit
/// reference word) of every wasm frame of the store whose runtime limits are
/// `limits` on this thread's stack, innermost frame first. Returns how many
/// frames with live references were found.
///
/// Writing a reference of the same kind into a slot is how a moving
/// collector updates a root: the frame's code reloads the slot when the call
/// it is stopped at returns.
///
/// # Safety
/// * Must be called on the thread running the store's wasm, from a host
///   function that the store's innermost wasm activation called through a
///   wasm-to-host trampoline and that is still running, or from a libcall
///   entered through a recording C entry (so the store's `last_wasm_exit_fp`
///   is that trampoline's or entry's live frame; other libcalls record no
///   exit frame, so they must not call this), or with no wasm of the store
///   running since its innermost activation began (`catch_traps` then set
///   `last_wasm_exit_fp` to 0); `limits` must be that store's live runtime
///   limits.
/// * The pointers `visit` gets are valid for reads and writes of one aligned
///   `u64` until that host function returns; a value written there must be
///   a reference the frame's code may hold in that slot (its wasm type is
///   the one the code gave it), or the code's behaviour is undefined.
pub unsafe fn for_each_stack_root(
    limits: *const VMRuntimeLimits,
    mut visit: impl FnMut(*mut u64),
) -> usize {
    let mut frames = 0;
    let mut found = |ret: usize, fp: usize| {
        // A return address at the very end of a module's code belongs to it:
        // look up the byte before (the call instruction's last byte).
        let Some((info, offset)) = registry::lookup(ret.wrapping_sub(1)) else {
            return;
        };
        let Some(map) = info.stack_map_at(offset + 1) else {
            return;
        };
        frames += 1;
        // `StackMaps::is_valid` (checked for artifacts; what the compiler
        // checked for fresh code) keeps every slot an aligned word inside
        // `frame_size` bytes below `fp`.
        let sp = fp.wrapping_sub(map.frame_size as usize);
        for slot in map.slots {
            visit((sp + *slot as usize) as *mut u64);
        }
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { traphandlers::for_each_store_frame(limits, &mut found) };
    frames
}

/// The safe entry to [`for_each_stack_root`], for code that holds the store
/// (the collector, the `externref` prune): calls `visit` with each live
/// GC-reference slot of the wasm frames of the store whose runtime limits
/// are `limits`, on this thread, to read or to rewrite with the moved
/// object's reference (same kind, per the word rules of
/// `docs/design/gc.md` §2).
pub(crate) fn for_each_store_stack_root(limits: &VMRuntimeLimits, mut visit: impl FnMut(&mut u64)) {
    // SAFETY: `limits` is a live store's. The collector runs with the store
    // exclusively borrowed, which on the thread running its wasm happens only
    // in a host function entered through a trampoline, in a recording
    // libcall, or in host code outside its wasm (the safepoint rule in
    // `vm::gc_libcalls`), which is this function's contract. Each slot is
    // rewritten only with the forwarded reference of the object it named.
    unsafe {
        for_each_stack_root(limits, |slot| visit(&mut *slot));
    }
}

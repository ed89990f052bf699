//! Functions compiled code calls through the `VMBuiltins` table for work too
//! large or too stateful to inline: growing memory, and later tables and bulk ops.
//!
//! Each is `extern "C"` with the vmctx first. A libcall that must trap does so by
//! `raise`, after dropping everything it owns.

use super::instance::VMInstance;
use super::vmcontext::VMContext;
use tern_environ::Builtin;

/// Offset of the instance back pointer in every vmctx (see `VMOffsets::instance`).
const INSTANCE_OFFSET: u32 = 24;

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, delta: u64, index: u32) -> u64 {
    // SAFETY: compiled code passes its own instance's vmctx.
    let instance = unsafe { VMInstance::from_vmctx(vmctx, INSTANCE_OFFSET) };
    let memory = instance.memory(index);
    // SAFETY: the store keeps the memory alive; no Rust reference to it is live
    // while wasm runs, because running wasm borrows the whole store.
    match unsafe { (*memory).grow(delta) } {
        Ok(Some(old)) => old,
        _ => u64::MAX,
    }
}

#[repr(C)]
struct Builtins {
    memory_grow: unsafe extern "C" fn(*mut VMContext, u64, u32) -> u64,
}

static BUILTINS: Builtins = Builtins { memory_grow };

const _: () = assert!(std::mem::offset_of!(Builtins, memory_grow) == Builtin::MemoryGrow as usize * 8);

/// The table every vmctx points to.
pub fn builtins_table() -> *const u8 {
    (&BUILTINS as *const Builtins).cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn instance_offset_matches_vmoffsets() {
        let offsets = tern_environ::VMOffsets::new(&tern_environ::Module::default());
        assert_eq!(offsets.instance(), super::INSTANCE_OFFSET);
    }
}

//! [`ComponentVmctx`]: one component instantiation's VMContext, the state
//! compiled adapters read and write — today the `may_leave`/`may_enter`
//! flags of each runtime component instance, laid out by
//! `tern_environ::component::VMComponentOffsets`.
//!
//! The slots are one contiguous block of core global storage owned by the
//! component instance (which lives as long as its store). Each slot is also
//! registered as a store [`crate::Global`], so an adapter module imports it
//! like any mutable `i32` global and its compiled code reaches the flags with
//! one load; the host (lifted calls, lowered calls, built-ins) reads and
//! writes the same storage through the accessors here. There is no second
//! copy of the flags anywhere.

use crate::store::{GlobalData, StoreOpaque};
use crate::vm::global::{new_host_global_block, GlobalPtr};
use crate::vm::{VMGlobalDefinition, ValRaw};
use crate::{GlobalType, Mutability, ValType};
use tern_environ::component::{VMComponentOffsets, FLAG_MAY_ENTER, FLAG_MAY_LEAVE};

/// The VMContext of one component instantiation.
pub(crate) struct ComponentVmctx {
    offsets: VMComponentOffsets,
    slots: Box<[VMGlobalDefinition]>,
    /// Each slot as a store global, for adapter modules to import.
    globals: Vec<crate::Global>,
}

impl ComponentVmctx {
    /// Allocates the VMContext of a component with `num_runtime_instances`
    /// runtime instances in `store`, every flag set.
    pub(crate) fn new(store: &mut StoreOpaque, num_runtime_instances: u32) -> Self {
        let offsets = VMComponentOffsets::new(num_runtime_instances);
        let slots = new_host_global_block(
            offsets.num_slots() as usize,
            ValRaw::i32(VMComponentOffsets::INITIAL_FLAGS),
        );
        let globals = slots
            .iter()
            .map(|slot| {
                store.globals.push(GlobalData {
                    ptr: GlobalPtr::of(slot),
                    ty: GlobalType::new(ValType::I32, Mutability::Var),
                });
                crate::Global(store.stored(store.globals.len() - 1))
            })
            .collect();
        Self {
            offsets,
            slots,
            globals,
        }
    }

    fn slot(&self, rt: u32) -> GlobalPtr {
        GlobalPtr::of(&self.slots[self.offsets.flags(rt) as usize])
    }

    fn flag(&self, rt: u32, bit: i32) -> bool {
        self.slot(rt).get().get_i32() & bit != 0
    }

    fn set_flag(&self, rt: u32, bit: i32, on: bool) {
        let slot = self.slot(rt);
        let flags = slot.get().get_i32();
        slot.set(ValRaw::i32(if on { flags | bit } else { flags & !bit }));
    }

    /// Whether runtime instance `rt` may call out.
    pub(crate) fn may_leave(&self, rt: u32) -> bool {
        self.flag(rt, FLAG_MAY_LEAVE)
    }

    /// Sets or clears `rt`'s `may_leave` flag.
    pub(crate) fn set_may_leave(&self, rt: u32, on: bool) {
        self.set_flag(rt, FLAG_MAY_LEAVE, on);
    }

    /// Whether runtime instance `rt` may be entered.
    pub(crate) fn may_enter(&self, rt: u32) -> bool {
        self.flag(rt, FLAG_MAY_ENTER)
    }

    /// Sets or clears `rt`'s `may_enter` flag.
    pub(crate) fn set_may_enter(&self, rt: u32, on: bool) {
        self.set_flag(rt, FLAG_MAY_ENTER, on);
    }

    /// `rt`'s flags slot as a global, for an adapter module's import.
    pub(crate) fn flags_global(&self, rt: u32) -> crate::Global {
        self.globals[self.offsets.flags(rt) as usize]
    }
}

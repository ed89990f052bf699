//! Which values Cranelift must keep in stack maps: every value of the
//! `any`/`extern`/`exn` hierarchies (references that live, or will live, on
//! the store's GC heap), and no other (see `docs/design/gc.md` §4).
//!
//! Declaring a value (`FunctionBuilder::declare_value_needs_stack_map`) makes
//! Cranelift spill it to a stack slot before every call it is live across,
//! reload it after, and record the slot in the call's stack map, so that a
//! moving collector can find and rewrite it. This is decided in one place,
//! from the validator's types, which know every value's wasm type:
//!
//! * locals and parameters, by their declared type ([`gc_ref_local`]);
//! * every value an operator pushes onto the operand stack
//!   ([`FuncState::declare_pushed_refs`], run after each operator): call
//!   results, `global.get`, `table.get`, `select`, block and loop parameters
//!   (the merge points' block parameters are pushed when their block starts
//!   or ends), …;
//! * the few reference values the translator holds outside the operand stack
//!   across a call (the caught exception in a `try_table`'s landing block)
//!   call [`FuncState::needs_stack_map`] themselves.
//!
//! Function references are not GC objects and are never declared. A function
//! that holds no GC reference declares nothing, and Cranelift then skips its
//! safepoint pass entirely: its code is exactly what it was without this file.

use super::FuncState;
use anyhow::{bail, Result};
use cranelift_codegen::ir::Value;
use wasmparser::{
    AbstractHeapType as A, CompositeInnerType, FuncValidator, HeapType, UnpackedIndex, ValType,
    ValidatorResources, WasmModuleResources,
};

/// Whether a value of wasm type `ty` is a reference the collector must see:
/// one of the `any`, `extern` or `exn` hierarchies. Concrete types are looked
/// up in `resources` (the validator's own, as its types name them).
pub(crate) fn is_gc_ref(ty: ValType, resources: &ValidatorResources) -> bool {
    let ValType::Ref(r) = ty else {
        return false;
    };
    match r.heap_type() {
        HeapType::Abstract { ty, .. } => matches!(
            ty,
            A::Extern
                | A::NoExtern
                | A::Any
                | A::Eq
                | A::I31
                | A::Struct
                | A::Array
                | A::None
                | A::Exn
                | A::NoExn
        ),
        HeapType::Concrete(index) | HeapType::Exact(index) => {
            let sub = match index {
                UnpackedIndex::Id(id) => Some(resources.sub_type_at_id(id)),
                UnpackedIndex::Module(i) => resources.sub_type_at(i),
                UnpackedIndex::RecGroup(_) => None,
            };
            matches!(
                sub.map(|s| &s.composite_type.inner),
                Some(CompositeInnerType::Struct(_) | CompositeInnerType::Array(_))
            )
        }
    }
}

/// Whether local `index` (parameters first) holds GC references.
pub(crate) fn gc_ref_local(validator: &FuncValidator<ValidatorResources>, index: u32) -> bool {
    validator
        .get_local_type(index)
        .is_some_and(|ty| is_gc_ref(ty, validator.resources()))
}

impl FuncState<'_, '_> {
    /// Declares `v`, a reference of the `any`/`extern`/`exn` hierarchies, as
    /// needing a stack map. Declaring a value twice is harmless.
    pub(crate) fn needs_stack_map(&mut self, v: Value) {
        self.builder.declare_value_needs_stack_map(v);
    }

    /// After an operator: declares each value it pushed whose type (as the
    /// validator, which has just checked the operator, sees it) is a GC
    /// reference. `pushes` counts the values pushed since the operator began,
    /// so the top `pushes` operands are (at least) every new value; an older
    /// value among them has the type the validator reports too, so
    /// re-declaring it is correct.
    ///
    /// # Errors
    /// Fails (an internal error) when the translator's operand stack and the
    /// validator's disagree in height, since the types would then be another
    /// value's.
    pub(crate) fn declare_pushed_refs(
        &mut self,
        validator: &FuncValidator<ValidatorResources>,
    ) -> Result<()> {
        let fresh = std::mem::take(&mut self.pushes).min(self.stack.len());
        if fresh == 0 {
            return Ok(());
        }
        if validator.operand_stack_height() as usize != self.stack.len() {
            bail!(
                "internal error: {} operands translated where the validator has {}",
                self.stack.len(),
                validator.operand_stack_height()
            );
        }
        for depth in 0..fresh {
            let Some(Some(ty)) = validator.get_operand_type(depth) else {
                continue;
            };
            if is_gc_ref(ty, validator.resources()) {
                let v = self.stack[self.stack.len() - 1 - depth];
                self.needs_stack_map(v);
            }
        }
        Ok(())
    }
}

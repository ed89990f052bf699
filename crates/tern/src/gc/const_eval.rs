//! The GC operators of constant expressions (`struct.new`, `array.new*`,
//! `any.convert_extern`, `extern.convert_any` in global initialisers and
//! element segments), evaluated at instantiation.
//!
//! Instantiation holds the instance being built (inside the store) while it
//! evaluates, so these allocate through the heap and the limits alone
//! ([`ConstGc`]), not through the store: they cannot ask the resource
//! limiter as they go. `crate::instance` asks it once afterwards for the
//! whole growth (see [`ConstGc::grown`]) and fails the instantiation when
//! the limiter refuses.

use crate::vm::gc_heap::GcHeap;
use crate::vm::VMRuntimeLimits;
use crate::{Trap, ValRaw};
use anyhow::{bail, Result};
use tern_environ::{
    gc_array_layout, gc_struct_layout, ConstOp, GcKind, WasmCompositeType, WasmSubType,
    GC_ARRAY_LENGTH, GC_EXTERN_PAYLOAD, GC_EXTERN_SIZE, GC_EXTERN_TYPE_ID, GC_HEADER_KIND,
    GC_HEADER_TYPE_ID, GC_HEAP_MAX,
};

use super::EXTERNALIZED;

/// What constant expressions allocate with.
pub(crate) struct ConstGc<'a> {
    /// The store's heap.
    pub(crate) heap: &'a mut GcHeap,
    /// The store's limits (bump pointer and heap base).
    pub(crate) limits: &'a VMRuntimeLimits,
    /// The module's types (module-local indices; layouts depend only on sizes).
    pub(crate) types: &'a [WasmSubType],
    /// The engine ids of the module's types.
    pub(crate) type_ids: &'a [u32],
}

impl ConstGc<'_> {
    /// Evaluates GC operator `op` on the constant expression's `stack`,
    /// returning its result.
    ///
    /// # Errors
    /// `Trap::GcHeapOutOfMemory` when the heap cannot hold the object; a
    /// malformed expression (validation rules it out).
    pub(crate) fn eval(&mut self, op: ConstOp, stack: &mut Vec<ValRaw>) -> Result<ValRaw> {
        let mut pop = |n: usize| -> Result<Vec<ValRaw>> {
            if stack.len() < n {
                bail!("malformed constant expression");
            }
            Ok(stack.split_off(stack.len() - n))
        };
        Ok(match op {
            ConstOp::StructNew(t) | ConstOp::StructNewDefault(t) => {
                let WasmCompositeType::Struct(ty) = &self.types[t as usize].composite else {
                    bail!("struct.new of a type that is not a struct");
                };
                let layout = gc_struct_layout(ty);
                let values = match op {
                    ConstOp::StructNew(_) => pop(ty.fields.len())?,
                    _ => Vec::new(),
                };
                let at = self.alloc(t, GcKind::Struct, u64::from(layout.size))?;
                for ((f, offset), v) in ty.fields.iter().zip(&layout.fields).zip(values) {
                    let size = tern_environ::gc_storage_size(f.element) as usize;
                    self.write(at + u64::from(*offset), &v.get_v128().to_le_bytes()[..size]);
                }
                ValRaw::u64(at)
            }
            ConstOp::ArrayNew(t) | ConstOp::ArrayNewDefault(t) | ConstOp::ArrayNewFixed(t, _) => {
                let WasmCompositeType::Array(ty) = &self.types[t as usize].composite else {
                    bail!("array.new of a type that is not an array");
                };
                let layout = gc_array_layout(ty);
                let (len, values) = match op {
                    ConstOp::ArrayNew(_) => {
                        let v = pop(2)?;
                        let len = v[1].get_i32() as u32;
                        (len, vec![v[0]; 1])
                    }
                    ConstOp::ArrayNewDefault(_) => (pop(1)?[0].get_i32() as u32, Vec::new()),
                    _ => {
                        let ConstOp::ArrayNewFixed(_, n) = op else {
                            unreachable!()
                        };
                        (n, pop(n as usize)?)
                    }
                };
                let size = layout.size(len).ok_or(Trap::GcHeapOutOfMemory)?;
                let at = self.alloc(t, GcKind::Array, size)?;
                self.write(at + u64::from(GC_ARRAY_LENGTH), &len.to_le_bytes());
                if !values.is_empty() {
                    let size = layout.elem_size as usize;
                    for i in 0..len {
                        let v = values[if values.len() == 1 { 0 } else { i as usize }];
                        let slot = at
                            + u64::from(layout.elems_offset)
                            + u64::from(i) * u64::from(layout.elem_size);
                        self.write(slot, &v.get_v128().to_le_bytes()[..size]);
                    }
                }
                ValRaw::u64(at)
            }
            ConstOp::AnyConvertExtern => {
                let e = pop(1)?[0].get_u64();
                ValRaw::u64(match e {
                    0 => 0,
                    e if e & EXTERNALIZED != 0 => e & !EXTERNALIZED,
                    e => {
                        let at = self.alloc_raw(
                            GC_EXTERN_TYPE_ID,
                            GcKind::Extern,
                            u64::from(GC_EXTERN_SIZE),
                        )?;
                        self.write(at + u64::from(GC_EXTERN_PAYLOAD), &e.to_le_bytes());
                        at
                    }
                })
            }
            ConstOp::ExternConvertAny => {
                let a = pop(1)?[0].get_u64();
                ValRaw::u64(match a {
                    0 => 0,
                    a if a & 1 == 1 => a | EXTERNALIZED,
                    a => {
                        let kind = self.read::<4>(a + u64::from(GC_HEADER_KIND));
                        if GcKind::from_word(u32::from_le_bytes(kind)) == Some(GcKind::Extern) {
                            u64::from_le_bytes(self.read::<8>(a + u64::from(GC_EXTERN_PAYLOAD)))
                        } else {
                            a | EXTERNALIZED
                        }
                    }
                })
            }
            other => bail!("not a GC constant operator: {other:?}"),
        })
    }

    /// Allocates an object of module type `t`.
    fn alloc(&mut self, t: u32, kind: GcKind, size: u64) -> Result<u64> {
        self.alloc_raw(self.type_ids[t as usize], kind, size)
    }

    /// Allocates `size` bytes and writes the header.
    fn alloc_raw(&mut self, type_id: u32, kind: GcKind, size: u64) -> Result<u64> {
        if let Some(needed) = self.heap.needed_for(self.limits, size) {
            if needed > GC_HEAP_MAX {
                bail!(Trap::GcHeapOutOfMemory);
            }
            let (doubled, _) = self.heap.growth_targets(needed);
            self.heap.grow_to(self.limits, doubled)?;
        }
        let at = self.heap.bump(self.limits, size);
        self.write(at + u64::from(GC_HEADER_TYPE_ID), &type_id.to_le_bytes());
        self.write(at + u64::from(GC_HEADER_KIND), &(kind as u32).to_le_bytes());
        Ok(at)
    }

    fn write(&mut self, at: u64, bytes: &[u8]) {
        let at = at as usize;
        if let Some(dst) = self.heap.bytes_mut().get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    fn read<const N: usize>(&self, at: u64) -> [u8; N] {
        let at = at as usize;
        let mut out = [0; N];
        if let Some(src) = self.heap.bytes().get(at..at + N) {
            out.copy_from_slice(src);
        }
        out
    }
}

//! The GC operators of constant expressions (`struct.new`, `array.new*`,
//! `any.convert_extern`, `extern.convert_any` in global initialisers, table
//! initialisers and element segments), evaluated at instantiation, and the
//! roots they need.
//!
//! **They allocate as compiled code does**: through
//! `StoreOpaque::gc_alloc_object`, which collects when the heap is full and
//! asks the store's `ResourceLimiter` before it grows (`gc/heap.rs`). So a
//! constant array larger than the store's limit fails instantiation with
//! `Trap::GcHeapOutOfMemory` (or the limiter's error) before a byte of it is
//! written, as in wasmtime.
//!
//! **Roots while instantiating.** A collection may run in the middle of an
//! instantiation, so every reference the evaluation holds outside the
//! collector's roots must be seen and updated by it:
//! * values already stored where the collector looks — the store's globals
//!   (each defined global joins the store once its initialiser is done) and
//!   tables (filled right after their initialiser) — need nothing more;
//! * the operands on an expression's stack ([`ConstStack`], which knows which
//!   entries are GC words) are copied into the store's `const_roots` for the
//!   length of a collecting allocation and copied back afterwards;
//! * the items of element segments of a GC type evaluated so far live in
//!   `const_roots` until the instance takes them (`crate::instance`).
//!
//! `crate::instance` empties `const_roots` when an instantiation ends,
//! however it ends.

use crate::store::StoreOpaque;
use crate::{Module, Trap, ValRaw};
use anyhow::{bail, Result};
use tern_environ::{
    gc_array_layout, gc_struct_layout, ConstOp, GcKind, WasmCompositeType, GC_ARRAY_LENGTH,
    GC_EXTERN_PAYLOAD, GC_EXTERN_SIZE, GC_EXTERN_TYPE_ID, GC_HEADER_KIND,
};

use super::EXTERNALIZED;

/// The value stack of one constant expression, with which entries are GC
/// words (roots while the evaluation allocates; see the module note).
#[derive(Default)]
pub(crate) struct ConstStack {
    values: Vec<ValRaw>,
    /// Parallel to `values`: whether the entry is a reference word of the
    /// `any`/`extern` hierarchies (as opposed to a number or a `funcref`
    /// pointer, which the collector must not touch).
    gc: Vec<bool>,
}

impl ConstStack {
    /// Pushes `v`; `gc` tells whether it is a GC reference word.
    pub(crate) fn push(&mut self, v: ValRaw, gc: bool) {
        self.values.push(v);
        self.gc.push(gc);
    }

    /// Pops the top entry.
    ///
    /// # Errors
    /// Fails on an empty stack (validation rules it out).
    pub(crate) fn pop(&mut self) -> Result<ValRaw> {
        self.gc.pop();
        match self.values.pop() {
            Some(v) => Ok(v),
            None => bail!("malformed constant expression"),
        }
    }

    /// Pops the top `n` entries, deepest first.
    fn pop_n(&mut self, n: usize) -> Result<Vec<ValRaw>> {
        let Some(at) = self.values.len().checked_sub(n) else {
            bail!("malformed constant expression");
        };
        self.gc.truncate(at);
        Ok(self.values.split_off(at))
    }

    /// The entry `depth` below the top (0 is the top).
    fn peek(&self, depth: usize) -> Result<ValRaw> {
        match self.values.len().checked_sub(depth + 1) {
            Some(i) => Ok(self.values[i]),
            None => bail!("malformed constant expression"),
        }
    }

    /// Allocates an object through the store (see the module note): when
    /// the allocation may collect, the stack's GC words are roots meanwhile
    /// and are rewritten with the moved objects' offsets.
    ///
    /// # Errors
    /// `Trap::GcHeapOutOfMemory` when the heap cannot hold the object (the
    /// limiter refused to grow it, or the maximum is reached); the
    /// limiter's own error.
    fn alloc(
        &mut self,
        store: &mut StoreOpaque,
        type_id: u32,
        kind: GcKind,
        size: u64,
    ) -> Result<u64> {
        let at = if store.gc_heap.needed_for(&store.limits, size).is_none() {
            // It fits: a bump, no collection.
            store.gc_alloc_object(type_id, kind, size)
        } else {
            let base = store.const_roots.len();
            let words = self.values.iter().zip(&self.gc).filter(|(_, gc)| **gc);
            store.const_roots.extend(words.map(|(v, _)| v.get_u64()));
            let at = store.gc_alloc_object(type_id, kind, size);
            let mut moved = store.const_roots.split_off(base).into_iter();
            for (v, _) in self.values.iter_mut().zip(&self.gc).filter(|(_, gc)| **gc) {
                *v = ValRaw::u64(moved.next().expect("one root per GC word"));
            }
            at
        };
        match at? {
            Some(at) => Ok(at),
            None => bail!(Trap::GcHeapOutOfMemory),
        }
    }

    /// The expression's value.
    ///
    /// # Errors
    /// Fails on an empty stack (validation rules it out).
    pub(crate) fn result(mut self) -> Result<ValRaw> {
        self.pop()
    }
}

/// Evaluates GC operator `op` of a constant expression of `module` on
/// `stack`, pushing its result.
///
/// # Errors
/// `Trap::GcHeapOutOfMemory` when the heap cannot hold the object; the
/// resource limiter's error; a malformed expression (validation rules it out).
pub(crate) fn eval_gc(
    store: &mut StoreOpaque,
    module: &Module,
    op: ConstOp,
    stack: &mut ConstStack,
) -> Result<()> {
    let types = &module.inner.env.types;
    let type_ids = &module.inner.type_ids;
    let word = match op {
        ConstOp::StructNew(t) | ConstOp::StructNewDefault(t) => {
            let WasmCompositeType::Struct(ty) = &types[t as usize].composite else {
                bail!("struct.new of a type that is not a struct");
            };
            let layout = gc_struct_layout(ty);
            // Allocate first, with the operands still on the (rooted) stack.
            let at = stack.alloc(
                store,
                type_ids[t as usize],
                GcKind::Struct,
                u64::from(layout.size),
            )?;
            let values = match op {
                ConstOp::StructNew(_) => stack.pop_n(ty.fields.len())?,
                _ => Vec::new(),
            };
            for ((f, offset), v) in ty.fields.iter().zip(&layout.fields).zip(values) {
                let size = tern_environ::gc_storage_size(f.element) as usize;
                store.gc_write(at + u64::from(*offset), &v.get_v128().to_le_bytes()[..size]);
            }
            at
        }
        ConstOp::ArrayNew(t) | ConstOp::ArrayNewDefault(t) | ConstOp::ArrayNewFixed(t, _) => {
            let WasmCompositeType::Array(ty) = &types[t as usize].composite else {
                bail!("array.new of a type that is not an array");
            };
            let layout = gc_array_layout(ty);
            let len = match op {
                ConstOp::ArrayNewFixed(_, n) => n,
                _ => stack.peek(0)?.get_i32() as u32,
            };
            let size = layout.size(len).ok_or(Trap::GcHeapOutOfMemory)?;
            let at = stack.alloc(store, type_ids[t as usize], GcKind::Array, size)?;
            store.gc_write(at + u64::from(GC_ARRAY_LENGTH), &len.to_le_bytes());
            let values = match op {
                ConstOp::ArrayNew(_) => vec![stack.pop_n(2)?[0]],
                ConstOp::ArrayNewDefault(_) => {
                    stack.pop()?;
                    Vec::new()
                }
                _ => stack.pop_n(len as usize)?,
            };
            let elem_size = layout.elem_size as usize;
            for i in 0..len {
                let v = match values.as_slice() {
                    [] => break,
                    [one] => *one,
                    all => all[i as usize],
                };
                let bytes = v.get_v128().to_le_bytes();
                // The heap's fresh bytes are zero: a zero element is written.
                if values.len() == 1 && bytes[..elem_size].iter().all(|b| *b == 0) {
                    break;
                }
                let slot = at
                    + u64::from(layout.elems_offset)
                    + u64::from(i) * u64::from(layout.elem_size);
                store.gc_write(slot, &bytes[..elem_size]);
            }
            at
        }
        ConstOp::AnyConvertExtern => match stack.peek(0)?.get_u64() {
            0 => {
                stack.pop()?;
                0
            }
            e if e & EXTERNALIZED != 0 => {
                stack.pop()?;
                e & !EXTERNALIZED
            }
            e => {
                let at = stack.alloc(
                    store,
                    GC_EXTERN_TYPE_ID,
                    GcKind::Extern,
                    u64::from(GC_EXTERN_SIZE),
                )?;
                stack.pop()?;
                store.gc_write(at + u64::from(GC_EXTERN_PAYLOAD), &e.to_le_bytes());
                at
            }
        },
        ConstOp::ExternConvertAny => match stack.pop()?.get_u64() {
            0 => 0,
            a if a & 1 == 1 => a | EXTERNALIZED,
            a => {
                let kind = store.gc_read_u32(a + u64::from(GC_HEADER_KIND));
                if GcKind::from_word(kind) == Some(GcKind::Extern) {
                    u64::from_le_bytes(store.gc_read(a + u64::from(GC_EXTERN_PAYLOAD)))
                } else {
                    a | EXTERNALIZED
                }
            }
        },
        other => bail!("not a GC constant operator: {other:?}"),
    };
    stack.push(ValRaw::u64(word), true);
    Ok(())
}

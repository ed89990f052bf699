//! The check pass: everything the canonical ABI's lift traps on, done on
//! the sending side before anything is lowered into the receiving side —
//! `char`s, discriminants, string and list ranges (alignment, then bounds),
//! string encodings, zero-sized list lengths — in the fused path's order
//! (depth first, left to right), so the first trap is the same one and no
//! `realloc` runs before it.

use super::body::{Body, Content, Operand, Place};
use super::interface::AdapterTrap;
use super::value::flat_len;
use crate::component::types::{ComponentTypes, FlatType, InterfaceType, TypeDef};
use wasm_encoder::{Instruction as I, ValType};

impl Body {
    /// Checks the value of `ty` at `src` (on the sending side).
    pub(super) fn check(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        src: &Place,
    ) -> Result<(), String> {
        use InterfaceType as T;
        if !needs_check(types, ty) {
            return Ok(());
        }
        match ty {
            T::Char => {
                let c = self.local(ValType::I32);
                match src {
                    Place::Flat(v) => {
                        self.op(I::LocalGet(v[0].0));
                    }
                    Place::Memory { .. } => self.load_i32(src, 0),
                }
                self.op(I::LocalSet(c));
                // Not below 0x110000, or a surrogate (0xD800..=0xDFFF).
                self.op(I::LocalGet(c))
                    .op(I::I32Const(0x11_0000))
                    .op(I::I32GeU)
                    .op(I::LocalGet(c))
                    .op(I::I32Const(0xFFFF_F800_u32 as i32))
                    .op(I::I32And)
                    .op(I::I32Const(0xD800))
                    .op(I::I32Eq)
                    .op(I::I32Or);
                self.trap_if(
                    AdapterTrap::InvalidChar,
                    Operand::Local(c),
                    Operand::Const(0),
                );
                Ok(())
            }
            T::String => self.check_string(self.src.encoding, src),
            T::Defined(_) => match types.def(ty) {
                Some(TypeDef::Record(_) | TypeDef::Tuple(_)) => {
                    let mut flat_pos = 0;
                    for (t, offset) in types.fields(ty).to_vec() {
                        let n = flat_len(types, t);
                        self.check(types, t, &src.part(flat_pos, n, offset))?;
                        flat_pos += n;
                    }
                    Ok(())
                }
                Some(TypeDef::FixedList(elem, count)) => {
                    let (elem, count) = (*elem, *count);
                    let (n, size) = (flat_len(types, elem), types.size(elem));
                    for i in 0..count as usize {
                        self.check(types, elem, &src.part(i * n, n, size * i as u32))?;
                    }
                    Ok(())
                }
                Some(
                    TypeDef::Variant(_)
                    | TypeDef::Enum(_)
                    | TypeDef::Option(_)
                    | TypeDef::Result { .. },
                ) => self.check_variant(types, ty, src),
                Some(TypeDef::List(elem)) => self.check_list(types, *elem, src),
                Some(def @ (TypeDef::Own(_) | TypeDef::Borrow(_))) => {
                    self.check_handle(types, ty, def, src)
                }
                Some(TypeDef::Map(..)) => Err("a map crosses (not compiled yet)".into()),
                Some(TypeDef::Future(_) | TypeDef::Stream(_) | TypeDef::ErrorContext) => {
                    Err("an async value crosses (not compiled yet)".into())
                }
                Some(TypeDef::Flags(_)) => Ok(()),
                None => Err("an unknown type (a Tern bug)".into()),
            },
            _ => Ok(()),
        }
    }

    /// Checks a variant-like value: its discriminant, then the payload of
    /// its case.
    fn check_variant(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        src: &Place,
    ) -> Result<(), String> {
        let disc = self.read_discriminant(types, ty, src);
        let cases = types.case_types(ty).to_vec();
        let n = cases.len() as i32;
        self.op(I::LocalGet(disc)).op(I::I32Const(n)).op(I::I32GeU);
        self.trap_if(
            AdapterTrap::InvalidDiscriminant,
            Operand::Local(disc),
            Operand::Const(n),
        );
        if !cases.iter().flatten().any(|t| needs_check(types, *t)) {
            return Ok(());
        }
        self.case_table(disc, cases.len());
        for (i, case) in cases.iter().enumerate() {
            self.op(I::End);
            if let Some(t) = case.filter(|t| needs_check(types, *t)) {
                let case_flat: Vec<FlatType> = types.flat(t).unwrap_or(&[]).to_vec();
                let payload = self.payload_place(types, ty, src, &case_flat);
                self.check(types, t, &payload)?;
            }
            self.op(I::Br((cases.len() - 1 - i) as u32));
        }
        self.op(I::End);
        Ok(())
    }

    /// Checks a list: its range, its length if its elements take no
    /// memory, then each element.
    fn check_list(
        &mut self,
        types: &ComponentTypes,
        elem: InterfaceType,
        src: &Place,
    ) -> Result<(), String> {
        let Some(mem) = self.src.memory else {
            return Err("a list crosses from a side with no memory option".into());
        };
        let (size, align) = types.size_align(elem);
        let (ptr, len) = self.pointer_pair(src);
        let bytes = self.local(ValType::I64);
        self.op(I::LocalGet(len))
            .op(I::I64ExtendI32U)
            .op(I::I64Const(i64::from(size)))
            .op(I::I64Mul)
            .op(I::LocalSet(bytes));
        self.check_range(mem, ptr, bytes, align, Content::List);
        if size == 0 {
            self.op(I::LocalGet(len))
                .op(I::I32Const(1 << 20))
                .op(I::I32GtU);
            self.trap_if(
                AdapterTrap::ZeroSizedList,
                Operand::Local(len),
                Operand::Const(0),
            );
            return Ok(());
        }
        if !needs_check(types, elem) {
            return Ok(());
        }
        let at = self.local(ValType::I32);
        self.op(I::LocalGet(ptr)).op(I::LocalSet(at));
        let elem_place = Place::Memory {
            mem,
            addr: at,
            offset: 0,
        };
        self.counted_loop(len, |body| {
            body.check(types, elem, &elem_place)?;
            body.op(I::LocalGet(at))
                .op(I::I32Const(size as i32))
                .op(I::I32Add)
                .op(I::LocalSet(at));
            Ok(())
        })
    }
}

/// Whether a value of `ty` can trap when lifted (anything but plain
/// numbers, `bool`s, flags and records or tuples of them).
pub(super) fn needs_check(types: &ComponentTypes, ty: InterfaceType) -> bool {
    use InterfaceType as T;
    match ty {
        T::Char | T::String => true,
        T::Defined(_) => match types.def(ty) {
            Some(TypeDef::Record(fields)) => fields.iter().any(|(_, t)| needs_check(types, *t)),
            Some(TypeDef::Tuple(tys)) => tys.iter().any(|t| needs_check(types, *t)),
            Some(TypeDef::FixedList(elem, _)) => needs_check(types, *elem),
            Some(TypeDef::Flags(_)) => false,
            _ => true,
        },
        _ => false,
    }
}

//! Scalars, flags and variant-likes (variants, enums, options, results)
//! between two places, flat or in memory: each read normalised as the
//! canonical ABI's lift does (`bool` to 0/1, small integers masked or
//! sign-extended, NaNs canonicalised, unknown flag bits dropped) and written
//! as its lower does. Checks (`char`s, discriminants) ran before
//! (`check.rs`).

use super::body::{memarg, Body, Place};
use crate::component::types::InterfaceType;
use crate::component::types::{discriminant_size, flags_size, ComponentTypes, FlatType};
use wasm_encoder::{BlockType, Instruction as I, ValType};

impl Body {
    /// Converts a scalar (anything that is not a string or a defined type).
    pub(super) fn convert_scalar(&mut self, ty: InterfaceType, src: &Place, dst: &Place) {
        // A store takes its address first.
        let at = match dst {
            Place::Memory { .. } => Some(self.address(dst)),
            Place::Flat(_) => None,
        };
        self.read_scalar(ty, src);
        match (dst, at) {
            (Place::Flat(v), _) => {
                self.op(I::LocalSet(v[0].0));
            }
            (_, Some((mem, offset))) => {
                use InterfaceType as T;
                let store = match ty {
                    T::Bool | T::U8 | T::S8 => I::I32Store8(memarg(mem, offset, 0)),
                    T::U16 | T::S16 => I::I32Store16(memarg(mem, offset, 1)),
                    T::U64 | T::S64 => I::I64Store(memarg(mem, offset, 3)),
                    T::Float32 => I::F32Store(memarg(mem, offset, 2)),
                    T::Float64 => I::F64Store(memarg(mem, offset, 3)),
                    _ => I::I32Store(memarg(mem, offset, 2)),
                };
                self.op(store);
            }
            _ => unreachable!("a memory place has an address"),
        }
    }

    /// Pushes the scalar of `ty` at `src`, normalised.
    fn read_scalar(&mut self, ty: InterfaceType, src: &Place) {
        use InterfaceType as T;
        match src {
            Place::Flat(v) => {
                self.op(I::LocalGet(v[0].0));
                match ty {
                    T::Bool => {
                        self.op(I::I32Const(0)).op(I::I32Ne);
                    }
                    T::U8 => {
                        self.op(I::I32Const(0xff)).op(I::I32And);
                    }
                    T::U16 => {
                        self.op(I::I32Const(0xffff)).op(I::I32And);
                    }
                    // Sign-extend with shifts (no dependency on the
                    // sign-extension feature).
                    T::S8 | T::S16 => {
                        let shift = if ty == T::S8 { 24 } else { 16 };
                        self.op(I::I32Const(shift))
                            .op(I::I32Shl)
                            .op(I::I32Const(shift))
                            .op(I::I32ShrS);
                    }
                    _ => {}
                }
            }
            Place::Memory { .. } => {
                let (mem, o) = self.address(src);
                let load = match ty {
                    T::Bool | T::U8 => I::I32Load8U(memarg(mem, o, 0)),
                    T::S8 => I::I32Load8S(memarg(mem, o, 0)),
                    T::U16 => I::I32Load16U(memarg(mem, o, 1)),
                    T::S16 => I::I32Load16S(memarg(mem, o, 1)),
                    T::U64 | T::S64 => I::I64Load(memarg(mem, o, 3)),
                    T::Float32 => I::F32Load(memarg(mem, o, 2)),
                    T::Float64 => I::F64Load(memarg(mem, o, 3)),
                    _ => I::I32Load(memarg(mem, o, 2)),
                };
                self.op(load);
                if ty == T::Bool {
                    self.op(I::I32Const(0)).op(I::I32Ne);
                }
            }
        }
        match ty {
            T::Float32 => self.canonical_nan(ValType::F32),
            T::Float64 => self.canonical_nan(ValType::F64),
            _ => {}
        }
    }

    /// Replaces a NaN on the stack by the canonical NaN.
    fn canonical_nan(&mut self, t: ValType) {
        let x = self.local(t);
        self.op(I::LocalSet(x));
        if t == ValType::F32 {
            self.op(I::I32Const(0x7fc0_0000)).op(I::F32ReinterpretI32);
            self.op(I::LocalGet(x))
                .op(I::LocalGet(x))
                .op(I::LocalGet(x));
            self.op(I::F32Ne);
        } else {
            self.op(I::I64Const(0x7ff8_0000_0000_0000))
                .op(I::F64ReinterpretI64);
            self.op(I::LocalGet(x))
                .op(I::LocalGet(x))
                .op(I::LocalGet(x));
            self.op(I::F64Ne);
        }
        // select(nan, x, x != x)
        self.op(I::Select);
    }

    /// Converts a flags value of `n` flags: each word masked to its flags.
    pub(super) fn convert_flags(&mut self, n: usize, src: &Place, dst: &Place) {
        let size = flags_size(n);
        let words = n.div_ceil(32);
        for w in 0..words {
            let bits = (n - w * 32).min(32);
            let mask = if bits == 32 {
                -1
            } else {
                ((1u32 << bits) - 1) as i32
            };
            let at = match dst {
                Place::Memory { .. } => Some(self.address(dst)),
                Place::Flat(_) => None,
            };
            match src {
                Place::Flat(v) => {
                    self.op(I::LocalGet(v[w].0));
                }
                Place::Memory { .. } => {
                    let (mem, o) = self.address(src);
                    self.op(match size {
                        1 => I::I32Load8U(memarg(mem, o, 0)),
                        2 => I::I32Load16U(memarg(mem, o, 1)),
                        _ => I::I32Load(memarg(mem, o + 4 * w as u32, 2)),
                    });
                }
            }
            if bits < 32 {
                self.op(I::I32Const(mask)).op(I::I32And);
            }
            match (dst, at) {
                (Place::Flat(v), _) => {
                    self.op(I::LocalSet(v[w].0));
                }
                (_, Some((mem, o))) => {
                    self.op(match size {
                        1 => I::I32Store8(memarg(mem, o, 0)),
                        2 => I::I32Store16(memarg(mem, o, 1)),
                        _ => I::I32Store(memarg(mem, o + 4 * w as u32, 2)),
                    });
                }
                _ => unreachable!("a memory place has an address"),
            }
        }
    }

    /// Pushes the discriminant of the variant-like `ty` at `place` into a
    /// fresh local, which it returns.
    pub(super) fn read_discriminant(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        place: &Place,
    ) -> u32 {
        let disc = self.local(ValType::I32);
        match place {
            Place::Flat(v) => {
                self.op(I::LocalGet(v[0].0));
            }
            Place::Memory { .. } => {
                let (mem, o) = self.address(place);
                self.op(match discriminant_size(types.case_types(ty).len()) {
                    1 => I::I32Load8U(memarg(mem, o, 0)),
                    2 => I::I32Load16U(memarg(mem, o, 1)),
                    _ => I::I32Load(memarg(mem, o, 2)),
                });
            }
        }
        self.op(I::LocalSet(disc));
        disc
    }

    /// The place of case `case_flat`'s payload inside the variant at
    /// `place`: in memory, at the payload offset; flat, the join slots
    /// coerced into fresh locals of the case's own types.
    pub(super) fn payload_place(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        place: &Place,
        case_flat: &[FlatType],
    ) -> Place {
        match place {
            Place::Memory { .. } => place.part(0, 0, types.payload_offset(ty)),
            Place::Flat(v) => {
                let temps = case_flat
                    .iter()
                    .zip(&v[1..])
                    .map(|(want, (slot, have))| {
                        let temp = self.flat_local(*want);
                        self.op(I::LocalGet(*slot));
                        self.coerce(*have, *want);
                        self.op(I::LocalSet(temp));
                        (temp, *want)
                    })
                    .collect();
                Place::Flat(temps)
            }
        }
    }

    /// Opens the blocks of a `br_table` over `n` cases on `disc`; case `i`'s
    /// code follows the `i`-th [`Body::end_case`]-closed block. Cases are
    /// entered in order; each must end with `br (n - 1 - i)` to leave.
    pub(super) fn case_table(&mut self, disc: u32, n: usize) {
        self.op(I::Block(BlockType::Empty));
        for _ in 0..n {
            self.op(I::Block(BlockType::Empty));
        }
        let targets: Vec<u32> = (0..n as u32).collect();
        // The discriminant was checked: the default target is never taken.
        self.op(I::LocalGet(disc))
            .op(I::BrTable(targets.into(), n.saturating_sub(1) as u32));
    }

    /// Converts a variant-like value (variant, enum, option, result): the
    /// discriminant, then the case's payload; a flat destination's unused
    /// slots become zero, as lowering a lifted value makes them.
    pub(super) fn convert_variant(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        src: &Place,
        dst: &Place,
    ) -> Result<(), String> {
        let disc = self.read_discriminant(types, ty, src);
        let cases = types.case_types(ty).to_vec();
        // The discriminant.
        match dst {
            Place::Flat(v) => {
                self.op(I::LocalGet(disc)).op(I::LocalSet(v[0].0));
            }
            Place::Memory { .. } => {
                let (mem, o) = self.address(dst);
                self.op(I::LocalGet(disc));
                self.op(match discriminant_size(cases.len()) {
                    1 => I::I32Store8(memarg(mem, o, 0)),
                    2 => I::I32Store16(memarg(mem, o, 1)),
                    _ => I::I32Store(memarg(mem, o, 2)),
                });
            }
        }
        let payloads = cases.iter().any(Option::is_some);
        let flat_dst = matches!(dst, Place::Flat(v) if v.len() > 1);
        if !payloads && !flat_dst {
            return Ok(());
        }
        self.case_table(disc, cases.len());
        for (i, case) in cases.iter().enumerate() {
            self.op(I::End);
            let case_flat: Vec<FlatType> = case
                .map(|t| types.flat(t).unwrap_or(&[]).to_vec())
                .unwrap_or_default();
            if let Some(t) = case {
                let case_src = self.payload_place(types, ty, src, &case_flat);
                let case_dst = match dst {
                    Place::Memory { .. } => dst.part(0, 0, types.payload_offset(ty)),
                    Place::Flat(_) => Place::Flat(
                        case_flat
                            .iter()
                            .map(|f| (self.flat_local(*f), *f))
                            .collect(),
                    ),
                };
                self.convert(types, *t, &case_src, &case_dst)?;
                if let (Place::Flat(slots), Place::Flat(temps)) = (dst, &case_dst) {
                    for ((temp, want), (slot, have)) in temps.iter().zip(&slots[1..]) {
                        self.op(I::LocalGet(*temp));
                        self.coerce_back(*want, *have);
                        self.op(I::LocalSet(*slot));
                    }
                }
            }
            if let Place::Flat(slots) = dst {
                for (slot, have) in slots.iter().skip(1 + case_flat.len()) {
                    self.zero(*have);
                    self.op(I::LocalSet(*slot));
                }
            }
            self.op(I::Br((cases.len() - 1 - i) as u32));
        }
        self.op(I::End);
        Ok(())
    }
}

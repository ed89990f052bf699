//! Resource handles (`own`, `borrow`) crossing in an adapter: moving an
//! owned handle from the sending instance's table to the receiving one's,
//! lending a borrow for the call.
//!
//! The handle tables live on the host (`tern::component::handles`), so an
//! adapter reaches them through runtime imports (`tern.resource_*`, made
//! once per component instance) whose operands are compile-time constants —
//! the runtime resource number and the runtime component instances — plus
//! the depth of the call's scope:
//! - `resource_enter_call() -> depth` opens the call's scope, before the
//!   first parameter is checked (as the fused path opens it before lifting);
//! - in the check pass, `resource_lift_own(index, resource, from, depth)`
//!   removes an own handle from the sender's table and
//!   `resource_lift_borrow(…)` lends one for the call — with exactly the
//!   fused path's traps (unknown index, wrong type, a borrow where an own is
//!   expected, an own still lent out), at the same point of the lift order;
//!   the rep waits in the scope, first in first out;
//! - in the conversion pass, after the callee was entered,
//!   `resource_lower_own(to, depth) -> index` and `resource_lower_borrow`
//!   take the reps in the same order and make the receiver's handles (a
//!   borrow handle counted against the scope, or the rep itself for the
//!   resource's implementer);
//! - `resource_exit_call(depth)` closes the scope once the result is lowered
//!   (before post-return): lends end, and a borrow the callee kept traps;
//! - with exceptions enabled, everything between the two runs in a
//!   `try_table` whose `catch_all_ref` handler calls
//!   `resource_unwind_call(depth)` (lends end, no check) and rethrows, as
//!   the fused path closes the scope of a call that fails and rethrows the
//!   exception into the caller.
//!
//! Both passes visit handles in the same order (parameters left to right,
//! depth first, only a variant's present case, a list's elements first to
//! last — the check pass's loop lifts them, the conversion pass's loop,
//! after the list's `realloc`, lowers them), which is what pairs each lift
//! with its lower. A call whose two sides name a handle's resource
//! differently (`ComponentInfo::instance_resources`) stays fused.

use super::body::{memarg, Body, Place};
use crate::component::info::ComponentInfo;
use crate::component::types::{ComponentTypes, InterfaceType, TypeDef};
use wasm_encoder::{BlockType, Catch, Instruction as I, ValType};

/// The runtime instance's runtime resource that its type number `r` names.
fn runtime_resource(info: &ComponentInfo, rt: u32, r: u32) -> Option<u32> {
    let pairs = info.instance_resources.get(rt as usize)?;
    let i = pairs.binary_search_by_key(&r, |(n, _)| *n).ok()?;
    Some(pairs[i].1)
}

/// Checks that every handle in `a` (seen by runtime instance `caller`) and
/// the same position of `b` (seen by `callee`; the two have the same shape)
/// name one runtime resource. `Ok(true)` when `a` holds a handle.
pub(super) fn check_handles(
    info: &ComponentInfo,
    (caller, a): (u32, InterfaceType),
    (callee, b): (u32, InterfaceType),
) -> Result<bool, String> {
    let types = &info.types;
    let (InterfaceType::Defined(_), InterfaceType::Defined(_)) = (a, b) else {
        return Ok(false);
    };
    let both = |x: InterfaceType, y: InterfaceType| check_handles(info, (caller, x), (callee, y));
    let all = |pairs: Vec<(InterfaceType, InterfaceType)>| -> Result<bool, String> {
        let mut any = false;
        for (x, y) in pairs {
            any |= both(x, y)?;
        }
        Ok(any)
    };
    let opt_pairs = |x: &[Option<InterfaceType>], y: &[Option<InterfaceType>]| {
        x.iter()
            .zip(y)
            .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
            .collect::<Vec<_>>()
    };
    match (types.def(a), types.def(b)) {
        (Some(TypeDef::Own(r)), Some(TypeDef::Own(s)))
        | (Some(TypeDef::Borrow(r)), Some(TypeDef::Borrow(s))) => {
            match (
                runtime_resource(info, caller, *r),
                runtime_resource(info, callee, *s),
            ) {
                (Some(x), Some(y)) if x == y => Ok(true),
                _ => Err("a resource handle whose type the two sides name differently".into()),
            }
        }
        (Some(TypeDef::Record(x)), Some(TypeDef::Record(y))) => {
            all(x.iter().zip(y).map(|((_, x), (_, y))| (*x, *y)).collect())
        }
        (Some(TypeDef::Tuple(x)), Some(TypeDef::Tuple(y))) => {
            all(x.iter().copied().zip(y.iter().copied()).collect())
        }
        (Some(TypeDef::FixedList(x, _)), Some(TypeDef::FixedList(y, _)))
        | (Some(TypeDef::Option(x)), Some(TypeDef::Option(y)))
        | (Some(TypeDef::List(x)), Some(TypeDef::List(y))) => both(*x, *y),
        (Some(TypeDef::Variant(x)), Some(TypeDef::Variant(y))) => {
            let (x, y): (Vec<_>, Vec<_>) = (
                x.iter().map(|(_, t)| *t).collect(),
                y.iter().map(|(_, t)| *t).collect(),
            );
            all(opt_pairs(&x, &y))
        }
        (Some(TypeDef::Result { ok: a, err: b }), Some(TypeDef::Result { ok: c, err: d })) => {
            all(opt_pairs(&[*a, *b], &[*c, *d]))
        }
        _ => Ok(false),
    }
}

/// The `tern.resource_*` imports, by function index in the adapter module.
#[derive(Debug, Clone, Copy)]
pub(super) struct HandleFuncs {
    pub(super) enter_call: u32,
    pub(super) exit_call: u32,
    pub(super) lift_own: u32,
    pub(super) lift_borrow: u32,
    pub(super) lower_own: u32,
    pub(super) lower_borrow: u32,
    /// `resource_unwind_call`, when exceptions are enabled.
    pub(super) unwind_call: Option<u32>,
}

/// How an adapter that moves handles does it.
#[derive(Debug, Clone)]
pub(super) struct HandleMoves {
    /// The caller's `(resource type number, runtime resource)` pairs (the
    /// signature's types are the caller's).
    pub(super) resources: Vec<(u32, u32)>,
    /// The runtime component instance of the caller.
    pub(super) caller: u32,
    /// The runtime component instance of the callee.
    pub(super) callee: u32,
    /// The imports to call (set when the module is encoded).
    pub(super) funcs: Option<HandleFuncs>,
    /// The local holding the scope's depth (set by [`Body::enter_call`]).
    pub(super) depth: u32,
}

impl HandleMoves {
    /// The moves of a call between runtime instances `caller` and `callee`.
    pub(super) fn new(info: &ComponentInfo, caller: u32, callee: u32) -> Self {
        Self {
            resources: info
                .instance_resources
                .get(caller as usize)
                .cloned()
                .unwrap_or_default(),
            caller,
            callee,
            funcs: None,
            depth: 0,
        }
    }

    fn runtime_resource(&self, r: u32) -> u32 {
        // `check_handles` made sure every handle of the call resolves (an
        // unknown number would make the runtime fail, never move a handle).
        self.resources
            .binary_search_by_key(&r, |(n, _)| *n)
            .map_or(u32::MAX, |i| self.resources[i].1)
    }
}

impl Body {
    fn moves(&self) -> Result<(&HandleMoves, HandleFuncs), String> {
        let m = self
            .handles
            .as_ref()
            .ok_or("a handle crosses in an adapter planned without handles (a Tern bug)")?;
        let f = m
            .funcs
            .ok_or("handle imports missing in an adapter (a Tern bug)")?;
        Ok((m, f))
    }

    /// The runtime instance values move from, and the one they move to.
    fn directions(&self, m: &HandleMoves) -> (u32, u32) {
        if self.src.is_callee {
            (m.callee, m.caller)
        } else {
            (m.caller, m.callee)
        }
    }

    /// Opens the call's scope, when handles cross.
    pub(super) fn enter_call(&mut self) -> Result<(), String> {
        if self.handles.is_none() {
            return Ok(());
        }
        let depth = self.local(wasm_encoder::ValType::I32);
        let (_, f) = self.moves()?;
        self.op(I::Call(f.enter_call)).op(I::LocalSet(depth));
        if let Some(m) = &mut self.handles {
            m.depth = depth;
        }
        if f.unwind_call.is_some() {
            // Everything up to `exit_call` runs in a `try_table` whose
            // handler closes the scope and rethrows (see `exit_call`).
            self.op(I::Block(BlockType::Empty))
                .op(I::Block(BlockType::Result(ValType::EXNREF)))
                .op(I::TryTable(
                    BlockType::Empty,
                    vec![Catch::AllRef { label: 0 }].into(),
                ));
        }
        Ok(())
    }

    /// Closes the call's scope, when handles cross.
    pub(super) fn exit_call(&mut self) -> Result<(), String> {
        if self.handles.is_none() {
            return Ok(());
        }
        let (m, f) = self.moves()?;
        let depth = m.depth;
        if let Some(unwind) = f.unwind_call {
            // The end of the `try_table` of `enter_call`: normally past the
            // handler; with an exception, close the scope and rethrow it.
            self.op(I::End)
                .op(I::Br(1))
                .op(I::End)
                .op(I::LocalGet(depth))
                .op(I::Call(unwind))
                .op(I::ThrowRef)
                .op(I::End);
        }
        self.op(I::LocalGet(depth)).op(I::Call(f.exit_call));
        Ok(())
    }

    /// Moves the handle of `ty` (`def` is its `Own` or `Borrow`), lifted
    /// by [`Self::check_handle`], to `dst`.
    pub(super) fn convert_handle(
        &mut self,
        _types: &ComponentTypes,
        _ty: InterfaceType,
        def: &TypeDef,
        _src: &Place,
        dst: &Place,
    ) -> Result<(), String> {
        let (m, f) = self.moves()?;
        let (_, to) = self.directions(m);
        let depth = m.depth;
        let func = match def {
            TypeDef::Own(_) => f.lower_own,
            _ => f.lower_borrow,
        };
        let at = match dst {
            Place::Memory { .. } => Some(self.address(dst)),
            Place::Flat(_) => None,
        };
        self.op(I::I32Const(to as i32))
            .op(I::LocalGet(depth))
            .op(I::Call(func));
        match (dst, at) {
            (Place::Flat(v), _) => {
                self.op(I::LocalSet(v[0].0));
            }
            (_, Some((mem, offset))) => {
                self.op(I::I32Store(memarg(mem, offset, 2)));
            }
            _ => unreachable!("a memory place has an address"),
        }
        Ok(())
    }

    /// Lifts the handle of `ty` at `src` out of the sender (before anything
    /// is lowered), keeping its rep in the call's scope.
    pub(super) fn check_handle(
        &mut self,
        _types: &ComponentTypes,
        _ty: InterfaceType,
        def: &TypeDef,
        src: &Place,
    ) -> Result<(), String> {
        let (m, f) = self.moves()?;
        let (from, _) = self.directions(m);
        let depth = m.depth;
        let (func, r) = match def {
            TypeDef::Own(r) => (f.lift_own, *r),
            TypeDef::Borrow(r) => (f.lift_borrow, *r),
            _ => return Err("not a handle (a Tern bug)".into()),
        };
        let resource = m.runtime_resource(r);
        match src {
            Place::Flat(v) => {
                self.op(I::LocalGet(v[0].0));
            }
            Place::Memory { .. } => self.load_i32(src, 0),
        }
        self.op(I::I32Const(resource as i32))
            .op(I::I32Const(from as i32))
            .op(I::LocalGet(depth))
            .op(I::Call(func));
        Ok(())
    }
}

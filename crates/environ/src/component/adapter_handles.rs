//! Resource handles in compiled adapters: which calls can move them, and the
//! code that moves them.
//!
//! A handle is an index into its component instance's handle table, and the
//! tables live on the host (`tern::component::handles`), so an adapter moves
//! each handle with one call of a runtime import, with compile-time constant
//! operands — `(index, runtime resource, from instance, to instance) ->
//! index`:
//! - `tern.resource_transfer_own` for `own<R>`: out of the source table
//!   (trapping when it is unknown, of another type, a borrow, or lent out),
//!   into the destination's;
//! - `tern.resource_transfer_borrow` for `borrow<R>` parameters: an own
//!   handle is lent for the call, and the callee gets a borrow handle (or the
//!   rep, when it implements `R`) that it must drop before returning.
//!
//! Around a call that moves handles, `tern.resource_enter_call` opens the
//! call's scope (before the first parameter is lifted, as the fused path
//! does) and `tern.resource_exit_call` closes it once the result is lifted
//! and lowered: the lends end, and a borrow the callee kept traps. Handles
//! are moved in the order the fused path lifts them (parameters left to
//! right, depth first), so every trap comes first in the same place.
//!
//! A call is compiled only when each handle position names the same runtime
//! resource on both sides (`ComponentInfo::instance_resources`), so one
//! runtime type serves both tables; otherwise it stays fused.

use super::info::ComponentInfo;
use super::types::{ComponentTypes, InterfaceType, TypeDef};
use wasm_encoder::Instruction as I;

/// The runtime resource that type number `r` of runtime instance `rt` names.
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
        | (Some(TypeDef::List(x)), Some(TypeDef::List(y)))
        | (Some(TypeDef::Option(x)), Some(TypeDef::Option(y))) => both(*x, *y),
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

/// Whether `ty` is a handle: `Some((own, type number))`.
pub(super) fn handle(types: &ComponentTypes, ty: InterfaceType) -> Option<(bool, u32)> {
    match types.def(ty)? {
        TypeDef::Own(r) => Some((true, *r)),
        TypeDef::Borrow(r) => Some((false, *r)),
        _ => None,
    }
}

/// The runtime imports an adapter that moves handles calls, by function index.
#[derive(Debug, Clone, Copy)]
pub(super) struct HandleFuncs {
    /// `tern.resource_transfer_own`.
    pub(super) transfer_own: u32,
    /// `tern.resource_transfer_borrow`.
    pub(super) transfer_borrow: u32,
    /// `tern.resource_enter_call`.
    pub(super) enter_call: u32,
    /// `tern.resource_exit_call`.
    pub(super) exit_call: u32,
}

/// Where handles move in one adapter, and how.
#[derive(Debug, Clone)]
pub(super) struct HandleMoves {
    /// The caller's `(resource type number, runtime resource)` pairs.
    pub(super) resources: Vec<(u32, u32)>,
    /// The runtime instances: the caller, and the callee.
    pub(super) caller: u32,
    pub(super) callee: u32,
    /// The imports to call.
    pub(super) funcs: HandleFuncs,
    /// Whether values now move from the callee back to the caller.
    pub(super) returning: bool,
    /// The local holding the scope depth `enter_call` returned.
    pub(super) depth: u32,
}

impl HandleMoves {
    /// Code that replaces the handle (type number `r` of the caller's types,
    /// `own` or not) in `local` by the one it becomes on the other side.
    pub(super) fn transfer(&self, (own, r): (bool, u32), local: u32) -> Vec<I<'static>> {
        // `check_handles` made sure every handle of the call resolves (an
        // unknown number would make the runtime fail, not move a handle).
        let resource = self
            .resources
            .binary_search_by_key(&r, |(n, _)| *n)
            .map_or(u32::MAX, |i| self.resources[i].1);
        let (from, to) = if self.returning {
            (self.callee, self.caller)
        } else {
            (self.caller, self.callee)
        };
        let func = if own {
            self.funcs.transfer_own
        } else {
            self.funcs.transfer_borrow
        };
        vec![
            I::LocalGet(local),
            I::I32Const(resource as i32),
            I::I32Const(from as i32),
            I::I32Const(to as i32),
            I::Call(func),
            I::LocalSet(local),
        ]
    }

    /// Opens the call's scope, keeping its depth.
    pub(super) fn enter(&self) -> Vec<I<'static>> {
        vec![I::Call(self.funcs.enter_call), I::LocalSet(self.depth)]
    }

    /// Closes the call's scope (trapping on a borrow the callee kept).
    pub(super) fn exit(&self) -> Vec<I<'static>> {
        vec![I::LocalGet(self.depth), I::Call(self.funcs.exit_call)]
    }
}

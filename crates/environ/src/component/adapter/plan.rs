//! Planning: which component-to-component calls get a compiled adapter.
//! [`plan_adapters`] walks the initializers, pairs each `canon lower` of a
//! function lifted by another inlined instance with that lift, and asks
//! `module.rs` to encode an adapter; every call it cannot compile stays on
//! the host-fused path with the reason recorded in
//! [`ComponentInfo::fused_calls`].

use super::module::{encode, Needs};
use super::res::{check_handles, HandleMoves};
use crate::component::info::{
    AdapterInfo, BuiltinKind, CanonOptions, ComponentInfo, FuncDef, FusedCall, Initializer,
};
use crate::component::types::{ComponentTypes, FlatType, InterfaceType, TypeDef};
use crate::component::types::{MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use crate::{WasmFuncType, WasmValType};
use std::collections::{HashMap, HashSet};

/// Builds an adapter for every component-to-component call that can be
/// compiled, records them in `info.adapters` (module numbers from
/// `first_module` on) and every other such call in `info.fused_calls`, and
/// returns the adapter modules' bytes in module order.
///
/// `memory_ops` says whether the engine validates multi-memory and bulk
/// memory (`memory.copy`), which adapters moving values in memory use;
/// `exceptions`, whether it validates exception handling (then a wasm
/// exception can unwind through an adapter, which must close the handle
/// scope it opened, as the fused path does).
pub fn plan_adapters(
    info: &mut ComponentInfo,
    first_module: u32,
    memory_ops: bool,
    exceptions: bool,
) -> Vec<Vec<u8>> {
    let context_users: HashSet<u32> = info
        .initializers
        .iter()
        .filter_map(|init| match init {
            Initializer::Builtin {
                kind: BuiltinKind::ContextGet(_) | BuiltinKind::ContextSet(_),
                instance,
                ..
            } => Some(*instance),
            _ => None,
        })
        .collect();
    // Lifts made so far: an adapter is instantiated where its `canon lower`
    // is, so its callee must be lifted before that.
    let mut lifts = HashMap::new();
    let (mut modules, mut adapters, mut fused) = (Vec::new(), Vec::new(), Vec::new());
    for init in &info.initializers {
        if let Initializer::Lift {
            index,
            options,
            ty,
            instance,
            ..
        } = init
        {
            lifts.insert(*index, (options, *ty, *instance));
            continue;
        }
        let Initializer::Lower {
            index,
            callee: FuncDef::Lifted(lifted),
            options,
            ty,
            core_ty,
            instance,
        } = init
        else {
            continue;
        };
        let outcome = match lifts.get(lifted) {
            None => Err("the callee is not lifted before it is lowered".to_string()),
            Some((_, _, callee)) if context_users.contains(callee) => Err(
                "the callee uses `context.get`/`context.set`, whose slots the host keeps per task"
                    .to_string(),
            ),
            Some((callee_options, callee_ty, callee)) => Signature::new(
                info,
                (options, *ty, core_ty, *instance),
                (callee_options, *callee_ty, *callee),
            )
            .and_then(|sig| {
                let mut needs = sig.needs(&info.types);
                needs.exceptions = exceptions;
                if !memory_ops && (needs.caller_memory || needs.callee_memory) {
                    return Err(
                        "values cross in memory and the engine disables multi-memory \
                                or bulk memory, which that adapter uses"
                            .to_string(),
                    );
                }
                check_options(&needs, options, callee_options)?;
                encode(&info.types, &sig, (options, callee_options), &needs)
            }),
        };
        match outcome {
            Ok(bytes) => {
                adapters.push(AdapterInfo {
                    lowered: *index,
                    lifted: *lifted,
                    module: first_module + modules.len() as u32,
                    caller: *instance,
                    callee: lifts[lifted].2,
                });
                modules.push(bytes);
            }
            Err(reason) => fused.push(FusedCall {
                lowered: *index,
                reason,
            }),
        }
    }
    info.adapters = adapters;
    info.fused_calls = fused;
    modules
}

/// Refuses a call whose options lack a memory or `realloc` the adapter
/// would use (validation normally guarantees them; the fused path then
/// reports what is missing).
fn check_options(
    needs: &Needs,
    caller: &CanonOptions,
    callee: &CanonOptions,
) -> Result<(), String> {
    let missing = (needs.caller_memory && caller.memory.is_none())
        || (needs.callee_memory && callee.memory.is_none())
        || (needs.caller_realloc && caller.realloc.is_none())
        || (needs.callee_realloc && callee.realloc.is_none());
    if missing {
        return Err("a memory or `realloc` option the call needs is missing".into());
    }
    Ok(())
}

/// A call that can be compiled: the types, and the flat core signatures
/// (`None` when the values cross in memory).
pub(super) struct Signature {
    pub(super) params: Vec<InterfaceType>,
    pub(super) result: Option<InterfaceType>,
    /// The flat parameters, or `None` when more than 16 pass through memory.
    pub(super) flat_params: Option<Vec<FlatType>>,
    /// The flat result, or `None` when it returns through memory (also
    /// `Some(empty)` when there is no result).
    pub(super) flat_result: Option<Vec<FlatType>>,
    /// How resource handles move, when any cross (`res.rs`).
    pub(super) handles: Option<HandleMoves>,
}

impl Signature {
    /// Checks that the call can be compiled; `Err` names why not.
    fn new(
        info: &ComponentInfo,
        (caller_options, caller_ty, core_ty, caller): (&CanonOptions, u32, &WasmFuncType, u32),
        (callee_options, callee_ty, callee): (&CanonOptions, u32, u32),
    ) -> Result<Self, String> {
        let types = &info.types;
        if caller_options.is_async || callee_options.is_async {
            return Err("an async lower or lift (not compiled yet)".into());
        }
        let (f, g) = (types.func(caller_ty), types.func(callee_ty));
        let same = f.params.len() == g.params.len()
            && f.params
                .iter()
                .zip(&g.params)
                .all(|((_, a), (_, b))| same_shape(types, *a, *b))
            && match (f.result, g.result) {
                (None, None) => true,
                (Some(a), Some(b)) => same_shape(types, a, b),
                _ => false,
            };
        if !same {
            return Err("the caller and the callee see different types".into());
        }
        let mut has_handles = false;
        let pairs = f
            .params
            .iter()
            .map(|(_, t)| *t)
            .zip(g.params.iter().map(|(_, t)| *t));
        for (a, b) in pairs.chain(f.result.zip(g.result)) {
            has_handles |= check_handles(info, (caller, a), (callee, b))?;
        }
        let params: Vec<InterfaceType> = f.params.iter().map(|(_, t)| *t).collect();
        let flat_params = types.flat_list(params.iter().copied(), MAX_FLAT_PARAMS);
        let flat_result = match f.result {
            None => Some(Vec::new()),
            Some(r) => types
                .flat(r)
                .filter(|flat| flat.len() <= MAX_FLAT_RESULTS)
                .map(<[_]>::to_vec),
        };
        let to_wasm = |fl: &[FlatType]| -> Vec<WasmValType> {
            fl.iter().map(|t| wasm_val_type(*t)).collect()
        };
        let mut want_params = match &flat_params {
            Some(f) => to_wasm(f),
            None => vec![WasmValType::I32],
        };
        let want_results = match &flat_result {
            Some(f) => to_wasm(f),
            None => {
                want_params.push(WasmValType::I32);
                Vec::new()
            }
        };
        if *core_ty.params != *want_params || *core_ty.results != *want_results {
            return Err("the lowered core signature is not the flattened type (a Tern bug)".into());
        }
        Ok(Self {
            params,
            result: f.result,
            flat_params,
            flat_result,
            handles: has_handles.then(|| HandleMoves::new(info, caller, callee)),
        })
    }

    /// The memories and `realloc`s the adapter uses.
    pub(super) fn needs(&self, types: &ComponentTypes) -> Needs {
        let params_in_memory =
            self.flat_params.is_none() || self.params.iter().any(|t| in_memory(types, *t));
        let result_in_memory =
            self.flat_result.is_none() || self.result.is_some_and(|t| in_memory(types, t));
        Needs {
            caller_memory: params_in_memory || result_in_memory,
            callee_memory: params_in_memory || result_in_memory,
            caller_realloc: self.result.is_some_and(|t| in_memory(types, t)),
            callee_realloc: params_in_memory,
            exceptions: false,
        }
    }
}

/// Whether a value of `ty` points into memory (contains a string or list).
fn in_memory(types: &ComponentTypes, ty: InterfaceType) -> bool {
    use InterfaceType as T;
    match ty {
        T::String => true,
        T::Defined(_) => match types.def(ty) {
            Some(TypeDef::List(_) | TypeDef::Map(..)) => true,
            Some(TypeDef::Record(fields)) => fields.iter().any(|(_, t)| in_memory(types, *t)),
            Some(TypeDef::Tuple(tys)) => tys.iter().any(|t| in_memory(types, *t)),
            Some(TypeDef::FixedList(elem, _)) => in_memory(types, *elem),
            Some(TypeDef::Variant(cases)) => cases
                .iter()
                .filter_map(|(_, t)| *t)
                .any(|t| in_memory(types, t)),
            Some(TypeDef::Option(t)) => in_memory(types, *t),
            Some(TypeDef::Result { ok, err }) => ok.iter().chain(err).any(|t| in_memory(types, *t)),
            _ => false,
        },
        _ => false,
    }
}

/// Whether `a` and `b` have the same structure (names aside), so a value
/// lifted as one lowers as the other position by position.
fn same_shape(types: &ComponentTypes, a: InterfaceType, b: InterfaceType) -> bool {
    let (InterfaceType::Defined(_), InterfaceType::Defined(_)) = (a, b) else {
        return a == b;
    };
    let same = |x: &InterfaceType, y: &InterfaceType| same_shape(types, *x, *y);
    let same_opt = |x: &Option<InterfaceType>, y: &Option<InterfaceType>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => same(x, y),
        _ => false,
    };
    match (types.def(a), types.def(b)) {
        (Some(TypeDef::Record(x)), Some(TypeDef::Record(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|((_, x), (_, y))| same(x, y))
        }
        (Some(TypeDef::Tuple(x)), Some(TypeDef::Tuple(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Some(TypeDef::FixedList(x, n)), Some(TypeDef::FixedList(y, m))) => n == m && same(x, y),
        (Some(TypeDef::List(x)), Some(TypeDef::List(y))) => same(x, y),
        (Some(TypeDef::Option(x)), Some(TypeDef::Option(y))) => same(x, y),
        (Some(TypeDef::Variant(x)), Some(TypeDef::Variant(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|((_, x), (_, y))| same_opt(x, y))
        }
        (Some(TypeDef::Result { ok: a, err: b }), Some(TypeDef::Result { ok: c, err: d })) => {
            same_opt(a, c) && same_opt(b, d)
        }
        (Some(TypeDef::Enum(x)), Some(TypeDef::Enum(y))) => x.len() == y.len(),
        (Some(TypeDef::Flags(x)), Some(TypeDef::Flags(y))) => x.len() == y.len(),
        // Which resource each names is checked by `check_handles`.
        (Some(TypeDef::Own(_)), Some(TypeDef::Own(_)))
        | (Some(TypeDef::Borrow(_)), Some(TypeDef::Borrow(_))) => true,
        _ => false,
    }
}

fn wasm_val_type(t: FlatType) -> WasmValType {
    match t {
        FlatType::I32 => WasmValType::I32,
        FlatType::I64 => WasmValType::I64,
        FlatType::F32 => WasmValType::F32,
        FlatType::F64 => WasmValType::F64,
    }
}

//! The adapter module: its types, imports (the callee's core function and
//! post-return, the runtime's `tern.trap`/`tern.enter`, the two flags
//! slots, and — when values cross in memory — both sides' memories and the
//! `realloc`s it calls) and its one function, whose steps follow the
//! host-fused path (`tern::component::host`) and the canonical ABI:
//!
//! 1. trap `cannot leave` unless the caller's `may_leave` flag is set;
//! 2. check every argument on the caller's side (`check.rs`);
//! 3. trap `cannot enter` unless the callee's `may_enter` flag is set
//!    (after asking the runtime to run a deferred post-return), then clear it;
//! 4. lower the arguments into the callee (flat, or into a parameter area
//!    its `realloc` allocates when there are more than 16 flat values);
//! 5. call it; check its result on its side, then lower the result into the
//!    caller (flat, or at the caller's return pointer);
//! 6. run its post-return function with its `may_leave` flag cleared (after
//!    the result was copied out of its memory, as `canon lift` does);
//! 7. set `may_enter` again and return.

use super::body::{val_type, Body, Content, Place, Side};
use super::interface::adapter_names as n;
use super::interface::AdapterTrap;
use super::plan::Signature;
use super::res::HandleFuncs;
use super::transcode::has_string;
use super::value::is_copy;
use crate::component::types::{ComponentTypes, FlatType};
use crate::component::vmctx::{FLAG_MAY_ENTER, FLAG_MAY_LEAVE};
use crate::component::CanonOptions;
use wasm_encoder::{
    BlockType, CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalType, ImportSection, Instruction as I, MemoryType, Module, TypeSection, ValType,
};

/// Function indices inside an adapter module.
#[derive(Debug, Clone, Copy)]
pub(super) struct Funcs {
    pub(super) callee: u32,
    pub(super) trap: u32,
    pub(super) enter: u32,
    pub(super) post_return: Option<u32>,
    /// `tern.transcode-to-callee`, when a parameter's string is transcoded.
    pub(super) transcode_to_callee: Option<u32>,
    /// `tern.transcode-to-caller`, when the result's string is transcoded.
    pub(super) transcode_to_caller: Option<u32>,
}

/// Global indices inside an adapter module.
const CALLER_FLAGS: u32 = 0;
const CALLEE_FLAGS: u32 = 1;

/// What the module imports besides the fixed items.
pub(super) struct Needs {
    pub(super) caller_memory: bool,
    pub(super) callee_memory: bool,
    pub(super) caller_realloc: bool,
    pub(super) callee_realloc: bool,
    /// Whether wasm exceptions can unwind through the adapter (which then
    /// restores what it changed — a handle scope, a `may_leave` flag
    /// cleared for `realloc` — before rethrowing, as the fused path does).
    pub(super) exceptions: bool,
}

/// Encodes the adapter module of `sig`; `Err` names what cannot be compiled.
pub(super) fn encode(
    types: &ComponentTypes,
    sig: &Signature,
    (caller, callee): (&CanonOptions, &CanonOptions),
    needs: &Needs,
) -> Result<Vec<u8>, String> {
    let i32_ = ValType::I32;
    let vals = |f: &[FlatType]| -> Vec<ValType> { f.iter().map(|t| val_type(*t)).collect() };
    let callee_params = match &sig.flat_params {
        Some(f) => vals(f),
        None => vec![i32_],
    };
    let callee_results = match &sig.flat_result {
        Some(f) => vals(f),
        None => vec![i32_],
    };
    let mut adapter_params = callee_params.clone();
    if sig.flat_result.is_none() && sig.result.is_some() {
        adapter_params.push(i32_);
    }
    let adapter_results = match &sig.flat_result {
        Some(f) => vals(f),
        None => Vec::new(),
    };
    let mut ty = TypeSection::new();
    // 0: the adapter; 1: the callee's core function; 2: post-return;
    // 3: `tern.trap`; 4: `tern.enter`; 5: `realloc`; 6: `tern.transcode-*`.
    ty.ty()
        .function(adapter_params.clone(), adapter_results.clone());
    ty.ty()
        .function(callee_params.clone(), callee_results.clone());
    ty.ty().function(callee_results.clone(), []);
    ty.ty().function([i32_, i32_, i32_], []);
    ty.ty().function([], []);
    ty.ty().function([i32_, i32_, i32_, i32_], [i32_]);
    ty.ty().function([i32_, i32_], [ValType::I64]);
    // 7: entering a call that moves handles; 8: leaving it (also lowering a
    // handle: `(to, depth) -> index`, type 9); 10: lifting one.
    ty.ty().function([], [i32_]);
    ty.ty().function([i32_], []);
    ty.ty().function([i32_, i32_], [i32_]);
    ty.ty().function([i32_, i32_, i32_, i32_], []);

    let mut imports = ImportSection::new();
    let mut nfuncs = 0;
    let mut func = |imports: &mut ImportSection, module: &str, name: &str, ty: u32| {
        imports.import(module, name, EntityType::Function(ty));
        nfuncs += 1;
        nfuncs - 1
    };
    let callee_func = func(&mut imports, n::CALLEE, n::FUNC, 1);
    let trap = func(&mut imports, n::RUNTIME, n::TRAP, 3);
    let enter = func(&mut imports, n::RUNTIME, n::ENTER, 4);
    let post_return = callee
        .post_return
        .is_some()
        .then(|| func(&mut imports, n::CALLEE, n::POST_RETURN, 2));
    let caller_realloc = needs
        .caller_realloc
        .then(|| func(&mut imports, n::CALLER, n::REALLOC, 5));
    let callee_realloc = needs
        .callee_realloc
        .then(|| func(&mut imports, n::CALLEE, n::REALLOC, 5));
    let transcodes = !is_copy(caller.string_encoding, callee.string_encoding);
    let transcode_to_callee = (transcodes && sig.params.iter().any(|t| has_string(types, *t)))
        .then(|| func(&mut imports, n::RUNTIME, n::TRANSCODE_TO_CALLEE, 6));
    let transcode_to_caller = (transcodes && sig.result.is_some_and(|t| has_string(types, t)))
        .then(|| func(&mut imports, n::RUNTIME, n::TRANSCODE_TO_CALLER, 6));
    let handle_funcs = sig.handles.is_some().then(|| HandleFuncs {
        enter_call: func(&mut imports, n::RUNTIME, n::ENTER_CALL, 7),
        exit_call: func(&mut imports, n::RUNTIME, n::EXIT_CALL, 8),
        lift_own: func(&mut imports, n::RUNTIME, n::LIFT_OWN, 10),
        lift_borrow: func(&mut imports, n::RUNTIME, n::LIFT_BORROW, 10),
        lower_own: func(&mut imports, n::RUNTIME, n::LOWER_OWN, 9),
        lower_borrow: func(&mut imports, n::RUNTIME, n::LOWER_BORROW, 9),
        unwind_call: needs
            .exceptions
            .then(|| func(&mut imports, n::RUNTIME, n::UNWIND_CALL, 8)),
    });
    let flags = GlobalType {
        val_type: i32_,
        mutable: true,
        shared: false,
    };
    imports.import(n::FLAGS, n::CALLER_FLAGS, EntityType::Global(flags));
    imports.import(n::FLAGS, n::CALLEE_FLAGS, EntityType::Global(flags));
    let memory = MemoryType {
        minimum: 0,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    };
    let mut exports = ExportSection::new();
    let mut nmems = 0;
    let mut mem = |imports: &mut ImportSection, module: &str, export: &str| {
        imports.import(module, n::MEMORY, EntityType::Memory(memory));
        exports.export(export, ExportKind::Memory, nmems);
        nmems += 1;
        nmems - 1
    };
    let caller_memory = needs
        .caller_memory
        .then(|| mem(&mut imports, n::CALLER, n::CALLER_MEMORY_EXPORT));
    let callee_memory = needs
        .callee_memory
        .then(|| mem(&mut imports, n::CALLEE, n::CALLEE_MEMORY_EXPORT));
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    exports.export(n::EXPORT, ExportKind::Func, nfuncs);

    let caller_side = Side {
        memory: caller_memory,
        realloc: caller_realloc,
        flags: CALLER_FLAGS,
        encoding: caller.string_encoding,
        is_callee: false,
    };
    let callee_side = Side {
        memory: callee_memory,
        realloc: callee_realloc,
        flags: CALLEE_FLAGS,
        encoding: callee.string_encoding,
        is_callee: true,
    };
    let fs = Funcs {
        callee: callee_func,
        trap,
        enter,
        post_return,
        transcode_to_callee,
        transcode_to_caller,
    };
    let mut body = Body::new(adapter_params.len() as u32, fs, caller_side, callee_side);
    body.exceptions = needs.exceptions;
    body.handles = sig.handles.clone().map(|mut h| {
        h.funcs = handle_funcs;
        h
    });
    adapter(&mut body, types, sig, &adapter_params, &callee_results)?;
    let mut f = Function::new(body.locals.iter().map(|t| (1, *t)));
    for i in &body.code {
        f.instruction(i);
    }
    let mut code = CodeSection::new();
    code.function(&f);

    let mut module = Module::new();
    module
        .section(&ty)
        .section(&imports)
        .section(&funcs)
        .section(&exports)
        .section(&code);
    Ok(module.finish())
}

/// The places of each of `tys` in `base`: consecutive flat values, or
/// fields of a tuple in memory.
fn places(
    types: &ComponentTypes,
    tys: &[crate::component::InterfaceType],
    base: &Place,
) -> Vec<Place> {
    let (_, _, offsets) = types.tuple_layout(tys.iter().copied());
    let mut flat_pos = 0;
    tys.iter()
        .zip(offsets)
        .map(|(t, offset)| {
            let n = super::value::flat_len(types, *t);
            let p = base.part(flat_pos, n, offset);
            flat_pos += n;
            p
        })
        .collect()
}

/// The whole adapter function (see the module doc for the steps).
fn adapter(
    body: &mut Body,
    types: &ComponentTypes,
    sig: &Signature,
    adapter_params: &[ValType],
    callee_results: &[ValType],
) -> Result<(), String> {
    let (caller, callee) = (body.src, body.dst);
    // 1. The caller must be allowed to leave.
    body.flag_clear(CALLER_FLAGS, FLAG_MAY_LEAVE);
    body.trap_if(
        AdapterTrap::CannotLeave,
        super::body::Operand::Const(0),
        super::body::Operand::Const(0),
    );
    // Handles: the call's scope opens before any is lifted, as the fused
    // path's does.
    body.enter_call()?;
    // 2. Check the arguments where they are.
    let (params_size, params_align, _) = types.tuple_layout(sig.params.iter().copied());
    let src_base = match &sig.flat_params {
        Some(flat) => Place::Flat((0..flat.len() as u32).zip(flat.iter().copied()).collect()),
        None => {
            let mem = caller
                .memory
                .ok_or("parameters in memory without a memory option")?;
            let size = body.local(ValType::I64);
            body.op(I::I64Const(i64::from(params_size)))
                .op(I::LocalSet(size));
            body.check_range(mem, 0, size, params_align, Content::Tuple);
            Place::Memory {
                mem,
                addr: 0,
                offset: 0,
            }
        }
    };
    let srcs = places(types, &sig.params, &src_base);
    for (t, p) in sig.params.iter().zip(&srcs) {
        body.check(types, *t, p)?;
    }
    // 3. Enter the callee: a deferred post-return may set its flag again.
    body.flag_clear(CALLEE_FLAGS, FLAG_MAY_ENTER);
    let enter = body.funcs.enter;
    body.op(I::If(BlockType::Empty)).op(I::Call(enter));
    body.flag_clear(CALLEE_FLAGS, FLAG_MAY_ENTER);
    body.trap_if(
        AdapterTrap::CannotEnter,
        super::body::Operand::Const(0),
        super::body::Operand::Const(0),
    );
    body.op(I::End);
    body.set_flag(CALLEE_FLAGS, FLAG_MAY_ENTER, false);
    // 4. Lower the arguments into the callee.
    let (dst_base, args): (Place, Vec<u32>) = match &sig.flat_params {
        Some(flat) => {
            let locals: Vec<(u32, FlatType)> =
                flat.iter().map(|t| (body.flat_local(*t), *t)).collect();
            let args = locals.iter().map(|(l, _)| *l).collect();
            (Place::Flat(locals), args)
        }
        None => {
            let mem = callee
                .memory
                .ok_or("parameters in memory without a memory option")?;
            let size = body.local(ValType::I64);
            body.op(I::I64Const(i64::from(params_size)))
                .op(I::LocalSet(size));
            let ptr = body.alloc(params_align, size, Content::Tuple)?;
            let base = Place::Memory {
                mem,
                addr: ptr,
                offset: 0,
            };
            (base, vec![ptr])
        }
    };
    let dsts = places(types, &sig.params, &dst_base);
    for ((t, s), d) in sig.params.iter().zip(&srcs).zip(&dsts) {
        body.convert(types, *t, s, d)?;
    }
    // 5. Call it.
    for a in &args {
        body.op(I::LocalGet(*a));
    }
    let callee_func = body.funcs.callee;
    body.op(I::Call(callee_func));
    let raw: Vec<u32> = callee_results.iter().map(|t| body.local(*t)).collect();
    for r in raw.iter().rev() {
        body.op(I::LocalSet(*r));
    }
    // The result, from the callee to the caller.
    body.src = callee;
    body.dst = caller;
    let mut out = Vec::new();
    if let Some(rty) = sig.result {
        match &sig.flat_result {
            Some(flat) => {
                let src = Place::Flat(raw.iter().copied().zip(flat.iter().copied()).collect());
                let locals: Vec<(u32, FlatType)> =
                    flat.iter().map(|t| (body.flat_local(*t), *t)).collect();
                out = locals.iter().map(|(l, _)| *l).collect();
                body.check(types, rty, &src)?;
                body.convert(types, rty, &src, &Place::Flat(locals))?;
            }
            None => {
                let (size, align) = types.size_align(rty);
                let size_local = body.local(ValType::I64);
                body.op(I::I64Const(i64::from(size)))
                    .op(I::LocalSet(size_local));
                let callee_mem = callee
                    .memory
                    .ok_or("a result in memory without a memory option")?;
                let caller_mem = caller
                    .memory
                    .ok_or("a result in memory without a memory option")?;
                body.check_range(callee_mem, raw[0], size_local, align, Content::Tuple);
                let src = Place::Memory {
                    mem: callee_mem,
                    addr: raw[0],
                    offset: 0,
                };
                body.check(types, rty, &src)?;
                let retptr = adapter_params.len() as u32 - 1;
                body.check_range(caller_mem, retptr, size_local, align, Content::Tuple);
                let dst = Place::Memory {
                    mem: caller_mem,
                    addr: retptr,
                    offset: 0,
                };
                body.convert(types, rty, &src, &dst)?;
            }
        }
    }
    // The scope closes once the result is lowered: lends end, and a borrow
    // the callee kept traps (before post-return, as fused).
    body.exit_call()?;
    // 6. Post-return, with the callee's `may_leave` clear.
    if let Some(post_return) = body.funcs.post_return {
        for r in &raw {
            body.op(I::LocalGet(*r));
        }
        body.set_flag(CALLEE_FLAGS, FLAG_MAY_LEAVE, false);
        body.op(I::Call(post_return));
        body.set_flag(CALLEE_FLAGS, FLAG_MAY_LEAVE, true);
    }
    // 7. The callee may be entered again.
    body.set_flag(CALLEE_FLAGS, FLAG_MAY_ENTER, true);
    for r in &out {
        body.op(I::LocalGet(*r));
    }
    body.op(I::End);
    Ok(())
}

//! Compiled component-to-component adapters.
//!
//! When inlining finds a `canon lower` whose callee is a function lifted by
//! another inlined instance of the same component, the call can be compiled:
//! [`plan_adapters`] builds, for each such lowered function, a small core
//! module (with `wasm-encoder`) whose one export takes the caller's core
//! arguments and does what the host-fused path (`tern::component::host`)
//! does in Rust, in the same order:
//!
//! 1. trap `cannot leave` unless the caller's `may_leave` flag is set;
//! 2. lift each argument from the caller and lower it for the callee
//!    (normalising `bool`, small integers and NaNs, checking `char`s and
//!    discriminants, masking `flags`);
//! 3. trap `cannot enter` unless the callee's `may_enter` flag is set
//!    (after asking the runtime to run a deferred post-return), then clear it;
//! 4. call the callee's core function; lift and lower its result;
//! 5. run its post-return function with its `may_leave` flag cleared;
//! 6. set `may_enter` again and return.
//!
//! The flags are the component VMContext's slots (`vmctx.rs`), imported as
//! mutable `i32` globals. Traps go through one runtime import, `tern.trap`,
//! so that a compiled call fails with exactly the error (kind and message)
//! the fused path gives. The module is compiled with the component's static
//! modules and stored in its artifact, so loading a precompiled component
//! runs no compiler.
//!
//! What is compiled: synchronous calls whose parameters (at most 16 flat
//! values) and result (at most one flat value) are scalars, `char`s, enums,
//! flags, and records, tuples, fixed-length lists, variants, options and
//! results of them (a variant's payload is coerced from its joined slot
//! types, converted, coerced back, and the unused slots zeroed), and
//! resource handles among them (`own` moved, `borrow` lent, through the
//! runtime imports of `adapter_handles.rs`). Everything
//! else — strings, lists, parameters or results that cross
//! in memory, async, callees that use `context.get`/`set` (slots the host
//! keeps per task) — stays on the fused path, and the reason is recorded in
//! [`ComponentInfo::fused_calls`]. Nothing here must ever produce an
//! adapter whose behaviour differs from the fused path's.

use super::adapter_handles::{check_handles, handle, HandleFuncs, HandleMoves};
use super::info::Initializer;
use super::info::{AdapterInfo, BuiltinKind, CanonOptions, ComponentInfo, FuncDef, FusedCall};
use super::types::{ComponentTypes, FlatType, InterfaceType, TypeDef};
use super::types::{MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::vmctx::{FLAG_MAY_ENTER, FLAG_MAY_LEAVE};
use crate::{WasmFuncType, WasmValType};
use std::collections::{HashMap, HashSet};
use wasm_encoder::{
    BlockType, CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalType, ImportSection, Instruction as I, Module, TypeSection, ValType,
};

/// The names an adapter module imports and exports; the runtime supplies
/// the imports by these names when it instantiates one.
pub mod adapter_names {
    /// Import module of the flags slots.
    pub const FLAGS: &str = "flags";
    /// The caller's flags slot (in [`FLAGS`]).
    pub const CALLER_FLAGS: &str = "caller";
    /// The callee's flags slot (in [`FLAGS`]).
    pub const CALLEE_FLAGS: &str = "callee";
    /// Import module of the callee's core functions.
    pub const CALLEE: &str = "callee";
    /// The callee's core function (in [`CALLEE`]).
    pub const FUNC: &str = "func";
    /// The callee's post-return function (in [`CALLEE`]), when it has one.
    pub const POST_RETURN: &str = "post-return";
    /// Import module of the runtime's functions.
    pub const RUNTIME: &str = "tern";
    /// `trap(code, a, b)`: fails the call with the error of
    /// [`super::AdapterTrap`] `code` (never returns normally).
    pub const TRAP: &str = "trap";
    /// `enter()`: runs a deferred post-return of the component, if any (the
    /// only thing that can make a clear `may_enter` flag set again).
    pub const ENTER: &str = "enter";
    /// `resource_transfer_own(index, resource, from, to) -> index`: moves
    /// an own handle between two instances' tables (see `adapter_handles.rs`).
    pub const TRANSFER_OWN: &str = "resource_transfer_own";
    /// `resource_transfer_borrow(index, resource, from, to) -> index`: lends
    /// a handle of `from` to `to` for the current call.
    pub const TRANSFER_BORROW: &str = "resource_transfer_borrow";
    /// `resource_enter_call() -> depth`: opens the scope of a call that
    /// moves handles.
    pub const ENTER_CALL: &str = "resource_enter_call";
    /// `resource_exit_call(depth)`: closes it (lends end; a borrow the
    /// callee kept traps).
    pub const EXIT_CALL: &str = "resource_exit_call";
    /// The export: the lowered function.
    pub const EXPORT: &str = "adapter";
}

/// The reasons an adapter calls `tern.trap`, with the operands it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterTrap {
    /// The caller may not leave (`a`, `b` unused).
    CannotLeave,
    /// The callee may not be entered (`a`, `b` unused).
    CannotEnter,
    /// `a` is not a Unicode scalar value.
    InvalidChar,
    /// Discriminant `a` is out of range for `b` cases.
    InvalidDiscriminant,
}

impl AdapterTrap {
    const ALL: [AdapterTrap; 4] = [
        AdapterTrap::CannotLeave,
        AdapterTrap::CannotEnter,
        AdapterTrap::InvalidChar,
        AdapterTrap::InvalidDiscriminant,
    ];

    /// The code passed to `tern.trap`.
    pub fn code(self) -> i32 {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0) as i32
    }

    /// The trap of `code`, if it is one.
    pub fn from_code(code: i32) -> Option<Self> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

/// Builds an adapter for every component-to-component call that can be
/// compiled, records them in `info.adapters` (module numbers from
/// `first_module` on) and every other such call in `info.fused_calls`, and
/// returns the adapter modules' bytes in module order.
pub fn plan_adapters(info: &mut ComponentInfo, first_module: u32) -> Vec<Vec<u8>> {
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
            .map(|sig| sig.encode(&info.types, callee_options.post_return.is_some())),
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

/// A call that can be compiled: the types, and the flat core signatures.
struct Signature {
    params: Vec<InterfaceType>,
    result: Option<InterfaceType>,
    flat_params: Vec<ValType>,
    flat_result: Vec<ValType>,
    /// How resource handles move, when any cross.
    moves: Option<HandleMoves>,
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
        // Strings and lists are not compiled yet, so the string encodings
        // cannot matter (`not_compiled` refuses them below).
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
        let params: Vec<InterfaceType> = f.params.iter().map(|(_, t)| *t).collect();
        for t in params.iter().chain(&f.result) {
            if let Some(what) = not_compiled(types, *t) {
                return Err(format!("{what} crosses (not compiled yet)"));
            }
        }
        let mut has_handles = false;
        let pairs = f.params.iter().map(|(_, t)| *t).zip(g.params.iter().map(|(_, t)| *t));
        for (a, b) in pairs.chain(f.result.zip(g.result)) {
            has_handles |= check_handles(info, (caller, a), (callee, b))?;
        }
        let flat_params = types
            .flat_list(params.iter().copied(), MAX_FLAT_PARAMS)
            .ok_or("more than 16 flat parameters cross in memory (not compiled yet)")?;
        let flat_result = match f.result {
            None => Vec::new(),
            Some(r) => match types.flat(r) {
                Some(flat) if flat.len() <= MAX_FLAT_RESULTS => flat.to_vec(),
                _ => return Err("the result returns through memory (not compiled yet)".into()),
            },
        };
        let to_wasm = |fl: &[FlatType]| -> Vec<WasmValType> {
            fl.iter().map(|t| wasm_val_type(*t)).collect()
        };
        if *core_ty.params != *to_wasm(&flat_params) || *core_ty.results != *to_wasm(&flat_result) {
            return Err("the lowered core signature is not the flattened type (a Tern bug)".into());
        }
        let val_types = |fl: Vec<FlatType>| fl.into_iter().map(val_type).collect();
        let moves = has_handles.then(|| HandleMoves {
            resources: info
                .instance_resources
                .get(caller as usize)
                .cloned()
                .unwrap_or_default(),
            caller,
            callee,
            // Set by `encode` and `Body::adapter`.
            funcs: HandleFuncs {
                transfer_own: 0,
                transfer_borrow: 0,
                enter_call: 0,
                exit_call: 0,
            },
            returning: false,
            depth: 0,
        });
        Ok(Self {
            params,
            result: f.result,
            flat_params: val_types(flat_params),
            flat_result: val_types(flat_result),
            moves,
        })
    }

    /// Encodes the adapter module.
    fn encode(&self, types: &ComponentTypes, has_post_return: bool) -> Vec<u8> {
        use adapter_names as n;
        let i32_ = ValType::I32;
        let mut ty = TypeSection::new();
        // 0: the adapter and the callee's core function; 1: post-return;
        // 2: `tern.trap`; 3: `tern.enter`.
        ty.ty()
            .function(self.flat_params.clone(), self.flat_result.clone());
        ty.ty().function(self.flat_result.clone(), []);
        ty.ty().function([i32_, i32_, i32_], []);
        ty.ty().function([], []);
        // 4: a handle transfer; 5: entering a call; 6: leaving it.
        ty.ty().function([i32_; 4], [i32_]);
        ty.ty().function([], [i32_]);
        ty.ty().function([i32_], []);
        let flags = GlobalType {
            val_type: i32_,
            mutable: true,
            shared: false,
        };
        let mut imports = ImportSection::new();
        imports.import(n::CALLEE, n::FUNC, EntityType::Function(0));
        imports.import(n::RUNTIME, n::TRAP, EntityType::Function(2));
        imports.import(n::RUNTIME, n::ENTER, EntityType::Function(3));
        if has_post_return {
            imports.import(n::CALLEE, n::POST_RETURN, EntityType::Function(1));
        }
        let mut next_func = if has_post_return { 4 } else { 3 };
        let mut moves = self.moves.clone();
        if let Some(m) = &mut moves {
            for (name, ty) in [
                (n::TRANSFER_OWN, 4),
                (n::TRANSFER_BORROW, 4),
                (n::ENTER_CALL, 5),
                (n::EXIT_CALL, 6),
            ] {
                imports.import(n::RUNTIME, name, EntityType::Function(ty));
            }
            m.funcs = HandleFuncs {
                transfer_own: next_func,
                transfer_borrow: next_func + 1,
                enter_call: next_func + 2,
                exit_call: next_func + 3,
            };
            next_func += 4;
        }
        imports.import(n::FLAGS, n::CALLER_FLAGS, EntityType::Global(flags));
        imports.import(n::FLAGS, n::CALLEE_FLAGS, EntityType::Global(flags));
        let adapter_index = next_func;
        let mut funcs = FunctionSection::new();
        funcs.function(0);
        let mut exports = ExportSection::new();
        exports.export(n::EXPORT, ExportKind::Func, adapter_index);

        let nparams = self.flat_params.len() as u32;
        let mut body = Body {
            code: Vec::new(),
            first_local: nparams,
            locals: self.flat_result.clone(),
            moves,
        };
        body.adapter(self, types, nparams, has_post_return);
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
        module.finish()
    }
}

/// Function indices and global indices inside an adapter module.
const CALLEE_FUNC: u32 = 0;
const TRAP_FUNC: u32 = 1;
const ENTER_FUNC: u32 = 2;
const POST_RETURN_FUNC: u32 = 3;
const CALLER_FLAGS: u32 = 0;
const CALLEE_FLAGS: u32 = 1;

/// The adapter function's body under construction.
struct Body {
    code: Vec<I<'static>>,
    /// The index of the first local that is not a parameter.
    first_local: u32,
    /// The types of the locals that are not parameters.
    locals: Vec<ValType>,
    /// How resource handles move, when any cross.
    moves: Option<HandleMoves>,
}

impl Body {
    fn op(&mut self, i: I<'static>) -> &mut Self {
        self.code.push(i);
        self
    }

    /// A fresh local of type `t`.
    fn local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.first_local + self.locals.len() as u32 - 1
    }

    /// Lifts and lowers a variant-like value (variant, option, result) at
    /// `locals[*pos..]`: checks the discriminant, converts the case's
    /// payload (coerced from and back to the joined slot types), and zeroes
    /// the slots the case does not use, as lowering a lifted value would.
    fn convert_variant(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        locals: &[u32],
        pos: &mut usize,
    ) {
        let flat = types.flat(ty).unwrap_or(&[]);
        let slots: Vec<(u32, FlatType)> = flat[1..]
            .iter()
            .enumerate()
            .map(|(i, t)| (locals[*pos + 1 + i], *t))
            .collect();
        let disc = locals[*pos];
        *pos += flat.len();
        let cases = types.case_types(ty).to_vec();
        let n = cases.len() as i32;
        self.op(I::LocalGet(disc)).op(I::I32Const(n)).op(I::I32GeU);
        self.trap_if(AdapterTrap::InvalidDiscriminant, Some(disc), n);
        // block $end { block $case(n-1) … { block $case0 { br_table } case0 … }
        self.op(I::Block(BlockType::Empty));
        for _ in 0..cases.len() {
            self.op(I::Block(BlockType::Empty));
        }
        let targets: Vec<u32> = (0..cases.len() as u32).collect();
        self.op(I::LocalGet(disc)).op(I::BrTable(targets.into(), 0));
        for (i, case) in cases.iter().enumerate() {
            self.op(I::End);
            let case_flat: Vec<FlatType> = case
                .map(|t| types.flat(t).unwrap_or(&[]).to_vec())
                .unwrap_or_default();
            // Slot → the case's own flat types, in fresh locals.
            let temps: Vec<u32> = case_flat
                .iter()
                .zip(&slots)
                .map(|(want, (slot, have))| {
                    let temp = self.local(val_type(*want));
                    self.op(I::LocalGet(*slot));
                    self.coerce(*have, *want);
                    self.op(I::LocalSet(temp));
                    temp
                })
                .collect();
            if let Some(t) = case {
                let mut p = 0;
                self.convert(types, *t, &temps, &mut p);
            }
            // And back; unused slots become zero.
            for (j, (slot, have)) in slots.iter().enumerate() {
                match (temps.get(j), case_flat.get(j)) {
                    (Some(temp), Some(want)) => {
                        self.op(I::LocalGet(*temp));
                        self.coerce_back(*want, *have);
                    }
                    _ => {
                        self.zero(*have);
                    }
                }
                self.op(I::LocalSet(*slot));
            }
            // Branch to $end (the remaining blocks of later cases, then $end).
            self.op(I::Br((cases.len() - 1 - i) as u32));
        }
        self.op(I::End);
    }

    /// Converts the value on the stack from join slot type `have` to case
    /// flat type `want` (the canonical ABI's lift coercion).
    fn coerce(&mut self, have: FlatType, want: FlatType) {
        use FlatType as F;
        match (have, want) {
            _ if have == want => {}
            (F::I32, F::F32) => {
                self.op(I::F32ReinterpretI32);
            }
            (F::I64, F::I32) => {
                self.op(I::I32WrapI64);
            }
            (F::I64, F::F32) => {
                self.op(I::I32WrapI64).op(I::F32ReinterpretI32);
            }
            (F::I64, F::F64) => {
                self.op(I::F64ReinterpretI64);
            }
            _ => unreachable!("a join slot is never narrower than a case's type"),
        }
    }

    /// Converts the value on the stack from case flat type `want` back to
    /// join slot type `have` (the canonical ABI's lower coercion).
    fn coerce_back(&mut self, want: FlatType, have: FlatType) {
        use FlatType as F;
        match (want, have) {
            _ if have == want => {}
            (F::F32, F::I32) => {
                self.op(I::I32ReinterpretF32);
            }
            (F::I32, F::I64) => {
                self.op(I::I64ExtendI32U);
            }
            (F::F32, F::I64) => {
                self.op(I::I32ReinterpretF32).op(I::I64ExtendI32U);
            }
            (F::F64, F::I64) => {
                self.op(I::I64ReinterpretF64);
            }
            _ => unreachable!("a join slot is never narrower than a case's type"),
        }
    }

    /// Pushes zero of type `t`.
    fn zero(&mut self, t: FlatType) {
        match t {
            FlatType::I32 => self.op(I::I32Const(0)),
            FlatType::I64 => self.op(I::I64Const(0)),
            FlatType::F32 => self.op(I::F32Const(0.0.into())),
            FlatType::F64 => self.op(I::F64Const(0.0.into())),
        };
    }

    /// `if (top of stack) { trap(code, a, b) }`, with `a` from a local or 0.
    fn trap_if(&mut self, trap: AdapterTrap, a: Option<u32>, b: i32) {
        self.op(I::If(BlockType::Empty))
            .op(I::I32Const(trap.code()));
        match a {
            Some(local) => self.op(I::LocalGet(local)),
            None => self.op(I::I32Const(0)),
        };
        self.op(I::I32Const(b))
            .op(I::Call(TRAP_FUNC))
            .op(I::Unreachable)
            .op(I::End);
    }

    /// Pushes whether `bit` of flags global `g` is clear.
    fn flag_clear(&mut self, g: u32, bit: i32) {
        self.op(I::GlobalGet(g))
            .op(I::I32Const(bit))
            .op(I::I32And)
            .op(I::I32Eqz);
    }

    /// Sets (`on`) or clears `bit` of flags global `g`.
    fn set_flag(&mut self, g: u32, bit: i32, on: bool) {
        self.op(I::GlobalGet(g));
        if on {
            self.op(I::I32Const(bit)).op(I::I32Or);
        } else {
            self.op(I::I32Const(!bit)).op(I::I32And);
        }
        self.op(I::GlobalSet(g));
    }

    /// The whole adapter function.
    fn adapter(
        &mut self,
        sig: &Signature,
        types: &ComponentTypes,
        nparams: u32,
        has_post_return: bool,
    ) {
        // 1. The caller must be allowed to leave.
        self.flag_clear(CALLER_FLAGS, FLAG_MAY_LEAVE);
        self.trap_if(AdapterTrap::CannotLeave, None, 0);
        // Handles: the call's scope opens before any is lifted, as the fused
        // path's does.
        if let Some(mut m) = self.moves.take() {
            m.depth = self.local(ValType::I32);
            self.code.extend(m.enter());
            self.moves = Some(m);
        }
        // 2. Lift and lower the arguments, in place.
        let params: Vec<u32> = (0..nparams).collect();
        let mut pos = 0;
        for t in &sig.params {
            self.convert(types, *t, &params, &mut pos);
        }
        // 3. Enter the callee: a deferred post-return may set its flag again.
        self.flag_clear(CALLEE_FLAGS, FLAG_MAY_ENTER);
        self.op(I::If(BlockType::Empty)).op(I::Call(ENTER_FUNC));
        self.flag_clear(CALLEE_FLAGS, FLAG_MAY_ENTER);
        self.trap_if(AdapterTrap::CannotEnter, None, 0);
        self.op(I::End);
        self.set_flag(CALLEE_FLAGS, FLAG_MAY_ENTER, false);
        // 4. Call it, then lift and lower the result, in place.
        for p in &params {
            self.op(I::LocalGet(*p));
        }
        self.op(I::Call(CALLEE_FUNC));
        let results: Vec<u32> = (nparams..nparams + sig.flat_result.len() as u32).collect();
        for r in results.iter().rev() {
            self.op(I::LocalSet(*r));
        }
        // The post-return function takes the callee's results as they were.
        let raw_results = results.clone();
        if has_post_return {
            for r in &raw_results {
                self.op(I::LocalGet(*r));
            }
        }
        if let Some(m) = &mut self.moves {
            m.returning = true;
        }
        if let Some(r) = sig.result {
            let mut pos = 0;
            self.convert(types, r, &results, &mut pos);
        }
        // The scope closes once the result is lifted: lends end, and a
        // borrow the callee kept traps (before post-return, as fused).
        if let Some(m) = &self.moves {
            let exit = m.exit();
            self.code.extend(exit);
        }
        // 5. Post-return, with the callee's `may_leave` clear.
        if has_post_return {
            // Its arguments are already on the stack, under nothing else.
            self.set_flag(CALLEE_FLAGS, FLAG_MAY_LEAVE, false);
            self.op(I::Call(POST_RETURN_FUNC));
            self.set_flag(CALLEE_FLAGS, FLAG_MAY_LEAVE, true);
        }
        // 6. The callee may be entered again.
        self.set_flag(CALLEE_FLAGS, FLAG_MAY_ENTER, true);
        for r in &results {
            self.op(I::LocalGet(*r));
        }
        self.op(I::End);
    }

    /// Lifts a value of type `ty` from the flat locals at `locals[*pos..]`
    /// and lowers it back into them (the same flat shape on both sides).
    fn convert(
        &mut self,
        types: &ComponentTypes,
        ty: InterfaceType,
        locals: &[u32],
        pos: &mut usize,
    ) {
        use InterfaceType as T;
        let next = |pos: &mut usize| {
            let l = locals[*pos];
            *pos += 1;
            l
        };
        match ty {
            T::Bool => {
                let l = next(pos);
                self.op(I::LocalGet(l))
                    .op(I::I32Const(0))
                    .op(I::I32Ne)
                    .op(I::LocalSet(l));
            }
            T::U8 | T::U16 => {
                let l = next(pos);
                let mask = if ty == T::U8 { 0xff } else { 0xffff };
                self.op(I::LocalGet(l))
                    .op(I::I32Const(mask))
                    .op(I::I32And)
                    .op(I::LocalSet(l));
            }
            T::S8 | T::S16 => {
                // Sign-extend with shifts (no dependency on the sign-extension feature).
                let l = next(pos);
                let shift = if ty == T::S8 { 24 } else { 16 };
                self.op(I::LocalGet(l))
                    .op(I::I32Const(shift))
                    .op(I::I32Shl)
                    .op(I::I32Const(shift))
                    .op(I::I32ShrS)
                    .op(I::LocalSet(l));
            }
            T::S32 | T::U32 | T::S64 | T::U64 => {
                next(pos);
            }
            T::Float32 => {
                let l = next(pos);
                self.op(I::LocalGet(l))
                    .op(I::LocalGet(l))
                    .op(I::F32Ne)
                    .op(I::If(BlockType::Empty))
                    .op(I::I32Const(0x7fc0_0000))
                    .op(I::F32ReinterpretI32)
                    .op(I::LocalSet(l))
                    .op(I::End);
            }
            T::Float64 => {
                let l = next(pos);
                self.op(I::LocalGet(l))
                    .op(I::LocalGet(l))
                    .op(I::F64Ne)
                    .op(I::If(BlockType::Empty))
                    .op(I::I64Const(0x7ff8_0000_0000_0000))
                    .op(I::F64ReinterpretI64)
                    .op(I::LocalSet(l))
                    .op(I::End);
            }
            T::Char => {
                let l = next(pos);
                // Not below 0x110000, or a surrogate (0xD800..=0xDFFF).
                self.op(I::LocalGet(l))
                    .op(I::I32Const(0x11_0000))
                    .op(I::I32GeU)
                    .op(I::LocalGet(l))
                    .op(I::I32Const(0xFFFF_F800_u32 as i32))
                    .op(I::I32And)
                    .op(I::I32Const(0xD800))
                    .op(I::I32Eq)
                    .op(I::I32Or);
                self.trap_if(AdapterTrap::InvalidChar, Some(l), 0);
            }
            T::String => unreachable!("strings are not compiled (checked by `not_compiled`)"),
            T::Defined(_) => match types.def(ty) {
                Some(TypeDef::Record(fields)) => {
                    for (_, t) in fields {
                        self.convert(types, *t, locals, pos);
                    }
                }
                Some(TypeDef::Tuple(tys)) => {
                    for t in tys {
                        self.convert(types, *t, locals, pos);
                    }
                }
                Some(TypeDef::FixedList(elem, n)) => {
                    for _ in 0..*n {
                        self.convert(types, *elem, locals, pos);
                    }
                }
                Some(TypeDef::Enum(names)) => {
                    let l = next(pos);
                    let cases = names.len() as i32;
                    self.op(I::LocalGet(l)).op(I::I32Const(cases)).op(I::I32GeU);
                    self.trap_if(AdapterTrap::InvalidDiscriminant, Some(l), cases);
                }
                Some(TypeDef::Flags(names)) => {
                    let words = names.len().div_ceil(32);
                    for w in 0..words {
                        let l = next(pos);
                        let bits = (names.len() - w * 32).min(32);
                        if bits < 32 {
                            self.op(I::LocalGet(l))
                                .op(I::I32Const(((1u32 << bits) - 1) as i32))
                                .op(I::I32And)
                                .op(I::LocalSet(l));
                        }
                    }
                }
                Some(TypeDef::Variant(_) | TypeDef::Option(_) | TypeDef::Result { .. }) => {
                    self.convert_variant(types, ty, locals, pos);
                }
                Some(TypeDef::Own(_) | TypeDef::Borrow(_)) => {
                    let l = next(pos);
                    let code = match (&self.moves, handle(types, ty)) {
                        (Some(m), Some(h)) => m.transfer(h, l),
                        _ => unreachable!("a handle crosses only with `moves` (see `Signature::new`)"),
                    };
                    self.code.extend(code);
                }
                _ => unreachable!("type not compiled (checked by `not_compiled`)"),
            },
        }
    }
}

/// What kind of value of `ty` is not compiled yet, if any part of it is not.
fn not_compiled(types: &ComponentTypes, ty: InterfaceType) -> Option<&'static str> {
    if ty == InterfaceType::String {
        return Some("a string");
    }
    let InterfaceType::Defined(_) = ty else {
        return None;
    };
    match types.def(ty)? {
        TypeDef::Record(fields) => fields.iter().find_map(|(_, t)| not_compiled(types, *t)),
        TypeDef::Tuple(tys) => tys.iter().find_map(|t| not_compiled(types, *t)),
        TypeDef::FixedList(elem, _) => not_compiled(types, *elem),
        TypeDef::Enum(_) | TypeDef::Flags(_) => None,
        TypeDef::List(_) | TypeDef::Map(..) => Some("a list"),
        TypeDef::Variant(cases) => cases
            .iter()
            .filter_map(|(_, t)| *t)
            .find_map(|t| not_compiled(types, t)),
        TypeDef::Option(t) => not_compiled(types, *t),
        TypeDef::Result { ok, err } => ok.iter().chain(err).find_map(|t| not_compiled(types, *t)),
        TypeDef::Own(_) | TypeDef::Borrow(_) => None,
        TypeDef::Future(_) | TypeDef::Stream(_) | TypeDef::ErrorContext => Some("an async value"),
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

fn val_type(t: FlatType) -> ValType {
    match t {
        FlatType::I32 => ValType::I32,
        FlatType::I64 => ValType::I64,
        FlatType::F32 => ValType::F32,
        FlatType::F64 => ValType::F64,
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

//! Cranelift signatures for wasm functions and the host-facing calling conventions.
//!
//! Every wasm function takes `(callee_vmctx, caller_vmctx, params…)` and returns its
//! results in registers (or a return area Cranelift manages).

use cranelift_codegen::ir::{types, AbiParam, ArgumentPurpose, Signature, Type};
use cranelift_codegen::isa::CallConv;
use tern_environ::{WasmFuncType, WasmValType};

/// The Cranelift type a wasm value lives in.
pub(crate) fn ir_type(ty: WasmValType) -> Type {
    match ty {
        WasmValType::I32 => types::I32,
        WasmValType::I64 => types::I64,
        WasmValType::F32 => types::F32,
        WasmValType::F64 => types::F64,
        WasmValType::V128 => types::I8X16,
        WasmValType::Ref(_) => types::I64,
    }
}

/// The Cranelift type of a wasmparser value type, as validation reports it
/// (locals, block types). A reference is a pointer whatever it points to, so
/// the heap type (which the validator may give as its own canonical id) is
/// not looked at.
pub(crate) fn ir_type_of(ty: wasmparser::ValType) -> Type {
    match ty {
        wasmparser::ValType::I32 => types::I32,
        wasmparser::ValType::I64 => types::I64,
        wasmparser::ValType::F32 => types::F32,
        wasmparser::ValType::F64 => types::F64,
        wasmparser::ValType::V128 => types::I8X16,
        wasmparser::ValType::Ref(_) => types::I64,
    }
}

/// The signature of a compiled wasm function (or a wasm-to-host trampoline) of type `ty`.
pub(crate) fn wasm_signature(call_conv: CallConv, ty: &WasmFuncType) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(types::I64));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

/// `extern "C" fn(callee_vmctx, caller_vmctx, values: *mut ValRaw, func: *const u8)`:
/// the array-call entry from the host.
pub(crate) fn array_entry_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.extend([AbiParam::new(types::I64); 4]);
    sig
}

/// `extern "C" fn(host_ctx, caller_vmctx, values: *mut ValRaw, len: u64)`: the host
/// function entry a wasm-to-host trampoline calls.
pub(crate) fn host_entry_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.extend([AbiParam::new(types::I64); 4]);
    sig
}

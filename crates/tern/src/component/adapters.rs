//! Instantiating compiled component-to-component adapters (generated at
//! compile time by `tern_environ::component::plan_adapters`, compiled with
//! the component's static modules).
//!
//! An adapter is a core instance of its adapter module, whose imports are
//! the callee's core function and post-return function (already resolved
//! for its `canon lift`), both sides' memories and `realloc`s when values
//! cross in memory, the two flags slots of the component VMContext,
//! and two runtime functions made once per component instance: `tern.trap`
//! (turns an adapter's trap code into exactly the error the host-fused path
//! raises) and `tern.enter` (runs a deferred post-return, as every host
//! entry into a lifted function does first), the `tern.resource_*`
//! functions of `adapter_handles.rs` for adapters that move resource
//! handles, and, per adapter, the string transcoders it needs
//! (`transcoder.rs`: `tern.transcode-to-callee` and
//! `tern.transcode-to-caller`, which know both memories, the receiving
//! `realloc` and both encodings). Its export replaces the host closure a
//! `canon lower` would otherwise get.

use super::abi::string::{decode_bytes, too_long, StringRange};
use super::abi::val::guard_zero_sized;
use super::abi::{check_discriminant, lift_char, Content, Mode};
use super::adapter_handles::HandleRuntime;
use super::func::{cannot_enter, run_pending_post_return};
use super::instance::ResolvedOptions;
use super::transcoder;
use super::{trap, ComponentTrapKind};
use crate::func::HostFn;
use crate::store::StoreInner;
use crate::{Caller, Extern, StoreContextMut, ValRaw};
use anyhow::{bail, Context as _, Result};
use std::sync::Arc;
use tern_environ::component::{adapter_names as names, AdapterInfo, AdapterTrap, StringEncoding};
use tern_environ::{WasmFuncType, WasmValType};

/// The runtime functions adapters of one component instance import.
#[derive(Clone, Copy)]
pub(crate) struct AdapterRuntime {
    trap: crate::Func,
    enter: crate::Func,
    /// The `tern.resource_*` functions of adapters that move handles.
    handles: HandleRuntime,
}

impl AdapterRuntime {
    /// Makes `tern.trap` and `tern.enter` for component instance `ci`.
    pub(crate) fn new<T>(store: &mut StoreInner<T>, ci: usize) -> Self {
        let trap_fn: Arc<HostFn<T>> = Arc::new(|mut caller: Caller<'_, T>, raw: &mut [ValRaw]| {
            let (code, a, b) = (raw[0].get_i32(), raw[1].get_i32(), raw[2].get_i32());
            let memory = |caller: &mut Caller<'_, T>, name: &str| -> Result<Vec<u8>> {
                let range =
                    (a as u32 as usize)..(a as u32 as usize).saturating_add(b as u32 as usize);
                let m = caller
                    .get_export(name)
                    .and_then(Extern::into_memory)
                    .context("an adapter reports a string in a memory it lacks (a Tern bug)")?;
                m.data(&*caller)
                    .get(range)
                    .map(<[u8]>::to_vec)
                    .context("an adapter reports a string out of bounds (a Tern bug)")
            };
            let bytes = match AdapterTrap::from_code(code) {
                Some(AdapterTrap::InvalidUtf8InCaller) => {
                    Some(memory(&mut caller, names::CALLER_MEMORY_EXPORT)?)
                }
                Some(AdapterTrap::InvalidUtf8InCallee) => {
                    Some(memory(&mut caller, names::CALLEE_MEMORY_EXPORT)?)
                }
                _ => None,
            };
            adapter_trap(code, a as u32, b as u32, bytes.as_deref())
        });
        let trap_ty = WasmFuncType {
            params: Box::new([WasmValType::I32; 3]),
            results: Box::new([]),
        };
        let enter_fn: Arc<HostFn<T>> = Arc::new(move |caller: Caller<'_, T>, _: &mut [ValRaw]| {
            run_pending_post_return(caller.store, ci)
        });
        let enter_ty = WasmFuncType {
            params: Box::new([]),
            results: Box::new([]),
        };
        Self {
            trap: crate::Func::from_host_arc(store, trap_ty, trap_fn),
            enter: crate::Func::from_host_arc(store, enter_ty, enter_fn),
            handles: HandleRuntime::new(store, ci),
        }
    }
}

/// What a checked range holds, from an adapter's trap operand.
fn content(a: u32) -> Content {
    match a {
        0 => Content::String,
        1 => Content::List,
        _ => Content::Tuple,
    }
}

/// The error of adapter trap `code` with operands `a` and `b` (and, for an
/// invalid UTF-8 string, its bytes): the same error, made by the same
/// function, as the fused path's.
fn adapter_trap(code: i32, a: u32, b: u32, bytes: Option<&[u8]>) -> Result<()> {
    let utf8 = |bytes: &[u8]| StringRange {
        offset: 0,
        byte_len: bytes.len(),
        utf16: false,
        latin1: false,
    };
    match AdapterTrap::from_code(code) {
        Some(AdapterTrap::CannotLeave) => trap(
            ComponentTrapKind::CannotLeave,
            "cannot leave component instance",
        ),
        Some(AdapterTrap::CannotEnter) => Err(cannot_enter()),
        Some(AdapterTrap::InvalidChar) => {
            lift_char(a)?;
            bail!("an adapter reported the valid char {a:#x} as invalid (a Tern bug)")
        }
        Some(AdapterTrap::InvalidDiscriminant) => {
            check_discriminant(a, b as usize)?;
            bail!("an adapter reported discriminant {a} of {b} cases as invalid (a Tern bug)")
        }
        Some(AdapterTrap::Unaligned) => Err(Mode::Adapter.unaligned()),
        Some(AdapterTrap::OutOfBounds) => Err(Mode::Adapter.out_of_bounds(content(a))),
        Some(AdapterTrap::ReallocUnaligned) => Err(Mode::Adapter.realloc_unaligned()),
        Some(AdapterTrap::ReallocOutOfBounds) => {
            Err(Mode::Adapter.realloc_out_of_bounds(content(a)))
        }
        Some(AdapterTrap::AllocTooLarge) => trap(
            ComponentTrapKind::LengthOverflow,
            "allocation size does not fit in 32 bits",
        ),
        Some(AdapterTrap::StringTooLong) => too_long(u64::from(a) | u64::from(b) << 32),
        Some(AdapterTrap::ZeroSizedList) => {
            guard_zero_sized(0, a)?;
            bail!("an adapter reported {a} zero-sized elements as too many (a Tern bug)")
        }
        Some(AdapterTrap::InvalidUtf8InCaller | AdapterTrap::InvalidUtf8InCallee) => {
            let bytes = bytes.unwrap_or_default();
            decode_bytes(bytes, utf8(bytes))?;
            bail!("an adapter reported a valid UTF-8 string as invalid (a Tern bug)")
        }
        Some(AdapterTrap::InvalidUtf16) => {
            let unit = (a as u16).to_le_bytes();
            let range = StringRange {
                offset: 0,
                byte_len: 2,
                utf16: true,
                latin1: false,
            };
            decode_bytes(&unit, range)?;
            bail!("an adapter reported {a:#x} as an unpaired surrogate (a Tern bug)")
        }
        None => bail!("unknown adapter trap code {code} (a Tern bug)"),
    }
}

/// Instantiates `adapter` in component instance `ci` and returns the core
/// function that implements its lowered function.
///
/// # Errors
/// Fails when the callee is not lifted yet or the adapter module cannot be
/// instantiated (both Tern bugs: translation guarantees the order and types).
pub(crate) fn instantiate_adapter<T>(
    store: &mut StoreInner<T>,
    ci: usize,
    adapter: &AdapterInfo,
    runtime: AdapterRuntime,
    (caller, caller_encoding): (ResolvedOptions, StringEncoding),
) -> Result<crate::Func> {
    let data = &store.opaque.components.instances[ci];
    let lifted = data
        .lifted
        .get(adapter.lifted as usize)
        .context("an adapter's callee is not lifted yet (a Tern bug)")?;
    let module = data.component.inner.modules[adapter.module as usize].clone();
    let (func, post_return) = (lifted.func, lifted.post_return);
    let (callee_memory, callee_realloc) = (lifted.memory, lifted.realloc);
    let (callee_encoding, callee_rt) = (lifted.encoding, lifted.runtime_instance);
    let missing = || anyhow::anyhow!("an adapter imports a missing option (a Tern bug)");
    let (caller_flags, callee_flags) = (
        data.vmctx.flags_global(adapter.caller),
        data.vmctx.flags_global(adapter.callee),
    );
    let mut externs = Vec::new();
    for import in module.imports() {
        let item = match (import.module(), import.name()) {
            (names::CALLEE, names::FUNC) => Extern::Func(func),
            (names::CALLEE, names::POST_RETURN) => Extern::Func(
                post_return.context("an adapter imports a missing post-return (a Tern bug)")?,
            ),
            (names::RUNTIME, names::TRAP) => Extern::Func(runtime.trap),
            (names::RUNTIME, names::ENTER) => Extern::Func(runtime.enter),
            (names::CALLEE, names::MEMORY) => Extern::Memory(callee_memory.ok_or_else(missing)?),
            (names::CALLEE, names::REALLOC) => Extern::Func(callee_realloc.ok_or_else(missing)?),
            (names::CALLER, names::MEMORY) => Extern::Memory(caller.memory.ok_or_else(missing)?),
            (names::CALLER, names::REALLOC) => Extern::Func(caller.realloc.ok_or_else(missing)?),
            (names::RUNTIME, names::TRANSCODE_TO_CALLEE) => {
                let from = transcoder::From {
                    memory: caller.memory.ok_or_else(missing)?,
                    encoding: caller_encoding,
                };
                let to = transcoder::To {
                    memory: callee_memory.ok_or_else(missing)?,
                    realloc: callee_realloc.ok_or_else(missing)?,
                    encoding: callee_encoding,
                    owner: (ci, callee_rt),
                };
                Extern::Func(transcoder::transcode_func(store, from, to))
            }
            (names::RUNTIME, names::TRANSCODE_TO_CALLER) => {
                let from = transcoder::From {
                    memory: callee_memory.ok_or_else(missing)?,
                    encoding: callee_encoding,
                };
                let to = transcoder::To {
                    memory: caller.memory.ok_or_else(missing)?,
                    realloc: caller.realloc.ok_or_else(missing)?,
                    encoding: caller_encoding,
                    owner: (ci, adapter.caller),
                };
                Extern::Func(transcoder::transcode_func(store, from, to))
            }
            (names::RUNTIME, name) => {
                Extern::Func(runtime.handles.import(name).with_context(|| {
                    format!("an adapter imports unknown runtime function `{name}` (a Tern bug)")
                })?)
            }
            (names::FLAGS, names::CALLER_FLAGS) => Extern::Global(caller_flags),
            (names::FLAGS, names::CALLEE_FLAGS) => Extern::Global(callee_flags),
            (m, n) => bail!("an adapter imports unknown item `{m}::{n}` (a Tern bug)"),
        };
        externs.push(item);
    }
    let instance = crate::Instance::new(StoreContextMut(store), &module, &externs)
        .context("failed to instantiate a component adapter")?;
    instance
        .get_func(StoreContextMut(store), names::EXPORT)
        .context("an adapter module has no export (a Tern bug)")
}

//! The trampolines a store can use, gathered from the modules instantiated in it,
//! so that no call ever compiles anything.
//!
//! Every module carries, in its own text section (compiled with its functions,
//! stored in its artifact), an array-to-wasm trampoline for each signature of
//! its functions the host can reach and a wasm-to-host trampoline for each
//! signature of its type section (`tern_cranelift::needed_trampolines`).
//! Instantiating a module registers them here, by engine signature id, and
//! keeps the module alive for the store's lifetime, so the code stays mapped.
//!
//! **Host functions** (`Func::wrap`, `Func::new`, component lowerings) need no
//! compiler at all. Wasm functions use Cranelift's `tail` calling convention,
//! which no Rust function can have, so a host function is not called by wasm
//! directly: its `VMFuncRef` points at the wasm-to-host trampoline of the
//! *calling* module for its signature, which spills the arguments into an array
//! of `ValRaw`s and calls the host function's array-shaped entry
//! (`vm::host_func`). The per-signature native code is that entry, instantiated
//! by the Rust compiler for each closure type (`IntoFunc` per parameter/result
//! tuple, or the `Val` adapter of `Func::new`). The trampoline is filled in when
//! the host function is made if a module of the store already has one for the
//! signature, otherwise when the first such module is instantiated (before any
//! of its code runs). That is always in time: wasm can call a function only
//! through a signature its own module declares (an import's type, or the type of
//! a `call_indirect`/`call_ref`), and that module is instantiated in the same
//! store, with a trampoline for every type it declares.
//!
//! **Host calls of wasm functions** use the array-to-wasm trampoline of the
//! defining module: the host can only reach a wasm function that escaped
//! (export, table, global, `ref.func`), and those signatures are exactly the
//! ones its module carries. Host calls of host functions call the closure
//! directly, whatever their signature.

use crate::store::addr_hash::{AddrMap, AddrSet};
use crate::store::StoreOpaque;
use crate::vm::ArrayTrampoline;
use crate::Module;
use std::sync::Arc;

/// The trampolines of every module instantiated in one store.
#[derive(Default)]
pub(crate) struct StoreTrampolines {
    /// Array-to-wasm trampolines by engine signature id.
    array: AddrMap<u32, ArrayTrampoline>,
    /// Wasm-to-host trampoline addresses by engine signature id.
    host: AddrMap<u32, usize>,
    /// The modules whose code the addresses above point into, kept alive.
    modules: Vec<Module>,
    /// Addresses of the `ModuleInner`s in `modules`, to register each once.
    registered: AddrSet<usize>,
    /// Indices in `StoreOpaque::host_funcs` of host functions still waiting for
    /// a wasm-to-host trampoline.
    pending: Vec<usize>,
}

impl StoreTrampolines {
    /// The array-to-wasm trampoline for signature `type_id`, if a module of the
    /// store has one.
    pub(crate) fn array(&self, type_id: u32) -> Option<ArrayTrampoline> {
        self.array.get(&type_id).copied()
    }

    /// The wasm-to-host trampoline for signature `type_id`, if a module of the
    /// store has one.
    pub(crate) fn host(&self, type_id: u32) -> Option<*const u8> {
        self.host.get(&type_id).map(|addr| *addr as *const u8)
    }

    /// Notes that host function `index` has no wasm-to-host trampoline yet.
    pub(crate) fn wait_for_host_trampoline(&mut self, index: usize) {
        self.pending.push(index);
    }
}

impl StoreOpaque {
    /// Makes `module`'s trampolines available to the store (once per module)
    /// and gives host functions that were waiting for one theirs. Must run
    /// before any of the module's code does.
    pub(crate) fn register_module_trampolines(&mut self, module: &Module) {
        let t = &mut self.trampolines;
        if !t.registered.insert(Arc::as_ptr(&module.inner) as usize) {
            return;
        }
        t.modules.push(module.clone());
        for (type_id, code) in module.array_trampolines() {
            t.array.entry(type_id).or_insert(code);
        }
        for (type_id, code) in module.host_trampolines() {
            t.host.entry(type_id).or_insert(code);
        }
        let host_funcs = &self.host_funcs;
        let host = &t.host;
        t.pending
            .retain(|&index| match host.get(&host_funcs.type_id(index)) {
                Some(code) => {
                    host_funcs.set_wasm_call(index, *code as *const u8);
                    false
                }
                None => true,
            });
    }
}

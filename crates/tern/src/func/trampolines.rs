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

/// One module's trampolines by engine signature id, built once per module
/// (`Module::trampoline_maps`) and shared by every store it is instantiated in.
#[derive(Debug, Default, Clone)]
pub(crate) struct TrampolineMaps {
    /// Array-to-wasm trampoline addresses.
    array: AddrMap<u32, usize>,
    /// Wasm-to-host trampoline addresses.
    host: AddrMap<u32, usize>,
}

impl TrampolineMaps {
    /// The maps of `module` (the first trampoline of a signature wins).
    pub(crate) fn of(module: &Module) -> Self {
        let mut maps = Self::default();
        maps.add(module);
        maps
    }

    /// Adds the trampolines of `module` for signatures not in the maps yet.
    fn add(&mut self, module: &Module) {
        for (type_id, code) in module.array_trampolines() {
            self.array.entry(type_id).or_insert(code.0 as usize);
        }
        for (type_id, code) in module.host_trampolines() {
            self.host.entry(type_id).or_insert(code);
        }
    }
}

/// The trampolines of every module instantiated in one store. While the
/// store has one module, lookups use that module's own maps, so a new store
/// builds no map of its own.
#[derive(Default)]
pub(crate) struct StoreTrampolines {
    /// The first module instantiated in the store.
    first: Option<Module>,
    /// The other modules, whose code the addresses may point into, kept alive.
    rest: Vec<Module>,
    /// Addresses of the `ModuleInner`s in `rest`, to register each once.
    registered: AddrSet<usize>,
    /// Every module's trampolines, once there is more than one module.
    merged: Option<Box<TrampolineMaps>>,
    /// Indices in `StoreOpaque::host_funcs` of host functions still waiting for
    /// a wasm-to-host trampoline.
    pending: Vec<usize>,
}

impl StoreTrampolines {
    fn maps(&self) -> Option<&TrampolineMaps> {
        match &self.merged {
            Some(merged) => Some(merged),
            None => self.first.as_ref().map(Module::trampoline_maps),
        }
    }

    /// The array-to-wasm trampoline for signature `type_id`, if a module of the
    /// store has one.
    pub(crate) fn array(&self, type_id: u32) -> Option<ArrayTrampoline> {
        let code = *self.maps()?.array.get(&type_id)?;
        Some(ArrayTrampoline(code as *const u8))
    }

    /// The wasm-to-host trampoline for signature `type_id`, if a module of the
    /// store has one.
    pub(crate) fn host(&self, type_id: u32) -> Option<*const u8> {
        let code = *self.maps()?.host.get(&type_id)?;
        Some(code as *const u8)
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
        match &t.first {
            None => t.first = Some(module.clone()),
            Some(first) => {
                let key = Arc::as_ptr(&module.inner) as usize;
                if Arc::ptr_eq(&first.inner, &module.inner) || !t.registered.insert(key) {
                    return;
                }
                let merged = t
                    .merged
                    .get_or_insert_with(|| Box::new(first.trampoline_maps().clone()));
                merged.add(module);
                t.rest.push(module.clone());
            }
        }
        if t.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut t.pending);
        let host_funcs = &self.host_funcs;
        pending.retain(|&index| match t.host(host_funcs.type_id(index)) {
            Some(code) => {
                host_funcs.set_wasm_call(index, code);
                false
            }
            None => true,
        });
        t.pending = pending;
    }
}

//! `Linker::module`, with wasmtime's WASI conventions for the two kinds of
//! modules:
//!
//! * a **command** (it exports `_start`) is a program run once per call: each
//!   of its exported functions is defined as a host function that instantiates
//!   the module afresh (with the linker's definitions at the time `module` was
//!   called) and calls that export of the new instance;
//! * a **reactor** (anything else) is instantiated once, its `_initialize`
//!   export (if any) is called, and all its exports are defined.

use super::Linker;
use crate::vm::HostFuncDef;
use crate::{AsContextMut, Extern, ExternType, Module};
use anyhow::{bail, Context as _, Result};

/// Whether `module` is a command (it exports a function `_start`).
pub(super) fn is_command(module: &Module) -> bool {
    module
        .exports()
        .any(|e| e.name() == "_start" && matches!(e.ty(), ExternType::Func(_)))
}

impl<T> Linker<T> {
    /// Whether a command module may have exports other than functions (and
    /// `memory` / `__indirect_function_table`), which `Linker::module` then
    /// ignores (default: no, such a module is refused).
    pub fn allow_unknown_exports(&mut self, allow: bool) -> &mut Self {
        self.allow_unknown_exports = allow;
        self
    }

    /// Defines the exports of `module` under `module_name`, as a command or a
    /// reactor (see the file's notes): a command's functions instantiate it
    /// afresh on every call, a reactor is instantiated (and initialised) now.
    ///
    /// # Errors
    /// Fails when a name is already defined and shadowing is off; for a
    /// reactor, when instantiating it or its `_initialize` fails; for a
    /// command, when it exports something other than a function (unless
    /// [`Linker::allow_unknown_exports`]).
    ///
    /// `T: 'static` (as in wasmtime 12): a command's functions are host
    /// closures that keep the pre-instantiated module, whose definitions are
    /// typed by `T`, and a host closure may keep only `'static` state.
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self>
    where
        T: 'static,
    {
        if is_command(module) {
            return self.command(module_name, module);
        }
        let instance = self.instantiate(&mut store, module)?;
        if let Some(init) = instance.get_export(&mut store, "_initialize") {
            let Extern::Func(init) = init else {
                bail!("`_initialize` in `{module_name}` is not a function");
            };
            init.typed::<(), ()>(&store)
                .context("`_initialize` must take and return nothing")?
                .call(&mut store, ())?;
        }
        self.instance(store, module_name, instance)
    }

    /// Defines a command's exports (see the file's notes).
    pub(super) fn command(&mut self, module_name: &str, module: &Module) -> Result<&mut Self>
    where
        T: 'static,
    {
        // The definitions as they are now: later ones do not reach the command.
        let pre = self.instantiate_pre(module)?;
        for export in module.exports() {
            let name = export.name().to_string();
            match export.ty() {
                ExternType::Func(ty) => {
                    let pre = pre.clone();
                    let export_name = name.clone();
                    let host = crate::func::dynamic_host_fn(
                        ty.ty.clone(),
                        move |mut caller: crate::Caller<'_, T>, params, results| {
                            let instance = pre.instantiate(&mut caller)?;
                            let func = instance
                                .get_func(&mut caller, &export_name)
                                .context("command export disappeared")?;
                            func.call(&mut caller, params, results)
                        },
                    );
                    let def = self.host_func(ty, HostFuncDef::from_arc(host));
                    self.insert(module_name, &name, def)?;
                }
                ExternType::Memory(_) if name == "memory" => {}
                ExternType::Table(_) if name == "__indirect_function_table" => {}
                _ if self.allow_unknown_exports => {}
                other => bail!("command export `{name}` is not a function (it is a {other})"),
            }
        }
        Ok(self)
    }
}

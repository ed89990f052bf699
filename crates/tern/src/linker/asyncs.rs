//! The async side of linking and instantiation: `Linker::func_wrap_async`
//! (and wasmtime 12's `func_wrap0_async` … `func_wrap16_async`, generated in
//! `func/wrap_async.rs`), `Linker::func_new_async`, `Linker::module_async`,
//! `Linker::instantiate_async`, `InstancePre::instantiate_async` and
//! `Instance::new_async` (see `func/asyncs.rs` for how async calls run).

use super::{InstancePre, Linker};
use crate::func::{Caller, WasmResults, WasmRet};
use crate::store::StoreContextMut;
use crate::vm::HostFuncDef;
use crate::{vm, AsContextMut, Extern, FuncType, Instance, Module};
use anyhow::{bail, Context as _, Result};
use std::future::Future;
use std::pin::Pin;

impl<T> Linker<T> {
    /// Defines `module::name` as a host function whose body is a future: the
    /// closure takes the [`Caller`] and the parameters as a tuple (`()`, `(i32,)`,
    /// `(i32, i64)`, …) and returns a boxed future of the results (`R` or
    /// `Result<R>`), polled on the calling wasm's fiber.
    ///
    /// # Errors
    /// Fails when the engine was not configured with `Config::async_support`,
    /// and when the name is already defined and shadowing is off.
    pub fn func_wrap_async<F, Params, Args>(
        &mut self,
        module: &str,
        name: &str,
        func: F,
    ) -> Result<&mut Self>
    where
        F: for<'a> Fn(Caller<'a, T>, Params) -> Box<dyn Future<Output = Args> + Send + 'a>
            + Send
            + Sync
            + 'static,
        Params: WasmResults,
        Args: WasmRet,
    {
        if !self.engine.config().async_support {
            bail!("cannot use `func_wrap_async` without enabling async support in the config");
        }
        let (ty, host) = crate::func::async_host_fn(func);
        let def = self.host_func(ty, HostFuncDef::new(host));
        self.insert(module, name, def)?;
        Ok(self)
    }

    /// Defines `module::name` as a host function of type `ty` whose body is a
    /// future over dynamic [`Val`](crate::Val)s (the async form of
    /// [`Linker::func_new`]), polled on the calling wasm's fiber.
    ///
    /// # Errors
    /// Fails when the engine was not configured with `Config::async_support`,
    /// and when the name is already defined and shadowing is off.
    pub fn func_new_async<F>(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: F,
    ) -> Result<&mut Self>
    where
        F: for<'a> Fn(
                Caller<'a, T>,
                &'a [crate::Val],
                &'a mut [crate::Val],
            ) -> Box<dyn Future<Output = Result<()>> + Send + 'a>
            + Send
            + Sync
            + 'static,
    {
        if !self.engine.config().async_support {
            bail!("cannot use `func_new_async` without enabling async support in the config");
        }
        self.func_new(module, name, ty, move |caller, params, results| {
            let acx = caller.store.opaque.async_cx.ptr();
            acx.block_on(Pin::from(func(caller, params, results)))?
        })
    }

    /// [`Linker::module`] for async stores: a reactor is instantiated with
    /// [`Linker::instantiate_async`] and its `_initialize` called with
    /// `call_async`; a command's functions instantiate it afresh on each call,
    /// on the calling async call's fiber (where async host functions it
    /// imports can be awaited).
    ///
    /// # Errors
    /// Fails as [`Linker::module`] does, and when the engine was not
    /// configured with `Config::async_support`.
    pub async fn module_async(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self>
    where
        T: Send + 'static,
    {
        store.as_context_mut().0.opaque.check_async_entry()?;
        if super::command::is_command(module) {
            return self.command(module_name, module);
        }
        let instance = self.instantiate_async(&mut store, module).await?;
        if let Some(init) = instance.get_export(&mut store, "_initialize") {
            let Extern::Func(init) = init else {
                bail!("`_initialize` in `{module_name}` is not a function");
            };
            init.typed::<(), ()>(&store)
                .context("`_initialize` must take and return nothing")?
                .call_async(&mut store, ())
                .await?;
        }
        self.instance(store, module_name, instance)
    }

    /// Instantiates `module` on a fiber, resolving imports by name (see
    /// [`Linker::instantiate`]); the start function may call async host
    /// functions.
    ///
    /// # Errors
    /// Fails as [`Linker::instantiate`] does, and when the engine was not
    /// configured with `Config::async_support`.
    pub async fn instantiate_async(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance>
    where
        T: Send,
    {
        self.instantiate_pre(module)?.instantiate_async(store).await
    }
}

impl<T> InstancePre<T> {
    /// Instantiates the module on a fiber (see [`Instance::new_async`]).
    ///
    /// # Errors
    /// Fails as [`InstancePre::instantiate`] does, and when the engine was not
    /// configured with `Config::async_support`.
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> Result<Instance>
    where
        T: Send,
    {
        store.as_context_mut().0.opaque.check_async_entry()?;
        let imports: Vec<Extern> = self
            .defs
            .iter()
            .map(|def| def.to_extern(&mut store))
            .collect();
        Instance::new_async(store, &self.module, &imports).await
    }
}

impl Instance {
    /// Instantiates `module` on a fiber, so that its start function may call
    /// async host functions (see `Func::call_async`).
    ///
    /// # Errors
    /// Fails as [`Instance::new`] does, and when the engine was not configured
    /// with `Config::async_support`.
    pub async fn new_async<T: Send>(
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        vm::fiber::on_fiber(store, move |store| {
            Instance::new(StoreContextMut(store), module, imports)
        })?
        .await?
    }
}

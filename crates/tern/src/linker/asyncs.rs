//! The async side of linking and instantiation: `Linker::func_wrap_async`,
//! `Linker::func_new_async`,
//! `Linker::instantiate_async`, `InstancePre::instantiate_async` and
//! `Instance::new_async` (see `func/asyncs.rs` for how async calls run).

use super::{InstancePre, Linker};
use crate::func::{Caller, WasmParams, WasmResults, WasmRet};
use crate::store::StoreContextMut;
use crate::vm::HostFuncDef;
use crate::{vm, AsContextMut, Extern, FuncType, Instance, Module, ValRaw};
use anyhow::{bail, Result};
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
        let ty = FuncType::new(Params::valtypes(), Args::Results::valtypes());
        let host = move |mut caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
            let params = Params::load_raw(&mut caller.store.opaque, raw);
            let acx = caller.store.opaque.async_cx.ptr();
            let future = Pin::from(func(caller.reborrow(), params));
            let results = acx.block_on(future)?.into_result()?;
            results.store_raw(&mut caller.store.opaque, raw)
        };
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

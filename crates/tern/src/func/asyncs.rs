//! The async call API (`Config::async_support`): `Func::call_async`,
//! `TypedFunc::call_async` and `Func::new_async`, plus the checks that keep
//! the synchronous and async entry points apart.
//!
//! An async call runs the ordinary synchronous call on a fiber
//! (`vm::fiber::on_fiber`); inside it, the synchronous entry points are
//! allowed (the fiber is what makes them safe to suspend), outside they are an
//! error on an async engine. Async host functions poll their future on the
//! fiber (`AsyncCxPtr::block_on`), suspending it while the future is pending.

use super::{Caller, Func, TypedFunc, WasmParams, WasmResults};
use crate::store::{StoreContextMut, StoreOpaque};
use crate::{vm, AsContextMut, FuncType, Val};
use anyhow::{bail, Result};
use std::future::Future;
use std::pin::Pin;

impl StoreOpaque {
    /// Whether the engine was configured with `Config::async_support`.
    pub(crate) fn async_support(&self) -> bool {
        self.engine.config().async_support
    }

    /// Errors when a synchronous entry point is used on an async engine
    /// outside of an async call.
    #[inline]
    pub(crate) fn check_sync_entry(&self) -> Result<()> {
        if self.async_support() && !self.async_cx.on_fiber() {
            bail!(
                "must use `call_async` (or `instantiate_async`) when async support \
                 is enabled on the config"
            );
        }
        Ok(())
    }

    /// Errors when an async entry point is used without `Config::async_support`.
    pub(crate) fn check_async_entry(&self) -> Result<()> {
        if !self.async_support() {
            bail!("must enable `Config::async_support` to use the async API (`call_async`, `instantiate_async`, ...)");
        }
        Ok(())
    }
}

impl Func {
    /// Calls the function on a fiber: when wasm calls an async host function
    /// whose future is pending, the returned future is pending too, and the
    /// call resumes when it is polled again.
    ///
    /// Dropping the future before it completes cancels the call: the pending
    /// host future is dropped, wasm unwinds as if the host function had
    /// returned an error, and the store stays usable.
    ///
    /// # Errors
    /// Fails as [`Func::call`] does, and when the engine was not configured
    /// with `Config::async_support`.
    ///
    /// # Panics
    /// A host function's panic resumes in the `poll` that ran it.
    pub async fn call_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let func = *self;
        vm::fiber::on_fiber(store, move |store| {
            func.call(StoreContextMut(store), params, results)
        })?
        .await?
    }

    /// Defines a host function with a dynamic signature whose body is a
    /// future, polled on the calling wasm's fiber.
    ///
    /// Calling it from wasm entered through a synchronous entry point is an
    /// error (the call traps with it), as is using it in an engine without
    /// `Config::async_support` (which has only synchronous entry points).
    pub fn new_async<T, F>(store: impl AsContextMut<Data = T>, ty: FuncType, func: F) -> Func
    where
        F: for<'a> Fn(
                Caller<'a, T>,
                &'a [Val],
                &'a mut [Val],
            ) -> Box<dyn Future<Output = Result<()>> + Send + 'a>
            + Send
            + Sync
            + 'static,
    {
        Func::new(store, ty, move |caller, params, results| {
            let acx = caller.store.opaque.async_cx.ptr();
            acx.block_on(Pin::from(func(caller, params, results)))?
        })
    }
}

impl<Params: WasmParams, Results: WasmResults + Send> TypedFunc<Params, Results> {
    /// Calls the function on a fiber, as [`Func::call_async`].
    ///
    /// # Errors
    /// Fails as [`TypedFunc::call`] does, and when the engine was not
    /// configured with `Config::async_support`.
    pub async fn call_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: Params,
    ) -> Result<Results> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let func = *self;
        vm::fiber::on_fiber(store, move |store| {
            func.call(StoreContextMut(store), params)
        })?
        .await?
    }
}

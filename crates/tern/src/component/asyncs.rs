//! The async component API: `LinkerInstance::func_wrap_async`,
//! `Linker::instantiate_async`, `InstancePre::instantiate_async`,
//! `Func::call_async` / `post_return_async`, `TypedFunc::call_async` /
//! `post_return_async` and `ResourceAny::resource_drop_async`. Each runs its synchronous twin on a fiber, exactly as
//! the core async API does (see `func/asyncs.rs`).

use super::{Component, ComponentNamedList, Func, Instance, InstancePre, Lift, Linker};
use super::{LinkerInstance, Lower, ResourceAny, TypedFunc, Val};
use crate::{vm, AsContextMut, StoreContextMut};
use anyhow::Result;
use std::future::Future;
use std::pin::Pin;

impl<T> LinkerInstance<'_, T> {
    /// Defines `name` as a host function whose body is a future (see
    /// [`LinkerInstance::func_wrap`]), polled on the calling wasm's fiber.
    /// Called from wasm that was not entered through an async entry point
    /// (which needs `Config::async_support`), it fails the call with an error.
    ///
    /// # Errors
    /// Fails when `name` is already defined and shadowing is off.
    pub fn func_wrap_async<Params, Return, F>(&mut self, name: &str, func: F) -> Result<()>
    where
        F: for<'a> Fn(
                StoreContextMut<'a, T>,
                Params,
            ) -> Box<dyn Future<Output = Result<Return>> + Send + 'a>
            + Send
            + Sync
            + 'static,
        Params: ComponentNamedList + Lift + 'static,
        Return: ComponentNamedList + Lower + 'static,
    {
        self.func_wrap(
            name,
            move |store: StoreContextMut<'_, T>, params: Params| {
                let acx = store.0.opaque.async_cx.ptr();
                acx.block_on(Pin::from(func(store, params)))?
            },
        )
    }
}

impl<T> Linker<T> {
    /// Instantiates `component` on a fiber, so that its start functions may
    /// call async host functions.
    ///
    /// # Errors
    /// As [`Linker::instantiate`], and when the engine was not configured with
    /// `Config::async_support`.
    pub async fn instantiate_async(
        &self,
        store: impl AsContextMut<Data = T>,
        component: &Component,
    ) -> Result<Instance>
    where
        T: Send,
    {
        self.instantiate_pre(component)?
            .instantiate_async(store)
            .await
    }
}

impl<T> InstancePre<T> {
    /// Instantiates the component on a fiber (see [`Linker::instantiate_async`]).
    ///
    /// # Errors
    /// As [`InstancePre::instantiate`], and when the engine was not configured
    /// with `Config::async_support`.
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> Result<Instance>
    where
        T: Send,
    {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        vm::fiber::on_fiber(store, |store| self.instantiate(StoreContextMut(store)))?.await?
    }
}

impl Func {
    /// Calls the function on a fiber (see [`Func::call`] and the core
    /// `Func::call_async`).
    ///
    /// # Errors
    /// As [`Func::call`], and when the engine was not configured with
    /// `Config::async_support`.
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

    /// Runs the pending post-return function on a fiber (see
    /// [`Func::post_return`]).
    ///
    /// # Errors
    /// As [`Func::post_return`], and when the engine was not configured with
    /// `Config::async_support`.
    pub async fn post_return_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let func = *self;
        vm::fiber::on_fiber(store, move |store| func.post_return(StoreContextMut(store)))?.await?
    }
}

impl<Params, Results> TypedFunc<Params, Results>
where
    Params: ComponentNamedList + Lower + Send + Sync,
    Results: ComponentNamedList + Lift + Send + Sync,
{
    /// Calls the function on a fiber (see [`TypedFunc::call`]).
    ///
    /// # Errors
    /// As [`TypedFunc::call`], and when the engine was not configured with
    /// `Config::async_support`.
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

    /// Runs the pending post-return function on a fiber (see
    /// [`TypedFunc::post_return`]).
    ///
    /// # Errors
    /// As [`TypedFunc::post_return`], and when the engine was not configured
    /// with `Config::async_support`.
    pub async fn post_return_async<T: Send>(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let func = *self;
        vm::fiber::on_fiber(store, move |store| func.post_return(StoreContextMut(store)))?.await?
    }
}

impl ResourceAny {
    /// Drops the resource on a fiber (see [`ResourceAny::resource_drop`]), so
    /// that a guest destructor may run in a store with async support.
    ///
    /// # Errors
    /// As [`ResourceAny::resource_drop`], and when the engine was not
    /// configured with `Config::async_support`.
    pub async fn resource_drop_async<T: Send>(
        self,
        mut store: impl AsContextMut<Data = T>,
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store.opaque.check_async_entry()?;
        vm::fiber::on_fiber(store, move |store| {
            self.resource_drop(StoreContextMut(store))
        })?
        .await?
    }
}

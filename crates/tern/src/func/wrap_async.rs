//! Host functions whose body is a future, with statically typed parameters:
//! `Func::wrap_async` (later wasmtime's shape, parameters as one tuple) and
//! wasmtime 12's per-arity `Func::wrap0_async` … `wrap16_async` and
//! `Linker::func_wrap0_async` … `func_wrap16_async` (parameters as separate
//! closure arguments), which all build the same host function
//! ([`async_host_fn`]). The future is polled on the calling wasm's fiber
//! (`AsyncCxPtr::block_on`); called outside an async call, the function fails
//! with an error (the calling wasm traps with it).

use super::{Caller, Func, WasmParams, WasmResults, WasmRet, WasmTy};
use crate::{AsContextMut, FuncType, Linker, ValRaw};
use anyhow::Result;
use std::future::Future;
use std::pin::Pin;

/// The type and host closure of an async host function taking `Params` (a
/// tuple) and returning a future of `R`.
pub(crate) fn async_host_fn<T, F, Params, R>(
    func: F,
) -> (
    FuncType,
    impl Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
)
where
    F: for<'a> Fn(Caller<'a, T>, Params) -> Box<dyn Future<Output = R> + Send + 'a>
        + Send
        + Sync
        + 'static,
    Params: WasmResults,
    R: WasmRet,
{
    let ty = FuncType::new(Params::valtypes(), R::Results::valtypes());
    let host = move |mut caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
        let params = Params::load_raw(&mut caller.store.opaque, raw);
        let acx = caller.store.opaque.async_cx.ptr();
        let future = Pin::from(func(caller.reborrow(), params));
        let results = acx.block_on(future)?.into_result()?;
        results.store_raw(&mut caller.store.opaque, raw)
    };
    (ty, host)
}

impl Func {
    /// Defines a host function whose body is a future: the closure takes the
    /// [`Caller`] and the parameters as a tuple (`()`, `(i32,)`, …) and
    /// returns a boxed future of the results (`R` or `Result<R>`), polled on
    /// the calling wasm's fiber (later wasmtime's API; wasmtime 12 spells it
    /// `wrap0_async` … `wrap16_async`, which Tern has too).
    ///
    /// Calling it outside an async call (`call_async`, …) is an error.
    pub fn wrap_async<T, F, Params, R>(mut store: impl AsContextMut<Data = T>, func: F) -> Func
    where
        F: for<'a> Fn(Caller<'a, T>, Params) -> Box<dyn Future<Output = R> + Send + 'a>
            + Send
            + Sync
            + 'static,
        Params: WasmResults,
        R: WasmRet,
    {
        let (ty, host) = async_host_fn(func);
        Self::from_host_fn(store.as_context_mut().0, ty.ty, host)
    }
}

/// Generates wasmtime 12's per-arity async wrappers on top of the tuple form.
macro_rules! wrap_n_async {
    ($($wrap:ident $func_wrap:ident ($($a:ident),*);)*) => {$(
        impl Func {
            /// [`Func::wrap_async`] with the parameters as separate closure
            /// arguments (wasmtime 12's API).
            #[allow(non_snake_case, reason = "parameters are named after their types")]
            pub fn $wrap<T, $($a: WasmTy,)* R: WasmRet>(
                store: impl AsContextMut<Data = T>,
                func: impl for<'a> Fn(Caller<'a, T>, $($a),*) -> Box<dyn Future<Output = R> + Send + 'a>
                    + Send
                    + Sync
                    + 'static,
            ) -> Func {
                Func::wrap_async(store, move |caller: Caller<'_, T>, ($($a,)*): ($($a,)*)| {
                    func(caller, $($a),*)
                })
            }
        }

        impl<T> Linker<T> {
            /// [`Linker::func_wrap_async`] with the parameters as separate
            /// closure arguments (wasmtime 12's API).
            ///
            /// # Errors
            /// As [`Linker::func_wrap_async`].
            #[allow(non_snake_case, reason = "parameters are named after their types")]
            pub fn $func_wrap<$($a: WasmTy,)* R: WasmRet>(
                &mut self,
                module: &str,
                name: &str,
                func: impl for<'a> Fn(Caller<'a, T>, $($a),*) -> Box<dyn Future<Output = R> + Send + 'a>
                    + Send
                    + Sync
                    + 'static,
            ) -> Result<&mut Self> {
                self.func_wrap_async(module, name, move |caller: Caller<'_, T>, ($($a,)*): ($($a,)*)| {
                    func(caller, $($a),*)
                })
            }
        }
    )*};
}

wrap_n_async! {
    wrap0_async func_wrap0_async ();
    wrap1_async func_wrap1_async (A1);
    wrap2_async func_wrap2_async (A1, A2);
    wrap3_async func_wrap3_async (A1, A2, A3);
    wrap4_async func_wrap4_async (A1, A2, A3, A4);
    wrap5_async func_wrap5_async (A1, A2, A3, A4, A5);
    wrap6_async func_wrap6_async (A1, A2, A3, A4, A5, A6);
    wrap7_async func_wrap7_async (A1, A2, A3, A4, A5, A6, A7);
    wrap8_async func_wrap8_async (A1, A2, A3, A4, A5, A6, A7, A8);
    wrap9_async func_wrap9_async (A1, A2, A3, A4, A5, A6, A7, A8, A9);
    wrap10_async func_wrap10_async (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
    wrap11_async func_wrap11_async (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
    wrap12_async func_wrap12_async (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
    wrap13_async func_wrap13_async (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
    wrap14_async func_wrap14_async (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
    wrap15_async func_wrap15_async (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15);
    wrap16_async func_wrap16_async (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16);
}

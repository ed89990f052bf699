//! The statically typed layer over the array calling convention: Rust types that
//! are wasm values ([`WasmTy`]), lists of them ([`WasmParams`], [`WasmResults`]),
//! [`TypedFunc`] for calling wasm without boxing, and [`IntoFunc`] for turning
//! closures into host functions (`Func::wrap`).

use super::{Caller, Func};
use crate::store::StoreOpaque;
use crate::{AsContextMut, FuncType, ValRaw, ValType};
use anyhow::{bail, Result};
use std::marker::PhantomData;
use tern_environ::{WasmFuncType, WasmValType};

/// A Rust type that is a single wasm value.
pub trait WasmTy: Send + Sized + 'static {
    /// The wasm type.
    fn valtype() -> ValType;
    #[doc(hidden)]
    fn to_raw(self, store: &mut StoreOpaque) -> Result<ValRaw>;
    #[doc(hidden)]
    fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self;
}

macro_rules! numeric_wasm_ty {
    ($($t:ty => $vt:ident, $to:expr, $from:expr;)*) => {$(
        impl WasmTy for $t {
            fn valtype() -> ValType {
                ValType::$vt
            }
            fn to_raw(self, _: &mut StoreOpaque) -> Result<ValRaw> {
                Ok(($to)(self))
            }
            fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
                ($from)(raw)
            }
        }
    )*};
}

numeric_wasm_ty! {
    i32 => I32, ValRaw::i32, |r: ValRaw| r.get_i32();
    u32 => I32, |v: u32| ValRaw::i32(v as i32), |r: ValRaw| r.get_i32() as u32;
    i64 => I64, ValRaw::i64, |r: ValRaw| r.get_i64();
    u64 => I64, |v: u64| ValRaw::i64(v as i64), |r: ValRaw| r.get_i64() as u64;
    f32 => F32, |v: f32| ValRaw::f32(v.to_bits()), |r: ValRaw| f32::from_bits(r.get_f32());
    f64 => F64, |v: f64| ValRaw::f64(v.to_bits()), |r: ValRaw| f64::from_bits(r.get_f64());
}

impl WasmTy for crate::V128 {
    fn valtype() -> ValType {
        ValType::V128
    }
    fn to_raw(self, _: &mut StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::v128(self.as_u128()))
    }
    fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
        crate::V128::from(raw.get_v128())
    }
}

impl WasmTy for Option<crate::ExternRef> {
    fn valtype() -> ValType {
        ValType::ExternRef
    }
    fn to_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        crate::Val::ExternRef(self).to_raw(store)
    }
    fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        store.externref_from_raw(raw.get_u64())
    }
}

impl WasmTy for Option<crate::Rooted<crate::AnyRef>> {
    fn valtype() -> ValType {
        ValType::ANYREF
    }
    fn to_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        crate::Val::AnyRef(self).to_raw(store)
    }
    fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        crate::AnyRef::from_raw(store, raw.get_u64())
    }
}

impl WasmTy for Option<Func> {
    fn valtype() -> ValType {
        ValType::FuncRef
    }
    fn to_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        crate::Val::FuncRef(self).to_raw(store)
    }
    fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        store.func_from_raw(raw.get_u64() as usize)
    }
}

/// A list of wasm values passed as parameters: `()`, a single [`WasmTy`], or a tuple.
pub trait WasmParams: Send + Sized {
    /// The wasm types, in order.
    fn valtypes() -> Vec<ValType>;
    /// How many values (without allocating).
    fn count() -> usize;
    #[doc(hidden)]
    fn store_raw(self, store: &mut StoreOpaque, raw: &mut [ValRaw]) -> Result<()>;
}

/// A list of wasm values returned as results.
pub trait WasmResults: WasmParams {
    #[doc(hidden)]
    fn load_raw(store: &mut StoreOpaque, raw: &[ValRaw]) -> Self;
}

impl<T: WasmTy> WasmParams for T {
    fn valtypes() -> Vec<ValType> {
        vec![T::valtype()]
    }
    fn count() -> usize {
        1
    }
    fn store_raw(self, store: &mut StoreOpaque, raw: &mut [ValRaw]) -> Result<()> {
        raw[0] = self.to_raw(store)?;
        Ok(())
    }
}

impl<T: WasmTy> WasmResults for T {
    fn load_raw(store: &mut StoreOpaque, raw: &[ValRaw]) -> Self {
        T::from_raw(store, raw[0])
    }
}

macro_rules! tuple_lists {
    ($($n:tt: ($($t:ident $i:tt),*);)*) => {$(
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            fn valtypes() -> Vec<ValType> {
                vec![$($t::valtype()),*]
            }
            fn count() -> usize {
                $n
            }
            #[allow(unused_variables, reason = "empty tuple")]
            fn store_raw(self, store: &mut StoreOpaque, raw: &mut [ValRaw]) -> Result<()> {
                $(raw[$i] = self.$i.to_raw(store)?;)*
                Ok(())
            }
        }
        impl<$($t: WasmTy),*> WasmResults for ($($t,)*) {
            #[allow(unused_variables, clippy::unused_unit, reason = "empty tuple")]
            fn load_raw(store: &mut StoreOpaque, raw: &[ValRaw]) -> Self {
                ($($t::from_raw(store, raw[$i]),)*)
            }
        }
    )*};
}

tuple_lists! {
    0: ();
    1: (A1 0);
    2: (A1 0, A2 1);
    3: (A1 0, A2 1, A3 2);
    4: (A1 0, A2 1, A3 2, A4 3);
    5: (A1 0, A2 1, A3 2, A4 3, A5 4);
    6: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5);
    7: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6);
    8: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7);
    9: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8);
    10: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9);
    11: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10);
    12: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11);
    13: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12);
    14: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12, A14 13);
    15: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12, A14 13, A15 14);
    16: (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12, A14 13, A15 14, A16 15);
}

/// What a host closure may return: results, or `Result` of results.
pub trait WasmRet {
    /// The results list type.
    type Results: WasmResults;
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Results>;
}

impl<R: WasmResults> WasmRet for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmResults> WasmRet for Result<R> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// Checks that `Params -> Results` can view a function of type `ty`: each Rust
/// parameter type is a subtype of the wasm one (what Rust passes is valid for
/// wasm) and each wasm result type a subtype of the Rust one (what wasm returns
/// is valid for Rust), e.g. a `(ref $t)` result read as `Option<Func>`.
pub(crate) fn check_signature<Params: WasmParams, Results: WasmResults>(
    ty: &WasmFuncType,
) -> Result<()> {
    let params: Vec<_> = Params::valtypes()
        .into_iter()
        .map(ValType::to_wasm)
        .collect();
    let results: Vec<_> = Results::valtypes()
        .into_iter()
        .map(ValType::to_wasm)
        .collect();
    let all = |a: &[WasmValType], b: &[WasmValType]| {
        a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.matches(*b))
    };
    if !all(&params, &ty.params) {
        bail!("type mismatch with parameters: function has {ty}, asked for params {params:?}");
    }
    if !all(&ty.results, &results) {
        bail!("type mismatch with results: function has {ty}, asked for results {results:?}");
    }
    Ok(())
}

/// A function whose signature was checked once against `Params -> Results`.
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedFunc")
            .field("func", &self.func)
            .finish()
    }
}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    pub(crate) fn new(func: Func) -> Self {
        Self {
            func,
            _marker: PhantomData,
        }
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function.
    ///
    /// # Errors
    /// Fails when wasm traps or a host function fails, as `Func::call`.
    pub fn call(&self, mut store: impl AsContextMut, params: Params) -> Result<Results> {
        let store = store.as_context_mut().0;
        store.opaque.check(self.func.0)?;
        store.opaque.check_sync_entry()?;
        let n = Params::count().max(Results::count());
        with_slots(n, |raw| {
            params.store_raw(&mut store.opaque, raw)?;
            self.func.call_raw(store, raw)?;
            Ok(Results::load_raw(&mut store.opaque, raw))
        })
    }
}

/// Runs `f` on `n` zeroed value slots on the stack (or, for more than 16, on
/// the heap). `n` is a constant for each `TypedFunc` signature, so only one
/// branch remains once inlined: a call with few values zeroes only the few
/// slots it needs, not a 256-byte array each time.
#[inline(always)]
fn with_slots<R>(n: usize, f: impl FnOnce(&mut [ValRaw]) -> R) -> R {
    if n <= 2 {
        f(&mut [ValRaw::default(); 2][..n])
    } else if n <= 4 {
        f(&mut [ValRaw::default(); 4][..n])
    } else if n <= 16 {
        f(&mut [ValRaw::default(); 16][..n])
    } else {
        f(&mut vec![ValRaw::default(); n])
    }
}

/// A Rust closure usable as a host function: `Fn(A1, …) -> R` or
/// `Fn(Caller<'_, T>, A1, …) -> R`, where each `Ai: WasmTy` and `R: WasmRet`.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    /// The signature and the closure over raw slots, of a concrete type, so
    /// that wasm's entry shim calls it directly (`Func::wrap`).
    fn into_host_fn(
        self,
    ) -> (
        FuncType,
        impl Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    );
}

macro_rules! into_func {
    ($(($($a:ident $i:tt),*);)*) => {$(
        #[allow(non_snake_case, unused_variables, reason = "generated per arity")]
        impl<T, F, R, $($a: WasmTy),*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_host_fn(
                self,
            ) -> (
                FuncType,
                impl Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
            ) {
                let ty = FuncType::new(vec![$($a::valtype()),*], R::Results::valtypes());
                let f = move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
                    $(let $a = $a::from_raw(&mut caller.store.opaque, raw[$i]);)*
                    let results = (self)($($a),*).into_result()?;
                    results.store_raw(&mut caller.store.opaque, raw)
                };
                (ty, f)
            }
        }

        #[allow(non_snake_case, unused_variables, reason = "generated per arity")]
        impl<T, F, R, $($a: WasmTy),*> IntoFunc<T, (Caller<'_, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_host_fn(
                self,
            ) -> (
                FuncType,
                impl Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
            ) {
                let ty = FuncType::new(vec![$($a::valtype()),*], R::Results::valtypes());
                let f = move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
                    let Caller { store, caller } = caller;
                    $(let $a = $a::from_raw(&mut store.opaque, raw[$i]);)*
                    let results = (self)(Caller::new(&mut *store, caller), $($a),*).into_result()?;
                    results.store_raw(&mut store.opaque, raw)
                };
                (ty, f)
            }
        }
    )*};
}

into_func! {
    ();
    (A1 0);
    (A1 0, A2 1);
    (A1 0, A2 1, A3 2);
    (A1 0, A2 1, A3 2, A4 3);
    (A1 0, A2 1, A3 2, A4 3, A5 4);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12, A14 13);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12, A14 13, A15 14);
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11, A13 12, A14 13, A15 14, A16 15);
}

//! Rust types as component types: [`ComponentType`] (type-checked once
//! against the component's type), [`Lower`] (Rust → wasm) and [`Lift`]
//! (wasm → Rust), implemented here for primitives, `String`/`&str`,
//! `Vec<T>`/`&[T]`, `Option`, `Result` and tuples, and by
//! `#[derive(ComponentType, Lift, Lower)]` for records, variants, enums and
//! flags; plus [`TypedFunc`] and the borrowing results [`WasmStr`] and
//! [`WasmList`].
//!
//! Layout comes from the component's type, not from the Rust type: every
//! method receives the `InterfaceType` it works at, and sizes, offsets and
//! flat slots are read from the component's type table. The trait methods
//! are hidden: they are how generated code plugs in, not an API.

use super::abi::string::{
    check_string, decode, decode_bytes, lift_string, lower_string, StringRange,
};
use super::abi::val::guard_zero_sized;
use super::abi::ResourceCx;
use super::abi::{
    check_discriminant, lift_char, load_discriminant, store_discriminant, Content, FlatDst,
    FlatSrc, LiftContext, LowerContext, Mode,
};
use super::func::{call_lifted, run_pending_post_return, ParamsDst, ResultSrc};
use super::handles::TableId;
use super::host::{HostFunc, LowerSite, StoreGuest};
use super::instance::resource_cx;
use super::Func;
use crate::store::StoreInner;
use crate::{AsContextMut, StoreContextMut, ValRaw};
use anyhow::{bail, Context as _, Result};
use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;
use tern_environ::component::{
    discriminant_size, ComponentTypes, InterfaceType, StringEncoding, TypeDef,
};

mod impls;
pub use impls::{
    bad_case, field, flags_lift, flags_load, flags_lower, flags_store, typecheck_enum,
    typecheck_flags, typecheck_record, typecheck_variant, TypecheckFn, VariantInfo,
};

/// A Rust type that has a component type.
pub trait ComponentType {
    /// Whether this is `()` (no payload in `result<_, E>`).
    #[doc(hidden)]
    const IS_UNIT: bool = false;
    /// Checks that this Rust type can stand for component type `ty`.
    #[doc(hidden)]
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()>;
    /// The component type this Rust type stands for, for error messages.
    #[doc(hidden)]
    fn describe() -> String;
}

/// A Rust type that can be passed into a component.
pub trait Lower: ComponentType {
    /// Lowers to flat core values.
    #[doc(hidden)]
    fn lower(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, dst: &mut FlatDst) -> Result<()>;
    /// Writes into memory at `offset`, which is in bounds and aligned.
    #[doc(hidden)]
    fn store(&self, cx: &mut LowerContext<'_>, ty: InterfaceType, offset: usize) -> Result<()>;
    /// Writes a run of elements (a list's contents); `u8` overrides it with a copy.
    #[doc(hidden)]
    fn store_many(
        items: &[Self],
        cx: &mut LowerContext<'_>,
        ty: InterfaceType,
        offset: usize,
    ) -> Result<()>
    where
        Self: Sized,
    {
        let size = cx.types().size(ty) as usize;
        for (i, item) in items.iter().enumerate() {
            item.store(cx, ty, offset + i * size)?;
        }
        Ok(())
    }
    /// Lowers a parameter or result list (tuples only).
    #[doc(hidden)]
    fn lower_list(
        &self,
        _cx: &mut LowerContext<'_>,
        _tys: &[InterfaceType],
        _dst: &mut FlatDst,
    ) -> Result<()> {
        bail!("`{}` is not a parameter list", Self::describe())
    }
    /// Writes a parameter or result list as a tuple at `offset` (tuples only).
    #[doc(hidden)]
    fn store_list(
        &self,
        _cx: &mut LowerContext<'_>,
        _tys: &[InterfaceType],
        _offset: usize,
    ) -> Result<()> {
        bail!("`{}` is not a parameter list", Self::describe())
    }
}

/// A Rust type that can be received from a component.
pub trait Lift: ComponentType + Sized {
    /// Whether the value keeps pointing into the component's memory (then the
    /// post-return function waits for `post_return`).
    #[doc(hidden)]
    const BORROWS: bool = false;
    /// Lifts from flat core values.
    #[doc(hidden)]
    fn lift(cx: &LiftContext<'_>, ty: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self>;
    /// Reads from memory at `offset`, which is in bounds and aligned.
    #[doc(hidden)]
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self>;
    /// Reads `len` elements (a list's contents); `u8` overrides it with a copy.
    #[doc(hidden)]
    fn load_many(
        cx: &LiftContext<'_>,
        ty: InterfaceType,
        offset: usize,
        len: usize,
    ) -> Result<Vec<Self>> {
        let size = cx.types().size(ty) as usize;
        (0..len)
            .map(|i| Self::load(cx, ty, offset + i * size))
            .collect()
    }
    /// Lifts a parameter or result list (tuples only).
    #[doc(hidden)]
    fn lift_list(
        _cx: &LiftContext<'_>,
        _tys: &[InterfaceType],
        _src: &mut FlatSrc<'_>,
    ) -> Result<Self> {
        bail!("`{}` is not a parameter list", Self::describe())
    }
    /// Reads a parameter or result list stored as a tuple (tuples only).
    #[doc(hidden)]
    fn load_list(_cx: &LiftContext<'_>, _tys: &[InterfaceType], _offset: usize) -> Result<Self> {
        bail!("`{}` is not a parameter list", Self::describe())
    }
}

/// A tuple used as a parameter or result list: `()`, `(A,)`, `(A, B)`, ….
pub trait ComponentNamedList: ComponentType {
    /// Checks the list against a function's parameter (or result) types.
    #[doc(hidden)]
    fn typecheck_list(tys: &[InterfaceType], types: &ComponentTypes) -> Result<()>;
    /// `(u32, string)`, for error messages.
    #[doc(hidden)]
    fn describe_list() -> String;
}

/// The message for a Rust type that does not stand for `ty`.
pub(crate) fn type_error(types: &ComponentTypes, ty: InterfaceType, rust: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "type mismatch: component has `{}`, Rust type stands for `{rust}`",
        types.display(ty)
    )
}

/// Checks `Params -> Results` against function type `ty`, naming both on failure.
pub(crate) fn check_func<Params: ComponentNamedList, Results: ComponentNamedList>(
    types: &ComponentTypes,
    ty: u32,
) -> Result<()> {
    let f = types.func(ty);
    let params: Vec<InterfaceType> = f.params.iter().map(|(_, t)| *t).collect();
    let results: Vec<InterfaceType> = f.result.into_iter().collect();
    let check = Params::typecheck_list(&params, types)
        .and_then(|()| Results::typecheck_list(&results, types));
    check.with_context(|| {
        format!(
            "expected `{}`, found Rust signature `func{} -> {}`",
            types.display_func(ty),
            Params::describe_list(),
            Results::describe_list()
        )
    })
}

/// A component function whose type was checked once against `Params -> Results`.
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

impl<Params, Results> TypedFunc<Params, Results>
where
    Params: ComponentNamedList + Lower,
    Results: ComponentNamedList + Lift,
{
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
    /// When `Results` are owned values the guest's post-return function runs
    /// before this returns; when they borrow guest memory ([`WasmStr`],
    /// [`WasmList`]) it waits for [`TypedFunc::post_return`] or the next call
    /// into the same instance.
    ///
    /// # Errors
    /// Fails when wasm traps, a canonical-ABI check fails, or `store` is not
    /// the function's store.
    pub fn call(&self, mut store: impl AsContextMut, params: Params) -> Result<Results> {
        let store = store.as_context_mut().0;
        self.func.check_store(store)?;
        let (ci, lifted) = self.func.data(store);
        let (types, ty) = self.func.ty(store);
        let f = types.func(ty);
        let ptys: Vec<InterfaceType> = f.params.iter().map(|(_, t)| *t).collect();
        let rtys: Vec<InterfaceType> = f.result.into_iter().collect();
        call_lifted(
            store,
            ci,
            lifted,
            (Mode::Host, StringEncoding::Utf8, None),
            &mut |cx, dst| match dst {
                ParamsDst::Flat(d) => params.lower_list(cx, &ptys, d),
                ParamsDst::Memory(off) => params.store_list(cx, &ptys, off),
            },
            &mut |cx, src| match src {
                ResultSrc::None => Results::lift_list(cx, &[], &mut FlatSrc::new(&[])),
                ResultSrc::Flat(mut s) => Results::lift_list(cx, &rtys, &mut s),
                ResultSrc::Memory(off) => Results::load_list(cx, &rtys, off),
                ResultSrc::Val(_) => bail!(
                    "typed calls of async-lifted functions are not supported yet; use `Func::call`"
                ),
            },
            Results::BORROWS,
        )
    }

    /// Runs the guest's post-return function if the last call left it
    /// pending; otherwise does nothing.
    ///
    /// # Errors
    /// Fails when the post-return function traps.
    pub fn post_return(&self, mut store: impl AsContextMut) -> Result<()> {
        let store = store.as_context_mut().0;
        self.func.check_store(store)?;
        let (ci, _) = self.func.data(store);
        run_pending_post_return(store, ci)
    }
}

/// Makes the host function of `LinkerInstance::func_wrap`.
pub(crate) fn host_func<T, Params, Return, F>(f: F) -> HostFunc<T>
where
    F: Fn(StoreContextMut<'_, T>, Params) -> Result<Return> + Send + Sync + 'static,
    Params: ComponentNamedList + Lift + 'static,
    Return: ComponentNamedList + Lower + 'static,
{
    HostFunc::new(
        move |store: &mut StoreInner<T>, site: &LowerSite, raw: &mut [ValRaw]| {
            let args = site.args(raw);
            let ptys = site.param_types();
            let params = {
                let cx = site.lift_cx(store, Mode::Host, None);
                match site.params_offset(&cx, &args)? {
                    None => Params::lift_list(&cx, &ptys, &mut FlatSrc::new(&args))?,
                    Some(off) => Params::load_list(&cx, &ptys, off)?,
                }
            };
            let ret = f(StoreContextMut(&mut *store), params)?;
            let rtys: Vec<InterfaceType> = site.result_type().into_iter().collect();
            let resources = resource_cx(store, site.ci, site.runtime_instance);
            let mut guest = StoreGuest {
                store,
                memory: site.memory,
                realloc: site.realloc,
                owner: (site.ci, site.runtime_instance),
            };
            let mut cx = LowerContext {
                guest: &mut guest,
                types: &site.types,
                encoding: site.encoding,
                src_encoding: StringEncoding::Utf8,
                mode: Mode::Host,
                resources,
                tags: None,
            };
            site.lower_result_with(&mut cx, &args, raw, |cx, dst| match dst {
                Ok(flat) => ret.lower_list(cx, &rtys, flat),
                Err(off) => ret.store_list(cx, &rtys, off),
            })
        },
        Box::new(|types, ty| check_func::<Params, Return>(types, ty)),
    )
}

/// A string lifted from a component that still lies in its memory; read it
/// with [`WasmStr::to_str`] before the post-return call frees it.
#[derive(Debug, Clone)]
pub struct WasmStr {
    range: StringRange,
    memory: crate::Memory,
}

impl WasmStr {
    fn new(cx: &LiftContext<'_>, ptr: u32, len: u32) -> Result<Self> {
        let range = check_string(cx, ptr, len)?;
        let memory = cx
            .memory_handle
            .context("lifting a string needs a memory")?;
        Ok(Self { range, memory })
    }

    /// The string, borrowed from memory when it is UTF-8, decoded otherwise.
    ///
    /// # Errors
    /// Fails when the bytes are not valid in the string's encoding, or the
    /// memory shrank (it cannot) so that the string is out of bounds.
    pub fn to_str<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContext<'a, T>>,
    ) -> Result<Cow<'a, str>> {
        let bytes = self.memory.data(store);
        let b = bytes
            .get(self.range.offset..self.range.offset + self.range.byte_len)
            .context("string out of bounds")?;
        if !self.range.utf16 && !self.range.latin1 {
            return match std::str::from_utf8(b) {
                Ok(s) => Ok(Cow::Borrowed(s)),
                Err(e) => super::trap(super::ComponentTrapKind::InvalidString, e.to_string()),
            };
        }
        Ok(Cow::Owned(decode_bytes(b, self.range)?))
    }
}

impl ComponentType for WasmStr {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        String::typecheck(ty, types)
    }
    fn describe() -> String {
        "string".to_string()
    }
}

impl Lift for WasmStr {
    const BORROWS: bool = true;
    fn lift(cx: &LiftContext<'_>, _: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        let (ptr, len) = (src.next_u32()?, src.next_u32()?);
        Self::new(cx, ptr, len)
    }
    fn load(cx: &LiftContext<'_>, _: InterfaceType, offset: usize) -> Result<Self> {
        Self::new(cx, cx.load_u32(offset)?, cx.load_u32(offset + 4)?)
    }
}

/// A list lifted from a component that still lies in its memory.
pub struct WasmList<T> {
    offset: usize,
    len: usize,
    elem: InterfaceType,
    types: Arc<ComponentTypes>,
    encoding: StringEncoding,
    memory: Option<crate::Memory>,
    _marker: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for WasmList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmList")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<T: Lift> WasmList<T> {
    fn new(cx: &LiftContext<'_>, ty: InterfaceType, ptr: u32, len: u32) -> Result<Self> {
        let Some(TypeDef::List(elem)) = cx.types().def(ty) else {
            bail!("not a list type")
        };
        let (size, align) = cx.types().size_align(*elem);
        let offset = cx.check(ptr, u64::from(size) * u64::from(len), align, Content::List)?;
        guard_zero_sized(size, len)?;
        Ok(Self {
            offset,
            len: len as usize,
            elem: *elem,
            types: cx.types.clone(),
            encoding: cx.encoding,
            memory: cx.memory_handle,
            _marker: PhantomData,
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn cx<'a, S: 'a>(&'a self, store: impl Into<crate::StoreContext<'a, S>>) -> LiftContext<'a> {
        let store: &'a crate::store::StoreInner<S> = store.into().0;
        let memory = match self.memory {
            Some(m) => m.data(crate::StoreContext(store)),
            None => &[],
        };
        LiftContext {
            memory,
            types: &self.types,
            encoding: self.encoding,
            mode: Mode::Host,
            memory_handle: self.memory,
            handles: &store.opaque.components.handles,
            // The list's handles were not lifted with the call: resources in
            // a `WasmList` are refused ("no runtime type").
            resources: ResourceCx {
                table: TableId::Host,
                types: Arc::new([]),
                store: store.opaque.id(),
            },
            tags: None,
        }
    }

    /// Lifts element `index`, or `None` past the end.
    pub fn get<'a, S: 'a>(
        &'a self,
        store: impl Into<crate::StoreContext<'a, S>>,
        index: usize,
    ) -> Option<Result<T>> {
        if index >= self.len {
            return None;
        }
        let cx = self.cx(store);
        let size = self.types.size(self.elem) as usize;
        Some(T::load(&cx, self.elem, self.offset + index * size))
    }

    /// Lifts every element.
    ///
    /// # Errors
    /// Fails on the first element that does not lift.
    pub fn to_vec<'a, S: 'a>(
        &'a self,
        store: impl Into<crate::StoreContext<'a, S>>,
    ) -> Result<Vec<T>> {
        let cx = self.cx(store);
        T::load_many(&cx, self.elem, self.offset, self.len)
    }
}

impl WasmList<u8> {
    /// The bytes, borrowed from memory.
    pub fn as_le_slice<'a, S: 'a>(&self, store: impl Into<crate::StoreContext<'a, S>>) -> &'a [u8] {
        match self.memory {
            Some(m) => m
                .data(store)
                .get(self.offset..self.offset + self.len)
                .unwrap_or(&[]),
            None => &[],
        }
    }
}

impl<T: ComponentType> ComponentType for WasmList<T> {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        <Vec<T>>::typecheck(ty, types)
    }
    fn describe() -> String {
        <Vec<T>>::describe()
    }
}

impl<T: Lift> Lift for WasmList<T> {
    const BORROWS: bool = true;
    fn lift(cx: &LiftContext<'_>, ty: InterfaceType, src: &mut FlatSrc<'_>) -> Result<Self> {
        let (ptr, len) = (src.next_u32()?, src.next_u32()?);
        Self::new(cx, ty, ptr, len)
    }
    fn load(cx: &LiftContext<'_>, ty: InterfaceType, offset: usize) -> Result<Self> {
        Self::new(cx, ty, cx.load_u32(offset)?, cx.load_u32(offset + 4)?)
    }
}

// Helpers shared with `impls.rs`.

pub(crate) fn lift_str(cx: &LiftContext<'_>, ptr: u32, len: u32) -> Result<String> {
    lift_string(cx, ptr, len)
}

pub(crate) fn lower_str(cx: &mut LowerContext<'_>, s: &str) -> Result<(u32, u32)> {
    lower_string(cx, s)
}

pub(crate) fn decode_str(cx: &LiftContext<'_>, ptr: u32, len: u32) -> Result<String> {
    decode(cx, check_string(cx, ptr, len)?)
}

pub(crate) fn lift_char_bits(bits: u32) -> Result<char> {
    lift_char(bits)
}

pub(crate) fn disc_check(disc: u32, n: usize) -> Result<usize> {
    check_discriminant(disc, n)
}

pub(crate) fn disc_load(cx: &LiftContext<'_>, offset: usize, cases: usize) -> Result<u32> {
    load_discriminant(cx, offset, discriminant_size(cases))
}

pub(crate) fn disc_store(
    cx: &mut LowerContext<'_>,
    offset: usize,
    cases: usize,
    disc: u32,
) -> Result<()> {
    store_discriminant(cx, offset, discriminant_size(cases), disc)
}

//! The component model: [`Component`] (compile), [`Linker`] (resolve imports,
//! define host functions), [`Instance`] (instantiate), [`Func`] and
//! [`TypedFunc`] (call exports), [`Val`] and the [`ComponentType`] /
//! [`Lift`] / [`Lower`] traits (values both ways), with wasmtime 12's names.
//!
//! How a call crosses the boundary, and why it is safe without `unsafe`:
//! lifting and lowering (the canonical ABI, `abi/`) run in Rust on the host,
//! reading and writing a component's linear memory through
//! `Memory::data{,_mut}` and allocating in it by calling the component's
//! `realloc` through the core `Func` API. Every pointer and length that comes
//! from wasm is checked (alignment, bounds, encoding, discriminants) before it
//! is used, and a violation is a [`ComponentTrap`], never a panic. A call
//! between two components (an export of one lowered into the other) goes the
//! same way — lift from the caller, lower into the callee, and back — so the
//! two memories never alias.
//!
//! Per store, components keep their state in [`ComponentStoreData`]: each
//! instantiated component's core instances, lowered and lifted functions,
//! and per inlined instance the flags the ABI checks (`may_leave` is false
//! while a post-return function runs; `may_enter` is false while an instance
//! is running, and stays false after it trapped).
//!
//! A host for a WIT world, written against the bindings `bindgen!` generates
//! (this example runs as a doc test; README.md shows it too):
//!
//! ```
//! use tern::component::{bindgen, Component, Linker};
//! use tern::{Config, Engine, Store};
//!
//! bindgen!({
//!     inline: "
//!         package demo:greet;
//!         interface names { offset: func() -> u32; }
//!         world greeter {
//!             import names;
//!             export run: func(x: u32) -> u32;
//!         }
//!     ",
//! });
//!
//! struct Host;
//! impl demo::greet::names::Host for Host {
//!     fn offset(&mut self) -> tern::Result<u32> {
//!         Ok(41)
//!     }
//! }
//!
//! fn main() -> tern::Result<()> {
//!     let mut config = Config::new();
//!     config.wasm_component_model(true);
//!     let engine = Engine::new(&config)?;
//!     // A guest that adds the host's offset to its argument.
//!     let component = Component::new(&engine, r#"
//!         (component
//!           (import "demo:greet/names" (instance $names
//!             (export "offset" (func (result u32)))))
//!           (core func $offset (canon lower (func $names "offset")))
//!           (core module $m
//!             (import "host" "offset" (func $offset (result i32)))
//!             (func (export "run") (param i32) (result i32)
//!               (i32.add (local.get 0) (call $offset))))
//!           (core instance $i (instantiate $m
//!             (with "host" (instance (export "offset" (func $offset))))))
//!           (func (export "run") (param "x" u32) (result u32)
//!             (canon lift (core func $i "run"))))
//!     "#)?;
//!     let mut linker = Linker::new(&engine);
//!     Greeter::add_to_linker(&mut linker, |host: &mut Host| host)?;
//!     let mut store = Store::new(&engine, Host);
//!     let (greeter, _instance) = Greeter::instantiate(&mut store, &component, &linker)?;
//!     assert_eq!(greeter.call_run(&mut store, 1)?, 42);
//!     Ok(())
//! }
//! ```

mod abi;
mod adapters;
mod artifact;
mod asyncs;
mod builtins;
#[allow(
    clippy::module_inception,
    reason = "component::component holds `Component`, as module::Module"
)]
mod component;
mod func;
mod handles;
mod host;
mod instance;
mod linker;
mod resource_table;
mod resources;
mod typed;
pub mod types;
mod values;
mod vmctx;

pub use component::Component;
pub use func::Func;
pub use instance::{Instance, InstancePre};
pub use linker::{Linker, LinkerInstance};
pub use resource_table::{ResourceTable, ResourceTableError};
pub use resources::{Resource, ResourceAny, ResourceType};
#[doc(hidden)]
pub use tern_component_macro::__bindgen_expansion;
pub use tern_component_macro::{bindgen, flags, ComponentType, Lift, Lower};
pub use typed::{ComponentNamedList, ComponentType, Lift, Lower, TypedFunc, WasmList, WasmStr};
pub use values::Val;

/// Support for `#[derive(ComponentType, Lift, Lower)]` and `flags!` from
/// `tern-component-macro`: not a stable API.
#[doc(hidden)]
pub mod __internal {
    pub use super::abi::{FlatDst, FlatSrc, LiftContext, LowerContext};
    pub use super::typed::{
        bad_case, field, flags_lift, flags_load, flags_lower, flags_store, typecheck_enum,
        typecheck_flags, typecheck_record, typecheck_variant, TypecheckFn, VariantInfo,
    };
    pub use anyhow;
    pub use tern_environ::component::{ComponentTypes, InterfaceType, TypeDef};
}

use std::fmt;

/// What went wrong when a value crossed a component boundary, or when a
/// component broke one of the component model's runtime rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ComponentTrapKind {
    /// A pointer from wasm is not aligned for what it points to.
    UnalignedPointer,
    /// A pointer and length from wasm reach past the end of memory.
    OutOfBounds,
    /// `realloc` returned a pointer that is not aligned.
    ReallocUnaligned,
    /// `realloc` returned a pointer whose allocation reaches past the end of memory.
    ReallocOutOfBounds,
    /// A variant, enum, option or result discriminant out of range.
    InvalidDiscriminant,
    /// A `char` that is not a Unicode scalar value.
    InvalidChar,
    /// A string that is not valid in its encoding.
    InvalidString,
    /// A string or list too long for the canonical ABI.
    LengthOverflow,
    /// Wasm code left its instance where the ABI forbids it (calling an
    /// import or a built-in from a post-return function).
    CannotLeave,
    /// Wasm code re-entered an instance that is running, or one that trapped.
    CannotEnter,
    /// A resource handle that does not exist or has the wrong type.
    BadHandle,
    /// An owned resource removed while lent out, or a borrow handle still
    /// held by a callee when its call returns.
    ResourceBorrowed,
    /// A rule of the async ABI broken: an async-lifted export returned
    /// without `task.return`, or the backpressure counter over/underflowed.
    TaskRule,
    /// A construct Tern validates but does not run (async, threads).
    Unsupported,
}

/// A trap raised by the component model's runtime checks; the error of a
/// call that failed one of them downcasts to this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTrap {
    kind: ComponentTrapKind,
    message: String,
}

impl ComponentTrap {
    pub(crate) fn new(kind: ComponentTrapKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of rule was broken.
    pub fn kind(&self) -> ComponentTrapKind {
        self.kind
    }

    /// The message, without the `wasm trap: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ComponentTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.message)
    }
}

impl std::error::Error for ComponentTrap {}

/// `Err(ComponentTrap)` as an `anyhow::Error`.
pub(crate) fn trap<T>(kind: ComponentTrapKind, message: impl Into<String>) -> anyhow::Result<T> {
    Err(ComponentTrap::new(kind, message).into())
}

pub(crate) use instance::ComponentStoreData;

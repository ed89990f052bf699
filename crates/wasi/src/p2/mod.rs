//! WASI 0.2 (`wasi:cli/command` components) for Tern's component model:
//! the host side of the standard WIT in `crates/wasi/wit`, synchronous, on a
//! [`ResourceTable`] that holds every resource the guest has a handle to.
//!
//! ```no_run
//! use tern::component::{Component, Linker, ResourceTable};
//! use tern::{Config, Engine, Store};
//! use tern_wasi::p2::WasiView;
//! use tern_wasi::{WasiCtx, WasiCtxBuilder};
//!
//! struct Host { ctx: WasiCtx, table: ResourceTable }
//! impl WasiView for Host {
//!     fn table(&mut self) -> &mut ResourceTable { &mut self.table }
//!     fn ctx(&mut self) -> &mut WasiCtx { &mut self.ctx }
//! }
//!
//! fn main() -> anyhow::Result<()> {
//!     let mut config = Config::new();
//!     config.wasm_component_model(true);
//!     let engine = Engine::new(&config)?;
//!     let component = Component::from_file(&engine, "app.wasm")?;
//!     let mut linker = Linker::new(&engine);
//!     tern_wasi::p2::add_to_linker_sync(&mut linker)?;
//!     let ctx = WasiCtxBuilder::new().inherit_stdio().build();
//!     let mut store = Store::new(&engine, Host { ctx, table: ResourceTable::new() });
//!     let code = tern_wasi::p2::run(&mut store, &linker, &component)?;
//!     std::process::exit(code);
//! }
//! ```
//!
//! Layout: `bindings.rs` (what `bindgen!` generates from the WIT), one file
//! per package (`io.rs` with `streams.rs` and `poll.rs` beside it, `cli.rs`,
//! `clocks.rs`, `random.rs`, `filesystem.rs` with `descriptor.rs`,
//! `sockets/`), and
//! `error.rs` (the trappable errors). The guest's arguments, environment,
//! standard streams, preopened directories, clocks and randomness come from
//! the same [`WasiCtx`] preview 1 uses, built by the same
//! [`crate::WasiCtxBuilder`]; paths resolve through the same sandbox
//! (`crate::sandbox`).
//!
//! Every entry a guest handle names is looked up in the table by type, so a
//! forged or stale handle is a trap, never a host panic; a descriptor with
//! live streams or a stream with live pollables cannot be dropped (the table's
//! parent/child links), which traps too.

pub mod bindings;
mod cli;
mod clocks;
mod descriptor;
mod error;
mod filesystem;
mod io;
mod poll;
mod random;
mod sockets;
mod streams;

pub use error::{FsError, SocketError, StreamError};

use crate::WasiCtx;
use anyhow::{Context as _, Result};
use tern::component::{Component, Linker, Resource, ResourceTable};
use tern::{AsContextMut, Store};

/// What the WASI 0.2 host needs from the store's data: the resource table
/// and the [`WasiCtx`] (later wasmtime's `WasiView`).
pub trait WasiView: Send + 'static {
    /// The table of the guest's resources.
    fn table(&mut self) -> &mut ResourceTable;
    /// The guest's WASI context.
    fn ctx(&mut self) -> &mut WasiCtx;
}

/// Which unstable WASI 0.2 interfaces [`add_to_linker_with_options_sync`]
/// adds (later wasmtime's `LinkOptions`): none by default.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    clocks_timezone: bool,
}

impl LinkOptions {
    /// Adds `wasi:clocks/timezone` (`@unstable(feature = clocks-timezone)`),
    /// which always answers UTC: offset 0, name `UTC`, no daylight saving time.
    pub fn clocks_timezone(&mut self, enabled: bool) -> &mut Self {
        self.clocks_timezone = enabled;
        self
    }
}

/// Defines every WASI 0.2 interface Tern implements (all of
/// `wasi:cli/command`'s imports) in `linker`, at version 0.2.12; the linker
/// serves imports of any earlier 0.2.x from them. Sockets reach the network
/// only when the context allows it
/// ([`crate::WasiCtxBuilder::inherit_network`]). Unstable interfaces are left
/// out: see [`add_to_linker_with_options_sync`].
///
/// # Errors
/// Fails when one of the interfaces is already defined in `linker`.
pub fn add_to_linker_sync<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    add_to_linker_with_options_sync(linker, &LinkOptions::default())
}

/// [`add_to_linker_sync`], plus the unstable interfaces `options` turns on.
///
/// # Errors
/// Fails when one of the interfaces is already defined in `linker`.
pub fn add_to_linker_with_options_sync<T: WasiView>(
    linker: &mut Linker<T>,
    options: &LinkOptions,
) -> Result<()> {
    use bindings::wasi;
    fn id<T>(t: &mut T) -> &mut T {
        t
    }
    wasi::io::error::add_to_linker(linker, id::<T>)?;
    wasi::io::poll::add_to_linker(linker, id::<T>)?;
    wasi::io::streams::add_to_linker(linker, id::<T>)?;
    wasi::cli::environment::add_to_linker(linker, id::<T>)?;
    wasi::cli::exit::add_to_linker(linker, id::<T>)?;
    wasi::cli::stdin::add_to_linker(linker, id::<T>)?;
    wasi::cli::stdout::add_to_linker(linker, id::<T>)?;
    wasi::cli::stderr::add_to_linker(linker, id::<T>)?;
    wasi::cli::terminal_input::add_to_linker(linker, id::<T>)?;
    wasi::cli::terminal_output::add_to_linker(linker, id::<T>)?;
    wasi::cli::terminal_stdin::add_to_linker(linker, id::<T>)?;
    wasi::cli::terminal_stdout::add_to_linker(linker, id::<T>)?;
    wasi::cli::terminal_stderr::add_to_linker(linker, id::<T>)?;
    wasi::clocks::monotonic_clock::add_to_linker(linker, id::<T>)?;
    wasi::clocks::wall_clock::add_to_linker(linker, id::<T>)?;
    wasi::filesystem::types::add_to_linker(linker, id::<T>)?;
    wasi::filesystem::preopens::add_to_linker(linker, id::<T>)?;
    wasi::random::random::add_to_linker(linker, id::<T>)?;
    wasi::random::insecure::add_to_linker(linker, id::<T>)?;
    wasi::random::insecure_seed::add_to_linker(linker, id::<T>)?;
    wasi::sockets::network::add_to_linker(linker, id::<T>)?;
    wasi::sockets::instance_network::add_to_linker(linker, id::<T>)?;
    wasi::sockets::tcp::add_to_linker(linker, id::<T>)?;
    wasi::sockets::tcp_create_socket::add_to_linker(linker, id::<T>)?;
    wasi::sockets::udp::add_to_linker(linker, id::<T>)?;
    wasi::sockets::udp_create_socket::add_to_linker(linker, id::<T>)?;
    wasi::sockets::ip_name_lookup::add_to_linker(linker, id::<T>)?;
    if options.clocks_timezone {
        wasi::clocks::timezone::add_to_linker(linker, id::<T>)?;
    }
    Ok(())
}

/// The exit code of a run: `wasi:cli/run.run` returning `ok` is 0, `err` is
/// 1, and `exit`/`exit-with-code` end the call with an [`crate::I32Exit`].
///
/// Instantiates `component` (a `wasi:cli/command`) with `linker` and calls
/// its `wasi:cli/run` export (any 0.2.x version).
///
/// # Errors
/// Fails when the component does not export `wasi:cli/run@0.2.x`, cannot be
/// instantiated, or traps (the trap is the error).
pub fn run<T: WasiView>(
    store: &mut Store<T>,
    linker: &Linker<T>,
    component: &Component,
) -> Result<i32> {
    let instance = linker.instantiate(&mut *store, component)?;
    let Some(name) = cli::run_export_name(component) else {
        anyhow::bail!("the component does not export `wasi:cli/run` (it is not a command)");
    };
    let func = instance
        .get_func_at(store.as_context_mut(), &[&name, "run"])
        .with_context(|| format!("`{name}` exports no function `run`"))?
        .typed::<(), (Result<(), ()>,)>(&*store)
        .with_context(|| format!("`{name}#run` is not `func() -> result`"))?;
    match func.call(store.as_context_mut(), ()) {
        Ok((r,)) => {
            func.post_return(store.as_context_mut())?;
            Ok(if r.is_ok() { 0 } else { 1 })
        }
        Err(e) => match e.downcast_ref::<crate::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}

/// A handle of type `B` with the same rep and ownership as `r`: the WIT
/// marker types (`Resource<OutputStream>`) and the host's own entry types
/// (`Resource<streams::Output>`) name the same table entries.
pub(crate) fn cast<A: 'static, B: 'static>(r: &Resource<A>) -> Resource<B> {
    if r.owned() {
        Resource::new_own(r.rep())
    } else {
        Resource::new_borrow(r.rep())
    }
}

//! What a store does when wasm runs out of fuel during an async call:
//! wasmtime's `out_of_fuel_async_yield`, `out_of_fuel_trap` and
//! `fuel_async_yield_interval` (the epoch deadline's counterpart is
//! `store/epoch.rs`).
//!
//! Compiled code calls the `out_of_fuel` libcall at that point; it asks
//! [`StoreOpaque::out_of_fuel`] whether to go on. Yielding suspends the fiber
//! once (`AsyncCxPtr::yield_now`), so other tasks of the executor run before
//! this wasm continues. Outside an async call (or with no yield policy) it
//! answers "trap" once the fuel left is spent, the only behaviour of
//! synchronous calls.
//!
//! With `fuel_async_yield_interval(Some(n))`, the fuel counter compiled code
//! reads holds at most `n` units and the rest of the fuel left waits in the
//! store's reserve (see `store/fuel.rs`); each time the counter runs out,
//! `out_of_fuel` yields and moves the next `n` units over, so wasm yields
//! every `n` units of fuel while fuel remains, and the fuel left and consumed
//! are exactly what they would be without yields.

use super::{Store, StoreOpaque};
use anyhow::{bail, Result};

/// A store's yield settings.
#[derive(Debug, Default)]
pub(crate) struct YieldPolicy {
    /// Injections of fuel left (`out_of_fuel_async_yield`).
    fuel_injections: u64,
    /// Fuel given per injection.
    fuel_per_injection: u64,
    /// `fuel_async_yield_interval`: yield every this many units of fuel.
    fuel_interval: Option<u64>,
}

impl YieldPolicy {
    /// The fuel between two yields, if periodic fuel yields are on.
    pub(crate) fn fuel_interval(&self) -> Option<u64> {
        self.fuel_interval
    }
}

impl StoreOpaque {
    /// Wasm spent the fuel counter: `Ok(true)` when it was refilled, from the
    /// reserve (after a yield, with a yield interval in an async call) or by
    /// an injection after a yield (`out_of_fuel_async_yield`).
    pub(crate) fn out_of_fuel(&mut self) -> Result<bool> {
        // The run that ran out was charged already: go on only if what is
        // left covers it.
        let left = self.fuel_left();
        if self.fuel_reserve > 0 {
            self.set_fuel_left(left);
            if left >= 0 {
                if self.yield_policy.fuel_interval.is_some() && self.async_cx.on_fiber() {
                    self.async_cx.ptr().yield_now()?;
                }
                return Ok(true);
            }
        }
        if !self.async_cx.on_fiber() || self.yield_policy.fuel_injections == 0 {
            return Ok(false);
        }
        self.yield_policy.fuel_injections -= 1;
        self.add_fuel(self.yield_policy.fuel_per_injection)?;
        self.async_cx.ptr().yield_now()?;
        Ok(self.fuel_left() >= 0)
    }
}

impl<T> Store<T> {
    /// During async calls, running out of fuel yields to the executor and
    /// injects `fuel_to_inject` more fuel, up to `injection_count` times; after
    /// that (and in synchronous calls) it traps with `Trap::OutOfFuel`.
    ///
    /// # Panics
    /// Never; on an engine without `Config::async_support` the setting has no
    /// effect (there are no async calls).
    pub fn out_of_fuel_async_yield(&mut self, injection_count: u64, fuel_to_inject: u64) {
        let policy = &mut self.inner.opaque.yield_policy;
        policy.fuel_injections = injection_count;
        policy.fuel_per_injection = fuel_to_inject;
    }

    /// Running out of fuel traps with `Trap::OutOfFuel` (the default; undoes
    /// [`Store::out_of_fuel_async_yield`]).
    pub fn out_of_fuel_trap(&mut self) {
        let policy = &mut self.inner.opaque.yield_policy;
        policy.fuel_injections = 0;
        policy.fuel_per_injection = 0;
    }

    /// During async calls, yield to the executor every `interval` units of
    /// fuel consumed, while fuel remains (later wasmtime's API); the fuel left
    /// and consumed are unchanged by the yields, and running out of fuel still
    /// traps (or injects, with [`Store::out_of_fuel_async_yield`]). `None`
    /// turns periodic yields off.
    ///
    /// # Errors
    /// Fails when fuel consumption (`Config::consume_fuel`) or async support
    /// (`Config::async_support`) is not enabled, or when `interval` is
    /// `Some(0)`.
    pub fn fuel_async_yield_interval(&mut self, interval: Option<u64>) -> Result<()> {
        let opaque = &mut self.inner.opaque;
        opaque.check_fuel_enabled()?;
        if !opaque.engine().config().async_support {
            bail!("async support is not configured in this store");
        }
        if interval == Some(0) {
            bail!("fuel_async_yield_interval must not be 0");
        }
        opaque.yield_policy.fuel_interval = interval;
        // Re-split the fuel left under the new interval.
        let left = opaque.fuel_left();
        opaque.set_fuel_left(left);
        Ok(())
    }
}

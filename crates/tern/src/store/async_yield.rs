//! What a store does when wasm runs out of fuel or reaches its epoch deadline
//! during an async call: wasmtime's `out_of_fuel_async_yield`,
//! `fuel_async_yield_interval` and `epoch_deadline_async_yield_and_update`.
//!
//! Compiled code calls the `out_of_fuel` / `new_epoch` libcalls at those
//! points; they ask [`StoreOpaque::out_of_fuel`] / [`StoreOpaque::new_epoch`]
//! whether to go on. Yielding suspends the fiber once (`AsyncCxPtr::yield_now`),
//! so other tasks of the executor run before this wasm continues. Outside an
//! async call (or with no yield policy) both answer "trap", the only behaviour
//! of synchronous calls.

use super::{Store, StoreOpaque};
use anyhow::{bail, Result};

/// A store's yield settings.
#[derive(Debug, Default)]
pub(crate) struct YieldPolicy {
    /// Injections of fuel left (`out_of_fuel_async_yield`).
    fuel_injections: u64,
    /// Fuel given per injection.
    fuel_per_injection: u64,
    /// With `Some(delta)`, the epoch deadline moves `delta` ticks ahead at each
    /// yield instead of trapping.
    epoch_delta: Option<u64>,
}

impl StoreOpaque {
    /// Wasm ran out of fuel: `Ok(true)` when fuel was injected after a yield.
    pub(crate) fn out_of_fuel(&mut self) -> Result<bool> {
        if !self.async_cx.on_fiber() || self.yield_policy.fuel_injections == 0 {
            return Ok(false);
        }
        self.yield_policy.fuel_injections -= 1;
        self.add_fuel(self.yield_policy.fuel_per_injection)?;
        self.async_cx.ptr().yield_now()?;
        // The run that ran out was charged already: go on only if the
        // injection covered it.
        Ok(self.limits.fuel_consumed() <= 0)
    }

    /// Wasm reached the epoch deadline: `Ok(true)` when the deadline moved
    /// after a yield.
    pub(crate) fn new_epoch(&mut self) -> Result<bool> {
        let Some(delta) = self.yield_policy.epoch_delta else {
            return Ok(false);
        };
        if !self.async_cx.on_fiber() {
            return Ok(false);
        }
        self.async_cx.ptr().yield_now()?;
        let now = self
            .engine
            .inner
            .epoch
            .load(std::sync::atomic::Ordering::Relaxed);
        self.limits.set_epoch_deadline(now.saturating_add(delta));
        Ok(true)
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

    /// Yield to the executor every `interval` units of fuel (wasmtime 14's
    /// API), without changing the fuel left.
    ///
    /// # Errors
    /// Not implemented yet: it needs the fuel left to be split between the
    /// counter compiled code reads and a reserve (see `store/fuel.rs`); use
    /// [`Store::out_of_fuel_async_yield`] (with a large `injection_count`) for
    /// periodic yields meanwhile.
    pub fn fuel_async_yield_interval(&mut self, interval: Option<u64>) -> Result<()> {
        if interval.is_none() {
            return Ok(());
        }
        bail!("fuel_async_yield_interval is not implemented yet: use out_of_fuel_async_yield")
    }

    /// During async calls, reaching the epoch deadline yields to the executor
    /// and then moves the deadline `delta` ticks past the current epoch,
    /// instead of trapping (synchronous calls still trap).
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.inner.opaque.yield_policy.epoch_delta = Some(delta);
    }

    /// Reaching the epoch deadline traps with `Trap::Interrupt` (the default;
    /// undoes [`Store::epoch_deadline_async_yield_and_update`]).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.opaque.yield_policy.epoch_delta = None;
    }
}

//! Fuel accounting of a store (`Config::consume_fuel`), in both of wasmtime's
//! spellings: wasmtime 12's `add_fuel` / `fuel_consumed` / `consume_fuel` and the
//! later `set_fuel` / `get_fuel`.
//!
//! Compiled code keeps one counter, `VMRuntimeLimits::fuel_consumed`, holding
//! minus the fuel it may spend before asking the store (wasm adds what it
//! spends and calls the `out_of_fuel` libcall once the counter passes zero).
//! The rest of the fuel left waits in `StoreOpaque::fuel_reserve`: the counter
//! gets at most `fuel_async_yield_interval` units (and at most `i64::MAX`) at a
//! time, and `out_of_fuel` refills it from the reserve (yielding to the async
//! executor in between, see `store/async_yield.rs`). So the fuel left is
//! `reserve - counter`. The store also remembers all the fuel it was ever given
//! (`StoreOpaque::fuel_added`), so that the fuel consumed since the store was
//! created is `fuel_added - fuel left`.

use super::{Store, StoreContextMut, StoreOpaque};
use crate::Caller;
use anyhow::{bail, Result};

impl StoreOpaque {
    pub(crate) fn check_fuel_enabled(&self) -> Result<()> {
        if !self.engine().tunables().consume_fuel {
            bail!("fuel is not configured in this store");
        }
        Ok(())
    }

    /// The raw counter: minus the fuel compiled code may still spend before
    /// asking the store (positive once wasm overspent).
    fn fuel_counter(&self) -> i64 {
        self.limits.fuel_consumed()
    }

    /// The fuel left, counter and reserve together (negative once wasm
    /// overspent all of it).
    pub(crate) fn fuel_left(&self) -> i128 {
        i128::from(self.fuel_reserve) - i128::from(self.fuel_counter())
    }

    /// Sets the fuel left to `left`: up to one yield interval (and at most
    /// `i64::MAX`) in the counter, the rest in the reserve. A negative `left`
    /// (overspent) goes into the counter as it is.
    pub(crate) fn set_fuel_left(&mut self, left: i128) {
        let cap = match self.yield_policy.fuel_interval() {
            Some(interval) => interval.min(i64::MAX as u64),
            None => i64::MAX as u64,
        };
        let left = left.clamp(i128::from(i64::MIN) + 1, i128::from(u64::MAX));
        let active = left.min(i128::from(cap));
        self.fuel_reserve = u64::try_from(left - active).unwrap_or(0);
        self.limits.set_fuel_consumed(-(active as i64));
    }

    pub(crate) fn get_fuel(&self) -> Result<u64> {
        self.check_fuel_enabled()?;
        Ok(u64::try_from(self.fuel_left()).unwrap_or(0))
    }

    pub(crate) fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.check_fuel_enabled()?;
        let consumed = self.fuel_consumed_total();
        self.set_fuel_left(i128::from(fuel));
        self.fuel_added = consumed.saturating_add(fuel);
        Ok(())
    }

    fn fuel_consumed_total(&self) -> u64 {
        let consumed = i128::from(self.fuel_added) - self.fuel_left();
        u64::try_from(consumed.max(0)).unwrap_or(u64::MAX)
    }

    pub(crate) fn fuel_consumed(&self) -> Option<u64> {
        self.check_fuel_enabled().ok()?;
        Some(self.fuel_consumed_total())
    }

    pub(crate) fn add_fuel(&mut self, fuel: u64) -> Result<()> {
        self.check_fuel_enabled()?;
        let left = self.fuel_left();
        let new_left = (left + i128::from(fuel)).min(i128::from(u64::MAX));
        let added = u64::try_from(new_left - left).unwrap_or(0);
        self.set_fuel_left(new_left);
        self.fuel_added = self.fuel_added.saturating_add(added);
        Ok(())
    }

    pub(crate) fn consume_fuel(&mut self, fuel: u64) -> Result<u64> {
        let left = self.get_fuel()?;
        let Some(remaining) = left.checked_sub(fuel) else {
            bail!("not enough fuel remaining in store");
        };
        self.set_fuel_left(i128::from(remaining));
        Ok(remaining)
    }
}

/// Generates the fuel methods of a store-like type, given how to reach its `StoreOpaque`.
macro_rules! fuel_methods {
    () => {
        /// Adds `fuel` to the fuel left for wasm to consume (wasmtime 12's API;
        /// the fuel left saturates at `u64::MAX`).
        ///
        /// # Errors
        /// Fails when fuel consumption is not enabled (`Config::consume_fuel`).
        pub fn add_fuel(&mut self, fuel: u64) -> Result<()> {
            self.opaque_mut().add_fuel(fuel)
        }

        /// The fuel wasm (and [`Self::consume_fuel`]) consumed since the store
        /// was created, or `None` when fuel consumption is not enabled.
        pub fn fuel_consumed(&self) -> Option<u64> {
            self.opaque().fuel_consumed()
        }

        /// Consumes `fuel` as if wasm had, returning the fuel left.
        ///
        /// # Errors
        /// Fails when fuel consumption is not enabled or when less than `fuel` is left
        /// (nothing is consumed then).
        pub fn consume_fuel(&mut self, fuel: u64) -> Result<u64> {
            self.opaque_mut().consume_fuel(fuel)
        }

        /// Sets the fuel left (the fuel API of wasmtime 17 and later).
        ///
        /// # Errors
        /// Fails when fuel consumption is not enabled.
        pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
            self.opaque_mut().set_fuel(fuel)
        }

        /// The fuel left (the fuel API of wasmtime 17 and later).
        ///
        /// # Errors
        /// Fails when fuel consumption is not enabled.
        pub fn get_fuel(&self) -> Result<u64> {
            self.opaque().get_fuel()
        }
    };
}

/// Reaching the `StoreOpaque` of each store-like type, for `fuel_methods!`.
trait HasOpaque {
    fn opaque(&self) -> &StoreOpaque;
    fn opaque_mut(&mut self) -> &mut StoreOpaque;
}

impl<T> HasOpaque for Store<T> {
    fn opaque(&self) -> &StoreOpaque {
        &self.inner.opaque
    }
    fn opaque_mut(&mut self) -> &mut StoreOpaque {
        &mut self.inner.opaque
    }
}

impl<T> HasOpaque for StoreContextMut<'_, T> {
    fn opaque(&self) -> &StoreOpaque {
        &self.0.opaque
    }
    fn opaque_mut(&mut self) -> &mut StoreOpaque {
        &mut self.0.opaque
    }
}

impl<T> HasOpaque for Caller<'_, T> {
    fn opaque(&self) -> &StoreOpaque {
        &self.store.opaque
    }
    fn opaque_mut(&mut self) -> &mut StoreOpaque {
        &mut self.store.opaque
    }
}

impl<T> Store<T> {
    fuel_methods!();
}

impl<T> StoreContextMut<'_, T> {
    fuel_methods!();
}

impl<T> Caller<'_, T> {
    fuel_methods!();
}

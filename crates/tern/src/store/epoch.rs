//! What a store does when its wasm reaches the epoch deadline
//! (`Config::epoch_interruption`): trap (the default,
//! `Store::epoch_deadline_trap`), yield during async calls and move the
//! deadline (`Store::epoch_deadline_async_yield_and_update`), or ask the
//! embedder's callback (`Store::epoch_deadline_callback`, answering with an
//! [`UpdateDeadline`]). Setting one of the three replaces the others.
//!
//! Compiled code checks the deadline at function entries and loop headers and
//! calls the `new_epoch` libcall once the engine's epoch reached it; the
//! libcall asks [`StoreOpaque::new_epoch`] whether to go on (it re-reads the
//! deadline afterwards, so a moved deadline takes effect at once).
//!
//! The callback needs the typed store (`StoreContextMut<T>`) while the libcall
//! only has the untyped `StoreOpaque`: `Store::<T>::epoch_deadline_callback`
//! records a hook that recovers the typed store (`vm::store_cast`). While the
//! callback runs it is taken out of the store, so the store is whole and
//! consistent (the libcall recorded where wasm stopped, as host calls do) and
//! the callback may call wasm again; a deadline reached by that nested wasm
//! traps with `Trap::Interrupt`, as there is no callback to ask.

use super::{AsContextMut, Store, StoreContextMut, StoreOpaque};
use anyhow::{bail, Result};

/// What to do after the epoch deadline callback
/// ([`Store::epoch_deadline_callback`]) returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateDeadline {
    /// Move the deadline this many ticks past the current epoch and go on.
    Continue(u64),
    /// Yield to the async executor once, then move the deadline this many
    /// ticks past the current epoch and go on. Only valid during an async
    /// call (`call_async`, `instantiate_async`, …); in a synchronous call the
    /// wasm stops with an error saying so.
    Yield(u64),
}

/// What `Store::epoch_deadline_callback` installs.
pub(crate) type EpochCallbackFn<T> =
    dyn FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync;

/// Runs a typed store's epoch callback from its untyped part: `None` when no
/// callback is in the store (it is running already).
pub(crate) type EpochHook = fn(&mut StoreOpaque) -> Option<Result<UpdateDeadline>>;

/// A store's answer to the epoch deadline.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum EpochBehavior {
    /// Trap with `Trap::Interrupt`.
    #[default]
    Trap,
    /// During async calls, yield and move the deadline this many ticks ahead;
    /// trap in synchronous calls.
    YieldAndUpdate(u64),
    /// Ask the callback stored in the typed store.
    Callback(EpochHook),
}

impl StoreOpaque {
    /// Moves the deadline `ticks` past the engine's current epoch.
    pub(crate) fn set_epoch_deadline(&mut self, ticks: u64) {
        let now = self
            .engine
            .inner
            .epoch
            .load(std::sync::atomic::Ordering::Relaxed);
        self.limits.set_epoch_deadline(now.saturating_add(ticks));
    }

    /// Wasm reached the epoch deadline: `Ok(true)` when the deadline moved
    /// (wasm goes on), `Ok(false)` to trap with `Trap::Interrupt`.
    ///
    /// # Errors
    /// The callback's error, which ends the call with that error; a
    /// [`UpdateDeadline::Yield`] outside an async call; a cancelled async call.
    pub(crate) fn new_epoch(&mut self) -> Result<bool> {
        let delta = match self.epoch_behavior {
            EpochBehavior::Trap => return Ok(false),
            EpochBehavior::YieldAndUpdate(delta) => {
                if !self.async_cx.on_fiber() {
                    return Ok(false);
                }
                self.async_cx.ptr().yield_now()?;
                delta
            }
            EpochBehavior::Callback(hook) => match hook(self) {
                None => return Ok(false),
                Some(update) => match update? {
                    UpdateDeadline::Continue(delta) => delta,
                    UpdateDeadline::Yield(delta) => {
                        if !self.async_cx.on_fiber() {
                            bail!(
                                "`UpdateDeadline::Yield` needs an async call \
                                 (`call_async`, `instantiate_async`, ...); this wasm \
                                 was entered through a synchronous one"
                            );
                        }
                        self.async_cx.ptr().yield_now()?;
                        delta
                    }
                },
            },
        };
        self.set_epoch_deadline(delta);
        Ok(true)
    }
}

impl<T> Store<T> {
    /// Wasm traps with `Trap::Interrupt` (or asks the callback, see
    /// [`Store::epoch_deadline_callback`]) once the engine's epoch is
    /// `ticks_beyond_current` beyond its current value (needs
    /// `Config::epoch_interruption`).
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.inner.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// Reaching the epoch deadline traps with `Trap::Interrupt` (the default;
    /// undoes [`Store::epoch_deadline_async_yield_and_update`] and
    /// [`Store::epoch_deadline_callback`]).
    pub fn epoch_deadline_trap(&mut self) {
        self.as_context_mut().epoch_deadline_trap();
    }

    /// During async calls, reaching the epoch deadline yields to the executor
    /// and then moves the deadline `delta` ticks past the current epoch,
    /// instead of trapping (synchronous calls still trap). Replaces
    /// [`Store::epoch_deadline_callback`].
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.inner.epoch_callback = None;
        self.inner.opaque.epoch_behavior = EpochBehavior::YieldAndUpdate(delta);
    }

    /// Reaching the epoch deadline calls `callback` with the store. It answers
    /// [`UpdateDeadline::Continue`] to move the deadline and let wasm go on,
    /// [`UpdateDeadline::Yield`] to yield to the executor first (async calls
    /// only), or an error, which ends the call in progress with that error.
    /// Replaces [`Store::epoch_deadline_trap`] and
    /// [`Store::epoch_deadline_async_yield_and_update`].
    ///
    /// The callback may use the store freely, calling wasm included; a
    /// deadline reached during such a nested call traps with
    /// `Trap::Interrupt`.
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync + 'static,
    ) {
        self.inner.epoch_callback = Some(Box::new(callback));
        self.inner.opaque.epoch_behavior =
            EpochBehavior::Callback(crate::vm::store_cast::epoch_callback_of::<T>);
    }
}

impl<T> StoreContextMut<'_, T> {
    /// [`Store::set_epoch_deadline`] through a context (an epoch callback
    /// may use it too; its answer then moves the deadline again).
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.0.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// [`Store::epoch_deadline_trap`] through a context. Called by the epoch
    /// callback itself, it removes that callback once it returns.
    pub fn epoch_deadline_trap(&mut self) {
        self.0.epoch_callback = None;
        self.0.opaque.epoch_behavior = EpochBehavior::Trap;
    }
}

//! `wasi:clocks`: the monotonic clock (with pollables for an instant or a
//! duration) and the wall clock, read from the [`crate::WasiCtx`]'s clocks.

use super::bindings::wasi::clocks::{monotonic_clock, wall_clock};
use super::poll::Poll;
use super::{cast, WasiView};
use std::time::Duration;
use tern::component::Resource;

fn datetime(d: Duration) -> wall_clock::Datetime {
    wall_clock::Datetime {
        seconds: d.as_secs(),
        nanoseconds: d.subsec_nanos(),
    }
}

impl<T: WasiView> monotonic_clock::Host for T {
    fn now(&mut self) -> tern::Result<u64> {
        Ok(self.ctx().state_mut()?.monotonic_clock.now())
    }

    fn resolution(&mut self) -> tern::Result<u64> {
        let r = self.ctx().state_mut()?.monotonic_clock.resolution();
        Ok(u64::try_from(r.as_nanos()).unwrap_or(u64::MAX))
    }

    fn subscribe_instant(
        &mut self,
        when: u64,
    ) -> tern::Result<Resource<monotonic_clock::Pollable>> {
        Ok(cast(&self.table().push(Poll::Deadline(when))?))
    }

    fn subscribe_duration(
        &mut self,
        after: u64,
    ) -> tern::Result<Resource<monotonic_clock::Pollable>> {
        let now = self.ctx().state_mut()?.monotonic_clock.now();
        Ok(cast(
            &self
                .table()
                .push(Poll::Deadline(now.saturating_add(after)))?,
        ))
    }
}

impl<T: WasiView> wall_clock::Host for T {
    fn now(&mut self) -> tern::Result<wall_clock::Datetime> {
        Ok(datetime(self.ctx().state_mut()?.wall_clock.now()))
    }

    fn resolution(&mut self) -> tern::Result<wall_clock::Datetime> {
        Ok(datetime(self.ctx().state_mut()?.wall_clock.resolution()))
    }
}

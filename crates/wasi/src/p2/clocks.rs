//! `wasi:clocks`: the monotonic clock (with pollables for an instant or a
//! duration) and the wall clock, read from the [`crate::WasiCtx`]'s clocks;
//! and the unstable `timezone`, linked only on request
//! ([`super::LinkOptions::clocks_timezone`]).
//!
//! The time zone is always UTC, as the WIT asks of "implementations that do
//! not expose an actual time zone": the host's zone is not the guest's
//! business (it tells where the host is), and reading it would need the C
//! library's `localtime_r`, `unsafe` outside `tern::vm`.

use super::bindings::wasi::clocks::{monotonic_clock, timezone, wall_clock};
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

impl<T: WasiView> timezone::Host for T {
    fn display(&mut self, _when: wall_clock::Datetime) -> tern::Result<timezone::TimezoneDisplay> {
        Ok(timezone::TimezoneDisplay {
            utc_offset: 0,
            name: "UTC".to_string(),
            in_daylight_saving_time: false,
        })
    }

    fn utc_offset(&mut self, _when: wall_clock::Datetime) -> tern::Result<i32> {
        Ok(0)
    }
}

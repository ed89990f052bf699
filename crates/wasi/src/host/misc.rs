//! WASI functions that do not touch files: `args_*`, `environ_*`, `clock_*`,
//! `poll_oneoff`, `random_get`, `sched_yield`, `proc_exit`, `proc_raise`, and
//! `sock_*` (Tern's guests own no sockets, so those report why they fail).

use crate::ctx::{timespec_nanos, State};
use crate::error::{Error, WasiResult};
use crate::memory::GuestMemory;
use crate::stream::Stream;
use crate::table::{Desc, Kind};
use crate::types::{clockid, poll, Errno};
use crate::I32Exit;
use rustix::event::{PollFd, PollFlags};
use std::os::fd::AsFd;
use std::time::Duration;

/// Writes `strings` the way `args_get`/`environ_get` lay them out: an array of
/// pointers at `ptrs`, NUL-terminated bytes from `buf`.
fn write_strings(
    mem: &mut GuestMemory<'_>,
    strings: impl Iterator<Item = Vec<u8>>,
    ptrs: u32,
    buf: u32,
) -> WasiResult<()> {
    let mut offset = buf;
    for (i, mut s) in strings.enumerate() {
        s.push(0);
        let slot = ptrs
            .checked_add((i as u32).checked_mul(4).ok_or(Errno::Fault)?)
            .ok_or(Errno::Fault)?;
        mem.write_u32(slot, offset)?;
        mem.write(offset, &s)?;
        offset = offset.checked_add(s.len() as u32).ok_or(Errno::Fault)?;
    }
    Ok(())
}

fn sizes(
    mem: &mut GuestMemory<'_>,
    lens: impl Iterator<Item = usize>,
    count_ptr: u32,
    size_ptr: u32,
) -> WasiResult<()> {
    let (mut count, mut size) = (0u32, 0u32);
    for l in lens {
        count = count.checked_add(1).ok_or(Errno::Overflow)?;
        size = size
            .checked_add(u32::try_from(l + 1).map_err(|_| Errno::Overflow)?)
            .ok_or(Errno::Overflow)?;
    }
    mem.write_u32(count_ptr, count)?;
    mem.write_u32(size_ptr, size)
}

impl State {
    fn env_strings(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.env
            .iter()
            .map(|(n, v)| format!("{n}={v}").into_bytes())
    }

    /// `args_sizes_get`.
    pub(crate) fn args_sizes_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        argc: u32,
        size: u32,
    ) -> WasiResult<()> {
        sizes(mem, self.args.iter().map(String::len), argc, size)
    }

    /// `args_get`.
    pub(crate) fn args_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        argv: u32,
        buf: u32,
    ) -> WasiResult<()> {
        write_strings(
            mem,
            self.args.iter().map(|a| a.clone().into_bytes()),
            argv,
            buf,
        )
    }

    /// `environ_sizes_get`.
    pub(crate) fn environ_sizes_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        count: u32,
        size: u32,
    ) -> WasiResult<()> {
        sizes(mem, self.env_strings().map(|s| s.len()), count, size)
    }

    /// `environ_get`.
    pub(crate) fn environ_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        environ: u32,
        buf: u32,
    ) -> WasiResult<()> {
        let strings: Vec<Vec<u8>> = self.env_strings().collect();
        write_strings(mem, strings.into_iter(), environ, buf)
    }

    /// `clock_res_get`.
    pub(crate) fn clock_res_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: u32,
        out: u32,
    ) -> WasiResult<()> {
        let res = match id {
            clockid::REALTIME => self.wall_clock.resolution().as_nanos() as u64,
            clockid::MONOTONIC => self.monotonic_clock.resolution().as_nanos() as u64,
            clockid::PROCESS_CPUTIME_ID => timespec_nanos(rustix::time::clock_getres(
                rustix::time::ClockId::ProcessCPUTime,
            )),
            clockid::THREAD_CPUTIME_ID => timespec_nanos(rustix::time::clock_getres(
                rustix::time::ClockId::ThreadCPUTime,
            )),
            _ => return Err(Errno::Inval.into()),
        };
        mem.write_u64(out, res.max(1))
    }

    /// The current time of clock `id` in nanoseconds.
    fn now(&self, id: u32) -> WasiResult<u64> {
        Ok(match id {
            clockid::REALTIME => self.wall_clock.now().as_nanos().min(u64::MAX as u128) as u64,
            clockid::MONOTONIC => self.monotonic_clock.now(),
            clockid::PROCESS_CPUTIME_ID => timespec_nanos(rustix::time::clock_gettime(
                rustix::time::ClockId::ProcessCPUTime,
            )),
            clockid::THREAD_CPUTIME_ID => timespec_nanos(rustix::time::clock_gettime(
                rustix::time::ClockId::ThreadCPUTime,
            )),
            _ => return Err(Errno::Inval.into()),
        })
    }

    /// `clock_time_get` (the precision hint is ignored).
    pub(crate) fn clock_time_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: u32,
        _precision: u64,
        out: u32,
    ) -> WasiResult<()> {
        let now = self.now(id)?;
        mem.write_u64(out, now)
    }

    /// `random_get`.
    pub(crate) fn random_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        buf: u32,
        len: u32,
    ) -> WasiResult<()> {
        let buf = mem.slice_mut(buf, len)?;
        self.random.fill(buf).map_err(|_| Errno::Io)?;
        Ok(())
    }

    /// `sched_yield`.
    pub(crate) fn sched_yield(&mut self) -> WasiResult<()> {
        std::thread::yield_now();
        Ok(())
    }

    /// `proc_exit`: unwinds the guest with [`I32Exit`]. As in wasmtime, a
    /// status of 126 or more (which shells reserve for "not executable", "not
    /// found" and signals) is refused with an error instead.
    pub(crate) fn proc_exit(&mut self, code: u32) -> WasiResult<()> {
        if code < 126 {
            Err(Error::Trap(anyhow::Error::new(I32Exit(code as i32))))
        } else {
            Err(Error::Trap(anyhow::anyhow!(
                "exit with invalid exit status outside of [0..126): {}",
                code as i32
            )))
        }
    }

    /// `proc_raise`: signals are not part of Tern's WASI.
    pub(crate) fn proc_raise(&mut self, _sig: u32) -> WasiResult<()> {
        Err(Errno::Nosys.into())
    }

    /// `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`: `EBADF` for a
    /// closed descriptor, `ENOTSOCK` otherwise (no descriptor is a socket).
    pub(crate) fn sock_op(&mut self, fd: u32) -> WasiResult<()> {
        self.table.get(fd)?;
        Err(Errno::Notsock.into())
    }

    /// `poll_oneoff`: waits until a subscription is ready. A descriptor that
    /// is a host stream (inherited standard input, output, error) is polled
    /// with `poll(2)`; files, directories and in-memory pipes are always
    /// ready; clock subscriptions (relative or absolute) bound the wait.
    pub(crate) fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory<'_>,
        subs: u32,
        events: u32,
        count: u32,
        nevents: u32,
    ) -> WasiResult<()> {
        if count == 0 {
            return Err(Errno::Inval.into());
        }
        // Check both arrays up front: no partial results on a bad pointer.
        mem.slice(
            subs,
            count
                .checked_mul(poll::SUBSCRIPTION_SIZE)
                .ok_or(Errno::Fault)?,
        )?;
        mem.slice(
            events,
            count.checked_mul(poll::EVENT_SIZE).ok_or(Errno::Fault)?,
        )?;
        mem.slice(nevents, 4)?;

        struct Event {
            userdata: u64,
            error: Errno,
            kind: u8,
        }
        let mut ready = Vec::new();
        let mut clocks = Vec::new();
        let mut waits: Vec<(u64, u8, std::os::fd::BorrowedFd<'_>)> = Vec::new();
        let mono_now = self.monotonic_clock.now();
        for i in 0..count {
            let s = subs + i * poll::SUBSCRIPTION_SIZE;
            let userdata = mem.read_u64(s)?;
            let kind = mem.read_u8(s + 8)?;
            match kind {
                poll::EVENTTYPE_CLOCK => {
                    let id = mem.read_u32(s + 16)?;
                    let timeout = mem.read_u64(s + 24)?;
                    let flags = mem.read_u16(s + 40)?;
                    let abs = flags & poll::SUBCLOCKFLAGS_ABSTIME != 0;
                    let deadline = match (id, abs) {
                        (clockid::MONOTONIC | clockid::REALTIME, false) => {
                            Ok(mono_now.saturating_add(timeout))
                        }
                        (clockid::MONOTONIC, true) => Ok(timeout),
                        (clockid::REALTIME, true) => {
                            let real_now = self.now(clockid::REALTIME)?;
                            Ok(mono_now.saturating_add(timeout.saturating_sub(real_now)))
                        }
                        _ => Err(Errno::Inval),
                    };
                    match deadline {
                        Ok(d) => clocks.push((userdata, d)),
                        Err(e) => ready.push(Event {
                            userdata,
                            error: e,
                            kind,
                        }),
                    }
                }
                poll::EVENTTYPE_FD_READ | poll::EVENTTYPE_FD_WRITE => {
                    let fd = mem.read_u32(s + 16)?;
                    match self.table.get_ref(fd) {
                        Ok(Desc {
                            kind: Kind::Stream(Stream::Host(f)),
                            ..
                        }) => waits.push((userdata, kind, f.as_fd())),
                        Ok(_) => ready.push(Event {
                            userdata,
                            error: Errno::Success,
                            kind,
                        }),
                        Err(_) => ready.push(Event {
                            userdata,
                            error: Errno::Badf,
                            kind,
                        }),
                    }
                }
                _ => return Err(Errno::Inval.into()),
            }
        }

        let earliest = clocks.iter().map(|&(_, d)| d).min();
        // How long to wait: not at all when something is ready, until the
        // earliest deadline otherwise, forever with neither.
        let wait_ns = if ready.is_empty() {
            earliest.map(|d| d.saturating_sub(self.monotonic_clock.now()))
        } else {
            Some(0)
        };
        if waits.is_empty() {
            if let Some(ns) = wait_ns.filter(|&ns| ns > 0) {
                std::thread::sleep(Duration::from_nanos(ns));
            }
        } else {
            let mut fds: Vec<PollFd<'_>> = waits
                .iter()
                .map(|&(_, kind, fd)| {
                    let flags = if kind == poll::EVENTTYPE_FD_READ {
                        PollFlags::IN
                    } else {
                        PollFlags::OUT
                    };
                    PollFd::from_borrowed_fd(fd, flags)
                })
                .collect();
            let timeout = wait_ns.map(|ns| rustix::event::Timespec {
                tv_sec: (ns / 1_000_000_000) as _,
                tv_nsec: (ns % 1_000_000_000) as _,
            });
            loop {
                match rustix::event::poll(&mut fds, timeout.as_ref()) {
                    Ok(_) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            for (&(userdata, kind, _), pfd) in waits.iter().zip(&fds) {
                if !pfd.revents().is_empty() {
                    ready.push(Event {
                        userdata,
                        error: Errno::Success,
                        kind,
                    });
                }
            }
        }
        if ready.is_empty() {
            if let Some(earliest) = earliest {
                // Nothing else woke us: the earliest timer has fired.
                let now = self.monotonic_clock.now().max(earliest);
                for &(userdata, d) in &clocks {
                    if d <= now {
                        ready.push(Event {
                            userdata,
                            error: Errno::Success,
                            kind: poll::EVENTTYPE_CLOCK,
                        });
                    }
                }
            }
        }
        for (i, e) in ready.iter().enumerate() {
            let mut b = [0u8; poll::EVENT_SIZE as usize];
            b[0..8].copy_from_slice(&e.userdata.to_le_bytes());
            b[8..10].copy_from_slice(&(e.error as u16).to_le_bytes());
            b[10] = e.kind;
            mem.write(events + i as u32 * poll::EVENT_SIZE, &b)?;
        }
        mem.write_u32(nevents, ready.len() as u32)
    }
}

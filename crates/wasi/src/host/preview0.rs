//! The four `wasi_unstable` (preview 0) functions whose ABI differs from
//! preview 1, as adapters over the preview 1 bodies: `fd_seek` numbers its
//! `whence` values differently, `filestat` has a 32-bit `nlink` (56 bytes,
//! not 64), and a clock `subscription` carries an extra `identifier` (56
//! bytes, not 48). Every other preview 0 function has preview 1's ABI and is
//! linked to the same body (see `linker.rs`).
//!
//! The adapters run the preview 1 body on a scratch buffer laid out the
//! preview 1 way and translate between it and the guest's memory, so a
//! preview 1 layout is never written into the guest's (smaller) buffers.

use crate::ctx::State;
use crate::error::WasiResult;
use crate::memory::GuestMemory;
use crate::types::{poll, Errno};

/// Preview 0 `filestat` size.
const FILESTAT0_SIZE: u32 = 56;
/// Preview 1 `filestat` size.
const FILESTAT1_SIZE: usize = 64;
/// Preview 0 `subscription` size.
const SUBSCRIPTION0_SIZE: u32 = 56;

/// A preview 1 `filestat` (at the start of `p1`) in preview 0's layout.
fn filestat0(p1: &[u8]) -> [u8; FILESTAT0_SIZE as usize] {
    let mut out = [0; FILESTAT0_SIZE as usize];
    out[..17].copy_from_slice(&p1[..17]); // dev, ino, filetype
    let nlink = u64::from_le_bytes(p1[24..32].try_into().unwrap_or_default());
    out[20..24].copy_from_slice(&u32::try_from(nlink).unwrap_or(u32::MAX).to_le_bytes());
    out[24..56].copy_from_slice(&p1[32..64]); // size, atim, mtim, ctim
    out
}

impl State {
    /// `fd_seek` with preview 0's `whence` (cur 0, end 1, set 2).
    pub(crate) fn p0_fd_seek(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        offset: i64,
        whence: u32,
        out: u32,
    ) -> WasiResult<()> {
        let whence = match whence {
            0 => 1,
            1 => 2,
            2 => 0,
            _ => return Err(Errno::Inval.into()),
        };
        self.fd_seek(mem, fd, offset, whence, out)
    }

    /// `fd_filestat_get` writing preview 0's `filestat`.
    pub(crate) fn p0_fd_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        out: u32,
    ) -> WasiResult<()> {
        mem.slice(out, FILESTAT0_SIZE)?;
        let mut scratch = [0u8; FILESTAT1_SIZE];
        self.fd_filestat_get(&mut GuestMemory::new(&mut scratch), fd, 0)?;
        mem.write(out, &filestat0(&scratch))
    }

    /// `path_filestat_get` writing preview 0's `filestat`.
    pub(crate) fn p0_path_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: u32,
        flags: u32,
        path: u32,
        len: u32,
        out: u32,
    ) -> WasiResult<()> {
        mem.slice(out, FILESTAT0_SIZE)?;
        let mut scratch = vec![0u8; FILESTAT1_SIZE];
        scratch.extend_from_slice(mem.slice(path, len)?);
        self.path_filestat_get(
            &mut GuestMemory::new(&mut scratch),
            fd,
            flags,
            FILESTAT1_SIZE as u32,
            len,
            0,
        )?;
        mem.write(out, &filestat0(&scratch))
    }

    /// `poll_oneoff` reading preview 0's `subscription`s (events have the
    /// same layout in both).
    pub(crate) fn p0_poll_oneoff(
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
        let subs0 = mem.slice(
            subs,
            count.checked_mul(SUBSCRIPTION0_SIZE).ok_or(Errno::Fault)?,
        )?;
        let events_len = count.checked_mul(poll::EVENT_SIZE).ok_or(Errno::Fault)?;
        mem.slice(events, events_len)?;
        mem.slice(nevents, 4)?;
        // Scratch: preview 1 subscriptions, then the events, then `nevents`.
        let subs1_len = count as usize * poll::SUBSCRIPTION_SIZE as usize;
        let mut scratch = vec![0u8; subs1_len + events_len as usize + 4];
        for (s0, s1) in subs0
            .chunks_exact(SUBSCRIPTION0_SIZE as usize)
            .zip(scratch.chunks_exact_mut(poll::SUBSCRIPTION_SIZE as usize))
        {
            // userdata and tag; a clock's body drops its `identifier` (8
            // bytes at 16); an fd's body (a u32 at 16) is the same.
            s1[..16].copy_from_slice(&s0[..16]);
            if s0[8] == poll::EVENTTYPE_CLOCK {
                s1[16..48].copy_from_slice(&s0[24..56]);
            } else {
                s1[16..48].copy_from_slice(&s0[16..48]);
            }
        }
        let events1 = subs1_len as u32;
        let nevents1 = events1 + events_len;
        self.poll_oneoff(
            &mut GuestMemory::new(&mut scratch),
            0,
            events1,
            count,
            nevents1,
        )?;
        let n = u32::from_le_bytes(
            scratch[nevents1 as usize..]
                .try_into()
                .map_err(|_| Errno::Fault)?,
        );
        let used = n.min(count) as usize * poll::EVENT_SIZE as usize;
        mem.write(events, &scratch[events1 as usize..events1 as usize + used])?;
        mem.write_u32(nevents, n)
    }
}

//! `wasi:random`: secure and insecure random bytes and the insecure seed,
//! all drawn from the [`crate::WasiCtx`]'s random source (a secure source
//! serves the insecure interfaces too).

use super::bindings::wasi::random::{insecure, insecure_seed, random};
use super::WasiView;
use anyhow::{bail, Context as _};

/// The most bytes one call may ask for (a larger request traps instead of
/// making the host allocate without bound).
const MAX_BYTES: u64 = 64 << 20;

fn bytes<T: WasiView>(view: &mut T, len: u64) -> tern::Result<Vec<u8>> {
    if len > MAX_BYTES {
        bail!("asked for {len} random bytes (at most {MAX_BYTES} per call)");
    }
    let mut buf = vec![0u8; len as usize];
    view.ctx()
        .state_mut()?
        .random
        .fill(&mut buf)
        .context("the random source failed")?;
    Ok(buf)
}

fn u64_of<T: WasiView>(view: &mut T) -> tern::Result<u64> {
    let b = bytes(view, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(&b);
    Ok(u64::from_le_bytes(a))
}

impl<T: WasiView> random::Host for T {
    fn get_random_bytes(&mut self, len: u64) -> tern::Result<Vec<u8>> {
        bytes(self, len)
    }

    fn get_random_u64(&mut self) -> tern::Result<u64> {
        u64_of(self)
    }
}

impl<T: WasiView> insecure::Host for T {
    fn get_insecure_random_bytes(&mut self, len: u64) -> tern::Result<Vec<u8>> {
        bytes(self, len)
    }

    fn get_insecure_random_u64(&mut self) -> tern::Result<u64> {
        u64_of(self)
    }
}

impl<T: WasiView> insecure_seed::Host for T {
    fn insecure_seed(&mut self) -> tern::Result<(u64, u64)> {
        Ok((u64_of(self)?, u64_of(self)?))
    }
}

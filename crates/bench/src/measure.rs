//! How every execution-time row is measured: the call-overhead rows, the
//! kernels, the async rows, the seven workloads, binary-trees and the
//! exception loops. One method for both runtimes:
//!
//! * **CPU time of the call alone** ([`cpu_timed`]): the calling thread's CPU
//!   clock, which is where wasm runs (fibers included), read just before and
//!   just after the call; on a shared machine wall-clock time would also count
//!   the time the thread waited for a core. Setup (compiling, instantiating
//!   what the row does not measure) happens beforehand, in `prepare`.
//! * **Interleaved rounds** ([`measure`]): one call on Tern and the same call
//!   on wasmtime in each round (which of the two goes first alternates), so that a change of the machine's load —
//!   which on a shared machine comes and goes within seconds — weighs on both
//!   runtimes alike instead of on whichever half of the run it fell in.
//! * **The same number of rounds for both, enough to be stable**
//!   ([`Rounds`]): at least [`Rounds::min`] rounds, then more until the row
//!   has used [`Rounds::budget`] of CPU time (both runtimes together), at most
//!   [`Rounds::max`]; short rows get many rounds, long rows the minimum.
//! * **The best round counts** for each runtime: load only ever adds time, so
//!   the shortest call is the one least disturbed.
//!
//! Every call returns a checksum; a row whose calls disagree fails, and with
//! both runtimes their checksums must be equal.

use crate::suite::Row;
use rustix::time::{clock_gettime, ClockId};
use std::time::Duration;

/// One row's call, ready to be timed (compiled and instantiated beforehand).
pub struct Call {
    /// The row's name.
    pub name: &'static str,
    /// How many iterations one call performs: with 1 the row is in
    /// milliseconds per call, with more in nanoseconds per iteration.
    pub iterations: u32,
    /// Runs the row once and returns its checksum.
    pub call: Box<dyn FnMut() -> anyhow::Result<u32>>,
}

/// How many rounds a row gets (see the module note).
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    /// Rounds always done.
    pub min: usize,
    /// Rounds never exceeded.
    pub max: usize,
    /// CPU time (all runtimes together) after which no round is started once
    /// `min` are done.
    pub budget: Duration,
}

/// The full run's rounds: at least 5, up to 1 s of CPU time per row.
pub const ROUNDS: Rounds = Rounds {
    min: 5,
    max: 100,
    budget: Duration::from_secs(1),
};

/// The CPU time `f` takes on this thread, and its result.
pub fn cpu_timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let now = || {
        let t = clock_gettime(ClockId::ThreadCPUTime);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    };
    let start = now();
    let r = f();
    (r, now().saturating_sub(start))
}

/// A row and its checksum.
pub type Measured = (Row, u32);

/// A row from its best time and every call's checksum.
///
/// # Errors
/// When a call failed or the checksums differ.
fn row(call: &Call, best: Duration, results: Vec<anyhow::Result<u32>>) -> anyhow::Result<Measured> {
    let name = call.name;
    let sums = results.into_iter().collect::<anyhow::Result<Vec<u32>>>()?;
    if sums.iter().any(|s| *s != sums[0]) {
        anyhow::bail!("{name} gave different checksums: {sums:?}");
    }
    let (value, unit) = match call.iterations {
        1 => (best.as_secs_f64() * 1e3, "ms"),
        n => (best.as_secs_f64() * 1e9 / f64::from(n), "ns"),
    };
    Ok((Row { name, value, unit }, sums[0]))
}

/// One timed call of `c`: its result goes to `results`, `best` keeps the
/// shortest time; returns the time.
fn timed(c: &mut Call, results: &mut Vec<anyhow::Result<u32>>, best: &mut Duration) -> Duration {
    let (r, d) = cpu_timed(&mut c.call);
    results.push(r);
    *best = (*best).min(d);
    d
}

/// Times each row of `ours` (and of `theirs`, the same rows on a second
/// runtime, in the same order) with [`cpu_timed`], their calls interleaved
/// round by round, as many rounds as `rounds` says; the best time of each.
///
/// # Errors
/// When a call fails, a row's checksums differ from call to call, the two
/// lists do not name the same rows, or the runtimes' checksums differ.
pub fn measure(
    mut ours: Vec<Call>,
    mut theirs: Option<Vec<Call>>,
    rounds: Rounds,
) -> anyhow::Result<(Vec<Row>, Option<Vec<Row>>)> {
    let mut out_ours = Vec::new();
    let mut out_theirs = Vec::new();
    for (i, x) in ours.iter_mut().enumerate() {
        let mut y = match &mut theirs {
            Some(t) => {
                let y = t
                    .get_mut(i)
                    .filter(|y| y.name == x.name)
                    .ok_or_else(|| anyhow::anyhow!("{}: no such row on the other side", x.name))?;
                Some(y)
            }
            None => None,
        };
        let (mut rx, mut ry) = (Vec::new(), Vec::new());
        let (mut bx, mut by) = (Duration::MAX, Duration::MAX);
        let mut spent = Duration::ZERO;
        let mut done = 0;
        while done < rounds.min || (done < rounds.max && spent < rounds.budget) {
            // Who goes first alternates, so neither runtime always runs
            // right after the other one (whose data the caches then hold).
            let ours_first = done % 2 == 0;
            if ours_first {
                spent += timed(x, &mut rx, &mut bx);
            }
            if let Some(y) = &mut y {
                spent += timed(y, &mut ry, &mut by);
            }
            if !ours_first {
                spent += timed(x, &mut rx, &mut bx);
            }
            done += 1;
        }
        let (row_x, sum_x) = row(x, bx, rx)?;
        if let Some(y) = y {
            let (row_y, sum_y) = row(y, by, ry)?;
            anyhow::ensure!(
                sum_x == sum_y,
                "{}: checksum {sum_x} on Tern, {sum_y} on the other runtime",
                x.name
            );
            out_theirs.push(row_y);
        }
        out_ours.push(row_x);
    }
    Ok((out_ours, theirs.map(|_| out_theirs)))
}

//! tern-fuzz's bounded campaigns, run by `cargo test --workspace --release`:
//! a fixed range of differential seeds, deterministic compilation over the
//! same generated modules, a malformed-input run, and the reduced regression
//! modules in `tests/regressions/`. Each is seeded, so a failure replays with
//! the `tern-fuzz` command its message names.

mod determinism;
mod differential;
mod gc;
mod harness;
mod malformed;
mod regressions;
mod supervisor;

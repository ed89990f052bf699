//! `cargo fuzz run differential`: the fuzzer's bytes drive `wasm-smith`, and
//! the module runs on Tern and on the wasmi oracle; any divergence in results,
//! traps, globals, memories or tables is a crash for libFuzzer to minimise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tern_fuzz::differential::{Differential, Stats};

fn differential() -> &'static Differential {
    static DIFF: OnceLock<Differential> = OnceLock::new();
    DIFF.get_or_init(|| Differential::new(2).expect("engines"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(wasm) = tern_fuzz::generate::module_from_bytes(data) else { return };
    let variant = data.iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    // Tern's wasm stack in these runs is larger than a default thread's.
    let found = tern_fuzz::with_big_stack(move || differential().check(&wasm, variant, &mut Stats::default()));
    if let Some(d) = found {
        panic!("{d}");
    }
});

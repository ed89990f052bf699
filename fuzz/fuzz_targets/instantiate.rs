//! `cargo fuzz run instantiate`: arbitrary bytes go to `Module::new` and, if
//! they compile, to instantiation with a host definition for every import (as
//! the `tern-fuzz malformed` campaign does). Tern must not panic, and must
//! accept exactly what its validator accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tern_fuzz::malformed;

fn engine() -> &'static malformed::Engines {
    static ENGINE: OnceLock<malformed::Engines> = OnceLock::new();
    ENGINE.get_or_init(|| malformed::engine().expect("engine"))
}

fuzz_target!(|data: &[u8]| {
    let mut summary = malformed::Summary::default();
    malformed::run_one(engine(), data, 0, &mut summary);
    assert_eq!(summary.bugs(), 0, "{}", summary.findings.join("\n"));
});

//! `cargo fuzz run compile`: the fuzzer's bytes drive `wasm-smith` (through
//! `tern_fuzz::generate`), and the valid module it builds must compile, and
//! compile to the same artifact twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn engine() -> &'static tern::Engine {
    static ENGINE: OnceLock<tern::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| tern_fuzz::tern_side::engine(tern::OptLevel::Speed, true).expect("engine"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(wasm) = tern_fuzz::generate::module_from_bytes(data) else { return };
    match tern_fuzz::determinism::first_difference(engine(), &wasm) {
        Ok(None) => {}
        Ok(Some(offset)) => panic!("non-deterministic compilation: artifacts differ at byte {offset}"),
        Err(e) => panic!("a valid generated module failed to compile: {e:#}"),
    }
});

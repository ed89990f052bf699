//! Compiling a module twice gives byte-identical artifacts, over the
//! differential campaign's generated modules.

use tern_fuzz::{determinism, generate, tern_side};

#[test]
fn generated_modules_compile_to_identical_bytes_twice() {
    // Parallel compilation on: the configuration where ordering could leak in.
    let engine = tern_side::engine(tern::OptLevel::Speed, true).unwrap();
    let mut compared = 0;
    for seed in 0..150 {
        let Ok(wasm) = generate::module(seed) else {
            continue;
        };
        let diff = determinism::first_difference(&engine, &wasm).unwrap();
        assert_eq!(
            diff, None,
            "seed {seed}: artifacts differ (`tern-fuzz determinism --start {seed} --count 1`)"
        );
        compared += 1;
    }
    assert!(compared >= 140);
}

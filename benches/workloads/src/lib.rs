//! Seven CPU workloads for measuring a WebAssembly runtime's execution speed
//! (issue 15: sieve, nbody, sha256, matmul, sort, regex, json), compiled by
//! `build.sh` to `wasm32-unknown-unknown` without WASI. Each is exported as
//! `run_NAME(n: i32) -> i32`: `n` sizes the work, the result is a checksum of
//! everything computed, so a runtime cannot skip work and two runtimes (or a
//! runtime and the native build) can be compared for the same answer.
//!
//! Inputs are generated in the guest from a fixed seed ([`rng`]), so the module
//! needs no imports and every run does the same work.

mod json;
mod matmul;
mod nbody;
mod regex;
mod rng;
mod sha256;
mod sieve;
mod sort;

/// Each workload's name with its function: `n` in, checksum out.
pub const WORKLOADS: &[(&str, fn(u32) -> u32)] = &[
    ("sieve", sieve::run),
    ("nbody", nbody::run),
    ("sha256", sha256::run),
    ("matmul", matmul::run),
    ("sort", sort::run),
    ("regex", regex::run),
    ("json", json::run),
];

/// Small sizes at which the native build's checksums are recorded in
/// `expected.txt` and compared with a runtime's in Tern's tests.
pub const TEST_SIZES: &[(&str, u32)] = &[
    ("sieve", 100_000),
    ("nbody", 1_000),
    ("sha256", 10_000),
    ("matmul", 20),
    ("sort", 10_000),
    ("regex", 200),
    ("json", 100),
];

/// Runs the workload `name` at size `n`; `None` for an unknown name.
pub fn run(name: &str, n: u32) -> Option<u32> {
    WORKLOADS
        .iter()
        .find(|(w, _)| *w == name)
        .map(|(_, f)| f(n))
}

macro_rules! exports {
    ($($export:ident => $module:ident),* $(,)?) => {$(
        /// The workload of the same name as a wasm export: size in, checksum out.
        #[no_mangle]
        pub extern "C" fn $export(n: i32) -> i32 {
            $module::run(n as u32) as i32
        }
    )*};
}

exports! {
    run_sieve => sieve,
    run_nbody => nbody,
    run_sha256 => sha256,
    run_matmul => matmul,
    run_sort => sort,
    run_regex => regex,
    run_json => json,
}

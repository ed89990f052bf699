//! A bounded malformed-input run: mutated modules never panic Tern, and Tern
//! accepts exactly what the validator accepts. (A crash or hang would fail the
//! test binary itself; the long campaign runs in a supervised child process.)

use tern_fuzz::malformed;

/// Inputs checked in CI; `tern-fuzz malformed --seed 7 --count 3000` replays them.
const COUNT: u64 = 3000;

#[test]
fn mutated_modules_are_rejected_or_run_cleanly() {
    let engine = malformed::engine().unwrap();
    let summary = malformed::run_range(&engine, 7, 0, COUNT, |_| {});
    println!("{summary}");
    assert_eq!(summary.inputs, COUNT);
    assert_eq!(
        summary.bugs(),
        0,
        "{summary}\n{}",
        summary.findings.join("\n")
    );
    // The mutations must reach every stage, not only the header check.
    assert!(summary.rejected > COUNT / 10, "{summary}");
    assert!(summary.compiled > COUNT / 20, "{summary}");
    assert!(summary.instantiated > COUNT / 20, "{summary}");
    assert!(summary.start_runs > 0, "{summary}");
}

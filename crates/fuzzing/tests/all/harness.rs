//! The harness notices what it is meant to notice: with a fault injected into
//! Tern's side (a wrong integer result, a wrong memory byte), the same seeds that agree
//! in `differential.rs` diverge, and a diverging module reduces to a smaller
//! one that still diverges and prints as a loadable `.wat` regression test.

use tern_fuzz::differential::{Differential, DivergenceKind, Stats};
use tern_fuzz::value::{Outcome, Snapshot, Value};
use tern_fuzz::{generate, reduce, with_big_stack};

/// Every integer result comes back with its low bit flipped.
fn wrong_integer(outcome: &mut Outcome, _: &mut Snapshot) {
    if let Outcome::Values(values) = outcome {
        for v in values {
            match v {
                Value::I32(x) => *x ^= 1,
                Value::I64(x) => *x ^= 1,
                _ => {}
            }
        }
    }
}

/// The last byte of every memory is flipped.
fn wrong_memory(_: &mut Outcome, snapshot: &mut Snapshot) {
    for (_, bytes) in &mut snapshot.memories {
        if let Some(b) = bytes.last_mut() {
            *b ^= 0x5a;
        }
    }
}

#[test]
fn injected_faults_are_detected_and_reduced() {
    with_big_stack(|| {
        let mut diff = Differential::new(2).unwrap();
        diff.fault = Some(wrong_integer);
        let mut stats = Stats::default();
        let mut first = None;
        for seed in 0..200 {
            let wasm = generate::module(seed).unwrap();
            if let Some(d) = diff.check(&wasm, seed, &mut stats) {
                assert_eq!(d.kind, DivergenceKind::Call, "{d}");
                first.get_or_insert((seed, wasm, d));
            }
        }
        assert!(
            stats.divergences >= 10,
            "a wrong integer should show often: {stats}"
        );
        let (seed, wasm, div) = first.unwrap();
        let small = reduce::reduce(&diff, &wasm, seed, div.kind, 300).unwrap();
        assert!(
            small.len() < wasm.len(),
            "{} -> {} bytes",
            wasm.len(),
            small.len()
        );
        let text = reduce::regression_wat(&small, seed, &div).unwrap();
        assert_eq!(reduce::variant_of(&text), Some(seed));
        let reparsed = wat::parse_str(&text).unwrap();
        let again = diff
            .check(&reparsed, seed, &mut Stats::default())
            .expect("the reduced module still diverges");
        assert_eq!(again.kind, DivergenceKind::Call);
        // Without the fault, the reduced module agrees.
        diff.fault = None;
        assert!(diff.check(&reparsed, seed, &mut Stats::default()).is_none());

        diff.fault = Some(wrong_memory);
        let mut stats = Stats::default();
        let kinds: Vec<_> = (0..100)
            .filter_map(|seed| diff.check(&generate::module(seed).unwrap(), seed, &mut stats))
            .map(|d| d.kind)
            .collect();
        assert!(
            kinds.len() >= 10 && kinds.iter().all(|k| *k == DivergenceKind::State),
            "{kinds:?}"
        );
    });
}

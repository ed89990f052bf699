//! A fixed range of seeds through the differential check, and the checks the
//! harness itself relies on (the oracle computes what the spec says).

use tern_fuzz::differential::{Differential, Stats};
use tern_fuzz::oracle::{self, OracleInstance};
use tern_fuzz::tern_side::{self, TernInstance};
use tern_fuzz::value::{Outcome, Value};
use tern_fuzz::{generate, with_big_stack};

/// Seeds checked in CI; `tern-fuzz --seeds 600 --start 0` replays them.
const SEEDS: u64 = 600;

#[test]
fn fixed_seeds_agree_with_the_oracle() {
    let stats = with_big_stack(|| {
        let diff = Differential::new(4).unwrap();
        let mut stats = Stats::default();
        let mut failures = Vec::new();
        for seed in 0..SEEDS {
            let Ok(wasm) = generate::module(seed) else {
                continue;
            };
            if let Some(d) = diff.check(&wasm, seed, &mut stats) {
                failures.push(format!("seed {seed}: {d}"));
            }
        }
        assert!(
            failures.is_empty(),
            "divergences (reproduce with `tern-fuzz --seeds 1 --start SEED`):\n{}",
            failures.join("\n")
        );
        stats
    });
    println!("{stats}");
    // The campaign must actually exercise both engines, not skip everything.
    assert!(stats.modules >= SEEDS * 9 / 10, "{stats}");
    assert!(stats.executions >= SEEDS * 5, "{stats}");
    assert!(
        stats.executions > stats.traps * 3 / 2,
        "most calls should return: {stats}"
    );
    assert!(
        stats.trap_kinds.len() >= 5,
        "trap kinds seen: {:?}",
        stats.trap_kinds
    );
}

/// Bulk-memory and table modules checked in CI; `tern-fuzz bulk --seeds 400
/// --start 0` replays them.
const BULK_SEEDS: u64 = 400;

#[test]
fn fixed_bulk_seeds_agree_with_the_oracle() {
    let stats = with_big_stack(|| {
        let diff = Differential::new(4).unwrap();
        let mut stats = Stats::default();
        let mut failures = Vec::new();
        for seed in 0..BULK_SEEDS {
            let wasm = tern_fuzz::bulk::module(seed).unwrap();
            if let Some(d) = diff.check(&wasm, seed, &mut stats) {
                failures.push(format!("seed {seed}: {d}"));
            }
        }
        assert!(
            failures.is_empty(),
            "divergences (reproduce with `tern-fuzz bulk --seeds 1 --start SEED`):\n{}",
            failures.join("\n")
        );
        stats
    });
    println!("{stats}");
    // Every module runs on both engines, most calls return, and the three
    // ways these operations trap all occur.
    assert_eq!(stats.modules, BULK_SEEDS, "{stats}");
    assert!(stats.executions > stats.traps * 3 / 2, "{stats}");
    for kind in [
        "MemoryOutOfBounds",
        "TableOutOfBounds",
        "IndirectCallToNull",
    ] {
        assert!(
            stats.trap_kinds.contains_key(kind),
            "{:?}",
            stats.trap_kinds
        );
    }
}

fn both(wat: &str, name: &str, args: &[Value], results: usize) -> (Outcome, Outcome) {
    let wasm = wat::parse_str(wat).unwrap();
    let oracle_engine = oracle::engine();
    let oracle_module = oracle::compile(&oracle_engine, &wasm).unwrap();
    let mut o = OracleInstance::new(&oracle_engine, &oracle_module).unwrap();
    let engine = tern_side::engine(tern::OptLevel::Speed, false).unwrap();
    let module = tern::Module::new(&engine, &wasm).unwrap();
    let mut t = TernInstance::new(&module).unwrap();
    (o.call(name, args, results), t.call(name, args, results))
}

/// wasmi 2.0.0 returns 7 here; the pinned oracle must not.
#[test]
fn oracle_computes_select_of_eqz_correctly() {
    let wat = r#"(module (func (export "f") (param i32 i32) (result i32)
        (select (i32.const 7) (local.get 0) (i32.eqz (local.get 1)))))"#;
    let (o, t) = both(wat, "f", &[Value::I32(5), Value::I32(3)], 1);
    assert_eq!(o, Outcome::Values(vec![Value::I32(5)]));
    assert_eq!(t, o);
    let (o, t) = both(wat, "f", &[Value::I32(5), Value::I32(0)], 1);
    assert_eq!(o, Outcome::Values(vec![Value::I32(7)]));
    assert_eq!(t, o);
}

#[test]
fn trap_kinds_map_to_the_same_tern_trap() {
    let wat = r#"(module (memory 1 1) (table 1 funcref)
        (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
        (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
        (func (export "null") (call_indirect (i32.const 0)))
        (func (export "unreachable") unreachable)
        (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
        (func $rec (export "recurse") (call $rec)))"#;
    use tern::Trap;
    for (name, args, trap) in [
        ("div", vec![Value::I32(0)], Trap::IntegerDivisionByZero),
        ("load", vec![Value::I32(65535)], Trap::MemoryOutOfBounds),
        ("null", vec![], Trap::IndirectCallToNull),
        ("unreachable", vec![], Trap::UnreachableCodeReached),
        (
            "trunc",
            vec![Value::F32(f32::NAN.to_bits())],
            Trap::BadConversionToInteger,
        ),
        (
            "trunc",
            vec![Value::F32(3e9f32.to_bits())],
            Trap::IntegerOverflow,
        ),
    ] {
        let results = usize::from(name != "null" && name != "unreachable");
        let (o, t) = both(wat, name, &args, results);
        assert_eq!(o, Outcome::Trap(trap), "{name}");
        assert_eq!(t, o, "{name}");
    }
    // Unbounded recursion exhausts both stacks (compared as exhaustion, not a kind).
    let (o, t) = with_big_stack(move || both(wat, "recurse", &[], 0));
    assert_eq!((o, t), (Outcome::Exhausted, Outcome::Exhausted));
}

/// wasmi 1.0.9 reports an out-of-bounds `table.copy` on a 64-bit table as a
/// table error, not a trap code; the oracle maps it to the trap it is.
#[test]
fn oracle_maps_table_errors_to_traps() {
    let wat = r#"(module (table i64 0 13 funcref)
        (func (export "copy") (table.copy (i64.const 1) (i64.const 0) (i64.const 0))))"#;
    let (o, t) = both(wat, "copy", &[], 0);
    assert_eq!(o, Outcome::Trap(tern::Trap::TableOutOfBounds));
    assert_eq!(t, o);
}

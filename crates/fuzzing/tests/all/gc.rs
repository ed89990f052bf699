//! The GC campaign (`tern-fuzz gc`, `tern_fuzz::gc_self`): a fixed range of
//! seeds of GC and exception modules agrees across Tern's four setups, and the
//! harness sees what it must: nested GC values and exception payloads are
//! compared, running out of the tiny heap is the one allowed difference, and
//! running out of the shared limit must happen everywhere alike.

use tern_fuzz::differential::DivergenceKind;
use tern_fuzz::gc_self::{GcDifferential, GcStats, Setup};
use tern_fuzz::{generate, with_big_stack};

/// Seeds checked in CI; `tern-fuzz gc --seeds 150 --arg-sets 2` replays them.
const SEEDS: u64 = 150;

#[test]
fn fixed_gc_seeds_agree_across_setups() {
    let stats = with_big_stack(|| {
        let diff = GcDifferential::new(2).unwrap();
        let mut stats = GcStats::default();
        let mut failures = Vec::new();
        for seed in 0..SEEDS {
            let Ok(wasm) = generate::gc_module(seed) else {
                continue;
            };
            if let Some(d) = diff.check(&wasm, seed, &mut stats) {
                failures.push(format!("seed {seed}: {d}"));
            }
        }
        assert!(
            failures.is_empty(),
            "divergences (reproduce with `tern-fuzz gc --seeds 1 --start SEED`):\n{}",
            failures.join("\n")
        );
        stats
    });
    println!("{stats}");
    println!("{:?}", stats.base.trap_kinds);
    // The campaign must exercise GC values and exceptions, not skip them.
    assert!(stats.base.modules >= SEEDS * 3 / 4, "{stats}");
    assert!(stats.base.executions >= SEEDS * 5, "{stats}");
    assert!(stats.objects > 0, "no GC object was compared: {stats}");
    assert!(stats.exceptions > 0, "no exception left a call: {stats}");
    // The tiny heap (64 KiB) rarely runs out since the collector landed:
    // these modules' garbage is collected, and their live data is small.
    // `running_out_of_the_tiny_heap_is_the_allowed_difference` covers the
    // allowed difference with a live set over the limit.
    for kind in ["CastFailure", "NullReference"] {
        assert!(
            stats.base.trap_kinds.contains_key(kind),
            "no {kind} trap: {:?}",
            stats.base.trap_kinds
        );
    }
}

/// Every text of `setup` is changed by `edit` (through a fault).
fn diverge(
    wat: &str,
    fault: tern_fuzz::gc_self::Fault,
) -> Option<tern_fuzz::differential::Divergence> {
    let wasm = wat::parse_str(wat).unwrap();
    with_big_stack(move || {
        let mut diff = GcDifferential::new(1).unwrap();
        diff.fault = Some(fault);
        diff.check(&wasm, 0, &mut GcStats::default())
    })
}

const NESTED: &str = r#"(module
  (type $a (array (mut i64)))
  (type $s (struct (field i32) (field anyref) (field (ref null $a))))
  (tag $t (export "t") (param i32 anyref))
  (func (export "make") (result anyref)
    (struct.new $s (i32.const 7) (ref.i31 (i32.const -3))
      (array.new_fixed $a 2 (i64.const 1) (i64.const 2))))
  (func (export "throw")
    (throw $t (i32.const 5) (struct.new $s (i32.const 1) (ref.null any) (ref.null $a)))))"#;

#[test]
fn nested_gc_values_and_exception_payloads_are_compared() {
    // Without a fault the setups agree, and both calls are counted.
    let wasm = wat::parse_str(NESTED).unwrap();
    let stats = with_big_stack(move || {
        let diff = GcDifferential::new(1).unwrap();
        let mut stats = GcStats::default();
        assert!(diff.check(&wasm, 0, &mut stats).is_none());
        stats
    });
    assert_eq!(stats.base.executions, 2, "{stats}");
    assert_eq!(stats.exceptions, 1, "{stats}");
    assert!(stats.objects >= 3, "{stats}");
    assert!(stats.i31s >= 1, "{stats}");

    // An i31 two levels down, in the dynamic setup only.
    fn i31(setup: Setup, text: &mut String) {
        if setup == Setup::Dynamic {
            *text = text.replace("i31:-3", "i31:-4");
        }
    }
    let d = diverge(NESTED, i31).expect("a changed nested i31 is seen");
    assert_eq!(d.kind, DivergenceKind::Call, "{d}");
    assert!(
        d.detail.contains("i31:-3") && d.detail.contains("i31:-4"),
        "{d}"
    );

    // An array element inside the struct, through the artifact.
    fn element(setup: Setup, text: &mut String) {
        if setup == Setup::Artifact {
            *text = text.replace("i64:2", "i64:3");
        }
    }
    let d = diverge(NESTED, element).expect("a changed array element is seen");
    assert!(d.detail.contains("array<i64>[2](i64:1, i64:2)"), "{d}");

    // The uncaught exception's tag and payload.
    fn payload(setup: Setup, text: &mut String) {
        if setup == Setup::TinyHeap {
            *text = text.replace("exn tag `t`(i32:5", "exn tag `t`(i32:6");
        }
    }
    let d = diverge(NESTED, payload).expect("a changed exception payload is seen");
    assert!(
        d.detail.contains("exception exn tag `t`(i32:5, struct{"),
        "{d}"
    );
}

#[test]
fn running_out_of_the_tiny_heap_is_the_allowed_difference() {
    // 40 arrays of 10,000 i64 (about 3.2 MB in all), the last one live: 80 KB
    // of live data is over the tiny heap's 64 KiB, and the whole is well
    // under the others' 16 MiB. The tiny heap traps, the others return; the tiny setup then leaves the argument set, and the call
    // after it is still compared among the other three.
    let wat = r#"(module
      (type $a (array (mut i64)))
      (global $keep (export "keep") (mut (ref null $a)) (ref.null $a))
      (func (export "alloc") (result i32) (local $i i32)
        (loop $l
          (global.set $keep (array.new $a (i64.const 9) (i32.const 10000)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))
        (array.len (global.get $keep)))
      (func (export "after") (result i64) (array.get $a (global.get $keep) (i32.const 999))))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let stats = with_big_stack(move || {
        let diff = GcDifferential::new(2).unwrap();
        let mut stats = GcStats::default();
        let d = diff.check(&wasm, 0, &mut stats);
        assert!(d.is_none(), "{}", d.unwrap());
        stats
    });
    assert_eq!(stats.heap_exhausted, 2, "once per argument set: {stats}");
    assert_eq!(stats.base.executions, 4, "{stats}");

    // Over 16 MiB: every setup runs out, alike, which is no divergence.
    let wat = r#"(module
      (type $a (array (mut i64)))
      (func (export "huge") (result i32) (array.len (array.new_default $a (i32.const 4000000)))))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let stats = with_big_stack(move || {
        let diff = GcDifferential::new(1).unwrap();
        let mut stats = GcStats::default();
        let d = diff.check(&wasm, 0, &mut stats);
        assert!(d.is_none(), "{}", d.unwrap());
        stats
    });
    assert_eq!(
        stats.base.trap_kinds.get("GcHeapOutOfMemory"),
        Some(&1),
        "{stats}"
    );
    assert_eq!(stats.heap_exhausted, 0, "{stats}");
}

#[test]
fn a_difference_other_than_tiny_heap_exhaustion_is_a_divergence() {
    // The tiny setup reporting a different trap is not heap exhaustion.
    fn other_trap(setup: Setup, text: &mut String) {
        if setup == Setup::TinyHeap && text.starts_with("values") {
            *text = "trap UnreachableCodeReached".to_string();
        }
    }
    let d = diverge(NESTED, other_trap).expect("a different outcome is a divergence");
    assert_eq!(d.kind, DivergenceKind::Call, "{d}");
    // Nor is a changed global in any setup.
    let wat = r#"(module (global (export "g") (mut i32) (i32.const 1))
      (func (export "f") (global.set 0 (i32.const 2))))"#;
    fn global(setup: Setup, text: &mut String) {
        if setup == Setup::TinyHeap {
            *text = text.replace("i32:2", "i32:3");
        }
    }
    let d = diverge(wat, global).expect("a different global is a divergence");
    assert_eq!(d.kind, DivergenceKind::State, "{d}");
}

/// The largest resident set this process has had, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Found by `tern-fuzz gc` (seed 28, which took 113 s and 2.7 GB): a constant
/// expression's `array.new` grew the GC heap and wrote every element before
/// instantiation asked the store's limiter, once, at the end. Under a 16 MiB
/// limit this module made Tern fill 1 GiB byte by byte, then fail. Constant
/// expressions now allocate through the store's allocator, which asks the
/// limiter before growing (`tern::gc::const_eval`).
#[test]
fn constant_array_allocation_asks_the_limiter_first() {
    let wat = r#"(module (type $bytes (array (mut i8)))
      (global (ref $bytes) (array.new $bytes (i32.const 1) (i32.const 0x40000000))))"#;
    let mut config = tern::Config::new();
    config.wasm_gc(true);
    let engine = tern::Engine::new(&config).unwrap();
    let module = tern::Module::new(&engine, wat).unwrap();
    let limits = tern::StoreLimitsBuilder::new()
        .memory_size(16 << 20)
        .build();
    let mut store = tern::Store::new(&engine, limits);
    store.limiter(|l| l);
    let before = peak_rss_kib();
    let result = tern::Instance::new(&mut store, &module, &[]);
    assert!(result.is_err(), "1 GiB cannot fit a 16 MiB limit");
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(
        grown < 64 << 10,
        "instantiation touched {grown} KiB of memory under a 16 MiB limit"
    );
}

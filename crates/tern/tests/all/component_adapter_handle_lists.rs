//! Lists of resource handles through compiled component-to-component
//! adapters, against the host-fused path: `list<own>` moved (both
//! directions), `list<borrow>` lent (to the resource's definer, which gets
//! reps, and to another component, which gets handles it must drop), empty
//! lists, an invalid handle in the middle of a list, and the own/borrow
//! rules broken across a list. Both engines (compiled adapters, and
//! `Config::component_compiled_adapters(false)`) must agree exactly on
//! values, destructor counts and trap messages; the values are also checked
//! against what the canonical ABI prescribes.

use tern::component::{Component, Linker, Val};
use tern::{Config, Engine, Store};

fn engine(adapters: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.component_compiled_adapters(adapters);
    Engine::new(&config).expect("component engine")
}

/// A core bump allocator `realloc` over memory `mem` (never frees).
const REALLOC: &str = r#"
      (memory (export "mem") 1)
      (global $top (mut i32) (i32.const 4096))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
        (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
        (global.set $top (i32.add (local.get $p) (local.get 3)))
        (local.get $p))"#;

fn component() -> String {
    r#"(component
  ;; Defines resource `r` (destructor counted) and takes or gives lists of it.
  (component $D
    (core module $M
      (global $dtors (mut i32) (i32.const 0))
      (func (export "dtor") (param i32)
        (global.set $dtors (i32.add (global.get $dtors) (i32.const 1))))
      (func (export "dtors") (result i32) (global.get $dtors)))
    (core instance $m (instantiate $M))
    (type $R (resource (rep i32) (dtor (core func $m "dtor"))))
    (core func $new (canon resource.new $R))
    (core func $drop (canon resource.drop $R))
    (core func $rep (canon resource.rep $R))
    (core module $N
      (import "" "new" (func $new (param i32) (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (import "" "rep" (func $rep (param i32) (result i32)))
      REALLOC
      (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
      ;; `list<own>`: each consumed; the reps summed, weighted by position.
      (func (export "sum-own") (param $p i32) (param $n i32) (result i32)
        (local $s i32) (local $i i32) (local $h i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $h (i32.load (local.get $p)))
          (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (call $rep (local.get $h)))))
          (call $drop (local.get $h))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $l)))
        (local.get $s))
      ;; `list<borrow>`: the definer gets the reps; summed, weighted by position.
      (func (export "sum-borrow") (param $p i32) (param $n i32) (result i32)
        (local $s i32) (local $i i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (i32.load (local.get $p)))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $l)))
        (local.get $s))
      (func (export "lend-and-take") (param i32 i32 i32) (result i32) (i32.const 0))
      ;; `$n` new resources with reps `$base`, `$base + 1`, …, returned as a list.
      (func (export "make-list") (param $base i32) (param $n i32) (result i32) (local $i i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (i32.store (i32.add (i32.const 64) (i32.shl (local.get $i) (i32.const 2)))
            (call $new (i32.add (local.get $base) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (local.get $n))
        (i32.const 0)))
    (core instance $n (instantiate $N (with "" (instance
      (export "new" (func $new)) (export "drop" (func $drop)) (export "rep" (func $rep))))))
    (export $R' "r" (type $R))
    (func (export "make") (param "rep" u32) (result (own $R')) (canon lift (core func $n "make")))
    (func (export "sum-own") (param "l" (list (own $R'))) (result u32)
      (canon lift (core func $n "sum-own") (memory (core memory $n "mem")) (realloc (core func $n "realloc"))))
    (func (export "sum-borrow") (param "l" (list (borrow $R'))) (result u32)
      (canon lift (core func $n "sum-borrow") (memory (core memory $n "mem")) (realloc (core func $n "realloc"))))
    (func (export "lend-and-take") (param "l" (list (borrow $R'))) (param "o" (own $R')) (result u32)
      (canon lift (core func $n "lend-and-take") (memory (core memory $n "mem")) (realloc (core func $n "realloc"))))
    (func (export "make-list") (param "base" u32) (param "n" u32) (result (list (own $R')))
      (canon lift (core func $n "make-list") (memory (core memory $n "mem"))))
    (func (export "dtors") (result u32) (canon lift (core func $m "dtors"))))
  (instance $d1 (instantiate $D))
  (alias export $d1 "r" (type $R1))

  ;; Uses the resource without defining it: borrows arrive as handles.
  (component $B
    (import "r" (type $R (sub resource)))
    (core func $drop (canon resource.drop $R))
    (core module $M
      (import "" "drop" (func $drop (param i32)))
      REALLOC
      ;; Drops every handle of the list; returns how many.
      (func $drop-all (export "drop-all") (param $p i32) (param $n i32) (result i32) (local $i i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (call $drop (i32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (local.get $n))
      ;; Keeps its borrows: a trap when the call returns (unless empty).
      (func (export "keep") (param i32 i32) (result i32) (local.get 1)))
    (core instance $m (instantiate $M (with "" (instance (export "drop" (func $drop))))))
    (func (export "drop-borrows") (param "l" (list (borrow $R))) (result u32)
      (canon lift (core func $m "drop-all") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
    (func (export "keep-borrows") (param "l" (list (borrow $R))) (result u32)
      (canon lift (core func $m "keep") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
    (func (export "drop-owns") (param "l" (list (own $R))) (result u32)
      (canon lift (core func $m "drop-all") (memory (core memory $m "mem")) (realloc (core func $m "realloc")))))
  (instance $b (instantiate $B (with "r" (type $R1))))

  (core module $Mem REALLOC)
  (core instance $mem (instantiate $Mem))
  (core func $make (canon lower (func $d1 "make")))
  (core func $sumown (canon lower (func $d1 "sum-own") (memory (core memory $mem "mem"))))
  (core func $sumborrow (canon lower (func $d1 "sum-borrow") (memory (core memory $mem "mem"))))
  (core func $lendtake (canon lower (func $d1 "lend-and-take") (memory (core memory $mem "mem"))))
  (core func $makelist (canon lower (func $d1 "make-list")
    (memory (core memory $mem "mem")) (realloc (core func $mem "realloc"))))
  (core func $bdrop (canon lower (func $b "drop-borrows") (memory (core memory $mem "mem"))))
  (core func $bkeep (canon lower (func $b "keep-borrows") (memory (core memory $mem "mem"))))
  (core func $bdropown (canon lower (func $b "drop-owns") (memory (core memory $mem "mem"))))
  (core func $drop1 (canon resource.drop $R1))
  (core module $U
    (import "" "mem" (memory 1))
    (import "" "make" (func $make (param i32) (result i32)))
    (import "" "sumown" (func $sumown (param i32 i32) (result i32)))
    (import "" "sumborrow" (func $sumborrow (param i32 i32) (result i32)))
    (import "" "lendtake" (func $lendtake (param i32 i32 i32) (result i32)))
    (import "" "makelist" (func $makelist (param i32 i32 i32)))
    (import "" "bdrop" (func $bdrop (param i32 i32) (result i32)))
    (import "" "bkeep" (func $bkeep (param i32 i32) (result i32)))
    (import "" "bdropown" (func $bdropown (param i32 i32) (result i32)))
    (import "" "drop1" (func $drop1 (param i32)))
    ;; Handles of new resources with reps x, x+1, x+2 at addresses 0, 4, 8.
    (func $three (param $x i32)
      (i32.store (i32.const 0) (call $make (local.get $x)))
      (i32.store (i32.const 4) (call $make (i32.add (local.get $x) (i32.const 1))))
      (i32.store (i32.const 8) (call $make (i32.add (local.get $x) (i32.const 2)))))
    (func (export "own-list") (param $x i32) (result i32)
      (call $three (local.get $x))
      (call $sumown (i32.const 0) (i32.const 3)))
    ;; Lent to the definer, then to $B (which drops its borrows), then
    ;; dropped here: the lends ended with each call.
    (func (export "borrow-list") (param $x i32) (result i32) (local $v i32)
      (call $three (local.get $x))
      (local.set $v (call $sumborrow (i32.const 0) (i32.const 3)))
      (local.set $v (i32.add (local.get $v)
        (i32.mul (i32.const 1000) (call $bdrop (i32.const 0) (i32.const 3)))))
      (call $drop1 (i32.load (i32.const 0)))
      (call $drop1 (i32.load (i32.const 4)))
      (call $drop1 (i32.load (i32.const 8)))
      (local.get $v))
    (func (export "empty") (param $x i32) (result i32)
      (i32.add (call $sumown (local.get $x) (i32.const 0))
        (i32.add (call $sumborrow (local.get $x) (i32.const 0))
          (i32.add (call $bkeep (local.get $x) (i32.const 0))
            (call $bdropown (local.get $x) (i32.const 0))))))
    ;; Four resources made by the definer, moved here in a list, then
    ;; moved back and consumed.
    (func (export "returned") (param $x i32) (result i32) (local $p i32) (local $n i32)
      (call $makelist (local.get $x) (i32.const 4) (i32.const 16))
      (local.set $p (i32.load (i32.const 16)))
      (local.set $n (i32.load (i32.const 20)))
      (i32.add (i32.mul (local.get $n) (i32.const 100000))
        (call $sumown (local.get $p) (local.get $n))))
    (func (export "returned-empty") (param $x i32) (result i32)
      (call $makelist (local.get $x) (i32.const 0) (i32.const 16))
      (i32.add (i32.load (i32.const 20)) (call $sumown (i32.load (i32.const 16)) (i32.const 0))))
    (func (export "owns-to-b") (param $x i32) (result i32)
      (call $three (local.get $x))
      (call $bdropown (i32.const 0) (i32.const 3)))
    (func (export "bad-own") (param $x i32) (result i32)
      (call $three (local.get $x))
      (i32.store (i32.const 4) (i32.const 99))
      (call $sumown (i32.const 0) (i32.const 3)))
    (func (export "bad-borrow") (param $x i32) (result i32)
      (call $three (local.get $x))
      (i32.store (i32.const 4) (i32.const 99))
      (call $sumborrow (i32.const 0) (i32.const 3)))
    (func (export "bad-borrow-b") (param $x i32) (result i32)
      (call $three (local.get $x))
      (i32.store (i32.const 8) (i32.const 99))
      (call $bdrop (i32.const 0) (i32.const 3)))
    (func (export "twice-own") (param $x i32) (result i32)
      (call $three (local.get $x))
      (i32.store (i32.const 8) (i32.load (i32.const 0)))
      (call $sumown (i32.const 0) (i32.const 3)))
    (func (export "keep-borrows") (param $x i32) (result i32)
      (call $three (local.get $x))
      (call $bkeep (i32.const 0) (i32.const 3)))
    (func (export "lend-and-take") (param $x i32) (result i32)
      (call $three (local.get $x))
      (call $lendtake (i32.const 0) (i32.const 3) (i32.load (i32.const 4))))
    (func (export "unaligned") (param $x i32) (result i32)
      (call $three (local.get $x))
      (call $sumown (i32.const 2) (i32.const 2))))
  (core instance $u (instantiate $U (with "" (instance
    (export "mem" (memory $mem "mem"))
    (export "make" (func $make)) (export "sumown" (func $sumown)) (export "sumborrow" (func $sumborrow))
    (export "lendtake" (func $lendtake)) (export "makelist" (func $makelist))
    (export "bdrop" (func $bdrop)) (export "bkeep" (func $bkeep)) (export "bdropown" (func $bdropown))
    (export "drop1" (func $drop1))))))
  EXPORTS
  (export "dtors" (func $d1 "dtors"))
)"#
    .replace("REALLOC", REALLOC)
    .replace(
        "EXPORTS",
        &NAMES
            .iter()
            .map(|n| {
                format!(
                    r#"(func (export "{n}") (param "x" u32) (result u32) (canon lift (core func $u "{n}")))"#
                )
            })
            .collect::<Vec<_>>()
            .join("\n  "),
    )
}

/// The root's exports (each `func(x: u32) -> u32`).
const NAMES: [&str; 13] = [
    "own-list",
    "borrow-list",
    "empty",
    "returned",
    "returned-empty",
    "owns-to-b",
    "bad-own",
    "bad-borrow",
    "bad-borrow-b",
    "twice-own",
    "keep-borrows",
    "lend-and-take",
    "unaligned",
];

/// The lowered functions that call another inlined instance's lifted
/// function (all but `resource.drop`).
const COMPONENT_CALLS: usize = 8;

/// What one call did: its result or the root cause of its error, then the
/// definer's destructor count asked right after (or why that failed).
type Outcome = (Result<Val, String>, Result<Val, String>);

fn call(store: &mut Store<()>, f: tern::component::Func, args: &[Val]) -> Result<Val, String> {
    let mut result = [Val::Bool(false)];
    f.call(&mut *store, args, &mut result)
        .map(|()| result[0].clone())
        .map_err(|e| format!("{:#}", e.root_cause()))
}

/// Runs `calls` in order on one fresh instance of `component`.
fn run(component: &Component, calls: &[(&str, u32)]) -> Vec<Outcome> {
    let engine = component.engine();
    let mut store = Store::new(engine, ());
    let instance = Linker::<()>::new(engine)
        .instantiate(&mut store, component)
        .unwrap();
    let mut out = Vec::new();
    for (name, x) in calls {
        let f = instance.get_func(&mut store, name).expect(name);
        let r = call(&mut store, f, &[Val::U32(*x)]);
        let dtors = instance.get_func(&mut store, "dtors").unwrap();
        let d = call(&mut store, dtors, &[]);
        out.push((r, d));
    }
    out
}

fn compiled_and_fused() -> (Component, Component) {
    let text = component();
    let compiled = Component::new(&engine(true), &text).expect("compiles with adapters");
    let fused = Component::new(&engine(false), &text).expect("compiles fused");
    (compiled, fused)
}

#[test]
fn handle_list_calls_are_compiled() {
    let (compiled, fused) = compiled_and_fused();
    assert_eq!(compiled.fused_calls(), Vec::<(u32, String)>::new());
    assert_eq!(compiled.compiled_adapters(), COMPONENT_CALLS);
    assert_eq!(fused.compiled_adapters(), 0);
    assert_eq!(fused.fused_calls().len(), COMPONENT_CALLS);
}

#[test]
fn handle_lists_cross_compiled_as_fused() {
    let (compiled, fused) = compiled_and_fused();
    let u = |v: u32| Ok(Val::U32(v));
    let calls = [
        ("own-list", 10),
        ("borrow-list", 20),
        ("empty", 256),
        ("returned", 50),
        ("returned-empty", 70),
        ("owns-to-b", 5),
        ("own-list", 1),
    ];
    let a = run(&compiled, &calls);
    assert_eq!(a, run(&fused, &calls), "compiled vs fused");
    assert_eq!(
        a,
        vec![
            // 1*10 + 2*11 + 3*12, all three consumed.
            (u(68), u(3)),
            // 1*20 + 2*21 + 3*22, then $B dropped 3 borrows; dropped here.
            (u(3128), u(6)),
            (u(0), u(6)),
            // 4 moved out and back: 1*50 + 2*51 + 3*52 + 4*53.
            (u(400_520), u(10)),
            (u(0), u(10)),
            (u(3), u(13)),
            (u(1 + 4 + 9), u(16)),
        ]
    );
}

#[test]
fn handle_list_rules_broken_trap_as_fused() {
    let (compiled, fused) = compiled_and_fused();
    let cases: &[(&str, &str)] = &[
        ("bad-own", "unknown handle index 99"),
        ("bad-borrow", "unknown handle index 99"),
        ("bad-borrow-b", "unknown handle index 99"),
        ("twice-own", "unknown handle index 1"),
        (
            "keep-borrows",
            "borrow handles still remain at the end of the call",
        ),
        (
            "lend-and-take",
            "cannot remove owned resource while borrowed",
        ),
        ("unaligned", "unaligned pointer"),
    ];
    for (name, message) in cases {
        // The failing call, then one that would work on a healthy instance.
        let calls = [(*name, 7), ("own-list", 1)];
        let a = run(&compiled, &calls);
        assert_eq!(a, run(&fused, &calls), "{name}: compiled vs fused");
        let err = a[0].0.clone().unwrap_err();
        assert!(err.contains(message), "{name}: {err}");
    }
}

#[test]
fn handle_lists_survive_a_precompiled_round_trip() {
    let (compiled, _) = compiled_and_fused();
    let bytes = compiled.serialize().unwrap();
    // SAFETY: the bytes were just written by this Tern.
    let loaded = unsafe { Component::deserialize(compiled.engine(), &bytes) }.unwrap();
    assert_eq!(loaded.compiled_adapters(), COMPONENT_CALLS);
    let calls = [("returned", 3), ("borrow-list", 4), ("bad-own", 1)];
    assert_eq!(run(&loaded, &calls), run(&compiled, &calls));
}

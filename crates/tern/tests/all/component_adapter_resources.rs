//! Resource handles through compiled component-to-component adapters,
//! against the host-fused path.
//!
//! One component instantiates a resource definer `$D` twice (two distinct
//! resource types) and a borrower `$B` twice (over `$D`'s first type, and
//! over a host resource), and its root core code calls them through lowered
//! functions — compiled adapters on one engine, fused calls on the other
//! (`Config::component_compiled_adapters(false)`). Each scenario either
//! returns a value, with guest and host destructor counts, or breaks one
//! own/borrow rule on purpose and traps; both engines must agree exactly
//! (values, counts, and the trap's message), and a few results are checked
//! against what the canonical ABI prescribes.

use tern::component::{Component, Linker, Resource, ResourceType, Val};
use tern::{Config, Engine, Store};

fn engine(adapters: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.component_compiled_adapters(adapters);
    Engine::new(&config).expect("component engine")
}

/// The host resource's marker type.
struct Hr;

/// Store data: how often the host destructor ran, and with which reps.
#[derive(Default)]
struct HostData {
    dropped: Vec<u32>,
}

const COMPONENT: &str = r#"(component
  (import "host" (instance $h
    (export "hr" (type $HR (sub resource)))
    (export "make-hr" (func (param "v" u32) (result (own $HR))))
    (export "consume-hr" (func (param "r" (own $HR)) (result u32)))
    (export "rep-hr" (func (param "r" (borrow $HR)) (result u32)))))
  (alias export $h "hr" (type $HR))

  ;; Defines resource `r` (destructor counted), and functions over it.
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
      (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
      ;; A borrow of its own resource arrives as the rep.
      (func (export "rep") (param i32) (result i32) (local.get 0))
      (func $consume (export "consume") (param i32) (result i32) (local $r i32)
        (local.set $r (call $rep (local.get 0)))
        (call $drop (local.get 0))
        (local.get $r))
      (func (export "echo") (param i32) (result i32) (local.get 0))
      (func (export "both") (param i32 i32))
      ;; `option<own>`: the rep plus 1000 (consumed), or 0.
      (func (export "opt") (param i32 i32) (result i32)
        (if (result i32) (local.get 0)
          (then (i32.add (i32.const 1000) (call $consume (local.get 1))))
          (else (i32.const 0))))
      ;; `record { b: borrow, o: own }`: the two reps added (the own consumed).
      (func (export "rec") (param i32 i32) (result i32)
        (i32.add (local.get 0) (call $consume (local.get 1)))))
    (core instance $n (instantiate $N (with "" (instance
      (export "new" (func $new)) (export "drop" (func $drop)) (export "rep" (func $rep))))))
    (export $R' "r" (type $R))
    (func (export "make") (param "rep" u32) (result (own $R')) (canon lift (core func $n "make")))
    (func (export "rep") (param "r" (borrow $R')) (result u32) (canon lift (core func $n "rep")))
    (func (export "consume") (param "r" (own $R')) (result u32) (canon lift (core func $n "consume")))
    (func (export "echo") (param "r" (own $R')) (result (own $R')) (canon lift (core func $n "echo")))
    (func (export "both") (param "b" (borrow $R')) (param "o" (own $R'))
      (canon lift (core func $n "both")))
    (func (export "opt") (param "o" (option (own $R'))) (result u32) (canon lift (core func $n "opt")))
    (type $pair' (record (field "b" (borrow $R')) (field "o" (own $R'))))
    (export $pair "pair" (type $pair'))
    (func (export "rec") (param "p" $pair) (result u32) (canon lift (core func $n "rec")))
    (func (export "dtors") (result u32) (canon lift (core func $m "dtors"))))
  (instance $d1 (instantiate $D))
  (instance $d2 (instantiate $D))
  (alias export $d1 "r" (type $R1))
  (alias export $d2 "r" (type $R2))

  ;; Uses a resource it does not define: borrows arrive as handles.
  (component $B
    (import "r" (type $R (sub resource)))
    (import "consume" (func $consume (param "r" (own $R)) (result u32)))
    (import "rep" (func $rep (param "r" (borrow $R)) (result u32)))
    (core func $drop (canon resource.drop $R))
    (core func $consume' (canon lower (func $consume)))
    (core func $rep' (canon lower (func $rep)))
    (core module $M
      (import "" "drop" (func $drop (param i32)))
      (import "" "consume" (func $consume (param i32) (result i32)))
      (import "" "rep" (func $rep (param i32) (result i32)))
      ;; Keeps the borrow: a trap when the call returns.
      (func (export "keep") (param i32) (result i32) (local.get 0))
      (func (export "drop") (param i32) (result i32) (call $drop (local.get 0)) (i32.const 5))
      ;; Lends its borrow on, then drops it.
      (func (export "forward") (param i32) (result i32) (local $v i32)
        (local.set $v (call $rep (local.get 0)))
        (call $drop (local.get 0))
        (local.get $v))
      ;; Passes its borrow where an own is expected.
      (func (export "misuse") (param i32) (result i32) (call $consume (local.get 0)))
      (func (export "echo") (param i32) (result i32) (local.get 0))
      (func (export "drop-own") (param i32) (call $drop (local.get 0))))
    (core instance $m (instantiate $M (with "" (instance
      (export "drop" (func $drop)) (export "consume" (func $consume')) (export "rep" (func $rep'))))))
    (func (export "keep") (param "b" (borrow $R)) (result u32) (canon lift (core func $m "keep")))
    (func (export "drop") (param "b" (borrow $R)) (result u32) (canon lift (core func $m "drop")))
    (func (export "forward") (param "b" (borrow $R)) (result u32) (canon lift (core func $m "forward")))
    (func (export "misuse") (param "b" (borrow $R)) (result u32) (canon lift (core func $m "misuse")))
    (func (export "echo") (param "o" (own $R)) (result (own $R)) (canon lift (core func $m "echo")))
    (func (export "drop-own") (param "o" (own $R)) (canon lift (core func $m "drop-own"))))
  (instance $b (instantiate $B
    (with "r" (type $R1)) (with "consume" (func $d1 "consume")) (with "rep" (func $d1 "rep"))))
  (instance $bh (instantiate $B
    (with "r" (type $HR)) (with "consume" (func $h "consume-hr")) (with "rep" (func $h "rep-hr"))))

  (core func $make1 (canon lower (func $d1 "make")))
  (core func $rep1 (canon lower (func $d1 "rep")))
  (core func $consume1 (canon lower (func $d1 "consume")))
  (core func $echo1 (canon lower (func $d1 "echo")))
  (core func $both1 (canon lower (func $d1 "both")))
  (core func $opt1 (canon lower (func $d1 "opt")))
  (core func $rec1 (canon lower (func $d1 "rec")))
  (core func $rep2 (canon lower (func $d2 "rep")))
  (core func $consume2 (canon lower (func $d2 "consume")))
  (core func $bkeep (canon lower (func $b "keep")))
  (core func $bdrop (canon lower (func $b "drop")))
  (core func $bforward (canon lower (func $b "forward")))
  (core func $bmisuse (canon lower (func $b "misuse")))
  (core func $becho (canon lower (func $b "echo")))
  (core func $bdropown (canon lower (func $b "drop-own")))
  (core func $makehr (canon lower (func $h "make-hr")))
  (core func $hkeep (canon lower (func $bh "keep")))
  (core func $hforward (canon lower (func $bh "forward")))
  (core func $hecho (canon lower (func $bh "echo")))
  (core func $hdropown (canon lower (func $bh "drop-own")))
  (core func $drop1 (canon resource.drop $R1))
  (core module $U
    (import "" "make1" (func $make1 (param i32) (result i32)))
    (import "" "rep1" (func $rep1 (param i32) (result i32)))
    (import "" "consume1" (func $consume1 (param i32) (result i32)))
    (import "" "echo1" (func $echo1 (param i32) (result i32)))
    (import "" "both1" (func $both1 (param i32 i32)))
    (import "" "opt1" (func $opt1 (param i32 i32) (result i32)))
    (import "" "rec1" (func $rec1 (param i32 i32) (result i32)))
    (import "" "rep2" (func $rep2 (param i32) (result i32)))
    (import "" "consume2" (func $consume2 (param i32) (result i32)))
    (import "" "bkeep" (func $bkeep (param i32) (result i32)))
    (import "" "bdrop" (func $bdrop (param i32) (result i32)))
    (import "" "bforward" (func $bforward (param i32) (result i32)))
    (import "" "bmisuse" (func $bmisuse (param i32) (result i32)))
    (import "" "becho" (func $becho (param i32) (result i32)))
    (import "" "bdropown" (func $bdropown (param i32)))
    (import "" "makehr" (func $makehr (param i32) (result i32)))
    (import "" "hkeep" (func $hkeep (param i32) (result i32)))
    (import "" "hforward" (func $hforward (param i32) (result i32)))
    (import "" "hecho" (func $hecho (param i32) (result i32)))
    (import "" "hdropown" (func $hdropown (param i32)))
    (import "" "drop1" (func $drop1 (param i32)))
    ;; 5x: borrowed twice, moved to the definer and back, moved through $B
    ;; and back, lent on by $B, consumed (one destructor run).
    (func (export "own-round") (param i32) (result i32) (local $h i32) (local $v i32)
      (local.set $h (call $make1 (local.get 0)))
      (local.set $v (i32.add (call $rep1 (local.get $h)) (call $rep1 (local.get $h))))
      (local.set $h (call $echo1 (local.get $h)))
      (local.set $v (i32.add (local.get $v) (call $rep1 (local.get $h))))
      (local.set $h (call $becho (local.get $h)))
      (local.set $v (i32.add (local.get $v) (call $bforward (local.get $h))))
      (i32.add (local.get $v) (call $consume1 (local.get $h))))
    ;; Lent to $B twice (it drops its borrow each time), then moved to $B,
    ;; which drops it: the definer's destructor runs once.
    (func (export "lend") (param i32) (result i32) (local $h i32) (local $v i32)
      (local.set $h (call $make1 (local.get 0)))
      (local.set $v (call $bdrop (local.get $h)))
      (local.set $v (i32.add (local.get $v) (call $bforward (local.get $h))))
      (call $bdropown (local.get $h))
      (local.get $v))
    ;; Made and dropped by the root itself, after a lend.
    (func (export "drop-here") (param i32) (result i32) (local $h i32) (local $v i32)
      (local.set $h (call $make1 (local.get 0)))
      (local.set $v (call $rep1 (local.get $h)))
      (call $drop1 (local.get $h))
      (local.get $v))
    (func (export "opt-some") (param i32) (result i32)
      (call $opt1 (i32.const 1) (call $make1 (local.get 0))))
    ;; `none`: the payload slot is garbage and must not be touched.
    (func (export "opt-none") (param i32) (result i32)
      (call $opt1 (i32.const 0) (local.get 0)))
    (func (export "opt-bad") (param i32) (result i32)
      (call $opt1 (i32.const 2) (call $make1 (local.get 0))))
    (func (export "rec") (param i32) (result i32) (local $h i32) (local $v i32)
      (local.set $h (call $make1 (local.get 0)))
      (local.set $v (call $rec1 (local.get $h) (call $make1 (i32.add (local.get 0) (i32.const 1)))))
      (call $drop1 (local.get $h))
      (local.get $v))
    (func (export "rec-same") (param i32) (result i32) (local $h i32)
      (local.set $h (call $make1 (local.get 0)))
      (call $rec1 (local.get $h) (local.get $h)))
    (func (export "keep") (param i32) (result i32)
      (call $bkeep (call $make1 (local.get 0))))
    (func (export "both") (param i32) (result i32) (local $h i32)
      (local.set $h (call $make1 (local.get 0)))
      (call $both1 (local.get $h) (local.get $h))
      (i32.const 0))
    (func (export "unknown") (param i32) (result i32) (call $rep1 (local.get 0)))
    (func (export "unknown-own") (param i32) (result i32) (call $consume1 (local.get 0)))
    (func (export "moved") (param i32) (result i32) (local $h i32)
      (local.set $h (call $make1 (local.get 0)))
      (drop (call $consume1 (local.get $h)))
      (call $consume1 (local.get $h)))
    (func (export "wrong-type") (param i32) (result i32)
      (call $rep2 (call $make1 (local.get 0))))
    (func (export "wrong-type-own") (param i32) (result i32)
      (call $consume2 (call $make1 (local.get 0))))
    (func (export "misuse") (param i32) (result i32)
      (call $bmisuse (call $make1 (local.get 0))))
    ;; A host resource between two guest instances: lent on to the host,
    ;; moved through $B and back, dropped by $B (the host destructor runs).
    (func (export "host-round") (param i32) (result i32) (local $h i32) (local $v i32)
      (local.set $h (call $makehr (local.get 0)))
      (local.set $v (call $hforward (local.get $h)))
      (local.set $h (call $hecho (local.get $h)))
      (local.set $v (i32.add (local.get $v) (call $hforward (local.get $h))))
      (call $hdropown (local.get $h))
      (local.get $v))
    (func (export "host-keep") (param i32) (result i32)
      (call $hkeep (call $makehr (local.get 0)))))
  (core instance $u (instantiate $U (with "" (instance
    (export "make1" (func $make1)) (export "rep1" (func $rep1)) (export "consume1" (func $consume1))
    (export "echo1" (func $echo1)) (export "both1" (func $both1))
    (export "opt1" (func $opt1)) (export "rec1" (func $rec1)) (export "rep2" (func $rep2)) (export "consume2" (func $consume2))
    (export "bkeep" (func $bkeep)) (export "bdrop" (func $bdrop)) (export "bforward" (func $bforward))
    (export "bmisuse" (func $bmisuse)) (export "becho" (func $becho)) (export "bdropown" (func $bdropown))
    (export "makehr" (func $makehr)) (export "hkeep" (func $hkeep)) (export "hforward" (func $hforward))
    (export "hecho" (func $hecho)) (export "hdropown" (func $hdropown)) (export "drop1" (func $drop1))))))
  (func (export "own-round") (param "x" u32) (result u32) (canon lift (core func $u "own-round")))
  (func (export "lend") (param "x" u32) (result u32) (canon lift (core func $u "lend")))
  (func (export "drop-here") (param "x" u32) (result u32) (canon lift (core func $u "drop-here")))
  (func (export "opt-some") (param "x" u32) (result u32) (canon lift (core func $u "opt-some")))
  (func (export "opt-none") (param "x" u32) (result u32) (canon lift (core func $u "opt-none")))
  (func (export "opt-bad") (param "x" u32) (result u32) (canon lift (core func $u "opt-bad")))
  (func (export "rec") (param "x" u32) (result u32) (canon lift (core func $u "rec")))
  (func (export "rec-same") (param "x" u32) (result u32) (canon lift (core func $u "rec-same")))
  (func (export "keep") (param "x" u32) (result u32) (canon lift (core func $u "keep")))
  (func (export "both") (param "x" u32) (result u32) (canon lift (core func $u "both")))
  (func (export "unknown") (param "x" u32) (result u32) (canon lift (core func $u "unknown")))
  (func (export "unknown-own") (param "x" u32) (result u32) (canon lift (core func $u "unknown-own")))
  (func (export "moved") (param "x" u32) (result u32) (canon lift (core func $u "moved")))
  (func (export "wrong-type") (param "x" u32) (result u32) (canon lift (core func $u "wrong-type")))
  (func (export "wrong-type-own") (param "x" u32) (result u32)
    (canon lift (core func $u "wrong-type-own")))
  (func (export "misuse") (param "x" u32) (result u32) (canon lift (core func $u "misuse")))
  (func (export "host-round") (param "x" u32) (result u32) (canon lift (core func $u "host-round")))
  (func (export "host-keep") (param "x" u32) (result u32) (canon lift (core func $u "host-keep")))
  (export "dtors1" (func $d1 "dtors"))
  (export "dtors2" (func $d2 "dtors"))
)"#;

/// The lowered functions above that call another inlined instance's lifted
/// function (every `canon lower` but the host's `make-hr`, and the two
/// inside `$B` over `$D` — the two over the host resource call the host).
const COMPONENT_CALLS: usize = 19 + 2;

fn linker(engine: &Engine) -> Linker<HostData> {
    let mut linker = Linker::<HostData>::new(engine);
    let mut host = linker.instance("host").unwrap();
    host.resource("hr", ResourceType::host::<Hr>(), |mut store, rep| {
        store.data_mut().dropped.push(rep);
        Ok(())
    })
    .unwrap();
    host.func_wrap("make-hr", |_, (v,): (u32,)| {
        Ok((Resource::<Hr>::new_own(v),))
    })
    .unwrap();
    host.func_wrap("consume-hr", |_, (r,): (Resource<Hr>,)| {
        assert!(r.owned());
        Ok((r.rep(),))
    })
    .unwrap();
    host.func_wrap("rep-hr", |_, (r,): (Resource<Hr>,)| {
        assert!(!r.owned());
        Ok((r.rep(),))
    })
    .unwrap();
    linker
}

/// What one call did: its result or the root cause of its error, then (when
/// it returned) the two definers' destructor counts and the host's drops.
type Outcome = (Result<Val, String>, Option<(Val, Val)>, Vec<u32>);

/// Runs `calls` in order on one fresh instance of `component`.
fn run(component: &Component, calls: &[(&str, u32)]) -> Vec<Outcome> {
    let engine = component.engine();
    let mut store = Store::new(engine, HostData::default());
    let instance = linker(engine).instantiate(&mut store, component).unwrap();
    let mut out = Vec::new();
    for (name, x) in calls {
        let f = instance.get_func(&mut store, name).expect(name);
        let mut result = [Val::Bool(false)];
        let r = f
            .call(&mut store, &[Val::U32(*x)], &mut result)
            .map(|()| result[0].clone())
            .map_err(|e| format!("{:#}", e.root_cause()));
        let counts = r.is_ok().then(|| {
            let mut count = |n: &str| {
                let f = instance.get_func(&mut store, n).expect(n);
                let mut c = [Val::Bool(false)];
                f.call(&mut store, &[], &mut c).expect(n);
                c[0].clone()
            };
            (count("dtors1"), count("dtors2"))
        });
        out.push((r, counts, store.data().dropped.clone()));
    }
    out
}

fn compiled_and_fused() -> (Component, Component) {
    let compiled = Component::new(&engine(true), COMPONENT).expect("compiles with adapters");
    let fused = Component::new(&engine(false), COMPONENT).expect("compiles fused");
    (compiled, fused)
}

#[test]
fn handle_calls_are_compiled() {
    let (compiled, fused) = compiled_and_fused();
    assert_eq!(compiled.fused_calls(), Vec::<(u32, String)>::new());
    assert_eq!(compiled.compiled_adapters(), COMPONENT_CALLS);
    assert_eq!(fused.compiled_adapters(), 0);
    assert_eq!(fused.fused_calls().len(), COMPONENT_CALLS);
}

#[test]
fn own_and_borrow_cross_compiled_with_destructors_once() {
    let (compiled, fused) = compiled_and_fused();
    let u = |v: u32| Ok(Val::U32(v));
    let counts = |a: u32, b: u32| Some((Val::U32(a), Val::U32(b)));
    let calls = [
        ("own-round", 7),
        ("lend", 9),
        ("drop-here", 11),
        ("host-round", 21),
        ("own-round", 3),
        ("host-round", 22),
        ("opt-some", 5),
        ("opt-none", 0x7777),
        ("rec", 30),
    ];
    let a = run(&compiled, &calls);
    assert_eq!(a, run(&fused, &calls), "compiled vs fused");
    assert_eq!(
        a,
        vec![
            (u(35), counts(1, 0), vec![]),
            (u(14), counts(2, 0), vec![]),
            (u(11), counts(3, 0), vec![]),
            (u(42), counts(3, 0), vec![21]),
            (u(15), counts(4, 0), vec![21]),
            (u(44), counts(4, 0), vec![21, 22]),
            (u(1005), counts(5, 0), vec![21, 22]),
            (u(0), counts(5, 0), vec![21, 22]),
            (u(61), counts(7, 0), vec![21, 22]),
        ]
    );
}

#[test]
fn every_rule_broken_through_an_adapter_traps_as_fused() {
    let (compiled, fused) = compiled_and_fused();
    let cases: &[(&str, u32, &str)] = &[
        ("keep", 1, "borrow handles still remain at the end of the call"),
        ("host-keep", 1, "borrow handles still remain at the end of the call"),
        ("both", 1, "cannot remove owned resource while borrowed"),
        ("rec-same", 1, "cannot remove owned resource while borrowed"),
        ("opt-bad", 1, "invalid variant discriminant 2 (there are 2 cases)"),
        ("unknown", 7, "unknown handle index 7"),
        ("unknown-own", 0, "unknown handle index 0"),
        ("moved", 1, "unknown handle index 1"),
        (
            "wrong-type",
            1,
            "handle index 1 used with the wrong type, expected guest-defined resource but found a different guest-defined resource",
        ),
        (
            "wrong-type-own",
            1,
            "handle index 1 used with the wrong type, expected guest-defined resource but found a different guest-defined resource",
        ),
        (
            "misuse",
            1,
            "handle index 1 is a borrow, but an owned handle was expected",
        ),
    ];
    for (name, x, message) in cases {
        let a = run(&compiled, &[(name, *x)]);
        let b = run(&fused, &[(name, *x)]);
        assert_eq!(a, b, "{name}: compiled vs fused");
        let err = a[0].0.clone().unwrap_err();
        assert!(err.contains(message), "{name}: {err}");
    }
}

#[test]
fn handles_survive_a_precompiled_round_trip() {
    let (compiled, _) = compiled_and_fused();
    let bytes = compiled.serialize().unwrap();
    // SAFETY: the bytes were just written by this Tern.
    let loaded = unsafe { Component::deserialize(compiled.engine(), &bytes) }.unwrap();
    assert_eq!(loaded.compiled_adapters(), COMPONENT_CALLS);
    let calls = [("own-round", 7), ("keep", 1)];
    assert_eq!(run(&loaded, &calls), run(&compiled, &calls));
}

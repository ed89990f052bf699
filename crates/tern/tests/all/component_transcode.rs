//! Strings crossing component → component in each of the nine (caller
//! encoding × callee encoding) pairs, through compiled adapters and through
//! the host-fused path: the values that come back, the traps, and every
//! `realloc` call each side saw (its arguments and in which order) must be
//! identical, since a guest can observe all of them.
//!
//! One outer component nests a callee `C` (echoing what it gets) and a
//! caller `D` (forwarding the host's value, or raw pointers into its own
//! memory, to `C`). Each has a logging bump allocator whose log the host
//! reads back through an export.

use super::component_gen::ENCODINGS;
use tern::component::{Component, Linker, Val};
use tern::{Config, Engine, Store};

fn engine(adapters: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.component_compiled_adapters(adapters);
    Engine::new(&config).expect("component engine")
}

/// A core module with a memory of `pages` pages, a data segment and a
/// `realloc` that always moves (copying the old block) and logs
/// `(old, old_size, align, new_size, result)` at 0x1000; `log` returns a
/// pointer to the `(ptr, len)` of that log as a `list<u32>`.
fn libc(pages: u32, data: &str) -> String {
    format!(
        r#"(core module $Libc
      (memory (export "mem") {pages})
      (data (i32.const 0x400) "{data}")
      (global $next (mut i32) (i32.const 0x8000))
      (global $n (mut i32) (i32.const 0))
      (func $log1 (param i32)
        (i32.store (i32.add (i32.const 0x1000) (i32.shl (global.get $n) (i32.const 2))) (local.get 0))
        (global.set $n (i32.add (global.get $n) (i32.const 1))))
      (func (export "realloc") (param $old i32) (param $osize i32) (param $align i32) (param $size i32) (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $r) (i32.add (local.get $size) (i32.const 8))))
        (if (local.get $old)
          (then (memory.copy (local.get $r) (local.get $old)
                  (select (local.get $osize) (local.get $size) (i32.lt_u (local.get $osize) (local.get $size))))))
        (call $log1 (local.get $old)) (call $log1 (local.get $osize)) (call $log1 (local.get $align))
        (call $log1 (local.get $size)) (call $log1 (local.get $r))
        (local.get $r))
      (func (export "log") (result i32)
        (i32.store (i32.const 0xf00) (i32.const 0x1000))
        (i32.store (i32.const 0xf04) (global.get $n))
        (i32.const 0xf00)))"#
    )
}

/// Result pointer helpers: core code storing the two `i32` params at `at`
/// and returning `at`.
const STORE2: &str = "(i32.store (i32.const 0xe00) (local.get 0)) (i32.store (i32.const 0xe04) (local.get 1)) (i32.const 0xe00)";

/// The component: `C` lifts `echo-s: func(s: string) -> string`,
/// `echo-l: func(l: list<string>) -> list<string>` and
/// `echo-r: func(r: rec) -> rec` (`rec` = `{ a: u8, s: string, l: list<string> }`)
/// with `callee` encoding; `D` lowers them with `caller` encoding and lifts
/// `run-s`, `run-l`, `run-r` forwarding the host's value, and
/// `raw: func(ptr: u32, len: u32) -> string` passing its own memory's
/// `(ptr, len)` as they are (`run-r` takes the record's fields as
/// parameters and returns a tuple: the same core values and layout). `data` goes at 0x400 of `D`'s memory, which
/// has `pages` pages.
fn component(caller: &str, callee: &str, pages: u32, data: &str) -> String {
    let rec = "(record (field \"a\" u8) (field \"s\" string) (field \"l\" (list string)))";
    let c_libc = libc(4, "");
    let d_libc = libc(pages, data);
    format!(
        r#"(component
  (type $rec {rec})
  (component $C
    (type $rec' {rec}) (import "rec" (type $rec (eq $rec')))
    {c_libc}
    (core instance $libc (instantiate $Libc))
    (core module $M
      (import "" "mem" (memory 1))
      (func (export "echo2") (param i32 i32) (result i32) {STORE2})
      (func (export "echo-r") (param i32 i32 i32 i32 i32) (result i32)
        (i32.store8 (i32.const 0xe40) (local.get 0))
        (i32.store (i32.const 0xe44) (local.get 1)) (i32.store (i32.const 0xe48) (local.get 2))
        (i32.store (i32.const 0xe4c) (local.get 3)) (i32.store (i32.const 0xe50) (local.get 4))
        (i32.const 0xe40)))
    (core instance $m (instantiate $M (with "" (instance (export "mem" (memory $libc "mem"))))))
    (func (export "echo-s") (param "s" string) (result string)
      (canon lift (core func $m "echo2") {callee}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (func (export "echo-l") (param "l" (list string)) (result (list string))
      (canon lift (core func $m "echo2") {callee}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (func (export "echo-r") (param "r" $rec) (result $rec)
      (canon lift (core func $m "echo-r") {callee}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (func (export "log") (result (list u32)) (canon lift (core func $libc "log") (memory (core memory $libc "mem")))))
  (component $D
    (type $rec' {rec}) (import "rec" (type $rec (eq $rec')))
    (import "echo-s" (func $echo-s (param "s" string) (result string)))
    (import "echo-l" (func $echo-l (param "l" (list string)) (result (list string))))
    (import "echo-r" (func $echo-r (param "r" $rec) (result $rec)))
    {d_libc}
    (core instance $libc (instantiate $Libc))
    (core func $echo-s' (canon lower (func $echo-s) {caller}
      (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (core func $echo-l' (canon lower (func $echo-l) {caller}
      (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (core func $echo-r' (canon lower (func $echo-r) {caller}
      (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (core module $M
      (import "" "echo-s" (func $echo-s (param i32 i32 i32)))
      (import "" "echo-l" (func $echo-l (param i32 i32 i32)))
      (import "" "echo-r" (func $echo-r (param i32 i32 i32 i32 i32 i32)))
      (func (export "run-s") (param i32 i32) (result i32)
        (call $echo-s (local.get 0) (local.get 1) (i32.const 0xd00)) (i32.const 0xd00))
      (func (export "run-l") (param i32 i32) (result i32)
        (call $echo-l (local.get 0) (local.get 1) (i32.const 0xd00)) (i32.const 0xd00))
      (func (export "run-r") (param i32 i32 i32 i32 i32) (result i32)
        (call $echo-r (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (i32.const 0xd40))
        (i32.const 0xd40)))
    (core instance $m (instantiate $M (with "" (instance
      (export "echo-s" (func $echo-s')) (export "echo-l" (func $echo-l')) (export "echo-r" (func $echo-r'))))))
    (func (export "run-s") (param "s" string) (result string)
      (canon lift (core func $m "run-s") {caller}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (func (export "run-l") (param "l" (list string)) (result (list string))
      (canon lift (core func $m "run-l") {caller}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (func (export "run-r") (param "a" u8) (param "s" string) (param "l" (list string))
      (result (tuple u8 string (list string)))
      (canon lift (core func $m "run-r") {caller}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (func (export "raw") (param "ptr" u32) (param "len" u32) (result string)
      (canon lift (core func $m "run-s") {caller}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (func (export "log") (result (list u32)) (canon lift (core func $libc "log") (memory (core memory $libc "mem")))))
  (instance $c (instantiate $C (with "rec" (type $rec))))
  (instance $d (instantiate $D (with "rec" (type $rec))
    (with "echo-s" (func $c "echo-s")) (with "echo-l" (func $c "echo-l")) (with "echo-r" (func $c "echo-r"))))
  (func (export "run-s") (alias export $d "run-s"))
  (func (export "run-l") (alias export $d "run-l"))
  (func (export "run-r") (alias export $d "run-r"))
  (func (export "raw") (alias export $d "raw"))
  (func (export "callee-log") (alias export $c "log"))
  (func (export "caller-log") (alias export $d "log")))"#
    )
}

/// What one call observably did: its result (or the root cause of its
/// trap) and, when it returned, the two `realloc` logs after it.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<Val, String>,
    caller_log: Val,
    callee_log: Val,
}

fn run(component: &Component, name: &str, args: &[Val]) -> Outcome {
    let engine = component.engine();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, component)
        .expect("instantiates");
    let f = instance.get_func(&mut store, name).expect(name);
    let mut out = [Val::Bool(false)];
    let result = f
        .call(&mut store, args, &mut out)
        .map(|()| out[0].clone())
        .map_err(|e| format!("{}", e.root_cause()));
    if result.is_err() {
        // A trap leaves both instances unenterable: the logs cannot be read
        // (nor could a guest read them).
        let none = Val::List(vec![]);
        return Outcome {
            result,
            caller_log: none.clone(),
            callee_log: none,
        };
    }
    f.post_return(&mut store).expect("post-return");
    let mut log = |name: &str| {
        let f = instance.get_func(&mut store, name).expect(name);
        let mut out = [Val::Bool(false)];
        f.call(&mut store, &[], &mut out).expect("log");
        f.post_return(&mut store).expect("post-return");
        out[0].clone()
    };
    Outcome {
        caller_log: log("caller-log"),
        callee_log: log("callee-log"),
        result,
    }
}

/// The component for `(caller, callee)` compiled with adapters (and checked
/// to have no fused call left) and fused.
fn both(caller: &str, callee: &str, pages: u32, data: &str) -> (Component, Component) {
    let text = component(caller, callee, pages, data);
    let compiled = Component::new(&engine(true), &text)
        .unwrap_or_else(|e| panic!("{caller} -> {callee}: {e:#}"));
    assert_eq!(
        compiled.fused_calls(),
        vec![],
        "{caller} -> {callee}: every call is compiled"
    );
    assert_eq!(compiled.compiled_adapters(), 3);
    let fused = Component::new(&engine(false), &text).expect("compiles fused");
    (compiled, fused)
}

fn string(s: &str) -> Val {
    Val::String(s.to_string())
}

const SAMPLES: &[&str] = &[
    "",
    "ascii",
    "latin-1 é and ÿ",
    "\u{80}",
    "snowman ☃",
    "cake 🍰 and \u{0} nul",
    "\u{ffff}\u{10000}\u{10ffff}",
];

/// Every value crosses both ways in every pair, with the same result and
/// the same `realloc` calls on both paths.
#[test]
fn every_encoding_pair_matches_the_fused_path() {
    let long = "long ✓ ".repeat(500);
    let strings: Vec<&str> = SAMPLES.iter().copied().chain([long.as_str()]).collect();
    for caller in ENCODINGS {
        for callee in ENCODINGS {
            let (compiled, fused) = both(caller, callee, 4, "");
            let mut calls: Vec<(&str, Val)> =
                strings.iter().map(|s| ("run-s", string(s))).collect();
            calls.push((
                "run-l",
                Val::List(strings.iter().map(|s| string(s)).collect()),
            ));
            calls.push(("run-l", Val::List(vec![])));
            for (name, v) in calls {
                let a = run(&compiled, name, std::slice::from_ref(&v));
                let b = run(&fused, name, std::slice::from_ref(&v));
                assert_eq!(a, b, "{caller} -> {callee}: {name}({v:?})");
                assert_eq!(
                    a.result.as_ref(),
                    Ok(&v),
                    "{caller} -> {callee}: round trip"
                );
            }
            let fields = [
                Val::U8(7),
                string("é☃"),
                Val::List(vec![string("ÿ"), string("🍰"), string("")]),
            ];
            let a = run(&compiled, "run-r", &fields);
            let b = run(&fused, "run-r", &fields);
            assert_eq!(a, b, "{caller} -> {callee}: run-r");
            assert_eq!(
                a.result,
                Ok(Val::Tuple(fields.to_vec())),
                "{caller} -> {callee}: record"
            );
        }
    }
}

/// Raw strings from the caller's memory: invalid ones trap alike on both
/// paths, before the callee's `realloc` runs, valid ones cross alike;
/// `data` at 0x400: bad UTF-8 (`ff`), an unpaired surrogate (at 0x402),
/// Latin-1 bytes, and at 0x408 "éa" in UTF-16.
#[test]
fn raw_strings_cross_or_trap_alike() {
    let data = "\\ff\\00\\00\\d8ab\\e9\\00\\e9\\00a\\00";
    let probes: &[(u32, u32)] = &[
        (0x400, 1),           // utf8: invalid; utf16: unpaired? (0x00ff is fine)
        (0x402, 1),           // utf16: unpaired surrogate 0xd800
        (0x401, 1),           // odd address
        (0x404, 3),           // "ab\e9" as Latin-1 / UTF-8
        (0x402, 0x8000_0001), // latin1+utf16: tagged UTF-16, one unit: the surrogate
        (0x400, 0x8000_0002),
        (0x408, 0x8000_0002), // latin1+utf16: "éa" tagged UTF-16
        (0x408, 2),
        (0x400, 0xffff_ffff), // out of bounds in every encoding
        (0x3fff0, 0x20),
        (0, 0),
    ];
    for caller in ENCODINGS {
        for callee in ENCODINGS {
            let (compiled, fused) = both(caller, callee, 4, data);
            for (ptr, len) in probes {
                let args = [Val::U32(*ptr), Val::U32(*len)];
                let a = run(&compiled, "raw", &args);
                let b = run(&fused, "raw", &args);
                assert_eq!(a, b, "{caller} -> {callee}: raw({ptr:#x}, {len:#x})");
            }
        }
    }
}

/// A string at the canonical ABI's limit: `(1 << 31) - 1` UTF-8 bytes (in a
/// caller memory of 2 GiB + 64 KiB) cannot become UTF-16 (twice as many
/// bytes): the call traps "string too large" before the callee's `realloc`
/// runs, compiled and fused alike; into latin1+utf16 the first guess (one
/// byte per unit) is allowed and the callee's one-page memory cannot hold
/// it, which traps on `realloc`'s result.
#[test]
fn strings_at_the_size_limit() {
    let max = (1u32 << 31) - 1;
    for (callee, expected) in [
        (ENCODINGS[1], "string too large"),
        (ENCODINGS[2], "string content out-of-bounds"),
    ] {
        let (compiled, fused) = both(ENCODINGS[0], callee, 32769, "");
        let args = [Val::U32(0x10000), Val::U32(max)];
        let a = run(&compiled, "raw", &args);
        let b = run(&fused, "raw", &args);
        assert_eq!(a, b, "utf8 -> {callee}");
        let msg = a.result.expect_err("traps");
        assert!(msg.contains(expected), "utf8 -> {callee}: {msg}");
    }
}

/// A latin1+utf16 producer may tag a string UTF-16 although every character
/// fits Latin-1; the canonical ABI keeps that tag with the lifted string, so
/// a latin1+utf16 receiver allocates for UTF-16 and then deflates
/// (`store_probably_utf16_to_latin1_or_utf16`), and a UTF-8 receiver
/// guesses from UTF-16's worst case (3 bytes per unit) — on both paths.
#[test]
fn a_latin1_string_tagged_utf16_keeps_its_tag() {
    let data = "\\00\\00\\00\\00\\00\\00\\00\\00\\e9\\00a\\00";
    let args = [Val::U32(0x408), Val::U32(0x8000_0002)];
    let log = |v: &Val| match v {
        Val::List(items) => items
            .chunks(5)
            .map(|c| match c {
                [Val::U32(old), Val::U32(osize), Val::U32(align), Val::U32(size), Val::U32(_)] => {
                    (*old != 0, *osize, *align, *size)
                }
                _ => panic!("a log entry: {c:?}"),
            })
            .collect::<Vec<_>>(),
        _ => panic!("a log: {v:?}"),
    };
    for (callee, expected) in [
        (ENCODINGS[2], vec![(false, 0, 2, 4), (true, 4, 1, 2)]),
        (
            ENCODINGS[0],
            vec![(false, 0, 1, 2), (true, 2, 1, 6), (true, 6, 1, 3)],
        ),
    ] {
        let (compiled, fused) = both(ENCODINGS[2], callee, 4, data);
        for component in [&compiled, &fused] {
            let out = run(component, "raw", &args);
            assert_eq!(out.result, Ok(string("éa")), "{callee}");
            assert_eq!(log(&out.callee_log), expected, "{callee}");
        }
    }
}

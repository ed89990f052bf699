//! Compiled adapters for values that cross in memory, against the
//! host-fused path: strings of one encoding (UTF-8, UTF-16), lists (copied
//! with `memory.copy` or element by element), nested lists, records,
//! tuples and variants in memory, parameters beyond 16 flat values and
//! results through a return pointer.
//!
//! One component nests a callee and a caller, each with a logging bump
//! allocator (`realloc` records its arguments and result; a mode makes it
//! return misaligned or out-of-bounds pointers from its n-th call on).
//! The callee echoes what it received; its post-return scribbles over its
//! whole heap, so a result copied after post-return would be garbage. Every
//! probe runs on an engine that compiles adapters and on one that fuses on
//! the host, and the results (values or trap messages), both `realloc`
//! logs and both heaps must be identical.

use tern::component::{Component, Instance, Linker, Val};
use tern::{Config, Engine, Store};

fn engine(adapters: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.component_compiled_adapters(adapters);
    Engine::new(&config).expect("component engine")
}

/// The echo cases: name, type, string encoding (both sides).
const CASES: &[(&str, &str, &str)] = &[
    ("s", "string", ""),
    ("lu8", "(list u8)", ""),
    ("lu32", "(list u32)", ""),
    ("lu64", "(list u64)", ""),
    ("lbool", "(list bool)", ""),
    ("lf32", "(list f32)", ""),
    ("lf64", "(list f64)", ""),
    ("lchar", "(list char)", ""),
    ("lrec", "(list $rec)", ""),
    ("lvar", "(list $var)", ""),
    ("llstr", "(list (list string))", ""),
    ("ostr", "(option string)", ""),
    ("res", "(result string (error (list u8)))", ""),
    (
        "tup",
        "(tuple string u32 f64 char (option u8) bool s16)",
        "",
    ),
    ("s16", "string", "string-encoding=utf16"),
    ("l16", "(list string)", "string-encoding=utf16"),
];

/// Seventeen `u32`s: with them, parameters cross in memory.
const PAD: &str = "(tuple u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32)";

const TYPES: &str = r#"(type $rec' (record (field "a" string) (field "b" u8) (field "c" (list u16))))
    (import "rec" (type $rec (eq $rec')))
    (type $var' (variant (case "a" string) (case "b" u64) (case "c")))
    (import "var" (type $var (eq $var')))"#;

/// A core module with memory `mem`, a logging bump allocator `realloc` and
/// the test's accessors. Layout: 0x800 scratch pairs, 0x900 results,
/// 0x1000 the log (5 words a call), 0x8000 free for pokes, 0x10000 the heap.
const ALLOCATOR: &str = r#"(core module $A
    (memory (export "mem") 2)
    (global $top (mut i32) (i32.const 0x10000))
    (global $mode (mut i32) (i32.const 0))
    (global $since (mut i32) (i32.const 0))
    (global $n (mut i32) (i32.const 0))
    (func $note (param i32 i32 i32 i32 i32)
      (local $at i32)
      (if (i32.lt_u (global.get $n) (i32.const 1400))
        (then
          (local.set $at (i32.mul (global.get $n) (i32.const 20)))
          (i32.store offset=0x1000 (local.get $at) (local.get 0))
          (i32.store offset=0x1004 (local.get $at) (local.get 1))
          (i32.store offset=0x1008 (local.get $at) (local.get 2))
          (i32.store offset=0x100c (local.get $at) (local.get 3))
          (i32.store offset=0x1010 (local.get $at) (local.get 4))
          (global.set $n (i32.add (global.get $n) (i32.const 1))))))
    (func (export "note") (param i32 i32 i32 i32 i32)
      (call $note (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $need i32)
      (global.set $top (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                                (i32.sub (i32.const 0) (local.get $align))))
      (local.set $p (global.get $top))
      (global.set $top (i32.add (global.get $top) (local.get $size)))
      (local.set $need (i32.sub (global.get $top) (i32.mul (memory.size) (i32.const 65536))))
      (if (i32.gt_s (local.get $need) (i32.const 0))
        (then (drop (memory.grow (i32.add (i32.shr_u (local.get $need) (i32.const 16)) (i32.const 1))))))
      ;; A real `realloc` keeps the old contents.
      (if (local.get $old)
        (then (memory.copy (local.get $p) (local.get $old)
          (select (local.get $osz) (local.get $size) (i32.lt_u (local.get $osz) (local.get $size))))))
      (call $note (local.get $old) (local.get $osz) (local.get $align) (local.get $size) (local.get $p))
      (global.set $since (i32.add (global.get $since) (i32.const 1)))
      (if (i32.gt_u (global.get $since) (i32.shr_u (global.get $mode) (i32.const 8)))
        (then
          (if (i32.eq (i32.and (global.get $mode) (i32.const 0xff)) (i32.const 1))
            (then (return (i32.add (local.get $p) (i32.const 1)))))
          (if (i32.eq (i32.and (global.get $mode) (i32.const 0xff)) (i32.const 2))
            (then (return (i32.const 0x7ffffff0))))))
      (local.get $p))
    (func (export "scribble")
      (memory.fill (i32.const 0x10000) (i32.const 0xee) (i32.sub (global.get $top) (i32.const 0x10000))))
    (func (export "set-mode") (param i32) (global.set $mode (local.get 0)) (global.set $since (i32.const 0)))
    (func (export "log") (result i32)
      (i32.store (i32.const 0x800) (i32.const 0x1000))
      (i32.store (i32.const 0x804) (i32.mul (global.get $n) (i32.const 5)))
      (i32.const 0x800))
    (func (export "heap") (result i32)
      (i32.store (i32.const 0x808) (i32.const 0x10000))
      (i32.store (i32.const 0x80c) (i32.sub (global.get $top) (i32.const 0x10000)))
      (i32.const 0x808))
    (func (export "peek") (param i32 i32) (result i32)
      (i32.store (i32.const 0x810) (local.get 0))
      (i32.store (i32.const 0x814) (local.get 1))
      (i32.const 0x810))
    (func (export "poke") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2))))
  (core instance $a (instantiate $A))"#;

/// The lifts of the allocator's accessors.
const ACCESSORS: &str = r#"(func (export "set-mode") (param "m" u32) (canon lift (core func $a "set-mode")))
    (func (export "log") (result (list u32)) (canon lift (core func $a "log") (memory (core memory $a "mem"))))
    (func (export "heap") (result (list u8)) (canon lift (core func $a "heap") (memory (core memory $a "mem"))))
    (func (export "peek") (param "at" u32) (param "n" u32) (result (list u8))
      (canon lift (core func $a "peek") (memory (core memory $a "mem"))))
    (func (export "poke") (param "at" u32) (param "bytes" (list u8))
      (canon lift (core func $a "poke") (memory (core memory $a "mem")) (realloc (core func $a "realloc"))))"#;

/// The flat cases: name, parameters, result, core parameters, and the
/// callee's core body storing its echo at 0x900.
const FLAT: &[(&str, &str, &str, &str, &str)] = &[
    (
        "fs",
        r#"(param "x" string)"#,
        "string",
        "i32 i32",
        "(i32.store (i32.const 0x900) (local.get 0)) (i32.store (i32.const 0x904) (local.get 1))",
    ),
    (
        "fo",
        r#"(param "x" (option string)) (param "y" (list u32))"#,
        "(option string)",
        "i32 i32 i32 i32 i32",
        "(i32.store8 (i32.const 0x900) (local.get 0)) (i32.store (i32.const 0x904) (local.get 1))
         (i32.store (i32.const 0x908) (local.get 2))",
    ),
    (
        "fr",
        r#"(param "x" (result string (error (list u8))))"#,
        "(result string (error (list u8)))",
        "i32 i32 i32",
        "(i32.store8 (i32.const 0x900) (local.get 0)) (i32.store (i32.const 0x904) (local.get 1))
         (i32.store (i32.const 0x908) (local.get 2))",
    ),
    (
        "fv",
        r#"(param "x" $var)"#,
        "$var",
        "i32 i64 i32",
        "(i32.store8 (i32.const 0x900) (local.get 0))
         (if (i32.eq (local.get 0) (i32.const 1))
           (then (i64.store (i32.const 0x908) (local.get 1)))
           (else (i32.store (i32.const 0x908) (i32.wrap_i64 (local.get 1)))
                 (i32.store (i32.const 0x90c) (local.get 2))))",
    ),
];

fn component_text() -> String {
    let mut callee_core = String::new();
    let mut callee_lifts = String::new();
    let mut caller_imports = String::new();
    let mut caller_lowers = String::new();
    let mut caller_core_imports = String::new();
    let mut caller_core = String::new();
    let mut caller_lifts = String::new();
    let mut with = String::new();
    let mut root_exports = String::new();
    let opts = r#"(memory (core memory $a "mem")) (realloc (core func $a "realloc"))"#;
    for (n, t, enc) in CASES {
        callee_core.push_str(&format!(
            "(func (export \"echo-{n}\") (param i32) (result i32) (local.get 0))\n"
        ));
        let func_ty = format!(r#"(param "x" {t}) (param "pad" {PAD}) (result (tuple {t} {PAD}))"#);
        callee_lifts.push_str(&format!(
            "(func (export \"echo-{n}\") {func_ty} (canon lift (core func $m \"echo-{n}\") {opts} (post-return (core func $m \"post\")) {enc}))\n"
        ));
        caller_imports.push_str(&format!(
            "(import \"echo-{n}\" (func $echo-{n} {func_ty}))\n"
        ));
        caller_lowers.push_str(&format!(
            "(core func $echo-{n}' (canon lower (func $echo-{n}) {opts} {enc}))\n"
        ));
        caller_core_imports.push_str(&format!(
            "(import \"\" \"echo-{n}\" (func $echo-{n} (param i32 i32)))\n"
        ));
        caller_core.push_str(&format!(
            "(func (export \"echo-{n}\") (param i32) (result i32) (call $echo-{n} (local.get 0) (i32.const 0x900)) (i32.const 0x900))
             (func (export \"raw-{n}\") (param i32 i32) (result i32) (call $echo-{n} (local.get 0) (local.get 1)) (i32.const 0))\n"
        ));
        caller_lifts.push_str(&format!(
            "(func (export \"echo-{n}\") {func_ty} (canon lift (core func $m \"echo-{n}\") {opts} {enc}))
             (func (export \"raw-{n}\") (param \"p\" u32) (param \"ret\" u32) (result u32) (canon lift (core func $m \"raw-{n}\")))\n"
        ));
        with.push_str(&format!(
            "(with \"echo-{n}\" (func $callee \"echo-{n}\"))\n"
        ));
        root_exports.push_str(&format!(
            "(export \"echo-{n}\" (func $caller \"echo-{n}\")) (export \"raw-{n}\" (func $caller \"raw-{n}\"))\n"
        ));
    }
    for (n, params, result, core, body) in FLAT {
        let args: String = (0..core.split(' ').count())
            .map(|i| format!("(local.get {i}) "))
            .collect();
        callee_core.push_str(&format!(
            "(func (export \"{n}\") (param {core}) (result i32) {body} (i32.const 0x900))\n"
        ));
        let func_ty = format!("{params} (result {result})");
        callee_lifts.push_str(&format!(
            "(func (export \"{n}\") {func_ty} (canon lift (core func $m \"{n}\") {opts} (post-return (core func $m \"post\"))))\n"
        ));
        caller_imports.push_str(&format!("(import \"{n}\" (func ${n} {func_ty}))\n"));
        caller_lowers.push_str(&format!(
            "(core func ${n}' (canon lower (func ${n}) {opts}))\n"
        ));
        caller_core_imports.push_str(&format!(
            "(import \"\" \"{n}\" (func ${n} (param {core} i32)))\n"
        ));
        caller_core.push_str(&format!(
            "(func (export \"{n}\") (param {core}) (result i32) (call ${n} {args} (i32.const 0x900)) (i32.const 0x900))\n"
        ));
        caller_lifts.push_str(&format!(
            "(func (export \"{n}\") {func_ty} (canon lift (core func $m \"{n}\") {opts}))\n"
        ));
        with.push_str(&format!("(with \"{n}\" (func $callee \"{n}\"))\n"));
        root_exports.push_str(&format!("(export \"{n}\" (func $caller \"{n}\"))\n"));
    }
    let lowered: String = caller_lowers
        .lines()
        .map(|l| {
            let name = l
                .split('$')
                .nth(1)
                .and_then(|x| x.split('\'').next())
                .unwrap_or("");
            format!("(export \"{name}\" (func ${name}')) ")
        })
        .collect();
    format!(
        r#"(component
  (type $rec' (record (field "a" string) (field "b" u8) (field "c" (list u16))))
  (type $var' (variant (case "a" string) (case "b" u64) (case "c")))
  (export $rec "rec" (type $rec'))
  (export $var "var" (type $var'))
  (component $Callee
    {TYPES}
    {ALLOCATOR}
    (core module $M
      (import "a" "mem" (memory 1))
      (import "a" "scribble" (func $scribble))
      (import "a" "note" (func $note (param i32 i32 i32 i32 i32)))
      {callee_core}
      (func (export "post") (param i32)
        (call $note (i32.const -1) (local.get 0) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $scribble)))
    (core instance $m (instantiate $M (with "a" (instance $a))))
    {ACCESSORS}
    {callee_lifts})
  (instance $callee (instantiate $Callee (with "rec" (type $rec)) (with "var" (type $var))))
  (component $Caller
    {TYPES}
    {caller_imports}
    {ALLOCATOR}
    {caller_lowers}
    (core module $M
      (import "a" "mem" (memory 1))
      {caller_core_imports}
      {caller_core})
    (core instance $m (instantiate $M (with "a" (instance $a)) (with "" (instance {lowered}))))
    {ACCESSORS}
    {caller_lifts})
  (instance $caller (instantiate $Caller (with "rec" (type $rec)) (with "var" (type $var))
    {with}))
  {root_exports}
  (export "callee-log" (func $callee "log")) (export "caller-log" (func $caller "log"))
  (export "callee-heap" (func $callee "heap")) (export "caller-heap" (func $caller "heap"))
  (export "callee-mode" (func $callee "set-mode")) (export "caller-mode" (func $caller "set-mode"))
  (export "caller-poke" (func $caller "poke")) (export "caller-peek" (func $caller "peek"))
)"#
    )
}

/// Everything a probe observes: the result (value or root-cause message),
/// then both logs and heaps when the instance can still be entered.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<Vec<Val>, String>,
    after: Vec<Result<Val, String>>,
}

/// One instance of a component, for a sequence of calls.
struct Probe {
    store: Store<()>,
    instance: Instance,
}

impl Probe {
    fn new(component: &Component) -> Self {
        let engine = component.engine();
        let mut store = Store::new(engine, ());
        let instance = Linker::new(engine)
            .instantiate(&mut store, component)
            .expect("instantiates");
        Self { store, instance }
    }

    fn call(&mut self, name: &str, args: &[Val], results: usize) -> Result<Vec<Val>, String> {
        let f = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let mut out = vec![Val::Bool(false); results];
        f.call(&mut self.store, args, &mut out)
            .map_err(|e| format!("{:#}", e.root_cause()))?;
        f.post_return(&mut self.store)
            .map_err(|e| format!("post-return: {:#}", e.root_cause()))?;
        Ok(out)
    }

    fn one(&mut self, name: &str, args: &[Val]) -> Result<Val, String> {
        self.call(name, args, 1).map(|mut v| v.remove(0))
    }

    /// Calls `name`, then reads both logs and heaps.
    fn observe(&mut self, name: &str, args: &[Val]) -> Outcome {
        let result = self.call(name, args, 1);
        let after = ["callee-log", "caller-log", "callee-heap", "caller-heap"]
            .iter()
            .map(|n| self.one(n, &[]))
            .collect();
        Outcome { result, after }
    }
}

fn components() -> (Component, Component) {
    let text = component_text();
    let compiled = Component::new(&engine(true), &text).expect("compiles with adapters");
    let fused = Component::new(&engine(false), &text).expect("compiles fused");
    (compiled, fused)
}

fn pad() -> Val {
    Val::Tuple((0..17).map(|i| Val::U32(i * 0x0101_0101)).collect())
}

fn s(x: &str) -> Val {
    Val::String(x.to_string())
}

fn list(items: impl IntoIterator<Item = Val>) -> Val {
    Val::List(items.into_iter().collect())
}

fn some(v: Val) -> Val {
    Val::Option(Some(Box::new(v)))
}

/// Values of each echo case's type.
fn values(case: &str) -> Vec<Val> {
    let strings = || {
        vec![
            s(""),
            s("a"),
            s("héllo wörld €𝄞"),
            s(&"0123456789abcdef".repeat(64)),
            s(&"ü".repeat(1000)),
        ]
    };
    let rec = |a: &str, b: u8, c: &[u16]| {
        Val::Record(vec![
            ("a".into(), s(a)),
            ("b".into(), Val::U8(b)),
            ("c".into(), list(c.iter().map(|x| Val::U16(*x)))),
        ])
    };
    match case {
        "s" | "s16" => strings(),
        "lu8" => vec![
            list([]),
            list((0..=255).map(Val::U8)),
            list((0..5000).map(|i| Val::U8(i as u8))),
        ],
        "lu32" => vec![
            list([]),
            list([Val::U32(7)]),
            list((0..1000).map(|i| Val::U32(i * 77_777))),
        ],
        "lu64" => vec![
            list([]),
            list((0..300).map(|i| Val::U64(u64::MAX / 300 * i))),
        ],
        "lbool" => vec![list([]), list((0..33).map(|i| Val::Bool(i % 3 == 0)))],
        "lf32" => vec![
            list([]),
            list([1.5, -0.0, f32::INFINITY, f32::MIN_POSITIVE, 3.25e10].map(Val::Float32)),
        ],
        "lf64" => vec![list([0.1, -2.5e300, f64::NEG_INFINITY].map(Val::Float64))],
        "lchar" => vec![
            list([]),
            list("a\u{0}é€𝄞\u{10ffff}\u{d7ff}\u{e000}".chars().map(Val::Char)),
        ],
        "lrec" => vec![
            list([]),
            list([
                rec("", 0, &[]),
                rec("x", 255, &[1, 2, 65535]),
                rec("€€", 7, &[9]),
            ]),
            list((0..200).map(|i| rec(&format!("record {i}"), i as u8, &[i as u16; 3]))),
        ],
        "lvar" => vec![list([
            Val::Variant("a".into(), Some(Box::new(s("payload")))),
            Val::Variant("b".into(), Some(Box::new(Val::U64(0xdead_beef_cafe_f00d)))),
            Val::Variant("c".into(), None),
            Val::Variant("a".into(), Some(Box::new(s("")))),
        ])],
        "llstr" => vec![
            list([]),
            list([
                list([]),
                list([s("a"), s("bc")]),
                list([s(""), s("déf"), s("g")]),
            ]),
        ],
        "ostr" => vec![Val::Option(None), some(s("")), some(s("optional €"))],
        "res" => vec![
            Val::Result(Ok(Some(Box::new(s("ok!"))))),
            Val::Result(Err(Some(Box::new(list((0..10).map(Val::U8)))))),
            Val::Result(Err(Some(Box::new(list([]))))),
        ],
        "tup" => vec![Val::Tuple(vec![
            s("tuple"),
            Val::U32(0xffff_ffff),
            Val::Float64(-1.25),
            Val::Char('𝄞'),
            some(Val::U8(200)),
            Val::Bool(true),
            Val::S16(-32768),
        ])],
        "l16" => vec![
            list([]),
            list([s(""), s("utf-16 €"), s("𝄞𝄞"), s(&"x".repeat(700))]),
        ],
        other => panic!("no values for {other}"),
    }
}

#[test]
fn memory_values_are_compiled_and_match_the_fused_path() {
    let (compiled, fused) = components();
    // Every call of this component is compiled.
    assert_eq!(compiled.fused_calls(), Vec::<(u32, String)>::new());
    assert_eq!(compiled.compiled_adapters(), CASES.len() + FLAT.len());
    assert_eq!(fused.compiled_adapters(), 0);
    let (mut c, mut f) = (Probe::new(&compiled), Probe::new(&fused));
    let mut compared = 0;
    for (n, _, _) in CASES {
        for v in values(n) {
            let args = [v.clone(), pad()];
            let name = format!("echo-{n}");
            let a = c.observe(&name, &args);
            let b = f.observe(&name, &args);
            assert_eq!(a, b, "{name}({v:?}): compiled vs fused");
            // And the value made the round trip.
            assert_eq!(
                a.result,
                Ok(vec![Val::Tuple(vec![v.clone(), pad()])]),
                "{name}"
            );
            compared += 1;
        }
    }
    assert!(compared > 30);
}

#[test]
fn flat_parameters_with_memory_results_match_the_fused_path() {
    let (compiled, fused) = components();
    let (mut c, mut f) = (Probe::new(&compiled), Probe::new(&fused));
    let var = |case: &str, v: Option<Val>| Val::Variant(case.into(), v.map(Box::new));
    let probes: Vec<(&str, Vec<Val>, Val)> = vec![
        ("fs", vec![s("flat string €")], s("flat string €")),
        ("fs", vec![s("")], s("")),
        (
            "fo",
            vec![some(s("some")), list([Val::U32(1), Val::U32(2)])],
            some(s("some")),
        ),
        ("fo", vec![Val::Option(None), list([])], Val::Option(None)),
        (
            "fr",
            vec![Val::Result(Err(Some(Box::new(list([Val::U8(1)])))))],
            Val::Result(Err(Some(Box::new(list([Val::U8(1)]))))),
        ),
        (
            "fv",
            vec![var("a", Some(s("in a variant")))],
            var("a", Some(s("in a variant"))),
        ),
        (
            "fv",
            vec![var("b", Some(Val::U64(u64::MAX - 1)))],
            var("b", Some(Val::U64(u64::MAX - 1))),
        ),
        ("fv", vec![var("c", None)], var("c", None)),
    ];
    for (name, args, expected) in probes {
        let a = c.observe(name, &args);
        let b = f.observe(name, &args);
        assert_eq!(a, b, "{name}({args:?}): compiled vs fused");
        assert_eq!(a.result, Ok(vec![expected]), "{name}");
    }
}

/// Writes `bytes` at `at` in the caller's memory (through its export, the
/// same on both paths).
fn poke(p: &mut Probe, at: u32, bytes: &[u8]) {
    p.call(
        "caller-poke",
        &[Val::U32(at), list(bytes.iter().map(|b| Val::U8(*b)))],
        0,
    )
    .expect("poke");
}

/// A parameter area for `echo-s`/`echo-lu32`…: `(ptr, len)` then the pad.
fn area(ptr: u32, len: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&ptr.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend(std::iter::repeat_n(0u8, 4 * 17));
    out
}

/// A raw probe: `setup` pokes the caller's memory, then `raw-{case}(p, ret)`.
struct Raw {
    case: &'static str,
    pokes: Vec<(u32, Vec<u8>)>,
    p: u32,
    ret: u32,
    /// `(callee mode, caller mode)` of the allocators.
    modes: (u32, u32),
}

fn raw(case: &'static str, pokes: Vec<(u32, Vec<u8>)>, p: u32, ret: u32) -> Raw {
    Raw {
        case,
        pokes,
        p,
        ret,
        modes: (0, 0),
    }
}

/// The raw call's result, then what landed at the return pointer and in
/// the caller's heap (when the instance is still usable).
type RawOutcome = (
    Result<Vec<Val>, String>,
    Result<Val, String>,
    Result<Val, String>,
);

fn run_raw(component: &Component, r: &Raw) -> RawOutcome {
    let mut p = Probe::new(component);
    for (at, bytes) in &r.pokes {
        poke(&mut p, *at, bytes);
    }
    p.call("callee-mode", &[Val::U32(r.modes.0)], 0).unwrap();
    p.call("caller-mode", &[Val::U32(r.modes.1)], 0).unwrap();
    let result = p.call(
        &format!("raw-{}", r.case),
        &[Val::U32(r.p), Val::U32(r.ret)],
        1,
    );
    let at_ret = p.one("caller-peek", &[Val::U32(0x900), Val::U32(96)]);
    let heap = p.one("caller-heap", &[]);
    (result, at_ret, heap)
}

#[test]
fn bad_pointers_and_bad_strings_trap_as_the_fused_path_does() {
    let (compiled, fused) = components();
    let text = |at: u32, b: &[u8]| (at, b.to_vec());
    let utf16 = |s: &[u16]| s.iter().flat_map(|u| u.to_le_bytes()).collect::<Vec<u8>>();
    let probes = vec![
        // The parameter area itself: misaligned, out of bounds.
        raw("s", vec![], 0x8001, 0x900),
        raw("s", vec![], 0xffff_fff0, 0x900),
        raw("s", vec![], 0x1_fffc, 0x900),
        // A string: fine, out of bounds, too long, invalid UTF-8 of each kind.
        raw(
            "s",
            vec![text(0x8000, &area(0x8100, 5)), text(0x8100, b"hello")],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![text(0x8000, &area(0xffff_0000, 10))],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![text(0x8000, &area(0x8100, 0x7fff_ffff))],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![text(0x8000, &area(0x1_fff0, 0x10))],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![text(0x8000, &area(0x1_fff0, 0x11))],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![
                text(0x8000, &area(0x8100, 3)),
                text(0x8100, &[0x61, 0xc0, 0x80]),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![text(0x8000, &area(0x8100, 2)), text(0x8100, &[0xe2, 0x82])],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![
                text(0x8000, &area(0x8100, 3)),
                text(0x8100, &[0xed, 0xa0, 0x80]),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![
                text(0x8000, &area(0x8100, 4)),
                text(0x8100, &[0xf4, 0x90, 0x80, 0x80]),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![text(0x8000, &area(0x8100, 2)), text(0x8100, &[0xe0, 0x80])],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![
                text(0x8000, &area(0x8100, 12)),
                text(0x8100, b"abcdefgh\xffxyz"),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s",
            vec![
                text(0x8000, &area(0x8100, 9)),
                text(0x8100, b"abcdefgh\xf0"),
            ],
            0x8000,
            0x900,
        ),
        // The return pointer: misaligned, out of bounds.
        raw("s", vec![text(0x8000, &area(0x8100, 1))], 0x8000, 0x902),
        raw("s", vec![text(0x8000, &area(0x8100, 1))], 0x8000, 0x1_fff8),
        // Lists: misaligned, out of bounds, bad elements.
        raw("lu32", vec![text(0x8000, &area(0x8102, 1))], 0x8000, 0x900),
        raw(
            "lu32",
            vec![text(0x8000, &area(0x8100, 0x4000_0000))],
            0x8000,
            0x900,
        ),
        raw("lu64", vec![text(0x8000, &area(0x8104, 1))], 0x8000, 0x900),
        raw(
            "lchar",
            vec![
                text(0x8000, &area(0x8100, 3)),
                text(0x8100, &[0x41, 0, 0, 0, 0, 0xd8, 0, 0, 0x42, 0, 0, 0]),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "lchar",
            vec![
                text(0x8000, &area(0x8100, 1)),
                text(0x8100, &0x11_0000u32.to_le_bytes()),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "lbool",
            vec![
                text(0x8000, &area(0x8100, 4)),
                text(0x8100, &[0, 1, 2, 0xff]),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "lf32",
            vec![
                text(0x8000, &area(0x8100, 2)),
                text(0x8100, &[0x01, 0x00, 0xa0, 0x7f, 0x00, 0x00, 0xc0, 0xff]),
            ],
            0x8000,
            0x900,
        ),
        // A variant list with a bad discriminant in its second element.
        raw(
            "lvar",
            vec![
                text(0x8000, &area(0x8100, 2)),
                text(0x8100, &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]),
            ],
            0x8000,
            0x900,
        ),
        // A variant whose string payload is out of bounds.
        raw(
            "lvar",
            vec![
                text(0x8000, &area(0x8100, 1)),
                text(
                    0x8100,
                    &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 5, 0, 0, 0],
                ),
            ],
            0x8000,
            0x900,
        ),
        // UTF-16: misaligned, unpaired surrogates, a fine pair.
        raw("s16", vec![text(0x8000, &area(0x8101, 1))], 0x8000, 0x900),
        raw(
            "s16",
            vec![
                text(0x8000, &area(0x8100, 2)),
                text(0x8100, &utf16(&[0x41, 0xdc00])),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s16",
            vec![
                text(0x8000, &area(0x8100, 2)),
                text(0x8100, &utf16(&[0xd800, 0x41])),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s16",
            vec![
                text(0x8000, &area(0x8100, 1)),
                text(0x8100, &utf16(&[0xdbff])),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s16",
            vec![
                text(0x8000, &area(0x8100, 2)),
                text(0x8100, &utf16(&[0xd834, 0xdd1e])),
            ],
            0x8000,
            0x900,
        ),
        raw(
            "s16",
            vec![text(0x8000, &area(0x8100, 0x4000_0000))],
            0x8000,
            0x900,
        ),
    ];
    for (i, r) in probes.iter().enumerate() {
        let a = run_raw(&compiled, r);
        let b = run_raw(&fused, r);
        assert_eq!(a, b, "probe {i} (raw-{} {:#x}, {:#x})", r.case, r.p, r.ret);
    }
    // A few with what the canonical ABI prescribes.
    let err = |i: usize| run_raw(&compiled, &probes[i]).0.unwrap_err();
    assert!(err(0).contains("unaligned pointer"), "{}", err(0));
    assert!(err(1).contains("pointer out-of-bounds"), "{}", err(1));
    assert!(
        err(4).contains("string content out-of-bounds"),
        "{}",
        err(4)
    );
    assert!(
        err(8).contains("invalid utf-8 sequence of 1 bytes from index 1"),
        "{}",
        err(8)
    );
    assert!(
        err(9).contains("incomplete utf-8 byte sequence from index 0"),
        "{}",
        err(9)
    );
    assert!(
        err(20).contains("invalid `char` bit pattern: 0xd800"),
        "{}",
        err(20)
    );
    assert!(
        err(24).contains("invalid variant discriminant 3"),
        "{}",
        err(24)
    );
    assert!(err(27).contains("unpaired surrogate 0xdc00"), "{}", err(27));
    assert_eq!(run_raw(&compiled, &probes[3]).0, Ok(vec![Val::U32(0)]));
}

#[test]
fn realloc_calls_and_bad_realloc_results_match_the_fused_path() {
    let (compiled, fused) = components();
    // Logs of successful calls: the same `realloc` calls, in the same order,
    // with the same arguments, on both sides.
    for (case, v) in [
        ("lrec", values("lrec").remove(1)),
        ("llstr", values("llstr").remove(1)),
        ("tup", values("tup").remove(0)),
        ("l16", values("l16").remove(1)),
    ] {
        let (mut c, mut f) = (Probe::new(&compiled), Probe::new(&fused));
        let name = format!("echo-{case}");
        let a = c.observe(&name, &[v.clone(), pad()]);
        let b = f.observe(&name, &[v.clone(), pad()]);
        assert_eq!(a, b, "{name}");
        let Ok(Val::List(callee_log)) = &a.after[0] else {
            panic!("no callee log: {a:?}")
        };
        // The parameter area first (a fresh allocation of at least the
        // value and the pad), then the contents.
        assert_eq!(callee_log[..2], [Val::U32(0), Val::U32(0)][..]);
        assert!(
            matches!(callee_log[3], Val::U32(n) if n >= 76),
            "{callee_log:?}"
        );
        assert!(callee_log.len() > 10, "{name}: {callee_log:?}");
    }
    // Bad pointers from `realloc`: misaligned or out of bounds, from the
    // n-th call on, in the callee (parameters) and in the caller (results).
    let area = |p: u32| {
        let mut a = area(0x8100, 3);
        a[0..4].copy_from_slice(&p.to_le_bytes());
        a
    };
    let lrec = {
        // Two records `{ a: "ab", b: 1, c: [7, 8] }` at 0x8200.
        let mut bytes = Vec::new();
        for _ in 0..2 {
            bytes.extend_from_slice(&0x8300u32.to_le_bytes());
            bytes.extend_from_slice(&2u32.to_le_bytes());
            bytes.extend_from_slice(&[1, 0, 0, 0]);
            bytes.extend_from_slice(&0x8310u32.to_le_bytes());
            bytes.extend_from_slice(&2u32.to_le_bytes());
        }
        vec![
            (0x8000, {
                let mut a = area(0x8200);
                a[4..8].copy_from_slice(&2u32.to_le_bytes());
                a
            }),
            (0x8200, bytes),
            (0x8300, b"ab".to_vec()),
            (0x8310, vec![7, 0, 8, 0]),
        ]
    };
    let mut compared = 0;
    for kind in [1, 2] {
        for from in 0..7 {
            for side in [0, 1] {
                let mode = kind | from << 8;
                let r = Raw {
                    case: "lrec",
                    pokes: lrec.clone(),
                    p: 0x8000,
                    ret: 0x900,
                    modes: if side == 0 { (mode, 0) } else { (0, mode) },
                };
                let a = run_raw(&compiled, &r);
                let b = run_raw(&fused, &r);
                assert_eq!(a, b, "mode {mode:#x} side {side}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 28);
    let r = Raw {
        case: "lrec",
        pokes: lrec,
        p: 0x8000,
        ret: 0x900,
        modes: (2, 0),
    };
    let err = run_raw(&compiled, &r).0.unwrap_err();
    assert!(err.contains("pointer out-of-bounds"), "{err}");
}

#[test]
fn precompiled_components_keep_their_memory_adapters() {
    let (compiled, _) = components();
    let bytes = compiled.serialize().unwrap();
    // SAFETY: the bytes were just written by this Tern.
    let loaded = unsafe { Component::deserialize(compiled.engine(), &bytes) }.unwrap();
    assert_eq!(loaded.compiled_adapters(), compiled.compiled_adapters());
    let mut p = Probe::new(&loaded);
    let v = values("lrec").remove(1);
    assert_eq!(
        p.call("echo-lrec", &[v.clone(), pad()], 1),
        Ok(vec![Val::Tuple(vec![v, pad()])])
    );
}

#[test]
fn without_multi_memory_memory_values_stay_fused_with_a_reason() {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_multi_memory(false);
    let component = Component::new(&Engine::new(&config).unwrap(), component_text()).unwrap();
    assert_eq!(component.compiled_adapters(), 0);
    let reasons = component.fused_calls();
    assert_eq!(reasons.len(), CASES.len() + FLAT.len());
    assert!(
        reasons
            .iter()
            .all(|(_, r)| r.contains("disables multi-memory")),
        "{reasons:?}"
    );
    let mut p = Probe::new(&component);
    assert_eq!(p.one("fs", &[s("still works")]), Ok(s("still works")));
}

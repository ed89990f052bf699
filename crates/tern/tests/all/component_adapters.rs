//! Compiled component-to-component adapters against the host-fused path.
//!
//! One component nests a callee and a caller. The caller's core code passes
//! raw core values (garbage in the bits a type ignores, NaN payloads, bad
//! `char`s and discriminants) to the callee's lifted functions; the callee
//! echoes what it received, or returns garbage of its own, and the caller
//! hands the raw bits back to the host. Every probe runs on an engine that
//! compiles adapters and on one that fuses on the host
//! (`Config::component_compiled_adapters(false)`), and the results — values
//! or trap messages — must be identical (and, for a few, equal to what the
//! canonical ABI prescribes).

use tern::component::{Component, Linker, Val};
use tern::{Config, Engine, Store};

fn engine(adapters: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.component_compiled_adapters(adapters);
    Engine::new(&config).expect("component engine")
}

/// A scalar type probed: its component text, core type, and the core type
/// the host sees it as (`u32`/`u64` bits).
struct Scalar {
    name: &'static str,
    ty: &'static str,
    core: &'static str,
    raw: &'static str,
    /// Core code turning the host's raw value into the core type.
    to_core: &'static str,
    /// Core code turning the core value back into raw bits.
    to_raw: &'static str,
    /// Core code the callee's `garble` applies to its argument.
    garble: &'static str,
}

const fn int(name: &'static str, garble: &'static str) -> Scalar {
    Scalar {
        name,
        ty: name,
        core: "i32",
        raw: "u32",
        to_core: "",
        to_raw: "",
        garble,
    }
}

const SCALARS: &[Scalar] = &[
    int("bool", "(i32.const 6) (i32.mul)"),
    int("u8", "(i32.const 0x5a00) (i32.or)"),
    int("s8", "(i32.const 0x5a00) (i32.or)"),
    int("u16", "(i32.const 0x5a0000) (i32.or)"),
    int("s16", "(i32.const 0x5a0000) (i32.or)"),
    int("u32", "(i32.const 1) (i32.add)"),
    int("s32", "(i32.const 1) (i32.sub)"),
    int("char", "(i32.const 0x100) (i32.add)"),
    Scalar {
        name: "e",
        ty: "$e",
        core: "i32",
        raw: "u32",
        to_core: "",
        to_raw: "",
        garble: "(i32.const 1) (i32.add)",
    },
    Scalar {
        name: "fl",
        ty: "$fl",
        core: "i32",
        raw: "u32",
        to_core: "",
        to_raw: "",
        garble: "(i32.const 0xf0) (i32.or)",
    },
    Scalar {
        name: "u64",
        ty: "u64",
        core: "i64",
        raw: "u64",
        to_core: "",
        to_raw: "",
        garble: "(i64.const 3) (i64.mul)",
    },
    Scalar {
        name: "s64",
        ty: "s64",
        core: "i64",
        raw: "u64",
        to_core: "",
        to_raw: "",
        garble: "(i64.const -1) (i64.xor)",
    },
    Scalar {
        name: "f32",
        ty: "f32",
        core: "f32",
        raw: "u32",
        to_core: "(f32.reinterpret_i32)",
        to_raw: "(i32.reinterpret_f32)",
        garble: "(f32.neg)",
    },
    Scalar {
        name: "f64",
        ty: "f64",
        core: "f64",
        raw: "u64",
        to_core: "(f64.reinterpret_i64)",
        to_raw: "(i64.reinterpret_f64)",
        garble: "(f64.neg)",
    },
];

/// The nested component: for each scalar, root exports `probe-NAME` (the
/// callee echoes) and `garble-NAME` (the callee garbles), both raw bits in
/// and out; plus `rec` (a record and a tuple, summed by the callee) and
/// `run` (the caller calls the root, which re-enters the caller: a trap).
fn component_text() -> String {
    let defs = r#"(type $e' (enum "a" "b" "c")) (import "e" (type $e (eq $e')))
    (type $fl' (flags "x" "y" "z")) (import "fl" (type $fl (eq $fl')))
    (type $r' (record (field "a" u8) (field "b" s16) (field "c" u64) (field "d" bool) (field "e" char)))
    (import "r" (type $r (eq $r')))"#;
    let mut callee_core = String::new();
    let mut callee_lifts = String::new();
    let mut caller_imports = String::new();
    let mut caller_lowers = String::new();
    let mut caller_core_imports = String::new();
    let mut caller_core = String::new();
    let mut caller_lifts = String::new();
    let mut with = String::new();
    let mut root_exports = String::new();
    for s in SCALARS {
        let (n, t, c, raw) = (s.name, s.ty, s.core, s.raw);
        let raw_core = if raw == "u32" { "i32" } else { "i64" };
        for kind in ["echo", "garble"] {
            let body = if kind == "echo" { "" } else { s.garble };
            callee_core.push_str(&format!(
                "(func (export \"{kind}-{n}\") (param {c}) (result {c}) (local.get 0) {body})\n"
            ));
            callee_lifts.push_str(&format!(
                "(func (export \"{kind}-{n}\") (param \"x\" {t}) (result {t}) (canon lift (core func $m \"{kind}-{n}\")))\n"
            ));
            caller_imports.push_str(&format!(
                "(import \"{kind}-{n}\" (func ${kind}-{n} (param \"x\" {t}) (result {t})))\n"
            ));
            caller_lowers.push_str(&format!(
                "(core func ${kind}-{n}' (canon lower (func ${kind}-{n})))\n"
            ));
            caller_core_imports.push_str(&format!(
                "(import \"\" \"{kind}-{n}\" (func ${kind}-{n} (param {c}) (result {c})))\n"
            ));
            let probe = if kind == "echo" { "probe" } else { "garble" };
            caller_core.push_str(&format!(
                "(func (export \"{probe}-{n}\") (param {raw_core}) (result {raw_core}) (local.get 0) {} (call ${kind}-{n}) {})\n",
                s.to_core, s.to_raw
            ));
            caller_lifts.push_str(&format!(
                "(func (export \"{probe}-{n}\") (param \"x\" {raw}) (result {raw}) (canon lift (core func $m \"{probe}-{n}\")))\n"
            ));
            with.push_str(&format!(
                "(with \"{kind}-{n}\" (func $callee \"{kind}-{n}\"))\n"
            ));
            root_exports.push_str(&format!(
                "(export \"{probe}-{n}\" (func $caller \"{probe}-{n}\"))\n"
            ));
        }
    }
    let host_lower_core: String = caller_lowers
        .lines()
        .map(|l| {
            let name = l
                .split('$')
                .nth(1)
                .and_then(|x| x.split('\'').next())
                .unwrap_or("");
            format!("(export \"{name}\" (func ${name}'))")
        })
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        r#"(component $Root
  (type $e (enum "a" "b" "c"))
  (type $fl (flags "x" "y" "z"))
  (type $r (record (field "a" u8) (field "b" s16) (field "c" u64) (field "d" bool) (field "e" char)))
  (core module $Back (func (export "back") (param i32) (result i32) (local.get 0)))
  (core instance $back (instantiate $Back))
  (func $back (param "x" u32) (result u32) (canon lift (core func $back "back")))
  (component $Callee
    {defs}
    (core module $M
      {callee_core}
      ;; the record's fields: a + b + c + d + e, as u64
      (func (export "rec") (param i32 i32 i64 i32 i32) (param i32 i32) (result i64)
        (i64.add (i64.extend_i32_u (local.get 0))
          (i64.add (i64.extend_i32_s (local.get 1))
            (i64.add (local.get 2)
              (i64.add (i64.extend_i32_u (local.get 3))
                (i64.add (i64.extend_i32_u (local.get 4))
                  (i64.add (i64.extend_i32_u (local.get 5)) (i64.extend_i32_s (local.get 6)))))))))
    )
    (core instance $m (instantiate $M))
    {callee_lifts}
    (func (export "rec") (param "r" $r) (param "t" (tuple u8 s8)) (result u64) (canon lift (core func $m "rec"))))
  (instance $callee (instantiate $Callee
    (with "e" (type $e)) (with "fl" (type $fl)) (with "r" (type $r))))
  (component $Caller
    {defs}
    {caller_imports}
    (import "rec" (func $rec (param "r" $r) (param "t" (tuple u8 s8)) (result u64)))
    (import "back" (func $back (param "x" u32) (result u32)))
    {caller_lowers}
    (core func $rec' (canon lower (func $rec)))
    (core func $back' (canon lower (func $back)))
    (core module $M
      {caller_core_imports}
      (import "" "rec" (func $rec (param i32 i32 i64 i32 i32) (param i32 i32) (result i64)))
      (import "" "back" (func $back (param i32) (result i32)))
      {caller_core}
      (func (export "rec") (param i32 i32 i64 i32 i32) (param i32 i32) (result i64)
        (call $rec (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6)))
      (func (export "run") (param i32) (result i32) (call $back (local.get 0))))
    (core instance $m (instantiate $M (with "" (instance {host_lower_core}
      (export "rec" (func $rec')) (export "back" (func $back'))))))
    {caller_lifts}
    (func (export "rec") (param "a" u32) (param "b" u32) (param "c" u64) (param "d" u32) (param "e" u32)
      (param "f" u32) (param "g" u32) (result u64) (canon lift (core func $m "rec")))
    (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m "run"))))
  (instance $caller (instantiate $Caller
    (with "e" (type $e)) (with "fl" (type $fl)) (with "r" (type $r))
    {with}
    (with "rec" (func $callee "rec"))
    (with "back" (func $back))))
  {root_exports}
  (export "rec" (func $caller "rec"))
  (export "run" (func $caller "run"))
)"#
    )
}

/// Calls export `name` with `args` on a fresh instance; `Ok(result)` or the
/// message of the error's root cause (the full chain holds a backtrace,
/// whose frames differ between the two paths).
fn call(component: &Component, name: &str, args: &[Val]) -> Result<Val, String> {
    let engine = component.engine();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, component)
        .map_err(|e| format!("{e:#}"))?;
    let f = instance.get_func(&mut store, name).expect(name);
    let mut out = [Val::Bool(false)];
    f.call(&mut store, args, &mut out)
        .map_err(|e| format!("{:#}", e.root_cause()))?;
    Ok(out[0].clone())
}

fn compiled_and_fused() -> (Component, Component) {
    let text = component_text();
    let compiled = Component::new(&engine(true), &text).expect("compiles with adapters");
    let fused = Component::new(&engine(false), &text).expect("compiles fused");
    (compiled, fused)
}

const U32_INPUTS: &[u32] = &[
    0,
    1,
    2,
    3,
    5,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x1234,
    0x8000,
    0xffff,
    0x1_0000,
    0xd7ff,
    0xd800,
    0xdfff,
    0xe000,
    0x10_ffff,
    0x11_0000,
    0x7fc0_0001,
    0x7fa0_0000,
    0xffc0_0000,
    0x8000_0000,
    0xffff_ffff,
];

const U64_INPUTS: &[u64] = &[
    0,
    1,
    0x7ff0_0000_0000_0001,
    0x7ff8_0000_0000_0000,
    0xfff4_0000_0000_0000,
    0x8000_0000_0000_0000,
    u64::MAX,
    0x3ff0_0000_0000_0000,
];

#[test]
fn scalar_calls_are_compiled_and_match_the_fused_path() {
    let (compiled, fused) = compiled_and_fused();
    // Everything but nothing else is compiled here.
    assert_eq!(compiled.fused_calls(), Vec::<(u32, String)>::new());
    assert_eq!(compiled.compiled_adapters(), 2 * SCALARS.len() + 2);
    assert_eq!(fused.compiled_adapters(), 0);
    assert_eq!(fused.fused_calls().len(), 2 * SCALARS.len() + 2);
    let mut compared = 0;
    for s in SCALARS {
        for kind in ["probe", "garble"] {
            let name = format!("{kind}-{}", s.name);
            let inputs: Vec<Val> = if s.raw == "u32" {
                U32_INPUTS.iter().map(|v| Val::U32(*v)).collect()
            } else {
                U64_INPUTS.iter().map(|v| Val::U64(*v)).collect()
            };
            for input in inputs {
                let a = call(&compiled, &name, std::slice::from_ref(&input));
                let b = call(&fused, &name, std::slice::from_ref(&input));
                assert_eq!(a, b, "{name}({input:?}): compiled vs fused");
                compared += 1;
            }
        }
    }
    assert!(compared > 300);
}

#[test]
fn compiled_adapters_normalise_as_the_canonical_abi_says() {
    let (compiled, _) = compiled_and_fused();
    let u32s = |name: &str, x: u32| call(&compiled, name, &[Val::U32(x)]);
    // Parameters: what the callee saw.
    assert_eq!(u32s("probe-bool", 5), Ok(Val::U32(1)));
    assert_eq!(u32s("probe-u8", 0x1234), Ok(Val::U32(0x34)));
    assert_eq!(u32s("probe-s8", 0x80), Ok(Val::U32(0xffff_ff80)));
    assert_eq!(u32s("probe-u16", 0x12_3456), Ok(Val::U32(0x3456)));
    assert_eq!(u32s("probe-s16", 0x8000), Ok(Val::U32(0xffff_8000)));
    assert_eq!(u32s("probe-fl", 0xff), Ok(Val::U32(0b111)));
    assert_eq!(u32s("probe-f32", 0x7fa0_0001), Ok(Val::U32(0x7fc0_0000)));
    assert_eq!(
        call(&compiled, "probe-f64", &[Val::U64(0xfff4_0000_0000_0000)]),
        Ok(Val::U64(0x7ff8_0000_0000_0000))
    );
    // Results: what the caller got back from a garbling callee.
    assert_eq!(u32s("garble-u8", 0x12), Ok(Val::U32(0x12)));
    assert_eq!(u32s("garble-bool", 1), Ok(Val::U32(1)));
    assert_eq!(u32s("garble-fl", 1), Ok(Val::U32(1)));
    // Traps, with the fused path's messages.
    let err = u32s("probe-char", 0xd800).unwrap_err();
    assert!(err.contains("invalid `char` bit pattern: 0xd800"), "{err}");
    let err = u32s("garble-char", 0x10_ffff).unwrap_err();
    assert!(
        err.contains("invalid `char` bit pattern: 0x1100ff"),
        "{err}"
    );
    let err = u32s("probe-e", 3).unwrap_err();
    assert!(
        err.contains("invalid variant discriminant 3 (there are 3 cases)"),
        "{err}"
    );
    let err = u32s("garble-e", 2).unwrap_err();
    assert!(err.contains("invalid variant discriminant 3"), "{err}");
}

#[test]
fn records_and_tuples_cross_compiled() {
    let (compiled, fused) = compiled_and_fused();
    let args = |a: u32, b: u32, c: u64, d: u32, e: u32, f: u32, g: u32| {
        [
            Val::U32(a),
            Val::U32(b),
            Val::U64(c),
            Val::U32(d),
            Val::U32(e),
            Val::U32(f),
            Val::U32(g),
        ]
    };
    // a: 0x101 → 1; b: 0xffff → -1; c; d: 9 → true; e: 'A'; f: 0x1ff → 0xff;
    // g: 0x80 → -128.
    let a = args(0x101, 0xffff, 1000, 9, 65, 0x1ff, 0x80);
    let fields: [i64; 7] = [1, -1, 1000, 1, 65, 0xff, -128];
    let expected: i64 = fields.iter().sum();
    assert_eq!(call(&compiled, "rec", &a), Ok(Val::U64(expected as u64)));
    assert_eq!(call(&compiled, "rec", &a), call(&fused, "rec", &a));
    let bad = args(0, 0, 0, 0, 0xdfff, 0, 0);
    let err = call(&compiled, "rec", &bad).unwrap_err();
    assert!(err.contains("invalid `char` bit pattern: 0xdfff"), "{err}");
    assert_eq!(call(&compiled, "rec", &bad), call(&fused, "rec", &bad));
}

#[test]
fn reentering_through_compiled_adapters_traps() {
    // The caller calls into the root, which is not running: no trap.
    let (compiled, fused) = compiled_and_fused();
    assert_eq!(call(&compiled, "run", &[Val::U32(7)]), Ok(Val::U32(7)));
    assert_eq!(call(&fused, "run", &[Val::U32(7)]), Ok(Val::U32(7)));

    // A (the root) calls B (nested), which calls A back: A cannot be entered.
    let text = r#"(component
      (core module $A1 (func (export "f") (result i32) (i32.const 42)))
      (core instance $a1 (instantiate $A1))
      (func $f (result u32) (canon lift (core func $a1 "f")))
      (component $B
        (import "f" (func $f (result u32)))
        (core func $f' (canon lower (func $f)))
        (core module $M (import "" "f" (func $f (result i32)))
          (func (export "g") (result i32) (call $f)))
        (core instance $m (instantiate $M (with "" (instance (export "f" (func $f'))))))
        (func (export "g") (result u32) (canon lift (core func $m "g"))))
      (instance $b (instantiate $B (with "f" (func $f))))
      (core func $g' (canon lower (func $b "g")))
      (core module $A2 (import "" "g" (func $g (result i32)))
        (func (export "run") (result i32) (call $g)))
      (core instance $a2 (instantiate $A2 (with "" (instance (export "g" (func $g'))))))
      (func (export "run") (result u32) (canon lift (core func $a2 "run")))
    )"#;
    for adapters in [true, false] {
        let component = Component::new(&engine(adapters), text).unwrap();
        assert_eq!(component.compiled_adapters(), if adapters { 2 } else { 0 });
        let engine = component.engine();
        let mut store = Store::new(engine, ());
        let instance = Linker::new(engine)
            .instantiate(&mut store, &component)
            .unwrap();
        let run = instance.get_func(&mut store, "run").unwrap();
        let err = run
            .call(&mut store, &[], &mut [Val::Bool(false)])
            .map(|()| "no trap".to_string())
            .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("cannot enter component instance"),
            "adapters {adapters}: {err}"
        );
    }
}

/// A string parameter (the caller's lower has a memory and no `realloc`):
/// compiled when both sides use one encoding, fused with the reason when the
/// string needs transcoding.
fn string_len_component(caller_encoding: &str) -> String {
    format!(
        r#"(component
      (component $C
        (core module $M (memory (export "mem") 1)
          (func (export "len") (param i32 i32) (result i32) (local.get 1))
          (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 8)))
        (core instance $m (instantiate $M))
        (func (export "len") (param "s" string) (result u32)
          (canon lift (core func $m "len") (memory (core memory $m "mem")) (realloc (core func $m "realloc")))))
      (instance $c (instantiate $C))
      (core module $Mem (memory (export "mem") 1) (data (i32.const 0) "hello"))
      (core instance $mem (instantiate $Mem))
      (core func $len (canon lower (func $c "len") (memory (core memory $mem "mem")) {caller_encoding}))
      (core module $U (import "" "len" (func $len (param i32 i32) (result i32)))
        (func (export "run") (result i32) (call $len (i32.const 0) (i32.const 5))))
      (core instance $u (instantiate $U (with "" (instance (export "len" (func $len))))))
      (func (export "run") (result u32) (canon lift (core func $u "run")))
    )"#
    )
}

#[test]
fn strings_of_one_encoding_compile_and_others_fall_back_with_a_reason() {
    let component = Component::new(&engine(true), string_len_component("")).unwrap();
    assert_eq!(component.compiled_adapters(), 1);
    assert_eq!(component.fused_calls(), Vec::<(u32, String)>::new());
    assert_eq!(call(&component, "run", &[]), Ok(Val::U32(5)));
    let component =
        Component::new(&engine(true), string_len_component("string-encoding=utf16")).unwrap();
    assert_eq!(component.compiled_adapters(), 0);
    assert_eq!(
        component.fused_calls(),
        vec![(
            0,
            "a string crosses from Utf16 to Utf8 (transcoding is not compiled yet)".to_string()
        )]
    );
}

#[test]
fn precompiled_components_keep_their_adapters() {
    let (compiled, _) = compiled_and_fused();
    let bytes = compiled.serialize().unwrap();
    // SAFETY: the bytes were just written by this Tern.
    let loaded = unsafe { Component::deserialize(compiled.engine(), &bytes) }.unwrap();
    assert_eq!(loaded.compiled_adapters(), compiled.compiled_adapters());
    assert_eq!(
        call(&loaded, "probe-u8", &[Val::U32(0x1234)]),
        Ok(Val::U32(0x34))
    );
}

/// A variant (joined `i64` slot), an option and a result as parameters: the
/// callee hashes the raw slots it receives.
const VARIANTS: &str = r#"(component
  (type $v (variant (case "a" u8) (case "b" f32) (case "c" s64) (case "d")))
  (component $Callee
    (type $v' (variant (case "a" u8) (case "b" f32) (case "c" s64) (case "d")))
    (import "v" (type $v (eq $v')))
    (core module $M
      (func (export "hash") (param i32 i64 i32 i32 i32 i32) (result i64)
        (i64.add (i64.extend_i32_u (local.get 0))
        (i64.add (i64.mul (local.get 1) (i64.const 3))
        (i64.add (i64.mul (i64.extend_i32_u (local.get 2)) (i64.const 0x100000))
        (i64.add (i64.mul (i64.extend_i32_u (local.get 3)) (i64.const 0x1000000))
        (i64.add (i64.mul (i64.extend_i32_u (local.get 4)) (i64.const 0x10000000000))
                 (i64.mul (i64.extend_i32_u (local.get 5)) (i64.const 0x100000000000)))))))))
    (core instance $m (instantiate $M))
    (func (export "hash") (param "v" $v) (param "o" (option s8)) (param "r" (result u16 (error char)))
      (result u64) (canon lift (core func $m "hash"))))
  (instance $callee (instantiate $Callee (with "v" (type $v))))
  (component $Caller
    (type $v' (variant (case "a" u8) (case "b" f32) (case "c" s64) (case "d")))
    (import "v" (type $v (eq $v')))
    (import "hash" (func $hash (param "v" $v) (param "o" (option s8)) (param "r" (result u16 (error char)))
      (result u64)))
    (core func $hash' (canon lower (func $hash)))
    (core module $M
      (import "" "hash" (func $hash (param i32 i64 i32 i32 i32 i32) (result i64)))
      (func (export "probe") (param i32 i64 i32 i32 i32 i32) (result i64)
        (call $hash (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5))))
    (core instance $m (instantiate $M (with "" (instance (export "hash" (func $hash'))))))
    (func (export "probe") (param "a" u32) (param "b" u64) (param "c" u32) (param "d" u32) (param "e" u32)
      (param "f" u32) (result u64) (canon lift (core func $m "probe"))))
  (instance $caller (instantiate $Caller (with "v" (type $v)) (with "hash" (func $callee "hash"))))
  (export "probe" (func $caller "probe"))
)"#;

#[test]
fn variants_options_and_results_cross_compiled() {
    let compiled = Component::new(&engine(true), VARIANTS).unwrap();
    let fused = Component::new(&engine(false), VARIANTS).unwrap();
    assert_eq!(compiled.compiled_adapters(), 1);
    assert_eq!(compiled.fused_calls(), Vec::<(u32, String)>::new());
    let probe = |c: &Component, v: (u32, u64), o: (u32, u32), r: (u32, u32)| {
        call(
            c,
            "probe",
            &[
                Val::U32(v.0),
                Val::U64(v.1),
                Val::U32(o.0),
                Val::U32(o.1),
                Val::U32(r.0),
                Val::U32(r.1),
            ],
        )
    };
    let slots = [
        0,
        1,
        0xff,
        0x1234,
        0x7fa0_0001,
        0xdead_beef_7fa0_0001,
        0xdead_beef_0000_0042,
        0x8000_0000_0000_0000,
        u64::MAX,
    ];
    let small = [0u32, 1, 2, 0x80, 0xff, 0x1_0080, 0xd800, 0x11_0000];
    let mut compared = 0;
    for vd in 0..5 {
        for slot in slots {
            for od in 0..3 {
                for rd in 0..3 {
                    for pay in small {
                        let (v, o, r) = ((vd, slot), (od, pay), (rd, pay));
                        let a = probe(&compiled, v, o, r);
                        let b = probe(&fused, v, o, r);
                        assert_eq!(a, b, "probe({v:?}, {o:?}, {r:?})");
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 1000);
    // What the canonical ABI prescribes: case `b`'s NaN is canonicalised in
    // the low half of its slot (the high half zeroed); `none` zeroes its
    // payload; `ok` keeps the low 16 bits.
    let h = |v: (u32, u64), o: (u32, u32), r: (u32, u32)| {
        u64::from(v.0)
            + v.1 * 3
            + u64::from(o.0) * 0x10_0000
            + u64::from(o.1) * 0x100_0000
            + u64::from(r.0) * 0x100_0000_0000
            + u64::from(r.1) * 0x1000_0000_0000
    };
    assert_eq!(
        probe(
            &compiled,
            (1, 0xdead_beef_7fa0_0001),
            (0, 0x55),
            (0, 0x12_3456)
        ),
        Ok(Val::U64(h((1, 0x7fc0_0000), (0, 0), (0, 0x3456))))
    );
    assert_eq!(
        probe(&compiled, (0, 0xdead_beef_0000_1234), (1, 0x80), (1, 0x41)),
        Ok(Val::U64(h((0, 0x34), (1, 0xffff_ff80), (1, 0x41))))
    );
    let err = probe(&compiled, (4, 0), (0, 0), (0, 0)).unwrap_err();
    assert!(
        err.contains("invalid variant discriminant 4 (there are 4 cases)"),
        "{err}"
    );
    let err = probe(&compiled, (3, 0), (0, 0), (1, 0xd800)).unwrap_err();
    assert!(err.contains("invalid `char` bit pattern: 0xd800"), "{err}");
}

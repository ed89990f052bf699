//! How calls are compiled with exceptions on, checked on the CLIF the
//! translator emits: outside every `try_table` a call is a plain `call` (or
//! `call_indirect`); inside one it is a `try_call`/`try_call_indirect` whose
//! exception table has a single `default` handler; a `throw` outside every
//! `try_table` calls the `throw` libcall.

mod common;

use tern_environ::{Tunables, WasmFeatures};

/// The CLIF of each defined function of `wat`, with exceptions on.
fn clif(wat: &str) -> Vec<String> {
    let tunables = Tunables {
        exceptions: true,
        ..Tunables::default()
    };
    common::translate_to_clif(
        wat,
        WasmFeatures::default() | WasmFeatures::EXCEPTIONS,
        tunables,
    )
    .unwrap()
}

fn count(clif: &str, what: &str) -> usize {
    clif.lines().filter(|l| l.contains(what)).count()
}

const MODULE: &str = r#"(module
    (import "h" "f" (func $host))
    (tag $t (param i32))
    (table 1 funcref)
    (type $v (func))
    (func $leaf (result i32) i32.const 1)
    (func $plain (result i32)
        (call $host)
        (call_indirect (type $v) (i32.const 0))
        (call $leaf))
    (func $guarded (result i32)
        (block $h (result i32)
            (try_table (result i32) (catch $t $h)
                (call $host)
                (call_indirect (type $v) (i32.const 0))
                (call $leaf))))
    (func $throws (throw $t (i32.const 1)))
)"#;

#[test]
fn only_calls_inside_a_try_table_are_try_calls() {
    let funcs = clif(MODULE);
    let (leaf, plain, guarded, throws) = (&funcs[0], &funcs[1], &funcs[2], &funcs[3]);
    for (name, f) in [("leaf", leaf), ("plain", plain), ("throws", throws)] {
        assert_eq!(count(f, "try_call"), 0, "{name}:\n{f}");
    }
    // Three indirect calls (the import, the table entry, and on the cold
    // path of the table read the libcall that resolves an uninitialised
    // slot) and one direct call.
    assert_eq!(count(plain, "call_indirect"), 3, "{plain}");
    assert_eq!(count(plain, " call fn"), 1, "{plain}");
    assert_eq!(count(guarded, "try_call_indirect"), 2, "{guarded}");
    assert_eq!(count(guarded, "try_call fn"), 1, "{guarded}");
    assert_eq!(count(guarded, "default: "), 3, "{guarded}");
    // `throw` with no handler in its function ends with a call of the
    // `throw` libcall (indirect, through the builtins table; the
    // allocation's slow path is the other `call_indirect`), followed by a
    // trap that is never reached.
    let lines: Vec<&str> = throws.lines().map(str::trim).collect();
    let last_call = lines
        .iter()
        .rposition(|l| l.contains("call_indirect"))
        .expect("a libcall");
    assert!(lines[last_call + 1].contains("trap "), "{throws}");
    assert_eq!(lines[last_call + 2], "}", "{throws}");
}

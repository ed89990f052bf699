//! The may-throw analysis, checked on the CLIF the translator emits: with
//! exceptions on, a call is followed by a pending-exception check exactly
//! when its callee may throw (an import, an unknown target, a function that
//! throws or calls one that may, through the whole call graph); with
//! exceptions off no call has one.

use tern_cranelift::{Compiler, CompilerSettings, OptLevel};
use tern_environ::{
    translate_module, Tunables, WasmFeatures, VMCTX_RUNTIME_LIMITS, VMLIMITS_PENDING_EXN,
};

/// The CLIF of each defined function of `wat`.
fn clif(wat: &str, exceptions: bool) -> Vec<String> {
    let compiler = Compiler::new(CompilerSettings {
        opt_level: OptLevel::Speed,
        verify: true,
        tunables: Tunables {
            exceptions,
            ..Tunables::default()
        },
    })
    .unwrap();
    let bytes = wat::parse_str(wat).unwrap();
    let features = WasmFeatures::default() | WasmFeatures::EXCEPTIONS;
    compiler
        .translate_to_clif(translate_module(&bytes, features).unwrap())
        .unwrap()
}

/// How many loads of the pending-exception word a function's CLIF has (one
/// per check; none of these functions has a `try_table`): loads at
/// `VMLIMITS_PENDING_EXN` from a value that was loaded from the vmctx's
/// runtime-limits field (the vmctx is `v0`).
fn checks(clif: &str) -> usize {
    let limits_field = format!(" v0+{VMCTX_RUNTIME_LIMITS}");
    let limits: Vec<&str> = clif
        .lines()
        .filter(|l| {
            l.contains(" = load.i64 ")
                && (l.trim_end().ends_with(&limits_field)
                    || (VMCTX_RUNTIME_LIMITS == 0 && l.trim_end().ends_with(" v0")))
        })
        .filter_map(|l| l.split(" = ").next()?.split_whitespace().last())
        .collect();
    clif.lines()
        .filter(|l| {
            l.contains(" = load.i64 ")
                && limits.iter().any(|v| {
                    l.trim_end()
                        .ends_with(&format!(" {v}+{VMLIMITS_PENDING_EXN}"))
                })
        })
        .count()
}

const MODULE: &str = r#"(module
    (import "h" "f" (func $host))
    (tag $t)
    (table 1 funcref)
    (type $v (func))
    (func $leaf (result i32) i32.const 1)
    (func $calls_leaf (result i32) call $leaf)
    (func $throws throw $t)
    (func $calls_throws call $throws)
    (func $calls_host call $host)
    (func $indirect (call_indirect (type $v) (i32.const 0)))
    (func $rec (param i32) (result i32)
        (if (result i32) (local.get 0)
            (then (call $rec (i32.const 0)))
            (else (i32.const 0))))
    (func $tail return_call $calls_throws)
    (func $mutual_a (call $mutual_b))
    (func $mutual_b (call $mutual_a) (call $leaf) (drop))
    (func $calls_tail (call $tail))
    (func $calls_mutual (call $mutual_a))
    (func $calls_indirect (call $indirect))
)"#;

#[test]
fn only_calls_to_functions_that_may_throw_are_checked() {
    let funcs = clif(MODULE, true);
    let got: Vec<usize> = funcs.iter().map(|f| checks(f)).collect();
    // $leaf, $calls_leaf (its callee cannot throw), $throws (no call),
    // $calls_throws, $calls_host, $indirect, $rec (recursion that never
    // throws), $tail (a tail call returns nothing to check), $mutual_a and
    // $mutual_b (a cycle that never throws), $calls_tail (the tail callee
    // throws), $calls_mutual, $calls_indirect.
    assert_eq!(got, vec![0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1], "{got:?}");
}

#[test]
fn a_throw_anywhere_in_a_cycle_reaches_every_caller() {
    let wat = r#"(module
        (tag $t)
        (func $a (param i32) (if (local.get 0) (then (call $b (i32.const 0)))))
        (func $b (param i32) (if (local.get 0) (then (throw $t)) (else (call $a (i32.const 1)))))
        (func $c (call $a (i32.const 0))))"#;
    let got: Vec<usize> = clif(wat, true).iter().map(|f| checks(f)).collect();
    assert_eq!(got, vec![1, 1, 1]);
}

#[test]
fn no_call_is_checked_with_exceptions_off() {
    let wat = r#"(module
        (import "h" "f" (func $host))
        (func $f (call $host) (call $f)))"#;
    assert_eq!(checks(&clif(wat, false)[0]), 0);
    assert_eq!(checks(&clif(wat, true)[0]), 2);
}

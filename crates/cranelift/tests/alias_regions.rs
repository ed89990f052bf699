//! The translator's alias regions, checked on the CLIF it emits: every
//! linear-memory access (scalar and SIMD) is in the linear-memory region, each
//! defined global's accesses in that global's own region, and all imported
//! globals' accesses in one shared region (two imports may name one global).

mod common;

use tern_environ::{Tunables, WasmFeatures};

/// The CLIF of each defined function of `wat`.
fn clif(wat: &str) -> Vec<String> {
    common::translate_to_clif(wat, WasmFeatures::default(), Tunables::default()).unwrap()
}

/// The name (`regionN`) the function's preamble gives the region described as `desc`.
fn region<'a>(f: &'a str, desc: &str) -> Option<&'a str> {
    f.lines()
        .find(|l| l.trim_end().ends_with(&format!("\"{desc}\"")))
        .map(|l| l.split_whitespace().next().unwrap())
}

/// The linear-memory accesses of `f`: its loads and stores that may trap
/// (the runtime's own loads are `notrap`) and are explicitly little-endian.
fn heap_accesses(f: &str) -> Vec<&str> {
    f.lines()
        .filter(|l| l.contains("load") || l.contains("store"))
        .filter(|l| l.contains(" little ") && !l.contains("notrap"))
        .collect()
}

#[test]
fn every_linear_memory_access_is_in_the_linear_memory_region() {
    let funcs = clif(
        r#"(module (memory 1)
             (func (param i32) (result i32)
               (i32.store offset=4 (local.get 0) (i32.const 1))
               (i64.store8 (local.get 0) (i64.const 2))
               (i32.load16_s (local.get 0)))
             (func (param i32) (result v128)
               (v128.store (local.get 0) (v128.const i64x2 1 2))
               (v128.store32_lane 1 (local.get 0) (v128.const i64x2 1 2))
               (drop (v128.load32_splat (local.get 0)))
               (drop (v128.load8_lane 3 (local.get 0) (v128.const i64x2 0 0)))
               (v128.load (local.get 0))))"#,
    );
    for f in &funcs {
        let r = region(f, "linear memory").unwrap_or_else(|| panic!("no region in {f}"));
        let accesses = heap_accesses(f);
        assert!(accesses.len() >= 3, "{f}");
        for a in accesses {
            assert!(a.split_whitespace().any(|w| w == r), "{a} in {f}");
        }
    }
}

#[test]
fn each_defined_global_has_its_own_region_and_imports_share_one() {
    let funcs = clif(
        r#"(module
             (import "m" "a" (global $a (mut i32)))
             (import "m" "b" (global $b (mut i32)))
             (global $x (mut i32) (i32.const 0))
             (global $y (mut i64) (i64.const 0))
             (func (result i32)
               (global.set $a (i32.const 1))
               (global.set $x (global.get $b))
               (global.set $y (i64.const 3))
               (global.get $x)))"#,
    );
    let f = &funcs[0];
    let x = region(f, "defined global 0").expect("global $x's region");
    let y = region(f, "defined global 1").expect("global $y's region");
    let imported = region(f, "imported globals").expect("the imports' region");
    let uses = |r: &str| {
        f.lines()
            .filter(|l| l.split_whitespace().any(|w| w == r))
            .count()
            - 1
    };
    // $x: one set, one get; $y: one set; $a and $b: one set, one get, shared.
    assert_eq!((uses(x), uses(y), uses(imported)), (2, 1, 2), "{f}");
}

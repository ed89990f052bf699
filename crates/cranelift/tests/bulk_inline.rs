//! Which `memory.fill` and `memory.copy` the translator compiles inline (no
//! libcall): a constant length of at most 256 (fill) or 128 (copy) bytes on
//! 32-bit memories; the rest call the runtime. Their behaviour is tested in
//! `crates/tern/tests/all/bulk_inline.rs`.

mod common;

use tern_environ::{Tunables, WasmFeatures};

/// Whether each defined function of `wat` calls a libcall.
fn calls(wat: &str) -> Vec<bool> {
    let features = WasmFeatures::default() | WasmFeatures::MEMORY64;
    let funcs = common::translate_to_clif(wat, features, Tunables::default()).unwrap();
    funcs.iter().map(|f| f.contains("call_indirect")).collect()
}

#[test]
fn short_constant_fills_and_copies_are_inline() {
    let inline = calls(
        r#"(module (memory 1) (memory $m64 i64 1)
             (func (param i32 i32) (memory.fill (local.get 0) (local.get 1) (i32.const 192)))
             (func (param i32 i32) (memory.fill (local.get 0) (local.get 1) (i32.const 256)))
             (func (param i32 i32) (memory.copy (local.get 0) (local.get 1) (i32.const 128)))
             (func (param i32 i32) (memory.fill (local.get 0) (local.get 1) (i32.const 257)))
             (func (param i32 i32) (memory.copy (local.get 0) (local.get 1) (i32.const 129)))
             (func (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
             (func (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
             (func (param i64 i32) (memory.fill $m64 (local.get 0) (local.get 1) (i64.const 16))))"#,
    )
    .iter()
    .map(|calls| !calls)
    .collect::<Vec<_>>();
    assert_eq!(
        inline,
        [true, true, true, false, false, false, false, false]
    );
}

//! The operator dispatch: operators of proposals Tern does not implement are
//! errors naming the operator and the proposal, even when a validator with the
//! proposal enabled lets them through.

mod common;

use tern_environ::{Tunables, WasmFeatures};

fn translate(wat: &str, features: WasmFeatures) -> anyhow::Result<Vec<String>> {
    common::translate_to_clif(wat, features, Tunables::default())
}

#[test]
fn an_operator_of_an_unimplemented_proposal_is_an_error_naming_it() {
    let wat = r#"(module (memory 1 1 shared)
        (func (param i32) (result i32) (i32.atomic.load (local.get 0))))"#;
    let features = WasmFeatures::default() | WasmFeatures::THREADS;
    let err = translate(wat, features).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported operator I32AtomicLoad: Tern does not implement the threads proposal"
    );
}

#[test]
fn operators_of_every_implemented_group_translate() {
    let wat = r#"(module (memory 1) (table 1 funcref)
        (func (param i32) (result i32)
          (drop (table.get 0 (local.get 0)))
          (drop (i32x4.extract_lane 0 (v128.load (local.get 0))))
          (memory.fill (local.get 0) (i32.const 0) (i32.const 1))
          (i32.extend8_s (i32.add (i32.load (local.get 0)) (i32.trunc_sat_f32_s (f32.const 1))))))"#;
    let clif = translate(wat, WasmFeatures::default()).unwrap();
    assert_eq!(clif.len(), 1);
    assert!(clif[0].contains("sextend"), "{}", clif[0]);
}

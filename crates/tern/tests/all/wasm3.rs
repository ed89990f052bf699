//! WebAssembly 3.0 defaults and wide arithmetic through the public API:
//! what `Config::new` turns on, that unimplemented 3.0 features are refused
//! by name, that artifacts record the feature set, and the 128-bit operators.

use tern::*;

/// A module per default-on feature, each invalid under wasmtime 12's defaults.
const NEEDS: &[(&str, &str)] = &[
    ("multi-memory", "(module (memory 1) (memory 1))"),
    ("memory64", "(module (memory i64 1))"),
    (
        "tail calls",
        "(module (func $f (return_call $f)))",
    ),
    (
        "extended-const",
        "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
    ),
    (
        "relaxed SIMD",
        "(module (func (param v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 0))))",
    ),
    (
        "wide arithmetic",
        "(module (func (param i64 i64) (result i64 i64) (i64.mul_wide_u (local.get 0) (local.get 1))))",
    ),
];

#[test]
fn the_default_config_accepts_every_implemented_wasm3_feature() -> Result<()> {
    let engine = Engine::default();
    for (feature, wat) in NEEDS {
        Module::new(&engine, wat).map_err(|e| e.context(format!("{feature} is on by default")))?;
    }
    Ok(())
}

#[test]
fn wasmtime12_defaults_can_be_restored_feature_by_feature() -> Result<()> {
    let mut config = Config::new();
    config
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_tail_call(false)
        .wasm_extended_const(false)
        .wasm_relaxed_simd(false)
        .wasm_wide_arithmetic(false);
    let engine = Engine::new(&config)?;
    for (feature, wat) in NEEDS {
        assert!(
            Module::new(&engine, wat).is_err(),
            "{feature} should be off"
        );
    }
    Ok(())
}

#[test]
fn unimplemented_features_are_refused_by_name() {
    type Setter = for<'a> fn(&'a mut Config, bool) -> &'a mut Config;
    let cases: [(Setter, &str); 1] = [(Config::wasm_threads, "THREADS")];
    for (set, name) in cases {
        let mut config = Config::new();
        set(&mut config, true);
        let err = Engine::new(&config).expect_err("not implemented yet");
        assert_eq!(
            err.to_string(),
            format!("Tern does not implement these WebAssembly features yet: {name}")
        );
        // Off (the default) is fine.
        set(&mut config, false);
        assert!(Engine::new(&config).is_ok());
    }
}

#[test]
fn an_artifact_of_another_feature_set_is_refused_naming_the_feature() -> Result<()> {
    let wat = "(module (func (export \"f\") (result i32) (i32.const 7)))";
    let artifact = Engine::default().precompile_module(wat.as_bytes())?;
    let mut config = Config::new();
    config.wasm_wide_arithmetic(false);
    let engine = Engine::new(&config)?;
    // SAFETY: the bytes come from `precompile_module`; the check refuses them.
    let err = unsafe { Module::deserialize(&engine, &artifact) }.expect_err("feature sets differ");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(
            "compiled with wasm feature WIDE_ARITHMETIC=true, this engine has wasm feature WIDE_ARITHMETIC=false"
        ),
        "{msg}"
    );
    // The same feature set loads.
    // SAFETY: as above, with a matching engine.
    let module = unsafe { Module::deserialize(&Engine::default(), &artifact) }?;
    assert_eq!(module.exports().count(), 1);
    Ok(())
}

const WIDE: &str = r#"(module
  (func (export "add128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "sub128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.sub128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "mul_wide_s") (param i64 i64) (result i64 i64)
    (i64.mul_wide_s (local.get 0) (local.get 1)))
  (func (export "mul_wide_u") (param i64 i64) (result i64 i64)
    (i64.mul_wide_u (local.get 0) (local.get 1))))"#;

/// Splits a 128-bit value into (low, high) i64 halves.
fn halves(v: u128) -> (i64, i64) {
    (v as u64 as i64, (v >> 64) as u64 as i64)
}

#[test]
fn wide_arithmetic_agrees_with_rust_u128_arithmetic() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, WIDE)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let add = instance.get_typed_func::<(i64, i64, i64, i64), (i64, i64)>(&mut store, "add128")?;
    let sub = instance.get_typed_func::<(i64, i64, i64, i64), (i64, i64)>(&mut store, "sub128")?;
    let mul_s = instance.get_typed_func::<(i64, i64), (i64, i64)>(&mut store, "mul_wide_s")?;
    let mul_u = instance.get_typed_func::<(i64, i64), (i64, i64)>(&mut store, "mul_wide_u")?;
    let values: [u128; 6] = [
        0,
        1,
        u128::from(u64::MAX),
        u128::MAX,
        1 << 127,
        0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
    ];
    for a in values {
        for b in values {
            let (al, ah) = halves(a);
            let (bl, bh) = halves(b);
            assert_eq!(
                add.call(&mut store, (al, ah, bl, bh))?,
                halves(a.wrapping_add(b))
            );
            assert_eq!(
                sub.call(&mut store, (al, ah, bl, bh))?,
                halves(a.wrapping_sub(b))
            );
            let product_s = i128::from(al).wrapping_mul(i128::from(bl)) as u128;
            assert_eq!(mul_s.call(&mut store, (al, bl))?, halves(product_s));
            let product_u = u128::from(al as u64) * u128::from(bl as u64);
            assert_eq!(mul_u.call(&mut store, (al, bl))?, halves(product_u));
        }
    }
    Ok(())
}

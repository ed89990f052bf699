//! Bad input gets a clear `Err`, never a panic: malformed or invalid modules,
//! WAT syntax errors, missing files, mistyped calls, missing imports.

use tern::*;

fn message(r: Result<impl std::fmt::Debug>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

#[test]
fn malformed_and_invalid_modules_name_the_problem() {
    let engine = Engine::default();
    let m = message(Module::new(&engine, b"\0asm\x01\0\0\0\x01\x05"));
    assert!(m.contains("offset"), "{m}");
    let m = message(Module::new(
        &engine,
        "(module (func (result i32) (i64.const 1)))",
    ));
    assert!(m.contains("type mismatch"), "{m}");
    let m = message(Module::new(
        &engine,
        "(module (func (result i32) (i32.const 1))",
    ));
    assert!(m.contains("line 1") || m.contains(":1:"), "{m}");
    let m = message(Module::new(&engine, b"not wasm at all \x00\x01"));
    assert!(!m.is_empty());
}

#[test]
fn disabled_features_are_rejected_with_the_feature_named() {
    // Tail calls are on by default (Wasm 3.0); turned off, they are refused by name.
    let mut config = Config::new();
    config.wasm_tail_call(false);
    let engine = Engine::new(&config).unwrap();
    let m = message(Module::new(&engine, "(module (func $f (return_call $f)))"));
    assert!(m.contains("tail call"), "{m}");
    let mut config = Config::new();
    config.wasm_simd(false);
    let m = message(Module::new(
        &Engine::new(&config).unwrap(),
        "(module (func (drop (v128.const i32x4 0 0 0 0))))",
    ));
    assert!(m.to_lowercase().contains("simd"), "{m}");
    let mut config = Config::new();
    config.wasm_threads(true);
    let m = message(Engine::new(&config));
    assert!(m.contains("THREADS"), "{m}");
}

#[test]
fn missing_file_names_the_file() {
    let engine = Engine::default();
    let m = message(Module::from_file(&engine, "/definitely/not/here.wasm"));
    assert!(m.contains("/definitely/not/here.wasm"), "{m}");
}

#[test]
fn mistyped_calls_are_errors() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (param i32) (result i64) (i64.extend_i32_s (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_func(&mut store, "f").unwrap();
    let mut out = [Val::I64(0)];
    assert!(
        message(f.call(&mut store, &[Val::I64(1)], &mut out)).contains("argument type mismatch")
    );
    assert!(message(f.call(&mut store, &[], &mut out)).contains("expected 1 arguments"));
    assert!(message(f.call(&mut store, &[Val::I32(1)], &mut [])).contains("expected 1 results"));
    assert!(message(f.typed::<i64, i64>(&store)).contains("type mismatch with parameters"));
    assert!(message(f.typed::<i32, i32>(&store)).contains("type mismatch with results"));
    assert!(message(instance.get_typed_func::<(), ()>(&mut store, "nope")).contains("nope"));
    f.call(&mut store, &[Val::I32(-3)], &mut out)?;
    assert_eq!(out[0].unwrap_i64(), -3);
    Ok(())
}

#[test]
fn missing_and_mistyped_imports_are_named() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "a" (func (param i32))) (import "env" "b" (global i32)) (import "env" "c" (memory 1)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let m = message(linker.instantiate(&mut store, &module));
    assert!(
        m.contains("`env::a`") && m.contains("`env::b`") && m.contains("`env::c`"),
        "{m}"
    );
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "a", |_: i64| {})?;
    let g = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(1),
    )?;
    linker.define(&store, "env", "b", g)?;
    let mem = Memory::new(&mut store, MemoryType::new(1, None))?;
    linker.define(&store, "env", "c", mem)?;
    let m = message(linker.instantiate(&mut store, &module));
    assert!(
        m.contains("incompatible import type for `env::a`")
            && m.contains("i64")
            && m.contains("i32"),
        "{m}"
    );
    let m = message(Instance::new(&mut store, &module, &[]));
    assert!(m.contains("expected 3 imports"), "{m}");
    Ok(())
}

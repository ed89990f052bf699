//! Typed function references through the API: `ValType`'s wasmtime 12
//! spellings, concrete reference types canonical across modules, `FuncType`
//! matching at instantiation and linking, typed `Table::set`/`Global::set`,
//! and the `NullReference` trap of `call_ref`.

use tern::*;

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_function_references(true).wasm_tail_call(true);
    Engine::new(&config)
}

/// The name a wasmtime 12 embedder's exhaustive-looking `match` gives a type.
fn old_name(ty: ValType) -> &'static str {
    match ty {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "v128",
        ValType::FuncRef => "funcref",
        ValType::ExternRef => "externref",
        ValType::Ref(_) => "other reference",
    }
}

#[test]
fn wasmtime12_spellings_construct_and_match() {
    assert_eq!(old_name(ValType::FuncRef), "funcref");
    assert_eq!(old_name(ValType::ExternRef), "externref");
    assert_eq!(old_name(ValType::I64), "i64");
    assert_eq!(ValType::FuncRef, ValType::Ref(RefType::FUNCREF));
    let non_null = ValType::Ref(RefType::new(false, HeapType::Func));
    assert_eq!(old_name(non_null), "other reference");
    assert_eq!(non_null.to_string(), "(ref func)");
    assert!(non_null.matches(&ValType::FuncRef));
    assert!(!ValType::FuncRef.matches(&non_null));
    assert!(!ValType::ExternRef.matches(&ValType::FuncRef));
    assert!(ValType::NULLFUNCREF.matches(&ValType::FuncRef));
    assert!(Val::default_for_ty(non_null).is_none());
}

#[test]
fn concrete_types_are_canonical_across_modules() -> Result<()> {
    let engine = engine()?;
    // The same type `(func (param (ref $s)))` at different indices, over
    // different `$s` indices.
    let a = Module::new(
        &engine,
        r#"(module (type $s (func (param i32)))
                   (type $t (func (param (ref $s))))
                   (func (export "f") (param (ref $t))))"#,
    )?;
    let b = Module::new(
        &engine,
        r#"(module (type (func (result f64)))
                   (type $s (func (param i32)))
                   (type (func))
                   (type $t (func (param (ref $s))))
                   (func (export "f") (param (ref $t))))"#,
    )?;
    let fa = a.get_export("f").unwrap().func().unwrap().clone();
    let fb = b.get_export("f").unwrap().func().unwrap().clone();
    assert_eq!(fa, fb);
    assert!(fa.matches(&fb));
    let param = fa.params().next().unwrap();
    let ValType::Ref(r) = param else {
        panic!("expected a reference parameter, got {param}");
    };
    assert!(!r.is_nullable());
    assert!(matches!(r.heap_type(), HeapType::ConcreteFunc(_)));
    // A different inner type gives a different type.
    let c = Module::new(
        &engine,
        r#"(module (type $s (func (param i64)))
                   (type $t (func (param (ref $s))))
                   (func (export "f") (param (ref $t))))"#,
    )?;
    let fc = c.get_export("f").unwrap().func().unwrap().clone();
    assert!(!fc.matches(&fa));
    Ok(())
}

#[test]
fn imports_are_checked_with_func_type_matching() -> Result<()> {
    let engine = engine()?;
    let exporter = Module::new(
        &engine,
        r#"(module (type $s (func (result i32)))
                   (func $k (type $s) (i32.const 7))
                   (func (export "call") (param (ref $s)) (result i32)
                     (call_ref $s (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &exporter, &[])?;
    let call = instance.get_func(&mut store, "call").unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "m", "call", call)?;
    // Same type, written with the types in another order: links.
    let good = Module::new(
        &engine,
        r#"(module (type (func))
                   (type $s2 (func (result i32)))
                   (import "m" "call" (func (param (ref $s2)) (result i32))))"#,
    )?;
    linker.instantiate(&mut store, &good)?;
    // A nullable parameter is a different function type: refused.
    let bad = Module::new(
        &engine,
        r#"(module (type $s (func (result i32)))
                   (import "m" "call" (func (param (ref null $s)) (result i32))))"#,
    )?;
    let err = linker.instantiate(&mut store, &bad).unwrap_err();
    assert!(
        format!("{err:#}").contains("incompatible import type"),
        "{err:#}"
    );
    let err = Instance::new(&mut store, &bad, &[call.into()]).unwrap_err();
    assert!(
        format!("{err:#}").contains("incompatible import type"),
        "{err:#}"
    );
    Ok(())
}

#[test]
fn typed_tables_and_globals_check_the_concrete_type() -> Result<()> {
    let engine = engine()?;
    let module = Module::new(
        &engine,
        r#"(module
             (type $s (func (result i32)))
             (type $u (func (param i32)))
             (func $seven (type $s) (i32.const 7))
             (func $other (export "other") (type $u))
             (table $t (export "t") 2 (ref null $s))
             (table (export "nn") 2 (ref $s) (ref.func $seven))
             (global $g (export "g") (mut (ref null $s)) (ref.null $s))
             (elem declare func $seven)
             (func (export "seven") (result (ref $s)) (ref.func $seven))
             (func (export "call-g") (result i32) (call_ref $s (global.get $g)))
             (func (export "call-arg") (param (ref $s)) (result i32) (call_ref $s (local.get 0)))
             (func (export "call-nn") (param i32) (result i32)
               (call_ref $s (table.get 1 (local.get 0)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    // A `(ref $s)` result reads as `Option<Func>` (`funcref`), its supertype.
    let seven = instance.get_typed_func::<(), Option<Func>>(&mut store, "seven")?;
    let seven_ref = seven.call(&mut store, ())?.expect("non-null by type");
    // A `funcref` argument cannot be passed where `(ref $s)` is expected.
    assert!(instance
        .get_typed_func::<Option<Func>, i32>(&mut store, "call-arg")
        .is_err());
    // Through the dynamic API the argument is checked against `(ref $s)`.
    let call_arg = instance.get_func(&mut store, "call-arg").unwrap();
    let mut out = [Val::I32(0)];
    call_arg.call(&mut store, &[Val::FuncRef(Some(seven_ref))], &mut out)?;
    assert_eq!(out[0].unwrap_i32(), 7);
    assert!(call_arg
        .call(&mut store, &[Val::FuncRef(None)], &mut out)
        .is_err());
    let other = instance.get_func(&mut store, "other").unwrap();

    let table = instance.get_table(&mut store, "t").unwrap();
    table.set(&mut store, 0, Val::FuncRef(Some(seven_ref)))?;
    table.set(&mut store, 1, Val::FuncRef(None))?;
    let err = table
        .set(&mut store, 0, Val::FuncRef(Some(other)))
        .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    let nn = instance.get_table(&mut store, "nn").unwrap();
    assert!(nn.set(&mut store, 0, Val::FuncRef(None)).is_err());
    let call_nn = instance.get_typed_func::<i32, i32>(&mut store, "call-nn")?;
    assert_eq!(call_nn.call(&mut store, 1)?, 7);

    let global = instance.get_global(&mut store, "g").unwrap();
    assert!(global.set(&mut store, Val::FuncRef(Some(other))).is_err());
    let call_g = instance.get_typed_func::<(), i32>(&mut store, "call-g")?;
    let trap = call_g.call(&mut store, ()).unwrap_err();
    assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::NullReference));
    global.set(&mut store, Val::FuncRef(Some(seven_ref)))?;
    assert_eq!(call_g.call(&mut store, ())?, 7);
    Ok(())
}

#[test]
fn host_functions_typed_by_a_concrete_signature() -> Result<()> {
    let engine = engine()?;
    let module = Module::new(
        &engine,
        r#"(module
             (type $s (func (result i32)))
             (import "h" "apply" (func $apply (param (ref $s)) (result i32)))
             (func $k (type $s) (i32.const 42))
             (elem declare func $k)
             (func (export "run") (result i32) (call $apply (ref.func $k))))"#,
    )?;
    let s = FuncType::new([], [ValType::I32]);
    let param = ValType::Ref(RefType::new(false, HeapType::concrete_func(&engine, &s)));
    let mut store = Store::new(&engine, ());
    let apply = Func::new(
        &mut store,
        FuncType::new([param], [ValType::I32]),
        |mut caller, params, results| {
            let f = *params[0].unwrap_funcref().expect("non-null by type");
            f.call(&mut caller, &[], results)
        },
    );
    let instance = Instance::new(&mut store, &module, &[apply.into()])?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 42);
    Ok(())
}

#[test]
fn the_feature_is_a_config_switch() -> Result<()> {
    let wat = r#"(module (type $s (func))
                         (func (param (ref null $s)) (call_ref $s (local.get 0))))"#;
    Module::new(&engine()?, wat)?;
    let mut config = Config::new();
    config.wasm_function_references(false);
    assert!(Module::new(&Engine::new(&config)?, wat).is_err());
    Ok(())
}

//! Garbage collection, phase 1, through the public API (`Config::wasm_gc`):
//! off by default, i31 values in and out of wasm, engine-wide iso-recursive
//! type canonicalisation across modules, subtype checks at `call_indirect`
//! and on imports, and cast traps. Heap objects (phase 2) are tested in
//! `gc_objects.rs`. The spec scripts (`proposals/gc`, `wasm-v3/type-*`) are
//! run by `crates/wast/tests/spec.rs`.

use tern::*;

fn gc_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_gc(true);
    Engine::new(&config).expect("GC phase 1 is implemented")
}

#[test]
fn gc_is_on_by_default_and_can_be_turned_off() {
    let wat = "(module (type (struct (field i32))))";
    assert!(Module::new(&Engine::default(), wat).is_ok());
    let mut config = Config::new();
    config.wasm_gc(false);
    let err = Module::new(&Engine::new(&config).unwrap(), wat).expect_err("struct types need GC");
    assert!(format!("{err:#}").contains("gc"), "{err:#}");
}

#[test]
fn i31_values_cross_the_host_boundary() -> Result<()> {
    let engine = gc_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (func (export "make") (param i32) (result i31ref) (ref.i31 (local.get 0)))
            (func (export "get_s") (param i31ref) (result i32) (i31.get_s (local.get 0)))
            (func (export "get_u") (param i31ref) (result i32) (i31.get_u (local.get 0)))
            (func (export "eq") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let make = instance.get_func(&mut store, "make").unwrap();
    let mut out = [Val::I32(0)];
    make.call(&mut store, &[Val::I32(-5)], &mut out)?;
    let Val::AnyRef(Some(r)) = out[0] else {
        panic!("expected a non-null anyref, got {:?}", out[0]);
    };
    let i = r.as_i31(&store)?.expect("an i31");
    assert_eq!(i.get_i32(), -5);
    assert_eq!(i.get_u32(), 0x7fff_fffb);

    // A host-made i31 is read back by wasm, signed and unsigned.
    let host = Val::AnyRef(Some(AnyRef::from_i31(&mut store, I31::wrapping_i32(-2))));
    let get_s = instance.get_func(&mut store, "get_s").unwrap();
    get_s.call(&mut store, std::slice::from_ref(&host), &mut out)?;
    assert_eq!(out[0].unwrap_i32(), -2);
    let get_u = instance.get_func(&mut store, "get_u").unwrap();
    get_u.call(&mut store, std::slice::from_ref(&host), &mut out)?;
    assert_eq!(out[0].unwrap_i32(), 0x7fff_fffe);

    // `i31.get_s` of null traps with the spec's message.
    let err = get_s
        .call(&mut store, &[Val::AnyRef(None)], &mut out)
        .expect_err("null i31");
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::NullI31Reference));

    // `ref.eq` compares i31s by value.
    let eq = instance.get_func(&mut store, "eq").unwrap();
    let seven = |s: &mut Store<()>| Val::AnyRef(Some(AnyRef::from_i31(s, I31::wrapping_u32(7))));
    let (a, b) = (seven(&mut store), seven(&mut store));
    eq.call(&mut store, &[a, b], &mut out)?;
    assert_eq!(out[0].unwrap_i32(), 1);
    let a = seven(&mut store);
    eq.call(&mut store, &[a, host], &mut out)?;
    assert_eq!(out[0].unwrap_i32(), 0);
    Ok(())
}

#[test]
fn i31_constructors_wrap_or_check_the_range() {
    assert_eq!(I31::wrapping_u32(u32::MAX).get_u32(), 0x7fff_ffff);
    assert_eq!(I31::wrapping_u32(u32::MAX).get_i32(), -1);
    assert_eq!(I31::new_u32(0x8000_0000), None);
    assert_eq!(I31::new_i32(1 << 30), None);
    assert_eq!(I31::new_i32(-(1 << 30)).map(I31::get_i32), Some(-(1 << 30)));
    assert_eq!(
        I31::new_i32((1 << 30) - 1).map(I31::get_i32),
        Some((1 << 30) - 1)
    );
}

/// Two modules' structurally identical recursion groups are one type; the
/// same function type in a different group is another.
#[test]
fn recursion_groups_are_canonicalised_across_modules() -> Result<()> {
    let engine = gc_engine();
    let mut store = Store::new(&engine, ());
    let exporter = Module::new(
        &engine,
        r#"(module
            (rec (type $f (func (param (ref null $g)))) (type $g (struct (field (ref null $f)))))
            (func (export "f") (type $f)))"#,
    )?;
    let exported = Instance::new(&mut store, &exporter, &[])?;
    let f = exported.get_func(&mut store, "f").unwrap();
    let same = Module::new(
        &engine,
        r#"(module
            (type $unrelated (func (result i32)))
            (rec (type $f (func (param (ref null $g)))) (type $g (struct (field (ref null $f)))))
            (import "m" "f" (func (type $f))))"#,
    )?;
    Instance::new(&mut store, &same, &[f.into()])?;
    let other_group = Module::new(
        &engine,
        r#"(module
            (rec (type $f (func (param (ref null $g)))) (type $g (struct (field (ref null $f) i32))))
            (import "m" "f" (func (type $f))))"#,
    )?;
    let err = Instance::new(&mut store, &other_group, &[f.into()]).expect_err("another type");
    assert!(
        format!("{err:#}").contains("incompatible import type"),
        "{err:#}"
    );
    Ok(())
}

/// `call_indirect` and `ref.cast` accept a declared subtype's function and
/// refuse an unrelated one; an import of a supertype accepts a subtype's function.
#[test]
fn declared_subtypes_pass_calls_casts_and_imports() -> Result<()> {
    let engine = gc_engine();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (type $super (sub (func (result i32))))
            (type $sub (sub $super (func (result i32))))
            (type $other (func (result i32)))
            (func $a (type $sub) (i32.const 1))
            (func $b (type $other) (i32.const 2))
            (table funcref (elem $a $b))
            (func (export "call") (param i32) (result i32)
              (call_indirect (type $super) (local.get 0)))
            (func (export "cast") (param i32) (result i32)
              (ref.test (ref $super) (table.get (local.get 0))))
            (func (export "sub") (type $sub) (i32.const 3)))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let call = instance.get_typed_func::<i32, i32>(&mut store, "call")?;
    assert_eq!(call.call(&mut store, 0)?, 1);
    let err = call.call(&mut store, 1).expect_err("unrelated type");
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::BadSignature));
    let cast = instance.get_typed_func::<i32, i32>(&mut store, "cast")?;
    assert_eq!(cast.call(&mut store, 0)?, 1);
    assert_eq!(cast.call(&mut store, 1)?, 0);

    let sub = instance.get_func(&mut store, "sub").unwrap();
    let importer = Module::new(
        &engine,
        r#"(module
            (type $super (sub (func (result i32))))
            (import "m" "f" (func $f (type $super)))
            (func (export "g") (result i32) (call $f)))"#,
    )?;
    let imported = Instance::new(&mut store, &importer, &[sub.into()])?;
    let g = imported.get_typed_func::<(), i32>(&mut store, "g")?;
    assert_eq!(g.call(&mut store, ())?, 3);
    Ok(())
}

#[test]
fn a_failed_cast_traps_with_cast_failure() -> Result<()> {
    let engine = gc_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (func (export "f") (param anyref) (result i32)
              (i31.get_u (ref.cast (ref i31) (local.get 0)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_func(&mut store, "f").unwrap();
    let mut out = [Val::I32(0)];
    let nine = Val::AnyRef(Some(AnyRef::from_i31(&mut store, I31::wrapping_u32(9))));
    f.call(&mut store, &[nine], &mut out)?;
    assert_eq!(out[0].unwrap_i32(), 9);
    let err = f
        .call(&mut store, &[Val::AnyRef(None)], &mut out)
        .expect_err("null is not (ref i31)");
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::CastFailure));
    Ok(())
}

//! WebAssembly 2.0 and proposal features through the API: tail calls that do
//! not grow the stack, v128 in typed and untyped calls, externrefs that are
//! released with their store, funcrefs in tables.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tern::*;

#[test]
fn ten_million_tail_calls_run_in_constant_stack() -> Result<()> {
    let mut config = Config::new();
    config.wasm_tail_call(true);
    // A small stack: ordinary recursion this deep would overflow it many times over.
    config.max_wasm_stack(64 * 1024);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
            (func $count (export "count") (param $n i32) (param $acc i64) (result i64)
              (if (result i64) (i32.eqz (local.get $n))
                (then (local.get $acc))
                (else (return_call $count (i32.sub (local.get $n) (i32.const 1))
                                          (i64.add (local.get $acc) (i64.const 3))))))
            (type $t (func (param i32 i64) (result i64)))
            (table funcref (elem $count))
            (func (export "indirect") (param i32 i64) (result i64)
              (return_call_indirect (type $t) (local.get 0) (local.get 1) (i32.const 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let count = instance.get_typed_func::<(i32, i64), i64>(&mut store, "count")?;
    assert_eq!(count.call(&mut store, (10_000_000, 0))?, 30_000_000);
    let indirect = instance.get_typed_func::<(i32, i64), i64>(&mut store, "indirect")?;
    assert_eq!(indirect.call(&mut store, (1_000_000, 1))?, 3_000_001);
    Ok(())
}

#[test]
fn v128_crosses_the_boundary_typed_and_untyped() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "add") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let lanes = |l: [u32; 4]| -> u128 {
        l.iter()
            .rev()
            .fold(0u128, |acc, x| (acc << 32) | u128::from(*x))
    };
    let add = instance.get_typed_func::<(V128, V128), V128>(&mut store, "add")?;
    let r = add.call(
        &mut store,
        (
            lanes([1, 2, 3, u32::MAX]).into(),
            lanes([10, 20, 30, 2]).into(),
        ),
    )?;
    assert_eq!(r.as_u128(), lanes([11, 22, 33, 1]));
    let f = instance.get_func(&mut store, "add").unwrap();
    let mut out = [Val::V128(0)];
    f.call(
        &mut store,
        &[
            Val::V128(lanes([5, 0, 0, 0])),
            Val::V128(lanes([0, 0, 0, 7])),
        ],
        &mut out,
    )?;
    assert!(matches!(out[0], Val::V128(v) if v == lanes([5, 0, 0, 7])));
    let err = f
        .call(&mut store, &[Val::I64(1), Val::V128(0)], &mut out)
        .unwrap_err();
    assert!(err.to_string().contains("argument type mismatch"), "{err}");
    assert!(instance
        .get_typed_func::<(i64, V128), V128>(&mut store, "add")
        .is_err());
    Ok(())
}

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn externrefs_held_by_wasm_are_released_with_the_store() -> Result<()> {
    let dropped = Arc::new(AtomicBool::new(false));
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (table $t 4 externref)
            (global $g (mut externref) (ref.null extern))
            (func (export "keep") (param externref)
              (table.set $t (i32.const 2) (local.get 0))
              (global.set $g (local.get 0)))
            (func (export "get") (result externref) (table.get $t (i32.const 2))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let keep = instance.get_typed_func::<Option<ExternRef>, ()>(&mut store, "keep")?;
    keep.call(&mut store, Some(ExternRef::new(DropFlag(dropped.clone()))))?;
    let get = instance.get_typed_func::<(), Option<ExternRef>>(&mut store, "get")?;
    let back = get.call(&mut store, ())?.expect("non-null");
    assert!(back.data().downcast_ref::<DropFlag>().is_some());
    drop(back);
    assert!(!dropped.load(Ordering::SeqCst), "wasm still holds it");
    drop(store);
    assert!(dropped.load(Ordering::SeqCst), "released with the store");
    Ok(())
}

#[test]
fn funcref_tables_from_the_host() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (table (export "t") 0 funcref)
            (type $i (func (result i32)))
            (func (export "call") (param i32) (result i32) (call_indirect (type $i) (local.get 0)))
            (func $nine (result i32) (i32.const 9))
            (func (export "grow") (result i32) (table.grow (ref.func $nine) (i32.const 2)))
            (elem declare func $nine))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let grow = instance.get_typed_func::<(), i32>(&mut store, "grow")?;
    assert_eq!(grow.call(&mut store, ())?, 0);
    let call = instance.get_typed_func::<i32, i32>(&mut store, "call")?;
    assert_eq!(call.call(&mut store, 1)?, 9);
    let t = instance.get_table(&mut store, "t").unwrap();
    let four = Func::wrap(&mut store, || 4i32);
    t.grow(&mut store, 1, Val::FuncRef(Some(four)))?;
    assert_eq!(call.call(&mut store, 2)?, 4);
    t.set(&mut store, 0, Val::FuncRef(None))?;
    assert_eq!(
        call.call(&mut store, 0).unwrap_err().downcast_ref::<Trap>(),
        Some(&Trap::IndirectCallToNull)
    );
    let ext = Table::new(
        &mut store,
        TableType::new(ValType::ExternRef, 1, None),
        Val::ExternRef(None),
    )?;
    assert!(ext.set(&mut store, 0, Val::FuncRef(None)).is_err());
    Ok(())
}

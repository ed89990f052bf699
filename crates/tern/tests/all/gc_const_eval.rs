//! Constant expressions that allocate on the GC heap (global initialisers,
//! element segments) allocate as compiled code does: they ask the store's
//! `ResourceLimiter` before the heap grows, so a constant array over the
//! limit is a clean instantiation error, and they collect when the heap is
//! full, with the values already computed (operands on the expression's
//! stack, element items of segments not yet stored) kept as roots and
//! updated when their objects move.

use crate::gc_collect::{gc_engine, Recorder};
use tern::*;

fn store_with_limit(engine: &Engine, bytes: usize) -> Store<Recorder> {
    let mut store = Store::new(engine, Recorder::new(bytes));
    store.limiter(|r| r);
    store
}

/// A 1 GiB constant array under a 1 MiB limit: the limiter refuses before
/// anything is written, the error is `GcHeapOutOfMemory`, and the store
/// still instantiates modules that fit.
#[test]
fn a_constant_array_over_the_limit_is_refused_first() -> Result<()> {
    let engine = gc_engine();
    let huge = Module::new(
        &engine,
        r#"(module (type $bytes (array (mut i8)))
          (global (ref $bytes) (array.new $bytes (i32.const 1) (i32.const 0x40000000))))"#,
    )?;
    let mut store = store_with_limit(&engine, 1 << 20);
    let err = Instance::new(&mut store, &huge, &[]).expect_err("1 GiB does not fit 1 MiB");
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::GcHeapOutOfMemory),
        "{err:#}"
    );
    assert!(store.data().asked > 0, "the limiter was not asked");
    assert!(store.data().largest <= 1 << 20, "{}", store.data().largest);

    let small = Module::new(
        &engine,
        r#"(module (type $bytes (array (mut i8)))
          (global $g (ref $bytes) (array.new $bytes (i32.const 5) (i32.const 1000)))
          (func (export "get") (param i32) (result i32)
            (array.get_u $bytes (global.get $g) (local.get 0))))"#,
    )?;
    let instance = Instance::new(&mut store, &small, &[])?;
    let get = instance.get_typed_func::<i32, i32>(&mut store, "get")?;
    assert_eq!(get.call(&mut store, 999)?, 5);
    Ok(())
}

/// A limiter that refuses with an error: that error ends the instantiation.
#[test]
fn the_limiters_error_ends_the_instantiation() -> Result<()> {
    struct Refuse;
    impl ResourceLimiter for Refuse {
        fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> Result<bool> {
            anyhow::bail!("no GC heap for you")
        }
        fn table_growing(&mut self, _: u32, _: u32, _: Option<u32>) -> Result<bool> {
            Ok(true)
        }
    }
    let engine = gc_engine();
    let module = Module::new(
        &engine,
        r#"(module (type $s (struct (field i32)))
          (global (ref $s) (struct.new $s (i32.const 1))))"#,
    )?;
    let mut store = Store::new(&engine, Refuse);
    store.limiter(|r| r);
    let err = Instance::new(&mut store, &module, &[]).expect_err("the limiter refuses");
    assert!(format!("{err:#}").contains("no GC heap for you"), "{err:#}");
    Ok(())
}

/// Makes garbage: `fill n` links `n` chunks of 8 KiB into a global (so the
/// heap grows to hold them), `clear` drops them.
const GARBAGE: &str = r#"(module
  (type $bytes (array (mut i8)))
  (type $chunk (struct (field (ref null $chunk)) (field (ref $bytes))))
  (global $keep (mut (ref null $chunk)) (ref.null $chunk))
  (func (export "fill") (param $n i32)
    (loop $l
      (if (local.get $n)
        (then
          (global.set $keep
            (struct.new $chunk (global.get $keep) (array.new_default $bytes (i32.const 8192))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))))
  (func (export "clear") (global.set $keep (ref.null $chunk))))"#;

/// About 680 KB of constant objects: a struct of two 100 KB arrays, an
/// array of three 20 KB arrays, ten 20 KB arrays in an active segment and
/// ten in a passive one; `check` reads them all back.
fn constants_module() -> String {
    let items = |first: i64| {
        (0..10)
            .map(|i| {
                format!(
                    "(item (array.new $a (i64.const {}) (i32.const 2560)))",
                    first + i
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        r#"(module
  (type $a (array (mut i64)))
  (type $pair (struct (field (ref $a)) (field (ref $a))))
  (type $refs (array (ref null $a)))
  (global $pair (ref $pair)
    (struct.new $pair (array.new $a (i64.const 7) (i32.const 12800))
                      (array.new $a (i64.const 9) (i32.const 12800))))
  (global $fixed (ref $refs)
    (array.new_fixed $refs 3 (array.new $a (i64.const 21) (i32.const 2560))
                             (array.new $a (i64.const 22) (i32.const 2560))
                             (array.new $a (i64.const 23) (i32.const 2560))))
  (table $t 10 (ref null $a))
  (elem (table $t) (i32.const 0) (ref null $a) {active})
  (elem $p (ref null $a) {passive})
  ;; a[0] + a[last] of array `a`.
  (func $ends (param $a (ref null $a)) (result i64)
    (i64.add (array.get $a (local.get $a) (i32.const 0))
             (array.get $a (local.get $a) (i32.sub (array.len (local.get $a)) (i32.const 1)))))
  (func (export "check") (result i64)
    (local $sum i64) (local $i i32) (local $p (ref null $refs))
    (local.set $sum
      (i64.add (call $ends (struct.get $pair 0 (global.get $pair)))
               (call $ends (struct.get $pair 1 (global.get $pair)))))
    (local.set $p (array.new_elem $refs $p (i32.const 0) (i32.const 10)))
    (loop $l
      (local.set $sum (i64.add (local.get $sum) (call $ends (table.get $t (local.get $i)))))
      (local.set $sum (i64.add (local.get $sum) (call $ends (array.get $refs (local.get $p) (local.get $i)))))
      (if (i32.lt_u (local.get $i) (i32.const 3))
        (then (local.set $sum (i64.add (local.get $sum)
          (call $ends (array.get $refs (global.get $fixed) (local.get $i)))))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 10))))
    (local.get $sum)))"#,
        active = items(1),
        passive = items(11),
    )
}

/// 2 × (7 + 9) + 2 × (1 + … + 10) + 2 × (11 + … + 20) + 2 × (21 + 22 + 23).
const CHECK_SUM: i64 = 2 * 16 + 2 * 55 + 2 * 155 + 2 * 66;

/// Under a 1 MiB limit, first up to 900 KB of garbage, then the constants:
/// with the most garbage they only fit because instantiation collects; with
/// the amounts in between the collection lands at different points (an
/// operand of `struct.new`/`array.new_fixed` in flight, segment items
/// evaluated but not yet stored), and every value must read back whole.
#[test]
fn instantiation_collects_and_keeps_what_constants_made() -> Result<()> {
    let engine = gc_engine();
    let garbage = Module::new(&engine, GARBAGE)?;
    let constants = Module::new(&engine, constants_module())?;
    for n in (0..=110).step_by(5) {
        let mut store = store_with_limit(&engine, 1 << 20);
        let g = Instance::new(&mut store, &garbage, &[])?;
        g.get_typed_func::<i32, ()>(&mut store, "fill")?
            .call(&mut store, n)?;
        g.get_typed_func::<(), ()>(&mut store, "clear")?
            .call(&mut store, ())?;
        let instance = Instance::new(&mut store, &constants, &[])
            .map_err(|e| e.context(format!("after {n} chunks of garbage")))?;
        let check = instance.get_typed_func::<(), i64>(&mut store, "check")?;
        assert_eq!(check.call(&mut store, ())?, CHECK_SUM, "after {n} chunks");
        // Again after a collection from the host: everything was rooted.
        store.gc();
        assert_eq!(check.call(&mut store, ())?, CHECK_SUM, "after {n} chunks");
        assert!(store.data().largest <= 1 << 20);
    }
    Ok(())
}

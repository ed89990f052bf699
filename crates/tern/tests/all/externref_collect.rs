//! Host `externref`s are collected: a store drops its handle to a host value
//! once nothing in the store can reach it (checked by counting the host
//! values' drops), and keeps every one that a table, a global, a live wasm
//! local, an exception payload or a GC object still holds, reading it back
//! as the same host value (`store/externrefs.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tern::*;

/// How many references the loops pass into wasm.
const N: usize = 100_000;

/// The store may hold this many dead references before it prunes (its
/// threshold starts at 1,024 entries), so a loop that leaves nothing
/// reachable has dropped at least `count - SLACK` values when it ends.
const SLACK: usize = 2 * 1024;

/// A host value that counts its drops and carries an id.
struct Counted {
    id: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted(id: usize, drops: &Arc<AtomicUsize>) -> ExternRef {
    ExternRef::new(Counted {
        id,
        drops: drops.clone(),
    })
}

fn id_of(r: &ExternRef) -> usize {
    r.data()
        .downcast_ref::<Counted>()
        .expect("a Counted host value")
        .id
}

fn drops(counter: &Arc<AtomicUsize>) -> usize {
    counter.load(Ordering::SeqCst)
}

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_gc(true);
    config.wasm_exceptions(true);
    Engine::new(&config).expect("GC and exceptions are implemented")
}

#[test]
fn references_passed_as_params_are_dropped() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (func (export "take") (param externref) (result i32)
              (ref.is_null (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let take = instance.get_typed_func::<Option<ExternRef>, i32>(&mut store, "take")?;
    let counter = Arc::new(AtomicUsize::new(0));
    for i in 0..N {
        assert_eq!(take.call(&mut store, Some(counted(i, &counter)))?, 0);
    }
    assert_eq!(take.call(&mut store, None)?, 1);
    let dropped = drops(&counter);
    assert!(
        dropped >= N - SLACK,
        "only {dropped} of {N} dropped before Store::gc"
    );
    store.gc();
    assert_eq!(drops(&counter), N);
    Ok(())
}

#[test]
fn references_returned_by_a_host_function_are_dropped() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "make" (func $make (result externref)))
            (func (export "run") (param $n i32)
              (loop $l
                (if (ref.is_null (call $make)) (then unreachable))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br_if $l (local.get $n)))))"#,
    )?;
    let counter = Arc::new(AtomicUsize::new(0));
    let mut store = Store::new(&engine, 0usize);
    let c = counter.clone();
    let make = Func::wrap(&mut store, move |mut caller: Caller<'_, usize>| {
        let id = *caller.data();
        *caller.data_mut() += 1;
        Some(counted(id, &c))
    });
    let instance = Instance::new(&mut store, &module, &[make.into()])?;
    let run = instance.get_typed_func::<i32, ()>(&mut store, "run")?;
    run.call(&mut store, N as i32)?;
    assert_eq!(*store.data(), N);
    let dropped = drops(&counter);
    assert!(
        dropped >= N - SLACK,
        "only {dropped} of {N} dropped before Store::gc"
    );
    store.gc();
    assert_eq!(drops(&counter), N);
    Ok(())
}

#[test]
fn overwritten_table_elements_are_dropped_and_live_ones_read_back() -> Result<()> {
    const SIZE: usize = 16;
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (table (export "t") 16 externref)
            (func (export "get") (param i32) (result externref)
              (table.get 0 (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let table = instance.get_table(&mut store, "t").expect("table t");
    let get = instance.get_typed_func::<i32, Option<ExternRef>>(&mut store, "get")?;
    let counter = Arc::new(AtomicUsize::new(0));
    let rounds = N / SIZE;
    for round in 0..rounds {
        for i in 0..SIZE {
            let r = counted(round * SIZE + i, &counter);
            table.set(&mut store, i as u64, Val::ExternRef(Some(r)))?;
        }
        for i in 0..SIZE {
            let back = get.call(&mut store, i as i32)?.expect("non-null");
            assert_eq!(id_of(&back), round * SIZE + i);
        }
    }
    let total = rounds * SIZE;
    let dropped = drops(&counter);
    assert!(
        dropped >= total - SIZE - SLACK,
        "only {dropped} of {total} dropped before Store::gc"
    );
    store.gc();
    assert_eq!(drops(&counter), total - SIZE, "all but the last round");
    for i in 0..SIZE {
        let back = get.call(&mut store, i as i32)?.expect("non-null");
        assert_eq!(id_of(&back), (rounds - 1) * SIZE + i);
    }
    Ok(())
}

/// `keep` puts one reference in a table, one in a global, one in a struct
/// field, one in an exception payload (kept as an `exnref` in a global) and
/// one in a local it holds across a call to the host's `churn`, which
/// passes thousands of fresh references into wasm (each nested call is a
/// point where the store prunes) and then calls `Caller::gc`.
const HOLDERS: &str = r#"(module
  (import "h" "churn" (func $churn))
  (type $s (struct (field (mut externref))))
  (tag $t (param externref))
  (table $tab 4 externref)
  (global $g (mut externref) (ref.null extern))
  (global $obj (mut (ref null $s)) (ref.null $s))
  (global $exn (mut exnref) (ref.null exn))
  (global $any (mut anyref) (ref.null any))
  (func (export "sink") (param externref))
  (func (export "keep")
    (param $local externref) (param $tv externref) (param $gv externref)
    (param $sv externref) (param $ev externref) (param $av externref)
    (result externref)
    (table.set $tab (i32.const 0) (local.get $tv))
    (global.set $g (local.get $gv))
    (global.set $obj (struct.new $s (local.get $sv)))
    (global.set $any (any.convert_extern (local.get $av)))
    (block $h (result externref exnref)
      (try_table (catch_ref $t $h) (throw $t (local.get $ev)))
      (unreachable))
    (global.set $exn)
    (drop)
    (call $churn)
    (local.get $local))
  (func (export "from_table") (result externref) (table.get $tab (i32.const 0)))
  (func (export "from_global") (result externref) (global.get $g))
  (func (export "from_struct") (result externref) (struct.get $s 0 (global.get $obj)))
  (func (export "from_any") (result externref) (extern.convert_any (global.get $any)))
  (func (export "from_exn") (result externref)
    (block $h (result externref)
      (try_table (catch $t $h) (throw_ref (global.get $exn)))
      (unreachable)))
  (func (export "round_trip") (param externref) (result externref)
    (extern.convert_any (any.convert_extern (local.get 0))))
  (func (export "is_null") (param externref) (result i32)
    (ref.is_null (local.get 0))))"#;

/// How many fresh references `churn` passes into wasm.
const CHURN: usize = 3 * 1024;

#[test]
fn references_wasm_still_holds_survive_pruning() -> Result<()> {
    let engine = engine();
    let module = Module::new(&engine, HOLDERS)?;
    let churned = Arc::new(AtomicUsize::new(0));
    let mut store = Store::new(&engine, ());
    let c = churned.clone();
    let churn = Func::wrap(
        &mut store,
        move |mut caller: Caller<'_, ()>| -> Result<()> {
            let sink = caller
                .get_export("sink")
                .and_then(Extern::into_func)
                .expect("sink");
            for i in 0..CHURN {
                sink.call(
                    &mut caller,
                    &[Val::ExternRef(Some(counted(i, &c)))],
                    &mut [],
                )?;
            }
            assert!(
                drops(&c) >= CHURN - SLACK,
                "pruning inside a host call dropped only {} of {CHURN}",
                drops(&c)
            );
            caller.gc();
            assert_eq!(drops(&c), CHURN, "Caller::gc drops the rest");
            Ok(())
        },
    );
    let instance = Instance::new(&mut store, &module, &[churn.into()])?;
    let kept = Arc::new(AtomicUsize::new(0));
    let keep = instance.get_func(&mut store, "keep").expect("keep");
    let args: Vec<Val> = (0..6).map(|i| counted(i, &kept).into()).collect();
    let mut result = [Val::ExternRef(None)];
    keep.call(&mut store, &args, &mut result)?;
    drop(args);
    assert_eq!(drops(&churned), CHURN);
    assert_eq!(drops(&kept), 0, "every held reference survived the prunes");
    let local = result[0].unwrap_externref().expect("non-null");
    assert_eq!(id_of(&local), 0, "the local held across the host call");
    drop(result);
    drop(local);

    store.gc();
    assert_eq!(
        drops(&kept),
        1,
        "only the returned local is unreachable now"
    );
    let read = |store: &mut Store<()>, name: &str| -> Result<usize> {
        let f = instance.get_typed_func::<(), Option<ExternRef>>(&mut *store, name)?;
        Ok(id_of(&f.call(&mut *store, ())?.expect("non-null")))
    };
    assert_eq!(read(&mut store, "from_table")?, 1);
    assert_eq!(read(&mut store, "from_global")?, 2);
    assert_eq!(read(&mut store, "from_struct")?, 3);
    assert_eq!(read(&mut store, "from_exn")?, 4);
    assert_eq!(read(&mut store, "from_any")?, 5);
    assert_eq!(drops(&kept), 1);
    Ok(())
}

#[test]
fn null_tests_and_any_conversions_round_trip_across_prunes() -> Result<()> {
    let engine = engine();
    let module = Module::new(&engine, HOLDERS)?;
    let mut store = Store::new(&engine, ());
    let churn = Func::wrap(&mut store, || {});
    let instance = Instance::new(&mut store, &module, &[churn.into()])?;
    let round_trip = instance
        .get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut store, "round_trip")?;
    let is_null = instance.get_typed_func::<Option<ExternRef>, i32>(&mut store, "is_null")?;
    let counter = Arc::new(AtomicUsize::new(0));
    // Held by the host only: passed in again each round, after prunes.
    let kept = counted(7, &counter);
    for i in 0..CHURN {
        let r = counted(100 + i, &counter);
        let back = round_trip
            .call(&mut store, Some(r.clone()))?
            .expect("non-null");
        assert!(back.ptr_eq(&r));
        assert_eq!(is_null.call(&mut store, Some(r))?, 0);
        let back = round_trip
            .call(&mut store, Some(kept.clone()))?
            .expect("non-null");
        assert!(back.ptr_eq(&kept));
    }
    assert_eq!(round_trip.call(&mut store, None)?.map(|r| id_of(&r)), None);
    assert_eq!(is_null.call(&mut store, None)?, 1);
    // An `anyref` externalized by the host and internalized by wasm.
    let any = AnyRef::from_i31(&mut store, I31::wrapping_u32(5));
    let ext = ExternRef::convert_any(&mut store, any)?;
    let back = round_trip.call(&mut store, Some(ext))?.expect("non-null");
    let back = AnyRef::convert_extern(&mut store, back)?;
    assert_eq!(back.as_i31(&store)?.map(|i| i.get_u32()), Some(5));
    Ok(())
}

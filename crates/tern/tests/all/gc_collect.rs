//! The copying collector (GC phase 3) through the public API: allocation
//! loops that only fit because garbage is collected, lists and trees that
//! must come back intact after many collections (references held in locals,
//! operand stacks, globals, tables, struct fields, array elements, host
//! handles, across host calls that collect), deep recursion with a live
//! reference in every frame, and a live set too large for the limit trapping
//! cleanly. The heap limit is `StoreLimitsBuilder::memory_size`; a limiter
//! that records every size the heap asked for shows the heap stays small.

use tern::*;

pub(crate) fn gc_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_gc(true);
    Engine::new(&config).expect("GC is implemented")
}

/// The store's limits plus the largest size the GC heap (or a memory) was
/// allowed to grow to and how often anything asked (also used by
/// `gc_const_eval.rs`).
pub(crate) struct Recorder {
    pub(crate) limits: StoreLimits,
    pub(crate) largest: usize,
    pub(crate) asked: usize,
}

impl Recorder {
    /// A recorder whose limits allow `bytes` of memory (and GC heap).
    pub(crate) fn new(bytes: usize) -> Self {
        Recorder {
            limits: StoreLimitsBuilder::new().memory_size(bytes).build(),
            largest: 0,
            asked: 0,
        }
    }
}

impl ResourceLimiter for Recorder {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        self.asked += 1;
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.largest = self.largest.max(desired);
        }
        Ok(allowed)
    }
    fn table_growing(&mut self, current: u32, desired: u32, maximum: Option<u32>) -> Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

/// What the host functions see.
struct State {
    recorder: Recorder,
    /// Host handles kept across calls, checked by `h.check`.
    kept: Vec<(ManuallyRooted<StructRef>, i64)>,
    /// How many times `h.gc` ran.
    collections: usize,
}

fn store_with_limit(engine: &Engine, bytes: usize) -> Store<State> {
    let mut store = Store::new(
        engine,
        State {
            recorder: Recorder::new(bytes),
            kept: Vec::new(),
            collections: 0,
        },
    );
    store.limiter(|s| &mut s.recorder);
    store
}

const MODULE: &str = r#"(module
  (type $node (struct (field $next (mut (ref null $node))) (field $val i64)))
  (type $tree (struct (field $l (ref null $tree)) (field $r (ref null $tree)) (field $v i32)))
  (type $arr (array (mut i64)))
  (type $refs (array (mut (ref null $node))))
  (type $bytes (array i8))
  (import "h" "gc" (func $host_gc))
  (import "h" "check" (func $host_check (param anyref) (result i64)))
  (global $list (export "list") (mut (ref null $node)) (ref.null $node))
  (table $t (export "t") 4 (ref null $node))
  (data $d "\01\02\03\04\05\06\07\08")

  ;; `n` (> 0) garbage structs and arrays.
  (func $garbage (param $n i32)
    (loop $l
      (drop (struct.new $node (ref.null $node) (i64.const 0)))
      (drop (array.new_default $arr (i32.const 8)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; Allocates `n` structs and `n` arrays, keeping only the last of each.
  (func (export "churn") (param $n i32) (result i64)
    (local $keep (ref null $node)) (local $a (ref null $arr)) (local $i i32)
    (loop $l
      (local.set $keep (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $i))))
      (local.set $a (array.new $arr (i64.extend_i32_u (local.get $i)) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add (struct.get $node $val (local.get $keep))
             (array.get $arr (local.get $a) (i32.const 3))))

  ;; `array.new_data`/`array.new_elem` in a loop (libcalls that collect).
  (elem $e (ref null $node) (item (ref.null $node)) (item (ref.null $node)))
  (func (export "churn_segments") (param $n i32) (result i32)
    (local $b (ref null $bytes)) (local $r (ref null $refs)) (local $bad i32)
    (loop $l
      (local.set $b (array.new_data $bytes $d (i32.const 0) (i32.const 8)))
      (local.set $r (array.new_elem $refs $objs (i32.const 0) (i32.const 2)))
      (if (i64.ne (struct.get $node $val (array.get $refs (local.get $r) (i32.const 1)))
                  (i64.const 31))
        (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
      (drop (array.new_elem $refs $e (i32.const 0) (i32.const 2)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.add (local.get $bad)
      (i32.add (array.get_u $bytes (local.get $b) (i32.const 7)) (array.len (local.get $r)))))

  ;; Objects made by a passive segment's constant expressions.
  (elem $objs (ref null $node)
    (item (struct.new $node (ref.null $node) (i64.const 11)))
    (item (struct.new $node (ref.null $node) (i64.const 31))))
  (func (export "from_segment") (result i64)
    (local $r (ref null $refs))
    (local.set $r (array.new_elem $refs $objs (i32.const 0) (i32.const 2)))
    (i64.add (struct.get $node $val (array.get $refs (local.get $r) (i32.const 0)))
             (struct.get $node $val (array.get $refs (local.get $r) (i32.const 1)))))

  ;; Prepends `n`, n-1, …, 1 to the global list, with garbage in between.
  (func (export "build") (param $n i32)
    (loop $l
      (global.set $list (struct.new $node (global.get $list) (i64.extend_i32_u (local.get $n))))
      (call $garbage (i32.const 10))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "drop_list") (global.set $list (ref.null $node)))
  (func (export "sum") (result i64)
    (local $p (ref null $node)) (local $s i64)
    (local.set $p (global.get $list))
    (block $done
      (loop $l
        (br_if $done (ref.is_null (local.get $p)))
        (local.set $s (i64.add (local.get $s) (struct.get $node $val (local.get $p))))
        (local.set $p (struct.get $node $next (local.get $p)))
        (br $l)))
    (local.get $s))

  ;; Binary trees: the first subtree stays on the operand stack across the
  ;; call that builds the second.
  (func $make (param $d i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.eqz (local.get $d))
      (then (struct.new $tree (ref.null $tree) (ref.null $tree) (i32.const 1)))
      (else (struct.new $tree
              (call $make (i32.sub (local.get $d) (i32.const 1)))
              (call $make (i32.sub (local.get $d) (i32.const 1)))
              (local.get $d)))))
  (func $check (param $t (ref null $tree)) (result i32)
    (if (result i32) (ref.is_null (local.get $t))
      (then (i32.const 0))
      (else (i32.add (struct.get $tree $v (local.get $t))
              (i32.add (call $check (struct.get $tree $l (local.get $t)))
                       (call $check (struct.get $tree $r (local.get $t))))))))
  (func (export "trees") (param $d i32) (param $iters i32) (result i32)
    (local $long (ref null $tree)) (local $sum i32)
    (local.set $long (call $make (local.get $d)))
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $check (call $make (local.get $d)))))
      (br_if $l (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
    (i32.add (local.get $sum) (call $check (local.get $long))))

  ;; References in a table slot and in array elements while garbage piles up.
  (func (export "table_and_array") (param $n i32) (result i64)
    (local $arr (ref null $refs)) (local $i i32) (local $s i64)
    (local.set $arr (array.new_default $refs (i32.const 16)))
    (table.set $t (i32.const 1) (struct.new $node (ref.null $node) (i64.const 1000)))
    (loop $l
      (array.set $refs (local.get $arr) (i32.and (local.get $i) (i32.const 15))
        (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $i))))
      (call $garbage (i32.const 5))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $l2
      (local.set $s (i64.add (local.get $s)
        (struct.get $node $val (array.get $refs (local.get $arr) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l2 (i32.lt_u (local.get $i) (i32.const 16))))
    (i64.add (local.get $s) (struct.get $node $val (table.get $t (i32.const 1)))))

  ;; Every frame holds its own node across the recursive call. At the
  ;; bottom, mode 0 asks the host to collect, mode 1 allocates garbage until
  ;; allocations collect; mode 2 also allocates garbage in every frame.
  (func $rec (export "rec") (param $n i32) (param $mode i32) (result i64)
    (local $mine (ref null $node))
    (local.set $mine (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $n))))
    (if (i32.eqz (local.get $n))
      (then
        (if (i32.eqz (local.get $mode))
          (then (call $host_gc))
          (else (call $garbage (i32.const 5000))))
        (return (struct.get $node $val (local.get $mine)))))
    (if (i32.eq (local.get $mode) (i32.const 2)) (then (call $garbage (i32.const 20))))
    (i64.add (call $rec (i32.sub (local.get $n) (i32.const 1)) (local.get $mode))
             (struct.get $node $val (local.get $mine))))

  ;; A node made here, handed to the host (which collects and keeps a
  ;; handle), then read again by wasm.
  (func (export "across_host") (param $v i64) (result i64)
    (local $mine (ref null $node))
    (local.set $mine (struct.new $node (ref.null $node) (local.get $v)))
    (i64.add (call $host_check (local.get $mine))
             (struct.get $node $val (local.get $mine))))
  (func (export "mk") (param $v i64) (result (ref $node))
    (struct.new $node (ref.null $node) (local.get $v)))
  (func (export "val") (param $p (ref null $node)) (result i64)
    (struct.get $node $val (local.get $p)))
  (func (export "garbage") (param $n i32) (call $garbage (local.get $n)))

  ;; A host `externref` wrapped as an `anyref`, kept in a struct field.
  (type $box (struct (field anyref)))
  (global $boxed (mut (ref null $box)) (ref.null $box))
  (func (export "box_extern") (param externref)
    (global.set $boxed (struct.new $box (any.convert_extern (local.get 0)))))
  (func (export "unbox_extern") (result externref)
    (extern.convert_any (struct.get $box 0 (global.get $boxed))))
)"#;

fn instantiate(engine: &Engine, store: &mut Store<State>) -> Result<Instance> {
    let module = Module::new(engine, MODULE)?;
    let gc = Func::wrap(&mut *store, |mut caller: Caller<'_, State>| {
        caller.gc();
        caller.data_mut().collections += 1;
    });
    let check_ty = FuncType::new([ValType::ANYREF], [ValType::I64]);
    let check = Func::new(
        &mut *store,
        check_ty,
        |mut caller: Caller<'_, State>, args: &[Val], results: &mut [Val]| -> Result<()> {
            let node_any = anyref(args[0].clone()).expect("non-null");
            let node = node_any.as_struct(&caller)?.expect("a struct");
            let before = node.field(&mut caller, 1)?.unwrap_i64();
            caller.gc();
            // Objects made by the host move the objects again (each is
            // rooted in this host call's scope, released when it returns).
            let ty = node.ty(&caller)?;
            let pre = StructRefPre::new(&mut caller, ty);
            for i in 0..200 {
                StructRef::new(&mut caller, &pre, &[Val::AnyRef(None), Val::I64(i)])?;
            }
            caller.gc();
            let after = node.field(&mut caller, 1)?.unwrap_i64();
            assert_eq!(before, after, "the handle follows its object");
            let kept = StructRef::new(
                &mut caller,
                &pre,
                &[Val::AnyRef(Some(node_any)), Val::I64(after * 2)],
            )?;
            // Kept past this host call's root scope: a manual root.
            let kept = kept.to_manually_rooted(&mut caller)?;
            caller.data_mut().kept.push((kept, after * 2));
            results[0] = Val::I64(after);
            Ok(())
        },
    );
    Instance::new(
        &mut *store,
        &module,
        &[Extern::Func(gc), Extern::Func(check)],
    )
}

/// The `anyref` in `v` (`None` for null).
fn anyref(v: Val) -> Option<Rooted<AnyRef>> {
    match v {
        Val::AnyRef(a) => a,
        other => panic!("expected an anyref, got {other:?}"),
    }
}

fn trap_of(err: &Error) -> Option<Trap> {
    err.downcast_ref::<Trap>().copied()
}

/// 10^6 structs and 10^6 arrays, under a 256 KiB heap: without a collector
/// they would need about 70 MB.
#[test]
fn a_million_allocations_in_a_loop_leak_nothing() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 256 << 10);
    let instance = instantiate(&engine, &mut store)?;
    let churn = instance.get_typed_func::<i32, i64>(&mut store, "churn")?;
    let n = 1_000_000;
    assert_eq!(churn.call(&mut store, n)?, 2 * i64::from(n - 1));
    let largest = store.data().recorder.largest;
    assert!(largest <= 256 << 10, "the heap asked for {largest} bytes");
    // The same again: the heap does not grow further.
    assert_eq!(churn.call(&mut store, n)?, 2 * i64::from(n - 1));
    assert_eq!(store.data().recorder.largest, largest);
    Ok(())
}

#[test]
fn segment_arrays_are_collected_too() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 128 << 10);
    let instance = instantiate(&engine, &mut store)?;
    let churn = instance.get_typed_func::<i32, i32>(&mut store, "churn_segments")?;
    assert_eq!(churn.call(&mut store, 200_000)?, 8 + 2);
    // A passive segment's objects are roots until it is dropped.
    let from_segment = instance.get_typed_func::<(), i64>(&mut store, "from_segment")?;
    assert_eq!(from_segment.call(&mut store, ())?, 42);
    churn.call(&mut store, 10_000)?;
    assert_eq!(from_segment.call(&mut store, ())?, 42);
    Ok(())
}

#[test]
fn a_list_survives_many_collections() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 512 << 10);
    let instance = instantiate(&engine, &mut store)?;
    let build = instance.get_typed_func::<i32, ()>(&mut store, "build")?;
    let sum = instance.get_typed_func::<(), i64>(&mut store, "sum")?;
    // 2,000 live nodes among 2,000 × 10 × 2 garbage objects, twice.
    build.call(&mut store, 2_000)?;
    assert_eq!(sum.call(&mut store, ())?, 2_000 * 2_001 / 2);
    build.call(&mut store, 2_000)?;
    assert_eq!(sum.call(&mut store, ())?, 2 * (2_000 * 2_001 / 2));
    // The exported global reads the (moved) head from the host.
    let Some(Extern::Global(list)) = instance.get_export(&mut store, "list") else {
        panic!("no global `list`");
    };
    let head = anyref(list.get(&mut store)).expect("a list");
    let head = head.as_struct(&store)?.expect("a struct");
    assert_eq!(head.field(&mut store, 1)?.unwrap_i64(), 1);
    store.gc();
    assert_eq!(head.field(&mut store, 1)?.unwrap_i64(), 1);
    Ok(())
}

fn tree_check(d: i32) -> i32 {
    if d == 0 {
        1
    } else {
        d + 2 * tree_check(d - 1)
    }
}

#[test]
fn binary_trees_come_back_whole() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 1 << 20);
    let instance = instantiate(&engine, &mut store)?;
    let trees = instance.get_typed_func::<(i32, i32), i32>(&mut store, "trees")?;
    // Depth 10: 2,047 nodes of 24 bytes each, a long-lived tree plus 200
    // short-lived ones (about 10 MB allocated in all).
    let (d, iters) = (10, 200);
    assert_eq!(
        trees.call(&mut store, (d, iters))?,
        (iters + 1) * tree_check(d)
    );
    Ok(())
}

#[test]
fn tables_and_array_elements_are_roots() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 256 << 10);
    let instance = instantiate(&engine, &mut store)?;
    let f = instance.get_typed_func::<i32, i64>(&mut store, "table_and_array")?;
    let n: i64 = 20_000;
    let last16: i64 = (n - 16..n).sum();
    assert_eq!(f.call(&mut store, n as i32)?, last16 + 1000);
    // The table slot, read from the host after more collections.
    let garbage = instance.get_typed_func::<i32, ()>(&mut store, "garbage")?;
    garbage.call(&mut store, 50_000)?;
    let Some(Extern::Table(t)) = instance.get_export(&mut store, "t") else {
        panic!("no table `t`");
    };
    let node = anyref(t.get(&mut store, 1).expect("in bounds"))
        .expect("non-null")
        .as_struct(&store)?
        .expect("a struct in slot 1");
    assert_eq!(node.field(&mut store, 1)?.unwrap_i64(), 1000);
    Ok(())
}

/// 1,000 frames each holding a reference across its call; the collection at
/// the bottom (from the host, or from an allocation) must update them all.
#[test]
fn deep_recursion_keeps_a_reference_in_every_frame() -> Result<()> {
    let engine = gc_engine();
    for mode in 0..3 {
        let mut store = store_with_limit(&engine, 256 << 10);
        let instance = instantiate(&engine, &mut store)?;
        let rec = instance.get_typed_func::<(i32, i32), i64>(&mut store, "rec")?;
        let n = 1_000;
        assert_eq!(
            rec.call(&mut store, (n, mode))?,
            i64::from(n) * i64::from(n + 1) / 2,
            "mode {mode}"
        );
        if mode == 0 {
            assert_eq!(store.data().collections, 1);
        }
    }
    Ok(())
}

/// A host function that holds handles, collects and allocates, called with
/// a reference the calling wasm frame also holds.
#[test]
fn host_handles_and_wasm_frames_follow_moved_objects() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 256 << 10);
    let instance = instantiate(&engine, &mut store)?;
    let across = instance.get_typed_func::<i64, i64>(&mut store, "across_host")?;
    let mk = instance.get_func(&mut store, "mk").expect("mk");
    let val = instance.get_func(&mut store, "val").expect("val");
    let garbage = instance.get_typed_func::<i32, ()>(&mut store, "garbage")?;
    // Host handles made before the calls.
    let mut made = Vec::new();
    for v in 0..50i64 {
        let mut out = [Val::I32(0)];
        mk.call(&mut store, &[Val::I64(v * 7)], &mut out)?;
        made.push((out[0].clone(), v * 7));
    }
    for i in 0..20 {
        assert_eq!(across.call(&mut store, i)?, 2 * i);
        garbage.call(&mut store, 3_000)?;
    }
    store.gc();
    for (handle, v) in &made {
        let mut out = [Val::I64(0)];
        val.call(&mut store, std::slice::from_ref(handle), &mut out)?;
        assert_eq!(out[0].unwrap_i64(), *v);
    }
    let kept = std::mem::take(&mut store.data_mut().kept);
    assert_eq!(kept.len(), 20);
    for (i, (s, v)) in kept.iter().enumerate() {
        assert_eq!(s.field(&mut store, 1)?.unwrap_i64(), *v);
        // Its `next` field is the node wasm made, moved with it.
        let next = anyref(s.field(&mut store, 0)?).expect("next");
        let next = next.as_struct(&store)?.expect("a struct");
        assert_eq!(next.field(&mut store, 1)?.unwrap_i64(), i as i64);
    }
    Ok(())
}

#[test]
fn wrapped_externrefs_survive_collections() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 256 << 10);
    let instance = instantiate(&engine, &mut store)?;
    let boxed = instance.get_typed_func::<Option<ExternRef>, ()>(&mut store, "box_extern")?;
    let unboxed = instance.get_typed_func::<(), Option<ExternRef>>(&mut store, "unbox_extern")?;
    let garbage = instance.get_typed_func::<i32, ()>(&mut store, "garbage")?;
    let host = ExternRef::new(String::from("host value"));
    boxed.call(&mut store, Some(host.clone()))?;
    garbage.call(&mut store, 50_000)?;
    store.gc();
    let back = unboxed.call(&mut store, ())?.expect("non-null");
    assert!(back.ptr_eq(&host));
    assert_eq!(back.data().downcast_ref::<String>().unwrap(), "host value");
    Ok(())
}

/// A live set larger than the limit traps cleanly; once it is dropped the
/// same store allocates again (the collector reclaims it).
#[test]
fn a_live_set_beyond_the_limit_traps_and_the_store_recovers() -> Result<()> {
    let engine = gc_engine();
    let mut store = store_with_limit(&engine, 256 << 10);
    let instance = instantiate(&engine, &mut store)?;
    let build = instance.get_typed_func::<i32, ()>(&mut store, "build")?;
    let drop_list = instance.get_typed_func::<(), ()>(&mut store, "drop_list")?;
    let sum = instance.get_typed_func::<(), i64>(&mut store, "sum")?;
    // 24-byte nodes: 100,000 of them need 2.4 MB.
    let err = build
        .call(&mut store, 100_000)
        .expect_err("too much live data");
    assert_eq!(trap_of(&err), Some(Trap::GcHeapOutOfMemory), "{err:#}");
    assert!(store.data().recorder.largest <= 256 << 10);
    drop_list.call(&mut store, ())?;
    build.call(&mut store, 1_000)?;
    assert_eq!(sum.call(&mut store, ())?, 1_000 * 1_001 / 2);
    Ok(())
}

/// The same module from an artifact, and in the dynamic memory mode.
#[test]
fn collections_work_from_artifacts_and_without_guard_regions() -> Result<()> {
    let mut config = Config::new();
    config.wasm_gc(true);
    config.static_memory_maximum_size(0);
    config.dynamic_memory_guard_size(0);
    let engine = Engine::new(&config)?;
    let bytes = Module::new(&engine, MODULE)?.serialize()?;
    // SAFETY: made by `serialize` of the same engine just above.
    let module = unsafe { Module::deserialize(&engine, &bytes) }?;
    let mut store = store_with_limit(&engine, 256 << 10);
    let gc = Func::wrap(&mut store, |mut caller: Caller<'_, State>| caller.gc());
    let check = Func::new(
        &mut store,
        FuncType::new([ValType::ANYREF], [ValType::I64]),
        |_: Caller<'_, State>, _: &[Val], results: &mut [Val]| {
            results[0] = Val::I64(0);
            Ok(())
        },
    );
    let instance = Instance::new(&mut store, &module, &[gc.into(), check.into()])?;
    let rec = instance.get_typed_func::<(i32, i32), i64>(&mut store, "rec")?;
    assert_eq!(rec.call(&mut store, (500, 2))?, 500 * 501 / 2);
    let churn = instance.get_typed_func::<i32, i64>(&mut store, "churn")?;
    assert_eq!(churn.call(&mut store, 100_000)?, 2 * 99_999);
    Ok(())
}

//! Tests of the stack-root walk, before any GC heap exists: `externref`s
//! (host pointers today) live across calls to host functions, which walk the
//! roots and compare them with what the wasm frames hold, or rewrite them and
//! check that wasm continues with the new value.
//!
//! These reach `for_each_stack_root` from inside the crate; it is not part of
//! the public API.

use super::for_each_stack_root;
use crate::{Caller, Engine, Extern, ExternRef, Func, Instance, Module, Store, Val};
use std::collections::BTreeSet;

/// What the host functions saw and are asked to do.
#[derive(Default)]
struct Probe {
    /// For each walk: the words of the root slots found, and how many frames had any.
    walks: Vec<(Vec<u64>, usize)>,
    /// Rewrite every slot holding the first word to the second.
    rewrite: Option<(u64, u64)>,
}

/// Walks the calling store's stack roots: records them, then applies the
/// requested rewrite.
fn walk(caller: &mut Caller<'_, Probe>) {
    let limits = caller.store.opaque.limits() as *const _;
    let rewrite = caller.data().rewrite;
    let mut words = Vec::new();
    // SAFETY: called from a host function that this store's wasm called
    // through its trampoline, on this thread; each slot is read, and written
    // only with another externref the store keeps alive (as its wasm type says).
    let frames = unsafe {
        for_each_stack_root(limits, |slot| {
            words.push(*slot);
            if let Some((from, to)) = rewrite {
                if *slot == from {
                    *slot = to;
                }
            }
        })
    };
    caller.data_mut().walks.push((words, frames));
}

fn raw(r: &ExternRef) -> u64 {
    r.word()
}

fn set(refs: &[&ExternRef]) -> BTreeSet<u64> {
    refs.iter().map(|r| raw(r)).collect()
}

fn externref(v: &Val) -> ExternRef {
    match v {
        Val::ExternRef(Some(r)) => r.clone(),
        other => panic!("expected a non-null externref, got {other:?}"),
    }
}

/// `outer` holds `a` and a copy of `b` in a local across its call to
/// `middle`, which holds `c` (but not the dead `d`) across its call to
/// `inner`, which holds nothing (and has numeric locals) when it calls the host.
const DEEP: &str = r#"
(module
  (import "h" "roots" (func $roots))
  (func $inner (local i32 f64)
    (local.set 0 (i32.const 3))
    (local.set 1 (f64.const 1.5))
    (call $roots))
  (func $middle (param $c externref) (param $dead externref) (result externref)
    (local $n i64)
    (local.set $n (i64.const 7))
    (call $inner)
    (local.get $c))
  (func (export "outer")
    (param $a externref) (param $b externref) (param $c externref) (param $d externref)
    (result externref externref externref)
    (local $keep externref) (local $i i32)
    (local.set $keep (local.get $b))
    (local.set $i (i32.const 1))
    (call $middle (local.get $c) (local.get $d))
    (local.get $a)
    (local.get $keep)))
"#;

fn run_deep(module: &Module, rewrite: bool) -> (Probe, Vec<Val>, [ExternRef; 4]) {
    let mut store = Store::new(module.engine(), Probe::default());
    let roots = Func::wrap(&mut store, |mut caller: Caller<'_, Probe>| {
        walk(&mut caller)
    });
    let instance = Instance::new(&mut store, module, &[Extern::Func(roots)]).unwrap();
    let refs = ["a", "b", "c", "d"].map(ExternRef::new);
    if rewrite {
        store.data_mut().rewrite = Some((raw(&refs[0]), raw(&refs[3])));
    }
    let outer = instance.get_func(&mut store, "outer").unwrap();
    let args: Vec<Val> = refs
        .iter()
        .map(|r| Val::ExternRef(Some(r.clone())))
        .collect();
    let mut results = vec![Val::I32(0); 3];
    outer.call(&mut store, &args, &mut results).unwrap();
    (store.into_data(), results, refs)
}

#[test]
fn the_roots_found_are_exactly_the_live_references_of_every_frame() {
    let engine = Engine::default();
    let module = Module::new(&engine, DEEP).unwrap();
    let (probe, results, [a, b, c, d]) = run_deep(&module, false);
    assert_eq!(probe.walks.len(), 1);
    let (words, frames) = &probe.walks[0];
    // `middle` and `outer` hold references; `inner` and the trampolines hold none.
    assert_eq!(*frames, 2, "frames with live references");
    let found: BTreeSet<u64> = words.iter().copied().collect();
    assert_eq!(found, set(&[&a, &b, &c]), "`d` is dead: not a root");
    assert!(!found.contains(&raw(&d)));
    let returned: Vec<ExternRef> = results.iter().map(externref).collect();
    assert!(returned[0].ptr_eq(&c) && returned[1].ptr_eq(&a) && returned[2].ptr_eq(&b));
}

#[test]
fn a_rewritten_slot_is_what_the_frame_continues_with() {
    let engine = Engine::default();
    let module = Module::new(&engine, DEEP).unwrap();
    let (probe, results, [a, b, c, d]) = run_deep(&module, true);
    let found: BTreeSet<u64> = probe.walks[0].0.iter().copied().collect();
    assert_eq!(found, set(&[&a, &b, &c]));
    let returned: Vec<ExternRef> = results.iter().map(externref).collect();
    // `outer` reloaded `a`'s slot after its call: it now returns `d` there.
    assert!(returned[1].ptr_eq(&d), "the rewrite was not observed");
    assert!(returned[0].ptr_eq(&c) && returned[2].ptr_eq(&b));
}

#[test]
fn stack_maps_survive_an_artifact() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, DEEP).unwrap().serialize().unwrap();
    // SAFETY: bytes made by `serialize` of the same engine, just now.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let (probe, results, [a, b, c, d]) = run_deep(&module, true);
    let found: BTreeSet<u64> = probe.walks[0].0.iter().copied().collect();
    assert_eq!(found, set(&[&a, &b, &c]));
    assert!(externref(&results[1]).ptr_eq(&d));
}

/// A loop that calls the host on every iteration with three references live
/// on the operand stack (from `global.get`, `table.get` and a block whose
/// result is a local), the local changing every iteration.
const LOOP: &str = r#"
(module
  (import "h" "roots" (func $roots (param i32)))
  (global $g (mut externref) (ref.null extern))
  (global $last (mut externref) (ref.null extern))
  (global $g2 (mut externref) (ref.null extern))
  (table $t 4 externref)
  (func (export "init") (param $g externref) (param $t0 externref) (param $t1 externref) (param $t2 externref)
    (global.set $g (local.get $g))
    (table.set $t (i32.const 0) (local.get $t0))
    (table.set $t (i32.const 1) (local.get $t1))
    (table.set $t (i32.const 2) (local.get $t2)))
  (func (export "looping") (param $n i32) (result externref)
    (local $cur externref) (local $i i32) (local $tmp externref)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $cur
          (table.get $t (i32.add (i32.const 1) (i32.and (local.get $i) (i32.const 1)))))
        (global.get $g)
        (table.get $t (i32.const 0))
        (block (result externref)
          (local.get $cur)
          (call $roots (local.get $i)))
        (global.set $last)
        (local.set $tmp)
        (table.set $t (i32.const 3) (local.get $tmp))
        (global.set $g2)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $cur)))
"#;

#[test]
fn roots_in_loops_and_blocks_follow_each_iteration() {
    let engine = Engine::default();
    let module = Module::new(&engine, LOOP).unwrap();
    let mut store = Store::new(&engine, Probe::default());
    let roots = Func::wrap(&mut store, |mut caller: Caller<'_, Probe>, _i: i32| {
        walk(&mut caller)
    });
    let instance = Instance::new(&mut store, &module, &[Extern::Func(roots)]).unwrap();
    let [g, t0, t1, t2] = ["g", "t0", "t1", "t2"].map(ExternRef::new);
    let init = instance
        .get_typed_func::<(
            Option<ExternRef>,
            Option<ExternRef>,
            Option<ExternRef>,
            Option<ExternRef>,
        ), ()>(&mut store, "init")
        .unwrap();
    init.call(
        &mut store,
        (
            Some(g.clone()),
            Some(t0.clone()),
            Some(t1.clone()),
            Some(t2.clone()),
        ),
    )
    .unwrap();
    let looping = instance
        .get_typed_func::<i32, Option<ExternRef>>(&mut store, "looping")
        .unwrap();
    let last = looping.call(&mut store, 5).unwrap().unwrap();
    assert!(last.ptr_eq(&t1), "iteration 4 left t1 in $cur");
    let walks = &store.data().walks;
    assert_eq!(walks.len(), 5);
    for (i, (words, frames)) in walks.iter().enumerate() {
        let cur = if i % 2 == 0 { &t1 } else { &t2 };
        let found: BTreeSet<u64> = words.iter().copied().collect();
        assert_eq!(found, set(&[&g, &t0, cur]), "iteration {i}");
        assert_eq!(*frames, 1, "iteration {i}");
    }
}

/// Wasm calls the host, which calls wasm of the same store again: both
/// activations' frames are walked, and the outer one's slots can be rewritten
/// from inside the inner one.
const NESTED: &str = r#"
(module
  (import "h" "reenter" (func $reenter))
  (import "h" "roots" (func $roots))
  (func (export "outer") (param $a externref) (result externref)
    (call $reenter)
    (local.get $a))
  (func (export "inner") (param $b externref) (result externref)
    (call $roots)
    (local.get $b)))
"#;

#[test]
fn roots_of_enclosing_activations_are_found_and_rewritable() {
    let engine = Engine::default();
    let module = Module::new(&engine, NESTED).unwrap();
    let mut store = Store::new(&engine, Probe::default());
    let [a, b, c] = ["a", "b", "c"].map(ExternRef::new);
    let inner_arg = b.clone();
    let reenter = Func::wrap(&mut store, move |mut caller: Caller<'_, Probe>| {
        let Some(Extern::Func(inner)) = caller.get_export("inner") else {
            panic!("no export `inner`");
        };
        let mut result = [Val::I32(0)];
        inner
            .call(
                &mut caller,
                &[Val::ExternRef(Some(inner_arg.clone()))],
                &mut result,
            )
            .unwrap();
        assert!(externref(&result[0]).ptr_eq(&inner_arg));
    });
    let roots = Func::wrap(&mut store, |mut caller: Caller<'_, Probe>| {
        walk(&mut caller)
    });
    let instance = Instance::new(
        &mut store,
        &module,
        &[Extern::Func(reenter), Extern::Func(roots)],
    )
    .unwrap();
    // Make `c` known to the store (a live externref), then ask for `a` → `c`.
    let outer = instance
        .get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut store, "outer")
        .unwrap();
    outer.call(&mut store, Some(c.clone())).unwrap();
    store.data_mut().walks.clear();
    store.data_mut().rewrite = Some((raw(&a), raw(&c)));
    let returned = outer.call(&mut store, Some(a.clone())).unwrap().unwrap();
    let walks = &store.data().walks;
    assert_eq!(walks.len(), 1);
    let (words, frames) = &walks[0];
    assert_eq!(*frames, 2, "one frame per activation");
    let found: BTreeSet<u64> = words.iter().copied().collect();
    assert_eq!(found, set(&[&a, &b]));
    assert!(
        returned.ptr_eq(&c),
        "the outer activation's slot was rewritten"
    );
}

/// Functions with only numbers and function references declare nothing, so
/// Cranelift's safepoint pass never runs for them and their code is what it
/// was before stack maps existed; the same shape with `externref` does get
/// stack maps (so the check below can fail).
#[test]
fn code_without_gc_references_gets_no_stack_maps() {
    let engine = Engine::default();
    let shape = |ty: &str| {
        format!(
            r#"(module
              (import "h" "f" (func $f))
              (table $t 2 funcref)
              (elem declare func $id)
              (func $id (param $x {ty}) (result {ty})
                (local $n i64) (local $d f64)
                (call $f)
                (local.get $x))
              (func (export "run") (param $x {ty}) (param $i i32) (result {ty} i32)
                (local $y {ty})
                (local.set $y (call $id (local.get $x)))
                (loop $l
                  (call $f)
                  (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
                (local.get $y)
                (ref.is_null (table.get $t (i32.const 0)))))"#
        )
    };
    let clif = |wat: &str| {
        let wasm = wat::parse_str(wat).unwrap();
        let translation = tern_environ::translate_module(&wasm, engine.config().features).unwrap();
        engine
            .inner
            .compiler
            .translate_to_clif(translation)
            .unwrap()
            .join("\n")
    };
    let maps = |wat: &str| {
        let wasm = wat::parse_str(wat).unwrap();
        crate::module::compile(&engine, &wasm)
            .unwrap()
            .image
            .stack_maps
    };
    for ty in ["i32", "i64", "f64", "funcref"] {
        let wat = shape(ty);
        let text = clif(&wat);
        assert!(!text.contains("stack_map"), "{ty}:\n{text}");
        assert!(!text.contains("stack_addr"), "{ty}:\n{text}");
        assert!(maps(&wat).is_empty(), "{ty}");
    }
    let wat = shape("externref");
    assert!(clif(&wat).contains("stack_map="));
    let with_refs = maps(&wat);
    assert!(!with_refs.is_empty());
    assert!(with_refs.sites.iter().all(|s| s.slots_end > 0));
}

/// The walk from an async host function, after it suspended its fiber (and
/// perhaps resumed on another thread): the fiber's own activation chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roots_are_found_on_a_fiber_after_a_suspension() {
    let mut config = crate::Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, DEEP).unwrap();
    let mut linker = crate::Linker::new(&engine);
    linker
        .func_wrap_async("h", "roots", |mut caller: Caller<'_, Probe>, (): ()| {
            Box::new(async move {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                walk(&mut caller);
            })
        })
        .unwrap();
    let mut store = Store::new(&engine, Probe::default());
    let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
    let [a, b, c, d] = ["a", "b", "c", "d"].map(ExternRef::new);
    store.data_mut().rewrite = Some((raw(&a), raw(&d)));
    let args: Vec<Val> = [&a, &b, &c, &d]
        .iter()
        .map(|r| Val::ExternRef(Some((*r).clone())))
        .collect();
    let mut results = vec![Val::I32(0); 3];
    let outer = instance.get_func(&mut store, "outer").unwrap();
    outer
        .call_async(&mut store, &args, &mut results)
        .await
        .unwrap();
    let (words, frames) = &store.data().walks[0];
    assert_eq!(*frames, 2);
    let found: BTreeSet<u64> = words.iter().copied().collect();
    assert_eq!(found, set(&[&a, &b, &c]));
    assert!(externref(&results[1]).ptr_eq(&d));
}

/// The `any` hierarchy (here `i31ref`s typed `(ref null i31)` and `eqref`)
/// is declared too: its words are found and a rewrite is observed.
#[test]
fn i31_references_are_roots_too() {
    let mut config = crate::Config::new();
    config.wasm_gc(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
          (import "h" "roots" (func $roots))
          (func (export "f") (param $x i32) (result i32)
            (local $r (ref null i31)) (local $e eqref)
            (local.set $r (ref.i31 (local.get $x)))
            (local.set $e (ref.i31 (i32.const 5)))
            (call $roots)
            (i32.add
              (i31.get_s (local.get $r))
              (i31.get_s (ref.cast (ref i31) (local.get $e))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, Probe::default());
    let roots = Func::wrap(&mut store, |mut caller: Caller<'_, Probe>| {
        walk(&mut caller)
    });
    let instance = Instance::new(&mut store, &module, &[Extern::Func(roots)]).unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "f")
        .unwrap();
    let i31 = |v: u64| (v << 1) | 1;
    assert_eq!(f.call(&mut store, 40).unwrap(), 45);
    let found: BTreeSet<u64> = store.data().walks[0].0.iter().copied().collect();
    assert_eq!(found, BTreeSet::from([i31(40), i31(5)]));
    store.data_mut().rewrite = Some((i31(40), i31(100)));
    assert_eq!(f.call(&mut store, 40).unwrap(), 105);
}

/// An `exnref` held across a call (after `catch_ref`) is a root; a funcref
/// held the same way is not.
#[test]
fn exnrefs_are_roots_and_funcrefs_are_not() {
    let mut config = crate::Config::new();
    config.wasm_exceptions(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
          (import "h" "roots" (func $roots))
          (tag $t (param i32))
          (elem declare func $g)
          (func $g)
          (func (export "f") (result i32)
            (local $x exnref) (local $fr funcref)
            (local.set $fr (ref.func $g))
            (block $h (result i32 exnref)
              (try_table (catch_ref $t $h) (throw $t (i32.const 7)))
              (unreachable))
            (local.set $x)
            (call $roots)
            (i32.add (ref.is_null (local.get $x)) (ref.is_null (local.get $fr)))
            (i32.add)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, Probe::default());
    let roots = Func::wrap(&mut store, |mut caller: Caller<'_, Probe>| {
        walk(&mut caller)
    });
    let instance = Instance::new(&mut store, &module, &[Extern::Func(roots)]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 7);
    let (words, frames) = &store.data().walks[0];
    assert_eq!(*frames, 1);
    assert_eq!(words.len(), 1, "only the exnref: {words:?}");
    assert_ne!(words[0], 0);
}

/// Every frame of a deep recursion is walked (backtraces stop at 10,000
/// frames; a collector must not).
#[test]
fn every_frame_of_a_deep_recursion_is_walked() {
    // 12,000 frames must fit the default 512 KiB wasm stack (exceptions on,
    // the default, cost a frame nothing outside a `try_table`).
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (import "h" "roots" (func $roots))
          (func $rec (export "rec") (param $n i32) (param $x externref) (result externref)
            (if (i32.eqz (local.get $n))
              (then (call $roots) (return (local.get $x))))
            (drop (call $rec (i32.sub (local.get $n) (i32.const 1)) (local.get $x)))
            (local.get $x)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, Probe::default());
    let roots = Func::wrap(&mut store, |mut caller: Caller<'_, Probe>| {
        walk(&mut caller)
    });
    let instance = Instance::new(&mut store, &module, &[Extern::Func(roots)]).unwrap();
    let rec = instance
        .get_typed_func::<(i32, Option<ExternRef>), Option<ExternRef>>(&mut store, "rec")
        .unwrap();
    let x = ExternRef::new("x");
    let depth = 12_000;
    let back = rec
        .call(&mut store, (depth, Some(x.clone())))
        .unwrap()
        .unwrap();
    assert!(back.ptr_eq(&x));
    let (words, frames) = &store.data().walks[0];
    assert_eq!(*frames, depth as usize + 1);
    assert_eq!(words.len(), depth as usize + 1);
    assert!(words.iter().all(|w| *w == raw(&x)));
}

/// Store S's wasm calls the host, which runs store T's wasm, which calls the
/// host again: walking S from there finds S's frame only (T's activation in
/// between is skipped), and walking T finds T's only.
#[test]
fn other_stores_frames_are_skipped() {
    use std::sync::{Arc, Mutex};
    let engine = Engine::default();
    let run = |import: &str| {
        format!(
            r#"(module (import "h" "{import}" (func $h))
              (func (export "run") (param $x externref) (result externref)
                (call $h) (local.get $x)))"#
        )
    };
    let mut s_store = Store::new(&engine, Probe::default());
    let s_limits = s_store.inner.opaque.limits() as *const super::VMRuntimeLimits as usize;
    let mut t_store = Store::new(&engine, Probe::default());
    let walk_s = Func::wrap(&mut t_store, move |mut caller: Caller<'_, Probe>| {
        let mut words = Vec::new();
        // SAFETY: on this thread, store S's innermost activation is stopped in
        // `enter_t`, a host function it called through its trampoline, and S
        // outlives this call; the slots are only read.
        let frames = unsafe {
            for_each_stack_root(s_limits as *const super::VMRuntimeLimits, |slot| {
                words.push(*slot)
            })
        };
        caller.data_mut().walks.push((words, frames));
        walk(&mut caller);
    });
    let t_module = Module::new(&engine, run("walk_s")).unwrap();
    let t_instance = Instance::new(&mut t_store, &t_module, &[Extern::Func(walk_s)]).unwrap();
    let t_run = t_instance
        .get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut t_store, "run")
        .unwrap();
    let t = ExternRef::new("t");
    let t_store = Arc::new(Mutex::new(t_store));
    let (t_arg, t_inner) = (t.clone(), t_store.clone());
    let enter_t = Func::wrap(&mut s_store, move || {
        let mut t_store = t_inner.lock().unwrap();
        let back = t_run.call(&mut *t_store, Some(t_arg.clone())).unwrap();
        assert!(back.unwrap().ptr_eq(&t_arg));
    });
    let s_module = Module::new(&engine, run("enter_t")).unwrap();
    let s_instance = Instance::new(&mut s_store, &s_module, &[Extern::Func(enter_t)]).unwrap();
    let s_run = s_instance
        .get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut s_store, "run")
        .unwrap();
    let s = ExternRef::new("s");
    let back = s_run.call(&mut s_store, Some(s.clone())).unwrap().unwrap();
    assert!(back.ptr_eq(&s));
    let t_store = t_store.lock().unwrap();
    let walks = &t_store.data().walks;
    assert_eq!(walks.len(), 2);
    let found = |i: usize| -> BTreeSet<u64> { walks[i].0.iter().copied().collect() };
    assert_eq!((found(0), walks[0].1), (set(&[&s]), 1), "store S's roots");
    assert_eq!((found(1), walks[1].1), (set(&[&t]), 1), "store T's roots");
}

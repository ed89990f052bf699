//! The exception unwinder (`vm/unwind.rs`) through the public API: frames
//! with no `try_table` unwound by the runtime, handlers that do not match
//! passing the exception on, tags matched by identity across instances,
//! `throw_ref` of a caught exception, GC references live across a `try_call`
//! whose callee collects before throwing, and throws on an async fiber.

use tern::*;

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_exceptions(true);
    Engine::new(&config).expect("valid config")
}

#[test]
fn thrown_through_1000_frames_without_try_table_and_caught_at_the_bottom() -> Result<()> {
    let engine = engine();
    // `$down` has no `try_table`: its calls are plain calls, so every one of
    // its 1,000 frames is left by the unwinder, not by compiled code.
    let module = Module::new(
        &engine,
        r#"(module
            (tag $e (param i32 i64))
            (func $down (param i32) (result i32)
              (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 7) (i64.const 9))))
              (i32.add (call $down (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
            (func $run (export "run") (param i32) (result i64)
              (local $p i32) (local $q i64)
              (block $h (result i32 i64)
                (try_table (catch $e $h)
                  (drop (call $down (local.get 0))))
                (return (i64.const -1)))
              (local.set $q)
              (local.set $p)
              (i64.add (i64.extend_i32_u (local.get $p)) (local.get $q)))
            (func (export "twice") (param i32) (result i64)
              (i64.add (call $run (local.get 0)) (call $run (local.get 0)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 1000)?, 16);
    assert_eq!(run.call(&mut store, 0)?, 16);
    // The stack is usable again after a resume: do it twice in one call.
    let twice = instance.get_typed_func::<i32, i64>(&mut store, "twice")?;
    assert_eq!(twice.call(&mut store, 500)?, 32);
    assert!(!store.has_pending_exception());
    Ok(())
}

#[test]
fn an_inner_try_table_that_does_not_match_passes_the_exception_out() -> Result<()> {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (tag $a (param i32))
            (tag $b (param i32))
            (func $thrower (param i32) (throw $b (local.get 0)))
            ;; Catches only $a: the exception of tag $b goes on to the caller.
            (func $inner (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $a $h)
                  (call $thrower (local.get 0))
                  (i32.const -1)))
              (i32.const 1000)
              (i32.add))
            (func $middle (param i32) (result i32) (call $inner (local.get 0)))
            (func (export "run") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $a $h) (catch $b $h)
                  (call $middle (local.get 0))))
              (i32.const 1)
              (i32.add)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    // Caught by `run`'s `$b` clause, not by `$inner` (which would add 1000).
    assert_eq!(run.call(&mut store, 5)?, 6);
    Ok(())
}

#[test]
fn an_imported_tag_matches_by_identity_across_instances() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let thrower = Module::new(
        &engine,
        r#"(module
            (tag $e (export "e") (param i32))
            (tag $other (export "other") (param i32))
            (func (export "throw_e") (param i32) (throw $e (local.get 0)))
            (func (export "throw_other") (param i32) (throw $other (local.get 0))))"#,
    )?;
    let thrower = Instance::new(&mut store, &thrower, &[])?;
    let e = thrower.get_export(&mut store, "e").expect("e");
    let throw_e = thrower.get_export(&mut store, "throw_e").expect("throw_e");
    let throw_other = thrower
        .get_export(&mut store, "throw_other")
        .expect("throw_other");
    // `$local` has the same type as the imported `$e` but is a different
    // tag: only the import's identity may match.
    let catcher = Module::new(
        &engine,
        r#"(module
            (import "t" "e" (tag $e (param i32)))
            (import "t" "throw_e" (func $throw_e (param i32)))
            (import "t" "throw_other" (func $throw_other (param i32)))
            (tag $local (param i32))
            (func (export "run") (param i32 i32) (result i32)
              (block $by_local (result i32)
                (block $by_import (result i32)
                  (try_table (catch $local $by_local) (catch $e $by_import)
                    (if (local.get 1)
                      (then (call $throw_other (local.get 0)))
                      (else (call $throw_e (local.get 0)))))
                  (return (i32.const -1)))
                (return (i32.add (i32.const 100))))
              (i32.add (i32.const 200))))"#,
    )?;
    let catcher = Instance::new(&mut store, &catcher, &[e, throw_e, throw_other])?;
    let run = catcher.get_typed_func::<(i32, i32), i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, (1, 0))?, 101);
    // Neither clause matches the other tag: it escapes to the host.
    let err = run.call(&mut store, (1, 1)).unwrap_err();
    assert!(err.is::<ThrownException>(), "{err:?}");
    let exn = store.take_pending_exception().expect("pending");
    let other = thrower
        .get_export(&mut store, "other")
        .and_then(Extern::into_tag)
        .expect("tag");
    assert_eq!(exn.tag(&store)?, other);
    Ok(())
}

#[test]
fn a_rethrown_exnref_is_caught_by_another_frame() -> Result<()> {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (tag $e (param i32))
            (global $seen (mut i32) (i32.const 0))
            (func $thrower (param i32) (throw $e (local.get 0)))
            ;; Catches with the exnref, records the payload, rethrows it.
            (func $relay (param i32)
              (local $x exnref)
              (block $h (result i32 exnref)
                (try_table (catch_ref $e $h) (call $thrower (local.get 0)))
                (return))
              (local.set $x)
              (global.set $seen)
              (call $rethrow (local.get $x)))
            (func $rethrow (param exnref) (throw_ref (local.get 0)))
            (func (export "run") (param i32) (result i32)
              (block $h (result i32)
                (try_table (catch $e $h) (call $relay (local.get 0)))
                (return (i32.const -1)))
              (i32.mul (global.get $seen))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 6)?, 36);
    Ok(())
}

#[test]
fn gc_references_live_across_a_try_call_survive_a_collection_before_the_throw() -> Result<()> {
    let mut config = Config::new();
    config.wasm_exceptions(true).wasm_gc(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
            (type $box (struct (field i64)))
            (type $junk (struct (field i64) (field i64) (field i64)))
            (tag $e (param i32))
            (import "h" "gc" (func $host_gc))
            ;; Allocates far more than the heap limit (so the heap must be
            ;; collected, repeatedly), asks the host to collect once more,
            ;; then throws.
            (func $churn (param $n i32)
              (loop $l
                (drop (struct.new $junk (i64.const 1) (i64.const 2) (i64.const 3)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br_if $l (local.get $n)))
              (call $host_gc)
              (throw $e (i32.const 5)))
            (func (export "run") (param $v i64) (param $n i32) (result i64)
              (local $b (ref null $box))
              (local $c (ref null $box))
              (local.set $b (struct.new $box (local.get $v)))
              (local.set $c (struct.new $box (i64.const 1)))
              (block $h (result i32)
                (try_table (catch $e $h)
                  ;; $b and $c are live across this try_call and read in
                  ;; the handler path below.
                  (call $churn (local.get $n)))
                (return (i64.const -1)))
              (i64.extend_i32_u)
              (i64.add (struct.get $box 0 (local.get $b)))
              (i64.add (struct.get $box 0 (local.get $c)))))"#,
    )?;
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().memory_size(1 << 20).build(),
    );
    store.limiter(|l| l as &mut dyn ResourceLimiter);
    let gc = Func::wrap(&mut store, |mut caller: Caller<'_, StoreLimits>| {
        caller.gc()
    });
    let instance = Instance::new(&mut store, &module, &[gc.into()])?;
    let run = instance.get_typed_func::<(i64, i32), i64>(&mut store, "run")?;
    // 200,000 objects of 32 bytes or more: over 6 MiB through a 1 MiB heap.
    assert_eq!(run.call(&mut store, (1_000_000, 200_000))?, 1_000_006);
    assert_eq!(run.call(&mut store, (7, 1))?, 13);
    Ok(())
}

#[tokio::test]
async fn a_throw_on_a_fiber_is_caught_there_or_reaches_the_host() -> Result<()> {
    let mut config = Config::new();
    config.wasm_exceptions(true).async_support(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
            (tag $e (export "e") (param i32))
            (import "h" "yield" (func $yield (param i32) (result i32)))
            (func $down (param i32) (result i32)
              (if (i32.eqz (local.get 0))
                (then (throw $e (call $yield (i32.const 3)))))
              (call $down (i32.sub (local.get 0) (i32.const 1))))
            (func (export "caught") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $e $h) (call $down (local.get 0)))))
            (func (export "uncaught") (param i32) (result i32)
              (call $down (local.get 0))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap_async("h", "yield", |_caller: Caller<'_, ()>, (x,): (i32,)| {
        Box::new(async move {
            tokio::task::yield_now().await;
            Ok(x * 2)
        })
    })?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let caught = instance.get_typed_func::<i32, i32>(&mut store, "caught")?;
    assert_eq!(caught.call_async(&mut store, 300).await?, 6);
    let uncaught = instance.get_typed_func::<i32, i32>(&mut store, "uncaught")?;
    let err = uncaught.call_async(&mut store, 300).await.unwrap_err();
    assert!(err.is::<ThrownException>(), "{err:?}");
    let exn = store.take_pending_exception().expect("pending");
    assert_eq!(exn.field(&mut store, 0)?.unwrap_i32(), 6);
    // The fiber is usable again afterwards.
    assert_eq!(caught.call_async(&mut store, 10).await?, 6);
    Ok(())
}

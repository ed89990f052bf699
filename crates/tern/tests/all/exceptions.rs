//! Exception handling through the public API: deep unwinding, exceptions
//! crossing host frames in both directions, traps between handlers, and a
//! host catching (and inspecting) a wasm exception.

use tern::*;

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_exceptions(true);
    Engine::new(&config).expect("valid config")
}

#[test]
fn thrown_and_caught_across_1000_frames() -> Result<()> {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (tag $e (param i32))
            (func $down (param i32)
              (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 42))))
              (call $down (i32.sub (local.get 0) (i32.const 1))))
            (func (export "run") (param i32) (result i32)
              (block $h (result i32)
                (try_table (catch $e $h) (call $down (local.get 0)))
                (i32.const -1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 1000)?, 42);
    assert_eq!(run.call(&mut store, 0)?, 42);
    Ok(())
}

#[test]
fn uncaught_exception_reaches_the_host_with_its_payload() -> Result<()> {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (tag (export "e") (param i32 i64))
            (func (export "throw") (param i32) (throw 0 (local.get 0) (i64.const 7))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let throw = instance.get_typed_func::<i32, ()>(&mut store, "throw")?;
    let err = throw.call(&mut store, 5).unwrap_err();
    assert!(err.is::<ThrownException>(), "{err:?}");
    let exn = store.take_pending_exception().expect("a pending exception");
    let tag = instance
        .get_export(&mut store, "e")
        .and_then(Extern::into_tag)
        .expect("tag export");
    assert_eq!(exn.tag(&store)?, tag);
    let fields = exn.fields(&mut store)?;
    assert_eq!(fields[0].unwrap_i32(), 5);
    assert_eq!(fields[1].unwrap_i64(), 7);
    assert!(store.take_pending_exception().is_none());
    Ok(())
}

#[test]
fn host_throws_into_wasm_and_wasm_catches() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], [])))?;
    let pre = ExnRefPre::new(&mut store, ExnType::new(&engine, [ValType::I32])?);
    let host = Func::wrap(
        &mut store,
        move |mut caller: Caller<'_, ()>, x: i32| -> Result<i32> {
            let exn = ExnRef::new(&mut caller, &pre, &tag, &[Val::I32(x * 2)])?;
            caller.throw(exn)?;
            Ok(0)
        },
    );
    let module = Module::new(
        &engine,
        r#"(module
            (import "" "host" (func $host (param i32) (result i32)))
            (import "" "tag" (tag $t (param i32)))
            (func (export "run") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $t $h) (call $host (local.get 0))))))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[host.into(), tag.into()])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 21)?, 42);
    Ok(())
}

#[test]
fn exception_passes_through_host_frames_both_ways() -> Result<()> {
    // wasm `outer` catches; it calls the host, which calls wasm `inner`, which
    // throws: the host sees `ThrownException` and rethrows it with `?`.
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (import "" "host" (func $host (param i32)))
            (tag $e (param i32))
            (func (export "inner") (param i32) (throw $e (local.get 0)))
            (func (export "outer") (param i32) (result i32)
              (block $h (result i32)
                (try_table (catch $e $h) (call $host (local.get 0)))
                (i32.const -1))))"#,
    )?;
    let host = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, ()>, x: i32| -> Result<()> {
            let inner = caller
                .get_export("inner")
                .and_then(Extern::into_func)
                .expect("inner export");
            let inner = inner.typed::<i32, ()>(&caller)?;
            let err = inner.call(&mut caller, x + 1).unwrap_err();
            assert!(err.is::<ThrownException>());
            Err(err)
        },
    );
    let instance = Instance::new(&mut store, &module, &[host.into()])?;
    let outer = instance.get_typed_func::<i32, i32>(&mut store, "outer")?;
    assert_eq!(outer.call(&mut store, 9)?, 10);
    assert!(!store.has_pending_exception());
    Ok(())
}

#[test]
fn traps_are_not_caught_and_leave_no_exception_behind() -> Result<()> {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (tag $e)
            (func $trap (unreachable))
            (func (export "trap_in_try") (result i32)
              (block $h
                (try_table (catch_all $h) (call $trap))
                (return (i32.const 1)))
              (i32.const 2))
            (func (export "throw_after") (result i32)
              (block $h
                (try_table (catch $e $h) (throw $e)))
              (i32.const 3)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let trap = instance.get_typed_func::<(), i32>(&mut store, "trap_in_try")?;
    let err = trap.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert!(!store.has_pending_exception());
    let after = instance.get_typed_func::<(), i32>(&mut store, "throw_after")?;
    assert_eq!(after.call(&mut store, ())?, 3);
    Ok(())
}

#[test]
fn throw_ref_of_null_traps() -> Result<()> {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (throw_ref (ref.null exn))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_typed_func::<(), ()>(&mut store, "f")?;
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::NullReference));
    Ok(())
}

/// Exceptions are objects on the GC heap and are collected with it: a guest
/// that throws and catches a million exceptions (80 MB of them) runs in a
/// 1 MiB heap; one that keeps every exception it catches fills the limit and
/// ends with a clean `GcHeapOutOfMemory` trap, not with the host out of
/// memory, and the store stays usable.
#[test]
fn throwing_under_a_heap_limit_collects_and_traps_cleanly() -> Result<()> {
    let engine = engine();
    let wat = r#"(module
        (tag $big (param i64 i64 i64 i64 i64 i64 i64 i64))
        (table $keep 0 exnref)
        (func $throw_big
          (throw $big (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
                      (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8)))
        (func (export "run") (param $n i32) (result i32)
          (local $caught i32)
          (loop $again
            (block $caught
              (try_table (catch_all $caught) (call $throw_big)))
            (local.set $caught (i32.add (local.get $caught) (i32.const 1)))
            (br_if $again (i32.lt_u (local.get $caught) (local.get $n))))
          (local.get $caught))
        (func (export "keep_all")
          (loop $again
            (block $caught (result exnref)
              (try_table (catch_all_ref $caught) (call $throw_big))
              (unreachable))
            (drop (table.grow $keep (i32.const 1)))
            (br $again)))
        (func (export "ok") (result i32) (i32.const 1)))"#;
    let module = Module::new(&engine, wat)?;
    let limits = StoreLimitsBuilder::new().memory_size(1 << 20).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 1_000_000)?, 1_000_000);
    assert!(!store.has_pending_exception());
    let keep_all = instance.get_typed_func::<(), ()>(&mut store, "keep_all")?;
    let err = keep_all
        .call(&mut store, ())
        .expect_err("the heap limit ends the loop");
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::GcHeapOutOfMemory),
        "{err:?}"
    );
    assert!(!store.has_pending_exception());
    let ok = instance.get_typed_func::<(), i32>(&mut store, "ok")?;
    assert_eq!(ok.call(&mut store, ())?, 1);
    Ok(())
}

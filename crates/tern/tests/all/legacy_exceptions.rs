//! Legacy exception handling (`try`/`catch`/`rethrow`/`delegate`) through the
//! public API: the setting and its requirements, exceptions crossing host
//! frames in both directions, traps inside handlers, and backtraces that
//! name offsets in the module's *original* bytes although the module was
//! rewritten onto `try_table` before compilation. The instruction semantics
//! are tested by `tests/legacy-exceptions/*.wast` (spec runner).

use tern::*;

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_legacy_exceptions(true);
    Engine::new(&config).expect("valid config")
}

const CATCHER: &str = r#"(module
  (tag $e (param i32))
  (func (export "run") (result i32)
    try (result i32)
      i32.const 1
      throw $e
    catch $e
    end))"#;

#[test]
fn off_by_default_and_refused_by_the_validator() -> Result<()> {
    let err = Module::new(&Engine::default(), CATCHER).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("legacy_exceptions feature required"), "{msg}");
    Ok(())
}

#[test]
fn requires_exceptions() {
    let mut config = Config::new();
    config.wasm_legacy_exceptions(true).wasm_exceptions(false);
    let Err(err) = Engine::new(&config) else {
        panic!("legacy exceptions without exceptions must be refused");
    };
    assert!(format!("{err}").contains("wasm_exceptions"), "{err}");
}

#[test]
fn invalid_modules_report_the_validators_error_about_the_original() {
    // `rethrow 0` inside a `block`: the validator's message, at the
    // original offset, not something about rewritten code.
    let err = Module::new(&engine(), r#"(module (func try rethrow 0 catch_all end))"#).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("invalid rethrow label"), "{msg}");
}

#[test]
fn caught_payload_and_modules_without_legacy_instructions_unchanged() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, CATCHER)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 1);
    // The final form still works next to it, with legacy on.
    let module = Module::new(
        &engine,
        r#"(module (tag $e) (func (export "run") (result i32)
            (block $h (try_table (catch $e $h) (throw $e))) (i32.const 5)))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 5);
    Ok(())
}

#[test]
fn host_throws_into_a_legacy_catch() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], [])))?;
    let pre = ExnRefPre::new(&mut store, ExnType::new(&engine, [ValType::I32])?);
    let host = Func::wrap(
        &mut store,
        move |mut caller: Caller<'_, ()>, x: i32| -> Result<i32> {
            let exn = ExnRef::new(&mut caller, &pre, &tag, &[Val::I32(x * 3)])?;
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
              try (result i32)
                local.get 0
                call $host
              catch $t
                i32.const 1
                i32.add
              end))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[host.into(), tag.into()])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 7)?, 22);
    assert!(!store.has_pending_exception());
    Ok(())
}

#[test]
fn rethrown_and_delegated_exceptions_cross_host_frames_both_ways() -> Result<()> {
    // `outer` (legacy catch) → host → `inner`, which catches, rethrows and
    // delegates to its caller: the host sees `ThrownException`, passes it on
    // with `?`, and `outer` catches it with the original payload.
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (import "" "host" (func $host (param i32)))
            (tag $e (param i32))
            (func (export "inner") (param i32)
              try
                try
                  local.get 0
                  throw $e
                catch $e
                  drop
                  rethrow 0
                end
              delegate 0)
            (func (export "outer") (param i32) (result i32)
              try (result i32)
                local.get 0
                call $host
                i32.const -1
              catch $e
              end))"#,
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
            assert!(err.is::<ThrownException>(), "{err:?}");
            Err(err)
        },
    );
    let instance = Instance::new(&mut store, &module, &[host.into()])?;
    let outer = instance.get_typed_func::<i32, i32>(&mut store, "outer")?;
    assert_eq!(outer.call(&mut store, 9)?, 10);
    assert!(!store.has_pending_exception());
    // Called directly, `inner`'s exception reaches the host with its payload.
    let inner = instance.get_typed_func::<i32, ()>(&mut store, "inner")?;
    let err = inner.call(&mut store, 4).unwrap_err();
    assert!(err.is::<ThrownException>(), "{err:?}");
    let exn = store.take_pending_exception().expect("a pending exception");
    let fields = exn.fields(&mut store)?;
    assert_eq!(fields[0].unwrap_i32(), 4);
    Ok(())
}

#[test]
fn trap_inside_a_catch_body_reports_the_original_offset() -> Result<()> {
    let engine = engine();
    let wat = r#"(module
        (tag $e)
        (func $handler (export "run")
          try
            throw $e
          catch $e
            i32.const 12345
            drop
            unreachable
          end)
        (func (export "outer")
          try
            call $handler
          catch_all
          end))"#;
    let wasm = wat::parse_str(wat)?;
    // `i32.const 12345; drop; unreachable` in the original bytes.
    let pattern = [0x41, 0xB9, 0xE0, 0x00, 0x1A, 0x00];
    let at = wasm
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("the handler's bytes")
        + pattern.len()
        - 1;
    let module = Module::new(&engine, &wasm)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    for name in ["run", "outer"] {
        let run = instance.get_typed_func::<(), ()>(&mut store, name)?;
        let err = run.call(&mut store, ()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached)
        );
        let trace = err
            .downcast_ref::<WasmBacktrace>()
            .expect("a trap carries a backtrace");
        let frame = &trace.frames()[0];
        assert_eq!(frame.func_index(), 0, "{trace:?}");
        // The name section was carried over into the rewritten module.
        assert_eq!(frame.func_name(), Some("handler"), "{trace:?}");
        assert_eq!(frame.module_offset(), Some(at), "{trace:?}");
        assert!(!store.has_pending_exception());
    }
    Ok(())
}

#[test]
fn legacy_modules_round_trip_through_artifacts() -> Result<()> {
    let engine = engine();
    let bytes = Module::new(&engine, CATCHER)?.serialize()?;
    // SAFETY: the bytes were just produced by `serialize` with this engine.
    let module = unsafe { Module::deserialize(&engine, &bytes)? };
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 1);
    // An engine without legacy exceptions refuses the artifact.
    let plain = Engine::default();
    // SAFETY: as above; `deserialize` must refuse the mismatching settings.
    let refused = unsafe { Module::deserialize(&plain, &bytes) };
    assert!(refused.is_err());
    Ok(())
}

#[test]
fn every_branch_kind_is_renumbered_inside_rewritten_bodies() -> Result<()> {
    // GC (on by default) adds `br_on_cast`, `br_on_cast_fail`, `br_on_null`
    // and `br_on_non_null`, whose label depths the rewrite must renumber
    // like `br`, `br_if` and `br_table`: each branches out of a legacy `try`
    // (through the blocks the rewrite inserts) to a block around it.
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (type $s (struct (field i32)))
            (tag $e)
            (func (export "cast") (param i32) (result i32)
              (local anyref)
              local.get 0
              if
                i32.const 7
                struct.new $s
                local.set 1
              else
                i32.const 9
                ref.i31
                local.set 1
              end
              block $is-struct (result (ref $s))
                block $not-struct (result anyref)
                  try
                    local.get 1
                    br_on_cast $is-struct anyref (ref $s)
                    br_on_cast_fail $not-struct anyref (ref $s)
                    drop
                    throw $e
                  catch $e
                  end
                  i32.const -1
                  return
                end
                ref.cast i31ref
                i31.get_s
                return
              end
              struct.get $s 0)
            (func (export "null") (param i32) (result i32)
              (local externref)
              local.get 0
              if
                i32.const 0
                ref.i31
                extern.convert_any
                local.set 1
              end
              block $null
                block $non-null (result externref)
                  try (result i32)
                    local.get 1
                    br_on_null $null
                    br_on_non_null $non-null
                    i32.const -1
                  catch_all
                    i32.const -2
                  end
                  return
                end
                drop
                i32.const 1
                return
              end
              i32.const 2)
            (func (export "table") (param i32) (result i32)
              block $two
                block $one
                  block $zero
                    try
                      try
                        local.get 0
                        br_table $zero $one $two
                      delegate 0
                    catch_all
                    end
                    i32.const -1
                    return
                  end
                  i32.const 10
                  return
                end
                i32.const 11
                local.get 0
                i32.const 1
                i32.eq
                br_if 1
                drop
              end
              i32.const 12))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let cast = instance.get_typed_func::<i32, i32>(&mut store, "cast")?;
    assert_eq!(cast.call(&mut store, 1)?, 7);
    assert_eq!(cast.call(&mut store, 0)?, 9);
    let null = instance.get_typed_func::<i32, i32>(&mut store, "null")?;
    assert_eq!(null.call(&mut store, 0)?, 2);
    assert_eq!(null.call(&mut store, 1)?, 1);
    let table = instance.get_typed_func::<i32, i32>(&mut store, "table")?;
    assert_eq!(table.call(&mut store, 0)?, 10);
    assert_eq!(table.call(&mut store, 1)?, 11);
    assert_eq!(table.call(&mut store, 2)?, 12);
    assert_eq!(table.call(&mut store, 5)?, 12);
    Ok(())
}

//! Exceptions as GC-heap objects and the may-throw analysis, through the
//! public API: a payload of every kind of value round-trips through wasm
//! and host throws and catches; calls the analysis must keep checked (an
//! import, a `call_indirect` target, a direct callee that reaches either)
//! still see the exceptions they let through; host `ExnRef`s are rooted
//! handles.

use tern::*;

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_exceptions(true);
    config.wasm_gc(true);
    config.wasm_function_references(true);
    Engine::new(&config).expect("valid config")
}

/// The tag's payload: one value of every kind.
const PAYLOAD: &str = "i32 i64 f32 f64 v128 funcref externref anyref";

fn module(engine: &Engine) -> Result<Module> {
    let gets: String = (0..8).map(|i| format!(" (local.get {i})")).collect();
    let wat = format!(
        r#"(module
            (import "" "tag" (tag $t (param {PAYLOAD})))
            (import "" "host_throw" (func $host_throw))
            (type $s (struct (field i32)))
            (func $seven (export "seven") (result i32) (i32.const 7))
            (elem declare func $seven)
            (func $thrower (param {PAYLOAD}) (throw $t{gets}))
            ;; wasm throws and catches; the payload comes back as results
            (func (export "roundtrip") (param {PAYLOAD}) (result {PAYLOAD})
              (block $h (result {PAYLOAD})
                (try_table (catch $t $h) (call $thrower{gets}))
                (unreachable)))
            ;; wasm throws, the host catches
            (func (export "throw") (param {PAYLOAD}) (call $thrower{gets}))
            ;; the host throws, wasm catches
            (func (export "catch_host") (result {PAYLOAD})
              (block $h (result {PAYLOAD})
                (try_table (catch $t $h) (call $host_throw))
                (unreachable)))
            (func (export "new_struct") (param i32) (result anyref)
              (struct.new $s (local.get 0))))"#
    );
    Module::new(engine, wat)
}

/// The eight payload values (the anyref is a fresh struct holding 99).
fn payload(store: &mut Store<()>, instance: &Instance) -> Result<Vec<Val>> {
    let seven = instance.get_func(&mut *store, "seven").expect("export");
    let new_struct = instance
        .get_func(&mut *store, "new_struct")
        .expect("export");
    let mut out = [Val::AnyRef(None)];
    new_struct.call(&mut *store, &[Val::I32(99)], &mut out)?;
    Ok(vec![
        Val::I32(-5),
        Val::I64(1 << 40),
        Val::F32(1.5f32.to_bits()),
        Val::F64((-2.25f64).to_bits()),
        Val::V128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
        Val::FuncRef(Some(seven)),
        Val::ExternRef(Some(ExternRef::new(123u32))),
        out[0].clone(),
    ])
}

/// Checks that `got` holds the values of [`payload`].
fn check(store: &mut Store<()>, got: &[Val]) -> Result<()> {
    assert_eq!(got.len(), 8);
    assert_eq!(got[0].unwrap_i32(), -5);
    assert_eq!(got[1].unwrap_i64(), 1 << 40);
    assert_eq!(got[2].unwrap_f32(), 1.5);
    assert_eq!(got[3].unwrap_f64(), -2.25);
    assert_eq!(
        got[4].unwrap_v128(),
        0x0123_4567_89ab_cdef_fedc_ba98_7654_3210
    );
    let f = *got[5].unwrap_funcref().expect("non-null funcref");
    assert_eq!(f.typed::<(), i32>(&*store)?.call(&mut *store, ())?, 7);
    let e = got[6].unwrap_externref().expect("non-null externref");
    assert_eq!(e.data().downcast_ref::<u32>(), Some(&123));
    let Val::AnyRef(Some(a)) = &got[7] else {
        panic!("expected a non-null anyref, got {:?}", got[7]);
    };
    let s = a.as_struct(&*store)?.expect("a struct");
    assert_eq!(s.field(&mut *store, 0)?.unwrap_i32(), 99);
    Ok(())
}

#[test]
fn a_payload_of_every_value_kind_round_trips() -> Result<()> {
    let engine = engine();
    let module = module(&engine)?;
    let mut store = Store::new(&engine, ());
    let params: Vec<ValType> = PAYLOAD
        .split(' ')
        .map(|t| match t {
            "i32" => ValType::I32,
            "i64" => ValType::I64,
            "f32" => ValType::F32,
            "f64" => ValType::F64,
            "v128" => ValType::V128,
            "funcref" => ValType::FUNCREF,
            "externref" => ValType::EXTERNREF,
            _ => ValType::ANYREF,
        })
        .collect();
    let tag = Tag::new(&mut store, &TagType::new(FuncType::new(params, [])))?;
    // The host function throws whatever exception the test puts in `slot`.
    let slot: std::sync::Arc<std::sync::Mutex<Option<Rooted<ExnRef>>>> = Default::default();
    let thrown = slot.clone();
    let host_throw = Func::wrap(
        &mut store,
        move |mut caller: Caller<'_, ()>| -> Result<()> {
            let exn = thrown
                .lock()
                .unwrap()
                .take()
                .expect("an exception to throw");
            caller.throw(exn)?;
            Ok(())
        },
    );
    let instance = Instance::new(&mut store, &module, &[tag.into(), host_throw.into()])?;
    let values = payload(&mut store, &instance)?;

    // wasm → wasm
    let roundtrip = instance.get_func(&mut store, "roundtrip").expect("export");
    let mut results = vec![Val::I32(0); 8];
    roundtrip.call(&mut store, &values, &mut results)?;
    check(&mut store, &results)?;

    // wasm → host
    let throw = instance.get_func(&mut store, "throw").expect("export");
    let err = throw.call(&mut store, &values, &mut []).unwrap_err();
    assert!(err.is::<ThrownException>(), "{err:?}");
    let exn = store.take_pending_exception().expect("pending");
    assert_eq!(exn.tag(&store)?, tag);
    let fields = exn.fields(&mut store)?;
    check(&mut store, &fields)?;

    // host → wasm, with a host-made exception and with the one wasm threw
    let catch_host = instance.get_func(&mut store, "catch_host").expect("export");
    let exn_ty = ExnType::from_tag_type(&tag.ty(&store))?;
    let pre = ExnRefPre::new(&mut store, exn_ty);
    let made = ExnRef::new(&mut store, &pre, &tag, &values)?;
    let fields = made.fields(&mut store)?;
    check(&mut store, &fields)?;
    for exn in [made, exn] {
        *slot.lock().unwrap() = Some(exn);
        let mut results = vec![Val::I32(0); 8];
        catch_host.call(&mut store, &[], &mut results)?;
        check(&mut store, &results)?;
    }
    assert!(!store.has_pending_exception());
    Ok(())
}

#[test]
fn exn_ref_new_checks_the_payload() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], [])))?;
    let pre = ExnRefPre::new(&mut store, ExnType::new(&engine, [ValType::I32])?);
    assert!(ExnRef::new(&mut store, &pre, &tag, &[]).is_err());
    assert!(ExnRef::new(&mut store, &pre, &tag, &[Val::I64(1)]).is_err());
    // An allocator of another type, and one of another store.
    let wrong = ExnRefPre::new(&mut store, ExnType::new(&engine, [ValType::I64])?);
    assert!(ExnRef::new(&mut store, &wrong, &tag, &[Val::I32(3)]).is_err());
    let mut elsewhere = Store::new(&engine, ());
    let foreign = ExnRefPre::new(&mut elsewhere, ExnType::new(&engine, [ValType::I32])?);
    assert!(ExnRef::new(&mut store, &foreign, &tag, &[Val::I32(3)]).is_err());
    let exn = ExnRef::new(&mut store, &pre, &tag, &[Val::I32(3)])?;
    assert_eq!(exn.ty(&store)?, ExnType::new(&engine, [ValType::I32])?);
    assert!(exn.field(&mut store, 1).is_err());
    assert_eq!(exn.field(&mut store, 0)?.unwrap_i32(), 3);
    let mut other = Store::new(&engine, ());
    assert!(exn.fields(&mut other).is_err());
    Ok(())
}

#[test]
fn throws_behind_every_kind_of_call_are_caught() -> Result<()> {
    // Each export catches an exception raised behind a different kind of
    // call: a `call_indirect` target, a `call_ref` target, a direct callee
    // whose own callee is an import that throws, and a tail-called thrower.
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], [])))?;
    let pre = ExnRefPre::new(&mut store, ExnType::new(&engine, [ValType::I32])?);
    let host = Func::wrap(
        &mut store,
        move |mut caller: Caller<'_, ()>, x: i32| -> Result<i32> {
            let exn = ExnRef::new(&mut caller, &pre, &tag, &[Val::I32(x)])?;
            caller.throw(exn)?;
            Ok(-1)
        },
    );
    let module = Module::new(
        &engine,
        r#"(module
            (import "" "host" (func $host (param i32) (result i32)))
            (import "" "tag" (tag $t (param i32)))
            (type $i (func (param i32) (result i32)))
            (table 1 funcref)
            (elem (i32.const 0) $thrower)
            (elem declare func $thrower)
            (func $thrower (type $i) (throw $t (i32.add (local.get 0) (i32.const 1))))
            (func $via_host (param i32) (result i32) (call $host (local.get 0)))
            (func $middle (param i32) (result i32) (call $via_host (local.get 0)))
            (func $tail (param i32) (result i32) (return_call $thrower (local.get 0)))
            (func (export "indirect") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $t $h)
                  (call_indirect (type $i) (local.get 0) (i32.const 0)))))
            (func (export "ref") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $t $h)
                  (call_ref $i (local.get 0) (ref.func $thrower)))))
            (func (export "import_behind_direct") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $t $h) (call $middle (local.get 0)))))
            (func (export "tail") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $t $h) (call $tail (local.get 0))))))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[host.into(), tag.into()])?;
    for (export, expected) in [
        ("indirect", 11),
        ("ref", 11),
        ("import_behind_direct", 10),
        ("tail", 11),
    ] {
        let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
        assert_eq!(f.call(&mut store, 10)?, expected, "{export}");
    }
    assert!(!store.has_pending_exception());
    Ok(())
}

/// `ExnRef`s are rooted handles like `StructRef`s: a `Rooted<ExnRef>` follows
/// its object through collections and is released with its `RootScope`; a
/// `ManuallyRooted<ExnRef>` lives until unrooted; an exception passed to wasm
/// as a `Val` and rethrown comes back as the same object.
#[test]
fn exnrefs_are_rooted_like_other_gc_references() -> Result<()> {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], [])))?;
    let exn_ty = ExnType::from_tag_type(&tag.ty(&store))?;
    let pre = ExnRefPre::new(&mut store, exn_ty);
    let module = Module::new(
        &engine,
        r#"(module (func (export "rethrow") (param exnref) (throw_ref (local.get 0))))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let rethrow = instance.get_func(&mut store, "rethrow").expect("export");
    let before = GcRootCounts::of(&mut store);
    let (scoped, manual) = {
        let mut scope = RootScope::new(&mut store);
        for i in 0..1_000 {
            ExnRef::new(&mut scope, &pre, &tag, &[Val::I32(i)])?;
        }
        let scoped = ExnRef::new(&mut scope, &pre, &tag, &[Val::I32(-5)])?;
        let manual = scoped.to_manually_rooted(&mut scope)?;
        scope.as_context_mut().gc();
        assert_eq!(scoped.field(&mut scope, 0)?.unwrap_i32(), -5);
        assert_eq!(scoped.tag(&scope)?, tag);
        // Through wasm and back: the pending exception is the same object.
        let err = rethrow
            .call(&mut scope, &[Val::ExnRef(Some(scoped))], &mut [])
            .unwrap_err();
        assert!(err.is::<ThrownException>(), "{err:?}");
        let back = scope
            .as_context_mut()
            .take_pending_exception()
            .expect("pending");
        assert!(Rooted::ref_eq(&scope, &back, &scoped)?);
        (scoped, manual)
    };
    // The scope ended: its roots are gone, the manual one is not.
    assert_eq!(GcRootCounts::of(&mut store).lifo, before.lifo);
    assert!(scoped.field(&mut store, 0).is_err());
    store.gc();
    assert_eq!(manual.field(&mut store, 0)?.unwrap_i32(), -5);
    manual.unroot(&mut store);
    assert_eq!(GcRootCounts::of(&mut store).slots_live, before.slots_live);
    Ok(())
}

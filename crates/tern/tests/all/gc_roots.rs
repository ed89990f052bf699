//! Host GC roots (`Rooted`, `RootScope`, `ManuallyRooted`, `OwnedRooted`):
//! a handle used after its root was released, or with another store, is an
//! `Err`; scopes release in LIFO order; manual and owned roots release their
//! slots; 10^5 handles made and released keep the root table small; host
//! functions receive and return rooted values, and their roots end with
//! them. Release is observed through the store's doc-hidden root counter
//! (`GcRootCounts`), which reads the same table the collector walks.

use tern::*;

fn gc_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_gc(true);
    Engine::new(&config).expect("GC is implemented")
}

/// `(struct (field (mut i32)))`, and an allocator for it in `store`.
fn cell_pre(store: &mut Store<()>) -> Result<StructRefPre> {
    let ty = StructType::new(
        store.engine(),
        [FieldType::new(
            Mutability::Var,
            StorageType::ValType(ValType::I32),
        )],
    )?;
    Ok(StructRefPre::new(store, ty))
}

fn released(err: &Error) -> bool {
    format!("{err:#}").contains("root was released")
}

#[test]
fn rooted_used_after_its_scope_is_an_error() -> Result<()> {
    let mut store = Store::new(&gc_engine(), ());
    let pre = cell_pre(&mut store)?;
    let (escaped, escaped_i31);
    {
        let mut scope = RootScope::new(&mut store);
        let s = StructRef::new(&mut scope, &pre, &[Val::I32(7)])?;
        assert_eq!(s.field(&mut scope, 0)?.unwrap_i32(), 7);
        escaped = s;
        escaped_i31 = AnyRef::from_i31(&mut scope, I31::wrapping_u32(3));
        assert_eq!(escaped_i31.as_i31(&scope)?, Some(I31::wrapping_u32(3)));
    }
    let err = escaped.field(&mut store, 0).expect_err("scope ended");
    assert!(released(&err), "{err:#}");
    assert!(escaped.set_field(&mut store, 0, Val::I32(1)).is_err());
    assert!(escaped_i31.as_i31(&store).is_err());
    // New roots reuse the released stack entries; the stale handles still
    // fail instead of naming the new objects.
    let fresh = StructRef::new(&mut store, &pre, &[Val::I32(8)])?;
    let fresh_i31 = AnyRef::from_i31(&mut store, I31::wrapping_u32(4));
    assert!(released(&escaped.field(&mut store, 0).expect_err("stale")));
    assert!(escaped_i31.is_i31(&store).is_err());
    assert_eq!(fresh.field(&mut store, 0)?.unwrap_i32(), 8);
    assert_eq!(fresh_i31.as_i31(&store)?, Some(I31::wrapping_u32(4)));
    // Passing a stale handle to wasm is refused too.
    let module = Module::new(
        store.engine(),
        r#"(module (func (export "id") (param anyref) (result anyref) (local.get 0)))"#,
    )?;
    let id = Instance::new(&mut store, &module, &[])?
        .get_func(&mut store, "id")
        .expect("export");
    let mut out = [Val::AnyRef(None)];
    let stale = Val::AnyRef(Some(escaped.to_anyref()));
    assert!(id.call(&mut store, &[stale], &mut out).is_err());
    Ok(())
}

#[test]
fn nested_scopes_release_in_lifo_order() -> Result<()> {
    let mut store = Store::new(&gc_engine(), ());
    let pre = cell_pre(&mut store)?;
    let base = GcRootCounts::of(&mut store).lifo;
    let outer_i31 = AnyRef::from_i31(&mut store, I31::wrapping_u32(1));
    let (a, b, c);
    {
        let mut s1 = RootScope::new(&mut store);
        a = StructRef::new(&mut s1, &pre, &[Val::I32(1)])?;
        {
            let mut s2 = RootScope::new(&mut s1);
            b = StructRef::new(&mut s2, &pre, &[Val::I32(2)])?;
            c = AnyRef::from_i31(&mut s2, I31::wrapping_u32(9));
            assert_eq!(GcRootCounts::of(&mut s2).lifo, base + 4);
            // The collector sees the two structs; i31s are not heap offsets.
            assert_eq!(GcRootCounts::host_root_offsets(&mut s2).len(), 2);
            assert_eq!(b.field(&mut s2, 0)?.unwrap_i32(), 2);
        }
        assert_eq!(GcRootCounts::of(&mut s1).lifo, base + 2);
        assert_eq!(GcRootCounts::host_root_offsets(&mut s1).len(), 1);
        assert!(released(
            &b.field(&mut s1, 0).expect_err("inner scope ended")
        ));
        assert!(c.is_i31(&s1).is_err());
        assert_eq!(a.field(&mut s1, 0)?.unwrap_i32(), 1);
    }
    assert_eq!(GcRootCounts::of(&mut store).lifo, base + 1);
    assert!(GcRootCounts::host_root_offsets(&mut store).is_empty());
    assert!(a.field(&mut store, 0).is_err());
    assert_eq!(outer_i31.as_i31(&store)?, Some(I31::wrapping_u32(1)));
    Ok(())
}

#[test]
fn manually_rooted_lives_until_unrooted() -> Result<()> {
    let mut store = Store::new(&gc_engine(), ());
    let pre = cell_pre(&mut store)?;
    let manual = {
        let mut scope = RootScope::new(&mut store);
        let s = StructRef::new(&mut scope, &pre, &[Val::I32(11)])?;
        s.to_manually_rooted(&mut scope)?
    };
    assert!(manual.comes_from_same_store(&store));
    // It outlived the scope it was made in.
    assert_eq!(manual.field(&mut store, 0)?.unwrap_i32(), 11);
    assert_eq!(GcRootCounts::host_root_offsets(&mut store).len(), 1);
    let plain: StructRef = *manual;
    let second = manual.clone(&mut store);
    assert_eq!(GcRootCounts::of(&mut store).slots_live, 2);
    manual.unroot(&mut store);
    assert_eq!(GcRootCounts::of(&mut store).slots_live, 1);
    let err = plain.field(&mut store, 0).expect_err("unrooted");
    assert!(released(&err), "{err:#}");
    // The clone is its own root, of the same object.
    second.set_field(&mut store, 0, Val::I32(12))?;
    let rooted = second.into_rooted(&mut store);
    assert_eq!(GcRootCounts::of(&mut store).slots_live, 0);
    assert_eq!(rooted.field(&mut store, 0)?.unwrap_i32(), 12);
    // An upcast keeps the same root.
    let any = rooted.to_anyref().to_manually_rooted(&mut store)?;
    assert!(any.is_struct(&store)?);
    let as_struct = any.as_struct(&store)?.expect("a struct");
    assert_eq!(as_struct.field(&mut store, 0)?.unwrap_i32(), 12);
    any.unroot(&mut store);
    assert!(as_struct.field(&mut store, 0).is_err());
    Ok(())
}

#[test]
fn owned_rooted_is_released_when_its_last_clone_drops() -> Result<()> {
    let mut store = Store::new(&gc_engine(), ());
    let pre = cell_pre(&mut store)?;
    let owned = {
        let mut scope = RootScope::new(&mut store);
        StructRef::new(&mut scope, &pre, &[Val::I32(21)])?.to_owned_rooted(&mut scope)?
    };
    assert_eq!(owned.field(&mut store, 0)?.unwrap_i32(), 21);
    let plain: StructRef = *owned;
    let clone = owned.clone();
    drop(owned);
    assert_eq!(GcRootCounts::of(&mut store).slots_live, 1);
    assert_eq!(clone.field(&mut store, 0)?.unwrap_i32(), 21);
    // The last clone drops on another thread, with no store at hand: the
    // release is queued and applied at the table's next use.
    std::thread::spawn(move || drop(clone))
        .join()
        .expect("drop on another thread");
    let counts = GcRootCounts::of(&mut store);
    assert_eq!((counts.slots_live, counts.slots_len), (0, 1));
    assert!(GcRootCounts::host_root_offsets(&mut store).is_empty());
    assert!(released(&plain.field(&mut store, 0).expect_err("dropped")));
    // The freed slot is reused, and the stale handle stays stale.
    let again = AnyRef::from_i31(&mut store, I31::wrapping_u32(5)).to_owned_rooted(&mut store)?;
    assert_eq!(GcRootCounts::of(&mut store).slots_len, 1);
    assert!(plain.field(&mut store, 0).is_err());
    assert_eq!(again.as_i31(&store)?, Some(I31::wrapping_u32(5)));
    let rooted = again.into_rooted(&mut store);
    assert_eq!(GcRootCounts::of(&mut store).slots_live, 0);
    assert_eq!(rooted.as_i31(&store)?, Some(I31::wrapping_u32(5)));
    Ok(())
}

#[test]
fn a_hundred_thousand_handles_keep_the_root_table_small() -> Result<()> {
    let mut store = Store::new(&gc_engine(), ());
    let pre = cell_pre(&mut store)?;
    let base = GcRootCounts::of(&mut store);
    for i in 0..100_000u32 {
        let mut scope = RootScope::new(&mut store);
        let s = StructRef::new(&mut scope, &pre, &[Val::I32(i as i32)])?;
        let i31 = AnyRef::from_i31(&mut scope, I31::wrapping_u32(i));
        let manual = s.to_manually_rooted(&mut scope)?;
        let owned = i31.to_owned_rooted(&mut scope)?;
        assert_eq!(manual.field(&mut scope, 0)?.unwrap_i32(), i as i32);
        assert_eq!(owned.as_i31(&scope)?, Some(I31::wrapping_u32(i)));
        manual.unroot(&mut scope);
        drop(owned);
    }
    let after = GcRootCounts::of(&mut store);
    assert_eq!(after.lifo, base.lifo);
    assert_eq!(after.slots_live, 0);
    assert!(after.slots_len <= 2, "{after:?}");
    Ok(())
}

#[test]
fn handles_of_another_store_are_refused() -> Result<()> {
    let engine = gc_engine();
    let mut store = Store::new(&engine, ());
    let mut other = Store::new(&engine, ());
    let pre = cell_pre(&mut store)?;
    let s = StructRef::new(&mut store, &pre, &[Val::I32(1)])?;
    let i31 = AnyRef::from_i31(&mut store, I31::wrapping_u32(2));
    let err = s.field(&mut other, 0).expect_err("wrong store");
    assert!(format!("{err:#}").contains("wrong store"), "{err:#}");
    assert!(i31.as_i31(&other).is_err());
    assert!(s.to_manually_rooted(&mut other).is_err());
    assert!(s.to_owned_rooted(&mut other).is_err());
    assert!(Rooted::ref_eq(&other, &s, &s).is_err());
    let manual = s.to_manually_rooted(&mut store)?;
    assert!(!manual.comes_from_same_store(&other));
    manual.unroot(&mut store);
    // Wasm of the other store refuses it as an argument.
    let module = Module::new(
        &engine,
        r#"(module (func (export "id") (param anyref) (result anyref) (local.get 0)))"#,
    )?;
    let id = Instance::new(&mut other, &module, &[])?
        .get_func(&mut other, "id")
        .expect("export");
    let mut out = [Val::AnyRef(None)];
    assert!(id
        .call(&mut other, &[Val::AnyRef(Some(s.to_anyref()))], &mut out)
        .is_err());
    Ok(())
}

#[test]
fn ref_eq_compares_objects_and_rooted_eq_roots() -> Result<()> {
    let mut store = Store::new(&gc_engine(), ());
    let pre = cell_pre(&mut store)?;
    let a = StructRef::new(&mut store, &pre, &[Val::I32(1)])?;
    let b = StructRef::new(&mut store, &pre, &[Val::I32(1)])?;
    let manual = a.to_manually_rooted(&mut store)?;
    assert!(Rooted::ref_eq(&store, &a, &manual)?);
    assert!(!Rooted::ref_eq(&store, &a, &b)?);
    assert!(Rooted::rooted_eq(a, a));
    let a_again = manual.to_rooted(&mut store);
    assert!(!Rooted::rooted_eq(a, a_again));
    assert!(Rooted::ref_eq(&store, &a, &a_again)?);
    manual.unroot(&mut store);
    Ok(())
}

const HOST_CALLS: &str = r#"(module
    (type $cell (struct (field (mut i32))))
    (import "host" "bump" (func $bump (param anyref) (result anyref)))
    (import "host" "typed" (func $typed (param anyref) (result anyref)))
    (func (export "run") (param i32) (result i32)
        (struct.get $cell 0 (ref.cast (ref $cell)
            (call $typed (call $bump (struct.new $cell (local.get 0)))))))
    (func (export "make") (param i32) (result anyref) (struct.new $cell (local.get 0))))"#;

#[test]
fn host_functions_receive_and_return_rooted_values() -> Result<()> {
    let engine = gc_engine();
    let module = Module::new(&engine, HOST_CALLS)?;
    // The store keeps copies of the handles the host functions saw.
    let mut store: Store<Vec<Rooted<AnyRef>>> = Store::new(&engine, Vec::new());
    let ty = StructType::new(
        &engine,
        [FieldType::new(
            Mutability::Var,
            StorageType::ValType(ValType::I32),
        )],
    )?;
    let bump = Func::new(
        &mut store,
        FuncType::new([ValType::ANYREF], [ValType::ANYREF]),
        move |mut caller, params, results| {
            let Val::AnyRef(Some(arg)) = &params[0] else {
                anyhow::bail!("expected a struct");
            };
            let arg = *arg;
            caller.data_mut().push(arg);
            let cell = arg.unwrap_struct(&caller)?;
            let v = cell.field(&mut caller, 0)?.unwrap_i32();
            // A new object made in the host function, returned to wasm.
            let pre = StructRefPre::new(&mut caller, ty.clone());
            let made = StructRef::new(&mut caller, &pre, &[Val::I32(v + 1)])?;
            caller.data_mut().push(made.to_anyref());
            results[0] = Val::AnyRef(Some(made.to_anyref()));
            Ok(())
        },
    );
    let typed = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, Vec<Rooted<AnyRef>>>,
         arg: Option<Rooted<AnyRef>>|
         -> Result<Option<Rooted<AnyRef>>> {
            let arg = arg.ok_or_else(|| anyhow::anyhow!("null"))?;
            caller.data_mut().push(arg);
            let cell = arg.unwrap_struct(&caller)?;
            let v = cell.field(&mut caller, 0)?.unwrap_i32();
            cell.set_field(&mut caller, 0, Val::I32(v * 10))?;
            Ok(Some(arg))
        },
    );
    let instance = Instance::new(&mut store, &module, &[bump.into(), typed.into()])?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    let base = GcRootCounts::of(&mut store).lifo;
    assert_eq!(run.call(&mut store, 4)?, 50);
    // Everything the host functions rooted ended with them.
    assert_eq!(GcRootCounts::of(&mut store).lifo, base);
    let seen = std::mem::take(store.data_mut());
    assert_eq!(seen.len(), 3);
    for r in seen {
        assert!(released(&r.is_struct(&store).expect_err("released")));
    }
    for i in 0..1000 {
        assert_eq!(run.call(&mut store, i)?, (i + 1) * 10);
        store.data_mut().clear();
    }
    assert_eq!(GcRootCounts::of(&mut store).lifo, base);

    // Calling the host function from the host: its result is rooted in the
    // caller's scope and outlives the call.
    let make = instance.get_typed_func::<i32, Option<Rooted<AnyRef>>>(&mut store, "make")?;
    let arg = make.call(&mut store, 6)?;
    let mut out = [Val::AnyRef(None)];
    bump.call(&mut store, &[Val::AnyRef(arg)], &mut out)?;
    let Val::AnyRef(Some(result)) = out[0] else {
        panic!("expected a struct");
    };
    assert_eq!(
        result
            .unwrap_struct(&store)?
            .field(&mut store, 0)?
            .unwrap_i32(),
        7
    );
    assert_eq!(GcRootCounts::of(&mut store).lifo, base + 2);
    Ok(())
}

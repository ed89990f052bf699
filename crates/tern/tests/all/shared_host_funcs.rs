//! Host functions whose context is shared: a `Linker` definition is made once
//! and every store it is instantiated into refers to it (each with a funcref of
//! its own), and host calls find their store through the calling instance.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tern::*;

/// The closure of a linker host function is shared by every store, outlives
/// the linker and the `InstancePre` while a store uses it, and is dropped once
/// the last of them is gone.
#[test]
fn linker_host_function_is_shared_by_stores_and_kept_alive_by_them() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "add" (func $add (param i32) (result i32)))
             (func (export "run") (param i32) (result i32) (call $add (local.get 0))))"#,
    )?;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut linker = Linker::<i32>::new(&engine);
    let counter = calls.clone();
    linker.func_wrap("h", "add", move |caller: Caller<'_, i32>, x: i32| {
        counter.fetch_add(1, Ordering::Relaxed);
        x + *caller.data()
    })?;
    let pre = linker.instantiate_pre(&module)?;
    let mut stores = Vec::new();
    for data in [100, 200, 300] {
        let mut store = Store::new(&engine, data);
        let instance = pre.instantiate(&mut store)?;
        let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
        stores.push((store, run));
    }
    drop(pre);
    drop(linker);
    assert!(Arc::strong_count(&calls) > 1, "the stores keep the closure");
    for (i, (store, run)) in stores.iter_mut().enumerate() {
        let data = *store.data();
        assert_eq!(run.call(&mut *store, i as i32)?, data + i as i32);
    }
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    drop(stores);
    assert_eq!(Arc::strong_count(&calls), 1, "the closure is dropped");
    Ok(())
}

/// More host functions than fit in one chunk of a store's funcrefs, each
/// called by wasm and through a table, so every funcref stays where wasm
/// was told it is while more are added.
#[test]
fn many_host_functions_in_one_store() -> Result<()> {
    const N: i32 = 40;
    let engine = Engine::default();
    let mut wat = String::from("(module\n");
    for i in 0..N {
        wat.push_str(&format!(
            "(import \"h\" \"f{i}\" (func $f{i} (result i32)))\n"
        ));
    }
    wat.push_str(&format!(
        "(table (export \"t\") {N} funcref) (elem (i32.const 0)"
    ));
    for i in 0..N {
        wat.push_str(&format!(" $f{i}"));
    }
    wat.push_str(")\n(type $t (func (result i32)))\n");
    wat.push_str("(func (export \"direct\") (result i32) (i32.const 0)");
    for i in 0..N {
        wat.push_str(&format!(" (call $f{i}) (i32.add)"));
    }
    wat.push_str(")\n(func (export \"indirect\") (param i32) (result i32)");
    wat.push_str(" (call_indirect (type $t) (local.get 0))))");
    let module = Module::new(&engine, &wat)?;
    let mut store = Store::new(&engine, ());
    // Defined before any module brings the trampoline: they wait for it.
    let early: Vec<Extern> = (0..N / 2)
        .map(|i| Func::wrap(&mut store, move || i * i).into())
        .collect();
    let first = Instance::new(&mut store, &Module::new(&engine, "(module)")?, &[])?;
    assert!(first.exports(&mut store).next().is_none());
    let mut imports = early;
    let mut linker = Linker::<()>::new(&engine);
    for i in N / 2..N {
        linker.func_wrap("h", &format!("f{i}"), move || i * i)?;
        imports.push(
            linker
                .get(&mut store, "h", &format!("f{i}"))
                .expect("defined"),
        );
    }
    let instance = Instance::new(&mut store, &module, &imports)?;
    let direct = instance.get_typed_func::<(), i32>(&mut store, "direct")?;
    assert_eq!(
        direct.call(&mut store, ())?,
        (0..N).map(|i| i * i).sum::<i32>()
    );
    let indirect = instance.get_typed_func::<i32, i32>(&mut store, "indirect")?;
    for i in 0..N {
        assert_eq!(indirect.call(&mut store, i)?, i * i);
    }
    // A funcref read back from the table is the very function imported.
    let table = instance.get_table(&mut store, "t").expect("exported");
    for (i, import) in imports.iter().enumerate() {
        let Some(Val::FuncRef(Some(f))) = table.get(&mut store, i as u32) else {
            panic!("element {i} is not a function");
        };
        assert_eq!(Some(f), import.clone().into_func(), "element {i}");
    }
    Ok(())
}

/// A host function of store A calls wasm of store B, whose host function
/// runs with B's data; back in A, the host function still sees A's.
#[test]
fn nested_entries_into_another_store_find_their_own_store() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "f" (func $f (result i32)))
             (func (export "run") (result i32) (call $f)))"#,
    )?;
    let mut store_b = Store::new(&engine, 7);
    let inner = Func::wrap(&mut store_b, |caller: Caller<'_, i32>| *caller.data());
    let instance_b = Instance::new(&mut store_b, &module, &[inner.into()])?;
    let run_b = instance_b.get_typed_func::<(), i32>(&mut store_b, "run")?;
    let store_b = std::sync::Mutex::new(store_b);

    let mut store_a = Store::new(&engine, 1000);
    let outer = Func::wrap(
        &mut store_a,
        move |caller: Caller<'_, i32>| -> Result<i32> {
            let mut b = store_b.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let from_b = run_b.call(&mut *b, ())?;
            Ok(*caller.data() + from_b)
        },
    );
    let instance_a = Instance::new(&mut store_a, &module, &[outer.into()])?;
    let run_a = instance_a.get_typed_func::<(), i32>(&mut store_a, "run")?;
    assert_eq!(run_a.call(&mut store_a, ())?, 1007);
    Ok(())
}

/// One `InstancePre` with more imports than it gathers without allocating and
/// more host functions than one funcref chunk holds, instantiated twice in one
/// store after a host function of the store's own: every list of host
/// functions, owners and types grows past its first inline entry, and every
/// function still has its own funcref, type and result.
#[test]
fn instance_pre_with_many_host_imports_instantiated_twice_in_one_store() -> Result<()> {
    const N: i32 = 40;
    let engine = Engine::default();
    let mut wat = String::from("(module\n");
    for i in 0..N {
        wat.push_str(&format!(
            "(import \"h\" \"f{i}\" (func $f{i} (param i32) (result i32)))\n"
        ));
    }
    wat.push_str(&format!(
        "(table (export \"t\") {N} funcref) (elem (i32.const 0)"
    ));
    for i in 0..N {
        wat.push_str(&format!(" $f{i}"));
    }
    wat.push_str(")\n(func (export \"direct\") (param i32) (result i32) (i32.const 0)");
    for i in 0..N {
        wat.push_str(&format!(" (call $f{i} (local.get 0)) (i32.add)"));
    }
    wat.push_str("))");
    let module = Module::new(&engine, &wat)?;
    let mut linker = Linker::<i32>::new(&engine);
    for i in 0..N {
        linker.func_wrap(
            "h",
            &format!("f{i}"),
            move |caller: Caller<'_, i32>, x: i32| x * i + *caller.data(),
        )?;
    }
    let pre = linker.instantiate_pre(&module)?;
    let mut store = Store::new(&engine, 7);
    let own = Func::wrap(&mut store, |x: i64| x);
    let a = pre.instantiate(&mut store)?;
    let b = pre.instantiate(&mut store)?;
    let expected = |x: i32| (0..N).map(|i| x * i + 7).sum::<i32>();
    for (instance, x) in [(a, 3), (b, 5)] {
        let direct = instance.get_typed_func::<i32, i32>(&mut store, "direct")?;
        assert_eq!(direct.call(&mut store, x)?, expected(x));
    }
    // The two instances' host functions are distinct functions of the store,
    // each with the imported type.
    let ta = a.get_table(&mut store, "t").expect("exported");
    let tb = b.get_table(&mut store, "t").expect("exported");
    for i in 0..N as u32 {
        let (Some(Val::FuncRef(Some(fa))), Some(Val::FuncRef(Some(fb)))) =
            (ta.get(&mut store, i), tb.get(&mut store, i))
        else {
            panic!("element {i} is not a function");
        };
        assert_ne!(fa, fb, "element {i}");
        for f in [fa, fb] {
            let ty = f.ty(&store);
            assert_eq!(ty.params().collect::<Vec<_>>(), [ValType::I32]);
            assert_eq!(ty.results().collect::<Vec<_>>(), [ValType::I32]);
            let typed = f.typed::<i32, i32>(&store)?;
            assert_eq!(typed.call(&mut store, 2)?, 2 * i as i32 + 7);
        }
    }
    assert_eq!(own.typed::<i64, i64>(&store)?.call(&mut store, 9)?, 9);
    Ok(())
}

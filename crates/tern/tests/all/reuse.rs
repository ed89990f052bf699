//! The on-demand allocator keeps a few released mappings (static memories'
//! reservations, large vmctxs) and hands them to later instances of the same
//! engine. What must hold: an instance on a reused mapping is
//! indistinguishable from one on a fresh mapping — its memory is zero (or
//! exactly its own image), exactly its own size, with everything past that
//! still faulting; its globals hold their initial values; its functions,
//! exports and table elements are its own. Each test runs more rounds than the
//! cache keeps, so both reused and fresh mappings are seen.

use tern::*;

/// Rounds per test: more than the cache keeps of each kind (16).
const ROUNDS: usize = 40;

const MEMORY: &str = r#"(module (memory (export "mem") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "size") (result i32) (memory.size))
    (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;

/// A memory that grew and was written, dropped, then reused by a new instance:
/// zero, one page, and its old second and third pages fault again.
#[test]
fn reused_memory_is_zero_and_exactly_its_size() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, MEMORY)?;
    let addresses = [0, 4095, 4096, 65535];
    for round in 0..ROUNDS {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
        let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
        let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
        let put = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;
        assert_eq!(size.call(&mut store, ())?, 1, "round {round}");
        for a in addresses {
            assert_eq!(load.call(&mut store, a)?, 0, "round {round}, byte {a}");
        }
        for beyond in [65536, 2 * 65536 + 7, 3 * 65536 - 1] {
            let err = load.call(&mut store, beyond).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::MemoryOutOfBounds),
                "round {round}, byte {beyond}"
            );
        }
        // Leave the memory larger and dirty for the next round.
        assert_eq!(grow.call(&mut store, 2)?, 1);
        for a in addresses.into_iter().chain([65536, 2 * 65536 + 7]) {
            put.call(&mut store, (a, 0xab))?;
        }
        assert_eq!(load.call(&mut store, 2 * 65536 + 7)?, 0xab);
    }
    Ok(())
}

/// A reservation that held a copy-on-write image, reused by a module without
/// data, reads zeros; the imaged module, instantiated again, reads its image
/// and not an earlier instance's writes. Several stores live at once.
#[test]
fn reused_memory_after_an_image_is_fresh() -> Result<()> {
    let engine = Engine::default();
    let plain = Module::new(&engine, MEMORY)?;
    let imaged = Module::new(
        &engine,
        r#"(module (memory (export "mem") 1)
            (data (i32.const 0) "\01\02\03\04")
            (data (i32.const 8192) "image")
            (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    )?;
    for round in 0..ROUNDS {
        let mut stores = Vec::new();
        for (k, module) in [&imaged, &plain, &imaged].into_iter().enumerate() {
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, module, &[])?;
            let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
            let put = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;
            let expected: [(i32, i32); 3] = if k == 1 {
                [(0, 0), (3, 0), (8192, 0)]
            } else {
                [(0, 1), (3, 4), (8192, i32::from(b'i'))]
            };
            for (a, v) in expected {
                assert_eq!(
                    load.call(&mut store, a)?,
                    v,
                    "round {round}, module {k}, byte {a}"
                );
            }
            put.call(&mut store, (0, 0x5a))?;
            put.call(&mut store, (8192, 0x5a))?;
            put.call(&mut store, (60_000, 0x5a))?;
            assert_eq!(load.call(&mut store, 60_000)?, 0x5a);
            stores.push(store);
        }
        // Dropped in an order that mixes the two kinds in the cache.
        stores.swap(0, 1);
    }
    Ok(())
}

/// A module of `n` functions (each returning its index) with a mutable global
/// initialised to `init`, a table holding two of them, and exports to read
/// and write the global and to call through the table: its vmctx is larger
/// than the 64 KiB from which a vmctx is mapped.
fn many_functions(n: usize, init: i32) -> String {
    let mut wat = format!(
        "(module (global $g (export \"g\") (mut i32) (i32.const {init}))
           (type $t (func (result i32)))
           (table (export \"t\") 2 funcref)
           (elem (i32.const 0) $f1 $f{last})
           (func (export \"get\") (result i32) (global.get $g))
           (func (export \"set\") (param i32) (global.set $g (local.get 0)))
           (func (export \"indirect\") (param i32) (result i32)
             (call_indirect (type $t) (local.get 0)))\n",
        last = n - 1
    );
    for i in 0..n {
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (result i32) (i32.const {i}))\n"
        ));
    }
    wat.push(')');
    wat
}

/// Instances of two modules with vmctxs of the same size take each other's
/// released vmctx: each sees its own global's initial value, its own
/// functions through exports and through its table, whatever the instance
/// before it wrote or filled.
#[test]
fn reused_vmctx_starts_as_a_new_one() -> Result<()> {
    const N: usize = 4000;
    let engine = Engine::default();
    let a = Module::new(&engine, many_functions(N, 5))?;
    let b = Module::new(&engine, many_functions(N, 7))?;
    for round in 0..ROUNDS {
        let (module, init) = if round % 3 == 2 { (&b, 7) } else { (&a, 5) };
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, module, &[])?;
        let get = instance.get_typed_func::<(), i32>(&mut store, "get")?;
        let set = instance.get_typed_func::<i32, ()>(&mut store, "set")?;
        let indirect = instance.get_typed_func::<i32, i32>(&mut store, "indirect")?;
        assert_eq!(get.call(&mut store, ())?, init, "round {round}");
        assert_eq!(indirect.call(&mut store, 0)?, 1, "round {round}");
        assert_eq!(indirect.call(&mut store, 1)?, N as i32 - 1, "round {round}");
        // Fill a different set of funcrefs each round, and dirty the global.
        for i in [round, round * 97 % N, N - 1 - round] {
            let f = instance.get_typed_func::<(), i32>(&mut store, &format!("f{i}"))?;
            assert_eq!(f.call(&mut store, ())?, i as i32, "round {round}");
        }
        set.call(&mut store, -1)?;
        assert_eq!(get.call(&mut store, ())?, -1);
        let t = instance.get_table(&mut store, "t").expect("table");
        let first = t
            .get(&mut store, 0)
            .and_then(|r| r.funcref().flatten().copied());
        let first = first.expect("element 0 is a function");
        assert_eq!(first.typed::<(), i32>(&store)?.call(&mut store, ())?, 1);
    }
    Ok(())
}

/// An `InstancePre` whose imports mix host functions and an item of a store,
/// made with a linker of another engine than the module's: every store gets
/// working host functions with the module engine's signatures, and the
/// closures live as long as the last store using them.
#[test]
fn instance_pre_host_list_across_stores_and_engines() -> Result<()> {
    let engine = Engine::default();
    let other = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "a" (func $a (param i32) (result i32)))
            (import "h" "g" (global $g i32))
            (import "h" "b" (func $b (param i64) (result i64)))
            (func (export "run") (param i32) (result i32)
              (i32.add (call $a (local.get 0))
                (i32.add (global.get $g)
                  (i32.wrap_i64 (call $b (i64.extend_i32_u (local.get 0))))))))"#,
    )?;
    let alive = std::sync::Arc::new(());
    let mut linker = Linker::<i32>::new(&other);
    let keep = alive.clone();
    linker.func_wrap("h", "a", move |c: Caller<'_, i32>, x: i32| {
        let _ = &keep;
        x + *c.data()
    })?;
    linker.func_wrap("h", "b", |x: i64| x * 2)?;
    let mut stores = Vec::new();
    for data in [1, 20, 300] {
        let mut store = Store::new(&engine, data);
        let g = Global::new(
            &mut store,
            GlobalType::new(ValType::I32, Mutability::Const),
            Val::I32(1000),
        )?;
        let mut linker = linker.clone();
        linker.define(&store, "h", "g", g)?;
        let pre = linker.instantiate_pre(&module)?;
        let instance = pre.instantiate(&mut store)?;
        let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
        stores.push((store, run));
    }
    drop(linker);
    for (store, run) in &mut stores {
        let data = *store.data();
        // a(x) + g + b(x) = (x + data) + 1000 + 2x
        assert_eq!(run.call(&mut *store, 5)?, 5 + data + 1000 + 10);
    }
    assert!(std::sync::Arc::strong_count(&alive) > 1);
    drop(stores);
    assert_eq!(std::sync::Arc::strong_count(&alive), 1, "closures dropped");
    Ok(())
}

//! The pooling allocator (`InstanceAllocationStrategy::Pooling`) and lazily
//! filled funcrefs: a reused slot starts exactly as a fresh one (memory zeroed
//! or re-imaged, tables null), limits are enforced with errors naming them, and
//! funcrefs handed out before and after first use behave the same.

use tern::*;

fn pooled_engine(configure: impl FnOnce(&mut PoolingAllocationConfig)) -> Engine {
    let mut pool = PoolingAllocationConfig::default();
    configure(&mut pool);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).unwrap()
}

/// A memory with a data segment, a table, and accessors for both.
const STATEFUL: &str = r#"(module
    (memory (export "mem") 2 4)
    (data (i32.const 100) "\2a")
    (table (export "t") 4 funcref)
    (func $seven (result i32) (i32.const 7))
    (elem declare func $seven)
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "set") (param i32) (table.set (local.get 0) (ref.func $seven)))
    (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get (local.get 0))))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

#[test]
fn reused_slots_start_fresh() {
    for keep_resident in [0, 65536] {
        let engine = pooled_engine(|p| {
            p.total_core_instances(1)
                .total_memories(1)
                .total_tables(1)
                .linear_memory_keep_resident(keep_resident);
        });
        let module = Module::new(&engine, STATEFUL).unwrap();
        for round in 0..5 {
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &module, &[]).unwrap();
            let load = i.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
            let store8 = i
                .get_typed_func::<(i32, i32), ()>(&mut store, "store")
                .unwrap();
            let set = i.get_typed_func::<i32, ()>(&mut store, "set").unwrap();
            let is_null = i.get_typed_func::<i32, i32>(&mut store, "is_null").unwrap();
            let grow = i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
            // What the previous round wrote is gone; the data segment is back.
            assert_eq!(load.call(&mut store, 100).unwrap(), 42, "round {round}");
            assert_eq!(load.call(&mut store, 5).unwrap(), 0, "round {round}");
            assert_eq!(load.call(&mut store, 70_000).unwrap(), 0, "round {round}");
            assert_eq!(is_null.call(&mut store, 1).unwrap(), 1, "round {round}");
            let mem = i.get_memory(&mut store, "mem").unwrap();
            assert_eq!(mem.size(&store), 2, "round {round}");
            // The page the previous round grew into is out of bounds again.
            let err = load.call(&mut store, 2 * 65536 + 5).unwrap_err();
            assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
            // Dirty everything for the next round: memory, table, size.
            store8.call(&mut store, (100, 1)).unwrap();
            store8.call(&mut store, (5, 9)).unwrap();
            store8.call(&mut store, (70_000, 9)).unwrap();
            set.call(&mut store, 1).unwrap();
            assert_eq!(grow.call(&mut store, 1).unwrap(), 2);
            store8.call(&mut store, (3 * 65536 - 1, 9)).unwrap();
        }
    }
}

#[test]
fn a_full_pool_refuses_with_the_limit_named_and_recovers() {
    let engine = pooled_engine(|p| {
        p.total_core_instances(2);
    });
    let module = Module::new(&engine, "(module)").unwrap();
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &module, &[]).unwrap();
    Instance::new(&mut store, &module, &[]).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(
        format!("{err:#}").contains("total_core_instances"),
        "{err:#}"
    );
    drop(store);
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &module, &[]).unwrap();

    let engine = pooled_engine(|p| {
        p.total_memories(1);
    });
    let module = Module::new(&engine, "(module (memory 1))").unwrap();
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &module, &[]).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("total_memories"), "{err:#}");

    let engine = pooled_engine(|p| {
        p.total_tables(1);
    });
    let module = Module::new(&engine, "(module (table 1 funcref))").unwrap();
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &module, &[]).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("total_tables"), "{err:#}");
}

#[test]
fn modules_too_large_for_the_pool_are_refused_naming_the_limit() {
    let engine = pooled_engine(|p| {
        p.max_memory_size(4 * 65536)
            .table_elements(10)
            .max_core_instance_size(4096);
    });
    let cases = [
        ("(module (memory 5))", "max_memory_size"),
        ("(module (table 11 funcref))", "table_elements"),
        ("(module (memory 1) (memory 1))", "max_memories_per_module"),
        ("(module (table 1 funcref) (table 1 funcref))", "max_tables_per_module"),
        ("(module (global i32 (i32.const 0)) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func) (func))", "max_core_instance_size"),
    ];
    for (wat, limit) in cases {
        let err = Module::new(&engine, wat).unwrap_err();
        assert!(format!("{err:#}").contains(limit), "{wat}: {err:#}");
    }
    // Within the limits, growing past `max_memory_size` fails like any
    // failed `memory.grow`.
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 3).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
}

#[test]
fn wasmtime12_pool_names_still_compile_and_apply() {
    let mut pool = PoolingAllocationConfig::default();
    pool.instance_count(1)
        .instance_memories(1)
        .instance_tables(1)
        .instance_memory_pages(2)
        .instance_table_elements(5)
        .instance_size(1 << 20)
        .table_keep_resident(0);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, "(module (memory 3))").unwrap_err();
    assert!(format!("{err:#}").contains("max_memory_size"), "{err:#}");
    let module = Module::new(&engine, "(module (memory 2))").unwrap();
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &module, &[]).unwrap();
    assert!(Instance::new(&mut store, &module, &[]).is_err());
}

#[test]
fn many_drop_and_reuse_cycles_of_a_module_with_an_image() {
    let engine = pooled_engine(|p| {
        p.total_core_instances(3).total_memories(3);
    });
    // A page-aligned data segment large enough to be mapped as an image.
    let wat = format!(
        r#"(module (memory 2) (data (i32.const 65536) "{}")
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#,
        "\\05".repeat(65536)
    );
    let module = Module::new(&engine, &wat).unwrap();
    for round in 0..100 {
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let load = i.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
        let store8 = i
            .get_typed_func::<(i32, i32), ()>(&mut store, "store")
            .unwrap();
        assert_eq!(
            load.call(&mut store, 65536 + 77).unwrap(),
            5,
            "round {round}"
        );
        assert_eq!(load.call(&mut store, 77).unwrap(), 0, "round {round}");
        store8.call(&mut store, (65536 + 77, 200)).unwrap();
        store8.call(&mut store, (77, 200)).unwrap();
    }
}

#[test]
fn funcrefs_filled_on_first_use_behave_alike() {
    // `$f` is exported and taken by `ref.func` in a body, but in no element
    // segment: its funcref is filled by whichever comes first.
    let wat = r#"(module
        (global $g (mut i32) (i32.const 0))
        (table 1 funcref)
        (func $f (export "f") (result i32) (global.get $g))
        (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1))))
        (func (export "via_table") (result i32)
            (table.set (i32.const 0) (ref.func $f))
            (call_indirect (result i32) (i32.const 0))))"#;
    for pooled in [false, true] {
        let engine = if pooled {
            pooled_engine(|_| {})
        } else {
            Engine::default()
        };
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let a = Instance::new(&mut store, &module, &[]).unwrap();
        let b = Instance::new(&mut store, &module, &[]).unwrap();
        let bump_b = b.get_typed_func::<(), ()>(&mut store, "bump").unwrap();
        bump_b.call(&mut store, ()).unwrap();
        // `ref.func` first in `a`, export first in `b`: each reaches its own instance.
        let via_a = a
            .get_typed_func::<(), i32>(&mut store, "via_table")
            .unwrap();
        assert_eq!(via_a.call(&mut store, ()).unwrap(), 0);
        let f_b = b.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        assert_eq!(f_b.call(&mut store, ()).unwrap(), 1);
        let via_b = b
            .get_typed_func::<(), i32>(&mut store, "via_table")
            .unwrap();
        assert_eq!(via_b.call(&mut store, ()).unwrap(), 1);
        let f_a = a.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        assert_eq!(f_a.call(&mut store, ()).unwrap(), 0);
        // Asking again gives the same function.
        let again = a.get_export(&mut store, "f").unwrap().into_func().unwrap();
        assert_eq!(
            again
                .typed::<(), i32>(&store)
                .unwrap()
                .call(&mut store, ())
                .unwrap(),
            0
        );
    }
}

//! Table storage under the pooling allocator: a table slot reused by the next
//! instance reads exactly as a fresh table (right size, null or lazily
//! resolved from the new module's image) whatever the previous table wrote,
//! inside or beyond `table_keep_resident`, and however far it grew; growth
//! stays inside the slot; `total_tables` refuses with the limit named and
//! recovers when tables are dropped.
//!
//! Every test uses a pool of one table (and one instance), so each new
//! instance necessarily gets the slot the previous one used.

use tern::*;

/// Elements per table slot in these tests (32 KiB of words).
const SLOT_ELEMENTS: usize = 4096;

/// `table_keep_resident` values: nothing kept (every page discarded), part of
/// the slot kept (1,024 words zeroed in place, the rest discarded), all of it.
const KEEP_RESIDENT: [usize; 3] = [0, 8192, 1 << 20];

fn pooled_engine(keep_resident: usize) -> Engine {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(1)
        .total_tables(1)
        .table_elements(SLOT_ELEMENTS)
        .table_keep_resident(keep_resident);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).unwrap()
}

/// A table of 2,048 `ty` elements (no maximum) with accessors; `$value` is a
/// non-null reference of the element type (`ref.func $f` for funcref, the
/// externref parameter for externref).
fn table_module(ty: &str) -> String {
    let (param, value) = if ty == "funcref" {
        ("", "(ref.func $f)")
    } else {
        ("(param $r externref)", "(local.get $r)")
    };
    format!(
        r#"(module
        (table $t (export "t") 2048 {ty})
        (func $f)
        (elem declare func $f)
        (func (export "set") (param $i i32) {param} (table.set (local.get $i) {value}))
        (func (export "grow_value") (param $n i32) {param} (result i32)
          (table.grow {value} (local.get $n)))
        (func (export "grow_null") (param $n i32) (result i32)
          (table.grow (ref.null {short}) (local.get $n)))
        (func (export "is_null") (param $i i32) (result i32) (ref.is_null (table.get (local.get $i))))
        (func (export "size") (result i32) (table.size)))"#,
        short = if ty == "funcref" { "func" } else { "extern" },
    )
}

/// The non-null argument `set`/`grow_value` take (none for funcref).
fn value_args(ty: &str) -> Vec<Val> {
    if ty == "funcref" {
        Vec::new()
    } else {
        vec![Val::ExternRef(Some(ExternRef::new(7u32)))]
    }
}

fn call(store: &mut Store<()>, i: Instance, name: &str, args: &[Val]) -> Option<i32> {
    let f = i.get_func(&mut *store, name).unwrap();
    let mut results = vec![Val::I32(0); f.ty(&*store).results().len()];
    f.call(&mut *store, args, &mut results).unwrap();
    results.first().and_then(Val::i32)
}

/// Indices a round writes to: in the first page, on both sides of the
/// partial `table_keep_resident` (1,024 words), at the end of the minimum.
const WRITTEN: [i32; 5] = [0, 3, 1023, 1500, 2047];

#[test]
fn a_reused_slot_reads_as_a_fresh_table_whatever_was_written() {
    for ty in ["funcref", "externref"] {
        for keep in KEEP_RESIDENT {
            let engine = pooled_engine(keep);
            let module = Module::new(&engine, table_module(ty)).unwrap();
            let value = value_args(ty);
            for round in 0..4 {
                let what = format!("{ty}, keep_resident {keep}, round {round}");
                let mut store = Store::new(&engine, ());
                let i = Instance::new(&mut store, &module, &[]).unwrap();
                assert_eq!(call(&mut store, i, "size", &[]), Some(2048), "{what}");
                for index in WRITTEN {
                    assert_eq!(
                        call(&mut store, i, "is_null", &[Val::I32(index)]),
                        Some(1),
                        "{what}: element {index}"
                    );
                }
                // Grown with null, the elements past the minimum are null too
                // (for externref nothing is written there: they must be zeros
                // already).
                assert_eq!(
                    call(&mut store, i, "grow_null", &[Val::I32(1024)]),
                    Some(2048),
                    "{what}"
                );
                for index in [2048, 2500, 3071] {
                    assert_eq!(
                        call(&mut store, i, "is_null", &[Val::I32(index)]),
                        Some(1),
                        "{what}: grown element {index}"
                    );
                }
                // Dirty the slot for the next round: inside and beyond the
                // kept part, and up to its very end by growing with a value.
                for index in WRITTEN {
                    let args = [&[Val::I32(index)], &value[..]].concat();
                    call(&mut store, i, "set", &args);
                }
                let args = [&[Val::I32(1024)], &value[..]].concat();
                assert_eq!(call(&mut store, i, "grow_value", &args), Some(3072));
                for index in [0, 1500, 3072, 4095] {
                    assert_eq!(
                        call(&mut store, i, "is_null", &[Val::I32(index)]),
                        Some(0),
                        "{what}: written element {index}"
                    );
                }
                let t = i.get_table(&mut store, "t").unwrap();
                assert_eq!(t.size(&store), SLOT_ELEMENTS as u32, "{what}");
            }
        }
    }
}

#[test]
fn growth_stays_inside_the_slot() {
    let engine = pooled_engine(0);
    // The externref table reuses the funcref table's slot.
    for ty in ["funcref", "externref"] {
        let module = Module::new(&engine, table_module(ty)).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let value = value_args(ty);
        for index in [0, 2047] {
            assert_eq!(call(&mut store, i, "is_null", &[Val::I32(index)]), Some(1));
            let args = [&[Val::I32(index)], &value[..]].concat();
            call(&mut store, i, "set", &args);
        }
        let args = [&[Val::I32(2048)], &value[..]].concat();
        assert_eq!(call(&mut store, i, "grow_value", &args), Some(2048), "{ty}");
        // The slot is full: growing by one more fails like any failed grow,
        // from wasm and from the host, and changes nothing.
        assert_eq!(call(&mut store, i, "grow_null", &[Val::I32(1)]), Some(-1));
        let t = i.get_table(&mut store, "t").unwrap();
        let null = if ty == "funcref" {
            Val::FuncRef(None)
        } else {
            Val::ExternRef(None)
        };
        assert!(t.grow(&mut store, 1, null).is_err(), "{ty}");
        assert_eq!(t.size(&store), SLOT_ELEMENTS as u32, "{ty}");
        assert_eq!(call(&mut store, i, "grow_null", &[Val::I32(0)]), Some(4096));
        assert_eq!(call(&mut store, i, "is_null", &[Val::I32(4095)]), Some(0));
    }
}

/// A module of four `() -> i32` functions returning `base + k` for `$f{k}`,
/// whose table of 4 (growable to 8) holds `$f{order[0]}` … `$f{order[3]}`.
/// The unused first type keeps the called type's engine id away from 0,
/// which a zeroed funcref carries.
fn lazy_module(base: i32, order: [usize; 4]) -> String {
    let elems: Vec<String> = order.iter().map(|k| format!("$f{k}")).collect();
    let funcs: String = (0..4)
        .map(|k| format!("(func $f{k} (type $t) (i32.const {}))\n", base + k))
        .collect();
    format!(
        r#"(module
        (type $unused (func (param f64 f64 f64)))
        (type $t (func (result i32)))
        (table 4 8 funcref)
        {funcs}
        (elem (i32.const 0) func {elems})
        (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
        (func (export "set_null") (param i32) (table.set (local.get 0) (ref.null func)))
        (func (export "grow") (param i32) (result i32) (table.grow (ref.func $f0) (local.get 0)))
        (func (export "size") (result i32) (table.size)))"#,
        elems = elems.join(" "),
    )
}

/// `call(index)`, a trap as its text.
fn call_slot(store: &mut Store<()>, i: Instance, index: i32) -> Result<i32, String> {
    let call = i.get_typed_func::<i32, i32>(&mut *store, "call").unwrap();
    call.call(&mut *store, index).map_err(|e| format!("{e:#}"))
}

#[test]
fn lazy_slots_of_a_reused_table_resolve_to_the_new_instances_functions() {
    for keep in KEEP_RESIDENT {
        let engine = pooled_engine(keep);
        let old = Module::new(&engine, lazy_module(10, [0, 1, 2, 3])).unwrap();
        let new = Module::new(&engine, lazy_module(20, [3, 2, 1, 0])).unwrap();
        for round in 0..3 {
            let what = format!("keep_resident {keep}, round {round}");
            // The old instance resolves every slot, nulls one, and grows.
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &old, &[]).unwrap();
            for index in 0..4 {
                assert_eq!(call_slot(&mut store, i, index), Ok(10 + index), "{what}");
            }
            let set_null = i.get_typed_func::<i32, ()>(&mut store, "set_null").unwrap();
            set_null.call(&mut store, 1).unwrap();
            let grow = i.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
            assert_eq!(grow.call(&mut store, 4).unwrap(), 4, "{what}");
            assert_eq!(call_slot(&mut store, i, 7), Ok(10), "{what}");
            drop(store);

            // The new instance, in the same slot, sees its own image only.
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &new, &[]).unwrap();
            let size = i.get_typed_func::<(), i32>(&mut store, "size").unwrap();
            assert_eq!(size.call(&mut store, ()).unwrap(), 4, "{what}");
            for index in 0..4 {
                assert_eq!(
                    call_slot(&mut store, i, index),
                    Ok(23 - index),
                    "{what}: slot {index}"
                );
            }
            assert!(call_slot(&mut store, i, 7).is_err(), "{what}");
            drop(store);
        }
    }
}

#[test]
fn total_tables_refuses_naming_the_limit_and_recovers() {
    let mut pool = PoolingAllocationConfig::default();
    // Slots reset by zeroing in place only.
    pool.total_tables(3)
        .max_tables_per_module(2)
        .table_keep_resident(1 << 20);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (table $a (export "a") 10 externref) (table $b (export "b") 10 externref)
            (func (export "null_a") (param i32) (result i32) (ref.is_null (table.get $a (local.get 0))))
            (func (export "null_b") (param i32) (result i32) (ref.is_null (table.get $b (local.get 0)))))"#,
    )
    .unwrap();
    for round in 0..3 {
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        for name in ["a", "b"] {
            // (The host's `Table::get` would read a stale word of another
            // store as null; wasm's `ref.is_null` sees the word itself.)
            let is_null = i
                .get_typed_func::<i32, i32>(&mut store, &format!("null_{name}"))
                .unwrap();
            assert_eq!(
                is_null.call(&mut store, 5).unwrap(),
                1,
                "round {round}: {name}[5]"
            );
            let t = i.get_table(&mut store, name).unwrap();
            t.set(&mut store, 5, Val::ExternRef(Some(ExternRef::new(round))))
                .unwrap();
        }
        // The second instance gets one table slot, then finds none.
        let err = Instance::new(&mut store, &module, &[]).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("total_tables") && text.contains("limit of 3"),
            "round {round}: {text}"
        );
        // Dropping the store gives back all three slots, the one taken by
        // the failed instantiation included: the next round succeeds again.
    }
}

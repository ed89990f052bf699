//! Lazily initialised funcref tables: a defined table whose element segments
//! are known at compile time starts uninitialised and resolves each slot on
//! first use. Whatever reads a slot first — `table.get`, `call_indirect`,
//! `table.copy`, the host's `Table` API, another instance importing the table —
//! and in whatever order, every observer sees exactly what eager
//! initialisation would have written, with the same funcref identity.
#![allow(
    unsafe_code,
    reason = "one test loads its module back with the unsafe `Module::deserialize`"
)]

use tern::*;

/// Table `t` of 10 slots: 2 = $a, 3 = $b, 4 = $a, 5 = null (an expression
/// segment), 7 = $c (of another type); the rest null. `get`/`call`/`set`/
/// `copy`/`fill`/`grow`/`size` expose the table operations.
const LAZY: &str = r#"(module
    (type $t (func (result i32)))
    (type $u (func (param i32) (result i32)))
    (table $t0 (export "t") 10 funcref)
    (func $a (export "a") (type $t) (i32.const 11))
    (func $b (export "b") (type $t) (i32.const 22))
    (func $c (type $u) (local.get 0))
    (elem (i32.const 2) func $a $b $a)
    (elem (table $t0) (i32.const 5) funcref (ref.null func))
    (elem (i32.const 7) func $c)
    (func (export "get") (param i32) (result funcref) (table.get (local.get 0)))
    (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get (local.get 0))))
    (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
    (func (export "set_b") (param i32) (table.set (local.get 0) (ref.func $b)))
    (func (export "set_null") (param i32) (table.set (local.get 0) (ref.null func)))
    (func (export "copy") (param i32 i32 i32)
      (table.copy (local.get 0) (local.get 1) (local.get 2)))
    (func (export "fill_a") (param i32 i32) (table.fill (local.get 0) (ref.func $a) (local.get 1)))
    (func (export "grow_b") (param i32) (result i32) (table.grow (ref.func $b) (local.get 0)))
    (func (export "grow_null") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#;

/// What eager initialisation writes into `LAZY`'s table: the result of calling
/// each slot, `None` for null, `Some(-1)` for `$c` (wrong type).
const EXPECTED: [Option<i32>; 10] = [
    None,
    None,
    Some(11),
    Some(22),
    Some(11),
    None,
    None,
    Some(-1),
    None,
    None,
];

fn instantiate(store: &mut Store<()>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    Instance::new(store, &module, &[]).unwrap()
}

fn trap_of(err: &anyhow::Error) -> Option<Trap> {
    err.downcast_ref::<Trap>().copied()
}

/// Asserts that calling each slot `i` through `call` gives `expected[i]`.
fn assert_slots(store: &mut Store<()>, instance: Instance, expected: &[Option<i32>]) {
    for (i, e) in expected.iter().enumerate() {
        assert_eq!(call_slot(store, instance, i as i32), *e, "slot {i}");
    }
}

/// Calls `call(i)` and maps a null trap to `None`, a signature trap to `Some(-1)`.
fn call_slot(store: &mut Store<()>, instance: Instance, i: i32) -> Option<i32> {
    let call = instance
        .get_typed_func::<i32, i32>(&mut *store, "call")
        .unwrap();
    match call.call(&mut *store, i) {
        Ok(v) => Some(v),
        Err(e) => match trap_of(&e) {
            Some(Trap::IndirectCallToNull) => None,
            Some(Trap::BadSignature) => Some(-1),
            other => panic!("slot {i}: unexpected error {e:?} ({other:?})"),
        },
    }
}

fn is_null(store: &mut Store<()>, instance: Instance, i: i32) -> i32 {
    let f = instance
        .get_typed_func::<i32, i32>(&mut *store, "is_null")
        .unwrap();
    f.call(&mut *store, i).unwrap()
}

/// The host's view of slot `i`: `Some(None)` for null.
fn host_get(store: &mut Store<()>, table: Table, i: u32) -> Option<Option<Func>> {
    match table.get(&mut *store, i)? {
        Val::FuncRef(f) => Some(f),
        other => panic!("a funcref table gave {other:?}"),
    }
}

#[test]
fn call_indirect_and_table_get_see_the_segments() {
    let engine = Engine::default();
    // Called first, then read: every slot resolves through `call_indirect`.
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    for (i, expected) in EXPECTED.iter().enumerate() {
        assert_eq!(
            call_slot(&mut store, instance, i as i32),
            *expected,
            "slot {i}"
        );
    }
    for (i, expected) in EXPECTED.iter().enumerate() {
        let null = i32::from(expected.is_none());
        assert_eq!(is_null(&mut store, instance, i as i32), null, "slot {i}");
    }
    // Read first, then called: every slot resolves through `table.get`.
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    for (i, expected) in EXPECTED.iter().enumerate() {
        let null = i32::from(expected.is_none());
        assert_eq!(is_null(&mut store, instance, i as i32), null, "slot {i}");
    }
    for (i, expected) in EXPECTED.iter().enumerate() {
        assert_eq!(
            call_slot(&mut store, instance, i as i32),
            *expected,
            "slot {i}"
        );
    }
    // Out of bounds still traps, before any slot is resolved.
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    let call = instance
        .get_typed_func::<i32, i32>(&mut store, "call")
        .unwrap();
    let err = call.call(&mut store, 10).unwrap_err();
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
    let get = instance
        .get_typed_func::<i32, Option<Func>>(&mut store, "get")
        .unwrap();
    let err = get.call(&mut store, -1).unwrap_err();
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
}

#[test]
fn funcref_identity_does_not_depend_on_when_a_slot_was_resolved() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    let table = instance.get_table(&mut store, "t").unwrap();
    let a = instance.get_func(&mut store, "a").unwrap();
    let b = instance.get_func(&mut store, "b").unwrap();
    // Slot 2 read by the host, slot 4 by wasm, both `$a`.
    assert_eq!(host_get(&mut store, table, 2), Some(Some(a)));
    let get = instance
        .get_typed_func::<i32, Option<Func>>(&mut store, "get")
        .unwrap();
    assert_eq!(get.call(&mut store, 4).unwrap(), Some(a));
    assert_eq!(get.call(&mut store, 3).unwrap(), Some(b));
    assert_eq!(host_get(&mut store, table, 3), Some(Some(b)));
    assert_eq!(host_get(&mut store, table, 5), Some(None));
    assert_eq!(host_get(&mut store, table, 9), Some(None));
    assert_eq!(host_get(&mut store, table, 10), None);
    // A funcref from a slot calls the right function.
    let f = host_get(&mut store, table, 4).unwrap().unwrap();
    let f = f.typed::<(), i32>(&store).unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 11);
}

#[test]
fn table_operations_over_uninitialised_slots() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    let copy = instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut store, "copy")
        .unwrap();
    // Slots 2..5 (a b a), never read, copied over 6..9 (overlapping 5..8 is
    // not needed: a plain forward copy of uninitialised slots).
    copy.call(&mut store, (6, 2, 3)).unwrap();
    // An overlapping copy within the table, also of uninitialised slots: 1..4
    // (null a b) moved one up to 2..5.
    copy.call(&mut store, (2, 1, 3)).unwrap();
    let expected = [
        None,
        None,
        None,
        Some(11),
        Some(22),
        None,
        Some(11),
        Some(22),
        Some(11),
        None,
    ];
    assert_slots(&mut store, instance, &expected);
    // Out of bounds copies trap and change nothing.
    let err = copy.call(&mut store, (8, 0, 3)).unwrap_err();
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
    assert_eq!(call_slot(&mut store, instance, 8), Some(11));

    // Fill over a mix of uninitialised and initialised slots, then set.
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    let fill = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "fill_a")
        .unwrap();
    assert_eq!(call_slot(&mut store, instance, 3), Some(22));
    fill.call(&mut store, (3, 3)).unwrap();
    let err = fill.call(&mut store, (9, 2)).unwrap_err();
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
    let set_b = instance
        .get_typed_func::<i32, ()>(&mut store, "set_b")
        .unwrap();
    let set_null = instance
        .get_typed_func::<i32, ()>(&mut store, "set_null")
        .unwrap();
    set_b.call(&mut store, 0).unwrap();
    set_null.call(&mut store, 2).unwrap();
    let expected = [
        Some(22),
        None,
        None,
        Some(11),
        Some(11),
        Some(11),
        None,
        Some(-1),
        None,
        None,
    ];
    assert_slots(&mut store, instance, &expected);

    // Grow: the new slots hold the given value, the old ones keep theirs.
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    let grow_b = instance
        .get_typed_func::<i32, i32>(&mut store, "grow_b")
        .unwrap();
    let grow_null = instance
        .get_typed_func::<i32, i32>(&mut store, "grow_null")
        .unwrap();
    assert_eq!(grow_b.call(&mut store, 2).unwrap(), 10);
    assert_eq!(grow_null.call(&mut store, 1).unwrap(), 12);
    let mut expected = EXPECTED.to_vec();
    expected.extend([Some(22), Some(22), None]);
    assert_slots(&mut store, instance, &expected);
}

#[test]
fn the_host_api_over_uninitialised_slots() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, LAZY);
    let table = instance.get_table(&mut store, "t").unwrap();
    let a = instance.get_func(&mut store, "a").unwrap();
    let b = instance.get_func(&mut store, "b").unwrap();
    assert_eq!(table.size(&store), 10);
    // Host copy of never-read slots 2..5 to 7..10.
    Table::copy(&mut store, &table, 7u32, &table, 2u32, 3u32).unwrap();
    assert!(Table::copy(&mut store, &table, 8u32, &table, 0u32, 3u32).is_err());
    // A host-created table, copied into from the lazy one.
    let ty = TableType::new(ValType::FuncRef, 4, None);
    let other = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
    Table::copy(&mut store, &other, 0u32, &table, 1u32, 4u32).unwrap();
    assert_eq!(host_get(&mut store, other, 0), Some(None));
    assert_eq!(host_get(&mut store, other, 1), Some(Some(a)));
    assert_eq!(host_get(&mut store, other, 2), Some(Some(b)));
    assert_eq!(host_get(&mut store, other, 3), Some(Some(a)));
    // Host fill, set and grow.
    table
        .fill(&mut store, 0u32, Val::FuncRef(Some(b)), 2u32)
        .unwrap();
    table.set(&mut store, 4u32, Val::FuncRef(None)).unwrap();
    assert_eq!(
        table.grow(&mut store, 1u32, Val::FuncRef(Some(a))).unwrap(),
        10
    );
    let expected = [
        Some(22),
        Some(22),
        Some(11),
        Some(22),
        None,
        None,
        None,
        Some(11),
        Some(22),
        Some(11),
        Some(11),
    ];
    assert_slots(&mut store, instance, &expected);
}

#[test]
fn an_exported_table_read_from_another_instance() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let lazy = instantiate(&mut store, LAZY);
    let table = lazy.get_table(&mut store, "t").unwrap();
    let reader = Module::new(
        &engine,
        r#"(module
            (type $t (func (result i32)))
            (import "m" "t" (table 10 funcref))
            (table $own 4 funcref)
            (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
            (func (export "get") (param i32) (result funcref) (table.get (local.get 0)))
            (func (export "copy_in") (table.copy $own 0 (i32.const 0) (i32.const 2) (i32.const 4)))
            (func (export "call_own") (param i32) (result i32)
              (call_indirect $own (type $t) (local.get 0))))"#,
    )
    .unwrap();
    let other = Instance::new(&mut store, &reader, &[table.into()]).unwrap();
    // The importer resolves the exporter's slots with the exporter's funcrefs.
    for (i, expected) in EXPECTED.iter().enumerate() {
        assert_eq!(
            call_slot(&mut store, other, i as i32),
            *expected,
            "slot {i}"
        );
    }
    let a = lazy.get_func(&mut store, "a").unwrap();
    let get = other
        .get_typed_func::<i32, Option<Func>>(&mut store, "get")
        .unwrap();
    assert_eq!(get.call(&mut store, 4).unwrap(), Some(a));
    // Copying never-read slots of the imported table into the importer's own.
    let mut store = Store::new(&engine, ());
    let lazy = instantiate(&mut store, LAZY);
    let table = lazy.get_table(&mut store, "t").unwrap();
    let other = Instance::new(&mut store, &reader, &[table.into()]).unwrap();
    let copy_in = other
        .get_typed_func::<(), ()>(&mut store, "copy_in")
        .unwrap();
    copy_in.call(&mut store, ()).unwrap();
    let call_own = other
        .get_typed_func::<i32, i32>(&mut store, "call_own")
        .unwrap();
    for (i, e) in [Some(11), Some(22), Some(11), None].iter().enumerate() {
        let got = call_own.call(&mut store, i as i32);
        match e {
            Some(v) => assert_eq!(got.unwrap(), *v, "slot {i}"),
            None => assert_eq!(
                trap_of(&got.unwrap_err()),
                Some(Trap::IndirectCallToNull),
                "slot {i}"
            ),
        }
    }
}

#[test]
fn imported_functions_and_passive_segments() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let host = Func::wrap(&mut store, || 99i32);
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (result i32)))
            (import "h" "f" (func $h (type $t)))
            (table (export "t") 6 funcref)
            (func $a (type $t) (i32.const 11))
            (elem (i32.const 0) func $h $a)
            (elem $p func $a $h)
            (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
            (func (export "init") (table.init $p (i32.const 3) (i32.const 0) (i32.const 2)))
            (func (export "drop") (elem.drop $p)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[host.into()]).unwrap();
    let table = instance.get_table(&mut store, "t").unwrap();
    // The imported function's slot is the host function itself.
    assert_eq!(host_get(&mut store, table, 0), Some(Some(host)));
    assert_eq!(call_slot(&mut store, instance, 0), Some(99));
    assert_eq!(call_slot(&mut store, instance, 1), Some(11));
    let init = instance
        .get_typed_func::<(), ()>(&mut store, "init")
        .unwrap();
    init.call(&mut store, ()).unwrap();
    assert_eq!(call_slot(&mut store, instance, 3), Some(11));
    assert_eq!(call_slot(&mut store, instance, 4), Some(99));
    assert_eq!(call_slot(&mut store, instance, 2), None);
    let drop = instance
        .get_typed_func::<(), ()>(&mut store, "drop")
        .unwrap();
    drop.call(&mut store, ()).unwrap();
    let err = init.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
    assert_eq!(call_slot(&mut store, instance, 3), Some(11));
}

#[test]
fn segments_only_known_at_instantiation_still_apply_eagerly() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (result i32)))
            (import "g" "off" (global i32))
            (table 4 funcref)
            (func $a (type $t) (i32.const 11))
            (elem (i32.const 0) func $a)
            (elem (global.get 0) func $a $a)
            (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
    )
    .unwrap();
    let off = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(2),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[off.into()]).unwrap();
    let expected = [Some(11), None, Some(11), Some(11)];
    assert_slots(&mut store, instance, &expected);
    // A segment that does not fit traps at instantiation.
    let off = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(3),
    )
    .unwrap();
    let err = Instance::new(&mut store, &module, &[off.into()]).unwrap_err();
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
    let too_long = Module::new(
        &engine,
        "(module (table 1 funcref) (func $a) (elem (i32.const 0) func $a $a))",
    )
    .unwrap();
    let err = Instance::new(&mut store, &too_long, &[]).unwrap_err();
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
}

#[test]
fn pooled_instances_and_artifacts_start_from_the_image() {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(4)
        .total_memories(4)
        .total_tables(4);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, LAZY).unwrap();
    for round in 0..3 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        for (i, expected) in EXPECTED.iter().enumerate() {
            let got = call_slot(&mut store, instance, i as i32);
            assert_eq!(got, *expected, "round {round}, slot {i}");
        }
        // Dirty every slot before the pool reuses the instance's slot.
        let fill = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "fill_a")
            .unwrap();
        fill.call(&mut store, (0, 10)).unwrap();
    }
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were just written by `serialize` for this engine.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &loaded, &[]).unwrap();
    for (i, expected) in EXPECTED.iter().enumerate() {
        assert_eq!(
            call_slot(&mut store, instance, i as i32),
            *expected,
            "slot {i}"
        );
    }
}

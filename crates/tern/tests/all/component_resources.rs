//! Component resources through the public API: host-defined resources
//! (typed `Resource<T>` and dynamic `ResourceAny`), guest-defined resources
//! held by the host, destructors running exactly once, every own/borrow rule
//! broken on purpose, per-instantiation resource types, and `ResourceTable`.

use super::component_abi::engine;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tern::component::{
    Component, Linker, Resource, ResourceAny, ResourceTable, ResourceTableError, ResourceType, Val,
};
use tern::Store;

/// A host resource value that counts how often it is dropped.
struct Counted {
    value: u32,
    drops: Arc<AtomicU32>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Host {
    table: ResourceTable,
    /// Values dropped (by `delete` or with the store).
    drops: Arc<AtomicU32>,
    /// Calls of the host destructor.
    dtor_calls: u32,
}

/// A component importing host resource `res` with `new`/`get`, and exporting
/// functions that use it in each way.
const HOST_USER: &str = r#"(component
  (import "host" (instance $h
    (export "res" (type $T (sub resource)))
    (export "new" (func (param "v" u32) (result (own $T))))
    (export "get" (func (param "r" (borrow $T)) (result u32)))
  ))
  (alias export $h "res" (type $T))
  (core func $new (canon lower (func $h "new")))
  (core func $get (canon lower (func $h "get")))
  (core func $drop (canon resource.drop $T))
  (core module $M
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "get" (func $get (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32) (local $h i32) (local $v i32)
      (local.set $h (call $new (local.get 0)))
      (local.set $v (call $get (local.get $h)))
      (local.set $v (i32.add (local.get $v) (call $get (local.get $h))))
      (call $drop (local.get $h))
      (local.get $v))
    (func (export "keep") (param i32) (result i32) (local.get 0))
    (func (export "peek") (param i32) (result i32) (i32.const 7))
    (func (export "peek-drop") (param i32) (result i32)
      (call $drop (local.get 0))
      (i32.const 7))
    (func (export "get-twice") (param i32) (result i32) (local $v i32)
      (local.set $v (i32.add (call $get (local.get 0)) (call $get (local.get 0))))
      (call $drop (local.get 0))
      (local.get $v))
    (func (export "drop-own") (param i32) (call $drop (local.get 0)))
    (func (export "drop-twice") (param i32)
      (call $drop (local.get 0))
      (call $drop (local.get 0)))
  )
  (core instance $m (instantiate $M (with "" (instance
    (export "new" (func $new)) (export "get" (func $get)) (export "drop" (func $drop))))))
  (func (export "run") (param "v" u32) (result u32) (canon lift (core func $m "run")))
  (func (export "keep") (param "r" (own $T)) (result (own $T)) (canon lift (core func $m "keep")))
  (func (export "peek") (param "r" (borrow $T)) (result u32) (canon lift (core func $m "peek")))
  (func (export "peek-drop") (param "r" (borrow $T)) (result u32)
    (canon lift (core func $m "peek-drop")))
  (func (export "get-twice") (param "r" (borrow $T)) (result u32)
    (canon lift (core func $m "get-twice")))
  (func (export "drop-own") (param "r" (own $T)) (canon lift (core func $m "drop-own")))
  (func (export "drop-twice") (param "r" (own $T)) (canon lift (core func $m "drop-twice")))
)"#;

fn typed_host_linker(engine: &tern::Engine) -> Linker<Host> {
    let mut linker = Linker::<Host>::new(engine);
    let mut host = linker.instance("host").unwrap();
    host.resource("res", ResourceType::host::<Counted>(), |mut store, rep| {
        store.data_mut().dtor_calls += 1;
        store
            .data_mut()
            .table
            .delete(Resource::<Counted>::new_own(rep))?;
        Ok(())
    })
    .unwrap();
    host.func_wrap("new", |mut store, (value,): (u32,)| {
        let drops = store.data().drops.clone();
        let r = store.data_mut().table.push(Counted { value, drops })?;
        Ok((r,))
    })
    .unwrap();
    host.func_wrap("get", |store, (r,): (Resource<Counted>,)| {
        assert!(!r.owned());
        Ok((store.data().table.get(&r)?.value,))
    })
    .unwrap();
    linker
}

fn trap_message(err: &anyhow::Error) -> String {
    format!("{err:#}")
}

#[test]
fn host_resource_typed_round_trip_and_destructor_once() {
    let engine = engine();
    let component = Component::new(&engine, HOST_USER).unwrap();
    let linker = typed_host_linker(&engine);
    let mut store = Store::new(&engine, Host::default());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, (21,)).unwrap(), (42,));
    run.post_return(&mut store).unwrap();
    assert_eq!(store.data().dtor_calls, 1);
    assert_eq!(store.data().drops.load(Ordering::SeqCst), 1);

    // An owned host resource passed in and handed back keeps its rep.
    let drops = store.data().drops.clone();
    let r = store
        .data_mut()
        .table
        .push(Counted { value: 5, drops })
        .unwrap();
    let rep = r.rep();
    let keep = instance
        .get_typed_func::<(Resource<Counted>,), (Resource<Counted>,)>(&mut store, "keep")
        .unwrap();
    let (back,) = keep.call(&mut store, (r,)).unwrap();
    keep.post_return(&mut store).unwrap();
    assert!(back.owned());
    assert_eq!(back.rep(), rep);

    // A borrow the guest uses through the host, then drops.
    let get_twice = instance
        .get_typed_func::<(Resource<Counted>,), (u32,)>(&mut store, "get-twice")
        .unwrap();
    let (v,) = get_twice
        .call(&mut store, (Resource::new_borrow(back.rep()),))
        .unwrap();
    get_twice.post_return(&mut store).unwrap();
    assert_eq!(v, 10);

    // The guest drops an owned host resource: the host destructor runs once.
    let drop_own = instance
        .get_typed_func::<(Resource<Counted>,), ()>(&mut store, "drop-own")
        .unwrap();
    drop_own.call(&mut store, (back,)).unwrap();
    drop_own.post_return(&mut store).unwrap();
    assert_eq!(store.data().dtor_calls, 2);
    assert_eq!(store.data().drops.load(Ordering::SeqCst), 2);
}

#[test]
fn host_values_are_dropped_once_with_the_store() {
    let drops = Arc::new(AtomicU32::new(0));
    {
        let engine = engine();
        let component = Component::new(&engine, HOST_USER).unwrap();
        let linker = typed_host_linker(&engine);
        let mut store = Store::new(
            &engine,
            Host {
                drops: drops.clone(),
                ..Host::default()
            },
        );
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let run = instance
            .get_typed_func::<(u32,), (u32,)>(&mut store, "run")
            .unwrap();
        run.call(&mut store, (1,)).unwrap();
        run.post_return(&mut store).unwrap();
        for value in 0..3 {
            let d = drops.clone();
            store
                .data_mut()
                .table
                .push(Counted { value, drops: d })
                .unwrap();
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn host_resource_dynamic_calls() {
    let engine = engine();
    let component = Component::new(&engine, HOST_USER).unwrap();
    let mut linker = Linker::<Host>::new(&engine);
    let mut host = linker.instance("host").unwrap();
    host.resource("res", ResourceType::host::<Counted>(), |mut store, rep| {
        store.data_mut().dtor_calls += 1;
        store
            .data_mut()
            .table
            .delete(Resource::<Counted>::new_own(rep))?;
        Ok(())
    })
    .unwrap();
    host.func_new("new", |mut store, params, results| {
        let Val::U32(value) = params[0] else {
            anyhow::bail!("expected a u32")
        };
        let drops = store.data().drops.clone();
        let r = store.data_mut().table.push(Counted { value, drops })?;
        results[0] = Val::Resource(r.try_into_resource_any(&mut store)?);
        Ok(())
    })
    .unwrap();
    host.func_new("get", |mut store, params, results| {
        let Val::Resource(any) = &params[0] else {
            anyhow::bail!("expected a resource")
        };
        assert!(!any.owned());
        assert_eq!(any.ty(), ResourceType::host::<Counted>());
        let r = any.try_into_resource::<Counted>(&mut store)?;
        results[0] = Val::U32(store.data().table.get(&r)?.value);
        Ok(())
    })
    .unwrap();
    let mut store = Store::new(&engine, Host::default());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let mut results = [Val::Bool(false)];
    run.call(&mut store, &[Val::U32(4)], &mut results).unwrap();
    assert_eq!(results[0], Val::U32(8));
    assert_eq!(store.data().dtor_calls, 1);

    // A host-owned `ResourceAny` through `keep`, then dropped by the host:
    // its destructor runs once; dropping it again is an error.
    let drops = store.data().drops.clone();
    let r = store
        .data_mut()
        .table
        .push(Counted { value: 9, drops })
        .unwrap();
    let any = r.try_into_resource_any(&mut store).unwrap();
    let keep = instance.get_func(&mut store, "keep").unwrap();
    keep.call(&mut store, &[Val::Resource(any)], &mut results)
        .unwrap();
    let Val::Resource(back) = results[0].clone() else {
        panic!("expected a resource, got {:?}", results[0])
    };
    assert!(back.owned());
    // The handle given away is gone.
    assert!(any.resource_drop(&mut store).is_err());
    back.resource_drop(&mut store).unwrap();
    assert_eq!(store.data().dtor_calls, 2);
    assert!(back.resource_drop(&mut store).is_err());
    assert_eq!(store.data().dtor_calls, 2);
}

#[test]
fn every_borrow_rule_traps_with_its_name() {
    let engine = engine();
    let component = Component::new(&engine, HOST_USER).unwrap();
    let linker = typed_host_linker(&engine);
    let fresh = || {
        let mut store = Store::new(&engine, Host::default());
        let instance = linker.instantiate(&mut store, &component).unwrap();
        (store, instance)
    };

    // A borrow handed to the guest and not dropped before it returns.
    let (mut store, instance) = fresh();
    let peek = instance
        .get_typed_func::<(Resource<Counted>,), (u32,)>(&mut store, "peek")
        .unwrap();
    let err = peek
        .call(&mut store, (Resource::new_borrow(0),))
        .unwrap_err();
    assert!(
        trap_message(&err).contains("borrow handles still remain at the end of the call"),
        "{err:#}"
    );
    // Dropping it in time is fine.
    let (mut store, instance) = fresh();
    let peek_drop = instance
        .get_typed_func::<(Resource<Counted>,), (u32,)>(&mut store, "peek-drop")
        .unwrap();
    assert_eq!(
        peek_drop
            .call(&mut store, (Resource::new_borrow(0),))
            .unwrap(),
        (7,)
    );

    // A borrow passed where an own is expected.
    let (mut store, instance) = fresh();
    let keep = instance
        .get_typed_func::<(Resource<Counted>,), (Resource<Counted>,)>(&mut store, "keep")
        .unwrap();
    let err = keep
        .call(&mut store, (Resource::new_borrow(0),))
        .unwrap_err();
    assert!(
        trap_message(&err).contains("cannot lower a borrowed resource as an owned one"),
        "{err:#}"
    );

    // A handle dropped twice.
    let (mut store, instance) = fresh();
    store
        .data_mut()
        .table
        .push(Counted {
            value: 0,
            drops: Arc::default(),
        })
        .unwrap();
    let drop_twice = instance
        .get_typed_func::<(Resource<Counted>,), ()>(&mut store, "drop-twice")
        .unwrap();
    let err = drop_twice
        .call(&mut store, (Resource::new_own(0),))
        .unwrap_err();
    assert!(
        trap_message(&err).contains("unknown handle index 1"),
        "{err:#}"
    );
    assert_eq!(store.data().dtor_calls, 1);
}

/// A component defining resource `r` (with a destructor that counts calls
/// and records the last rep) and functions over it.
const GUEST_DEFINER: &str = r#"(component
  (core module $M
    (global $dtors (mut i32) (i32.const 0))
    (global $last (mut i32) (i32.const 0))
    (func (export "dtor") (param i32)
      (global.set $dtors (i32.add (global.get $dtors) (i32.const 1)))
      (global.set $last (local.get 0)))
    (func (export "dtors") (result i32) (global.get $dtors))
    (func (export "last") (result i32) (global.get $last)))
  (core instance $m (instantiate $M))
  (type $R (resource (rep i32) (dtor (core func $m "dtor"))))
  (core func $new (canon resource.new $R))
  (core func $drop (canon resource.drop $R))
  (core func $rep (canon resource.rep $R))
  (core module $N
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "rep" (func $rep (param i32) (result i32)))
    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "rep") (param i32) (result i32) (local.get 0))
    (func (export "consume") (param i32) (result i32) (local $r i32)
      (local.set $r (call $rep (local.get 0)))
      (call $drop (local.get 0))
      (local.get $r))
    (func (export "both") (param i32 i32)))
  (core instance $n (instantiate $N (with "" (instance
    (export "new" (func $new)) (export "drop" (func $drop)) (export "rep" (func $rep))))))
  (export $R' "r" (type $R))
  (func (export "make") (param "rep" u32) (result (own $R')) (canon lift (core func $n "make")))
  (func (export "rep") (param "r" (borrow $R')) (result u32) (canon lift (core func $n "rep")))
  (func (export "consume") (param "r" (own $R')) (result u32)
    (canon lift (core func $n "consume")))
  (func (export "both") (param "b" (borrow $R')) (param "o" (own $R'))
    (canon lift (core func $n "both")))
  (func (export "dtors") (result u32) (canon lift (core func $m "dtors")))
  (func (export "last") (result u32) (canon lift (core func $m "last")))
)"#;

fn call_u32(
    store: &mut Store<()>,
    instance: &tern::component::Instance,
    name: &str,
    args: &[Val],
) -> anyhow::Result<Val> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut results = [Val::Bool(false)];
    f.call(&mut *store, args, &mut results)?;
    Ok(results[0].clone())
}

#[test]
fn guest_resources_held_by_the_host() {
    let engine = engine();
    let component = Component::new(&engine, GUEST_DEFINER).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();

    // Typed: make, borrow, drop from the host (the guest destructor runs once).
    let make = instance
        .get_typed_func::<(u32,), (ResourceAny,)>(&mut store, "make")
        .unwrap();
    let (a,) = make.call(&mut store, (100,)).unwrap();
    make.post_return(&mut store).unwrap();
    assert!(a.owned() && !a.ty().eq(&ResourceType::host::<u32>()));
    let rep = instance
        .get_typed_func::<(ResourceAny,), (u32,)>(&mut store, "rep")
        .unwrap();
    assert_eq!(rep.call(&mut store, (a,)).unwrap(), (100,));
    rep.post_return(&mut store).unwrap();
    assert_eq!(rep.call(&mut store, (a,)).unwrap(), (100,));
    rep.post_return(&mut store).unwrap();
    a.resource_drop(&mut store).unwrap();
    assert_eq!(
        call_u32(&mut store, &instance, "dtors", &[]).unwrap(),
        Val::U32(1)
    );
    assert_eq!(
        call_u32(&mut store, &instance, "last", &[]).unwrap(),
        Val::U32(100)
    );
    assert!(a.resource_drop(&mut store).is_err());

    // Dynamic: an own passed back in is dropped by the guest: destructor once.
    let Val::Resource(b) = call_u32(&mut store, &instance, "make", &[Val::U32(7)]).unwrap() else {
        panic!("make returns a resource")
    };
    assert_eq!(
        call_u32(&mut store, &instance, "consume", &[Val::Resource(b)]).unwrap(),
        Val::U32(7)
    );
    assert_eq!(
        call_u32(&mut store, &instance, "dtors", &[]).unwrap(),
        Val::U32(2)
    );
    // The handle moved into the guest: the host's copy is stale.
    assert!(b.resource_drop(&mut store).is_err());
    let err = call_u32(&mut store, &instance, "rep", &[Val::Resource(b)]).unwrap_err();
    assert!(
        trap_message(&err).contains("unknown handle index"),
        "{err:#}"
    );

    // A trap leaves the instance unusable: continue with a fresh one.
    let instance = linker.instantiate(&mut store, &component).unwrap();
    // An own lent as a borrow in the same call cannot be moved.
    let Val::Resource(c) = call_u32(&mut store, &instance, "make", &[Val::U32(8)]).unwrap() else {
        panic!("make returns a resource")
    };
    let both = instance.get_func(&mut store, "both").unwrap();
    let err = both
        .call(&mut store, &[Val::Resource(c), Val::Resource(c)], &mut [])
        .unwrap_err();
    assert!(
        trap_message(&err).contains("cannot remove owned resource while borrowed"),
        "{err:#}"
    );
    // The lend ended with the call: the host still owns `c` and may drop it
    // (the destructor needs the instance, which trapped: it cannot be entered).
    let err = c.resource_drop(&mut store).unwrap_err();
    assert!(
        trap_message(&err).contains("cannot enter component instance"),
        "{err:#}"
    );
}

#[test]
fn two_instantiations_have_distinct_resource_types() {
    let engine = engine();
    let component = Component::new(&engine, GUEST_DEFINER).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    let one = linker.instantiate(&mut store, &component).unwrap();
    let two = linker.instantiate(&mut store, &component).unwrap();
    let Val::Resource(a) = call_u32(&mut store, &one, "make", &[Val::U32(1)]).unwrap() else {
        panic!("make returns a resource")
    };
    let Val::Resource(b) = call_u32(&mut store, &two, "make", &[Val::U32(2)]).unwrap() else {
        panic!("make returns a resource")
    };
    assert_ne!(a.ty(), b.ty());
    let err = call_u32(&mut store, &two, "rep", &[Val::Resource(a)]).unwrap_err();
    assert!(
        trap_message(&err).contains(
            "used with the wrong type, expected guest-defined resource but found a different guest-defined resource"
        ),
        "{err:#}"
    );
    assert_eq!(
        call_u32(&mut store, &one, "rep", &[Val::Resource(a)]).unwrap(),
        Val::U32(1)
    );
    // A resource of another store is refused.
    let mut other = Store::new(&engine, ());
    let three = linker.instantiate(&mut other, &component).unwrap();
    assert!(call_u32(&mut other, &three, "rep", &[Val::Resource(b)]).is_err());
}

#[test]
fn resource_table_parents_outlive_children() {
    let mut table = ResourceTable::new();
    let parent = table.push(1u32).unwrap();
    let child = table.push_child(String::from("child"), &parent).unwrap();
    assert_eq!(table.get(&child).unwrap(), "child");
    *table.get_mut(&parent).unwrap() += 1;
    assert_eq!(*table.get(&parent).unwrap(), 2);
    assert_eq!(table.iter_children(&parent).unwrap().count(), 1);
    let parent_again = Resource::<u32>::new_own(parent.rep());
    assert_eq!(
        table.delete(parent_again).unwrap_err(),
        ResourceTableError::HasChildren
    );
    let wrong = Resource::<u64>::new_own(child.rep());
    assert_eq!(
        table.get(&wrong).unwrap_err(),
        ResourceTableError::WrongType
    );
    assert_eq!(table.delete(child).unwrap(), "child");
    assert_eq!(table.delete(parent).unwrap(), 2);
    assert_eq!(
        table.get(&Resource::<u32>::new_own(0)).unwrap_err(),
        ResourceTableError::NotPresent
    );
}

#[test]
fn resources_survive_a_precompiled_round_trip() {
    let engine = engine();
    let bytes = Component::new(&engine, GUEST_DEFINER)
        .unwrap()
        .serialize()
        .unwrap();
    // SAFETY: serialized just above by this process.
    let component = unsafe { Component::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::<()>::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let Val::Resource(a) = call_u32(&mut store, &instance, "make", &[Val::U32(3)]).unwrap() else {
        panic!("make returns a resource")
    };
    assert_eq!(
        call_u32(&mut store, &instance, "rep", &[Val::Resource(a)]).unwrap(),
        Val::U32(3)
    );
    a.resource_drop(&mut store).unwrap();
    assert_eq!(
        call_u32(&mut store, &instance, "last", &[]).unwrap(),
        Val::U32(3)
    );
}

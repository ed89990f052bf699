//! `bindgen!` with resources: the host implements `blob` (`HostBlob`:
//! constructor, method, static, `drop`) and the guest implements `counter`
//! (called through `GuestCounter`: constructor, method, static, and its
//! destructor through `ResourceAny::resource_drop`); blobs pass into the
//! guest and back, borrowed and owned, and a blob the guest drops reaches
//! `HostBlob::drop`.

use crate::bindgen_guest::{componentize, import, ALLOCATOR};
use tern::component::{Linker, Resource};
use tern::Store;

mod bindings {
    tern::component::bindgen!({
        path: "tests/all/bindgen/resources.wit",
    });
}

use bindings::tests::res::host_api::{self, Blob};

#[derive(Default)]
struct Host {
    blobs: Vec<Option<String>>,
    dropped: Vec<u32>,
}

impl Host {
    fn blob(&self, r: &Resource<Blob>) -> tern::Result<&String> {
        self.blobs
            .get(r.rep() as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| tern::Error::msg("no such blob"))
    }
}

impl host_api::HostBlob for Host {
    fn new(&mut self, init: String) -> tern::Result<Resource<Blob>> {
        self.blobs.push(Some(init));
        Ok(Resource::new_own(self.blobs.len() as u32 - 1))
    }
    fn size(&mut self, self_: Resource<Blob>) -> tern::Result<u32> {
        Ok(self.blob(&self_)?.len() as u32)
    }
    fn merge(&mut self, a: Resource<Blob>, b: Resource<Blob>) -> tern::Result<Resource<Blob>> {
        let merged = format!("{}{}", self.blob(&a)?, self.blob(&b)?);
        self.new(merged)
    }
    fn drop(&mut self, rep: Resource<Blob>) -> tern::Result<()> {
        self.dropped.push(rep.rep());
        self.blobs[rep.rep() as usize] = None;
        Ok(())
    }
}

impl host_api::Host for Host {}

fn guest_wat() -> String {
    let (h, g) = ("tests:res/host-api", "tests:res/guest-api");
    let mut wat = String::from("(module\n");
    wat += &import(
        h,
        "[constructor]blob",
        "$blob-new",
        &["i32", "i32"],
        Some("i32"),
    );
    wat += &import(h, "[method]blob.size", "$blob-size", &["i32"], Some("i32"));
    wat += &import(
        h,
        "[static]blob.merge",
        "$blob-merge",
        &["i32", "i32"],
        Some("i32"),
    );
    wat += &import(h, "[resource-drop]blob", "$blob-drop", &["i32"], None);
    wat += &import(
        &format!("[export]{g}"),
        "[resource-new]counter",
        "$counter-new",
        &["i32"],
        Some("i32"),
    );
    wat += ALLOCATOR;
    wat += &format!(
        r#"
      (global $dropped (mut i32) (i32.const 0))
      (func $new-counter (param $start i32) (result i32) (local $p i32)
        (local.set $p (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4)))
        (i32.store (local.get $p) (local.get $start))
        (call $counter-new (local.get $p)))
      (func (export "{g}#[constructor]counter") (param i32) (result i32)
        (call $new-counter (local.get 0)))
      (func (export "{g}#[method]counter.bump") (param $rep i32) (param $by i32) (result i32)
        (i32.store (local.get $rep) (i32.add (i32.load (local.get $rep)) (local.get $by)))
        (i32.load (local.get $rep)))
      (func (export "{g}#[static]counter.make") (param i32) (result i32)
        (call $new-counter (i32.mul (local.get 0) (i32.const 2))))
      (func (export "{g}#[dtor]counter") (param i32)
        (global.set $dropped (i32.add (global.get $dropped) (i32.const 1))))
      (func (export "{g}#dropped") (result i32) (global.get $dropped))
      (func (export "{g}#make-blob") (param i32 i32) (result i32)
        (call $blob-new (local.get 0) (local.get 1)))
      ;; A borrowed handle must be dropped before the call returns.
      (func (export "{g}#blob-size") (param i32) (result i32) (local $r i32)
        (local.set $r (call $blob-size (local.get 0)))
        (call $blob-drop (local.get 0))
        (local.get $r))
      (func (export "{g}#roundtrip") (param i32) (result i32) (local.get 0))
      (func (export "{g}#consume") (param i32) (call $blob-drop (local.get 0)))
      (func (export "{g}#merge-blobs") (param i32 i32) (result i32)
        (call $blob-merge (local.get 0) (local.get 1)))
    )"#
    );
    wat
}

fn setup() -> (Store<Host>, bindings::Resources) {
    let engine = crate::bindgen_guest::engine();
    let wit = include_str!("bindgen/resources.wit");
    let component = componentize(&engine, wit, "resources", &guest_wat()).unwrap();
    let mut linker = Linker::new(&engine);
    bindings::Resources::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let (world, _) = bindings::Resources::instantiate(&mut store, &component, &linker).unwrap();
    (store, world)
}

#[test]
fn bindgen_guest_resource() {
    let (mut store, world) = setup();
    let g = world.tests_res_guest_api();
    let c = g.counter().call_constructor(&mut store, 5).unwrap();
    assert_eq!(g.counter().call_bump(&mut store, c, 3).unwrap(), 8);
    assert_eq!(g.counter().call_bump(&mut store, c, 1).unwrap(), 9);
    let m = g.counter().call_make(&mut store, 4).unwrap();
    assert_eq!(g.counter().call_bump(&mut store, m, 0).unwrap(), 8);
    assert_eq!(g.call_dropped(&mut store).unwrap(), 0);
    c.resource_drop(&mut store).unwrap();
    assert_eq!(g.call_dropped(&mut store).unwrap(), 1);
    m.resource_drop(&mut store).unwrap();
    assert_eq!(g.call_dropped(&mut store).unwrap(), 2);
}

#[test]
fn bindgen_host_resource_back_and_forth() {
    let (mut store, world) = setup();
    let g = world.tests_res_guest_api();
    // The guest calls the host's constructor and returns the owned handle.
    let b = g.call_make_blob(&mut store, "hello").unwrap();
    assert_eq!(store.data().blobs, vec![Some("hello".to_string())]);
    // Borrowed into the guest, which calls the host's method on it.
    let size = g
        .call_blob_size(&mut store, Resource::new_borrow(b.rep()))
        .unwrap();
    assert_eq!(size, 5);
    // Ending the loan is not a drop of the blob.
    assert!(store.data().dropped.is_empty());
    // Owned into the guest and back: the same host object.
    let rep = b.rep();
    let back = g.call_roundtrip(&mut store, b).unwrap();
    assert_eq!(back.rep(), rep);
    // The guest calls the host's static function with two owned blobs.
    let other = g.call_make_blob(&mut store, "!!").unwrap();
    let merged = g.call_merge_blobs(&mut store, back, other).unwrap();
    assert_eq!(store.data().blob(&merged).unwrap(), "hello!!");
    // The guest drops an owned blob: the host's `drop` runs with its rep.
    let merged_rep = merged.rep();
    g.call_consume(&mut store, merged).unwrap();
    assert!(
        store.data().dropped.contains(&merged_rep),
        "{:?}",
        store.data().dropped
    );
    assert_eq!(store.data().blobs[merged_rep as usize], None);
}

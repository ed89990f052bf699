//! `bindgen!` with resources: the host implements `blob` (`HostBlob`:
//! constructor, method, static, `drop`) and the guest implements `counter`
//! (called through `GuestCounter`: constructor, method, static, and its
//! destructor through `ResourceAny::resource_drop`); blobs pass into the
//! guest and back, borrowed and owned, and a blob the guest drops reaches
//! `HostBlob::drop`. The guest is the Rust crate
//! `tests/bindgen-guests/resources`.

use crate::bindgen_guest::rust_guest;
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

fn setup() -> (Store<Host>, bindings::Resources) {
    let engine = crate::bindgen_guest::engine();
    let component = rust_guest(&engine, "resources");
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

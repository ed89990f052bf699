//! `bindgen!`'s `with`: the world `consumer` imports `tests:reuse/shared`,
//! whose bindings (types, `Host`, `add_to_linker`) come from the `producer`
//! invocation; `consumer`'s own interface uses a shared type, which resolves
//! to the producer's Rust type.

use crate::bindgen_guest::rust_guest;
use tern::component::Linker;
use tern::Store;

mod producer {
    tern::component::bindgen!({
        world: "producer",
        path: "tests/all/bindgen/with.wit",
    });
}

mod consumer {
    tern::component::bindgen!({
        world: "consumer",
        path: "tests/all/bindgen/with.wit",
        with: { "tests:reuse/shared": super::producer::tests::reuse::shared },
    });
}

use producer::tests::reuse::shared::Pair;

#[derive(Default)]
struct Host {
    sums: u32,
}

impl producer::tests::reuse::shared::Host for Host {
    fn sum(&mut self, p: Pair) -> tern::Result<u32> {
        self.sums += 1;
        Ok(p.a + p.b)
    }
}

impl consumer::tests::reuse::consumer_api::Host for Host {
    // The parameter is the producer's `Pair`: the same Rust type, not a copy.
    fn swap(&mut self, p: Pair) -> tern::Result<Pair> {
        Ok(Pair {
            a: p.b * 10,
            b: p.a,
        })
    }
}

#[test]
fn bindgen_with_reuses_bindings() {
    // run(a, b) = sum(swap(pair(a, b))), in the Rust guest
    // `tests/bindgen-guests/with`.
    let engine = crate::bindgen_guest::engine();
    let component = rust_guest(&engine, "with");
    let mut linker = Linker::new(&engine);
    consumer::Consumer::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let (world, _) = consumer::Consumer::instantiate(&mut store, &component, &linker).unwrap();
    assert_eq!(world.call_run(&mut store, 2, 3).unwrap(), 32);
    assert_eq!(store.data().sums, 1);
}

//! `bindgen!`'s `ownership` option on the world `ownership`
//! (`bindgen/ownership.wit`, guest `tests/bindgen-guests/ownership`), once per
//! mode, each host written only against its generated bindings:
//! - `Owning`: exported functions take top-level strings, lists and
//!   list-holding records by reference (`&str`, `&[Vec<String>]`, `&Thing`),
//!   `option`/`tuple`/`result` of strings as `Option<&str>`…, list-free
//!   records by value;
//! - `Borrowing { duplicate_if_necessary: false }`: deeply borrowed
//!   parameters (`&[&[&str]]`, `Thing<'a>` holding `&'a str`) for types used
//!   only in exported functions' parameters; a type also used owned
//!   (`thing-in-and-out.thing`, `shared.entry`) stays owned, by reference;
//! - `Borrowing { duplicate_if_necessary: true }`: such a type gets both
//!   `ThingParam<'a>` and `ThingResult` (wasmtime's names).
//!
//! Host import traits keep owned types in every mode. The signatures are
//! the test: each call below only compiles against the shape stated above.

use crate::bindgen_guest::rust_guest;
use tern::component::Linker;
use tern::Store;

/// What the host's `shared.put` received, and the checksum it returns.
fn host_put(log: &mut Vec<(String, Vec<String>)>, key: String, values: Vec<String>) -> u32 {
    let sum = key.len() as u32 * 100 + values.iter().map(|v| v.len() as u32).sum::<u32>();
    log.push((key, values));
    sum
}

/// The guest's answer to `shared.put(entry { key: "k1", values: ["x", "yz"] })`:
/// the host's checksum (2 * 100 + 3) times 1000, plus the guest's own (2 + 2).
const PUT: u32 = 203_004;

/// `thing { name: "thing 1", value: ["some value", "another value"] }`: 30 bytes.
const THING_BYTES: u32 = 30;

macro_rules! setup {
    ($bindings:ident) => {{
        let engine = crate::bindgen_guest::engine();
        let component = rust_guest(&engine, "ownership");
        let mut linker = Linker::new(&engine);
        $bindings::Ownership::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
        let mut store = Store::new(&engine, Host::default());
        let (world, _) =
            $bindings::Ownership::instantiate(&mut store, &component, &linker).unwrap();
        (store, world)
    }};
}

mod owning {
    use super::*;

    mod bindings {
        tern::component::bindgen!({
            world: "ownership",
            path: "tests/all/bindgen/ownership.wit",
            ownership: Owning,
        });
    }
    use bindings::exports::tests::ownership::thing_in::{Plain, Shape, Thing};
    use bindings::tests::ownership::shared::{self, Entry};

    #[derive(Default)]
    struct Host(Vec<(String, Vec<String>)>);

    impl shared::Host for Host {
        fn put(&mut self, e: Entry) -> tern::Result<u32> {
            Ok(host_put(&mut self.0, e.key, e.values))
        }
    }

    #[test]
    fn bindgen_ownership_owning() {
        let (mut store, world) = setup!(bindings);
        let lists = world.tests_ownership_lists();
        let a: Vec<Vec<String>> = vec![vec!["a".into(), "b".into()], vec!["c".into()]];
        let a: &[Vec<String>] = &a;
        assert_eq!(
            lists.call_foo(&mut store, a).unwrap(),
            vec![
                vec!["c".to_string()],
                vec!["b".to_string(), "a".to_string()]
            ]
        );
        let join = lists
            .call_join(&mut store, Some("x"), ("ab", 3), Ok("y"))
            .unwrap();
        assert_eq!(join, "x+ababab+ok:y");

        let thing = Thing {
            name: "thing 1".into(),
            value: vec!["some value".into(), "another value".into()],
        };
        let plain = Plain { x: 3, y: 4 };
        let shape = Shape::Named("four".into());
        let bar = world
            .tests_ownership_thing_in()
            .call_bar(&mut store, &thing, &shape, plain);
        assert_eq!(bar.unwrap(), THING_BYTES + 4 + 12);

        use bindings::exports::tests::ownership::thing_in_and_out::Thing as Thing2;
        let t = Thing2 {
            name: "thing 1".into(),
            value: vec!["a".into(), "b".into()],
        };
        let back: Thing2 = world
            .tests_ownership_thing_in_and_out()
            .call_baz(&mut store, &t)
            .unwrap();
        assert_eq!(
            (back.name.as_str(), &back.value[..]),
            ("THING 1", &["b".to_string(), "a".to_string()][..])
        );

        let e = Entry {
            key: "k1".into(),
            values: vec!["x".into(), "yz".into()],
        };
        let put = world.tests_ownership_shared().call_put(&mut store, &e);
        assert_eq!(put.unwrap(), PUT);
        assert_eq!(
            store.data().0,
            vec![("k1".to_string(), vec!["x".to_string(), "yz".to_string()])]
        );
    }
}

mod borrowing {
    use super::*;

    mod bindings {
        tern::component::bindgen!({
            world: "ownership",
            path: "tests/all/bindgen/ownership.wit",
            ownership: Borrowing { duplicate_if_necessary: false },
        });
    }
    use bindings::exports::tests::ownership::thing_in::{Plain, Shape, Thing};
    use bindings::tests::ownership::shared::{self, Entry};

    #[derive(Default)]
    struct Host(Vec<(String, Vec<String>)>);

    impl shared::Host for Host {
        // The import keeps its owned type.
        fn put(&mut self, e: Entry) -> tern::Result<u32> {
            Ok(host_put(&mut self.0, e.key, e.values))
        }
    }

    #[test]
    fn bindgen_ownership_borrowing() {
        let (mut store, world) = setup!(bindings);
        let lists = world.tests_ownership_lists();
        // Nothing allocated: slices of slices of `&str`.
        let a: &[&[&str]] = &[&["a", "b"], &["c"]];
        assert_eq!(
            lists.call_foo(&mut store, a).unwrap(),
            vec![
                vec!["c".to_string()],
                vec!["b".to_string(), "a".to_string()]
            ]
        );
        let join = lists
            .call_join(&mut store, None, ("", 0), Err("e"))
            .unwrap();
        assert_eq!(join, "none++err:e");

        // `thing` is only ever a parameter: one borrowing definition, `Thing<'a>`.
        let thing: Thing<'_> = Thing {
            name: "thing 1",
            value: &["some value", "another value"],
        };
        let inner = [Thing {
            name: "ab",
            value: &["c"],
        }];
        let shape: Shape<'_> = Shape::Many(&inner);
        let g = world.tests_ownership_thing_in();
        let bar = g.call_bar(&mut store, thing.clone(), shape, Plain { x: 3, y: 4 });
        assert_eq!(bar.unwrap(), THING_BYTES + 3 + 12);
        let bar = g.call_bar(&mut store, thing, Shape::Empty, Plain { x: 0, y: 9 });
        assert_eq!(bar.unwrap(), THING_BYTES);

        // Used as a parameter and a result, not duplicated: owned, by reference.
        use bindings::exports::tests::ownership::thing_in_and_out::Thing as Thing2;
        let t = Thing2 {
            name: "thing 1".into(),
            value: vec!["a".into(), "b".into()],
        };
        let back: Thing2 = world
            .tests_ownership_thing_in_and_out()
            .call_baz(&mut store, &t)
            .unwrap();
        assert_eq!(back.name, "THING 1");
        assert_eq!(back.value, vec!["b".to_string(), "a".to_string()]);

        // Used by an import and an export parameter: owned, by reference.
        let e = Entry {
            key: "k1".into(),
            values: vec!["x".into(), "yz".into()],
        };
        let put = world.tests_ownership_shared().call_put(&mut store, &e);
        assert_eq!(put.unwrap(), PUT);
        assert_eq!(store.data().0.len(), 1);
    }
}

mod duplicating {
    use super::*;

    mod bindings {
        tern::component::bindgen!({
            world: "ownership",
            path: "tests/all/bindgen/ownership.wit",
            ownership: Borrowing { duplicate_if_necessary: true },
            additional_derives: [PartialEq],
        });
    }
    use bindings::exports::tests::ownership::thing_in::{Plain, Shape, Thing};
    use bindings::exports::tests::ownership::thing_in_and_out::{ThingParam, ThingResult};
    use bindings::tests::ownership::shared::{self, EntryParam, EntryResult};

    #[derive(Default)]
    struct Host(Vec<(String, Vec<String>)>);

    impl shared::Host for Host {
        // The import takes the owned twin.
        fn put(&mut self, e: EntryResult) -> tern::Result<u32> {
            Ok(host_put(&mut self.0, e.key, e.values))
        }
    }

    #[test]
    fn bindgen_ownership_borrowing_duplicated() {
        let (mut store, world) = setup!(bindings);
        let a: &[&[&str]] = &[&["only"]];
        let foo = world.tests_ownership_lists().call_foo(&mut store, a);
        assert_eq!(foo.unwrap(), vec![vec!["only".to_string()]]);

        // Only a parameter: still one definition, without a suffix.
        let thing = Thing {
            name: "thing 1",
            value: &["some value", "another value"],
        };
        let bar = world.tests_ownership_thing_in().call_bar(
            &mut store,
            thing,
            Shape::Named("four"),
            Plain { x: 2, y: 5 },
        );
        assert_eq!(bar.unwrap(), THING_BYTES + 4 + 10);

        // Parameter and result: `ThingParam<'a>` in, `ThingResult` out.
        let t = ThingParam {
            name: "thing 1",
            value: &["a", "b"],
        };
        let back = world
            .tests_ownership_thing_in_and_out()
            .call_baz(&mut store, t)
            .unwrap();
        assert_eq!(
            back,
            ThingResult {
                name: "THING 1".to_string(),
                value: vec!["b".to_string(), "a".to_string()],
            }
        );

        // Import and export parameter: `EntryParam<'a>` for the call, the
        // host receives `EntryResult`.
        let e = EntryParam {
            key: "k1",
            values: &["x", "yz"],
        };
        let put = world.tests_ownership_shared().call_put(&mut store, e);
        assert_eq!(put.unwrap(), PUT);
        assert_eq!(
            store.data().0,
            vec![("k1".to_string(), vec!["x".to_string(), "yz".to_string()])]
        );
    }
}

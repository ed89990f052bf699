//! Guest of the world `ownership` (`crates/tern/tests/all/bindgen/ownership.wit`),
//! the test world of `bindgen!`'s `ownership: Borrowing`: every export
//! computes its result from every part of its arguments (so a host that
//! lowered a borrowed value wrongly gets a wrong answer), and `shared.put`
//! forwards its entry to the host's import of the same name.

wit_bindgen::generate!({
    world: "ownership",
    path: "../../../crates/tern/tests/all/bindgen/ownership.wit",
});

use exports::tests::ownership::{lists, shared, thing_in, thing_in_and_out};
use tests::ownership::shared as host;

struct Ownership;

impl lists::Guest for Ownership {
    fn foo(a: Vec<Vec<String>>) -> Vec<Vec<String>> {
        a.into_iter()
            .rev()
            .map(|inner| inner.into_iter().rev().collect())
            .collect()
    }

    fn join(a: Option<String>, b: (String, u32), c: Result<String, String>) -> String {
        let a = a.unwrap_or_else(|| "none".to_string());
        let b = b.0.repeat(b.1 as usize);
        let c = match c {
            Ok(s) => format!("ok:{s}"),
            Err(s) => format!("err:{s}"),
        };
        format!("{a}+{b}+{c}")
    }
}

fn thing_bytes(t: &thing_in::Thing) -> u32 {
    (t.name.len() + t.value.iter().map(String::len).sum::<usize>()) as u32
}

impl thing_in::Guest for Ownership {
    fn bar(a: thing_in::Thing, s: thing_in::Shape, p: thing_in::Plain) -> u32 {
        let shape = match &s {
            thing_in::Shape::Named(n) => n.len() as u32,
            thing_in::Shape::Many(things) => things.iter().map(thing_bytes).sum(),
            thing_in::Shape::Empty => 0,
        };
        thing_bytes(&a) + shape + p.x * p.y
    }
}

impl thing_in_and_out::Guest for Ownership {
    fn baz(a: thing_in_and_out::Thing) -> thing_in_and_out::Thing {
        thing_in_and_out::Thing {
            name: a.name.to_uppercase(),
            value: a.value.into_iter().rev().collect(),
        }
    }
}

impl shared::Guest for Ownership {
    fn put(e: shared::Entry) -> u32 {
        let own = (e.key.len() + e.values.len()) as u32;
        let entry = host::Entry {
            key: e.key,
            values: e.values,
        };
        host::put(&entry) * 1000 + own
    }
}

export!(Ownership);

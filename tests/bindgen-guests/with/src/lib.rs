//! Guest of the world `consumer` (`crates/tern/tests/all/bindgen/with.wit`),
//! whose host bindings reuse another world's through `with`:
//! `run(a, b)` is `sum(swap({a, b}))`.

wit_bindgen::generate!({
    world: "consumer",
    path: "../../../crates/tern/tests/all/bindgen/with.wit",
});

use tests::reuse::{consumer_api, shared};

struct Consumer;

impl Guest for Consumer {
    fn run(a: u32, b: u32) -> u32 {
        shared::sum(consumer_api::swap(shared::Pair { a, b }))
    }
}

export!(Consumer);

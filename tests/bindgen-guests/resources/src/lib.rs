//! Guest of the world `resources` (`crates/tern/tests/all/bindgen/resources.wit`):
//! it implements the exported resource `counter` (its destructor counts
//! drops) and passes the host's resource `blob` back and forth: created
//! through the host's constructor, borrowed for a method call, returned
//! unchanged, merged through the host's static function, and dropped.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

wit_bindgen::generate!({
    world: "resources",
    path: "../../../crates/tern/tests/all/bindgen/resources.wit",
});

use exports::tests::res::guest_api::{Blob, Counter as CounterHandle, Guest, GuestCounter};

/// How many counters the host has dropped (each runs `Counter::drop`).
static DROPPED: AtomicU32 = AtomicU32::new(0);

struct Api;

/// The guest's resource: a number the host bumps.
struct Counter(Cell<u32>);

impl Drop for Counter {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

impl GuestCounter for Counter {
    fn new(start: u32) -> Self {
        Counter(Cell::new(start))
    }
    fn bump(&self, by: u32) -> u32 {
        self.0.set(self.0.get() + by);
        self.0.get()
    }
    fn make(n: u32) -> CounterHandle {
        CounterHandle::new(Counter::new(n * 2))
    }
}

impl Guest for Api {
    type Counter = Counter;
    fn dropped() -> u32 {
        DROPPED.load(Ordering::Relaxed)
    }
    fn make_blob(init: String) -> Blob {
        Blob::new(&init)
    }
    fn blob_size(b: &Blob) -> u32 {
        b.size()
    }
    fn roundtrip(b: Blob) -> Blob {
        b
    }
    fn consume(b: Blob) {
        drop(b);
    }
    fn merge_blobs(a: Blob, b: Blob) -> Blob {
        Blob::merge(a, b)
    }
}

export!(Api);

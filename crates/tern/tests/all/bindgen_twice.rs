//! `bindgen!` for a world importing one interface under two names
//! (`import primary: logger; import backup: logger;`): two modules, two
//! `Host` traits the host implements differently, one set of types.

use crate::bindgen_guest::{componentize, import, ALLOCATOR};
use tern::component::Linker;
use tern::Store;

const WIT: &str = include_str!("bindgen/twice.wit");

mod bindings {
    tern::component::bindgen!({
        path: "tests/all/bindgen/twice.wit",
    });
}

use bindings::primary::Entry;

#[derive(Default)]
struct Host {
    primary: Vec<(u8, String)>,
    backup: Vec<(u8, String)>,
}

impl bindings::primary::Host for Host {
    fn log(&mut self, e: Entry) -> tern::Result<u32> {
        self.primary.push((e.level, e.text));
        Ok(100)
    }
}

impl bindings::backup::Host for Host {
    fn log(&mut self, e: Entry) -> tern::Result<u32> {
        self.backup.push((e.level, e.text));
        Ok(1)
    }
}

#[test]
fn bindgen_interface_imported_twice() {
    let mut wat = String::from("(module\n");
    wat += &import(
        "primary",
        "log",
        "$primary",
        &["i32", "i32", "i32"],
        Some("i32"),
    );
    wat += &import(
        "backup",
        "log",
        "$backup",
        &["i32", "i32", "i32"],
        Some("i32"),
    );
    wat += ALLOCATOR;
    wat += r#"
      (data (i32.const 16) "first")
      (data (i32.const 32) "second")
      (func (export "run") (result i32)
        (i32.add
          (call $primary (i32.const 1) (i32.const 16) (i32.const 5))
          (call $backup (i32.const 2) (i32.const 32) (i32.const 6))))
    )"#;
    let engine = crate::bindgen_guest::engine();
    let component = componentize(&engine, WIT, "twice", &wat).unwrap();
    let mut linker = Linker::new(&engine);
    bindings::Twice::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let (world, _) = bindings::Twice::instantiate(&mut store, &component, &linker).unwrap();
    assert_eq!(world.call_run(&mut store).unwrap(), 101);
    assert_eq!(store.data().primary, vec![(1, "first".to_string())]);
    assert_eq!(store.data().backup, vec![(2, "second".to_string())]);
}

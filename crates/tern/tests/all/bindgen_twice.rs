//! `bindgen!` for a world importing one interface under two names
//! (`import primary: logger; import backup: logger;`): two modules, two
//! `Host` traits the host implements differently, one set of types.

use crate::bindgen_guest::{componentize, import, rust_guest, ALLOCATOR};
use tern::component::Linker;
use tern::Store;

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
    // The Rust guest `tests/bindgen-guests/twice` logs "first" at level 1
    // through `primary` and "second" at level 2 through `backup`.
    let engine = crate::bindgen_guest::engine();
    let component = rust_guest(&engine, "twice");
    let mut linker = Linker::new(&engine);
    bindings::Twice::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let (world, _) = bindings::Twice::instantiate(&mut store, &component, &linker).unwrap();
    assert_eq!(world.call_run(&mut store).unwrap(), 101);
    assert_eq!(store.data().primary, vec![(1, "first".to_string())]);
    assert_eq!(store.data().backup, vec![(2, "second".to_string())]);
}

/// `interfaces:` (with `inline:`): bindings for one interface without
/// writing a world; its `add_to_linker` serves a component whose world
/// imports that interface.
mod logger_only {
    tern::component::bindgen!({
        inline: "package tests:single;\ninterface logger {\n  log: func(msg: string) -> u32;\n}\n",
        interfaces: "import tests:single/logger;",
    });
}

struct Counter(Vec<String>);

impl logger_only::tests::single::logger::Host for Counter {
    fn log(&mut self, msg: String) -> tern::Result<u32> {
        self.0.push(msg);
        Ok(self.0.len() as u32 * 7)
    }
}

#[test]
fn bindgen_interfaces_option() {
    let wit = "package tests:single;\ninterface logger {\n  log: func(msg: string) -> u32;\n}\n\
               world single {\n  import logger;\n  export run: func() -> u32;\n}\n";
    let mut wat = String::from("(module\n");
    wat += &import(
        "tests:single/logger",
        "log",
        "$log",
        &["i32", "i32"],
        Some("i32"),
    );
    wat += ALLOCATOR;
    wat += r#"
      (data (i32.const 16) "abc")
      (func (export "run") (result i32)
        (drop (call $log (i32.const 16) (i32.const 3)))
        (call $log (i32.const 17) (i32.const 2)))
    )"#;
    let engine = crate::bindgen_guest::engine();
    let component = componentize(&engine, wit, "single", &wat).unwrap();
    let mut linker = Linker::new(&engine);
    logger_only::tests::single::logger::add_to_linker(&mut linker, |h: &mut Counter| h).unwrap();
    let mut store = Store::new(&engine, Counter(Vec::new()));
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance
        .get_typed_func::<(), (u32,)>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), (14,));
    assert_eq!(store.data().0, vec!["abc".to_string(), "bc".to_string()]);
}

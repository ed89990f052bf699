//! wasmtime 12's spelling of `trappable_error_type`
//! (`"ns:pkg/iface"::"type": Name`): `bindgen!` defines `Name`, which holds
//! a WIT error value (`From<ErrorCode>`) or a trap (`Name::trap`), and host
//! functions returning `result<_, error-code>` return `Result<T, Name>`.
//! The guest forwards its export `run` to the import `open`, so the host's
//! error reaches the host's caller as a WIT value or as a trap.

use crate::bindgen_guest::{componentize, forward, import, ALLOCATOR};
use tern::component::Linker;
use tern::Store;

const WIT: &str = "package tests:errs;
interface fs {
  enum error-code { not-found, denied }
  open: func(path: string) -> result<u32, error-code>;
}
world errs {
  import fs;
  use fs.{error-code};
  export run: func(path: string) -> result<u32, error-code>;
}
";

mod quoted {
    tern::component::bindgen!({
        inline: "package tests:errs;
interface fs {
  enum error-code { not-found, denied }
  open: func(path: string) -> result<u32, error-code>;
}
world errs {
  import fs;
  use fs.{error-code};
  export run: func(path: string) -> result<u32, error-code>;
}
",
        trappable_error_type: { "tests:errs/fs"::"error-code": FsError },
    });
}

/// The same option with the WIT type name written as a Rust identifier.
mod ident {
    tern::component::bindgen!({
        inline: "package tests:errs;
interface fs {
  enum error-code { not-found, denied }
  open: func(path: string) -> result<u32, error-code>;
}
",
        interfaces: "import tests:errs/fs;",
        trappable_error_type: { "tests:errs/fs"::error_code: OpenError },
    });
}

use quoted::tests::errs::fs::{self, ErrorCode, FsError};

struct Host;

impl fs::Host for Host {
    fn open(&mut self, path: String) -> Result<u32, FsError> {
        match path.as_str() {
            "ok" => Ok(7),
            "missing" => Err(ErrorCode::NotFound.into()),
            _ => Err(FsError::trap(tern::Error::msg(format!(
                "cannot open {path}"
            )))),
        }
    }
}

#[test]
fn bindgen_trappable_error_type_wasmtime12_spelling() {
    let mut wat = String::from("(module\n");
    wat += &import(
        "tests:errs/fs",
        "open",
        "$open",
        &["i32", "i32"],
        Some("retptr"),
    );
    wat += ALLOCATOR;
    wat += &forward("run", "$open", &["i32", "i32"], Some("retptr"));
    wat += ")";
    let engine = crate::bindgen_guest::engine();
    let component = componentize(&engine, WIT, "errs", &wat).unwrap();
    let mut linker = Linker::new(&engine);
    quoted::Errs::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
    let mut store = Store::new(&engine, Host);
    let (world, _) = quoted::Errs::instantiate(&mut store, &component, &linker).unwrap();
    assert_eq!(world.call_run(&mut store, "ok").unwrap(), Ok(7));
    assert_eq!(
        world.call_run(&mut store, "missing").unwrap(),
        Err(ErrorCode::NotFound)
    );
    // A trap, not a WIT value; the store cannot be entered again after it.
    let err = world.call_run(&mut store, "other").unwrap_err();
    assert!(format!("{err:?}").contains("cannot open other"), "{err:?}");
}

#[test]
fn bindgen_generated_error_type_holds_a_value_or_a_trap() {
    use ident::tests::errs::fs::{ErrorCode, OpenError};
    let e = OpenError::from(ErrorCode::Denied);
    assert_eq!(e.downcast_ref(), Some(&ErrorCode::Denied));
    assert_eq!(e.downcast().unwrap(), ErrorCode::Denied);
    let t = OpenError::trap(tern::Error::msg("fatal"));
    assert_eq!(t.downcast_ref(), None);
    assert_eq!(format!("{t}"), "fatal");
    assert_eq!(format!("{}", t.downcast().unwrap_err()), "fatal");
}

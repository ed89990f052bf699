//! Guests for the `bindgen!` tests. The test worlds' guests are Rust
//! crates written against the `wit-bindgen` guest crate
//! (`tests/bindgen-guests/`), built into components by
//! `tests/bindgen-guests/build.sh`; the built `.wasm` files are committed and
//! [`rust_guest`] loads them ([`committed_guests_are_up_to_date`] rebuilds
//! them and compares). One small world (`bindgen_twice::bindgen_interfaces_option`)
//! and the wasmtime-12 `trappable_error_type` test keep a hand-written
//! core module (WAT) that follows the component model's
//! core naming (`module "ns:pkg/iface"` for imports, `cabi_realloc`,
//! `memory`), made into a component by `wit-component` in the test.

use std::path::PathBuf;
use std::process::Command;

use tern::component::Component;
use tern::{Engine, Result};

/// A bump allocator (`cabi_realloc`, never frees) and the exported memory.
pub const ALLOCATOR: &str = r#"
  (memory (export "memory") 4)
  (global $heap (mut i32) (i32.const 4096))
  (func $realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (if (local.get $old_size) (then unreachable))
    (local.set $p
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then unreachable))
    (local.get $p))
"#;

/// A core function exporting `export` that calls import `$import` with the
/// same parameters. `retptr`: the results do not fit in one core value, so
/// the import writes them to a fresh area whose address the export returns.
pub fn forward(export: &str, import: &str, params: &[&str], result: Option<&str>) -> String {
    let decl: String = params.iter().map(|p| format!(" {p}")).collect();
    let gets: String = (0..params.len())
        .map(|i| format!(" (local.get {i})"))
        .collect();
    match result {
        Some("retptr") => format!(
            "(func (export \"{export}\") (param{decl}) (result i32) (local $r i32)
               (local.set $r (call $realloc (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 128)))
               (call {import}{gets} (local.get $r))
               (local.get $r))\n"
        ),
        Some(r) => format!(
            "(func (export \"{export}\") (param{decl}) (result {r}) (call {import}{gets}))\n"
        ),
        None => format!("(func (export \"{export}\") (param{decl}) (call {import}{gets}))\n"),
    }
}

/// A core import of function `name` from `module`, bound to `id`;
/// `result: Some("retptr")` adds the return-area pointer parameter.
pub fn import(module: &str, name: &str, id: &str, params: &[&str], result: Option<&str>) -> String {
    let mut decl: String = params.iter().map(|p| format!(" {p}")).collect();
    let res = match result {
        Some("retptr") => {
            decl.push_str(" i32");
            String::new()
        }
        Some(r) => format!(" (result {r})"),
        None => String::new(),
    };
    format!("(import \"{module}\" \"{name}\" (func {id} (param{decl}){res}))\n")
}

/// `core_wat` as a component of `world` in `wit`.
///
/// # Errors
/// WIT or WAT that does not parse, or a core module that does not match the world.
pub fn componentize(engine: &Engine, wit: &str, world: &str, core_wat: &str) -> Result<Component> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("guest.wit", wit)?;
    let world = resolve.select_world(&[pkg], Some(world))?;
    let mut module = wat::parse_str(core_wat)?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )?;
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()?;
    Component::new(engine, bytes)
}

/// An engine with the component model enabled.
pub fn engine() -> Engine {
    let mut config = tern::Config::new();
    config.wasm_component_model(true);
    Engine::new(&config).unwrap()
}

/// `tests/bindgen-guests`, the guest crates and their built components.
fn guests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/bindgen-guests")
}

/// The committed component built from the guest crate `tests/bindgen-guests/NAME`.
pub fn rust_guest(engine: &Engine, name: &str) -> Component {
    let path = guests_dir().join("wasm").join(format!("{name}.wasm"));
    Component::from_file(engine, &path)
        .unwrap_or_else(|e| panic!("loading {}: {e:#}", path.display()))
}

/// Whether `rustc` has the standard library for `target`.
pub fn target_installed(target: &str) -> bool {
    let out = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", target])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            std::fs::read_dir(dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        }
        _ => false,
    }
}

/// The committed guest components are what their sources build to.
#[test]
fn committed_guests_are_up_to_date() {
    if !target_installed("wasm32-unknown-unknown") {
        eprintln!("wasm32-unknown-unknown is not installed: not rebuilding the bindgen! guests");
        return;
    }
    let out = Command::new("bash")
        .arg(guests_dir().join("build.sh"))
        .arg("--check")
        .output()
        .expect("build.sh runs");
    assert!(
        out.status.success(),
        "tests/bindgen-guests/build.sh --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

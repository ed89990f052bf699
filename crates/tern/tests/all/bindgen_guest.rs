//! Guests for the `bindgen!` tests: a hand-written core module (WAT) that
//! follows the component model's core naming (`module "ns:pkg/iface"` for
//! imports, `"ns:pkg/iface#name"` for exports, `cabi_realloc`, `memory`),
//! made into a component for its WIT world by `wit-component`, the tool
//! guest toolchains use for the same step.
//!
//! Most guest functions forward an export to the import of the same type:
//! the host lowers the arguments into guest memory, the guest passes the
//! same core values to the import, the host lifts them, runs its
//! implementation, lowers the result into guest memory, and the guest
//! returns it to the host, which lifts it. Every value crosses the boundary
//! in both directions.

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

/// The import declaration matching [`forward`].
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

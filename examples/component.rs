//! Calls a component's export with a derived record type, through a crate
//! that depends on Tern under the name `wasmtime` (see this crate's manifest).
//! `cargo run --example component`

use wasmtime::component::{Component, ComponentType, Lift, Linker, Lower};
use wasmtime::{Config, Engine, Result, Store};

#[derive(ComponentType, Lift, Lower, Debug, Clone, Copy, PartialEq)]
#[component(record)]
struct Point {
    x: i32,
    y: i32,
}

/// Runs the example.
pub fn main() -> Result<()> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, include_str!("point.wat"))?;
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let instance = linker.instantiate(&mut store, &component)?;
    let add = instance.get_typed_func::<(Point, Point), (Point,)>(&mut store, "add")?;
    let (sum,) = add.call(&mut store, (Point { x: 1, y: 2 }, Point { x: 10, y: 20 }))?;
    add.post_return(&mut store)?;
    println!("add({{x: 1, y: 2}}, {{x: 10, y: 20}}) = {sum:?}");
    assert_eq!(sum, Point { x: 11, y: 22 });
    Ok(())
}

// `#[component(wasmtime_crate = path)]` is the path the derived code uses:
// a path that does not exist is what the compiler reports.
#[derive(tern_component_macro::ComponentType)]
#[component(record)]
#[component(wasmtime_crate = no_such_runtime)]
struct Point {
    x: i32,
}

fn main() {}

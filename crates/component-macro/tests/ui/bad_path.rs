// A WIT path that does not exist: the error names it and says what it is relative to.
tern_component_macro::bindgen!({
    path: "wit/does-not-exist.wit",
});

fn main() {}

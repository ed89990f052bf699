// A world the package does not have.
tern_component_macro::bindgen!({
    world: "nope",
    inline: "package a:b;
world w {}
",
});

fn main() {}

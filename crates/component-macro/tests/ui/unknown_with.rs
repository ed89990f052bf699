// A `with` key naming an interface the world does not import.
tern_component_macro::bindgen!({
    inline: "package a:b;
interface i { f: func(); }
world w { import i; }
",
    with: { "a:b/other": std::fmt },
});

fn main() {}

// A WIT syntax error: the error points at the WIT file, line and column.
tern_component_macro::bindgen!({
    inline: "package a:b;

interface i {
  f: func(x: u32) -> ;
}

world w { import i; }
",
});

fn main() {}

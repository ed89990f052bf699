// A WIT syntax error: the error points at the WIT source, line and column
// (`<inline>.wit`; a `path:` file is named by its absolute path, which differs
// per machine, so UI tests use inline WIT).
tern_component_macro::bindgen!({
    inline: "package a:b;

interface i {
  f: func(x: u32) -> ;
}

world w { import i; }
",
});

fn main() {}

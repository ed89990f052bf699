// `Borrowing` has one field, `duplicate_if_necessary: bool` (wasmtime's spelling).
tern_component_macro::bindgen!({
    inline: "package a:b;
world w { export f: func(s: list<string>); }
",
    ownership: Borrowing { duplicate: true },
});

fn main() {}

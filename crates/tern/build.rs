//! Builds the small C helper that gives Rust a `setjmp`/`longjmp` pair: Rust cannot
//! call `setjmp` itself, because a function that returns twice is outside its model.

fn main() {
    println!("cargo:rerun-if-changed=src/vm/helpers.c");
    cc::Build::new()
        .file("src/vm/helpers.c")
        .warnings(true)
        .compile("tern-helpers");
}

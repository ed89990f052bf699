//! Compile-fail tests of `bindgen!`'s error messages (trybuild): each file
//! in `ui/` must fail to compile with exactly the `.stderr` beside it.
//! `TRYBUILD=overwrite cargo test -p tern-component-macro --test ui`
//! rewrites the expectations after a deliberate change.

#[test]
fn bindgen_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

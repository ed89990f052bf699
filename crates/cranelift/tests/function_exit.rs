//! The end of a function body: when no branch targets it, the translator
//! returns right where the body ends, with no exit block whose parameters
//! would copy the results once more (a register move on every call through an
//! `if`'s results, as in a recursive `fib`); a branch to the function's label
//! still goes through an exit block.

mod common;

use tern_environ::{Tunables, WasmFeatures};

/// The CLIF of the only defined function of `wat`.
fn clif(wat: &str) -> String {
    let mut funcs =
        common::translate_to_clif(wat, WasmFeatures::default(), Tunables::default()).unwrap();
    assert_eq!(funcs.len(), 1);
    funcs.pop().unwrap()
}

/// The headers of the blocks with parameters, other than the entry block.
fn blocks_with_params(f: &str) -> Vec<&str> {
    f.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("block") && l.contains('(') && !l.starts_with("block0("))
        .collect()
}

/// The `return` instructions of `f`, without their source locations.
fn returns(f: &str) -> Vec<&str> {
    f.lines()
        .filter_map(|l| l.split_once("return").map(|(_, rest)| rest.trim()))
        .collect()
}

#[test]
fn a_body_ending_in_an_if_returns_the_ifs_result_directly() {
    let f = clif(
        r#"(module
             (func $fib (param $n i32) (result i32)
               (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
                 (then (local.get $n))
                 (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                                (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#,
    );
    // Only the `if`'s merge block takes a parameter, and it is what is returned.
    assert_returns_the_only_block_parameter(&f);
}

#[test]
fn a_branch_to_the_functions_label_still_reaches_one_exit_block() {
    let f = clif(
        r#"(module
             (func (param i32 i32) (result i32)
               (drop (br_if 0 (local.get 1) (local.get 0)))
               (i32.add (local.get 1) (i32.const 1))))"#,
    );
    // The branch and the fall-through both jump to the exit block, which
    // returns its parameter.
    assert_returns_the_only_block_parameter(&f);
}

#[test]
fn a_body_ending_unreachable_has_no_exit_block() {
    let f = clif(
        r#"(module
             (func (param i32) (result i32)
               (if (local.get 0) (then (return (i32.const 1))))
               (unreachable)))"#,
    );
    assert!(blocks_with_params(&f).is_empty(), "{f}");
    assert_eq!(returns(&f).len(), 1, "{f}");
}

/// Asserts that exactly one block of `f` takes a parameter and that the
/// function's single return returns it.
fn assert_returns_the_only_block_parameter(f: &str) {
    let blocks = blocks_with_params(f);
    assert_eq!(blocks.len(), 1, "{f}");
    let param = blocks[0]
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(v, _)| v)
        .unwrap();
    assert_eq!(returns(f), [param], "{f}");
}

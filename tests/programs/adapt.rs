//! Makes WASI 0.2 components of the preview-1 test programs with the standard
//! preview-1 adapter (`wasi-preview1-component-adapter-provider`'s command
//! adapter, which imports WASI 0.2.12) and `wit-component`, as `wasm-tools
//! component new --adapt` does. Included (with `#[path]`) by the tests that
//! run every preview-1 case a second time as a component.
//!
//! The components are made when the tests run rather than committed: they are
//! a pure function of two pinned inputs (the committed module and the pinned
//! adapter), so there is nothing to keep up to date and no toolchain needed.
//!
//! One difference is expected and documented: the adapter's `proc_exit`
//! calls `wasi:cli/exit.exit` with `err` for every nonzero status (it imports
//! no `exit-with-code`), so an adapted program that exits with N ≠ 0 exits 1.

#![allow(dead_code, reason = "each including test uses part of it")]

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
};

/// `module` (a preview-1 command) adapted into a `wasi:cli/command` component.
pub fn adapt(module: &[u8]) -> Vec<u8> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .expect("the preview-1 module is accepted by wit-component")
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )
        .expect("the standard adapter is accepted")
        .validate(true)
        .encode()
        .expect("the module and the adapter encode into a valid component")
}

/// The exit code of an adapted program whose module exits with `code`.
pub fn adapted_exit_code(code: i32) -> i32 {
    if code == 0 {
        0
    } else {
        1
    }
}

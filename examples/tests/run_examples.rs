//! Runs every example's `main` (each example is also `cargo run --example NAME`),
//! so CI keeps them working.

#[path = "../hello.rs"]
mod hello;

#[test]
fn hello() {
    hello::main().unwrap();
}

#[path = "../gcd.rs"]
mod gcd;

#[test]
fn gcd() {
    gcd::main().unwrap();
}

#[path = "../memory.rs"]
mod memory;

#[test]
fn memory() {
    memory::main().unwrap();
}

#[path = "../linking.rs"]
mod linking;

#[test]
fn linking() {
    linking::main().unwrap();
}

#[path = "../fuel.rs"]
mod fuel;

#[test]
fn fuel() {
    fuel::main().unwrap();
}

#[path = "../epochs.rs"]
mod epochs;

#[test]
fn epochs() {
    epochs::main().unwrap();
}

#[path = "../interrupt.rs"]
mod interrupt;

#[test]
fn interrupt() {
    interrupt::main().unwrap();
}

#[path = "../externref.rs"]
mod externref;

#[test]
fn externref() {
    externref::main().unwrap();
}

#[path = "../multi.rs"]
mod multi;

#[test]
fn multi() {
    multi::main().unwrap();
}

#[path = "../serialize.rs"]
mod serialize;

#[test]
fn serialize() {
    serialize::main().unwrap();
}

#[path = "../threads.rs"]
mod threads;

#[test]
fn threads() {
    threads::main().unwrap();
}

#[path = "../component.rs"]
mod component;

#[test]
fn component() {
    component::main().unwrap();
}

#[path = "../wasi.rs"]
mod wasi;

#[test]
fn wasi() {
    wasi::main().unwrap();
}

//! `cargo run --release -p tern-bench --bin component-bench`: the cost of
//! host → component calls through the canonical ABI, typed and with `Val`s:
//! passing a 1 KiB string, passing a 1,000-element list of records, and
//! getting a 1 KiB string back; then component → component calls, compiled
//! adapter against host-fused path, and a host call with a `Resource<T>` in
//! and out (`component_calls.rs`).
//!
//! Figures, not assertions. The guest does almost nothing (it sums or
//! measures what it gets), so the figures are the ABI's cost: allocating in
//! the guest through its `realloc`, copying, validating and lifting.

mod component_calls;

use anyhow::Result;
use std::time::Instant;
use tern::component::{Component, ComponentType, Lift, Linker, Lower, Val};
use tern::{Config, Engine, Store};

const COMPONENT: &str = r#"(component
  (type $rec' (record (field "id" u32) (field "weight" f64) (field "tag" u8)))
  (export $rec "rec" (type $rec'))
  (core module $M
    (memory (export "mem") 2)
    (global $next (mut i32) (i32.const 1024))
    (data (i32.const 64) "0123456789abcdef")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $r) (local.get 3)))
      (local.get $r))
    ;; post-return: every allocation of the call is garbage now
    (func (export "reset") (global.set $next (i32.const 1024)))
    (func (export "reset1") (param i32) (global.set $next (i32.const 1024)))
    (func (export "len") (param i32 i32) (result i32) (local.get 1))
    (func (export "sum") (param $p i32) (param $n i32) (result i32)
      (local $acc i32)
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 24)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (global.set $next (i32.const 1024))
      (local.get $acc))
    ;; returns a 1 KiB string: 64 copies of 16 bytes
    (func (export "make") (result i32)
      (local $i i32)
      (block $done (loop $l
        (br_if $done (i32.eq (local.get $i) (i32.const 64)))
        (memory.copy (i32.add (i32.const 4096) (i32.shl (local.get $i) (i32.const 4))) (i32.const 64) (i32.const 16))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (i32.store (i32.const 0) (i32.const 4096))
      (i32.store (i32.const 4) (i32.const 1024))
      (i32.const 0)))
  (core instance $m (instantiate $M))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))
      (post-return (core func $m "reset1"))))
  (func (export "sum") (param "xs" (list $rec)) (result u32)
    (canon lift (core func $m "sum") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
  (func (export "make") (result string)
    (canon lift (core func $m "make") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
)"#;

#[derive(ComponentType, Lift, Lower, Clone)]
#[component(record)]
struct Rec {
    id: u32,
    weight: f64,
    tag: u8,
}

/// Runs `f` `n` times after a warm-up and returns nanoseconds per run.
fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() -> Result<()> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, COMPONENT)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &component)?;

    let text = "x".repeat(1024);
    let len = instance.get_typed_func::<(&str,), (u32,)>(&mut store, "len")?;
    assert_eq!(len.call(&mut store, (&text,))?.0, 1024);
    let typed = per_call(100_000, || {
        len.call(&mut store, (&text,)).expect("call");
    });
    let len_dyn = instance.get_func(&mut store, "len").expect("len");
    let arg = [Val::String(text.clone())];
    let mut out = [Val::U32(0)];
    let dynamic = per_call(100_000, || {
        len_dyn.call(&mut store, &arg, &mut out).expect("call");
    });
    println!("host->component, 1 KiB string in:        typed {typed:7.0} ns/call   Val {dynamic:7.0} ns/call");

    let recs: Vec<Rec> = (0..1000)
        .map(|i| Rec {
            id: i,
            weight: f64::from(i) / 3.0,
            tag: i as u8,
        })
        .collect();
    let sum = instance.get_typed_func::<(&[Rec],), (u32,)>(&mut store, "sum")?;
    assert_eq!(sum.call(&mut store, (&recs,))?.0, (0..1000).sum::<u32>());
    let typed = per_call(10_000, || {
        sum.call(&mut store, (&recs,)).expect("call");
    });
    let sum_dyn = instance.get_func(&mut store, "sum").expect("sum");
    let arg = [Val::List(
        recs.iter()
            .map(|r| {
                Val::Record(vec![
                    ("id".into(), Val::U32(r.id)),
                    ("weight".into(), Val::Float64(r.weight)),
                    ("tag".into(), Val::U8(r.tag)),
                ])
            })
            .collect(),
    )];
    let dynamic = per_call(2_000, || {
        sum_dyn.call(&mut store, &arg, &mut out).expect("call");
    });
    println!("host->component, 1,000 records in:       typed {typed:7.0} ns/call   Val {dynamic:7.0} ns/call");

    let make = instance.get_typed_func::<(), (String,)>(&mut store, "make")?;
    assert_eq!(make.call(&mut store, ())?.0.len(), 1024);
    let typed = per_call(100_000, || {
        make.call(&mut store, ()).expect("call");
    });
    let make_dyn = instance.get_func(&mut store, "make").expect("make");
    let mut s = [Val::Bool(false)];
    let dynamic = per_call(100_000, || {
        make_dyn.call(&mut store, &[], &mut s).expect("call");
    });
    println!("host->component, 1 KiB string out:       typed {typed:7.0} ns/call   Val {dynamic:7.0} ns/call");
    component_calls::component_to_component()?;
    component_calls::host_resource()
}

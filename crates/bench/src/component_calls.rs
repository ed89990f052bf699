//! The `component-bench` rows for calls that do not start on the host:
//! component → component calls (compiled adapter against the host-fused
//! path, both measured in one run) and a component calling the host with a
//! `Resource<T>` in and out.
//!
//! Each guest runs the call in a loop of `n` iterations inside one export,
//! so the figure is the cost of the inner call alone (the host entry is
//! amortised over `n`).

use anyhow::Result;
use std::time::Instant;
use tern::component::{Component, Linker, Resource, ResourceType, Val};
use tern::{Config, Engine, Store};

/// A caller nested with a callee. The callee takes a string (`len`), a list
/// of 1,000 records (`sum`) and two `u32`s (`add`); the caller's `loop-*`
/// exports call them `n` times with arguments in its own memory: a 1 KiB
/// string at 1024, 1,000 records of 24 bytes at 4096.
const NESTED: &str = r#"(component
  (type $rec (record (field "id" u32) (field "weight" f64) (field "tag" u8)))
  (component $Callee
    (type $rec' (record (field "id" u32) (field "weight" f64) (field "tag" u8)))
    (import "rec" (type $rec (eq $rec')))
    (core module $M
      (memory (export "mem") 2)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $r) (local.get 3)))
        (local.get $r))
      (func (export "reset") (param i32) (global.set $next (i32.const 1024)))
      (func (export "len") (param i32 i32) (result i32) (local.get 1))
      (func (export "sum") (param $p i32) (param $n i32) (result i32)
        (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 24)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $acc))
      (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
    (core instance $m (instantiate $M))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))
        (post-return (core func $m "reset"))))
    (func (export "sum") (param "xs" (list $rec)) (result u32)
      (canon lift (core func $m "sum") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))
        (post-return (core func $m "reset"))))
    (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $m "add"))))
  (instance $callee (instantiate $Callee (with "rec" (type $rec))))
  (component $Caller
    (type $rec' (record (field "id" u32) (field "weight" f64) (field "tag" u8)))
    (import "rec" (type $rec (eq $rec')))
    (import "len" (func $len (param "s" string) (result u32)))
    (import "sum" (func $sum (param "xs" (list $rec)) (result u32)))
    (import "add" (func $add (param "a" u32) (param "b" u32) (result u32)))
    (core module $Mem (memory (export "mem") 2))
    (core instance $mem (instantiate $Mem))
    (core func $len' (canon lower (func $len) (memory (core memory $mem "mem"))))
    (core func $sum' (canon lower (func $sum) (memory (core memory $mem "mem"))))
    (core func $add' (canon lower (func $add)))
    (core module $M
      (import "" "mem" (memory 2))
      (import "" "len" (func $len (param i32 i32) (result i32)))
      (import "" "sum" (func $sum (param i32 i32) (result i32)))
      (import "" "add" (func $add (param i32 i32) (result i32)))
      (func (export "init") (local $i i32)
        (memory.fill (i32.const 1024) (i32.const 120) (i32.const 1024))
        (block $done (loop $l
          (br_if $done (i32.eq (local.get $i) (i32.const 1000)))
          (i32.store (i32.add (i32.const 4096) (i32.mul (local.get $i) (i32.const 24))) (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l))))
      (func (export "loop-len") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (call $len (i32.const 1024) (i32.const 1024))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $acc))
      (func (export "loop-sum") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (call $sum (i32.const 4096) (i32.const 1000))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $acc))
      (func (export "loop-add") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (call $add (local.get $acc) (i32.const 1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $acc)))
    (core instance $m (instantiate $M (with "" (instance (export "mem" (memory $mem "mem"))
      (export "len" (func $len')) (export "sum" (func $sum')) (export "add" (func $add'))))))
    (func (export "init") (canon lift (core func $m "init")))
    (func (export "loop-len") (param "n" u32) (result u32) (canon lift (core func $m "loop-len")))
    (func (export "loop-sum") (param "n" u32) (result u32) (canon lift (core func $m "loop-sum")))
    (func (export "loop-add") (param "n" u32) (result u32) (canon lift (core func $m "loop-add"))))
  (instance $caller (instantiate $Caller (with "rec" (type $rec))
    (with "len" (func $callee "len")) (with "sum" (func $callee "sum")) (with "add" (func $callee "add"))))
  (export "init" (func $caller "init"))
  (export "loop-len" (func $caller "loop-len"))
  (export "loop-sum" (func $caller "loop-sum"))
  (export "loop-add" (func $caller "loop-add"))
)"#;

/// A guest that calls host `pass(own r) -> own r` in a loop.
const RESOURCE_USER: &str = r#"(component
  (import "host" (instance $h
    (export "r" (type $T (sub resource)))
    (export "new" (func (result (own $T))))
    (export "pass" (func (param "r" (own $T)) (result (own $T))))))
  (alias export $h "r" (type $T))
  (core func $new (canon lower (func $h "new")))
  (core func $pass (canon lower (func $h "pass")))
  (core func $drop (canon resource.drop $T))
  (core module $M
    (import "" "new" (func $new (result i32)))
    (import "" "pass" (func $pass (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "loop") (param $n i32) (result i32) (local $r i32)
      (local.set $r (call $new))
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $r (call $pass (local.get $r)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (call $drop (local.get $r))
      (local.get $r)))
  (core instance $m (instantiate $M (with "" (instance
    (export "new" (func $new)) (export "pass" (func $pass)) (export "drop" (func $drop))))))
  (func (export "loop") (param "n" u32) (result u32) (canon lift (core func $m "loop")))
)"#;

/// Nanoseconds per inner call of export `name` looping `n` times.
fn per_inner_call(
    store: &mut Store<()>,
    instance: &tern::component::Instance,
    name: &str,
    n: u32,
) -> Result<f64> {
    let f = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| anyhow::anyhow!("no export `{name}`"))?;
    let mut out = [Val::U32(0)];
    f.call(&mut *store, &[Val::U32(n / 10)], &mut out)?;
    let start = Instant::now();
    f.call(&mut *store, &[Val::U32(n)], &mut out)?;
    Ok(start.elapsed().as_nanos() as f64 / f64::from(n))
}

/// Prints the component → component rows.
pub fn component_to_component() -> Result<()> {
    let mut figures = Vec::new();
    for adapters in [true, false] {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.component_compiled_adapters(adapters);
        let engine = Engine::new(&config)?;
        let component = Component::new(&engine, NESTED)?;
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine).instantiate(&mut store, &component)?;
        let init = instance
            .get_func(&mut store, "init")
            .ok_or_else(|| anyhow::anyhow!("no init"))?;
        init.call(&mut store, &[], &mut [])?;
        figures.push((
            per_inner_call(&mut store, &instance, "loop-len", 100_000)?,
            per_inner_call(&mut store, &instance, "loop-sum", 2_000)?,
            per_inner_call(&mut store, &instance, "loop-add", 1_000_000)?,
            component.fused_calls(),
        ));
    }
    let (compiled, fused) = (&figures[0], &figures[1]);
    println!(
        "component->component, 1 KiB string:     compiled {:7.0} ns/call   host-fused {:7.0} ns/call",
        compiled.0, fused.0
    );
    println!(
        "component->component, 1,000 records:    compiled {:7.0} ns/call   host-fused {:7.0} ns/call",
        compiled.1, fused.1
    );
    println!(
        "component->component, (u32, u32) -> u32: compiled {:7.1} ns/call   host-fused {:7.1} ns/call",
        compiled.2, fused.2
    );
    for (lowered, reason) in &compiled.3 {
        println!("  (still host-fused with adapters on: lowered function {lowered}: {reason})");
    }
    Ok(())
}

/// Prints the row of a guest calling the host with a `Resource<T>` in and out.
pub fn host_resource() -> Result<()> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, RESOURCE_USER)?;
    let mut linker = Linker::<()>::new(&engine);
    let mut host = linker.instance("host")?;
    host.resource("r", ResourceType::host::<u32>(), |_, _| Ok(()))?;
    host.func_wrap("new", |_, (): ()| Ok((Resource::<u32>::new_own(7),)))?;
    host.func_wrap("pass", |_, (r,): (Resource<u32>,)| Ok((r,)))?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component)?;
    let ns = per_inner_call(&mut store, &instance, "loop", 1_000_000)?;
    println!("component->host, Resource<T> in and out: typed {ns:7.1} ns/call");
    Ok(())
}

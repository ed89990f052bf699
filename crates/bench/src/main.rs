//! `cargo run --release -p tern-bench`: prints Tern's compile, instantiate,
//! call-overhead and compute-kernel figures.
//!
//! `asyncs.rs` prints the async API's call costs beside the synchronous ones.
//!
//! Figures, not assertions: nothing here is part of the test run. The kernels in
//! `kernels.wat` are also what `benches/compare.sh` runs under wasmtime 48 side
//! by side with `tern run`. With the argument `spectre`, only the cost of the
//! Spectre guards in dynamic-memory mode is measured (see `spectre.rs`).

mod asyncs;
mod spectre;

use anyhow::Result;
use std::time::{Duration, Instant};
use tern::*;

/// A module with `n` functions of a few dozen instructions each, calling each
/// other, as a stand-in for a large real program.
fn generated_module(n: usize) -> String {
    let mut wat = String::from("(module (memory 1) (global $g (mut i32) (i32.const 0))\n");
    for i in 0..n {
        let callee = if i == 0 { 0 } else { i - 1 };
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param $a i32) (param $b i32) (result i32) (local $t i32)
               (local.set $t (i32.add (local.get $a) (i32.const {i})))
               (if (i32.gt_s (local.get $t) (i32.const 100))
                 (then (local.set $t (i32.mul (local.get $t) (local.get $b))))
                 (else (local.set $t (i32.xor (local.get $t) (i32.load (i32.and (local.get $b) (i32.const 1020)))))))
               (i32.store (i32.const 16) (local.get $t))
               (global.set $g (i32.add (global.get $g) (local.get $t)))
               (if (i32.eqz (local.get $a)) (then (return (local.get $t))))
               (call $f{callee} (i32.sub (local.get $a) (i32.const 1)) (local.get $t)))\n"
        ));
    }
    wat.push(')');
    wat
}

fn time<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> (R, Duration) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let (r, d) = time(&mut f);
        best = best.min(d);
        last = Some(r);
    }
    (last.expect("at least one run"), best)
}

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("spectre") {
        return spectre::spectre_cost(11);
    }
    let engine = Engine::default();

    let wat = generated_module(10_000);
    let wasm = wat::parse_str(&wat)?;
    std::fs::write(std::env::temp_dir().join("tern-bench-10k.wasm"), &wasm)?;
    let (module, compile) = best_of(3, || Module::new(&engine, &wasm));
    let module = module?;
    println!(
        "compile 10,000-function module ({} KiB): {:.1} ms",
        wasm.len() / 1024,
        compile.as_secs_f64() * 1e3
    );

    let mut store = Store::new(&engine, ());
    let (_, inst) = best_of(100, || Instance::new(&mut store, &module, &[]).map(|_| ()));
    println!("instantiate it: {:.1} us", inst.as_secs_f64() * 1e6);

    let kernels = Module::from_file(&engine, concat!(env!("CARGO_MANIFEST_DIR"), "/kernels.wat"))?;
    let mut store = Store::new(&engine, ());
    let (_, small_inst) = best_of(1000, || {
        Instance::new(&mut store, &kernels, &[]).map(|_| ())
    });
    println!(
        "instantiate kernels module (10 MiB memory): {:.2} us",
        small_inst.as_secs_f64() * 1e6
    );
    instantiate_with_data(&engine)?;
    let instance = Instance::new(&mut store, &kernels, &[])?;
    first_call_after_deserialize(&kernels)?;

    let nop = instance.get_typed_func::<(), ()>(&mut store, "nop")?;
    const CALLS: u32 = 1_000_000;
    let (_, d) = best_of(3, || {
        for _ in 0..CALLS {
            nop.call(&mut store, ()).unwrap();
        }
    });
    println!(
        "host->wasm call (TypedFunc, nop): {:.1} ns",
        d.as_secs_f64() * 1e9 / f64::from(CALLS)
    );
    let nop_untyped = instance.get_func(&mut store, "nop").unwrap();
    let (_, d) = best_of(3, || {
        for _ in 0..CALLS {
            nop_untyped.call(&mut store, &[], &mut []).unwrap();
        }
    });
    println!(
        "host->wasm call (Func::call, nop): {:.1} ns",
        d.as_secs_f64() * 1e9 / f64::from(CALLS)
    );

    let caller = Module::new(
        &engine,
        r#"(module (import "h" "f" (func $f (param i32) (result i32)))
            (func (export "loop") (param $n i32) (result i32) (local $acc i32)
              (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
                (local.set $acc (call $f (local.get $acc)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l)))
              (local.get $acc)))"#,
    )?;
    let host = Func::wrap(&mut store, |x: i32| x.wrapping_add(1));
    let ci = Instance::new(&mut store, &caller, &[host.into()])?;
    let lp = ci.get_typed_func::<i32, i32>(&mut store, "loop")?;
    let (_, d) = best_of(3, || lp.call(&mut store, CALLS as i32).unwrap());
    println!(
        "wasm->host call (Func::wrap, i32 -> i32): {:.1} ns",
        d.as_secs_f64() * 1e9 / f64::from(CALLS)
    );

    asyncs::async_calls()?;

    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    let (r, d) = best_of(5, || fib.call(&mut store, 30).unwrap());
    println!("fib(30) = {r}: {:.1} ms", d.as_secs_f64() * 1e3);
    let sieve = instance.get_typed_func::<i32, i32>(&mut store, "sieve")?;
    let (r, d) = best_of(5, || sieve.call(&mut store, 10_000_000).unwrap());
    println!(
        "sieve(10,000,000) = {r} primes: {:.1} ms",
        d.as_secs_f64() * 1e3
    );
    let mandel = instance.get_typed_func::<i32, i32>(&mut store, "mandel")?;
    let (r, d) = best_of(5, || mandel.call(&mut store, 600).unwrap());
    println!(
        "mandel(600) = {r} iterations: {:.1} ms",
        d.as_secs_f64() * 1e3
    );

    simd_versus_scalar(&engine)
}

/// A module whose memory starts with 1 MiB of non-zero active data segments
/// (16 segments of 64 KiB), instantiated in a fresh store each time: the cost
/// of initialising memory, which a copy-on-write image removes.
fn instantiate_with_data(engine: &Engine) -> Result<()> {
    let mut wat = String::from("(module (memory (export \"m\") 32)\n");
    for seg in 0..16 {
        let bytes: String = (0..65_536u32)
            .map(|i| format!("\\{:02x}", (i.wrapping_mul(31) ^ seg) as u8 | 1))
            .collect();
        wat.push_str(&format!(
            "(data (i32.const {}) \"{bytes}\")\n",
            seg * 65_536
        ));
    }
    wat.push(')');
    let module = Module::new(engine, &wat)?;
    let (_, d) = best_of(200, || {
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[]);
        (store, instance.map(|_| ()))
    });
    println!(
        "instantiate module with 1 MiB of data segments (new store): {:.1} us",
        d.as_secs_f64() * 1e6
    );
    Ok(())
}

/// Loads `module`'s artifact into a fresh engine and times the first call of an
/// export: the path that must not compile anything (one shot, not a best-of,
/// since only the first call is measured).
fn first_call_after_deserialize(module: &Module) -> Result<()> {
    let bytes = module.serialize()?;
    let engine = Engine::default();
    // SAFETY: the bytes were just written by `Module::serialize` of this Tern.
    let (module, load) = time(|| unsafe { Module::deserialize(&engine, &bytes) });
    let module = module?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    let (r, first) = time(|| fib.call(&mut store, 1));
    r?;
    let (r, second) = time(|| fib.call(&mut store, 1));
    r?;
    println!(
        "deserialize kernels artifact: {:.1} us; first call of an export: {:.1} us (second: {:.1} us)",
        load.as_secs_f64() * 1e6,
        first.as_secs_f64() * 1e6,
        second.as_secs_f64() * 1e6
    );
    Ok(())
}

/// The same dot products with and without SIMD, and the speed-up.
fn simd_versus_scalar(engine: &Engine) -> Result<()> {
    let module = Module::from_file(engine, concat!(env!("CARGO_MANIFEST_DIR"), "/simd.wat"))?;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    const N: i32 = 1 << 20;
    instance
        .get_typed_func::<i32, ()>(&mut store, "fill")?
        .call(&mut store, N)?;
    let i16_scalar = instance.get_typed_func::<i32, i32>(&mut store, "dot_i16_scalar")?;
    let i16_simd = instance.get_typed_func::<i32, i32>(&mut store, "dot_i16_simd")?;
    let (a, ds) = best_of(20, || i16_scalar.call(&mut store, N).unwrap());
    let (b, dv) = best_of(20, || i16_simd.call(&mut store, N).unwrap());
    assert_eq!(a, b, "SIMD and scalar dot products agree");
    println!(
        "dot product, 2^20 x i16: scalar {:.0} us, SIMD {:.0} us: {:.1}x",
        ds.as_secs_f64() * 1e6,
        dv.as_secs_f64() * 1e6,
        ds.as_secs_f64() / dv.as_secs_f64()
    );
    let f32_scalar = instance.get_typed_func::<i32, f32>(&mut store, "dot_f32_scalar")?;
    let f32_simd = instance.get_typed_func::<i32, f32>(&mut store, "dot_f32_simd")?;
    let (a, ds) = best_of(20, || f32_scalar.call(&mut store, N).unwrap());
    let (b, dv) = best_of(20, || f32_simd.call(&mut store, N).unwrap());
    println!(
        "dot product, 2^20 x f32: scalar {:.0} us ({a}), SIMD {:.0} us ({b}): {:.1}x",
        ds.as_secs_f64() * 1e6,
        dv.as_secs_f64() * 1e6,
        ds.as_secs_f64() / dv.as_secs_f64()
    );
    Ok(())
}

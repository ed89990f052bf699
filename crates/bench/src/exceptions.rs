//! The cost of wasm exception handling: a loop that throws and catches one
//! exception per iteration across a call (`throw` in a callee, `try_table`
//! with `catch` in the caller), and the same loop without the throw, so the
//! difference is the exception's own cost.

use anyhow::Result;
use std::time::{Duration, Instant};
use tern::*;

/// Iterations of each loop.
const ITERATIONS: i32 = 1_000_000;

/// `throws(n)` throws and catches `n` exceptions, each carrying the counter;
/// `calls(n)` makes the same `n` calls that return normally.
const MODULE: &str = r#"(module
  (tag $e (param i32))
  (func $thrower (param i32) (result i32) (throw $e (local.get 0)))
  (func $returner (param i32) (result i32) (local.get 0))
  (func (export "throws") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (block $caught (result i32)
          (try_table (result i32) (catch $e $caught)
            (call $thrower (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func (export "calls") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $returner (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
)"#;

/// Runs `export(ITERATIONS)` `runs` times, each in a fresh store (thrown
/// exceptions live on the GC heap, which is not collected yet, so one store's
/// heap would keep growing), and returns the last result with the fastest call's time; the
/// instantiation is outside the timed part.
fn best_of(engine: &Engine, module: &Module, export: &str, runs: usize) -> Result<(i32, Duration)> {
    let mut best: Option<Duration> = None;
    let mut out = 0;
    for _ in 0..runs {
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, module, &[])?;
        let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
        let start = Instant::now();
        out = f.call(&mut store, ITERATIONS)?;
        let d = start.elapsed();
        if best.is_none_or(|b| d < b) {
            best = Some(d);
        }
    }
    Ok((out, best.unwrap_or_default()))
}

/// Prints the exception figures (ns per iteration).
pub fn exception_loop() -> Result<()> {
    let mut config = Config::new();
    config.wasm_exceptions(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, MODULE)?;
    let per_iteration = |d: Duration| d.as_secs_f64() * 1e9 / f64::from(ITERATIONS);
    for (export, label) in [
        ("throws", "throw + catch across a call"),
        ("calls", "the same call, returning normally"),
    ] {
        let (sum, d) = best_of(&engine, &module, export, 5)?;
        // Both loops add 0 + 1 + … + (n - 1), wrapping.
        let expected = (0..ITERATIONS).fold(0i32, |a, i| a.wrapping_add(i));
        anyhow::ensure!(
            sum == expected,
            "{export} returned {sum}, expected {expected}"
        );
        println!(
            "exception loop, {label}: {:.1} ns per iteration",
            per_iteration(d)
        );
    }
    Ok(())
}

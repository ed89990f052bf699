//! The benchmark source shared by Tern and wasmtime: `suite!` expands the same
//! code once against `tern` and, with the `wasmtime` feature, once against the
//! `wasmtime` crate (48.x), so both runtimes run identical workloads in one
//! process and `main.rs` can print Tern / wasmtime ratios (issue 15's table).
//!
//! Only API that Tern (wasmtime 12's names) and wasmtime 48 share is used here;
//! modules are handed over as binary wasm (wasmtime is built without `wat`).
//! Figures, not assertions: nothing here is part of the test run.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// One measured row: what, the value, and its unit (smaller is better).
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub name: &'static str,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
}

/// Runs `f` `runs` times and returns the last result and the shortest time.
pub fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> (R, Duration) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let r = f();
        best = best.min(start.elapsed());
        last = Some(r);
    }
    (last.expect("at least one run"), best)
}

/// This process's resident set size in KiB (Linux `/proc/self/statm`), or 0.
pub fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// A module with `n` functions of a few dozen instructions each, calling each
/// other, as a stand-in for a large real program (10,000 functions ≈ 1.2 MB).
pub fn generated_module(n: usize) -> String {
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

/// A module that calls an imported `i32 -> i32` host function `n` times.
pub const HOST_CALLER: &str = r#"(module (import "h" "f" (func $f (param i32) (result i32)))
    (func (export "loop") (param $n i32) (result i32) (local $acc i32)
      (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
        (local.set $acc (call $f (local.get $acc)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l)))
      (local.get $acc)))"#;

/// A module for the async rows: an empty export, and exports that call an
/// imported async host function once (one whose future is ready at once, one
/// whose future is pending once).
pub const ASYNC_HOST: &str = r#"(module
    (import "h" "ready" (func $ready (param i32) (result i32)))
    (import "h" "yield" (func $yield (param i32) (result i32)))
    (func (export "nop"))
    (func (export "ready") (param i32) (result i32) (call $ready (local.get 0)))
    (func (export "yield") (param i32) (result i32) (call $yield (local.get 0))))"#;

/// Polls `future` on this thread with a no-op waker until it is ready, so the
/// async rows measure the runtime's fibers, not an executor.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// A future that is pending once (the wasm's fiber suspends and is resumed), then ready.
pub struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A module importing `n` host functions `h::f0` … and calling each once.
pub fn host_importer(n: usize) -> String {
    let mut wat = String::from("(module\n");
    for i in 0..n {
        wat.push_str(&format!(
            "(import \"h\" \"f{i}\" (func $f{i} (param i32) (result i32)))\n"
        ));
    }
    wat.push_str("(func (export \"run\") (result i32) (i32.const 0)");
    for i in 0..n {
        wat.push_str(&format!(" (call $f{i})"));
    }
    wat.push_str("))");
    wat
}

/// A module whose funcref table of `n` elements is filled by an active
/// element segment with `n` distinct functions, as a C program's table of
/// function pointers (10,000 for the lazy-table row); `call` runs one
/// through `call_indirect`.
pub fn funcref_table_module(n: usize) -> String {
    let mut wat = format!("(module (type $t (func (result i32))) (table {n} funcref)\n");
    for i in 0..n {
        wat.push_str(&format!("(func $f{i} (type $t) (i32.const {i}))\n"));
    }
    wat.push_str("(elem (i32.const 0) func");
    for i in 0..n {
        wat.push_str(&format!(" $f{i}"));
    }
    wat.push_str(")\n(func (export \"call\") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))");
    wat
}

/// Inputs shared by both runtimes, as binary wasm.
pub struct Inputs {
    /// The 10,000-function module.
    pub big: Vec<u8>,
    /// `kernels.wat`: nop, fib, sieve, mandel.
    pub kernels: Vec<u8>,
    /// [`HOST_CALLER`].
    pub host_caller: Vec<u8>,
    /// [`ASYNC_HOST`].
    pub async_host: Vec<u8>,
    /// A module importing ten `i32 -> i32` host functions `h::f0` … `h::f9`.
    pub host_importer: Vec<u8>,
}

impl Inputs {
    /// Builds the inputs.
    ///
    /// # Errors
    /// When a text module does not parse.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            big: wat::parse_str(generated_module(10_000))?,
            kernels: wat::parse_file(concat!(env!("CARGO_MANIFEST_DIR"), "/kernels.wat"))?,
            host_caller: wat::parse_str(HOST_CALLER)?,
            async_host: wat::parse_str(ASYNC_HOST)?,
            host_importer: wat::parse_str(host_importer(10))?,
        })
    }
}

/// Number of calls per call-overhead measurement.
pub const CALLS: u32 = 1_000_000;
/// Number of calls per async call measurement.
pub const ASYNC_CALLS: u32 = 100_000;
/// The kernel rows: name, export of `kernels.wat`, argument.
pub const KERNELS: [(&str, &str, i32); 3] = [
    ("fib(30)", "fib", 30),
    ("sieve(10,000,000)", "sieve", 10_000_000),
    ("mandel(600)", "mandel", 600),
];
/// Live instances in the density row.
pub const LIVE: usize = 2_000;

/// Expands the benchmark suite as module `$name`, written against the crate `$rt`.
macro_rules! suite {
    ($name:ident, $rt:ident) => {
        /// The benchmark suite, compiled against one runtime crate.
        pub mod $name {
            use crate::measure::Call;
            use crate::suite::{
                best_of, block_on, rss_kib, Inputs, Row, YieldOnce, ASYNC_CALLS, CALLS, KERNELS,
                LIVE,
            };
            use ::$rt::{
                Caller, Config, Engine, Func, Instance, InstanceAllocationStrategy, Linker, Module,
                PoolingAllocationConfig, Store,
            };

            fn us(d: std::time::Duration) -> f64 {
                d.as_secs_f64() * 1e6
            }

            fn ms(d: std::time::Duration) -> f64 {
                d.as_secs_f64() * 1e3
            }

            /// The async rows' calls: `call_async` of an empty function, and
            /// a wasm -> async host -> wasm round trip whose host future is
            /// ready at once or pending once; each in its own store.
            fn async_calls(inputs: &Inputs, calls: &mut Vec<Call>) -> anyhow::Result<()> {
                let mut config = Config::new();
                // wasmtime 48 always supports async (its setter is a deprecated no-op).
                #[allow(
                    deprecated,
                    reason = "needed by Tern and wasmtime 12, a no-op in wasmtime 48"
                )]
                config.async_support(true);
                let engine = Engine::new(&config)?;
                let module = Module::new(&engine, &inputs.async_host)?;
                let mut linker = Linker::<()>::new(&engine);
                linker.func_wrap_async("h", "ready", |_: Caller<'_, ()>, (x,): (i32,)| {
                    Box::new(async move { Ok::<i32, ::$rt::Error>(x.wrapping_add(1)) })
                })?;
                linker.func_wrap_async("h", "yield", |_: Caller<'_, ()>, (x,): (i32,)| {
                    Box::new(async move {
                        YieldOnce(false).await;
                        Ok::<i32, ::$rt::Error>(x.wrapping_add(1))
                    })
                })?;
                let mut store = Store::new(&engine, ());
                let instance = block_on(linker.instantiate_async(&mut store, &module))?;
                let nop = instance.get_typed_func::<(), ()>(&mut store, "nop")?;
                calls.push(Call {
                    name: "host -> wasm call_async (TypedFunc, empty)",
                    iterations: ASYNC_CALLS,
                    call: Box::new(move || {
                        for _ in 0..ASYNC_CALLS {
                            block_on(nop.call_async(&mut store, ()))?;
                        }
                        Ok(0)
                    }),
                });
                for (name, export) in [
                    ("call_async: wasm -> async host -> wasm, ready", "ready"),
                    (
                        "call_async: wasm -> async host -> wasm, pending once",
                        "yield",
                    ),
                ] {
                    let mut store = Store::new(&engine, ());
                    let instance = block_on(linker.instantiate_async(&mut store, &module))?;
                    let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
                    calls.push(Call {
                        name,
                        iterations: ASYNC_CALLS,
                        call: Box::new(move || {
                            for i in 0..ASYNC_CALLS as i32 {
                                let out = block_on(f.call_async(&mut store, i))?;
                                anyhow::ensure!(out == i.wrapping_add(1), "{export}({i}) = {out}");
                            }
                            Ok(0)
                        }),
                    });
                }
                Ok(())
            }

            /// The lazy-table row: instantiating [`crate::suite::funcref_table_module`]
            /// with 10,000 elements in a new store (and checking one slot works).
            ///
            /// # Errors
            /// When the module fails to compile, instantiate or run.
            fn funcref_table_row(engine: &Engine) -> anyhow::Result<f64> {
                let wasm = wat::parse_str(crate::suite::funcref_table_module(10_000))?;
                let module = Module::new(engine, &wasm)?;
                let (r, d) = best_of(1000, || {
                    let mut store = Store::new(engine, ());
                    Instance::new(&mut store, &module, &[]).map(|_| ())
                });
                r?;
                let mut store = Store::new(engine, ());
                let instance = Instance::new(&mut store, &module, &[])?;
                let call = instance.get_typed_func::<i32, i32>(&mut store, "call")?;
                let out = call.call(&mut store, 9_999)?;
                anyhow::ensure!(out == 9_999, "call(9999) = {out}");
                Ok(us(d))
            }

            /// The compile, deserialize and instantiation rows (wall-clock
            /// time, best of many; each runtime's rows in one go).
            ///
            /// # Errors
            /// When a module fails to compile or instantiate.
            pub fn instantiation(inputs: &Inputs) -> anyhow::Result<Vec<Row>> {
                let engine = Engine::default();
                let mut rows = Vec::new();
                let mut row = |name, value, unit| rows.push(Row { name, value, unit });

                let (big, d) = best_of(3, || Module::new(&engine, &inputs.big));
                let big = big?;
                row("compile 1.2 MB module (wall)", ms(d), "ms");
                let bytes = big.serialize()?;
                let (loaded, d) = best_of(10, || {
                    // SAFETY: the bytes were just written by `serialize` of this
                    // runtime and engine.
                    unsafe { Module::deserialize(&engine, &bytes) }
                });
                loaded?;
                row("deserialize 1.2 MB artifact", ms(d), "ms");
                let (r, d) = best_of(200, || {
                    let mut store = Store::new(&engine, ());
                    Instance::new(&mut store, &big, &[]).map(|_| ())
                });
                r?;
                row("instantiate 1.2 MB module (new store)", us(d), "us");

                let kernels = Module::new(&engine, &inputs.kernels)?;
                let (r, d) = best_of(1000, || {
                    let mut store = Store::new(&engine, ());
                    Instance::new(&mut store, &kernels, &[]).map(|_| ())
                });
                r?;
                row("instantiate small module (new store)", us(d), "us");

                row(
                    "instantiate module with a 10,000-element funcref table (new store)",
                    funcref_table_row(&engine)?,
                    "us",
                );

                let (r, d) = best_of(3, || -> anyhow::Result<u64> {
                    let mut store = Store::new(&engine, ());
                    let before = rss_kib();
                    for _ in 0..LIVE {
                        Instance::new(&mut store, &big, &[])?;
                    }
                    Ok(rss_kib().saturating_sub(before))
                });
                let kib = r?;
                row(
                    "2,000 live instances of the 1.2 MB module: time",
                    us(d),
                    "us",
                );
                row(
                    "2,000 live instances: resident memory growth",
                    kib as f64,
                    "KiB",
                );

                // Through a pre-linked `InstancePre`: ten host-function imports.
                let mut linker = Linker::<()>::new(&engine);
                for i in 0..10 {
                    linker.func_wrap("h", &format!("f{i}"), |x: i32| x.wrapping_add(1))?;
                }
                let importer = Module::new(&engine, &inputs.host_importer)?;
                let pre = linker.instantiate_pre(&importer)?;
                let (r, d) = best_of(1000, || {
                    let mut store = Store::new(&engine, ());
                    pre.instantiate(&mut store).map(|_| ())
                });
                r?;
                row(
                    "InstancePre::instantiate, 10 host imports (new store)",
                    us(d),
                    "us",
                );

                // The same instantiations with the pooling allocator.
                let mut pool = PoolingAllocationConfig::default();
                pool.total_core_instances(100)
                    .total_memories(100)
                    .total_tables(100);
                let mut config = Config::new();
                config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
                let pooled = Engine::new(&config)?;
                let small = Module::new(&pooled, &inputs.kernels)?;
                let (r, d) = best_of(1000, || {
                    let mut store = Store::new(&pooled, ());
                    Instance::new(&mut store, &small, &[]).map(|_| ())
                });
                r?;
                row("instantiate small module (pooled, new store)", us(d), "us");
                let big = Module::new(&pooled, &inputs.big)?;
                let (r, d) = best_of(200, || {
                    let mut store = Store::new(&pooled, ());
                    Instance::new(&mut store, &big, &[]).map(|_| ())
                });
                r?;
                row("instantiate 1.2 MB module (pooled, new store)", us(d), "us");
                row(
                    "instantiate module with a 10,000-element funcref table (pooled, new store)",
                    funcref_table_row(&pooled)?,
                    "us",
                );

                Ok(rows)
            }

            /// The calls of the call-overhead, kernel and async rows, each
            /// with its own store, ready to be timed (`measure.rs`); in the
            /// table's order.
            ///
            /// # Errors
            /// When a module fails to compile or instantiate.
            pub fn calls(inputs: &Inputs) -> anyhow::Result<Vec<Call>> {
                let engine = Engine::default();
                let kernels = Module::new(&engine, &inputs.kernels)?;
                let mut calls = Vec::new();

                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &kernels, &[])?;
                let nop = instance.get_typed_func::<(), ()>(&mut store, "nop")?;
                calls.push(Call {
                    name: "host -> wasm call (TypedFunc)",
                    iterations: CALLS,
                    call: Box::new(move || {
                        for _ in 0..CALLS {
                            nop.call(&mut store, ())?;
                        }
                        Ok(0)
                    }),
                });

                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &kernels, &[])?;
                let nop = instance
                    .get_func(&mut store, "nop")
                    .ok_or_else(|| anyhow::anyhow!("no nop"))?;
                calls.push(Call {
                    name: "host -> wasm call (Func::call)",
                    iterations: CALLS,
                    call: Box::new(move || {
                        for _ in 0..CALLS {
                            nop.call(&mut store, &[], &mut [])?;
                        }
                        Ok(0)
                    }),
                });

                let mut store = Store::new(&engine, ());
                let caller = Module::new(&engine, &inputs.host_caller)?;
                let host = Func::wrap(&mut store, |x: i32| x.wrapping_add(1));
                let ci = Instance::new(&mut store, &caller, &[host.into()])?;
                let lp = ci.get_typed_func::<i32, i32>(&mut store, "loop")?;
                calls.push(Call {
                    name: "wasm -> host call (Func::wrap)",
                    iterations: CALLS,
                    call: Box::new(move || Ok(lp.call(&mut store, CALLS as i32)? as u32)),
                });

                calls.extend(kernel_calls(&inputs.kernels, None, None)?);
                async_calls(inputs, &mut calls)?;
                Ok(calls)
            }

            /// The kernel rows' calls (or only the export `only`'s), compiled
            /// from `kernels_wasm` with the default configuration, each in its
            /// own store, called with the row's argument or `arg`.
            ///
            /// # Errors
            /// When the module fails to compile or instantiate.
            pub fn kernel_calls(
                kernels_wasm: &[u8],
                only: Option<&str>,
                arg: Option<i32>,
            ) -> anyhow::Result<Vec<Call>> {
                let engine = Engine::default();
                let kernels = Module::new(&engine, kernels_wasm)?;
                let mut calls = Vec::new();
                for (name, export, row_arg) in KERNELS {
                    if only.is_some_and(|o| o != export) {
                        continue;
                    }
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &kernels, &[])?;
                    let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
                    let n = arg.unwrap_or(row_arg);
                    calls.push(Call {
                        name,
                        iterations: 1,
                        call: Box::new(move || Ok(f.call(&mut store, n)? as u32)),
                    });
                }
                Ok(calls)
            }
        }
    };
}

pub(crate) use suite;

//! The exception rows of issue 14: a loop that throws and catches one
//! exception per iteration across a call (`throw` in a callee, `try_table`
//! with `catch` in the caller), and the same loop without the throw, so the
//! difference is the exception's own cost; on Tern and, with the `wasmtime`
//! feature, on wasmtime 48 from the same source (`exceptions!` expands it once
//! per runtime crate, like `suite!`).
//!
//! Each timed call instantiates the module in a fresh store (microseconds,
//! against the row's milliseconds) on both runtimes, as the binary-trees row
//! does; chosen before Tern collected exceptions, kept so that the figures
//! stay comparable with earlier ones.

/// Iterations of each loop.
pub const ITERATIONS: i32 = 1_000_000;

/// `throws(n)` throws and catches `n` exceptions, each carrying the counter;
/// `calls(n)` makes the same `n` calls that return normally.
pub const MODULE: &str = r#"(module
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

/// The rows: export, row name.
pub const ROWS: [(&str, &str); 2] = [
    (
        "throws",
        "exceptions: throw + catch across a call (per iteration)",
    ),
    (
        "calls",
        "exceptions: the same call returning normally (per iteration)",
    ),
];

/// What both loops return: 0 + 1 + … + (n - 1), wrapping.
pub fn expected() -> u32 {
    (0..ITERATIONS).fold(0i32, |a, i| a.wrapping_add(i)) as u32
}

/// Expands the exception calls as module `$name`, written against the crate
/// `$rt`; `$configure` (a `fn(&mut Config)`) adds runtime-specific settings
/// to a configuration with exceptions on.
macro_rules! exceptions {
    ($name:ident, $rt:ident, $configure:expr) => {
        /// The exception loops, compiled against one runtime crate.
        pub mod $name {
            use crate::exceptions::{expected, ITERATIONS, MODULE, ROWS};
            use crate::measure::Call;
            use ::$rt::{Config, Engine, Instance, Module, Store};

            /// The two loops' calls, ready to be timed; each returns its sum
            /// and fails if it is not [`expected`]'s.
            ///
            /// # Errors
            /// When the engine or the module cannot be built.
            pub fn prepare() -> anyhow::Result<Vec<Call>> {
                let mut config = Config::new();
                config.wasm_exceptions(true);
                let configure: fn(&mut Config) = $configure;
                configure(&mut config);
                let engine = Engine::new(&config)?;
                let module = Module::new(&engine, wat::parse_str(MODULE)?)?;
                let mut calls = Vec::new();
                for (export, name) in ROWS {
                    let (engine, module) = (engine.clone(), module.clone());
                    calls.push(Call {
                        name,
                        iterations: ITERATIONS as u32,
                        call: Box::new(move || {
                            let mut store = Store::new(&engine, ());
                            let instance = Instance::new(&mut store, &module, &[])?;
                            let f = instance.get_typed_func::<i32, i32>(&mut store, export)?;
                            let sum = f.call(&mut store, ITERATIONS)? as u32;
                            anyhow::ensure!(
                                sum == expected(),
                                "{export} returned {sum}, expected {}",
                                expected()
                            );
                            Ok(sum)
                        }),
                    });
                }
                Ok(calls)
            }
        }
    };
}

pub(crate) use exceptions;

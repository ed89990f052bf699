//! The binary-trees row of issue 14 (Wasm GC): `binary_trees.wat`, the
//! Benchmarks Game program on GC structs, timed on Tern and, with the
//! `wasmtime` feature, on wasmtime 48 from the same source (`binary_trees!`
//! expands it once per runtime crate, like `suite!`).
//!
//! Each timed call instantiates the module in a fresh store and drops the
//! store afterwards, on both runtimes (chosen before Tern had a collector,
//! kept so that the figures stay comparable with earlier ones); the store's
//! creation and instantiation cost microseconds against the row's tens of
//! milliseconds. Every call's checksum must equal [`expected`].

/// The module's text.
pub const WAT: &str = include_str!("../binary_trees.wat");

/// The default `max_depth` (`tern-bench gc N` picks another): about 3.2
/// million nodes of 16 bytes each per call, 50–200 ms on the reference machine.
pub const DEPTH: i32 = 14;

/// What `run(n)` returns: the wrapping sum of every tree's node count.
pub fn expected(n: i32) -> u32 {
    let max = n.max(6) as u32;
    let nodes = |d: u32| (1u32 << (d + 1)).wrapping_sub(1);
    let mut sum = nodes(max + 1);
    for d in (4..=max).step_by(2) {
        let iterations = 1u32 << (max - d + 4);
        sum = sum.wrapping_add(iterations.wrapping_mul(nodes(d)));
    }
    sum.wrapping_add(nodes(max))
}

/// The row's name for depth `n`.
pub fn row_name(n: i32) -> &'static str {
    if n == DEPTH {
        "binary-trees(14), GC structs"
    } else {
        Box::leak(format!("binary-trees({n}), GC structs").into_boxed_str())
    }
}

/// Expands the binary-trees call as module `$name`, written against the crate
/// `$rt`; `$configure` (a `fn(&mut Config)`) adds runtime-specific settings
/// (wasmtime's collector) to a configuration with GC on.
macro_rules! binary_trees {
    ($name:ident, $rt:ident, $configure:expr) => {
        /// binary-trees, compiled against one runtime crate.
        pub mod $name {
            use crate::binary_trees::{expected, row_name};
            use crate::measure::Call;
            use ::$rt::{Config, Engine, Instance, Module, Store};

            /// The call of `run(n)`, ready to be timed; it returns the checksum
            /// and fails if it differs from the formula's.
            ///
            /// # Errors
            /// When the engine or the module cannot be built.
            pub fn prepare(n: i32) -> anyhow::Result<Call> {
                let mut config = Config::new();
                config.wasm_function_references(true).wasm_gc(true);
                let configure: fn(&mut Config) = $configure;
                configure(&mut config);
                let engine = Engine::new(&config)?;
                let module = Module::new(&engine, wat::parse_str(crate::binary_trees::WAT)?)?;
                Ok(Call {
                    name: row_name(n),
                    iterations: 1,
                    call: Box::new(move || {
                        let mut store = Store::new(&engine, ());
                        let instance = Instance::new(&mut store, &module, &[])?;
                        let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
                        let sum = run.call(&mut store, n)? as u32;
                        anyhow::ensure!(
                            sum == expected(n),
                            "binary-trees({n}) returned {sum}, expected {}",
                            expected(n)
                        );
                        Ok(sum)
                    }),
                })
            }
        }
    };
}

pub(crate) use binary_trees;

#[cfg(test)]
mod tests {
    use super::expected;

    #[test]
    fn the_formula_counts_what_the_game_builds() {
        // max_depth 6: stretch 2^8-1, long-lived 2^7-1, depths 4 (64 trees
        // of 31 nodes) and 6 (16 trees of 127 nodes).
        assert_eq!(expected(6), 255 + 127 + 64 * 31 + 16 * 127);
        assert_eq!(expected(3), expected(6));
    }
}

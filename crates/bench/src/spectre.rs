//! `cargo run --release -p tern-bench -- spectre`: the cost of the Spectre
//! guards on explicit bounds checks. Runs the compute kernels with every
//! memory dynamic (so every access is checked), with the guards on (the
//! default) and off (`enable_heap_access_spectre_mitigation=false`), rounds
//! interleaved so that machine load affects both alike.

use anyhow::Result;
use std::time::{Duration, Instant};
use tern::{Config, Engine, Instance, Module, Store};

/// The kernels and their arguments, as in the main benchmark.
use crate::suite::KERNELS;

fn engine(guards: bool) -> Result<Engine> {
    let mut config = Config::new();
    config.static_memory_maximum_size(0);
    if !guards {
        // SAFETY: the flag is unsafe because it weakens the sandbox against
        // speculative reads; the benchmark runs its own, trusted code.
        #[allow(unsafe_code, reason = "wasmtime's API for this switch is unsafe")]
        unsafe {
            config.cranelift_flag_set("enable_heap_access_spectre_mitigation", "false");
        }
    }
    Engine::new(&config)
}

/// Best time over `rounds` of each kernel, for guards on and off.
pub fn spectre_cost(rounds: usize) -> Result<()> {
    let wat = concat!(env!("CARGO_MANIFEST_DIR"), "/kernels.wat");
    let mut setups = Vec::new();
    for guards in [true, false] {
        let engine = engine(guards)?;
        let module = Module::from_file(&engine, wat)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        setups.push((store, instance));
    }
    let mut best = [[Duration::MAX; KERNELS.len()]; 2];
    for _ in 0..rounds {
        for (mode, (store, instance)) in setups.iter_mut().enumerate() {
            for (k, (_, export, arg)) in KERNELS.iter().enumerate() {
                let f = instance.get_typed_func::<i32, i32>(&mut *store, export)?;
                let start = Instant::now();
                f.call(&mut *store, *arg)?;
                best[mode][k] = best[mode][k].min(start.elapsed());
            }
        }
    }
    println!("dynamic memories, best of {rounds}: guards on / guards off");
    for (k, (name, _, _)) in KERNELS.iter().enumerate() {
        let (on, off) = (best[0][k].as_secs_f64(), best[1][k].as_secs_f64());
        println!(
            "{name}: {:.1} ms / {:.1} ms ({:+.1}%)",
            on * 1e3,
            off * 1e3,
            (on / off - 1.0) * 100.0
        );
    }
    Ok(())
}

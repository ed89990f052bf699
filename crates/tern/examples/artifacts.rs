//! `cargo run --release -p tern --example artifacts [FILE.wasm...]`: what
//! precompiled artifacts buy. For a generated 10,000-function module, the zstd
//! program in `benches/programs/zstd.wasm`, and any files given, prints the
//! compile time, the artifact size, the time of `Module::deserialize` (bytes in
//! memory) and of `Module::deserialize_file` (mapped), and instantiation of a
//! compiled versus a loaded module. Figures only: nothing here is a test.
//! `benches/artifacts.sh` runs this and then the side-by-side with wasmtime 48.

use anyhow::{anyhow, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tern::*;

/// A module with `n` small functions that call each other, like a large program.
/// It is written to a file so that `benches/artifacts.sh` can give wasmtime the
/// same module.
fn generated_module(n: usize) -> String {
    let mut wat = String::from("(module (memory 1) (global $g (mut i32) (i32.const 0))\n");
    for i in 0..n {
        let callee = i.saturating_sub(1);
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

/// The fastest of `runs` runs of `f`, and its last result.
fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> (R, Duration) {
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Instantiates `module` with every imported function stubbed by one that fails.
fn instantiate(engine: &Engine, module: &Module) -> Result<()> {
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            return Err(anyhow!("non-function import"));
        };
        linker.func_new(import.module(), import.name(), ty, |_, _, _| {
            Err(anyhow!("not provided by the benchmark"))
        })?;
    }
    linker.instantiate(&mut store, module).map(drop)
}

fn measure(engine: &Engine, label: &str, wasm: &[u8], dir: &Path) -> Result<()> {
    let (module, compile) = best_of(3, || Module::new(engine, wasm));
    let module = module?;
    let artifact = module.serialize()?;
    let path = dir.join(format!("{label}.cwasm"));
    std::fs::write(&path, &artifact)?;
    // SAFETY: the bytes and the file were just written by `serialize`, and
    // nothing modifies the file while the benchmark runs.
    let (loaded, bytes) = best_of(20, || unsafe { Module::deserialize(engine, &artifact) });
    loaded?;
    // SAFETY: as above.
    let (mapped, file) = best_of(20, || unsafe { Module::deserialize_file(engine, &path) });
    let mapped = mapped?;
    let (r, inst_compiled) = best_of(50, || instantiate(engine, &module));
    r?;
    let (r, inst_mapped) = best_of(50, || instantiate(engine, &mapped));
    r?;
    println!(
        "{label}: {} KiB wasm, {} exports, artifact {} KiB",
        wasm.len() / 1024,
        module.exports().len(),
        artifact.len() / 1024
    );
    println!("  compile               {:9.3} ms", ms(compile));
    println!(
        "  deserialize (bytes)   {:9.3} ms  ({:.0}x faster than compiling)",
        ms(bytes),
        ms(compile) / ms(bytes)
    );
    println!(
        "  deserialize_file      {:9.3} ms  ({:.0}x faster than compiling)",
        ms(file),
        ms(compile) / ms(file)
    );
    println!("  instantiate compiled  {:9.3} ms", ms(inst_compiled));
    println!("  instantiate mapped    {:9.3} ms", ms(inst_mapped));
    println!("  artifact: {}", path.display());
    Ok(())
}

fn main() -> Result<()> {
    let engine = Engine::default();
    let dir = std::env::temp_dir().join("tern-artifacts-bench");
    std::fs::create_dir_all(&dir)?;
    let generated = wat::parse_str(generated_module(10_000))?;
    std::fs::write(dir.join("gen10k.wasm"), &generated)?;
    measure(&engine, "gen10k", &generated, &dir)?;
    let zstd = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../benches/programs/zstd.wasm"
    ));
    let mut files = vec![zstd];
    files.extend(std::env::args_os().skip(1).map(PathBuf::from));
    for file in files {
        let wasm = std::fs::read(&file).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let label = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("file")
            .to_string();
        measure(&engine, &label, &wasm, &dir)?;
    }
    Ok(())
}

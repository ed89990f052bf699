//! Module generation with `wasm-smith`, configured for what both Tern and the
//! oracle (wasmi 1.0.9 with its `simd` feature) implement.
//!
//! Every module is a pure function of a seed: the seed drives a [`Rng`] that
//! picks a few configuration switches ("swarm testing": some modules have no
//! floats, some no SIMD, ...) and fills the byte string `wasm-smith` draws from.
//!
//! What is on: MVP, mutable globals, multi-value, sign extension, saturating
//! float-to-int, bulk memory, reference types, SIMD, tail calls, extended
//! constant expressions, multi-memory, memory64 and wide arithmetic. What is
//! off, and why: relaxed SIMD (its results are implementation-defined, so two
//! correct engines may differ), exceptions and GC (the oracle implements
//! neither; [`gc_module`] turns them on for [`crate::gc_self`], where Tern is
//! checked against itself), threads and custom page sizes (Tern does not
//! implement them), and imports in differential modules (each module must run
//! alone on both engines).
//!
//! Termination: `wasm-smith`'s `ensure_termination` adds a fuel global that
//! every function entry and loop header decrements, trapping (`unreachable`)
//! when it reaches zero; so every call ends, on both engines, after at most
//! [`TERMINATION_FUEL`] function entries plus loop iterations per instance.
//! NaNs are canonicalised after every float operation, so results compare bit
//! for bit.

use crate::rng::Rng;
use anyhow::Result;
use arbitrary::Unstructured;

/// The fuel `ensure_termination` gives each instance (function entries plus
/// loop iterations before the module traps).
pub const TERMINATION_FUEL: u32 = 1_000;

/// Largest memory, in bytes, that generated modules may declare (4 pages).
pub const MAX_MEMORY_BYTES: u64 = 4 * 65536;

/// The `wasm-smith` configuration both engines can run, with the swarm
/// switches drawn from `rng`.
pub fn smith_config(rng: &mut Rng) -> wasm_smith::Config {
    config_for(rng, false)
}

/// The `wasm-smith` configuration of [`crate::gc_self`]'s modules: the same
/// swarm as [`smith_config`] (drawn from `rng` the same way), with garbage
/// collection (struct and array types, `struct.*`/`array.*`, `i31`, casts,
/// typed function references) and exception handling (tags, `throw`,
/// `throw_ref`, `try_table`) on, reference types always on (GC needs them),
/// up to [`MAX_TAGS`] tags, and at least six types. Modules whose instruction swarm draws a subset
/// always keep the aggregate (`struct.*`/`array.*`) instructions.
pub fn gc_smith_config(rng: &mut Rng) -> wasm_smith::Config {
    config_for(rng, true)
}

/// Tags a GC-mode module may define.
pub const MAX_TAGS: usize = 4;

fn config_for(rng: &mut Rng, gc: bool) -> wasm_smith::Config {
    let mut c = wasm_smith::Config {
        // What neither engine (or not both) implements.
        gc_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        relaxed_simd_enabled: false,
        custom_page_sizes_enabled: false,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        acquire_release_atomics_enabled: false,
        multibyte_array_access_enabled: false,
        max_tags: 0,
        // Self-contained modules whose every item is visible from outside.
        max_imports: 0,
        export_everything: true,
        canonicalize_nans: true,
        // Small memories and tables, always bounded.
        memory_max_size_required: true,
        table_max_size_required: true,
        max_memory32_bytes: MAX_MEMORY_BYTES,
        max_memory64_bytes: u128::from(MAX_MEMORY_BYTES),
        max_memories: 2,
        max_tables: 3,
        max_table_elements: 64,
        max_funcs: 16,
        max_globals: 16,
        max_types: 24,
        max_data_segments: 8,
        max_element_segments: 8,
        max_elements: 16,
        max_nesting_depth: 6,
        ..wasm_smith::Config::default()
    };
    // Swarm switches: each module leaves some features out, so that the rest
    // are exercised more densely.
    c.simd_enabled = rng.chance(1, 2);
    c.allow_floats = rng.chance(3, 4);
    c.memory64_enabled = rng.chance(1, 4);
    c.tail_call_enabled = rng.chance(1, 2);
    c.reference_types_enabled = rng.chance(3, 4);
    c.bulk_memory_enabled = rng.chance(3, 4);
    c.multi_value_enabled = rng.chance(3, 4);
    c.extended_const_enabled = rng.chance(1, 2);
    if gc {
        c.gc_enabled = true;
        c.exceptions_enabled = true;
        c.reference_types_enabled = true;
        c.max_tags = MAX_TAGS;
        // Without a function type there are no functions (wasm-smith then
        // makes a module of data alone, as it does for a few seeds of the
        // wasmi campaign); with struct and array types drawn from the same
        // budget, ask for several types so that most modules have one.
        c.min_types = 6;
    }
    c.wide_arithmetic_enabled = rng.chance(1, 4);
    c.disallow_traps = rng.chance(1, 2);
    c.max_instructions = *rng.pick(&[20, 100, 300, 1000]);
    c.min_funcs = rng.range(2, 8) as usize;
    if rng.chance(1, 3) {
        // Instruction swarm: a third of the modules draw from a random subset
        // of instruction kinds (always with locals and control flow).
        use wasm_smith::InstructionKind as K;
        let mut kinds = vec![K::Variable, K::Control];
        if gc {
            kinds.push(K::Aggregate);
        }
        for kind in [
            K::Numeric,
            K::Vector,
            K::Reference,
            K::Parametric,
            K::Table,
            K::Memory,
        ] {
            if rng.chance(1, 2) {
                kinds.push(kind);
            }
        }
        c.allowed_instructions = wasm_smith::InstructionKinds::new(&kinds);
    }
    c
}

/// Generates the differential module for `seed` (see the module docs).
///
/// # Errors
/// Fails only if `wasm-smith` cannot build a module from the drawn bytes,
/// which a campaign counts and skips.
pub fn module(seed: u64) -> Result<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let config = smith_config(&mut rng);
    let mut data = vec![0u8; rng.range(1024, 32 * 1024) as usize];
    rng.fill(&mut data);
    from_config(config, &data)
}

/// Generates the GC-mode module for `seed` ([`gc_smith_config`]), with its
/// termination counter exported as [`FUEL_EXPORT`].
///
/// # Errors
/// As [`module`].
pub fn gc_module(seed: u64) -> Result<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let config = gc_smith_config(&mut rng);
    let mut data = vec![0u8; rng.range(1024, 32 * 1024) as usize];
    rng.fill(&mut data);
    from_config(config, &data)
}

/// Generates a differential module from raw fuzzer input (for `cargo fuzz`):
/// the first bytes choose the swarm switches, the rest feed `wasm-smith`.
///
/// # Errors
/// As [`module`].
pub fn module_from_bytes(data: &[u8]) -> Result<Vec<u8>> {
    let (head, rest) = data.split_at(data.len().min(8));
    let mut seed = [0u8; 8];
    seed[..head.len()].copy_from_slice(head);
    let config = smith_config(&mut Rng::new(u64::from_le_bytes(seed)));
    from_config(config, rest)
}

fn from_config(config: wasm_smith::Config, data: &[u8]) -> Result<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut module = wasm_smith::Module::new(config, &mut u)?;
    let fuel_global = module.ensure_termination(TERMINATION_FUEL)?;
    export_global(&module.to_bytes(), FUEL_EXPORT, fuel_global)
}

/// The export name under which generated modules expose their termination
/// counter, so that a differential run can refill it before every call
/// (otherwise the first call that loops forever would leave every later call
/// of the instance trapping at once).
pub const FUEL_EXPORT: &str = "tern-fuzz-fuel";

fn write_leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&b) = bytes.get(*pos) else {
            anyhow::bail!("truncated LEB128")
        };
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    anyhow::bail!("LEB128 too long")
}

/// Adds the export `name` of global `index` to the binary module `wasm`: the
/// export section gets one more entry (or is created, in its place in the
/// section order); every other section is copied as it is.
///
/// # Errors
/// Fails on a malformed module (never for `wasm-smith`'s output).
pub fn export_global(wasm: &[u8], name: &str, index: u32) -> Result<Vec<u8>> {
    let mut entry = Vec::new();
    write_leb(&mut entry, name.len() as u64);
    entry.extend_from_slice(name.as_bytes());
    entry.push(0x03); // global
    write_leb(&mut entry, u64::from(index));
    // An export section holding `count` existing `entries` plus the new one.
    let section = |count: u64, entries: &[u8]| {
        let mut body = Vec::new();
        write_leb(&mut body, count + 1);
        body.extend_from_slice(entries);
        body.extend_from_slice(&entry);
        let mut out = vec![7u8];
        write_leb(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
        out
    };
    anyhow::ensure!(
        wasm.len() >= 8 && wasm.starts_with(b"\0asm"),
        "not a wasm module"
    );
    let mut out = wasm[..8].to_vec();
    let mut pos = 8;
    let mut done = false;
    while pos < wasm.len() {
        let start = pos;
        let id = wasm[pos];
        pos += 1;
        let size = read_leb(wasm, &mut pos)? as usize;
        let body = wasm
            .get(pos..pos + size)
            .ok_or_else(|| anyhow::anyhow!("truncated section"))?;
        pos += size;
        // Sections that come after the export section in the binary order:
        // start, element, data count, code, data.
        if !done && (8..=12).contains(&id) {
            out.extend(section(0, &[]));
            done = true;
        }
        if id == 7 {
            let mut p = 0;
            let count = read_leb(body, &mut p)?;
            out.extend(section(count, &body[p..]));
            done = true;
        } else {
            out.extend_from_slice(&wasm[start..pos]);
        }
    }
    if !done {
        out.extend(section(0, &[]));
    }
    Ok(out)
}

/// A base module for malformed-input campaigns: like [`module`] but allowed to
/// import functions, memories, tables and globals, so that linking is
/// exercised too.
///
/// # Errors
/// As [`module`].
pub fn base_module(seed: u64) -> Result<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut config = smith_config(&mut rng);
    config.max_imports = 6;
    config.export_everything = rng.chance(1, 2);
    let mut data = vec![0u8; rng.range(256, 8 * 1024) as usize];
    rng.fill(&mut data);
    from_config(config, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_modules_are_valid_and_export_their_fuel() {
        let mut features = wasmparser::WasmFeatures::default();
        features
            .insert(wasmparser::WasmFeatures::MEMORY64 | wasmparser::WasmFeatures::MULTI_MEMORY);
        for seed in 0..60 {
            let wasm = module(seed).unwrap();
            let mut validator = wasmparser::Validator::new_with_features(features);
            if let Err(e) = validator.validate_all(&wasm) {
                let raw = {
                    let mut rng = Rng::new(seed);
                    let config = smith_config(&mut rng);
                    let mut data = vec![0u8; rng.range(1024, 32 * 1024) as usize];
                    rng.fill(&mut data);
                    let mut u = Unstructured::new(&data);
                    let mut m = wasm_smith::Module::new(config, &mut u).unwrap();
                    m.ensure_termination(TERMINATION_FUEL).unwrap();
                    m.to_bytes()
                };
                panic!(
                    "seed {seed}: {e}\nraw: {:02x?}\nours: {:02x?}",
                    &raw[..raw.len().min(64)],
                    &wasm[..wasm.len().min(64)]
                );
            }
            let exported = wasmparser::Parser::new(0)
                .parse_all(&wasm)
                .any(|p| match p {
                    Ok(wasmparser::Payload::ExportSection(r)) => {
                        r.into_iter().any(|e| e.unwrap().name == FUEL_EXPORT)
                    }
                    _ => false,
                });
            assert!(exported, "seed {seed}");
        }
    }
}

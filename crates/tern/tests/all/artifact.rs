//! Precompiled artifacts through the public API: `Module::serialize`,
//! `Engine::precompile_module`, `Module::deserialize(_file)`, detection, the
//! compatibility check (each mismatch named) and robustness against truncated
//! and bit-flipped artifacts.

use std::path::PathBuf;
use tern::*;

/// A module touching every part of the metadata: imports, exports, memory with
/// data, table with elements, globals, a start function, names and traps.
const RICH: &str = r#"(module $rich
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (import "host" "g" (global $ig i32))
  (memory (export "mem") 1 2)
  (table $t 4 funcref)
  (global $counter (mut i32) (i32.const 7))
  (global (export "seven") i32 (global.get $ig))
  (data (i32.const 16) "tern artifact")
  (elem (i32.const 1) $double $boom)
  (type $ii (func (param i32) (result i32)))
  (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $boom (type $ii) (i32.div_s (local.get 0) (i32.const 0)))
  (func $init (global.set $counter (i32.add (global.get $counter) (i32.const 1))))
  (func (export "dispatch") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func (export "sum") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
  (func (export "counter") (result i32) (global.get $counter))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (unreachable))
      (else (call $deep (i32.sub (local.get 0) (i32.const 1))))))
  (start $init))"#;

fn temp_path(tag: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "tern-artifact-test-{}-{n}-{tag}.cwasm",
        std::process::id()
    ))
}

/// Instantiates `module` and checks every behaviour of `RICH`.
fn exercise(engine: &Engine, module: &Module) -> Result<()> {
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker.func_wrap("host", "add", |a: i32, b: i32| a + b)?;
    let g = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(7),
    )?;
    linker.define(&mut store, "host", "g", g)?;
    let instance = linker.instantiate(&mut store, module)?;
    let dispatch = instance.get_typed_func::<(i32, i32), i32>(&mut store, "dispatch")?;
    assert_eq!(dispatch.call(&mut store, (1, 21))?, 42);
    let trap = dispatch.call(&mut store, (2, 5)).unwrap_err();
    assert_eq!(
        trap.downcast_ref::<Trap>(),
        Some(&Trap::IntegerDivisionByZero),
        "{trap:?}"
    );
    let trap = dispatch.call(&mut store, (0, 5)).unwrap_err();
    assert_eq!(
        trap.downcast_ref::<Trap>(),
        Some(&Trap::IndirectCallToNull),
        "{trap:?}"
    );
    assert_eq!(
        instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "sum")?
            .call(&mut store, (40, 2))?,
        42
    );
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&mut store, "counter")?
            .call(&mut store, ())?,
        8
    );
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    assert_eq!(load.call(&mut store, 16)?, i32::from(b't'));
    let trap = load.call(&mut store, 65536).unwrap_err();
    assert_eq!(
        trap.downcast_ref::<Trap>(),
        Some(&Trap::MemoryOutOfBounds),
        "{trap:?}"
    );
    let trap = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")?
        .call(&mut store, 3)
        .unwrap_err();
    assert_eq!(
        trap.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    let trace = trap
        .downcast_ref::<WasmBacktrace>()
        .expect("a trap carries a backtrace");
    let names: Vec<_> = trace
        .frames()
        .iter()
        .map(|f| f.func_name().unwrap_or("?").to_string())
        .collect();
    assert_eq!(
        names, ["deep"; 4],
        "backtrace of the deserialized code: {trace:?}"
    );
    // Frames carry module offsets (the address map survives the artifact):
    // the outer frames are the same `call`, the innermost the `unreachable`
    // before it, all inside `deep`'s body.
    let at: Vec<usize> = trace
        .frames()
        .iter()
        .map(|f| f.module_offset().expect("a module offset"))
        .collect();
    let in_func: Vec<usize> = trace
        .frames()
        .iter()
        .map(|f| f.func_offset().expect("a function offset"))
        .collect();
    assert!(at[1..].iter().all(|o| *o == at[1]), "{at:?}");
    assert!(at[0] < at[1], "`unreachable` precedes the call: {at:?}");
    assert!(in_func[1] < at[1] && in_func[1] > in_func[0], "{in_func:?}");
    assert_eq!(at[1] - in_func[1], at[0] - in_func[0], "same body start");
    assert_eq!(
        instance
            .get_global(&mut store, "seven")
            .unwrap()
            .get(&mut store)
            .unwrap_i32(),
        7
    );
    assert_eq!(module.name(), Some("rich"));
    assert_eq!(module.imports().len(), 2);
    assert_eq!(
        module
            .exports()
            .map(|e| e.name().to_string())
            .collect::<Vec<_>>(),
        ["mem", "seven", "dispatch", "sum", "counter", "load", "deep"]
    );
    Ok(())
}

#[test]
fn serialize_then_deserialize_runs_like_the_original() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, RICH)?;
    exercise(&engine, &module)?;
    let bytes = module.serialize()?;
    // SAFETY: the bytes were just produced by `serialize`.
    let loaded = unsafe { Module::deserialize(&engine, &bytes)? };
    drop(module);
    exercise(&engine, &loaded)?;
    // A second engine with the same settings loads it too.
    let other = Engine::default();
    // SAFETY: as above.
    let loaded = unsafe { Module::deserialize(&other, &bytes)? };
    exercise(&other, &loaded)
}

#[test]
fn deserialize_file_maps_the_artifact_and_runs_it() -> Result<()> {
    let engine = Engine::default();
    let path = temp_path("file");
    std::fs::write(&path, engine.precompile_module(RICH.as_bytes())?)?;
    // SAFETY: the file was just written by `precompile_module` and is not modified.
    let loaded = unsafe { Module::deserialize_file(&engine, &path) };
    // The code runs from the file's own pages, mapped read-execute, not from a copy.
    // Under an emulator (`.ci/aarch64` names its qemu-user in
    // TERN_TEST_EMULATOR) `/proc/self/maps` cannot show it: qemu-user never
    // maps guest code executable on the host, so the file stays one host
    // mapping, which qemu lists as one line with the protection of its first
    // page (`r--p` here).
    #[cfg(target_os = "linux")]
    if std::env::var_os("TERN_TEST_EMULATOR").is_none() {
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        let name = path.to_str().unwrap();
        let code_maps = maps
            .lines()
            .filter(|l| l.ends_with(name) && l.split_whitespace().nth(1) == Some("r-xp"));
        assert_eq!(
            code_maps.count(),
            1,
            "one read-execute mapping of the artifact file:\n{maps}"
        );
    }
    // The mapping stays valid after the name is removed.
    std::fs::remove_file(&path)?;
    exercise(&engine, &loaded?)?;
    // SAFETY: no file, nothing is mapped.
    let missing = unsafe { Module::deserialize_file(&engine, &path) }.unwrap_err();
    assert!(
        format!("{missing:#}").contains("tern-artifact-test"),
        "{missing:#}"
    );
    Ok(())
}

#[test]
fn artifacts_are_deterministic_and_precompile_matches_serialize() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, RICH)?;
    let a = module.serialize()?;
    assert_eq!(
        a,
        Module::new(&engine, RICH)?.serialize()?,
        "two compilations give the same artifact"
    );
    assert_eq!(a, engine.precompile_module(RICH.as_bytes())?);
    // SAFETY: the bytes come from `serialize`.
    let loaded = unsafe { Module::deserialize(&engine, &a)? };
    assert_eq!(
        a,
        loaded.serialize()?,
        "re-serializing a loaded module gives the same bytes"
    );
    let path = temp_path("reserialize");
    std::fs::write(&path, &a)?;
    // SAFETY: the file holds bytes from `serialize` and is not modified.
    let mapped = unsafe { Module::deserialize_file(&engine, &path)? };
    std::fs::remove_file(&path)?;
    assert_eq!(a, mapped.serialize()?);
    Ok(())
}

#[test]
fn detect_precompiled_tells_artifacts_from_other_input() -> Result<()> {
    let engine = Engine::default();
    let artifact = engine.precompile_module(b"(module (func (export \"f\")))")?;
    assert_eq!(
        engine.detect_precompiled(&artifact),
        Some(Precompiled::Module)
    );
    let wasm = wat::parse_str("(module)")?;
    assert_eq!(engine.detect_precompiled(&wasm), None);
    assert_eq!(engine.detect_precompiled(b"(module)"), None);
    assert_eq!(engine.detect_precompiled(b""), None);
    assert_eq!(engine.detect_precompiled(b"\x7fELF\x02\x01\x01"), None);
    // A foreign ELF file (this test binary) is not an artifact.
    let exe = std::fs::read(std::env::current_exe()?)?;
    assert_eq!(engine.detect_precompiled(&exe), None);
    Ok(())
}

#[test]
fn deserialize_refuses_what_is_not_an_artifact() {
    let engine = Engine::default();
    let wasm = wat::parse_str("(module)").unwrap();
    // SAFETY: deserialize refuses non-artifacts before trusting anything.
    let err = unsafe { Module::deserialize(&engine, &wasm) }.unwrap_err();
    assert!(
        err.to_string()
            .contains("WebAssembly binary, not a precompiled artifact"),
        "{err}"
    );
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&engine, b"hello") }.unwrap_err();
    assert!(
        err.to_string().contains("not a precompiled Tern artifact"),
        "{err}"
    );
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&engine, []) }.unwrap_err();
    assert!(
        err.to_string().contains("not a precompiled Tern artifact"),
        "{err}"
    );
}

/// Compiles with `made_by`, loads with `loaded_by`, and returns the error text.
fn mismatch(made_by: &Config, loaded_by: &Config) -> String {
    let bytes = Engine::new(made_by)
        .unwrap()
        .precompile_module(RICH.as_bytes())
        .unwrap();
    let engine = Engine::new(loaded_by).unwrap();
    // SAFETY: the bytes come from `precompile_module`; the check refuses them.
    let err = unsafe { Module::deserialize(&engine, &bytes) }.expect_err("settings differ");
    let path = temp_path("mismatch");
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: as above, through a file.
    let file_err =
        unsafe { Module::deserialize_file(&engine, &path) }.expect_err("settings differ");
    std::fs::remove_file(&path).unwrap();
    assert!(
        format!("{file_err:#}").contains(&err.to_string()),
        "{file_err:#}"
    );
    err.to_string()
}

#[test]
fn another_opt_level_is_refused_by_name() {
    let mut none = Config::new();
    none.cranelift_opt_level(OptLevel::None);
    let msg = mismatch(&Config::new(), &none);
    assert!(
        msg.contains("compiled with opt level=Speed, this engine has opt level=None"),
        "{msg}"
    );
    let msg = mismatch(
        &none,
        Config::new().cranelift_opt_level(OptLevel::SpeedAndSize),
    );
    assert!(
        msg.contains("compiled with opt level=None, this engine has opt level=SpeedAndSize"),
        "{msg}"
    );
}

#[test]
fn simd_off_versus_on_is_refused_by_name() {
    let mut off = Config::new();
    off.wasm_simd(false);
    let mut on = Config::new();
    on.wasm_simd(true);
    let msg = mismatch(&off, &on);
    assert!(
        msg.contains(
            "compiled with wasm feature SIMD=false, this engine has wasm feature SIMD=true"
        ),
        "{msg}"
    );
    let msg = mismatch(&on, &off);
    assert!(
        msg.contains(
            "compiled with wasm feature SIMD=true, this engine has wasm feature SIMD=false"
        ),
        "{msg}"
    );
}

#[test]
fn another_feature_set_is_refused_by_name() {
    let mut no_multi_value = Config::new();
    no_multi_value.wasm_multi_value(false);
    let msg = mismatch(&Config::new(), &no_multi_value);
    assert!(msg.contains("compiled with wasm feature MULTI_VALUE=true, this engine has wasm feature MULTI_VALUE=false"), "{msg}");
    assert!(
        !msg.contains("opt level"),
        "only the differing setting is named: {msg}"
    );
}

#[test]
fn settings_that_do_not_change_code_do_not_matter() -> Result<()> {
    let bytes = Engine::default().precompile_module(RICH.as_bytes())?;
    let mut config = Config::new();
    config
        .max_wasm_stack(64 * 1024)
        .parallel_compilation(false)
        .cranelift_debug_verifier(true);
    let engine = Engine::new(&config)?;
    // SAFETY: the bytes come from `precompile_module`.
    let module = unsafe { Module::deserialize(&engine, &bytes)? };
    exercise(&engine, &module)
}

#[test]
fn compatibility_hash_follows_code_affecting_settings() {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    let hash = |c: &Config| state.hash_one(Engine::new(c).unwrap().precompile_compatibility_hash());
    let default = hash(&Config::new());
    assert_eq!(default, hash(&Config::new()));
    assert_eq!(default, hash(Config::new().max_wasm_stack(1 << 20)));
    assert_ne!(
        default,
        hash(Config::new().cranelift_opt_level(OptLevel::None))
    );
    assert_ne!(default, hash(Config::new().wasm_multi_value(false)));
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The byte range of the `.text` section's contents, read from the ELF section
/// table by hand, so that the test does not trust the code under test.
fn text_range(elf: &[u8]) -> std::ops::Range<usize> {
    section_range(elf, b".text\0").expect("a .text section")
}

/// The byte range of the contents of the section called `name` (with its
/// terminating NUL), read by hand like `text_range`.
fn section_range(elf: &[u8], name: &[u8]) -> Option<std::ops::Range<usize>> {
    let u16_at = |o: usize| usize::from(u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()));
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let strtab = u64_at(shoff + shstrndx * shentsize + 0x18);
    (0..shnum)
        .map(|i| shoff + i * shentsize)
        .find(|sh| elf[strtab + u32_at(*sh)..].starts_with(name))
        .map(|sh| u64_at(sh + 0x18)..u64_at(sh + 0x18) + u64_at(sh + 0x20))
}

#[test]
fn truncated_or_bit_flipped_artifacts_are_refused_never_crash() -> Result<()> {
    let engine = Engine::default();
    let mut rng = Rng(0x5EED_7E27);
    let artifacts = [
        engine.precompile_module(RICH.as_bytes())?,
        engine.precompile_module(b"(module)")?,
        engine.precompile_module(
            br#"(module (memory 1) (data (i32.const 0) "0123456789abcdef0123456789abcdef")
            (func (export "f") (result i32) (i32.const 1)))"#,
        )?,
    ];
    let (mut refused, mut code_flips) = (0, 0);
    for bytes in &artifacts {
        let text = text_range(bytes);
        // Memory images are, like the code, outside the checksum (hashing them
        // would read every page that mapping them spares).
        let images = section_range(bytes, b".tern.data\0").unwrap_or(0..0);
        let unchecked = |at: usize| text.contains(&at) || images.contains(&at);
        // Truncations: every length up to the end of the text, then every length.
        let lengths: Vec<usize> = (0..bytes.len())
            .filter(|n| *n >= text.end || n % 61 == 0)
            .collect();
        for len in lengths {
            // SAFETY: deserialize must refuse damaged artifacts without trusting them.
            let r = unsafe { Module::deserialize(&engine, &bytes[..len]) };
            assert!(
                r.is_err(),
                "a truncation to {len} of {} bytes was accepted",
                bytes.len()
            );
            refused += 1;
        }
        // Bit flips: one random bit, anywhere outside the code.
        for _ in 0..800 {
            let mut damaged = bytes.clone();
            let mut at = rng.below(damaged.len());
            while unchecked(at) {
                at = rng.below(damaged.len());
            }
            damaged[at] ^= 1 << rng.below(8);
            // SAFETY: as above.
            let r = unsafe { Module::deserialize(&engine, &damaged) };
            assert!(r.is_err(), "a flip at {at:#x} was accepted");
            refused += 1;
        }
        // Several flips at once, and overwritten runs of bytes.
        for _ in 0..200 {
            let mut damaged = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(damaged.len());
                damaged[at] = rng.next() as u8;
            }
            if (0..bytes.len()).all(|i| unchecked(i) || damaged[i] == bytes[i]) {
                code_flips += 1;
                continue;
            }
            // SAFETY: as above.
            let r = unsafe { Module::deserialize(&engine, &damaged) };
            assert!(r.is_err(), "damaged artifact was accepted");
            refused += 1;
        }
    }
    assert!(refused > 3000, "{refused} damaged artifacts tried");
    assert!(code_flips < 200, "most damage lands outside the code");
    // A file truncated on disk is refused too.
    let path = temp_path("truncated");
    std::fs::write(&path, &artifacts[0][..artifacts[0].len() - 100])?;
    // SAFETY: the file is not modified while mapped; the loader refuses it.
    let err = unsafe { Module::deserialize_file(&engine, &path) }.unwrap_err();
    std::fs::remove_file(&path)?;
    assert!(format!("{err:#}").contains("artifact"), "{err:#}");
    Ok(())
}

/// A config whose Cranelift flag `name` is `value` (the wasmtime spelling).
fn with_flag(name: &str, value: &str) -> Config {
    let mut config = Config::new();
    // SAFETY: turning a Spectre mitigation off only matters for untrusted
    // code; these tests run their own modules.
    unsafe { config.cranelift_flag_set(name, value) };
    config
}

#[test]
fn spectre_mitigation_switches_are_part_of_the_fingerprint() {
    for name in [
        "enable_heap_access_spectre_mitigation",
        "enable_table_access_spectre_mitigation",
    ] {
        let off = with_flag(name, "false");
        let msg = mismatch(&Config::new(), &off);
        assert!(
            msg.contains(&format!(
                "compiled with {name}=true, this engine has {name}=false"
            )),
            "{msg}"
        );
        let default_hash = Engine::default().precompile_compatibility_hash();
        let off_hash = Engine::new(&off).unwrap().precompile_compatibility_hash();
        assert_ne!(default_hash, off_hash, "{name}");
        // Setting the default explicitly changes nothing.
        let on = Engine::new(&with_flag(name, "true")).unwrap();
        assert_eq!(on.precompile_compatibility_hash(), default_hash, "{name}");
    }
}

#[test]
fn unknown_cranelift_flags_and_values_are_engine_errors() {
    let err = Engine::new(&with_flag("opt_level", "none")).unwrap_err();
    assert!(
        err.to_string()
            .contains("the Cranelift flag `opt_level` is not supported by Tern"),
        "{err}"
    );
    let err =
        Engine::new(&with_flag("enable_heap_access_spectre_mitigation", "maybe")).unwrap_err();
    assert!(err.to_string().contains("takes `true` or `false`"), "{err}");
}

#[test]
fn checked_accesses_trap_alike_with_and_without_spectre_guards() -> Result<()> {
    let wat = r#"(module (memory 1) (table 2 funcref)
        (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
        (func (export "get") (param i32) (result i32)
          (ref.is_null (table.get 0 (local.get 0)))))"#;
    for guards in ["true", "false"] {
        let mut config = with_flag("enable_heap_access_spectre_mitigation", guards);
        // SAFETY: as in `with_flag`.
        unsafe { config.cranelift_flag_set("enable_table_access_spectre_mitigation", guards) };
        config.static_memory_maximum_size(0);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, wat)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let load = instance.get_typed_func::<u32, i32>(&mut store, "load")?;
        assert_eq!(load.call(&mut store, 65532)?, 0);
        let trap = load.call(&mut store, 65533).unwrap_err();
        assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
        let get = instance.get_typed_func::<u32, i32>(&mut store, "get")?;
        assert_eq!(get.call(&mut store, 1)?, 1);
        let trap = get.call(&mut store, 2).unwrap_err();
        assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::TableOutOfBounds));
    }
    Ok(())
}

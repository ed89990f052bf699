//! wasmtime 12's `Config` knobs for code generation, artifacts and memory
//! initialisation (`strategy`, `debug_info`, `native_unwind_info`,
//! `generate_address_map`, `memory_init_cow`, `module_version`, `target`):
//! each either changes what Tern does, which these tests observe, or is
//! refused with an error naming it.

use tern::*;

/// Traps with `unreachable` inside `$inner`, called from `run`.
const TRAPS: &str = r#"(module $traps
  (func $inner (nop) (unreachable))
  (func (export "run") (call $inner)))"#;

fn engine_with(f: impl FnOnce(&mut Config)) -> Result<Engine> {
    let mut config = Config::new();
    f(&mut config);
    Engine::new(&config)
}

fn error_text(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

/// The frames of the trap `TRAPS`'s `run` raises, from a module `module`.
fn trap_frames(module: &Module) -> Vec<FrameInfo> {
    let mut store = Store::new(module.engine(), ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    err.downcast_ref::<WasmBacktrace>()
        .expect("a backtrace")
        .frames()
        .to_vec()
}

#[test]
fn strategy_cranelift_and_auto_compile_winch_is_refused() {
    for strategy in [Strategy::Auto, Strategy::Cranelift] {
        let engine = engine_with(|c| {
            c.strategy(strategy);
        })
        .unwrap();
        let module = Module::new(&engine, TRAPS).unwrap();
        assert_eq!(trap_frames(&module).len(), 2);
    }
    let err = engine_with(|c| {
        c.strategy(Strategy::Winch);
    })
    .unwrap_err();
    assert!(error_text(err).contains("Winch"));
}

#[test]
fn debug_info_and_native_unwind_info_on_are_refused_off_accepted() {
    let err = engine_with(|c| {
        c.debug_info(true);
    })
    .unwrap_err();
    assert!(error_text(err).contains("debug_info"));
    let err = engine_with(|c| {
        c.native_unwind_info(true);
    })
    .unwrap_err();
    assert!(error_text(err).contains("native_unwind_info"));
    let engine = engine_with(|c| {
        c.debug_info(false).native_unwind_info(false);
    })
    .unwrap();
    Module::new(&engine, TRAPS).unwrap();
}

#[test]
fn without_address_map_frames_have_no_offsets() {
    let with = Engine::default();
    let frames = trap_frames(&Module::new(&with, TRAPS).unwrap());
    assert!(frames.iter().all(|f| f.module_offset().is_some()));
    assert!(frames.iter().all(|f| f.func_offset().is_some()));

    let without = engine_with(|c| {
        c.generate_address_map(false);
    })
    .unwrap();
    let module = Module::new(&without, TRAPS).unwrap();
    let check = |frames: Vec<FrameInfo>| {
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].func_index(), 0);
        assert_eq!(frames[1].func_index(), 1);
        assert_eq!(frames[0].module_name(), Some("traps"));
        assert!(frames.iter().all(|f| f.module_offset().is_none()));
        assert!(frames.iter().all(|f| f.func_offset().is_none()));
    };
    check(trap_frames(&module));
    // The artifact carries no map either, and loads.
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were just written by `serialize`.
    let loaded = unsafe { Module::deserialize(&without, &bytes) }.unwrap();
    check(trap_frames(&loaded));
    // An engine that keeps maps refuses it, naming the setting.
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&with, &bytes) }.unwrap_err();
    let msg = error_text(err);
    assert!(
        msg.contains(
            "compiled with generate address map=false, this engine has generate address map=true"
        ),
        "{msg}"
    );
}

/// Two small segments 3 MiB apart: too sparse for Tern's default rule.
const SPARSE: &str = r#"(module
  (memory (export "m") 64)
  (data (i32.const 0) "a")
  (data (i32.const 3145728) "z"))"#;

#[test]
fn guaranteed_dense_image_size_makes_sparse_images() {
    // The artifact's size shows whether the 3 MiB image was made.
    let default = Engine::default();
    let small = Module::new(&default, SPARSE).unwrap().serialize().unwrap();
    assert!(small.len() < 1 << 20, "{}", small.len());
    let dense = engine_with(|c| {
        c.memory_guaranteed_dense_image_size(4 << 20);
    })
    .unwrap();
    let module = Module::new(&dense, SPARSE).unwrap();
    let large = module.serialize().unwrap();
    assert!(large.len() > 3 << 20, "{}", large.len());
    // Both initialise the memory the same way.
    for module in [Module::new(&default, SPARSE).unwrap(), module] {
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "m").unwrap();
        let data = memory.data(&store);
        assert_eq!((data[0], data[3145728]), (b'a', b'z'));
        assert_eq!(data.iter().filter(|b| **b != 0).count(), 2);
    }
}

/// A memory whose initial contents come from data segments far enough apart
/// to span several pages, with an export to write one byte.
const DATA: &str = r#"(module
  (memory (export "m") 2)
  (data (i32.const 16) "hello")
  (data (i32.const 9000) "\01\02\03")
  (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#;

/// The expected initial contents of `DATA`'s memory.
fn data_expected() -> Vec<u8> {
    let mut bytes = vec![0u8; 2 * 65536];
    bytes[16..21].copy_from_slice(b"hello");
    bytes[9000..9003].copy_from_slice(&[1, 2, 3]);
    bytes
}

/// Checks that two instances of `module` start with `DATA`'s contents and
/// never see each other's writes, in both directions.
fn instances_are_isolated(module: &Module) {
    let mut store = Store::new(module.engine(), ());
    let a = Instance::new(&mut store, module, &[]).unwrap();
    let b = Instance::new(&mut store, module, &[]).unwrap();
    let (ma, mb) = (
        a.get_memory(&mut store, "m").unwrap(),
        b.get_memory(&mut store, "m").unwrap(),
    );
    assert!(ma.data(&store) == data_expected().as_slice());
    assert!(mb.data(&store) == data_expected().as_slice());
    let poke_a = a
        .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
        .unwrap();
    let poke_b = b
        .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
        .unwrap();
    poke_a.call(&mut store, (16, i32::from(b'j'))).unwrap();
    assert_eq!(&ma.data(&store)[16..21], b"jello");
    assert_eq!(&mb.data(&store)[16..21], b"hello");
    poke_b.call(&mut store, (9001, 77)).unwrap();
    assert_eq!(&mb.data(&store)[9000..9003], &[1, 77, 3]);
    assert_eq!(&ma.data(&store)[9000..9003], &[1, 2, 3]);
    // A third instance, made after both wrote, starts from the image again.
    let c = Instance::new(&mut store, module, &[]).unwrap();
    let mc = c.get_memory(&mut store, "m").unwrap();
    assert!(mc.data(&store) == data_expected().as_slice());
}

#[test]
fn memory_init_cow_off_and_on_give_the_same_isolated_contents() {
    for cow in [true, false] {
        let engine = engine_with(|c| {
            c.memory_init_cow(cow);
        })
        .unwrap();
        let module = Module::new(&engine, DATA).unwrap();
        instances_are_isolated(&module);
        // An artifact mapped from a file: its images live in the file.
        let path = std::env::temp_dir().join(format!(
            "tern-config-knobs-cow-{cow}-{}.cwasm",
            std::process::id()
        ));
        std::fs::write(&path, module.serialize().unwrap()).unwrap();
        // SAFETY: the file was just written by `serialize` and is not modified.
        let loaded = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
        instances_are_isolated(&loaded);
        // No instance's write ever reaches the file.
        // SAFETY: as above.
        let again = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
        instances_are_isolated(&again);
        drop((loaded, again));
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn custom_module_version_is_limited_to_255_bytes() {
    let mut config = Config::new();
    assert!(config
        .module_version(ModuleVersionStrategy::Custom("v".repeat(255)))
        .is_ok());
    let err = config
        .module_version(ModuleVersionStrategy::Custom("v".repeat(256)))
        .unwrap_err();
    assert!(error_text(err).contains("255"));
}

fn versioned(strategy: ModuleVersionStrategy) -> Engine {
    engine_with(|c| {
        c.module_version(strategy).unwrap();
    })
    .unwrap()
}

#[test]
fn module_version_is_checked_unless_none() {
    let custom = |v: &str| versioned(ModuleVersionStrategy::Custom(v.to_string()));
    let a = custom("release-a");
    let bytes = a.precompile_module(TRAPS.as_bytes()).unwrap();

    // Same custom version: loads and runs.
    // SAFETY: the bytes were just written by `precompile_module`.
    let same = unsafe { Module::deserialize(&custom("release-a"), &bytes) }.unwrap();
    assert_eq!(trap_frames(&same).len(), 2);

    // Another custom version, or the default: refused, naming both.
    for (engine, ours) in [
        (custom("release-b"), "release-b".to_string()),
        (Engine::default(), env!("CARGO_PKG_VERSION").to_string()),
    ] {
        // SAFETY: as above.
        let err = unsafe { Module::deserialize(&engine, &bytes) }.unwrap_err();
        let msg = error_text(err);
        assert!(
            msg.contains(&format!(
                "compiled with module version=release-a, this engine has module version={ours}"
            )),
            "{msg}"
        );
    }

    // `None` accepts any version...
    let none = versioned(ModuleVersionStrategy::None);
    // SAFETY: as above.
    let loaded = unsafe { Module::deserialize(&none, &bytes) }.unwrap();
    assert_eq!(trap_frames(&loaded).len(), 2);
    // ...writes an empty one, which a versioned engine refuses...
    let unversioned = none.precompile_module(TRAPS.as_bytes()).unwrap();
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&Engine::default(), &unversioned) }.unwrap_err();
    assert!(error_text(err).contains("compiled with module version=, this engine"));
    // ...and still checks everything else.
    let other_settings = engine_with(|c| {
        c.module_version(ModuleVersionStrategy::None)
            .unwrap()
            .consume_fuel(true);
    })
    .unwrap();
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&other_settings, &bytes) }.unwrap_err();
    let msg = error_text(err);
    assert!(msg.contains("consume fuel"), "{msg}");
}

/// The target Tern compiles for besides the host's.
fn foreign_target() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    }
}

fn host_target() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86_64-unknown-linux-gnu"
    } else {
        "aarch64-unknown-linux-gnu"
    }
}

#[test]
fn unknown_or_unsupported_targets_are_refused_by_target() {
    for triple in [
        "not a triple",
        "riscv64gc-unknown-linux-gnu",
        "x86_64-pc-windows-msvc",
        "aarch64-apple-darwin",
    ] {
        let err = Config::new().target(triple).map(|_| ()).unwrap_err();
        assert!(error_text(err).contains(triple));
    }
}

#[test]
fn the_host_target_compiles_and_runs() {
    let engine = engine_with(|c| {
        c.target(host_target()).unwrap();
    })
    .unwrap();
    let module = Module::new(&engine, TRAPS).unwrap();
    assert_eq!(trap_frames(&module).len(), 2);
    // Baseline CPU features (no host detection) still cover SIMD operators
    // whose fast forms need later extensions (SSE4.1 on x86-64).
    let module = Module::new(&engine, SIMD).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<(i32, f32), (i32, f32, i32)>(&mut store, "run")
        .unwrap();
    // -7 is 0xf9 in a byte: six bits set.
    assert_eq!(run.call(&mut store, (-7, 1.25)).unwrap(), (49, 2.0, 6));
}

/// SIMD operators whose fastest x86-64 forms need SSE4.1 or later.
const SIMD: &str = r#"(module
  (func (export "run") (param i32 f32) (result i32 f32 i32)
    (i32x4.extract_lane 3 (i32x4.mul (i32x4.splat (local.get 0)) (i32x4.splat (local.get 0))))
    (f32x4.extract_lane 1 (f32x4.ceil (f32x4.splat (local.get 1))))
    (i8x16.extract_lane_u 0 (i8x16.popcnt (i8x16.splat (local.get 0))))))"#;

#[test]
fn a_foreign_target_precompiles_and_is_refused_here() {
    let foreign = engine_with(|c| {
        c.target(foreign_target()).unwrap();
    })
    .unwrap();
    foreign.precompile_module(SIMD.as_bytes()).unwrap();
    let bytes = foreign.precompile_module(DATA.as_bytes()).unwrap();
    assert_eq!(
        foreign.detect_precompiled(&bytes),
        Some(Precompiled::Module)
    );
    // The container names the foreign machine (ELF `e_machine`).
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    let expected = if foreign_target().starts_with("aarch64") {
        183 // EM_AARCH64
    } else {
        62 // EM_X86_64
    };
    assert_eq!(machine, expected);

    // The host's engine refuses the artifact, naming the target.
    // SAFETY: the bytes were just written by `precompile_module`.
    let err = unsafe { Module::deserialize(&Engine::default(), &bytes) }.unwrap_err();
    let msg = error_text(err);
    assert!(
        msg.contains(&format!("compiled with target={}", foreign_target())),
        "{msg}"
    );
    // The foreign engine runs nothing here.
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&foreign, &bytes) }.unwrap_err();
    assert!(error_text(err).contains("cannot run on this"));
    let err = Module::new(&foreign, DATA).unwrap_err();
    assert!(error_text(err).contains("cannot run on this"));
}

#[test]
fn new_with_name_names_the_module_and_its_frames() {
    let engine = Engine::default();
    let module = Module::new_with_name(&engine, TRAPS, "renamed").unwrap();
    assert_eq!(module.name(), Some("renamed"));
    let frames = trap_frames(&module);
    assert!(frames.iter().all(|f| f.module_name() == Some("renamed")));
    // The name survives serialization.
    // SAFETY: the bytes were just written by `serialize`.
    let loaded = unsafe { Module::deserialize(&engine, module.serialize().unwrap()) }.unwrap();
    assert_eq!(loaded.name(), Some("renamed"));
    assert_eq!(Module::new(&engine, TRAPS).unwrap().name(), Some("traps"));
}

#[test]
fn from_trusted_file_loads_text_binary_and_artifacts() {
    let engine = Engine::default();
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let wat = dir.join(format!("tern-trusted-{pid}.wat"));
    let wasm = dir.join(format!("tern-trusted-{pid}.wasm"));
    let cwasm = dir.join(format!("tern-trusted-{pid}.cwasm"));
    std::fs::write(&wat, DATA).unwrap();
    std::fs::write(&wasm, wat::parse_str(DATA).unwrap()).unwrap();
    std::fs::write(&cwasm, engine.precompile_module(DATA.as_bytes()).unwrap()).unwrap();
    let before = engine.compiled_function_count();
    // SAFETY: the artifact was just written by `precompile_module` and is not
    // modified while the module lives.
    let loaded = unsafe { Module::from_trusted_file(&engine, &cwasm) }.unwrap();
    assert_eq!(
        engine.compiled_function_count(),
        before,
        "an artifact is not compiled"
    );
    instances_are_isolated(&loaded);
    for path in [&wat, &wasm] {
        // SAFETY: the file holds wasm, not an artifact.
        let module = unsafe { Module::from_trusted_file(&engine, path) }.unwrap();
        instances_are_isolated(&module);
    }
    // SAFETY: a missing file holds nothing to trust.
    let err = unsafe { Module::from_trusted_file(&engine, dir.join("tern-no-such-file")) };
    assert!(err.is_err());
    drop(loaded);
    for path in [wat, wasm, cwasm] {
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn module_export_finds_exports_without_names() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (global (export "g") i32 (i32.const 7))
             (func (export "f") (result i32) (i32.const 42)))"#,
    )
    .unwrap();
    let other = Module::new(
        &engine,
        r#"(module
             (global (export "g") i32 (i32.const 1))
             (func (export "f") (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    assert!(module.get_export_index("missing").is_none());
    let f = module.get_export_index("f").unwrap();
    let g = module.get_export_index("g").unwrap();
    let mut store = Store::new(&engine, ());
    for _ in 0..2 {
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let func = instance
            .get_module_export(&mut store, &f)
            .and_then(Extern::into_func)
            .unwrap();
        assert_eq!(
            func.typed::<(), i32>(&store)
                .unwrap()
                .call(&mut store, ())
                .unwrap(),
            42
        );
        let global = instance
            .get_module_export(&mut store, &g)
            .and_then(Extern::into_global)
            .unwrap();
        assert_eq!(global.get(&mut store).i32(), Some(7));
    }
    // An index found in another module is refused, even at the same position.
    let instance = Instance::new(&mut store, &other, &[]).unwrap();
    assert!(instance.get_module_export(&mut store, &f).is_none());
    let own = other.get_export_index("f").unwrap();
    assert!(instance.get_module_export(&mut store, &own).is_some());
}

#[test]
fn wasmtime12_trap_variants_exist_with_messages() {
    for (trap, message) in [
        (Trap::HeapMisaligned, "unaligned atomic"),
        (
            Trap::AtomicWaitNonSharedMemory,
            "atomic wait on non-shared memory",
        ),
        (
            Trap::AlwaysTrapAdapter,
            "degenerate component adapter called",
        ),
    ] {
        assert_eq!(trap.to_string(), format!("wasm trap: {message}"));
    }
}

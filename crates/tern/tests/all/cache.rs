//! The compilation cache: a module compiled once is loaded from the cache by
//! later engines with the same settings without compiling (the engine's
//! count of compiled functions proves it), damaged entries are recompiled and
//! replaced, and many threads filling the same entry at once leave one intact
//! entry behind. A component is cached whole, apart from modules.

use std::path::{Path, PathBuf};
use tern::*;

const MODULE: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add
        (call $fib (i32.sub (local.get 0) (i32.const 1)))
        (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#;

/// A fresh, empty directory for one test's cache.
fn cache_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-cache-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(dir: &Path) -> Config {
    let mut config = Config::new();
    config.cache_directory(dir);
    config
}

/// The files in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Runs `fib(10)` from `module`.
fn fib10(engine: &Engine, module: &Module) -> i32 {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let fib = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    fib.call(&mut store, 10).unwrap()
}

/// Loads `MODULE` from `file` with a new engine caching in `dir`, checks that
/// it runs, and returns how many functions that engine compiled.
fn load_with_new_engine(dir: &Path, file: &Path) -> u64 {
    let engine = Engine::new(&config(dir)).unwrap();
    let module = Module::from_file(&engine, file).unwrap();
    assert_eq!(fib10(&engine, &module), 55);
    engine.compiled_function_count()
}

/// Writes `MODULE` as a wasm binary into `dir`'s parent, named after `dir`.
fn module_file(dir: &Path) -> PathBuf {
    let file = dir.with_extension("wasm");
    std::fs::write(&file, wat::parse_str(MODULE).unwrap()).unwrap();
    file
}

#[test]
fn a_second_load_is_a_cache_hit() {
    let dir = cache_dir("hit");
    let file = module_file(&dir);
    assert!(
        load_with_new_engine(&dir, &file) > 0,
        "the first load compiles"
    );
    let stored = entries(&dir);
    assert_eq!(stored.len(), 1, "one entry: {stored:?}");
    assert!(stored[0].ends_with(".cwasm"), "{stored:?}");
    assert_eq!(
        load_with_new_engine(&dir, &file),
        0,
        "a hit compiles nothing"
    );
    // The same engine loading twice: the second load compiles nothing either,
    // and `Module::new` of the text form finds the same entry.
    let engine = Engine::new(&config(&dir)).unwrap();
    Module::from_file(&engine, &file).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    assert_eq!(fib10(&engine, &module), 55);
    assert_eq!(engine.compiled_function_count(), 0);
    assert_eq!(entries(&dir), stored);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_damaged_entry_is_recompiled_and_replaced() {
    let dir = cache_dir("damaged");
    let file = module_file(&dir);
    load_with_new_engine(&dir, &file);
    let entry = dir.join(&entries(&dir)[0]);
    let intact = std::fs::read(&entry).unwrap();
    let truncated = intact[..intact.len() / 2].to_vec();
    let mut scribbled = intact.clone();
    scribbled[..64].fill(0xa5);
    let mut tail_flipped = intact.clone();
    let last = tail_flipped.len() - 1;
    tail_flipped[last] ^= 0xff;
    for (what, damaged) in [
        ("truncated", truncated),
        ("empty", Vec::new()),
        ("scribbled header", scribbled),
        ("flipped last byte", tail_flipped),
        ("not an artifact", b"\0asm garbage".to_vec()),
    ] {
        std::fs::write(&entry, &damaged).unwrap();
        assert!(
            load_with_new_engine(&dir, &file) > 0,
            "{what}: the damaged entry was not recompiled"
        );
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            intact,
            "{what}: the entry was not replaced"
        );
        assert_eq!(
            load_with_new_engine(&dir, &file),
            0,
            "{what}: no hit after repair"
        );
    }
    assert_eq!(entries(&dir).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn concurrent_writers_leave_one_intact_entry() {
    let dir = cache_dir("concurrent");
    let file = module_file(&dir);
    let threads = 8;
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let engine = Engine::new(&config(&dir)).unwrap();
                barrier.wait();
                for _ in 0..4 {
                    let module = Module::from_file(&engine, &file).unwrap();
                    assert_eq!(fib10(&engine, &module), 55);
                }
            });
        }
    });
    let stored = entries(&dir);
    assert_eq!(
        stored.len(),
        1,
        "one entry, no temporary files left: {stored:?}"
    );
    assert_eq!(load_with_new_engine(&dir, &file), 0);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn code_affecting_settings_get_their_own_entries() {
    let dir = cache_dir("settings");
    let file = module_file(&dir);
    load_with_new_engine(&dir, &file);
    let mut unoptimised = config(&dir);
    unoptimised.cranelift_opt_level(OptLevel::None);
    let engine = Engine::new(&unoptimised).unwrap();
    let module = Module::from_file(&engine, &file).unwrap();
    assert!(
        engine.compiled_function_count() > 0,
        "another setting is a miss"
    );
    assert_eq!(fib10(&engine, &module), 55);
    assert_eq!(entries(&dir).len(), 2);
    // Another module with the same settings is a miss too.
    let other = Module::new(&engine, r#"(module (func (export "f")))"#).unwrap();
    assert!(other.get_export("f").is_some());
    assert_eq!(entries(&dir).len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_disabled_cache_is_not_touched() {
    let dir = cache_dir("disabled");
    let mut config = config(&dir);
    config.disable_cache();
    let engine = Engine::new(&config).unwrap();
    Module::new(&engine, MODULE).unwrap();
    let once = engine.compiled_function_count();
    Module::new(&engine, MODULE).unwrap();
    assert_eq!(engine.compiled_function_count(), 2 * once);
    assert!(!dir.exists(), "a disabled cache created its directory");
}

#[test]
fn an_unwritable_cache_only_costs_the_saving() {
    // A regular file where the directory should be: nothing can be stored,
    // yet every load succeeds (by compiling).
    let dir = cache_dir("unwritable");
    std::fs::write(&dir, b"not a directory").unwrap();
    let engine = Engine::new(&config(&dir)).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    assert_eq!(fib10(&engine, &module), 55);
    let once = engine.compiled_function_count();
    Module::new(&engine, MODULE).unwrap();
    assert_eq!(engine.compiled_function_count(), 2 * once);
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn cache_config_load_reads_a_wasmtime_style_file() {
    let dir = cache_dir("config-file");
    let file = dir.with_extension("toml");
    let load = |text: String| {
        std::fs::write(&file, text).unwrap();
        let mut config = Config::new();
        config.cache_config_load(&file).map(|c| c.clone())
    };
    let config = load(format!(
        "[cache] # comment\nenabled = true\ndirectory = \"{}\"\ncleanup-interval = \"1d\"\n",
        dir.display()
    ))
    .unwrap();
    let engine = Engine::new(&config).unwrap();
    Module::new(&engine, MODULE).unwrap();
    assert_eq!(
        entries(&dir).len(),
        1,
        "the file's directory holds the entry"
    );
    let engine = Engine::new(&config).unwrap();
    Module::new(&engine, MODULE).unwrap();
    assert_eq!(engine.compiled_function_count(), 0);

    let off = load(format!(
        "[cache]\nenabled = false\ndirectory = \"{}\"\n",
        dir.display()
    ))
    .unwrap();
    let engine = Engine::new(&off).unwrap();
    Module::new(&engine, MODULE).unwrap();
    assert!(
        engine.compiled_function_count() > 0,
        "enabled = false still cached"
    );

    for (text, message) in [
        ("[cache]\ndirectory = \"/tmp\"\n", "`enabled` is missing"),
        ("[other]\nenabled = true\n", "unknown table `[other]`"),
        ("enabled = true\n", "must follow `[cache]`"),
        ("[cache]\nenabled = yes\n", "`true` or `false`"),
        (
            "[cache]\nenabled = true\ndirectory = \"relative\"\n",
            "absolute path",
        ),
        (
            "[cache]\nenabled = true\ndirectory = /tmp\n",
            "double-quoted",
        ),
    ] {
        let err = format!("{:#}", load(text.to_string()).unwrap_err());
        assert!(err.contains(message), "{text:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&file).unwrap();
}

/// A component around `MODULE` (its core module compiled inside it).
fn component_text() -> String {
    format!(
        r#"(component
  (core module $m {})
  (core instance $i (instantiate $m))
  (func (export "fib") (param "n" u32) (result u32) (canon lift (core func $i "fib"))))"#,
        MODULE
            .strip_prefix("(module")
            .and_then(|m| m.strip_suffix(')'))
            .unwrap()
    )
}

/// Loads the component with a new engine caching in `dir`, checks that it
/// runs, and returns how many functions that engine compiled.
fn load_component_with_new_engine(dir: &Path) -> u64 {
    let mut config = config(dir);
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let component = component::Component::new(&engine, component_text()).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = component::Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let fib = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, (10,)).unwrap(), (55,));
    engine.compiled_function_count()
}

#[test]
fn a_component_is_cached_whole_apart_from_modules() {
    let dir = cache_dir("component");
    assert!(
        load_component_with_new_engine(&dir) > 0,
        "the first load compiles"
    );
    let stored = entries(&dir);
    assert_eq!(
        stored.len(),
        1,
        "one entry for the whole component: {stored:?}"
    );
    assert_eq!(
        load_component_with_new_engine(&dir),
        0,
        "a hit compiles nothing"
    );
    // The same core module on its own is another entry: a component's entry
    // is never taken for a module's, nor the reverse.
    let mut config = config(&dir);
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    assert_eq!(fib10(&engine, &module), 55);
    assert!(
        engine.compiled_function_count() > 0,
        "the module was compiled"
    );
    assert_eq!(entries(&dir).len(), 2);

    // A damaged component entry is recompiled and replaced.
    let entry = dir.join(&stored[0]);
    let intact = std::fs::read(&entry).unwrap();
    for damaged in [intact[..intact.len() / 2].to_vec(), b"garbage".to_vec()] {
        std::fs::write(&entry, &damaged).unwrap();
        assert!(load_component_with_new_engine(&dir) > 0, "not recompiled");
        assert_eq!(std::fs::read(&entry).unwrap(), intact, "not replaced");
    }
    assert_eq!(load_component_with_new_engine(&dir), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

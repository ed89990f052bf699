//! `ProfilingStrategy::PerfMap`: every loaded module, compiled or deserialized,
//! appends its functions to `/tmp/perf-<pid>.map` in perf's `START SIZE NAME`
//! format; the strategies Tern does not implement are refused by `Engine::new`.

use tern::*;

const MODULE: &str = r#"(module $profiled
  (func $perf_map_square (export "square") (param i32) (result i32)
    (i32.mul (local.get 0) (local.get 0)))
  (func $perf_map_twice (export "twice") (param i32) (result i32)
    (i32.add (call $perf_map_square (local.get 0)) (call $perf_map_square (local.get 0)))))"#;

/// The perf map's lines naming `name`, each checked to be `START SIZE NAME`
/// with hexadecimal numbers and a non-zero size; returns their count.
fn lines_naming(map: &str, name: &str) -> usize {
    map.lines()
        .filter(|line| line.ends_with(name))
        .inspect(|line| {
            let mut parts = line.splitn(3, ' ');
            let start = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let size = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            assert!(start != 0 && size != 0, "bad perf map line `{line}`");
        })
        .count()
}

#[test]
fn perf_map_names_every_loaded_function() {
    let mut config = Config::new();
    config.profiler(ProfilingStrategy::PerfMap);
    let engine = Engine::new(&config).unwrap();
    let path = perf_map_path();
    let module = Module::new(&engine, MODULE).unwrap();
    let map = std::fs::read_to_string(&path).unwrap();
    let square = lines_naming(&map, "profiled::perf_map_square");
    assert!(square >= 1, "the compiled module is missing from:\n{map}");
    assert_eq!(lines_naming(&map, "profiled::perf_map_twice"), square);
    assert!(map.contains("array_to_wasm_trampoline"), "{map}");
    // A deserialized module is listed too, at its own addresses.
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were just made by this Tern.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let map = std::fs::read_to_string(&path).unwrap();
    assert!(lines_naming(&map, "profiled::perf_map_twice") > square);
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &loaded, &[]).unwrap();
    let twice = instance
        .get_typed_func::<i32, i32>(&mut store, "twice")
        .unwrap();
    assert_eq!(twice.call(&mut store, 3).unwrap(), 18);
    // So is a module mapped from a file: here a compilation-cache hit.
    let cache = std::env::temp_dir().join(format!("tern-profiling-cache-{}", std::process::id()));
    let mut cached = config.clone();
    cached.cache_directory(&cache);
    let first = Engine::new(&cached).unwrap();
    Module::new(&first, MODULE).unwrap();
    let before = lines_naming(
        &std::fs::read_to_string(&path).unwrap(),
        "profiled::perf_map_twice",
    );
    let second = Engine::new(&cached).unwrap();
    Module::new(&second, MODULE).unwrap();
    assert_eq!(second.compiled_function_count(), 0, "not a cache hit");
    let after = lines_naming(
        &std::fs::read_to_string(&path).unwrap(),
        "profiled::perf_map_twice",
    );
    assert_eq!(
        after,
        before + 1,
        "the cached module is missing from the map"
    );
    std::fs::remove_dir_all(&cache).unwrap();
    // Only this test profiles in this process; do not leave the map behind.
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn unimplemented_profilers_are_refused() {
    for strategy in [ProfilingStrategy::JitDump, ProfilingStrategy::VTune] {
        let mut config = Config::new();
        config.profiler(strategy);
        let err = Engine::new(&config).unwrap_err().to_string();
        assert!(err.contains("not implemented"), "{strategy:?}: {err}");
    }
    let mut config = Config::new();
    config.profiler(ProfilingStrategy::None);
    Engine::new(&config).unwrap();
}

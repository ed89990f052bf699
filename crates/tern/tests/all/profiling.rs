//! `ProfilingStrategy::PerfMap`: every loaded module, compiled or deserialized,
//! appends its functions to `/tmp/perf-<pid>.map` in perf's `START SIZE NAME`
//! format. `ProfilingStrategy::JitDump`: `jit-<pid>.dump` holds a valid
//! header and one `JIT_CODE_LOAD` record per function and trampoline, and is
//! mapped executable once (perf's marker). `VTune`, which Tern does not
//! implement, is refused by `Engine::new`.

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

/// One `JIT_CODE_LOAD` record of a jitdump file.
struct CodeLoad {
    pid: u32,
    vma: u64,
    code_addr: u64,
    index: u64,
    name: String,
    code: Vec<u8>,
}

/// Parses a whole jitdump file (host byte order), checking the header and
/// that every record's size adds up to the end of the file exactly.
fn parse_jitdump(bytes: &[u8]) -> Vec<CodeLoad> {
    let u32_at = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
    assert_eq!(u32_at(0), 0x4A69_5444, "magic `JiTD`");
    assert_eq!(u32_at(4), 1, "version");
    assert_eq!(u32_at(8), 40, "header size");
    if cfg!(target_arch = "x86_64") {
        assert_eq!(u32_at(12), 62, "EM_X86_64");
    } else if cfg!(target_arch = "aarch64") {
        assert_eq!(u32_at(12), 183, "EM_AARCH64");
    }
    assert_eq!(u32_at(20), std::process::id(), "pid");
    assert!(u64_at(24) > 0, "timestamp");
    let mut loads = Vec::new();
    let mut at = 40;
    while at < bytes.len() {
        let (id, size) = (u32_at(at), u32_at(at + 4) as usize);
        assert!(size >= 16 && at + size <= bytes.len(), "record at {at}");
        assert!(
            u64_at(at + 8) >= u64_at(24),
            "record timestamp before the header's"
        );
        if id == 0 {
            let body = at + 16;
            let code_size = u64_at(body + 24) as usize;
            let name_at = body + 40;
            let nul = bytes[name_at..].iter().position(|&b| b == 0).unwrap();
            let code_at = name_at + nul + 1;
            assert_eq!(
                code_at + code_size,
                at + size,
                "record size of code load at {at}"
            );
            loads.push(CodeLoad {
                pid: u32_at(body),
                vma: u64_at(body + 8),
                code_addr: u64_at(body + 16),
                index: u64_at(body + 32),
                name: String::from_utf8(bytes[name_at..name_at + nul].to_vec()).unwrap(),
                code: bytes[code_at..code_at + code_size].to_vec(),
            });
        }
        at += size;
    }
    assert_eq!(at, bytes.len(), "the last record runs past the end");
    loads
}

#[test]
fn jitdump_records_every_loaded_function() {
    let mut config = Config::new();
    config.profiler(ProfilingStrategy::JitDump);
    let engine = Engine::new(&config).unwrap();
    let path = jitdump_path();
    let wat = MODULE
        .replace("$profiled", "$jitdumped")
        .replace("perf_map_", "jit_");
    let module = Module::new(&engine, &wat).unwrap();
    let loads = parse_jitdump(&std::fs::read(&path).unwrap());
    let named = |loads: &[CodeLoad], name: &str| loads.iter().filter(|l| l.name == name).count();
    assert_eq!(named(&loads, "jitdumped::jit_square"), 1);
    assert_eq!(named(&loads, "jitdumped::jit_twice"), 1);
    assert!(loads
        .iter()
        .any(|l| l.name.contains("array_to_wasm_trampoline")));
    for (i, load) in loads.iter().enumerate() {
        assert_eq!(load.index, i as u64, "code indices are unique, in order");
        assert_eq!(load.pid, std::process::id());
        assert!(load.vma != 0 && load.vma == load.code_addr, "{}", load.name);
        assert!(!load.code.is_empty(), "{}", load.name);
    }
    // A second load of the module (deserialized) adds records at its own addresses.
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were just made by this Tern.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let again = parse_jitdump(&std::fs::read(&path).unwrap());
    assert_eq!(named(&again, "jitdumped::jit_twice"), 2);
    let twice: Vec<&CodeLoad> = again
        .iter()
        .filter(|l| l.name == "jitdumped::jit_twice")
        .collect();
    assert_ne!(twice[0].vma, twice[1].vma);
    assert_eq!(twice[0].code, twice[1].code, "the same machine code");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &loaded, &[]).unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "twice")
        .unwrap();
    assert_eq!(f.call(&mut store, 3).unwrap(), 18);
    // perf finds the file through its one executable mapping.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let file_name = path.file_name().unwrap().to_str().unwrap().to_string();
    let marks: Vec<&str> = maps.lines().filter(|l| l.ends_with(&file_name)).collect();
    assert_eq!(marks.len(), 1, "{marks:?}");
    assert!(
        marks[0]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .starts_with("r-x"),
        "{}",
        marks[0]
    );
    // Only this test writes a jitdump in this process; do not leave it behind.
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn unimplemented_profilers_are_refused() {
    let mut config = Config::new();
    config.profiler(ProfilingStrategy::VTune);
    let err = Engine::new(&config).unwrap_err().to_string();
    assert!(err.contains("not implemented"), "VTune: {err}");
    let mut config = Config::new();
    config.profiler(ProfilingStrategy::None);
    Engine::new(&config).unwrap();
}

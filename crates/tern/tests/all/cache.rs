//! The compilation cache: a module compiled once is loaded from the cache by
//! later engines with the same settings without compiling (the engine's
//! count of compiled functions proves it), damaged entries are recompiled and
//! replaced, and many threads filling the same entry at once leave one intact
//! entry behind. A component is cached whole, apart from modules.
//!
//! The cleaner (`cleanup` tests): a cache over its soft limits is trimmed
//! least recently used first (entry times are set explicitly, never waited
//! for) down to the configured share, a hit keeps an entry young, cleanups
//! wait for their interval, and nothing but entries and abandoned temporary
//! files is deleted.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
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

/// The name of the cleaner's marker file, which records the last cleanup.
const MARKER: &str = ".cleanup";

/// The files in `dir` but the cleaner's marker, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names = all_files(dir);
    names.retain(|name| name != MARKER);
    names
}

/// Every name in `dir`, sorted.
fn all_files(dir: &Path) -> Vec<String> {
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
    assert!(
        dir.join(MARKER).is_file(),
        "the write ran the first cleanup"
    );
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

/// A configuration caching in `dir` with the cleanup settings `settings`
/// (TOML lines of `[cache]`), loaded through `Config::cache_config_load`.
fn config_with(dir: &Path, settings: &str) -> Config {
    let file = dir.with_extension("toml");
    std::fs::write(
        &file,
        format!(
            "[cache]\nenabled = true\ndirectory = \"{}\"\n{settings}",
            dir.display()
        ),
    )
    .unwrap();
    let mut config = Config::new();
    config.cache_config_load(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    config
}

/// Sets the modification time of the file at `path`.
fn set_mtime(path: &Path, time: SystemTime) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// `hours` hours (negative: in the past) from now.
fn hours_from_now(hours: i64) -> SystemTime {
    let offset = Duration::from_secs(hours.unsigned_abs() * 3600);
    if hours < 0 {
        SystemTime::now() - offset
    } else {
        SystemTime::now() + offset
    }
}

/// Creates a file of `size` bytes named like a cache entry (numbered `n`) in
/// `dir`, last used at `time`; returns its name. The cleaner does not read
/// entries, so the content does not matter.
fn fake_entry(dir: &Path, n: u32, size: usize, time: SystemTime) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let name = format!("{n:064x}.cwasm");
    std::fs::write(dir.join(&name), vec![0u8; size]).unwrap();
    set_mtime(&dir.join(&name), time);
    name
}

/// Compiles a module that no other call compiles (told apart by `tag`) with a
/// new engine caching in `dir` as `config` says: a cache miss, so the cache
/// writes an entry and may clean up. Returns the names of the entries that
/// appeared (the one written, unless the cleanup deleted it at once).
fn write_new_entry(config: &Config, dir: &Path, tag: &str) -> Vec<String> {
    let before = if dir.exists() {
        entries(dir)
    } else {
        Vec::new()
    };
    let engine = Engine::new(config).unwrap();
    Module::new(&engine, format!(r#"(module (func (export "{tag}")))"#)).unwrap();
    assert!(
        engine.compiled_function_count() > 0,
        "{tag} was a cache hit"
    );
    let mut after = entries(dir);
    after.retain(|name| !before.contains(name));
    after
}

#[test]
fn cleanup_trims_entries_over_the_count_limit_oldest_first() {
    let dir = cache_dir("cleanup-count");
    let config = config_with(
        &dir,
        "file-count-soft-limit = \"10\"\nfile-count-limit-percent-if-deleting = \"50%\"\n",
    );
    // Twelve entries, fake[0] the oldest; with the new one, 13 > 10.
    let fakes: Vec<String> = (0..12)
        .map(|n| fake_entry(&dir, n, 100, hours_from_now(i64::from(n) - 100)))
        .collect();
    let written = write_new_entry(&config, &dir, "count");
    assert_eq!(written.len(), 1, "the new entry survives: {written:?}");
    // Trimmed to 50% of 10: the four youngest fakes and the new entry.
    let mut expected = fakes[8..].to_vec();
    expected.extend(written);
    expected.sort();
    assert_eq!(entries(&dir), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleanup_trims_the_total_size_in_binary_units() {
    let dir = cache_dir("cleanup-size");
    // Learn the size of the module's entry, then start over without it.
    let written = write_new_entry(&config(&dir), &dir, "size");
    let size = std::fs::metadata(dir.join(&written[0])).unwrap().len();
    std::fs::remove_dir_all(&dir).unwrap();
    // Ten 1 KiB entries; the limit leaves room for the new entry and five.
    let kib = size.div_ceil(1024) + 5;
    let config = config_with(
        &dir,
        &format!(
            "files-total-size-soft-limit = \"{kib}Ki\"\n\
             files-total-size-limit-percent-if-deleting = \"100%\"\n"
        ),
    );
    let fakes: Vec<String> = (0..10)
        .map(|n| fake_entry(&dir, n, 1024, hours_from_now(i64::from(n) - 100)))
        .collect();
    assert_eq!(write_new_entry(&config, &dir, "size"), written);
    let mut expected = fakes[5..].to_vec();
    expected.extend(written);
    expected.sort();
    assert_eq!(entries(&dir), expected, "{kib} KiB hold the entry and five");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleanup_spares_an_entry_that_a_hit_refreshed() {
    let dir = cache_dir("cleanup-hit");
    let config = config_with(
        &dir,
        "file-count-soft-limit = \"4\"\nfile-count-limit-percent-if-deleting = \"100%\"\n",
    );
    let file = module_file(&dir);
    assert!(load_with_new_engine(&dir, &file) > 0);
    let fib = entries(&dir);
    // The fib entry is the oldest of four until a hit uses it.
    set_mtime(&dir.join(&fib[0]), hours_from_now(-10));
    let fakes: Vec<String> = (1..=3)
        .map(|n| fake_entry(&dir, n, 100, hours_from_now(-i64::from(n))))
        .collect();
    let engine = Engine::new(&config).unwrap();
    Module::from_file(&engine, &file).unwrap();
    assert_eq!(engine.compiled_function_count(), 0, "a hit");
    // Five entries > 4 at the next cleanup: the least recently used goes,
    // which is the oldest fake, not the entry the hit used.
    set_mtime(&dir.join(MARKER), hours_from_now(-2));
    let written = write_new_entry(&config, &dir, "hit");
    let mut expected = vec![fib[0].clone(), fakes[0].clone(), fakes[1].clone()];
    expected.extend(written);
    expected.sort();
    assert_eq!(entries(&dir), expected);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn cleanup_waits_for_its_interval() {
    let dir = cache_dir("cleanup-interval");
    let config = config_with(
        &dir,
        "cleanup-interval = \"1h\"\nfile-count-soft-limit = \"2\"\n\
         file-count-limit-percent-if-deleting = \"100%\"\n",
    );
    let add_fakes = |first: u32| {
        for n in first..first + 3 {
            fake_entry(&dir, n, 100, hours_from_now(-50));
        }
    };
    // The first write cleans (there was no marker) and stamps the marker.
    add_fakes(0);
    write_new_entry(&config, &dir, "a");
    assert_eq!(entries(&dir).len(), 2);
    // Within the hour, writes leave the cache over its limit.
    add_fakes(10);
    write_new_entry(&config, &dir, "b");
    assert_eq!(entries(&dir).len(), 6, "cleaned again within the interval");
    set_mtime(
        &dir.join(MARKER),
        SystemTime::now() - Duration::from_secs(59 * 60),
    );
    write_new_entry(&config, &dir, "c");
    assert_eq!(entries(&dir).len(), 7, "cleaned again within the interval");
    // Once the hour has passed, the next write cleans.
    set_mtime(
        &dir.join(MARKER),
        SystemTime::now() - Duration::from_secs(61 * 60),
    );
    write_new_entry(&config, &dir, "d");
    let left = entries(&dir);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.iter().all(|name| !name.starts_with("0000")),
        "{left:?}"
    );
    // A marker from the future within the allowed drift (1 day) counts as
    // recent; one further ahead means the clock went back: clean.
    add_fakes(20);
    set_mtime(&dir.join(MARKER), hours_from_now(1));
    write_new_entry(&config, &dir, "e");
    assert_eq!(entries(&dir).len(), 6);
    set_mtime(&dir.join(MARKER), hours_from_now(48));
    write_new_entry(&config, &dir, "f");
    assert_eq!(entries(&dir).len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleanup_deletes_only_entries_and_abandoned_temporary_files() {
    let dir = cache_dir("cleanup-foreign");
    // Count limit 1 trimmed to 0%: every entry goes, the new one too.
    let config = config_with(
        &dir,
        "file-count-soft-limit = \"1\"\nfile-count-limit-percent-if-deleting = \"0%\"\n",
    );
    let old = hours_from_now(-100);
    fake_entry(&dir, 1, 100, old);
    let mut keep = vec![MARKER.to_string()];
    for name in [
        "notes.txt",
        "0123.cwasm",
        // Upper-case hex is not how the cache names entries.
        &format!("{:064X}.cwasm", u128::MAX),
        "subdirectory",
        ".tmp-1-1",
    ] {
        let path = dir.join(name);
        if name == "subdirectory" {
            std::fs::create_dir(&path).unwrap();
            std::fs::write(path.join(format!("{:064x}.cwasm", 7)), b"x").unwrap();
        } else {
            std::fs::write(&path, b"not an entry").unwrap();
            // The live writer's temporary file was written just now.
            if name != ".tmp-1-1" {
                set_mtime(&path, old);
            }
        }
        keep.push(name.to_string());
    }
    // A temporary file unwritten for two minutes: its writer died.
    let abandoned = dir.join(".tmp-1-2");
    std::fs::write(&abandoned, b"half an entry").unwrap();
    set_mtime(&abandoned, SystemTime::now() - Duration::from_secs(120));
    assert_eq!(
        write_new_entry(&config, &dir, "foreign"),
        Vec::<String>::new()
    );
    keep.sort();
    assert_eq!(all_files(&dir), keep);
    assert_eq!(entries(&dir.join("subdirectory")).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleanup_takes_entries_from_the_far_future_for_the_oldest() {
    let dir = cache_dir("cleanup-future");
    let config = config_with(
        &dir,
        "file-count-soft-limit = \"3\"\nfile-count-limit-percent-if-deleting = \"100%\"\n",
    );
    let recent = fake_entry(&dir, 1, 100, hours_from_now(-1));
    fake_entry(&dir, 2, 100, hours_from_now(-2));
    // Within the default drift of a day: young. Beyond it: a clock error.
    let near_future = fake_entry(&dir, 3, 100, hours_from_now(1));
    fake_entry(&dir, 4, 100, hours_from_now(48));
    let mut expected = write_new_entry(&config, &dir, "future");
    expected.extend([recent, near_future]);
    expected.sort();
    assert_eq!(entries(&dir), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleanup_settings_are_checked_and_errors_name_the_key() {
    let dir = cache_dir("cleanup-settings");
    let file = dir.with_extension("toml");
    let load = |settings: &str| {
        std::fs::write(
            &file,
            format!("[cache]\nenabled = true\ndirectory = \"/tmp\"\n{settings}"),
        )
        .unwrap();
        let mut config = Config::new();
        config.cache_config_load(&file).map(|_| ())
    };
    // wasmtime's documented example and every key it documents, with values
    // in each accepted spelling.
    load(
        "cleanup-interval = \"30m\"\nfiles-total-size-soft-limit = \"1Gi\"\n\
         file-count-soft-limit = \"64K\"\n\
         file-count-limit-percent-if-deleting = \"70%\"\n\
         files-total-size-limit-percent-if-deleting = \"100%\"\n\
         allowed-clock-drift-for-files-from-future = \"1d\"\n\
         worker-event-queue-size = \"16\"\nbaseline-compression-level = 3\n\
         optimized-compression-level = 20\n\
         optimized-compression-usage-counter-threshold = \"256\"\n\
         optimizing-compression-task-timeout = \"30m\"\n",
    )
    .unwrap();
    for size in ["512", "2K", "3M", "4Mi", "5G", "6Ti", "7P", "8Pi"] {
        load(&format!("files-total-size-soft-limit = \"{size}\"\n")).unwrap();
    }
    for (setting, message) in [
        ("cleanup-interval = \"5x\"", "a duration"),
        ("cleanup-interval = \"60\"", "a duration"),
        ("cleanup-interval = 60", "double-quoted"),
        (
            "allowed-clock-drift-for-files-from-future = \"1y\"",
            "a duration",
        ),
        ("file-count-soft-limit = \"10Ki\"", "a count"),
        ("file-count-soft-limit = \"-1\"", "a count"),
        (
            "file-count-soft-limit = \"99999999999999999999\"",
            "too large",
        ),
        ("files-total-size-soft-limit = \"lots\"", "a size"),
        ("files-total-size-soft-limit = \"99999P\"", "too large"),
        (
            "file-count-limit-percent-if-deleting = \"70\"",
            "a percentage",
        ),
        (
            "files-total-size-limit-percent-if-deleting = \"170%\"",
            "more than 100%",
        ),
        ("baseline-compression-level = \"3\"", "an integer"),
        (
            "cleanup-intervall = \"1h\"",
            "unknown key `cleanup-intervall`",
        ),
    ] {
        let err = format!("{:#}", load(&format!("{setting}\n")).unwrap_err());
        let key = setting.split(' ').next().unwrap();
        assert!(
            err.contains(&file.display().to_string()),
            "{setting}: {err}"
        );
        assert!(
            err.contains(&format!("line 4: `{key}`")) || err.contains("unknown key"),
            "{setting}: {err}"
        );
        assert!(err.contains(message), "{setting}: {err}");
    }
    let err = format!(
        "{:#}",
        load("cleanup-interval = \"1h\"\ncleanup-interval = \"2h\"\n").unwrap_err()
    );
    assert!(
        err.contains("line 5: `cleanup-interval` is set twice"),
        "{err}"
    );
    std::fs::remove_file(&file).unwrap();
}

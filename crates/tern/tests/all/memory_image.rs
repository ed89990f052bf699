//! Copy-on-write memory images: a module's data segments laid out at compile
//! time and mapped into every new memory. What must hold whichever way the
//! module was loaded (compiled, `deserialize`, `deserialize_file`): every
//! instance starts with exactly the bytes the segments describe, a write in
//! one instance is invisible to every other, growing (also a dynamic memory
//! that moves) keeps the contents, and modules whose segments cannot be
//! imaged behave as the spec says through the segment-by-segment path.
#![allow(
    unsafe_code,
    reason = "the tests call the unsafe `Module::deserialize*` APIs on artifacts they made"
)]

use tern::*;

/// 40 pages; segments of about 1.1 MiB in all, overlapping and unaligned,
/// with a zero-filled one in the middle and one at the very end of the
/// initial size. `offset` renders a segment's offset expression.
fn data_module(offset: impl Fn(u32) -> String) -> (String, Vec<u8>) {
    let segments: [(u32, usize, u8); 5] = [
        (0, 300_000, 1),
        (123_457, 600_000, 7),
        (700_001, 8_192, 0),
        (1_000_003, 150_000, 13),
        (40 * 65536 - 10, 10, 99),
    ];
    let mut expected = vec![0u8; 40 * 65536];
    let mut wat = String::from(
        "(module (memory (export \"mem\") 40)
           (func (export \"load\") (param i32) (result i32) (i32.load8_u (local.get 0)))
           (func (export \"store\") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
           (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))\n",
    );
    for (start, len, seed) in segments {
        let bytes: Vec<u8> = (0..len)
            .map(|i| {
                if seed == 0 {
                    0
                } else {
                    (i as u8).wrapping_mul(seed) | 1
                }
            })
            .collect();
        expected[start as usize..start as usize + len].copy_from_slice(&bytes);
        let text: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        wat.push_str(&format!("(data ({}) \"{text}\")\n", offset(start)));
    }
    wat.push(')');
    (wat, expected)
}

fn constant(start: u32) -> String {
    format!("i32.const {start}")
}

/// The module with constant offsets loaded the three ways, by name.
struct Loaded {
    modules: Vec<(&'static str, Module)>,
    /// The memory's initial contents.
    expected: Vec<u8>,
    /// The (removed) artifact file the `deserialize_file` module maps.
    path: std::path::PathBuf,
}

/// The module with constant offsets, compiled and loaded the three ways.
fn loaded_three_ways(engine: &Engine) -> (Vec<(&'static str, Module)>, Vec<u8>) {
    let loaded = loaded_three_ways_at(engine);
    (loaded.modules, loaded.expected)
}

/// As `loaded_three_ways`, with the artifact's path.
fn loaded_three_ways_at(engine: &Engine) -> Loaded {
    let (wat, expected) = data_module(constant);
    let compiled = Module::new(engine, &wat).unwrap();
    let bytes = compiled.serialize().unwrap();
    // SAFETY: `bytes` was just written by this Tern's `serialize`.
    let from_bytes = unsafe { Module::deserialize(engine, &bytes) }.unwrap();
    let path = std::env::temp_dir().join(format!(
        "tern-memory-image-{}-{:p}.cwasm",
        std::process::id(),
        &expected
    ));
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: the file holds this Tern's artifact and nobody modifies it while
    // the module lives (it is removed below, which keeps the mapped pages).
    let from_file = unsafe { Module::deserialize_file(engine, &path) }.unwrap();
    std::fs::remove_file(&path).unwrap();
    Loaded {
        modules: vec![
            ("compiled", compiled),
            ("deserialize", from_bytes),
            ("deserialize_file", from_file),
        ],
        expected,
        path,
    }
}

/// The lines of this process's memory map that mention `name`.
fn mappings_named(name: &str) -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.contains(name))
        .count()
}

fn memory(store: &mut Store<()>, instance: &Instance) -> Memory {
    instance.get_memory(&mut *store, "mem").unwrap()
}

#[test]
fn every_instance_starts_with_the_segments_bytes() {
    let engine = Engine::default();
    let Loaded {
        modules,
        expected,
        path,
    } = loaded_three_ways_at(&engine);
    let path = path.to_str().unwrap().to_string();
    for (how, module) in &modules {
        let mut store = Store::new(&engine, ());
        let file_mappings_before = mappings_named(&path);
        for round in 0..20 {
            let instance = Instance::new(&mut store, module, &[]).unwrap();
            let mem = memory(&mut store, &instance);
            assert!(
                mem.data(&store) == expected.as_slice(),
                "{how}: instance {round} has other initial contents"
            );
            // Dirty this instance; the next one must not see it.
            mem.data_mut(&mut store)[200_000] = 0xEE;
            let store_fn = instance
                .get_typed_func::<(i32, i32), ()>(&mut store, "store")
                .unwrap();
            store_fn.call(&mut store, (5, 0xDD)).unwrap();
        }
        // The contents came from a mapping, not a copy: of a memfd for a module
        // whose image is in the heap, of the artifact for `deserialize_file`
        // (at least one more mapping of the file per live instance).
        if *how == "deserialize_file" {
            assert!(mappings_named(&path) >= file_mappings_before + 20, "{how}");
        } else {
            assert!(mappings_named("memfd:tern-memory-image") > 0, "{how}");
        }
    }
}

#[test]
fn writes_in_one_instance_are_invisible_in_others() {
    let engine = Engine::default();
    let (modules, expected) = loaded_three_ways(&engine);
    for (how, module) in &modules {
        let mut store = Store::new(&engine, ());
        let a = Instance::new(&mut store, module, &[]).unwrap();
        let mut other_store = Store::new(&engine, ());
        let b = Instance::new(&mut store, module, &[]).unwrap();
        let c = Instance::new(&mut other_store, module, &[]).unwrap();
        let store_a = a
            .get_typed_func::<(i32, i32), ()>(&mut store, "store")
            .unwrap();
        let load_b = b.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
        let load_a = a.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
        for addr in [0, 4095, 4096, 130_000, 1_000_003, 40 * 65536 - 1] {
            store_a.call(&mut store, (addr, 0x5A)).unwrap();
            assert_eq!(load_a.call(&mut store, addr).unwrap(), 0x5A, "{how}");
            assert_eq!(
                load_b.call(&mut store, addr).unwrap(),
                i32::from(expected[addr as usize]),
                "{how}: a write at {addr} in one instance showed in another"
            );
        }
        let mem_c = memory(&mut other_store, &c);
        assert!(mem_c.data(&other_store) == expected.as_slice(), "{how}");
    }
}

#[test]
fn memories_grow_after_an_image_is_mapped() {
    let mut config = Config::new();
    // Dynamic memories move when they outgrow their reservation.
    config.static_memory_maximum_size(0);
    let dynamic = Engine::new(&config).unwrap();
    for engine in [Engine::default(), dynamic] {
        let (modules, expected) = loaded_three_ways(&engine);
        for (how, module) in &modules {
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, module, &[]).unwrap();
            let store_fn = instance
                .get_typed_func::<(i32, i32), ()>(&mut store, "store")
                .unwrap();
            let grow = instance
                .get_typed_func::<i32, i32>(&mut store, "grow")
                .unwrap();
            store_fn.call(&mut store, (130_000, 0x77)).unwrap();
            assert_eq!(grow.call(&mut store, 3).unwrap(), 40, "{how}");
            let mem = memory(&mut store, &instance);
            assert_eq!(mem.grow(&mut store, 100).unwrap(), 43, "{how}");
            let data = mem.data(&store);
            assert_eq!(data.len(), 143 * 65536, "{how}");
            assert_eq!(data[130_000], 0x77, "{how}: a private write was lost");
            assert!(data[..130_000] == expected[..130_000], "{how}");
            assert!(
                data[130_001..expected.len()] == expected[130_001..],
                "{how}"
            );
            assert!(data[expected.len()..].iter().all(|b| *b == 0), "{how}");
            store_fn.call(&mut store, (142 * 65536, 1)).unwrap();
        }
    }
}

#[test]
fn segments_with_imported_global_offsets_take_the_segment_path() {
    let engine = Engine::default();
    let (wat, expected) = data_module(constant);
    // One more, empty, segment at an imported offset: no data segment of the
    // module can be imaged now, since that one may trap.
    let wat = wat.replacen(
        "(module ",
        "(module (global $base (import \"env\" \"base\") i32) ",
        1,
    );
    let wat = format!("{}(data (global.get $base) \"\"))", &wat[..wat.len() - 1]);
    let module = Module::new(&engine, &wat).unwrap();
    let bytes = module.serialize().unwrap();
    // SAFETY: `bytes` was just written by this Tern's `serialize`.
    let reloaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    for module in [module, reloaded] {
        let mut store = Store::new(&engine, ());
        let base = Global::new(
            &mut store,
            GlobalType::new(ValType::I32, Mutability::Const),
            Val::I32(0),
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[base.into()]).unwrap();
        let mem = memory(&mut store, &instance);
        assert!(mem.data(&store) == expected.as_slice());
        // With a base beyond the memory, instantiation traps after writing the
        // earlier segments (into a memory nobody sees).
        let far = Global::new(
            &mut store,
            GlobalType::new(ValType::I32, Mutability::Const),
            Val::I32(40 * 65536 + 1),
        )
        .unwrap();
        let err = Instance::new(&mut store, &module, &[far.into()]).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    }
}

#[test]
fn an_element_trap_leaves_an_imaged_memory_untouched() {
    // The first element segment stores `$peek` into the imported table, the
    // second traps; by the spec no data segment ran, so `$peek` reads 0.
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (table (import "env" "tab") 4 funcref)
             (memory 1)
             (data (i32.const 8) "\2a")
             (func $peek (result i32) (i32.load8_u (i32.const 8)))
             (elem (i32.const 0) $peek)
             (elem (i32.const 10) $peek))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let table = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 4, None),
        Val::FuncRef(None),
    )
    .unwrap();
    let err = Instance::new(&mut store, &module, &[table.into()]).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::TableOutOfBounds));
    let Some(Val::FuncRef(Some(peek))) = table.get(&mut store, 0) else {
        panic!("the first element segment was not applied");
    };
    let peek = peek.typed::<(), i32>(&store).unwrap();
    assert_eq!(peek.call(&mut store, ()).unwrap(), 0);
}

#[test]
fn deserialize_file_leaves_the_artifact_unchanged_by_guest_writes() {
    let engine = Engine::default();
    let (wat, expected) = data_module(constant);
    let bytes = Module::new(&engine, &wat).unwrap().serialize().unwrap();
    let path =
        std::env::temp_dir().join(format!("tern-memory-image-rw-{}.cwasm", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: the file holds this Tern's artifact and is not modified while the
    // module lives.
    let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let mem = memory(&mut store, &instance);
    mem.data_mut(&mut store).fill(0x33);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let fresh = Instance::new(&mut store, &module, &[]).unwrap();
    let fresh_mem = memory(&mut store, &fresh);
    assert!(fresh_mem.data(&store) == expected.as_slice());
    drop(store);
    drop(module);
    std::fs::remove_file(&path).unwrap();
}

//! Resource limits, fuel, epochs and memory strategies, including adversarial
//! modules: infinite loops, memory and table bombs, deep recursion, huge data.

use std::time::Duration;
use tern::*;

struct Limited {
    limits: StoreLimits,
}

fn limited_store(engine: &Engine, limits: StoreLimits) -> Store<Limited> {
    let mut store = Store::new(engine, Limited { limits });
    store.limiter(|d| &mut d.limits);
    store
}

const MEMORY_BOMB: &str = r#"(module
    (memory (export "mem") 1)
    (func (export "bomb") (result i32)
      (block $done (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $l)))
      (memory.size)))"#;

#[test]
fn memory_bomb_stops_at_the_limit() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, MEMORY_BOMB)?;
    let mut store = limited_store(
        &engine,
        StoreLimitsBuilder::new().memory_size(10 << 20).build(),
    );
    let instance = Instance::new(&mut store, &module, &[])?;
    let bomb = instance.get_typed_func::<(), i32>(&mut store, "bomb")?;
    assert_eq!(
        bomb.call(&mut store, ())?,
        160,
        "10 MiB = 160 pages, then memory.grow returns -1"
    );
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    assert!(
        mem.grow(&mut store, 1).is_err(),
        "the API obeys the limiter too"
    );
    Ok(())
}

#[test]
fn trap_on_grow_failure_turns_refusal_into_a_trap() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, MEMORY_BOMB)?;
    let limits = StoreLimitsBuilder::new()
        .memory_size(2 << 20)
        .trap_on_grow_failure(true)
        .build();
    let mut store = limited_store(&engine, limits);
    let instance = Instance::new(&mut store, &module, &[])?;
    let err = instance
        .get_typed_func::<(), i32>(&mut store, "bomb")?
        .call(&mut store, ())
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("forcing trap when growing memory"),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn table_bomb_stops_at_the_limit() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (table 0 funcref)
            (func (export "bomb") (result i32)
              (block $d (loop $l
                (br_if $d (i32.eq (table.grow (ref.null func) (i32.const 1000)) (i32.const -1)))
                (br $l)))
              (table.size)))"#,
    )?;
    let mut store = limited_store(
        &engine,
        StoreLimitsBuilder::new().table_elements(5000).build(),
    );
    let instance = Instance::new(&mut store, &module, &[])?;
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&mut store, "bomb")?
            .call(&mut store, ())?,
        5000
    );
    Ok(())
}

#[test]
fn instantiating_past_a_limit_is_an_error() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, "(module (memory 1) (table 1 funcref))")?;
    let mut store = limited_store(&engine, StoreLimitsBuilder::new().instances(2).build());
    Instance::new(&mut store, &module, &[])?;
    Instance::new(&mut store, &module, &[])?;
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(err.to_string().contains("instance count"), "{err}");

    let mut store = limited_store(&engine, StoreLimitsBuilder::new().memories(1).build());
    Instance::new(&mut store, &module, &[])?;
    assert!(Instance::new(&mut store, &module, &[])
        .unwrap_err()
        .to_string()
        .contains("memory count"));

    let mut store = limited_store(&engine, StoreLimitsBuilder::new().tables(1).build());
    Instance::new(&mut store, &module, &[])?;
    assert!(Instance::new(&mut store, &module, &[])
        .unwrap_err()
        .to_string()
        .contains("table count"));

    let huge = Module::new(&engine, "(module (memory 65536))")?;
    let mut store = limited_store(
        &engine,
        StoreLimitsBuilder::new().memory_size(1 << 20).build(),
    );
    let err = Instance::new(&mut store, &huge, &[]).unwrap_err();
    assert!(err.to_string().contains("exceeds memory limits"), "{err}");
    Ok(())
}

#[test]
fn huge_data_segments_trap_instead_of_writing_out_of_bounds() -> Result<()> {
    let engine = Engine::default();
    let big = "\\00".repeat(200);
    let module = Module::new(
        &engine,
        format!(r#"(module (memory 1) (data (i32.const 65500) "{big}"))"#),
    )?;
    let mut store = Store::new(&engine, ());
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    let module = Module::new(&engine, r#"(module (memory 1) (data (i32.const -1) "x"))"#)?;
    assert_eq!(
        Instance::new(&mut store, &module, &[])
            .unwrap_err()
            .downcast_ref::<Trap>(),
        Some(&Trap::MemoryOutOfBounds)
    );
    Ok(())
}

fn fuel_engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true);
    Engine::new(&config).unwrap()
}

#[test]
fn an_infinite_loop_terminates_under_fuel() -> Result<()> {
    let engine = fuel_engine();
    let module = Module::new(
        &engine,
        r#"(module (func (export "spin") (loop $l (br $l))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(100_000)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::OutOfFuel),
        "{err:?}"
    );
    assert_eq!(store.get_fuel()?, 0);
    // Refuelled, the store works again.
    store.set_fuel(10)?;
    assert_eq!(
        spin.call(&mut store, ())
            .unwrap_err()
            .downcast_ref::<Trap>(),
        Some(&Trap::OutOfFuel)
    );
    Ok(())
}

#[test]
fn fuel_is_charged_per_operator() -> Result<()> {
    let engine = fuel_engine();
    let module = Module::new(
        &engine,
        r#"(module (func (export "sum") (param $n i32) (result i32) (local $acc i32)
            (block $d (loop $l
              (br_if $d (i32.eqz (local.get $n)))
              (local.set $acc (i32.add (local.get $acc) (local.get $n)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $l)))
            (local.get $acc)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(1_000_000)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let sum = instance.get_typed_func::<i32, i32>(&mut store, "sum")?;
    assert_eq!(sum.call(&mut store, 100)?, 5050);
    let used_100 = 1_000_000 - store.get_fuel()?;
    store.set_fuel(1_000_000)?;
    sum.call(&mut store, 200)?;
    let used_200 = 1_000_000 - store.get_fuel()?;
    // Twelve metered operators per iteration: local.get, i32.eqz, br_if,
    // local.get x2, i32.add, local.set, local.get, i32.const, i32.sub, local.set, br.
    assert_eq!(used_200 - used_100, 100 * 12, "{used_100} {used_200}");
    let mut plain = Store::new(&Engine::default(), ());
    assert!(
        plain.set_fuel(1).is_err(),
        "fuel needs Config::consume_fuel"
    );
    Ok(())
}

#[test]
fn epoch_deadline_interrupts_a_busy_loop_from_another_thread() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (func (export "spin") (local i32) (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    store.epoch_deadline_trap();
    let instance = Instance::new(&mut store, &module, &[])?;
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            engine.increment_epoch();
        })
    };
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::Interrupt),
        "{err:?}"
    );
    ticker.join().unwrap();
    // A new deadline lets it run again until the next tick.
    store.set_epoch_deadline(1);
    let engine2 = engine.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        engine2.increment_epoch();
    });
    assert_eq!(
        spin.call(&mut store, ())
            .unwrap_err()
            .downcast_ref::<Trap>(),
        Some(&Trap::Interrupt)
    );
    t.join().unwrap();
    Ok(())
}

#[test]
fn dynamic_memories_move_when_they_grow_and_keep_their_contents() -> Result<()> {
    let mut config = Config::new();
    config
        .static_memory_maximum_size(0)
        .dynamic_memory_guard_size(0);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (memory (export "mem") 1)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    let put = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;
    put.call(&mut store, (65535, 42))?;
    assert_eq!(
        load.call(&mut store, 65536)
            .unwrap_err()
            .downcast_ref::<Trap>(),
        Some(&Trap::MemoryOutOfBounds)
    );
    for i in 0..20 {
        assert_eq!(grow.call(&mut store, 3)?, 1 + 3 * i);
        assert_eq!(
            load.call(&mut store, 65535)?,
            42,
            "contents survive the move"
        );
    }
    let size = 61 * 65536;
    put.call(&mut store, (size - 1, 7))?;
    assert_eq!(load.call(&mut store, size - 1)?, 7);
    assert_eq!(
        load.call(&mut store, size)
            .unwrap_err()
            .downcast_ref::<Trap>(),
        Some(&Trap::MemoryOutOfBounds)
    );
    Ok(())
}

/// This process's resident memory (`VmRSS`, in kB whatever the page size).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kb * 1024
}

/// Resident memory is a process-wide figure, and other tests of this binary
/// (2 GiB strings, full GC heaps) run on parallel threads; so the measuring
/// test re-runs itself alone in a child process, marked by this variable.
const ALONE: &str = "TERN_TEST_ALONE_IN_PROCESS";

/// A command running this test binary again: directly, or through the
/// emulator it runs under, named by `TERN_TEST_EMULATOR` (`.ci/aarch64` sets
/// it to its qemu-user command line: a qemu-user guest cannot execute
/// another binary of its own architecture by itself).
fn this_test_binary() -> Result<std::process::Command> {
    let exe = std::env::current_exe()?;
    let emulator = std::env::var("TERN_TEST_EMULATOR").unwrap_or_default();
    let mut words = emulator.split_whitespace();
    Ok(match words.next() {
        None => std::process::Command::new(exe),
        Some(program) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
    })
}

#[test]
fn dropping_stores_returns_their_memory_to_the_os() -> Result<()> {
    if std::env::var_os(ALONE).is_none() {
        let name = "limits::dropping_stores_returns_their_memory_to_the_os";
        let out = this_test_binary()?
            .args([name, "--exact", "--test-threads=1", "--nocapture"])
            .env(ALONE, "1")
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "the child run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Ok(());
    }
    let engine = Engine::default();
    // 16 pages = 1 MiB, every page written so it is resident.
    let module = Module::new(
        &engine,
        r#"(module (memory 16) (func (export "touch") (memory.fill (i32.const 0) (i32.const 1) (i32.const 1048576))))"#,
    )?;
    let before = resident_bytes();
    for _ in 0..10_000 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        instance
            .get_typed_func::<(), ()>(&mut store, "touch")?
            .call(&mut store, ())?;
    }
    let growth = resident_bytes().saturating_sub(before);
    // 10,000 leaked memories would be 10 GiB; allow generous allocator noise.
    assert!(
        growth < 256 << 20,
        "resident memory grew by {} MiB",
        growth >> 20
    );
    Ok(())
}

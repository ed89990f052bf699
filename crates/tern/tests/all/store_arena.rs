//! Many live instances in one store: past the first few, their static
//! memories and large vmctxs are slots of batch reservations (`vm::arena`).
//! What must hold: each instance's memory is its own — zero at first, exactly
//! its own size, writes of neighbours invisible, and every access its bounds
//! checks were removed for (up to 4 GiB plus an offset inside the guard
//! region) faulting rather than reaching the next slot; each vmctx starts as
//! a new one; the next store of the engine starts clean again.

use tern::*;

/// Instances per store: more than the engine cache (16), the store's own
/// first mapping and several batches (2, 4, 8, 16, 32, 64 slots).
const LIVE: usize = 200;

/// [`LIVE`], or 64 under an emulator (`TERN_TEST_EMULATOR`, see
/// `.ci/aarch64`): qemu-user keeps ~48 MiB of its own bookkeeping per 8 GiB
/// memory reservation, so 200 live memories need ~10 GiB there. 64 still
/// passes the engine cache and the batches of 2 to 32 slots.
fn live_memories() -> usize {
    if std::env::var_os("TERN_TEST_EMULATOR").is_some() {
        64
    } else {
        LIVE
    }
}

const MEMORY: &str = r#"(module (memory (export "mem") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "size") (result i32) (memory.size))
    (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "load_far") (param i32) (result i32)
      (i32.load offset=0x7fff0000 (local.get 0))))"#;

fn is_out_of_bounds(err: &Error) -> bool {
    err.downcast_ref::<Trap>() == Some(&Trap::MemoryOutOfBounds)
}

/// [`live_memories`] instances in one store, written and grown differently, each reads
/// only its own bytes and faults past its own size and in its guard region.
#[test]
fn live_instances_in_one_store_have_isolated_memories() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, MEMORY)?;
    for round in 0..2 {
        let mut store = Store::new(&engine, ());
        let mut live = Vec::new();
        for i in 0..live_memories() {
            let instance = Instance::new(&mut store, &module, &[])?;
            let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
            let put = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;
            let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
            // Fresh: zero at both ends of its page.
            assert_eq!(load.call(&mut store, 0)?, 0, "round {round}, instance {i}");
            assert_eq!(
                load.call(&mut store, 65532)?,
                0,
                "round {round}, instance {i}"
            );
            put.call(&mut store, (0, i as i32))?;
            put.call(&mut store, (65532, !(i as i32)))?;
            if i % 3 == 0 {
                assert_eq!(grow.call(&mut store, 1)?, 1);
                put.call(&mut store, (65536, i as i32 * 7))?;
            }
            live.push(instance);
        }
        for (i, instance) in live.iter().enumerate() {
            let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
            let far = instance.get_typed_func::<i32, i32>(&mut store, "load_far")?;
            let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
            assert_eq!(load.call(&mut store, 0)?, i as i32, "instance {i}");
            assert_eq!(load.call(&mut store, 65532)?, !(i as i32), "instance {i}");
            let pages = if i % 3 == 0 { 2 } else { 1 };
            assert_eq!(size.call(&mut store, ())?, pages, "instance {i}");
            if pages == 2 {
                assert_eq!(load.call(&mut store, 65536)?, i as i32 * 7);
            }
            for beyond in [pages * 65536, pages * 65536 + 4096, i32::MAX, -4] {
                let err = load.call(&mut store, beyond).unwrap_err();
                assert!(is_out_of_bounds(&err), "instance {i}, byte {beyond}: {err}");
            }
            // The farthest an unchecked access reaches: 4 GiB + almost the
            // whole guard, just short of where the next slot begins.
            let err = far.call(&mut store, -4).unwrap_err();
            assert!(is_out_of_bounds(&err), "instance {i}, guard: {err}");
        }
        // Memories from the host's `Memory::new` share the store's batches.
        let mut hosts = Vec::new();
        for i in 0..LIVE / 4 {
            let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
            assert!(memory.data(&store).iter().all(|b| *b == 0), "memory {i}");
            memory.data_mut(&mut store)[..4].copy_from_slice(&(i as u32).to_le_bytes());
            hosts.push(memory);
        }
        for (i, memory) in hosts.iter().enumerate() {
            assert_eq!(memory.data(&store)[..4], (i as u32).to_le_bytes());
            assert_eq!(memory.data_size(&store), 65536);
        }
    }
    Ok(())
}

/// A module whose vmctx is mapped (more than 64 KiB of funcrefs): many live
/// instances in one store each see their own global and their own functions.
#[test]
fn live_instances_in_one_store_have_their_own_vmctx() -> Result<()> {
    const N: usize = 3000;
    let mut wat = String::from(
        "(module (global $g (mut i32) (i32.const 11))
           (func (export \"get\") (result i32) (global.get $g))
           (func (export \"set\") (param i32) (global.set $g (local.get 0)))\n",
    );
    for i in 0..N {
        wat.push_str(&format!(
            "(func (export \"f{i}\") (result i32) (i32.const {i}))\n"
        ));
    }
    wat.push(')');
    let engine = Engine::default();
    let module = Module::new(&engine, wat)?;
    for round in 0..2 {
        let mut store = Store::new(&engine, ());
        let mut live = Vec::new();
        for i in 0..LIVE / 2 {
            let instance = Instance::new(&mut store, &module, &[])?;
            let get = instance.get_typed_func::<(), i32>(&mut store, "get")?;
            let set = instance.get_typed_func::<i32, ()>(&mut store, "set")?;
            assert_eq!(get.call(&mut store, ())?, 11, "round {round}, instance {i}");
            set.call(&mut store, i as i32)?;
            let f = instance.get_typed_func::<(), i32>(&mut store, &format!("f{}", i * 7 % N))?;
            assert_eq!(f.call(&mut store, ())?, (i * 7 % N) as i32);
            live.push(instance);
        }
        for (i, instance) in live.iter().enumerate() {
            let get = instance.get_typed_func::<(), i32>(&mut store, "get")?;
            assert_eq!(get.call(&mut store, ())?, i as i32, "instance {i}");
        }
    }
    Ok(())
}

//! `memory.fill` and `memory.copy` of short constant lengths are compiled
//! inline (no libcall): they must still check the whole range before writing
//! anything, fill with the low byte of the value, and copy overlapping ranges
//! as if through a temporary buffer. Each case is checked against the same
//! operation done in Rust on a copy of the memory.

use tern::*;

/// A module whose exports `fillN(dst, byte)` and `copyN(dst, src)` do a
/// `memory.fill`/`memory.copy` of the constant length N for each N in `lens`.
fn module(engine: &Engine, lens: &[u32]) -> Module {
    let mut wat = String::from("(module (memory (export \"mem\") 1)");
    for n in lens {
        wat += &format!(
            "(func (export \"fill{n}\") (param i32 i32)
               (memory.fill (local.get 0) (local.get 1) (i32.const {n})))
             (func (export \"copy{n}\") (param i32 i32)
               (memory.copy (local.get 0) (local.get 1) (i32.const {n})))"
        );
    }
    Module::new(engine, wat + ")").unwrap()
}

const LENS: &[u32] = &[
    0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 37, 64, 100, 128, 129, 192, 256, 257,
];

struct Setup {
    store: Store<()>,
    instance: Instance,
    mem: Memory,
}

fn setup() -> Setup {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module(&engine, LENS), &[]).unwrap();
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    // A recognisable pattern everywhere.
    let pattern: Vec<u8> = (0..65536u32).map(|i| (i * 7 + 3) as u8).collect();
    mem.write(&mut store, 0, &pattern).unwrap();
    Setup {
        store,
        instance,
        mem,
    }
}

impl Setup {
    fn call(&mut self, name: &str, a: i32, b: i32) -> Result<()> {
        self.instance
            .get_typed_func::<(i32, i32), ()>(&mut self.store, name)
            .unwrap()
            .call(&mut self.store, (a, b))
    }

    fn bytes(&self) -> Vec<u8> {
        self.mem.data(&self.store).to_vec()
    }
}

#[test]
fn fills_write_the_low_byte_over_exactly_the_range() {
    let mut s = setup();
    for &n in LENS {
        for dst in [0u32, 5, 1000, 65536 - n] {
            let mut expected = s.bytes();
            expected[dst as usize..(dst + n) as usize].fill(0xAB);
            s.call(&format!("fill{n}"), dst as i32, 0x12AB).unwrap();
            assert!(s.bytes() == expected, "fill{n} at {dst}");
        }
    }
}

#[test]
fn copies_behave_as_through_a_temporary_buffer() {
    let mut s = setup();
    for &n in LENS {
        for (dst, src) in [
            (100u32, 103u32),
            (103, 100),
            (4000, 9000),
            (500, 500),
            (65536 - n, 0),
        ] {
            let mut expected = s.bytes();
            expected.copy_within(src as usize..(src + n) as usize, dst as usize);
            s.call(&format!("copy{n}"), dst as i32, src as i32).unwrap();
            assert!(s.bytes() == expected, "copy{n} to {dst} from {src}");
        }
    }
}

#[test]
fn out_of_bounds_ranges_trap_and_write_nothing() {
    let mut s = setup();
    for &n in LENS {
        let before = s.bytes();
        let end = 65536u32;
        // One byte past the end (for n = 0: an address past the end).
        let dst = (end - n + 1) as i32;
        let e = s.call(&format!("fill{n}"), dst, 1).unwrap_err();
        assert_eq!(
            e.downcast_ref::<Trap>(),
            Some(&Trap::MemoryOutOfBounds),
            "fill{n}"
        );
        let e = s.call(&format!("copy{n}"), dst, 0).unwrap_err();
        assert_eq!(
            e.downcast_ref::<Trap>(),
            Some(&Trap::MemoryOutOfBounds),
            "copy{n} dst"
        );
        let e = s.call(&format!("copy{n}"), 0, dst).unwrap_err();
        assert_eq!(
            e.downcast_ref::<Trap>(),
            Some(&Trap::MemoryOutOfBounds),
            "copy{n} src"
        );
        let e = s.call(&format!("fill{n}"), -1, 1).unwrap_err();
        assert_eq!(
            e.downcast_ref::<Trap>(),
            Some(&Trap::MemoryOutOfBounds),
            "fill{n} at 2^32-1"
        );
        assert!(s.bytes() == before, "length {n} wrote before trapping");
        // Exactly up to the end is in bounds, including a zero length at the end.
        s.call(&format!("fill{n}"), (end - n) as i32, 1).unwrap();
    }
}

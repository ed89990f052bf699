//! `memory.fill` and `memory.copy` of a length known only at run time: compiled
//! code checks the ranges (on 32- and 64-bit memories, and between the two)
//! and calls a libcall that only moves or sets bytes. Each case is checked
//! against the same operation done in Rust on a copy of the memory; out-of-bounds
//! ranges, including 64-bit ones whose end wraps past 2^64, must trap with
//! `MemoryOutOfBounds` and write nothing. (Short constant lengths, compiled
//! inline, are `bulk_inline.rs`.)

use tern::*;

const WAT: &str = r#"(module
  (memory $m32 (export "m32") 1)
  (memory $m64 (export "m64") i64 1)
  (func (export "fill32") (param i32 i32 i32)
    (memory.fill $m32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy32") (param i32 i32 i32)
    (memory.copy $m32 $m32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill64") (param i64 i32 i64)
    (memory.fill $m64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy64") (param i64 i64 i64)
    (memory.copy $m64 $m64 (local.get 0) (local.get 1) (local.get 2)))
  ;; Between an i64 and an i32 memory the length is an i32.
  (func (export "copy64_from32") (param i64 i32 i32)
    (memory.copy $m64 $m32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy32_from64") (param i32 i64 i32)
    (memory.copy $m32 $m64 (local.get 0) (local.get 1) (local.get 2))))"#;

const PAGE: u64 = 65536;

struct Setup {
    store: Store<()>,
    instance: Instance,
    m32: Memory,
    m64: Memory,
}

fn setup() -> Setup {
    let mut config = Config::new();
    config.wasm_memory64(true).wasm_multi_memory(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, WAT).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let m32 = instance.get_memory(&mut store, "m32").unwrap();
    let m64 = instance.get_memory(&mut store, "m64").unwrap();
    // Recognisable, different patterns in the two memories.
    let a: Vec<u8> = (0..PAGE).map(|i| (i * 7 + 3) as u8).collect();
    let b: Vec<u8> = (0..PAGE).map(|i| (i * 13 + 5) as u8).collect();
    m32.write(&mut store, 0, &a).unwrap();
    m64.write(&mut store, 0, &b).unwrap();
    Setup {
        store,
        instance,
        m32,
        m64,
    }
}

impl Setup {
    fn call<P: WasmParams>(&mut self, name: &str, params: P) -> Result<()> {
        self.instance
            .get_typed_func::<P, ()>(&mut self.store, name)
            .unwrap()
            .call(&mut self.store, params)
    }

    fn bytes(&self) -> (Vec<u8>, Vec<u8>) {
        (
            self.m32.data(&self.store).to_vec(),
            self.m64.data(&self.store).to_vec(),
        )
    }

    /// Calls `name`, expects a `MemoryOutOfBounds` trap and no write.
    fn traps<P: WasmParams>(&mut self, name: &str, params: P, what: &str) {
        let before = self.bytes();
        let e = self.call(name, params).unwrap_err();
        assert_eq!(
            e.downcast_ref::<Trap>(),
            Some(&Trap::MemoryOutOfBounds),
            "{what}: {e:?}"
        );
        assert!(self.bytes() == before, "{what} wrote before trapping");
    }
}

const LENS: &[u64] = &[0, 1, 3, 16, 129, 300, 4096, 40_000];

#[test]
fn fills_write_the_low_byte_over_exactly_the_range() {
    let mut s = setup();
    for &n in LENS {
        for dst in [0, 5, 1000, PAGE - n] {
            let (mut e32, mut e64) = s.bytes();
            let range = dst as usize..(dst + n) as usize;
            e32[range.clone()].fill(0xAB);
            e64[range].fill(0xCD);
            s.call("fill32", (dst as i32, 0x12AB, n as i32)).unwrap();
            s.call("fill64", (dst as i64, 0x34CD, n as i64)).unwrap();
            assert!(s.bytes() == (e32, e64), "fill of {n} at {dst}");
        }
    }
}

#[test]
fn copies_behave_as_through_a_temporary_buffer() {
    let mut s = setup();
    for &n in LENS {
        for (dst, src) in [
            (100, 103),
            (103, 100),
            (500, 500),
            (PAGE - n, 0),
            (0, PAGE - n),
        ] {
            let (mut e32, mut e64) = s.bytes();
            let from = src as usize..(src + n) as usize;
            e32.copy_within(from.clone(), dst as usize);
            e64.copy_within(from, dst as usize);
            s.call("copy32", (dst as i32, src as i32, n as i32))
                .unwrap();
            s.call("copy64", (dst as i64, src as i64, n as i64))
                .unwrap();
            assert!(s.bytes() == (e32, e64), "copy of {n} to {dst} from {src}");
        }
    }
}

#[test]
fn copies_between_a_32_and_a_64_bit_memory() {
    let mut s = setup();
    for &n in LENS {
        let (dst, src) = (PAGE - n, 7.min(PAGE - n));
        let (mut e32, mut e64) = s.bytes();
        let from = src as usize..(src + n) as usize;
        e64[dst as usize..(dst + n) as usize].copy_from_slice(&e32[from.clone()]);
        s.call("copy64_from32", (dst as i64, src as i32, n as i32))
            .unwrap();
        e32[dst as usize..(dst + n) as usize].copy_from_slice(&e64[from]);
        s.call("copy32_from64", (dst as i32, src as i64, n as i32))
            .unwrap();
        assert!(s.bytes() == (e32, e64), "copy of {n} between memories");
    }
}

#[test]
fn out_of_bounds_ranges_trap_and_write_nothing() {
    let mut s = setup();
    for &n in LENS {
        // One byte past the end (for n = 0: an address past the end).
        let past = (PAGE - n + 1) as i64;
        let n32 = n as i32;
        s.traps("fill32", (past as i32, 1, n32), "fill32 past the end");
        s.traps("copy32", (past as i32, 0, n32), "copy32 dst past the end");
        s.traps("copy32", (0, past as i32, n32), "copy32 src past the end");
        s.traps("fill64", (past, 1, n as i64), "fill64 past the end");
        s.traps("copy64", (past, 0i64, n as i64), "copy64 dst past the end");
        s.traps("copy64", (0i64, past, n as i64), "copy64 src past the end");
        s.traps("copy64_from32", (past, 0, n32), "copy64_from32 dst");
        s.traps(
            "copy64_from32",
            (0i64, past as i32, n32),
            "copy64_from32 src",
        );
        s.traps(
            "copy32_from64",
            (past as i32, 0i64, n32),
            "copy32_from64 dst",
        );
        s.traps("copy32_from64", (0, past, n32), "copy32_from64 src");
        // Exactly up to the end is in bounds, including a zero length at the end.
        let end = (PAGE - n) as i64;
        s.call("fill32", (end as i32, 1, n32)).unwrap();
        s.call("fill64", (end, 1, n as i64)).unwrap();
    }
    // 32-bit operands whose sum passes 2^32 (it must not wrap to a small end).
    s.traps("fill32", (-1, 1, 2), "fill32 at 2^32-1");
    s.traps("copy32", (-16, 0, 32), "copy32 to 2^32-16");
    s.traps("copy32", (0, -16, 32), "copy32 from 2^32-16");
    // 64-bit ranges whose end wraps past 2^64 to a small number.
    s.traps("fill64", (-16i64, 1, 32i64), "fill64 at 2^64-16");
    s.traps("fill64", (16i64, 1, -1i64), "fill64 of 2^64-1 bytes");
    s.traps("copy64", (-16i64, 0i64, 32i64), "copy64 to 2^64-16");
    s.traps("copy64", (0i64, -16i64, 32i64), "copy64 from 2^64-16");
    s.traps("copy64", (0i64, 16i64, -8i64), "copy64 of 2^64-8 bytes");
    s.traps("copy64_from32", (-16i64, 0, 32), "copy64_from32 to 2^64-16");
    s.traps(
        "copy32_from64",
        (0, -16i64, 32),
        "copy32_from64 from 2^64-16",
    );
    // A zero length anywhere up to the end is fine, past it traps.
    s.call("copy64", (PAGE as i64, PAGE as i64, 0i64)).unwrap();
    s.traps(
        "copy64",
        (PAGE as i64 + 1, 0i64, 0i64),
        "copy64 of 0 bytes past the end",
    );
}

//! The trap behaviours Tern promises: stack overflow is a trap and leaves the
//! store usable, traps unwind through host frames, host errors and panics come
//! back to the caller of `call`, and backtraces name wasm functions.

use std::sync::atomic::{AtomicUsize, Ordering};
use tern::*;

#[test]
fn unbounded_recursion_is_stack_overflow_and_store_stays_usable() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (func $loop (export "loop") (param i32) (result i32)
              (call $loop (i32.add (local.get 0) (i32.const 1))))
            (func (export "ok") (result i32) (i32.const 7)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let lp = instance.get_typed_func::<i32, i32>(&mut store, "loop")?;
    for _ in 0..3 {
        let err = lp.call(&mut store, 0).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::StackOverflow),
            "{err:?}"
        );
    }
    let ok = instance.get_typed_func::<(), i32>(&mut store, "ok")?;
    assert_eq!(ok.call(&mut store, ())?, 7);
    Ok(())
}

#[test]
fn max_wasm_stack_bounds_recursion_depth() -> Result<()> {
    let depth = |stack: usize| -> Result<i32> {
        let mut config = Config::new();
        config.max_wasm_stack(stack);
        let engine = Engine::new(&config)?;
        let module = Module::new(
            &engine,
            r#"(module
                (global $d (mut i32) (i32.const 0))
                (func $r (export "r")
                  (global.set $d (i32.add (global.get $d) (i32.const 1)))
                  (call $r))
                (func (export "depth") (result i32) (global.get $d)))"#,
        )?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let r = instance.get_typed_func::<(), ()>(&mut store, "r")?;
        assert_eq!(
            r.call(&mut store, ()).unwrap_err().downcast_ref::<Trap>(),
            Some(&Trap::StackOverflow)
        );
        instance
            .get_typed_func::<(), i32>(&mut store, "depth")?
            .call(&mut store, ())
    };
    let small = depth(64 * 1024)?;
    let large = depth(1024 * 1024)?;
    assert!(small > 100, "some recursion fits in 64 KiB: {small}");
    assert!(
        large > 8 * small,
        "16x the stack allows much deeper recursion: {small} vs {large}"
    );
    Ok(())
}

#[test]
fn trap_in_nested_wasm_unwinds_to_the_outermost_call() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "reenter" (func $reenter))
            (func (export "outer") (call $reenter))
            (func (export "inner") (unreachable)))"#,
    )?;
    let mut store = Store::new(&engine, None::<Func>);
    let reenter = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, Option<Func>>| -> Result<()> {
            let inner = caller.data().expect("inner set");
            let err = inner.call(&mut caller, &[], &mut []).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::UnreachableCodeReached)
            );
            Err(err)
        },
    );
    let instance = Instance::new(&mut store, &module, &[reenter.into()])?;
    *store.data_mut() = instance.get_func(&mut store, "inner");
    let outer = instance.get_func(&mut store, "outer").unwrap();
    let err = outer.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached),
        "{err:?}"
    );
    // The store is still usable and a second round behaves the same.
    assert!(outer.call(&mut store, &[], &mut []).is_err());
    Ok(())
}

#[derive(Debug, PartialEq)]
struct MyError(u32);
impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "my error {}", self.0)
    }
}
impl std::error::Error for MyError {}

#[test]
fn host_error_reaches_the_caller_with_its_type() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "fail" (func $fail (param i32)))
            (func (export "run") (param i32) (call $fail (local.get 0)) (unreachable)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "fail", |x: i32| -> Result<()> {
        Err(MyError(x as u32).into())
    })?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<i32, ()>(&mut store, "run")?;
    let err = run.call(&mut store, 42).unwrap_err();
    assert_eq!(err.downcast_ref::<MyError>(), Some(&MyError(42)), "{err:?}");
    assert!(err.downcast_ref::<Trap>().is_none());
    let bt = err
        .downcast_ref::<WasmBacktrace>()
        .expect("backtrace attached");
    assert_eq!(bt.frames().len(), 1);
    assert_eq!(bt.frames()[0].func_index(), 1);
    Ok(())
}

#[test]
fn host_panic_propagates_after_unwinding_wasm() -> Result<()> {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "boom" (func $boom))
            (func (export "run") (call $boom))
            (func (export "ok") (result i32) (i32.const 1)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let boom = Func::wrap(&mut store, || -> () {
        CALLS.fetch_add(1, Ordering::SeqCst);
        if CALLS.load(Ordering::SeqCst) > 0 {
            panic!("host panic payload");
        }
    });
    let instance = Instance::new(&mut store, &module, &[boom.into()])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let caught =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, ())));
    let payload = caught.expect_err("the panic must reach the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"host panic payload"));
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    let ok = instance.get_typed_func::<(), i32>(&mut store, "ok")?;
    assert_eq!(ok.call(&mut store, ())?, 1);
    Ok(())
}

#[test]
fn every_trap_has_a_code_and_a_named_backtrace() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module $m
            (memory 1)
            (table 2 funcref)
            (type $t (func))
            (func $div (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
            (func $outer (export "outer") (param i32) (result i32) (call $div (local.get 0)))
            (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
            (func (export "oob") (result i32) (i32.load (i32.const 65536)))
            (func (export "conv") (result i32) (i32.trunc_f32_s (f32.const nan)))
            (func (export "null") (call_indirect (type $t) (i32.const 0)))
            (func (export "undef") (call_indirect (type $t) (i32.const 5)))
            (func (export "unreachable") (unreachable)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let expect = |store: &mut Store<()>, name: &str, args: &[Val], trap: Trap| {
        let f = instance.get_func(&mut *store, name).unwrap();
        let mut results = vec![Val::I32(0); f.ty(&*store).results().len()];
        let err = f.call(&mut *store, args, &mut results).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&trap), "{name}: {err:?}");
        err
    };
    let err = expect(
        &mut store,
        "outer",
        &[Val::I32(0)],
        Trap::IntegerDivisionByZero,
    );
    let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
    let names: Vec<_> = bt
        .frames()
        .iter()
        .map(|f| f.func_name().unwrap_or("?"))
        .collect();
    assert_eq!(names, ["div", "outer"]);
    assert_eq!(bt.frames()[0].module_name(), Some("m"));
    let text = format!("{err:?}");
    assert!(
        text.contains("m!div") && text.contains("integer divide by zero"),
        "{text}"
    );
    expect(&mut store, "overflow", &[], Trap::IntegerOverflow);
    expect(&mut store, "oob", &[], Trap::MemoryOutOfBounds);
    expect(&mut store, "conv", &[], Trap::BadConversionToInteger);
    expect(&mut store, "null", &[], Trap::IndirectCallToNull);
    expect(&mut store, "undef", &[], Trap::TableOutOfBounds);
    expect(&mut store, "unreachable", &[], Trap::UnreachableCodeReached);
    Ok(())
}

#[test]
fn traps_on_other_threads_are_independent() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "t") (param i32) (result i32) (i32.div_u (i32.const 10) (local.get 0))))"#,
    )?;
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[])?;
                let t = instance.get_typed_func::<i32, i32>(&mut store, "t")?;
                for _ in 0..200 {
                    assert_eq!(
                        t.call(&mut store, 0).unwrap_err().downcast_ref::<Trap>(),
                        Some(&Trap::IntegerDivisionByZero)
                    );
                    assert_eq!(t.call(&mut store, i + 1)?, 10 / (i + 1));
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap()?;
    }
    Ok(())
}

/// A trap leaves through the entry's landing pad, skipping the trampoline's
/// epilogue: the landing pad must give the host back every callee-saved
/// register. Wasm here keeps sixteen values live (more than the
/// caller-saved registers) before it traps, and the host keeps six values
/// live across each call; they must come out as if wasm had never run.
#[test]
fn host_registers_survive_traps_that_clobber_them() -> Result<()> {
    let mut body = String::new();
    for i in 0..16u64 {
        body.push_str(&format!(
            "(local.set {l} (i64.mul (local.get 0) (i64.const {k})))\n",
            l = i + 1,
            k = 0x9e37_79b9_u64 + i * 7919
        ));
    }
    body.push_str("(if (i64.ne (local.get 0) (i64.const 0)) (then unreachable))\n(i64.const 0)\n");
    for i in 0..16 {
        body.push_str(&format!("(local.get {}) i64.xor\n", i + 1));
    }
    let wat = format!(
        r#"(module (func (export "clobber") (param i64) (result i64) (local {}) {body}))"#,
        "i64 ".repeat(16)
    );
    let engine = Engine::default();
    let module = Module::new(&engine, &wat)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let clobber = instance.get_typed_func::<i64, i64>(&mut store, "clobber")?;
    assert_eq!(clobber.call(&mut store, 0)?, 0);

    let step = |v: [u64; 6], i: u64| -> [u64; 6] {
        [
            v[0].wrapping_mul(31).wrapping_add(v[5] ^ i),
            v[1].rotate_left(7) ^ v[0],
            v[2].wrapping_add(v[1]).wrapping_mul(3),
            v[3] ^ v[2].rotate_right(11),
            v[4].wrapping_sub(v[3]),
            v[5].wrapping_add(v[4] | 1),
        ]
    };
    let seed: [u64; 6] = std::hint::black_box([1, 2, 3, 4, 5, 6]);
    let (mut with_calls, mut reference) = (seed, seed);
    for i in 0..1_000u64 {
        let err = clobber
            .call(&mut store, std::hint::black_box(i as i64 + 1))
            .unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached)
        );
        with_calls = step(with_calls, i);
        reference = step(std::hint::black_box(reference), i);
    }
    assert_eq!(with_calls, reference);
    Ok(())
}

//! The signal-based trap path under stress: many threads trapping at once
//! while other threads load and drop modules (the code registry the handler
//! reads changes under it), a thread whose very first Tern action is a trap,
//! and stack overflow with Tern's own alternate signal stack.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tern::*;

/// A module whose exports trap in every way the signal handler sees: a trap
/// instruction (SIGILL), a division fault (SIGFPE), a guard-page access
/// (SIGSEGV), and the stack-limit check of deep recursion.
const TRAPPING: &str = r#"(module
    (memory 1)
    (func $unreachable_inner (unreachable))
    (func (export "unreachable") (call $unreachable_inner))
    (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
    (func $oob_inner (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "oob") (param i32) (result i32) (call $oob_inner (local.get 0)))
    (func $recurse (export "recurse") (param i32) (result i32)
      (call $recurse (i32.add (local.get 0) (i32.const 1)))))"#;

/// The trap each of the module's exports raises.
fn expect_trap(err: &Error, trap: Trap) {
    assert_eq!(err.downcast_ref::<Trap>(), Some(&trap), "{err:?}");
}

/// The function names of an error's wasm backtrace, innermost first.
fn frame_names(err: &Error) -> Vec<String> {
    err.downcast_ref::<WasmBacktrace>()
        .map(|bt| {
            bt.frames()
                .iter()
                .map(|f| f.func_name().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

struct Trapper {
    store: Store<()>,
    unreachable: TypedFunc<(), ()>,
    div: TypedFunc<i32, i32>,
    oob: TypedFunc<i32, i32>,
    recurse: TypedFunc<i32, i32>,
}

impl Trapper {
    fn new(engine: &Engine, module: &Module) -> Result<Self> {
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, module, &[])?;
        Ok(Self {
            unreachable: instance.get_typed_func(&mut store, "unreachable")?,
            div: instance.get_typed_func(&mut store, "div")?,
            oob: instance.get_typed_func(&mut store, "oob")?,
            recurse: instance.get_typed_func(&mut store, "recurse")?,
            store,
        })
    }

    /// Traps once in each way, checking kind and backtrace; `round` varies the
    /// order so that different threads hit different signals at the same time.
    fn trap_all(&mut self, round: usize) -> Result<()> {
        for step in 0..4 {
            match (round + step) % 4 {
                0 => {
                    let err = self.unreachable.call(&mut self.store, ()).unwrap_err();
                    expect_trap(&err, Trap::UnreachableCodeReached);
                    assert_eq!(frame_names(&err)[0], "unreachable_inner", "{err:?}");
                }
                1 => {
                    let err = self.div.call(&mut self.store, 0).unwrap_err();
                    expect_trap(&err, Trap::IntegerDivisionByZero);
                    assert_eq!(self.div.call(&mut self.store, 1)?, 1);
                }
                2 => {
                    let err = self.oob.call(&mut self.store, 70_000).unwrap_err();
                    expect_trap(&err, Trap::MemoryOutOfBounds);
                    assert_eq!(frame_names(&err)[0], "oob_inner", "{err:?}");
                }
                _ => {
                    let err = self.recurse.call(&mut self.store, 0).unwrap_err();
                    expect_trap(&err, Trap::StackOverflow);
                    let names = frame_names(&err);
                    assert!(names.len() > 100, "deep backtrace: {}", names.len());
                    assert!(names.iter().all(|n| n == "recurse"), "{names:?}");
                }
            }
        }
        Ok(())
    }
}

#[test]
fn traps_on_many_threads_while_other_threads_load_and_drop_modules() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, TRAPPING)?;
    // Loaders churn the code registry: deserializing is cheap, so they
    // register and unregister code many times while the trappers trap.
    let artifact = Arc::new(
        Module::new(
            &engine,
            r#"(module (func (export "f") (result i32) (i32.const 5)))"#,
        )?
        .serialize()?,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let traps = Arc::new(AtomicUsize::new(0));
    let trappers: Vec<_> = (0..6)
        .map(|thread| {
            let (engine, module) = (engine.clone(), module.clone());
            let (stop, traps) = (stop.clone(), traps.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut trapper = Trapper::new(&engine, &module)?;
                let mut round = thread;
                // At least a few rounds each, and on until the loaders are done.
                while round < thread + 5 || !stop.load(Ordering::Relaxed) {
                    trapper.trap_all(round)?;
                    traps.fetch_add(4, Ordering::Relaxed);
                    round += 1;
                }
                Ok(())
            })
        })
        .collect();
    let loaders: Vec<_> = (0..2)
        .map(|thread| {
            let (engine, artifact) = (engine.clone(), artifact.clone());
            std::thread::spawn(move || -> Result<()> {
                for i in 0..300 {
                    // SAFETY: the bytes come from `serialize` of this engine.
                    let module = unsafe { Module::deserialize(&engine, &*artifact)? };
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[])?;
                    let f = instance.get_typed_func::<(), i32>(&mut store, "f")?;
                    assert_eq!(f.call(&mut store, ())?, 5);
                    if thread == 0 && i % 50 == 0 {
                        // Now and then a real compilation, too.
                        let wat =
                            format!("(module (func (export \"g\") (result i32) (i32.const {i})))");
                        let compiled = Module::new(&engine, wat)?;
                        let mut store = Store::new(&engine, ());
                        let instance = Instance::new(&mut store, &compiled, &[])?;
                        let g = instance.get_typed_func::<(), i32>(&mut store, "g")?;
                        assert_eq!(g.call(&mut store, ())?, i);
                    }
                }
                Ok(())
            })
        })
        .collect();
    for loader in loaders {
        loader.join().expect("loader thread panicked")?;
    }
    stop.store(true, Ordering::Relaxed);
    for trapper in trappers {
        trapper.join().expect("trapping thread panicked")?;
    }
    assert!(traps.load(Ordering::Relaxed) >= 6 * 5 * 4);
    Ok(())
}

#[test]
fn a_thread_whose_first_tern_action_is_a_trap_traps_cleanly() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, TRAPPING)?;
    for kind in 0..4 {
        // Everything is prepared here; the new thread's first Tern call enters
        // wasm (setting up its signal stack) and traps.
        let mut trapper = Trapper::new(&engine, &module)?;
        std::thread::spawn(move || trapper.trap_all(kind))
            .join()
            .expect("thread panicked")?;
    }
    Ok(())
}

#[test]
fn stack_overflow_is_a_trap_on_threads_with_small_native_stacks() -> Result<()> {
    let mut config = Config::new();
    config.max_wasm_stack(64 * 1024);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, TRAPPING)?;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let mut trapper = Trapper::new(&engine, &module)?;
            Ok(std::thread::Builder::new().stack_size(256 * 1024).spawn(
                move || -> Result<()> {
                    for _ in 0..20 {
                        let err = trapper.recurse.call(&mut trapper.store, 0).unwrap_err();
                        expect_trap(&err, Trap::StackOverflow);
                    }
                    // The store still works after all those unwinds.
                    assert_eq!(trapper.div.call(&mut trapper.store, 1)?, 1);
                    Ok(())
                },
            )?)
        })
        .collect::<Result<_>>()?;
    for h in handles {
        h.join().expect("thread panicked")?;
    }
    Ok(())
}

#[test]
fn traps_inside_nested_host_calls_on_a_fresh_thread() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "call_back" (func $call_back))
            (func (export "outer") (call $call_back))
            (func $deep (export "inner") (unreachable)))"#,
    )?;
    let mut store = Store::new(&engine, None::<Func>);
    let call_back = Func::wrap(&mut store, |mut caller: Caller<'_, Option<Func>>| {
        let inner = caller.data().expect("inner set");
        let err = inner.call(&mut caller, &[], &mut []).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached)
        );
        // Report it as the host's own error, which unwinds the outer wasm.
        Err::<(), _>(anyhow::anyhow!("inner trapped"))
    });
    let instance = Instance::new(&mut store, &module, &[call_back.into()])?;
    let inner = instance.get_func(&mut store, "inner").expect("export");
    *store.data_mut() = Some(inner);
    let outer = instance.get_typed_func::<(), ()>(&mut store, "outer")?;
    let err = std::thread::spawn(move || outer.call(&mut store, ()).unwrap_err())
        .join()
        .expect("thread panicked");
    assert!(
        err.chain().any(|e| e.to_string() == "inner trapped"),
        "{err:?}"
    );
    Ok(())
}

/// The permissions (`rwxp` column of `/proc/self/maps`) of the page holding `addr`.
fn page_permissions(addr: usize) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let (range, rest) = line.split_once(' ')?;
        let (start, end) = range.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        (start <= addr && addr < end).then(|| rest.split(' ').next().unwrap_or("").to_string())
    })
}

#[test]
fn entering_wasm_installs_a_large_guarded_signal_stack() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, TRAPPING)?;
    let mut trapper = Trapper::new(&engine, &module)?;
    std::thread::spawn(move || -> Result<()> {
        trapper.trap_all(0)?;
        // SAFETY: an all-zero `stack_t` is a valid out-value for the query.
        let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: querying this thread's alternate stack only.
        assert_eq!(
            unsafe { libc::sigaltstack(std::ptr::null(), &mut current) },
            0
        );
        assert_eq!(current.ss_flags & libc::SS_DISABLE, 0, "no alternate stack");
        assert!(current.ss_size >= 64 * 1024, "size {}", current.ss_size);
        let bottom = current.ss_sp as usize;
        let perms = page_permissions(bottom - 1).expect("the page below is mapped");
        assert!(
            perms.starts_with("---"),
            "guard page below the stack: {perms}"
        );
        let perms = page_permissions(bottom).expect("the stack is mapped");
        assert!(perms.starts_with("rw"), "stack is read-write: {perms}");
        Ok(())
    })
    .join()
    .expect("thread panicked")
}

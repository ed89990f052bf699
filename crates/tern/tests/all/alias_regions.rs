//! Compiled code tells Cranelift which memory accesses cannot touch the same
//! bytes (alias regions: linear memory, each defined global, the imported
//! globals together), so it may keep a loaded value across a store elsewhere.
//! These check the cases where that would be wrong if the regions were drawn
//! too finely: two imports of one global, a store to an unknown address of
//! the same memory, and the host changing globals and memory during a call.

use tern::*;

fn run(store: &mut Store<()>, instance: &Instance, name: &str, arg: i32) -> i32 {
    instance
        .get_typed_func::<i32, i32>(&mut *store, name)
        .unwrap()
        .call(&mut *store, arg)
        .unwrap()
}

#[test]
fn two_imports_of_one_global_see_each_others_writes() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let g = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(0),
    )
    .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "m" "g" (global $a (mut i32)))
             (import "m" "g" (global $b (mut i32)))
             (memory 1)
             (func (export "f") (param i32) (result i32)
               (global.set $a (local.get 0))
               (drop (global.get $b))
               (global.set $a (i32.add (local.get 0) (i32.const 1)))
               (i32.store (i32.const 0) (i32.const 5))
               (global.get $b)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[g.into(), g.into()]).unwrap();
    assert_eq!(run(&mut store, &instance, "f", 41), 42);
    assert_eq!(g.get(&mut store).i32(), Some(42));
}

#[test]
fn loads_see_stores_to_the_same_memory_and_globals_survive_them() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
             (memory 1)
             (global $g (mut i32) (i32.const 0))
             (func (export "f") (param i32) (result i32)
               (i32.store (i32.const 8) (i32.const 11))
               (global.set $g (i32.const 300))
               (i32.store (local.get 0) (i32.const 22))
               (global.set $g (i32.add (global.get $g) (i32.load (i32.const 8))))
               (i32.store (local.get 0) (i32.const 0))
               (global.get $g)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    // The second store hits address 8 only when the argument is 8.
    assert_eq!(run(&mut store, &instance, "f", 8), 322);
    assert_eq!(run(&mut store, &instance, "f", 16), 311);
}

#[test]
fn a_host_call_may_change_globals_and_memory() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "poke", |mut caller: Caller<'_, ()>| {
            let Some(Extern::Global(g)) = caller.get_export("g") else {
                panic!("no global g")
            };
            g.set(&mut caller, Val::I32(7)).unwrap();
            let Some(Extern::Memory(m)) = caller.get_export("mem") else {
                panic!("no memory")
            };
            m.write(&mut caller, 0, &9i32.to_le_bytes()).unwrap();
        })
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "poke" (func $poke))
             (memory (export "mem") 1)
             (global $g (export "g") (mut i32) (i32.const 0))
             (func (export "f") (param i32) (result i32)
               (global.set $g (local.get 0))
               (i32.store (i32.const 0) (local.get 0))
               (drop (i32.add (global.get $g) (i32.load (i32.const 0))))
               (call $poke)
               (i32.add
                 (i32.mul (global.get $g) (i32.const 100))
                 (i32.load (i32.const 0)))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(run(&mut store, &instance, "f", 1), 709);
}

//! A wasm exception thrown by the callee of a component-to-component call
//! (exceptions on), caught by the caller's core code: compiled adapter
//! against the host-fused path. On the fused path the exception leaves the
//! callee as the host call's error, the call's handle scope is closed
//! (lends released) and the exception is rethrown into the caller; the
//! callee stays unenterable either way; an exception out of a `realloc`
//! the adapter calls leaves that side's `may_leave` flag as it was.

use tern::component::{Component, Linker, Val};
use tern::{Config, Engine, Store};

fn engine(adapters: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_exceptions(true);
    config.component_compiled_adapters(adapters);
    Engine::new(&config).expect("component engine")
}

const COMPONENT: &str = r#"(component
  (component $D
    (core module $M
      (global $dtors (mut i32) (i32.const 0))
      (func (export "dtor") (param i32)
        (global.set $dtors (i32.add (global.get $dtors) (i32.const 1))))
      (func (export "dtors") (result i32) (global.get $dtors)))
    (core instance $m (instantiate $M))
    (type $R (resource (rep i32) (dtor (core func $m "dtor"))))
    (core func $new (canon resource.new $R))
    (core module $N
      (import "" "new" (func $new (param i32) (result i32)))
      (tag $t (param i32))
      (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
      (memory (export "mem") 1)
      (data (i32.const 16) "hello")
      (func (export "throw") (param i32) (result i32) (throw $t (local.get 0)))
      (func (export "hello") (result i32)
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 5))
        (i32.const 0)))
    (core instance $n (instantiate $N (with "" (instance (export "new" (func $new))))))
    (export $R' "r" (type $R))
    (func (export "make") (param "rep" u32) (result (own $R')) (canon lift (core func $n "make")))
    (func (export "throw-borrow") (param "r" (borrow $R')) (result u32) (canon lift (core func $n "throw")))
    (func (export "throw-u32") (param "x" u32) (result u32) (canon lift (core func $n "throw")))
    (func (export "hello") (result string) (canon lift (core func $n "hello") (memory (core memory $n "mem"))))
    (func (export "dtors") (result u32) (canon lift (core func $m "dtors"))))
  (instance $d1 (instantiate $D))
  (alias export $d1 "r" (type $R1))
  (core func $make (canon lower (func $d1 "make")))
  (core func $throwb (canon lower (func $d1 "throw-borrow")))
  (core func $throwu (canon lower (func $d1 "throw-u32")))
  (instance $d2 (instantiate $D))
  ;; The caller's memory, with a `realloc` that throws.
  (core module $Mem
    (memory (export "mem") 1)
    (tag $t (param i32))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (throw $t (i32.const 9))))
  (core instance $mem (instantiate $Mem))
  (core func $hello (canon lower (func $d1 "hello")
    (memory (core memory $mem "mem")) (realloc (core func $mem "realloc"))))
  (core func $throwu2 (canon lower (func $d2 "throw-u32")))
  (core func $drop1 (canon resource.drop $R1))
  (core module $U
    (import "" "make" (func $make (param i32) (result i32)))
    (import "" "throwb" (func $throwb (param i32) (result i32)))
    (import "" "throwu" (func $throwu (param i32) (result i32)))
    (import "" "drop1" (func $drop1 (param i32)))
    (import "" "hello" (func $hello (param i32)))
    (import "" "throwu2" (func $throwu2 (param i32) (result i32)))
    ;; The result's `realloc` (the caller's own) throws; caught here, then
    ;; the caller calls out again (it may still leave) to a callee that
    ;; throws too: 2 when both were caught.
    (func (export "realloc-throws") (param $x i32) (result i32)
      (block $caught
        (try_table (catch_all $caught)
          (call $hello (i32.const 32)))
        (return (i32.const -1)))
      (block $caught
        (try_table (catch_all $caught)
          (drop (call $throwu2 (local.get $x))))
        (return (i32.const -2)))
      (i32.const 2))
    ;; Makes a resource, lends it to a callee that throws, catches the
    ;; exception, then drops the resource: 1 when caught.
    (func (export "throw-lend") (param $x i32) (result i32) (local $h i32)
      (local.set $h (call $make (local.get $x)))
      (block $caught
        (try_table (catch_all $caught)
          (drop (call $throwb (local.get $h))))
        (return (i32.const -1)))
      (call $drop1 (local.get $h))
      (i32.const 1))
    (func (export "throw-plain") (param $x i32) (result i32)
      (block $caught
        (try_table (catch_all $caught)
          (drop (call $throwu (local.get $x))))
        (return (i32.const -1)))
      (i32.const 1)))
  (core instance $u (instantiate $U (with "" (instance
    (export "make" (func $make)) (export "throwb" (func $throwb))
    (export "throwu" (func $throwu)) (export "drop1" (func $drop1))
    (export "hello" (func $hello)) (export "throwu2" (func $throwu2))))))
  (func (export "throw-lend") (param "x" u32) (result u32) (canon lift (core func $u "throw-lend")))
  (func (export "realloc-throws") (param "x" u32) (result u32) (canon lift (core func $u "realloc-throws")))
  (func (export "throw-plain") (param "x" u32) (result u32) (canon lift (core func $u "throw-plain")))
  (export "dtors" (func $d1 "dtors"))
)"#;

/// Each call's result or the root cause of its error.
type Outcomes = Vec<Result<Val, String>>;

/// Runs `calls` on one fresh instance.
fn run(component: &Component, calls: &[(&str, u32)]) -> Outcomes {
    let engine = component.engine();
    let mut store = Store::new(engine, ());
    let instance = Linker::<()>::new(engine)
        .instantiate(&mut store, component)
        .unwrap();
    calls
        .iter()
        .map(|(name, x)| {
            let f = instance.get_func(&mut store, name).expect(name);
            let args = if *name == "dtors" {
                vec![]
            } else {
                vec![Val::U32(*x)]
            };
            let mut result = [Val::Bool(false)];
            f.call(&mut store, &args, &mut result)
                .map(|()| result[0].clone())
                .map_err(|e| format!("{:#}", e.root_cause()))
        })
        .collect()
}

/// `calls` with compiled adapters, then fused.
fn both(calls: &[(&str, u32)]) -> (Outcomes, Outcomes) {
    let compiled = Component::new(&engine(true), COMPONENT).expect("compiles with adapters");
    assert_eq!(compiled.fused_calls(), Vec::<(u32, String)>::new());
    let fused = Component::new(&engine(false), COMPONENT).expect("compiles fused");
    (run(&compiled, calls), run(&fused, calls))
}

#[test]
fn exception_through_adapter_without_handles_as_fused() {
    let (a, b) = both(&[("throw-plain", 3), ("throw-plain", 4)]);
    assert_eq!(a, b, "compiled vs fused");
    // Caught by the caller; the callee stays unenterable.
    let cannot_enter = Err("wasm trap: cannot enter component instance".to_string());
    assert_eq!(a, vec![Ok(Val::U32(1)), cannot_enter]);
}

#[test]
fn exception_through_adapter_releases_lends_as_fused() {
    let (a, b) = both(&[("throw-lend", 3), ("dtors", 0)]);
    assert_eq!(a, b, "compiled vs fused");
    // The lend ended with the failed call, so the caller may drop its
    // handle; the destructor then needs to enter the callee, which the
    // exception left unenterable. (Before the adapter closed its scope on
    // unwinding, the drop failed: "cannot remove owned resource while
    // borrowed".)
    let cannot_enter = Err("wasm trap: cannot enter component instance".to_string());
    assert_eq!(a, vec![cannot_enter.clone(), cannot_enter]);
}

#[test]
fn exception_from_realloc_through_adapter_restores_may_leave_as_fused() {
    let (a, b) = both(&[("realloc-throws", 1)]);
    assert_eq!(a, b, "compiled vs fused");
    // The caller's `may_leave` (cleared while its `realloc` ran) was set
    // again, so its second call went out and its exception was caught.
    assert_eq!(a, vec![Ok(Val::U32(2))]);
}

//! The component API beyond values: configuration, compiling and errors,
//! linking errors, post-return timing, type reflection, resource needs.

use super::component_abi::engine;
use tern::component::{Component, Linker, Val};
use tern::{Config, Engine, Module, Store};

#[test]
fn components_need_the_config_toggle() {
    let err = Component::new(&Engine::default(), "(component)").unwrap_err();
    assert!(
        format!("{err:#}").contains("wasm_component_model"),
        "{err:#}"
    );
    Component::new(&engine(), "(component)").unwrap();
}

#[test]
fn modules_and_components_are_not_interchangeable() {
    let engine = engine();
    let err = Component::new(&engine, "(module)").unwrap_err();
    assert!(
        format!("{err:#}").contains("expected a component"),
        "{err:#}"
    );
    assert!(Module::new(&engine, "(component)").is_err());
}

#[test]
fn a_wat_error_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("tern-component-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.wat");
    std::fs::write(&path, "(component\n  (core module)\n  (func (export \"f\") (canon lift (core func 99)))\n  )oops\n").unwrap();
    let err = Component::from_file(&engine(), &path).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("broken.wat") && msg.contains(":4:"), "{msg}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn resources_required_counts_every_instantiation() {
    let engine = engine();
    let component = Component::new(
        &engine,
        r#"(component
            (core module $m (memory 1) (memory 6))
            (core instance (instantiate $m))
            (core instance (instantiate $m))
            (core instance (instantiate $m)))"#,
    );
    // Two memories need multi-memory, which is on by default (Wasm 3.0);
    // with it turned off, the component is refused.
    assert!(component.is_ok());
    let mut off = Config::new();
    off.wasm_component_model(true).wasm_multi_memory(false);
    let refused = Component::new(
        &Engine::new(&off).unwrap(),
        r#"(component (core module $m (memory 1) (memory 6)))"#,
    );
    assert!(refused.is_err());
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(
        &engine,
        r#"(component
            (core module $m (memory 1) (memory 6))
            (core instance (instantiate $m))
            (core instance (instantiate $m))
            (core instance (instantiate $m)))"#,
    )
    .unwrap();
    let r = component.resources_required().unwrap();
    assert_eq!(r.num_memories, 6);
    assert_eq!(r.max_initial_memory_size, Some(6));
    assert_eq!(r.num_tables, 0);
    assert_eq!(r.max_initial_table_size, None);
    let module = Module::new(
        &engine,
        "(module (memory 2) (table 10 funcref) (table 3 funcref))",
    )
    .unwrap();
    let r = module.resources_required();
    assert_eq!(
        (
            r.num_memories,
            r.max_initial_memory_size,
            r.num_tables,
            r.max_initial_table_size
        ),
        (1, Some(2), 2, Some(10))
    );
}

const GREETER: &str = r#"(component
  (import "log" (func $log (param "msg" string)))
  (import "cfg" (instance $cfg (export "level" (func (result u32)))))
  (core module $Mem
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (global.get $next))
      (global.set $next (i32.add (global.get $next) (i32.and (i32.add (local.get 3) (i32.const 7)) (i32.const -8))))
      (local.get $r)))
  (core instance $mem (instantiate $Mem))
  (core func $log' (canon lower (func $log) (memory (core memory $mem "mem"))))
  (core func $level' (canon lower (func $cfg "level")))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "log" (func $log (param i32 i32)))
    (import "" "level" (func $level (result i32)))
    (global $posts (mut i32) (i32.const 0))
    (data (i32.const 16) "hello")
    (func (export "greet") (param $p i32) (param $n i32) (result i32)
      (call $log (local.get $p) (local.get $n))
      (i32.store (i32.const 0) (i32.const 16))
      (i32.store (i32.const 4) (i32.add (i32.const 5) (call $level)))
      (i32.const 0))
    (func (export "greet-post") (param i32)
      (global.set $posts (i32.add (global.get $posts) (i32.const 1)))
      ;; scribble over the returned string, as a real allocator would reuse it
      (i32.store8 (i32.const 16) (i32.const 74)))
    (func (export "posts") (result i32) (global.get $posts)))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $mem "mem")) (export "log" (func $log')) (export "level" (func $level'))))))
  (func (export "greet") (param "name" string) (result string)
    (canon lift (core func $m "greet") (memory (core memory $mem "mem")) (realloc (core func $mem "realloc"))
      (post-return (core func $m "greet-post"))))
  (func (export "posts") (result u32) (canon lift (core func $m "posts")))
)"#;

fn greeter_linker(engine: &Engine) -> Linker<Vec<String>> {
    let mut linker = Linker::new(engine);
    linker
        .root()
        .func_wrap(
            "log",
            |mut cx: tern::StoreContextMut<'_, Vec<String>>, (msg,): (String,)| {
                cx.data_mut().push(msg);
                Ok(())
            },
        )
        .unwrap();
    linker
        .instance("cfg")
        .unwrap()
        .func_wrap("level", |_, (): ()| Ok((0u32,)))
        .unwrap();
    linker
}

#[test]
fn post_return_runs_once_owned_results_are_lifted() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let mut store = Store::new(&engine, Vec::new());
    let instance = greeter_linker(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let greet = instance
        .get_typed_func::<(&str,), (String,)>(&mut store, "greet")
        .unwrap();
    let posts = instance
        .get_typed_func::<(), (u32,)>(&mut store, "posts")
        .unwrap();
    assert_eq!(greet.call(&mut store, ("ann",)).unwrap().0, "hello");
    assert_eq!(store.data(), &["ann"]);
    // The result was an owned String: post-return already ran, and an
    // explicit post_return does nothing more.
    greet.post_return(&mut store).unwrap();
    assert_eq!(posts.call(&mut store, ()).unwrap().0, 1);
    // The same through `Func::call` with `Val`s.
    let func = instance.get_func(&mut store, "greet").unwrap();
    let mut out = [Val::Bool(false)];
    func.call(&mut store, &[Val::String("bo".into())], &mut out)
        .unwrap();
    assert_eq!(
        out[0],
        Val::String("Jello".into()),
        "the guest scribbled before returning the second time"
    );
    assert_eq!(posts.call(&mut store, ()).unwrap().0, 2);
}

#[test]
fn borrowed_results_keep_post_return_pending() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let mut store = Store::new(&engine, Vec::new());
    let instance = greeter_linker(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let greet = instance
        .get_typed_func::<(&str,), (tern::component::WasmStr,)>(&mut store, "greet")
        .unwrap();
    let posts = instance
        .get_typed_func::<(), (u32,)>(&mut store, "posts")
        .unwrap();
    let (s,) = greet.call(&mut store, ("x",)).unwrap();
    // Post-return has not run: the string is still intact in guest memory.
    assert_eq!(s.to_str(&store).unwrap(), "hello");
    greet.post_return(&mut store).unwrap();
    assert_eq!(
        s.to_str(&store).unwrap(),
        "Jello",
        "post-return ran and reused the memory"
    );
    assert_eq!(posts.call(&mut store, ()).unwrap().0, 1);
    // Without an explicit post_return, the next call runs it first.
    let _ = greet.call(&mut store, ("y",)).unwrap();
    assert_eq!(posts.call(&mut store, ()).unwrap().0, 2);
}

#[test]
fn missing_and_mistyped_imports_are_named() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let mut store = Store::new(&engine, Vec::<String>::new());
    let err = Linker::<Vec<String>>::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("import `log` has not been defined") && msg.contains("func(msg: string)"),
        "{msg}"
    );

    let mut linker = Linker::new(&engine);
    linker
        .root()
        .func_wrap("log", |_, (_x,): (u32,)| Ok(()))
        .unwrap();
    let err = linker.instantiate(&mut store, &component).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("import `log` has the wrong type"), "{msg}");
    assert!(
        msg.contains("func(msg: string)") && msg.contains("func(u32) -> ()"),
        "{msg}"
    );

    let mut linker = greeter_linker(&engine);
    linker.allow_shadowing(true);
    linker
        .instance("cfg")
        .unwrap()
        .func_wrap("level", |_, (): ()| Ok(("loud".to_string(),)))
        .unwrap();
    let msg = format!(
        "{:#}",
        linker.instantiate(&mut store, &component).unwrap_err()
    );
    assert!(
        msg.contains("cfg#level") && msg.contains("func() -> u32"),
        "{msg}"
    );
}

#[test]
fn unknown_imports_can_be_defined_as_traps() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let mut store = Store::new(&engine, Vec::<String>::new());
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&component).unwrap();
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let greet = instance.get_func(&mut store, "greet").unwrap();
    let err = greet
        .call(
            &mut store,
            &[Val::String("z".into())],
            &mut [Val::Bool(false)],
        )
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("unknown import `log`"),
        "{err:#}"
    );
}

#[test]
fn instance_pre_instantiates_in_many_stores() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let pre = greeter_linker(&engine).instantiate_pre(&component).unwrap();
    for name in ["a", "b"] {
        let mut store = Store::new(&engine, Vec::new());
        let instance = pre.instantiate(&mut store).unwrap();
        let greet = instance
            .get_typed_func::<(&str,), (String,)>(&mut store, "greet")
            .unwrap();
        greet.call(&mut store, (name,)).unwrap();
        assert_eq!(store.data(), &[name]);
    }
}

#[test]
fn reflection_lists_imports_exports_and_signatures() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let imports: Vec<String> = component.imports().map(|(n, _)| n.to_string()).collect();
    assert_eq!(imports, ["log", "cfg"]);
    let exports: Vec<(String, String)> = component
        .exports()
        .map(|(n, item)| match item {
            tern::component::types::ComponentItem::ComponentFunc(f) => {
                (n.to_string(), f.to_string())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        exports,
        [
            (
                "greet".to_string(),
                "func(name: string) -> string".to_string()
            ),
            ("posts".into(), "func() -> u32".into())
        ]
    );
    let mut store = Store::new(&engine, Vec::new());
    let instance = greeter_linker(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let greet = instance.get_func(&mut store, "greet").unwrap();
    assert_eq!(greet.params(&store).len(), 1);
    assert_eq!(
        greet.params(&store)[0],
        tern::component::types::Type::String
    );
    assert_eq!(greet.results(&store)[0].to_string(), "string");
    assert!(instance.get_func(&mut store, "missing").is_none());
    assert!(instance
        .get_typed_func::<(u32,), (String,)>(&mut store, "greet")
        .is_err());
}

#[test]
fn reentering_a_running_instance_traps() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let mut store = Store::new(&engine, Vec::new());
    let mut linker = greeter_linker(&engine);
    linker.allow_shadowing(true);
    let slot: std::sync::Arc<std::sync::Mutex<Option<tern::component::Func>>> = Default::default();
    let inner = slot.clone();
    linker
        .root()
        .func_wrap(
            "log",
            move |mut cx: tern::StoreContextMut<'_, Vec<String>>, (_msg,): (String,)| {
                let f = inner.lock().unwrap().expect("set");
                f.call(
                    &mut cx,
                    &[Val::String("again".into())],
                    &mut [Val::Bool(false)],
                )
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let greet = instance.get_func(&mut store, "greet").unwrap();
    *slot.lock().unwrap() = Some(greet);
    let err = greet
        .call(
            &mut store,
            &[Val::String("x".into())],
            &mut [Val::Bool(false)],
        )
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot enter component instance"),
        "{err:#}"
    );
}

/// Two components linked together, caller and callee each with its own string
/// encoding: the string is transcoded on the way in and out.
#[test]
fn strings_are_transcoded_between_components() {
    let engine = engine();
    let encodings = ["utf8", "utf16", "latin1+utf16"];
    let libc = r#"(core module $Libc
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param $old i32) (param $osize i32) (param $align i32) (param $n i32) (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
        (global.set $next (i32.add (local.get $r) (local.get $n)))
        (if (local.get $old) (then (memory.copy (local.get $r) (local.get $old) (local.get $osize))))
        (local.get $r)))"#;
    for caller in encodings {
        for callee in encodings {
            let wat = format!(
                r#"(component
  (component $C
    {libc}
    (core instance $libc (instantiate $Libc))
    (core module $M
      (import "" "mem" (memory 1))
      (func (export "id") (param i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 0)) (i32.store (i32.const 4) (local.get 1)) (i32.const 0)))
    (core instance $m (instantiate $M (with "" (instance (export "mem" (memory $libc "mem"))))))
    (func (export "id") (param "s" string) (result string)
      (canon lift (core func $m "id") string-encoding={callee}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")))))
  (component $D
    (import "id" (func $id (param "s" string) (result string)))
    {libc}
    (core instance $libc (instantiate $Libc))
    (core func $id' (canon lower (func $id) string-encoding={caller}
      (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (core module $M
      (import "" "id" (func $id (param i32 i32 i32)))
      (func (export "run") (param i32 i32) (result i32) (call $id (local.get 0) (local.get 1) (i32.const 8)) (i32.const 8)))
    (core instance $m (instantiate $M (with "" (instance (export "id" (func $id'))))))
    (func (export "run") (param "s" string) (result string)
      (canon lift (core func $m "run") string-encoding={caller}
        (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")))))
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "id" (func $c "id"))))
  (func (export "run") (alias export $d "run")))"#
            );
            let component = Component::new(&engine, &wat)
                .unwrap_or_else(|e| panic!("{caller}->{callee}: {e:#}"));
            let mut store = Store::new(&engine, ());
            let instance = Linker::new(&engine)
                .instantiate(&mut store, &component)
                .unwrap();
            let run = instance
                .get_typed_func::<(&str,), (String,)>(&mut store, "run")
                .unwrap();
            for s in ["", "plain", "é and ÿ", "snow ☃ and 🍰"] {
                assert_eq!(
                    run.call(&mut store, (s,)).unwrap().0,
                    s,
                    "{caller} -> {callee}"
                );
            }
        }
    }
}

#[test]
#[allow(unsafe_code, reason = "deserializing artifacts this test just wrote")]
fn components_serialize_and_load_back() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let bytes = component.serialize().unwrap();
    assert_eq!(
        engine.detect_precompiled(&bytes),
        Some(tern::Precompiled::Component)
    );
    assert_eq!(
        engine.precompile_component(GREETER.as_bytes()).unwrap(),
        bytes,
        "artifacts are deterministic"
    );
    // SAFETY: written just above by this process.
    let loaded = unsafe { Component::deserialize(&engine, &bytes) }.unwrap();
    let path = std::env::temp_dir().join(format!("tern-component-{}.cwasm", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: written just above by this process and not modified.
    let from_file = unsafe { Component::deserialize_file(&engine, &path) }.unwrap();
    std::fs::remove_file(&path).unwrap();
    for c in [loaded, from_file] {
        let mut store = Store::new(&engine, Vec::new());
        let instance = greeter_linker(&engine).instantiate(&mut store, &c).unwrap();
        let greet = instance
            .get_typed_func::<(&str,), (String,)>(&mut store, "greet")
            .unwrap();
        assert_eq!(greet.call(&mut store, ("q",)).unwrap().0, "hello");
        assert_eq!(store.data(), &["q"]);
    }
    // A component artifact is not a module artifact, nor the reverse.
    // SAFETY: both are artifacts this process wrote; the kind check refuses them.
    let err = unsafe { Module::deserialize(&engine, &bytes) }.unwrap_err();
    assert!(format!("{err:#}").contains("holds a component"), "{err:#}");
    let module = Module::new(&engine, "(module)")
        .unwrap()
        .serialize()
        .unwrap();
    // SAFETY: as above.
    let err = unsafe { Component::deserialize(&engine, &module) }.unwrap_err();
    assert!(
        format!("{err:#}").contains("holds a core module, not a component"),
        "{err:#}"
    );
    // Another engine's settings are named.
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .cranelift_opt_level(tern::OptLevel::None);
    let other = Engine::new(&config).unwrap();
    // SAFETY: as above.
    let err = unsafe { Component::deserialize(&other, &bytes) }.unwrap_err();
    assert!(format!("{err:#}").contains("opt level"), "{err:#}");
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Component>();
    send_sync::<Linker<()>>();
    send_sync::<tern::component::InstancePre<()>>();
    send_sync::<tern::component::Func>();
    send_sync::<tern::component::TypedFunc<(u32,), (String,)>>();
    send_sync::<Val>();
    send_sync::<tern::component::types::Type>();
}

#[test]
fn functions_refuse_other_stores() {
    let engine = engine();
    let component = Component::new(&engine, GREETER).unwrap();
    let mut store = Store::new(&engine, Vec::new());
    let instance = greeter_linker(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let posts = instance.get_func(&mut store, "posts").unwrap();
    let mut other = Store::new(&engine, Vec::<String>::new());
    let err = posts.call(&mut other, &[], &mut [Val::U32(0)]).unwrap_err();
    assert!(format!("{err:#}").contains("another store"), "{err:#}");
    // A kind mismatch between the linker and the import is named too.
    let mut linker = greeter_linker(&engine);
    linker.allow_shadowing(true);
    linker.root().func_wrap("cfg", |_, (): ()| Ok(())).unwrap();
    let msg = format!(
        "{:#}",
        linker.instantiate(&mut store, &component).unwrap_err()
    );
    assert!(
        msg.contains("import `cfg` expected instance { level }, but the linker defines a function"),
        "{msg}"
    );
}

#[test]
fn hostile_nesting_is_refused_not_a_crash() {
    let engine = engine();
    // 30 levels, each instantiating the previous twice: 2^30 instances.
    let mut wat = String::from("(component $c0)");
    for i in 1..=30 {
        wat = format!(
            "(component $c{i} {wat} (instance (instantiate $c{})) (instance (instantiate $c{})))",
            i - 1,
            i - 1
        );
    }
    let err = Component::new(&engine, &wat).unwrap_err();
    assert!(
        format!("{err:#}").contains("component instances"),
        "{err:#}"
    );
    // 150 levels of nesting: refused (by the text parser, or by Tern's limit
    // of 100 nested instantiations for binaries), not a stack overflow.
    let mut wat = String::from("(component $c0)");
    for i in 1..=150 {
        wat = format!(
            "(component $c{i} {wat} (instance (instantiate $c{})))",
            i - 1
        );
    }
    assert!(Component::new(&engine, &wat).is_err());
}

//! A small embedder written against wasmtime 12's documented API — hello,
//! linking, memory, fuel and serialization — with nothing but the crate renamed.

use tern as wasmtime;
use wasmtime::*;

struct Host {
    greetings: Vec<String>,
}

fn greet_module(engine: &Engine) -> Result<Module> {
    Module::new(
        engine,
        r#"(module
             (import "env" "greet" (func $greet (param i32 i32)))
             (import "lib" "count" (func $count (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "hello")
             (func (export "run") (result i32)
               (call $greet (i32.const 16) (i32.const 5))
               (call $count)))"#,
    )
}

#[test]
fn wasmtime12_embedder_ports_by_renaming_the_crate() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(
        &engine,
        Host {
            greetings: Vec::new(),
        },
    );
    store.add_fuel(100_000)?;

    let mut linker: Linker<Host> = Linker::new(&engine);
    linker.func_wrap(
        "env",
        "greet",
        |mut caller: Caller<'_, Host>, ptr: i32, len: i32| -> Result<()> {
            let memory = match caller.get_export("memory") {
                Some(Extern::Memory(m)) => m,
                _ => anyhow::bail!("failed to find host memory"),
            };
            let data = memory
                .data(&caller)
                .get(ptr as usize..)
                .and_then(|arr| arr.get(..len as usize))
                .ok_or_else(|| anyhow::anyhow!("pointer/length out of bounds"))?;
            let text = std::str::from_utf8(data)?.to_string();
            caller.data_mut().greetings.push(text);
            Ok(())
        },
    )?;
    let lib = Module::new(
        &engine,
        r#"(module (global $n (mut i32) (i32.const 0))
             (func (export "count") (result i32)
               (global.set $n (i32.add (global.get $n) (i32.const 1)))
               (global.get $n)))"#,
    )?;
    linker.module(&mut store, "lib", &lib)?;

    // Compile once, serialize, and instantiate from the artifact.
    let bytes = greet_module(&engine)?.serialize()?;
    // SAFETY: the bytes come from `serialize` just above, with this engine.
    let module = unsafe { Module::deserialize(&engine, &bytes)? };
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 1);
    assert_eq!(run.call(&mut store, ())?, 2);
    assert_eq!(store.data().greetings, ["hello", "hello"]);

    let memory = instance.get_memory(&mut store, "memory").unwrap();
    memory.write(&mut store, 16, b"HELLO")?;
    run.call(&mut store, ())?;
    assert_eq!(store.data().greetings[2], "HELLO");
    assert_eq!(memory.grow(&mut store, 1)?, 1);
    assert_eq!(memory.size(&store), 2);

    let consumed = store.fuel_consumed().unwrap();
    assert!(consumed > 0);
    assert_eq!(store.consume_fuel(0)?, 100_000 - consumed);

    // Out of fuel is a trap the embedder can recognise.
    store.consume_fuel(100_000 - consumed)?;
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast::<Trap>()?, Trap::OutOfFuel);
    Ok(())
}

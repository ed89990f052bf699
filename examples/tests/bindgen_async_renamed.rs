//! A wasmtime 12 embedder serving components from an async executor, ported
//! by renaming the dependency (this crate's manifest): `bindgen!` with
//! `async: true`, host traits implemented with the user's own
//! `#[async_trait::async_trait]`, `instantiate_async` and `call_*().await`.
//! The guest is the committed component `tests/bindgen-guests/wasm/twice.wasm`
//! (world `twice`: `run` logs one entry through each of two imported loggers
//! and returns the sum of their answers).

wasmtime::component::bindgen!({
    world: "twice",
    path: "../crates/tern/tests/all/bindgen/twice.wit",
    async: true,
});

use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

/// The embedder's per-store state: what each logger received.
#[derive(Default)]
struct MyState {
    lines: Vec<String>,
}

#[async_trait::async_trait]
impl primary::Host for MyState {
    async fn log(&mut self, entry: primary::Entry) -> wasmtime::Result<u32> {
        // A real await: the guest is suspended until the timer fires.
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.lines
            .push(format!("primary {}: {}", entry.level, entry.text));
        Ok(40)
    }
}

#[async_trait::async_trait]
impl backup::Host for MyState {
    async fn log(&mut self, entry: primary::Entry) -> wasmtime::Result<u32> {
        tokio::task::yield_now().await;
        self.lines
            .push(format!("backup {}: {}", entry.level, entry.text));
        Ok(2)
    }
}

#[tokio::test]
async fn async_bindgen_ports_by_renaming_the_crate() -> wasmtime::Result<()> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(
        &engine,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/bindgen-guests/wasm/twice.wasm"
        ),
    )?;
    let mut linker = Linker::new(&engine);
    Twice::add_to_linker(&mut linker, |state: &mut MyState| state)?;
    let mut store = Store::new(&engine, MyState::default());
    let (bindings, _) = Twice::instantiate_async(&mut store, &component, &linker).await?;
    // The call's future is `Send`: run it on another task of the runtime.
    let result = tokio::spawn(async move {
        let r = bindings.call_run(&mut store).await;
        (r, store)
    });
    let (r, store) = result.await?;
    assert_eq!(r?, 42);
    assert_eq!(store.data().lines, ["primary 1: first", "backup 2: second"]);
    Ok(())
}

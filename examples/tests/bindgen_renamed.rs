//! `bindgen!` output compiles and links in a crate that depends on Tern renamed
//! to `wasmtime` (this crate's manifest), as code ported from wasmtime does:
//! every path the macro generates must follow the rename.

wasmtime::component::bindgen!({
    inline: "
        package demo:log;
        interface sink {
            record entry { level: u8, text: string }
            log: func(e: entry) -> u32;
        }
        world logger {
            import sink;
            export run: func() -> u32;
        }
    ",
});

/// The host side of `demo:log/sink`.
#[derive(Default)]
struct Sink(Vec<String>);

impl demo::log::sink::Host for Sink {
    fn log(&mut self, e: demo::log::sink::Entry) -> wasmtime::Result<u32> {
        self.0.push(format!("{}: {}", e.level, e.text));
        Ok(self.0.len() as u32)
    }
}

#[test]
fn bindgen_output_links_under_a_renamed_crate() -> wasmtime::Result<()> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let engine = wasmtime::Engine::new(&config)?;
    let mut linker = wasmtime::component::Linker::<Sink>::new(&engine);
    Logger::add_to_linker(&mut linker, |s: &mut Sink| s)?;
    // A component exporting nothing: the generated `instantiate` links the
    // import above and then refuses the missing export by name.
    let component = wasmtime::component::Component::new(&engine, "(component)")?;
    let mut store = wasmtime::Store::new(&engine, Sink::default());
    let err = match Logger::instantiate(&mut store, &component, &linker) {
        Ok(_) => panic!("a component without `run` must be refused"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("run"), "{err}");
    Ok(())
}

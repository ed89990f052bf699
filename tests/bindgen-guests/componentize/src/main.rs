//! `componentize IN.wasm OUT.wasm`: wraps a core module whose custom
//! sections carry its WIT world (as `wit-bindgen` embeds it) into a
//! component of that world, validated, with `wit-component` (the same
//! release as Tern's other tools, so newer WIT forms such as
//! `import name: interface` are understood).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: componentize IN.wasm OUT.wasm");
        return ExitCode::FAILURE;
    };
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let core = std::fs::read(input)?;
        let component = wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&core)?
            .encode()?;
        std::fs::write(output, component)?;
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("componentize {input}: {e}");
            ExitCode::FAILURE
        }
    }
}

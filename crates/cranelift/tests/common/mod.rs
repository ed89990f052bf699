//! The helper every CLIF test of the translator shares: compile a WAT module's
//! defined functions to CLIF text, at `OptLevel::Speed` with the verifier on.

use tern_cranelift::{Compiler, CompilerSettings, OptLevel};
use tern_environ::{translate_module, Tunables, WasmFeatures};

/// The CLIF of each defined function of `wat`, validated with `features` and
/// translated with `tunables`.
pub fn translate_to_clif(
    wat: &str,
    features: WasmFeatures,
    tunables: Tunables,
) -> anyhow::Result<Vec<String>> {
    let compiler = Compiler::new(CompilerSettings {
        opt_level: OptLevel::Speed,
        verify: true,
        tunables,
    })?;
    let bytes = wat::parse_str(wat)?;
    compiler.translate_to_clif(translate_module(&bytes, features)?)
}

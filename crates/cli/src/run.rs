//! `tern run`: instantiate a module and call `_start` or the function named by
//! `--invoke`, printing its results one per line.

use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tern::{Engine, Linker, Module, Store, Trap, Val, ValType};

/// Arguments of `tern run`.
#[derive(Args)]
pub struct RunCommand {
    /// Call this exported function instead of `_start`.
    #[arg(long)]
    invoke: Option<String>,
    /// The module to run (`.wasm` or `.wat`).
    file: PathBuf,
    /// Arguments for the invoked function.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    args: Vec<String>,
}

impl RunCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let engine = Engine::default();
        let module = Module::from_file(&engine, &self.file)?;
        let mut store = Store::new(&engine, ());
        let linker: Linker<()> = Linker::new(&engine);
        let instance = linker.instantiate(&mut store, &module)?;
        let name = self.invoke.as_deref().unwrap_or("_start");
        let func = instance
            .get_func(&mut store, name)
            .with_context(|| format!("module `{}` does not export a function `{name}`", self.file.display()))?;
        let ty = func.ty(&store);
        if self.args.len() != ty.params().len() {
            bail!("`{name}` takes {} arguments ({ty}), {} given", ty.params().len(), self.args.len());
        }
        let params = ty
            .params()
            .zip(&self.args)
            .map(|(t, a)| parse_arg(t, a))
            .collect::<Result<Vec<_>>>()?;
        let mut results: Vec<Val> = ty.results().map(|t| Val::default_for_ty(t).unwrap_or(Val::FuncRef(None))).collect();
        match func.call(&mut store, &params, &mut results) {
            Ok(()) => {}
            Err(e) if e.downcast_ref::<Trap>().is_some() => {
                eprintln!("Error: failed to run `{name}`: {e:?}");
                return Ok(ExitCode::from(134));
            }
            Err(e) => return Err(e.context(format!("failed to run `{name}`"))),
        }
        for r in &results {
            println!("{}", format_val(r));
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn parse_arg(ty: ValType, arg: &str) -> Result<Val> {
    let bad = || format!("cannot parse `{arg}` as {ty}");
    Ok(match ty {
        ValType::I32 => Val::I32(arg.parse::<i32>().or_else(|_| arg.parse::<u32>().map(|v| v as i32)).with_context(bad)?),
        ValType::I64 => Val::I64(arg.parse::<i64>().or_else(|_| arg.parse::<u64>().map(|v| v as i64)).with_context(bad)?),
        ValType::F32 => Val::from(arg.parse::<f32>().with_context(bad)?),
        ValType::F64 => Val::from(arg.parse::<f64>().with_context(bad)?),
        other => bail!("cannot pass a {other} argument from the command line"),
    })
}

fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(None) => "null".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
    }
}

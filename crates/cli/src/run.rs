//! `tern run`: instantiate a module and call `_start` or the function named by
//! `--invoke`, printing its results one per line.
//!
//! A component (`component.rs`) gets WASI 0.2 and runs its `wasi:cli/run`
//! export, with the same arguments, directories, environment and exit codes,
//! and the same `-W`, `-C` and `--profile` options.
//! Every module gets WASI preview 1 (`run/wasi.rs` builds its context):
//! everything after the module, flags included, is the guest's (as in
//! wasmtime): its `argv[1..]` (`argv[0]` is the module's file name) and, with
//! `--invoke`, also the function's parameters; `--dir` and `--env` give it
//! directories and variables, `-S` network permissions (`wasi_options.rs`),
//! and standard streams are inherited. A guest's
//! `proc_exit(code)` becomes the process's exit code; a trap prints the wasm
//! backtrace (shortened when long, see `backtrace.rs`) and exits with 134
//! (128 + SIGABRT), as wasmtime does.

pub(crate) mod wasi;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use tern::{Linker, Store, Trap, Val, ValType};
use tern_wasi::I32Exit;

/// Arguments of `tern run`.
#[derive(Args)]
pub struct RunCommand {
    /// Call this exported function instead of `_start`.
    #[arg(long)]
    invoke: Option<String>,
    /// Give the guest a host directory, as `HOST` or `HOST::GUEST`.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable for the guest (`NAME=VALUE`, or `NAME` to pass the host's).
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Accept a precompiled artifact from `tern compile` as the module. Its
    /// machine code runs unchecked: only pass files you trust.
    #[arg(long)]
    allow_precompiled: bool,
    /// `-S inherit-network`, `-S allow-ip-name-lookup`.
    #[command(flatten)]
    wasi: crate::wasi_options::WasiOptions,
    /// `-C cache=y|n`, `-C cache-config=FILE` and `--profile`.
    #[command(flatten)]
    engine: crate::engine_options::EngineOptions,
    /// The module to run (`.wasm`, `.wat`, or a `.cwasm` artifact with
    /// `--allow-precompiled`), then the guest's arguments. Everything after
    /// the module belongs to the guest, flags included (as in wasmtime):
    /// `tern run prog.wasm --help` passes `--help` to `prog.wasm`.
    #[arg(required = true, trailing_var_arg = true, value_name = "MODULE [ARGS]")]
    module_and_args: Vec<String>,
}

impl RunCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let (file, args) = self
            .module_and_args
            .split_first()
            .context("no module given")?;
        let file = Path::new(file);
        let engine = self.engine.engine()?;
        let kind = crate::input::classify(&engine, file)?;
        if kind.is_component() {
            // Without `--invoke`, the arguments are the program's.
            let argv: &[String] = if self.invoke.is_some() { &[] } else { args };
            let wasi = wasi::context(file, argv, &self.dirs, &self.envs, &self.wasi)?;
            return crate::component::run(
                &self.engine.component_engine()?,
                file,
                kind,
                self.invoke.as_deref(),
                args,
                self.allow_precompiled,
                wasi,
            );
        }
        let module = crate::compile::load_module(&engine, file, kind, self.allow_precompiled)?;
        let wasi = wasi::context(file, args, &self.dirs, &self.envs, &self.wasi)?;
        let mut store = Store::new(
            &engine,
            wasi::Host {
                wasi,
                table: tern::component::ResourceTable::new(),
            },
        );
        let mut linker: Linker<wasi::Host> = Linker::new(&engine);
        tern_wasi::add_to_linker(&mut linker, |h| &mut h.wasi)?;
        let instance = linker.instantiate(&mut store, &module)?;
        let name = self.invoke.as_deref().unwrap_or("_start");
        let func = instance.get_func(&mut store, name).with_context(|| {
            format!(
                "module `{}` does not export a function `{name}`",
                file.display()
            )
        })?;
        let ty = func.ty(&store);
        // Without `--invoke`, the arguments are the program's (`argv`), not `_start`'s.
        let args: &[String] = if self.invoke.is_some() { args } else { &[] };
        if args.len() != ty.params().len() {
            bail!(
                "`{name}` takes {} arguments ({ty}), {} given",
                ty.params().len(),
                args.len()
            );
        }
        let params = ty
            .params()
            .zip(args)
            .map(|(t, a)| parse_arg(t, a))
            .collect::<Result<Vec<_>>>()?;
        let mut results: Vec<Val> = ty
            .results()
            .map(|t| Val::default_for_ty(t).unwrap_or(Val::FuncRef(None)))
            .collect();
        match func.call(&mut store, &params, &mut results) {
            Ok(()) => {}
            Err(e) if e.downcast_ref::<I32Exit>().is_some() => {
                let code = e.downcast_ref::<I32Exit>().map_or(1, |exit| exit.0);
                return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
            }
            Err(e) if e.downcast_ref::<Trap>().is_some() => {
                eprintln!(
                    "Error: failed to run `{name}`: {:?}",
                    crate::backtrace::Readable(&e)
                );
                return Ok(ExitCode::from(134));
            }
            Err(e) => return Err(e.context(format!("failed to run `{name}`"))),
        }
        for r in &results {
            println!("{}", format_val(&store, r));
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn parse_arg(ty: ValType, arg: &str) -> Result<Val> {
    let bad = || format!("cannot parse `{arg}` as {ty}");
    Ok(match ty {
        ValType::I32 => Val::I32(
            arg.parse::<i32>()
                .or_else(|_| arg.parse::<u32>().map(|v| v as i32))
                .with_context(bad)?,
        ),
        ValType::I64 => Val::I64(
            arg.parse::<i64>()
                .or_else(|_| arg.parse::<u64>().map(|v| v as i64))
                .with_context(bad)?,
        ),
        ValType::F32 => Val::from(arg.parse::<f32>().with_context(bad)?),
        ValType::F64 => Val::from(arg.parse::<f64>().with_context(bad)?),
        other => bail!("cannot pass a {other} argument from the command line"),
    })
}

fn format_val<T>(store: &Store<T>, v: &Val) -> String {
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
        Val::ExnRef(None) => "null".to_string(),
        Val::ExnRef(Some(_)) => "<exnref>".to_string(),
        Val::AnyRef(None) => "null".to_string(),
        Val::AnyRef(Some(r)) => match r.as_i31(store) {
            Ok(Some(i)) => format!("(ref.i31 {})", i.get_u32()),
            _ => "<anyref>".to_string(),
        },
    }
}

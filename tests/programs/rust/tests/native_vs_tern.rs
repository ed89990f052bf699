//! The test programs under Tern give exactly what their native builds give.
//!
//! For every case of `tests/programs/cases.txt`, the program built natively
//! by this package and its committed `.wasm` run by Tern (through the
//! embedding API and `tern-wasi`, standard streams captured) must print the
//! same standard output, equal to `expected/NAME.stdout`, and exit with the
//! same code. Cases of `p2/NAME` run NAME's WASI 0.2 component (built for
//! wasm32-wasip2) through `tern_wasi::p2`, the same natively; a case's
//! `-S` options become the `WasiCtxBuilder` calls of the same names. A last test
//! rebuilds the `.wasm` files, when the wasm32-wasip1 and wasm32-wasip2
//! targets are installed, and checks the committed ones are up to date.

#[path = "../../adapt.rs"]
mod adapt;
#[path = "../../cases.rs"]
mod cases;

use cases::{Case, Scratch};
use std::io::Write;
use std::process::{Command, Stdio};
use tern::component::{self, Component, ResourceTable};
use tern::{Config, Engine, Linker, Module, Store};
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, I32Exit, ReadPipe, WasiCtx, WasiCtxBuilder, WritePipe};

fn native_binary(program: &str) -> std::path::PathBuf {
    match program {
        "wasi-demo" => env!("CARGO_BIN_EXE_wasi-demo").into(),
        "wc" => env!("CARGO_BIN_EXE_wc").into(),
        "fsbench" => env!("CARGO_BIN_EXE_fsbench").into(),
        "net" => env!("CARGO_BIN_EXE_net").into(),
        "cdemo" => native_c_program("cdemo"),
        other => panic!("unknown program {other}"),
    }
}

/// `tests/programs/c/NAME.c` compiled for the host with `cc` (once per run).
fn native_c_program(name: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("native-{name}"));
    let mut built = BUILT.lock().unwrap();
    if !built.iter().any(|b| b == name) {
        let src = cases::programs_dir().join("c").join(format!("{name}.c"));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
        let status = Command::new(&cc)
            .args(["-O2", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("a C compiler (cc) runs");
        assert!(status.success(), "{cc} failed on {}", src.display());
        built.push(name.to_string());
    }
    out
}

fn run_native(case: &Case) -> (Vec<u8>, i32) {
    let scratch = Scratch::new("native");
    let mut child = Command::new(native_binary(cases::native_name(&case.program)))
        .args(cases::args_with_dir(case, scratch.path_str()))
        .current_dir(cases::fixtures_dir())
        .env_clear()
        .envs(case.env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("native program starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&cases::stdin_bytes(case))
        .expect("stdin written");
    let out = child.wait_with_output().expect("native program ends");
    (out.stdout, out.status.code().unwrap_or(-1))
}

struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl tern_wasi::p2::WasiView for Host {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
    fn ctx(&mut self) -> &mut WasiCtx {
        &mut self.wasi
    }
}

/// The guest's context for `case`: its arguments, environment and stdin,
/// stdout captured in `stdout`, the fixtures preopened read-only as `.`
/// and `scratch` read-write as `/scratch`, the network as the case's
/// options allow.
fn context(
    case: &Case,
    scratch: &Scratch,
    stdout: &WritePipe<std::io::Cursor<Vec<u8>>>,
) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    for option in &case.wasi_options {
        match option.as_str() {
            "inherit-network" => builder.inherit_network(),
            "allow-ip-name-lookup" => builder.allow_ip_name_lookup(true),
            other => panic!("case {}: unknown option {other}", case.name),
        };
    }
    builder
        .arg(cases::native_name(&case.program))
        .unwrap()
        .args(&cases::args_with_dir(case, cases::GUEST_SCRATCH))
        .unwrap()
        .envs(&case.env)
        .unwrap()
        .stdin(Box::new(ReadPipe::from(cases::stdin_bytes(case))))
        .stdout(Box::new(stdout.clone()))
        .stderr(Box::new(WritePipe::new_in_memory()))
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(cases::fixtures_dir(), ambient_authority()).unwrap(),
            ".",
            DirPerms::READ,
            FilePerms::READ,
        )
        .unwrap()
        .preopened_dir_with_perms(
            Dir::open_ambient_dir(&scratch.0, ambient_authority()).unwrap(),
            cases::GUEST_SCRATCH,
            DirPerms::all(),
            FilePerms::all(),
        )
        .unwrap()
        .build()
}

/// Runs a component case through `tern_wasi::p2`.
fn run_tern_component(engine: &Engine, case: &Case) -> (Vec<u8>, i32) {
    let component = Component::from_file(engine, cases::wasm_path(&case.program))
        .expect("the committed component compiles");
    run_component(engine, case, &component)
}

/// Runs `component` (a `wasi:cli/command`) for `case` through `tern_wasi::p2`.
fn run_component(engine: &Engine, case: &Case, component: &Component) -> (Vec<u8>, i32) {
    let scratch = Scratch::new("tern-p2");
    let stdout = WritePipe::new_in_memory();
    let wasi = context(case, &scratch, &stdout);
    let mut linker = component::Linker::new(engine);
    tern_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let mut store = Store::new(
        engine,
        Host {
            wasi,
            table: ResourceTable::new(),
        },
    );
    let code = tern_wasi::p2::run(&mut store, &linker, component)
        .unwrap_or_else(|e| panic!("case {} failed under Tern: {e:?}", case.name));
    (stdout.contents(), code)
}

fn run_tern(engine: &Engine, case: &Case) -> (Vec<u8>, i32) {
    if cases::is_component(&case.program) {
        return run_tern_component(engine, case);
    }
    let scratch = Scratch::new("tern");
    let module = Module::from_file(engine, cases::wasm_path(&case.program))
        .expect("the committed wasm compiles");
    let stdout = WritePipe::new_in_memory();
    let wasi = context(case, &scratch, &stdout);
    let mut linker = Linker::new(engine);
    tern_wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).unwrap();
    let mut store = Store::new(
        engine,
        Host {
            wasi,
            table: ResourceTable::new(),
        },
    );
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .expect("_start");
    let code = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => panic!("case {} failed under Tern: {e:?}", case.name),
        },
    };
    (stdout.contents(), code)
}

#[test]
fn every_case_prints_the_same_under_tern_as_natively() {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_multi_memory(true)
        .wasm_extended_const(true);
    let engine = Engine::new(&config).unwrap();
    let all = cases::cases();
    assert!(all.len() >= 10, "cases.txt lists the runs");
    for case in &all {
        let (native_out, native_code) = run_native(case);
        let (tern_out, tern_code) = run_tern(&engine, case);
        let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            show(&tern_out),
            show(&native_out),
            "case {}: Tern and native stdout differ",
            case.name
        );
        assert_eq!(
            show(&native_out),
            show(&cases::expected_stdout(case)),
            "case {}: expected output",
            case.name
        );
        assert_eq!(
            (tern_code, native_code),
            (case.exit, case.exit),
            "case {}: exit codes",
            case.name
        );
    }
}

#[test]
fn every_preview1_case_prints_the_same_as_its_adapted_component() {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let mut adapted = std::collections::HashMap::new();
    let mut ran = 0;
    for case in cases::cases()
        .iter()
        .filter(|c| !cases::is_component(&c.program))
    {
        let component = adapted.entry(case.program.clone()).or_insert_with(|| {
            let module = std::fs::read(cases::wasm_path(&case.program)).unwrap();
            Component::new(&engine, adapt::adapt(&module))
                .unwrap_or_else(|e| panic!("{} adapted: {e:?}", case.program))
        });
        let (out, code) = run_component(&engine, case, component);
        let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            show(&out),
            show(&cases::expected_stdout(case)),
            "case {} as an adapted component: stdout",
            case.name
        );
        assert_eq!(
            code,
            adapt::adapted_exit_code(case.exit),
            "case {} as an adapted component: exit code",
            case.name
        );
        ran += 1;
    }
    assert!(ran >= 10, "every preview-1 case ran ({ran})");
}

#[test]
fn an_adapted_component_runs_twice_in_one_store() {
    // Two instances of one adapted component side by side in one store: each
    // has its own adapter state (its own stack and `.bss` inside its memory).
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let case = cases::cases()
        .into_iter()
        .find(|c| c.name == "args")
        .expect("the args case");
    let module = std::fs::read(cases::wasm_path(&case.program)).unwrap();
    let component = Component::new(&engine, adapt::adapt(&module)).unwrap();
    let scratch = Scratch::new("tern-twice");
    let stdout = WritePipe::new_in_memory();
    let mut linker = component::Linker::new(&engine);
    tern_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let mut store = Store::new(
        &engine,
        Host {
            wasi: context(&case, &scratch, &stdout),
            table: ResourceTable::new(),
        },
    );
    for _ in 0..2 {
        let code = tern_wasi::p2::run(&mut store, &linker, &component).unwrap();
        assert_eq!(code, 0);
    }
    let once = cases::expected_stdout(&case);
    assert_eq!(
        String::from_utf8_lossy(&stdout.contents()),
        String::from_utf8_lossy(&[once.clone(), once].concat())
    );
}

/// Whether `rustc` has the standard library of `target` installed.
fn target_installed(target: &str) -> bool {
    let out = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", target])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            std::fs::read_dir(dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        }
        _ => false,
    }
}

#[test]
fn committed_wasm_files_are_up_to_date() {
    if !target_installed("wasm32-wasip1") || !target_installed("wasm32-wasip2") {
        eprintln!("wasm32-wasip1 or -wasip2 is not installed: not rebuilding the test programs");
        return;
    }
    let script = cases::programs_dir().join("build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--check")
        .output()
        .expect("build.sh runs");
    assert!(
        out.status.success(),
        "tests/programs/build.sh --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

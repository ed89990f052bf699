//! Programs written exactly as a wasmtime 12 user writes them against
//! `wasmtime-wasi` 12 (and `wasi-common` 12 for the pipes), compiled here
//! with Tern renamed to `wasmtime`, `tern-wasi` to `wasmtime-wasi` and
//! `wasi-common` (this crate's manifest). Each checks what the guest
//! observed or produced.

use std::io::Cursor;
use wasi_common::pipe::{ReadPipe, WritePipe};
use wasmtime::*;
use wasmtime_wasi::sync::{ambient_authority, Dir, WasiCtxBuilder};

/// The preview 1 imports the test guests use.
const IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; Exits with the errno when a call fails, so a failure names its cause.
  (func $check (param i32) (if (local.get 0) (then (call $proc_exit (local.get 0)))))
  ;; Writes `len` bytes at `ptr` to `fd` through the iovec at 0.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $check (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
"#;

/// A command module: the imports above plus `body` as `_start`.
fn command(engine: &Engine, data: &str, body: &str) -> Result<Module> {
    Module::new(
        engine,
        format!("(module {IMPORTS} {data} (func (export \"_start\") {body}))"),
    )
}

/// Prints "Hello, world!" to standard output.
const HELLO: &str = r#"(call $write (i32.const 1) (i32.const 1024) (i32.const 14))"#;
const HELLO_DATA: &str = r#"(data (i32.const 1024) "Hello, world!\n")"#;

/// Opens `hello.txt` under the preopen at descriptor 3, reads it, and writes
/// what it read to standard output.
const CAT: &str = r#"
    (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 9)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 256))
    (call $check (call $fd_read (i32.load (i32.const 200)) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $write (i32.const 1) (i32.const 1024) (i32.load (i32.const 24)))"#;
const CAT_DATA: &str = r#"(data (i32.const 100) "hello.txt")"#;

/// Writes the argument strings, then the environment strings, to standard
/// output (each NUL-terminated, as WASI lays them out).
const ARGS_ENV: &str = r#"
    (call $check (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (call $check (call $args_get (i32.const 256) (i32.const 1024)))
    (call $write (i32.const 1) (i32.const 1024) (i32.load (i32.const 20)))
    (call $check (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (call $check (call $environ_get (i32.const 256) (i32.const 2048)))
    (call $write (i32.const 1) (i32.const 2048) (i32.load (i32.const 20)))"#;

/// Copies up to 256 bytes from descriptor `from` to descriptor `to`.
fn copy(from: u32, to: u32) -> String {
    format!(
        r#"
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 256))
    (call $check (call $fd_read (i32.const {from}) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $write (i32.const {to}) (i32.const 1024) (i32.load (i32.const 24)))"#
    )
}

/// A fresh host directory holding `hello.txt`.
fn sandbox(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-wasi12-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), contents).unwrap();
    dir
}

/// The bytes a pipe collected, once the store holding its other clone is gone.
fn collected(pipe: WritePipe<Cursor<Vec<u8>>>) -> Vec<u8> {
    pipe.try_into_inner()
        .expect("sole remaining reference to WritePipe")
        .into_inner()
}

#[test]
fn hello_world_through_a_write_pipe() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let stdout = WritePipe::new_in_memory();
    let wasi = WasiCtxBuilder::new()
        .stdout(Box::new(stdout.clone()))
        .inherit_args()?
        .build();
    let mut store = Store::new(&engine, wasi);
    let module = command(&engine, HELLO_DATA, HELLO)?;
    linker.module(&mut store, "", &module)?;
    linker
        .get_default(&mut store, "")?
        .typed::<(), ()>(&store)?
        .call(&mut store, ())?;
    drop(store);
    assert_eq!(collected(stdout), b"Hello, world!\n");
    Ok(())
}

#[test]
fn inherit_stdio_is_infallible_and_the_root_builder_is_the_sync_one() -> Result<()> {
    // wasmtime 12 re-exports `sync` at the root: both paths name one type.
    let builder: wasmtime_wasi::WasiCtxBuilder = WasiCtxBuilder::new();
    let mut builder = builder;
    let wasi = builder.inherit_stdio().inherit_env()?.build();
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::sync::add_to_linker(&mut linker, |s| s)?;
    let mut store = Store::new(&engine, wasi);
    // Replace the inherited stdout after the fact, as 12's `&self` setter
    // allows, so the test can see the guest's output.
    let stdout = WritePipe::new_in_memory();
    store.data().set_stdout(Box::new(stdout.clone()));
    let module = command(&engine, HELLO_DATA, HELLO)?;
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&mut store, "_start")?
        .call(&mut store, ())?;
    drop(store);
    assert_eq!(collected(stdout), b"Hello, world!\n");
    Ok(())
}

#[test]
fn a_preopened_dir_the_guest_reads() -> Result<()> {
    let host = sandbox("preopen", "from the host file\n");
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let stdout = WritePipe::new_in_memory();
    let dir = Dir::open_ambient_dir(&host, ambient_authority())?;
    let wasi = WasiCtxBuilder::new()
        .stdout(Box::new(stdout.clone()))
        .preopened_dir(dir, "/data")?
        .build();
    let mut store = Store::new(&engine, wasi);
    let module = command(&engine, CAT_DATA, CAT)?;
    linker.module(&mut store, "", &module)?;
    linker
        .get_default(&mut store, "")?
        .typed::<(), ()>(&store)?
        .call(&mut store, ())?;
    drop(store);
    std::fs::remove_dir_all(&host)?;
    assert_eq!(collected(stdout), b"from the host file\n");
    Ok(())
}

#[test]
fn push_preopened_dir_on_a_built_context() -> Result<()> {
    let host = sandbox("pushed", "pushed later\n");
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let stdout = WritePipe::new_in_memory();
    let wasi = WasiCtxBuilder::new()
        .stdout(Box::new(stdout.clone()))
        .build();
    let dir = wasmtime_wasi::sync::dir::Dir::from_cap_std(Dir::open_ambient_dir(
        &host,
        ambient_authority(),
    )?);
    wasi.push_preopened_dir(Box::new(dir), "/data")?;
    let mut store = Store::new(&engine, wasi);
    let module = command(&engine, CAT_DATA, CAT)?;
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&mut store, "_start")?
        .call(&mut store, ())?;
    drop(store);
    std::fs::remove_dir_all(&host)?;
    assert_eq!(collected(stdout), b"pushed later\n");
    Ok(())
}

#[test]
fn args_and_env_from_the_builder_and_the_context() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let stdout = WritePipe::new_in_memory();
    let mut wasi = WasiCtxBuilder::new()
        .arg("prog")?
        .args(&["--flag".to_string()])?
        .env("HOME", "/guest")?
        .envs(&[("LANG".to_string(), "C".to_string())])?
        .stdout(Box::new(stdout.clone()))
        .build();
    // wasmtime 12's `WasiCtx::push_arg` / `push_env` after building.
    wasi.push_arg("last")?;
    wasi.push_env("EXTRA", "1")?;
    let mut store = Store::new(&engine, wasi);
    let module = command(&engine, "", ARGS_ENV)?;
    linker.module(&mut store, "", &module)?;
    linker
        .get_default(&mut store, "")?
        .typed::<(), ()>(&store)?
        .call(&mut store, ())?;
    drop(store);
    assert_eq!(
        collected(stdout),
        b"prog\0--flag\0last\0HOME=/guest\0LANG=C\0EXTRA=1\0"
    );
    Ok(())
}

#[test]
fn stdin_from_a_read_pipe_and_exit_codes() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let stdout = WritePipe::new_in_memory();
    let wasi = WasiCtxBuilder::new()
        .stdin(Box::new(ReadPipe::from("typed by the host")))
        .stdout(Box::new(stdout.clone()))
        .build();
    let mut store = Store::new(&engine, wasi);
    let module = command(&engine, "", &copy(0, 1))?;
    linker.module(&mut store, "", &module)?;
    linker
        .get_default(&mut store, "")?
        .typed::<(), ()>(&store)?
        .call(&mut store, ())?;
    // A failing call exits with its errno, seen as `I32Exit`: descriptor 3
    // is not open here, so `path_open` fails with EBADF (8).
    let module = command(&engine, CAT_DATA, CAT)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let err = instance
        .get_typed_func::<(), ()>(&mut store, "_start")?
        .call(&mut store, ())
        .unwrap_err();
    let exit = err
        .downcast_ref::<wasmtime_wasi::I32Exit>()
        .expect("proc_exit ends the call with I32Exit");
    assert_eq!(exit.0, 8);
    drop(store);
    assert_eq!(collected(stdout), b"typed by the host");
    Ok(())
}

#[test]
fn files_inserted_and_pushed_on_a_context() -> Result<()> {
    use wasi_common::file::FileAccessMode;
    let host = sandbox("files", "a host file\n");
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let stdout = WritePipe::new_in_memory();
    let wasi = WasiCtxBuilder::new()
        .stdout(Box::new(stdout.clone()))
        .build();
    let pushed = wasi.push_file(
        Box::new(ReadPipe::from("pushed pipe\n")),
        FileAccessMode::READ,
    )?;
    assert_eq!(pushed, 3);
    // Tern's constructor (12's is `File::from_cap_std`).
    let file =
        wasmtime_wasi::sync::file::File::from_std(std::fs::File::open(host.join("hello.txt"))?);
    wasi.insert_file(7, Box::new(file), FileAccessMode::READ);
    let read_only = WritePipe::new_in_memory();
    wasi.insert_file(9, Box::new(read_only.clone()), FileAccessMode::READ);
    let mut store = Store::new(&engine, wasi);
    for body in [copy(3, 1), copy(7, 1)] {
        let instance = linker.instantiate(&mut store, &command(&engine, "", &body)?)?;
        instance
            .get_typed_func::<(), ()>(&mut store, "_start")?
            .call(&mut store, ())?;
    }
    // Writing to a file given with READ only is ENOTCAPABLE (76).
    let write9 = "(call $write (i32.const 9) (i32.const 1024) (i32.const 1))";
    let instance = linker.instantiate(&mut store, &command(&engine, "", write9)?)?;
    let err = instance
        .get_typed_func::<(), ()>(&mut store, "_start")?
        .call(&mut store, ())
        .unwrap_err();
    assert_eq!(
        err.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0),
        Some(76)
    );
    drop(store);
    std::fs::remove_dir_all(&host)?;
    assert_eq!(collected(stdout), b"pushed pipe\na host file\n");
    assert!(collected(read_only).is_empty());
    Ok(())
}

/// A preview 0 (`wasi_unstable`) guest: `add_to_linker` defines that module
/// too, with preview 0's layouts where they differ from preview 1. The guest
/// writes 64 bytes of results to standard output (offsets below).
const PREVIEW0_GUEST: &str = r#"(module
  (import "wasi_unstable" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_unstable" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello.txt")
  (func $check (param i32) (if (local.get 0) (then (call $proc_exit (local.get 0)))))
  (func (export "_start") (local $fd i32)
    ;; rights: fd_read | fd_seek | fd_filestat_get
    (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 9)
      (i32.const 0) (i64.const 2097158) (i64.const 0) (i32.const 0) (i32.const 200)))
    (local.set $fd (i32.load (i32.const 200)))
    ;; @0: seek to the end with preview 0's END (1)
    (call $check (call $fd_seek (local.get $fd) (i64.const 0) (i32.const 1) (i32.const 3000)))
    ;; @8 size, @16 nlink, @24 the sentinel just past a 56-byte filestat
    (i64.store (i32.const 456) (i64.const -1))
    (call $check (call $fd_filestat_get (local.get $fd) (i32.const 400)))
    (i64.store (i32.const 3008) (i64.load (i32.const 424)))
    (i64.store (i32.const 3016) (i64.extend_i32_u (i32.load (i32.const 420))))
    (i64.store (i32.const 3024) (i64.load (i32.const 456)))
    ;; @32 size, @40 sentinel, through path_filestat_get
    (i64.store (i32.const 556) (i64.const -1))
    (call $check (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 9) (i32.const 500)))
    (i64.store (i32.const 3032) (i64.load (i32.const 524)))
    (i64.store (i32.const 3040) (i64.load (i32.const 556)))
    ;; @48 userdata, @56 nevents, @60 error: one 56-byte clock subscription
    ;; (userdata, tag 0, identifier 99, monotonic, timeout 0)
    (i64.store (i32.const 600) (i64.const 0x1234))
    (i32.store8 (i32.const 608) (i32.const 0))
    (i64.store (i32.const 616) (i64.const 99))
    (i32.store (i32.const 624) (i32.const 1))
    (i64.store (i32.const 632) (i64.const 0))
    (call $check (call $poll_oneoff (i32.const 600) (i32.const 700) (i32.const 1) (i32.const 740)))
    (i64.store (i32.const 3048) (i64.load (i32.const 700)))
    (i32.store (i32.const 3056) (i32.load (i32.const 740)))
    (i32.store (i32.const 3060) (i32.load16_u (i32.const 708)))
    (i32.store (i32.const 0) (i32.const 3000))
    (i32.store (i32.const 4) (i32.const 64))
    (call $check (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

#[test]
fn a_preview0_guest_links_and_sees_preview0_layouts() -> Result<()> {
    let host = sandbox("preview0", "0123456789");
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::add_to_linker(&mut linker, |s| s)?;
    let stdout = WritePipe::new_in_memory();
    let wasi = WasiCtxBuilder::new()
        .stdout(Box::new(stdout.clone()))
        .preopened_dir(Dir::open_ambient_dir(&host, ambient_authority())?, ".")?
        .build();
    let mut store = Store::new(&engine, wasi);
    let module = Module::new(&engine, PREVIEW0_GUEST)?;
    linker.module(&mut store, "", &module)?;
    linker
        .get_default(&mut store, "")?
        .typed::<(), ()>(&store)?
        .call(&mut store, ())?;
    drop(store);
    std::fs::remove_dir_all(&host)?;
    let out = collected(stdout);
    assert_eq!(out.len(), 64);
    let u64_at = |i: usize| u64::from_le_bytes(out[i..i + 8].try_into().unwrap());
    let u32_at = |i: usize| u32::from_le_bytes(out[i..i + 4].try_into().unwrap());
    assert_eq!(u64_at(0), 10, "fd_seek(END) with preview 0's whence");
    assert_eq!(u64_at(8), 10, "filestat size at preview 0's offset 24");
    assert_eq!(u64_at(16), 1, "filestat nlink (u32 at 20)");
    assert_eq!(u64_at(24), u64::MAX, "nothing written past 56 bytes");
    assert_eq!(u64_at(32), 10, "path_filestat_get size");
    assert_eq!(u64_at(40), u64::MAX, "nothing written past 56 bytes");
    assert_eq!(u64_at(48), 0x1234, "the event's userdata");
    assert_eq!(u32_at(56), 1, "one event");
    assert_eq!(u32_at(60), 0, "no error on a preview 0 clock subscription");
    Ok(())
}

#[tokio::test]
async fn the_tokio_variant_on_an_async_engine() -> Result<()> {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::tokio::add_to_linker(&mut linker, |cx| cx)?;
    let host = sandbox("tokio", "read on a fiber\n");
    let stdout = WritePipe::new_in_memory();
    let wasi = wasmtime_wasi::tokio::WasiCtxBuilder::new()
        .stdout(Box::new(stdout.clone()))
        .preopened_dir(
            wasmtime_wasi::tokio::Dir::open_ambient_dir(&host, ambient_authority())?,
            "/data",
        )?
        .build();
    let mut store = Store::new(&engine, wasi);
    let module = command(&engine, CAT_DATA, CAT)?;
    let instance = linker.instantiate_async(&mut store, &module).await?;
    instance
        .get_typed_func::<(), ()>(&mut store, "_start")?
        .call_async(&mut store, ())
        .await?;
    drop(store);
    std::fs::remove_dir_all(&host)?;
    assert_eq!(collected(stdout), b"read on a fiber\n");
    Ok(())
}

#[test]
fn the_tokio_linker_needs_an_async_engine() {
    let engine = Engine::default();
    let mut linker = Linker::<wasmtime_wasi::WasiCtx>::new(&engine);
    let err = wasmtime_wasi::tokio::add_to_linker(&mut linker, |cx| cx).unwrap_err();
    assert!(format!("{err:#}").contains("async"), "{err:#}");
}

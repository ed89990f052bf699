//! `bindgen!({ …, async: true })`: host traits implemented with
//! `#[async_trait::async_trait]` whose methods really await (a timer, a
//! oneshot channel filled by another task, a barrier two instances reach
//! together), exports called with `call_*().await`, host resources with async
//! methods, wasmtime 12's trappable error type, and `Send` futures on a
//! multi-threaded runtime. The guests are the committed `twice` and
//! `resources` components and a hand-written core module for the error case.

use crate::bindgen_guest::{componentize, forward, import, rust_guest, ALLOCATOR};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tern::component::{Component, Linker, Resource};
use tern::{Config, Engine, Store};

mod twice {
    tern::component::bindgen!({
        path: "tests/all/bindgen/twice.wit",
        async: true,
    });
}

mod resources {
    tern::component::bindgen!({
        path: "tests/all/bindgen/resources.wit",
        async: true,
    });
}

mod errs {
    tern::component::bindgen!({
        inline: "package tests:errs;
interface fs {
  enum error-code { not-found, denied }
  open: func(path: string) -> result<u32, error-code>;
}
world errs {
  import fs;
  use fs.{error-code};
  export run: func(path: string) -> result<u32, error-code>;
}
",
        trappable_error_type: { "tests:errs/fs"::"error-code": FsError },
        async: true,
    });
}

/// Later wasmtime's spelling of `trappable_error_type` (the user's error
/// type and a synchronous `convert_error_code`), and a function the world
/// imports directly (the async `{World}Imports` trait).
mod errs_later {
    tern::component::bindgen!({
        inline: "package tests:later;
interface fs {
  enum error-code { not-found, denied }
  open: func(path: string) -> result<u32, error-code>;
}
world later {
  import fs;
  import scale: func(x: u32) -> u32;
  use fs.{error-code};
  export run: func(path: string) -> result<u32, error-code>;
  export run-scale: func(x: u32) -> u32;
}
",
        trappable_error_type: { "tests:later/fs/error-code" => super::OpenFailed },
        async: true,
    });
}

/// The Rust error of `errs_later`'s `open`.
#[derive(Debug)]
enum OpenFailed {
    Missing,
    Fatal(String),
}

struct Later;

#[async_trait::async_trait]
impl errs_later::tests::later::fs::Host for Later {
    async fn open(&mut self, path: String) -> Result<u32, OpenFailed> {
        tokio::task::yield_now().await;
        match path.as_str() {
            "ok" => Ok(9),
            "missing" => Err(OpenFailed::Missing),
            _ => Err(OpenFailed::Fatal(path)),
        }
    }
    fn convert_error_code(
        &mut self,
        err: OpenFailed,
    ) -> tern::Result<errs_later::tests::later::fs::ErrorCode> {
        match err {
            OpenFailed::Missing => Ok(errs_later::tests::later::fs::ErrorCode::NotFound),
            OpenFailed::Fatal(p) => Err(tern::Error::msg(format!("fatal: {p}"))),
        }
    }
}

#[async_trait::async_trait]
impl errs_later::LaterImports for Later {
    async fn scale(&mut self, x: u32) -> tern::Result<u32> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(x * 3)
    }
}

#[tokio::test]
async fn bindgen_async_convert_error_and_world_import() -> tern::Result<()> {
    use errs_later::tests::later::fs::ErrorCode;
    let wit = "package tests:later;
interface fs {
  enum error-code { not-found, denied }
  open: func(path: string) -> result<u32, error-code>;
}
world later {
  import fs;
  import scale: func(x: u32) -> u32;
  use fs.{error-code};
  export run: func(path: string) -> result<u32, error-code>;
  export run-scale: func(x: u32) -> u32;
}
";
    let mut wat = String::from("(module\n");
    wat += &import(
        "tests:later/fs",
        "open",
        "$open",
        &["i32", "i32"],
        Some("retptr"),
    );
    wat += &import("$root", "scale", "$scale", &["i32"], Some("i32"));
    wat += ALLOCATOR;
    wat += &forward("run", "$open", &["i32", "i32"], Some("retptr"));
    wat += &forward("run-scale", "$scale", &["i32"], Some("i32"));
    wat += ")";
    let engine = async_engine();
    let component = componentize(&engine, wit, "later", &wat)?;
    let mut linker = Linker::new(&engine);
    errs_later::Later::add_to_linker(&mut linker, |h: &mut Later| h)?;
    let mut store = Store::new(&engine, Later);
    let (world, _) = errs_later::Later::instantiate_async(&mut store, &component, &linker).await?;
    assert_eq!(within(world.call_run_scale(&mut store, 14)).await?, 42);
    assert_eq!(within(world.call_run(&mut store, "ok")).await?, Ok(9));
    assert_eq!(
        within(world.call_run(&mut store, "missing")).await?,
        Err(ErrorCode::NotFound)
    );
    let err = within(world.call_run(&mut store, "x")).await.unwrap_err();
    assert!(format!("{err:?}").contains("fatal: x"), "{err:?}");
    Ok(())
}

/// `async: false` is the default, spelled out: synchronous traits.
mod sync_spelled_out {
    tern::component::bindgen!({
        path: "tests/all/bindgen/twice.wit",
        async: false,
    });
}

fn async_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.async_support(true);
    Engine::new(&config).unwrap()
}

/// Fails the test instead of hanging when a future never completes.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the future did not complete in 20 s")
}

/// The host of `twice`: `primary` sleeps, `backup` waits for a value another
/// task sends.
#[derive(Default)]
struct Logs {
    primary: Vec<(u8, String)>,
    backup: Vec<(u8, String)>,
    answer: Option<tokio::sync::oneshot::Receiver<u32>>,
}

#[async_trait::async_trait]
impl twice::primary::Host for Logs {
    async fn log(&mut self, e: twice::primary::Entry) -> tern::Result<u32> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.primary.push((e.level, e.text));
        Ok(100)
    }
}

#[async_trait::async_trait]
impl twice::backup::Host for Logs {
    async fn log(&mut self, e: twice::primary::Entry) -> tern::Result<u32> {
        let rx = self
            .answer
            .take()
            .ok_or_else(|| tern::Error::msg("no answer channel"))?;
        let answer = rx.await?;
        self.backup.push((e.level, e.text));
        Ok(answer)
    }
}

fn twice_linker(engine: &Engine) -> Linker<Logs> {
    let mut linker = Linker::new(engine);
    twice::Twice::add_to_linker(&mut linker, |h: &mut Logs| h).unwrap();
    linker
}

#[tokio::test]
async fn bindgen_async_host_awaits_and_export_is_awaited() -> tern::Result<()> {
    let engine = async_engine();
    let component = rust_guest(&engine, "twice");
    let linker = twice_linker(&engine);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut store = Store::new(
        &engine,
        Logs {
            answer: Some(rx),
            ..Logs::default()
        },
    );
    let (world, _) = twice::Twice::instantiate_async(&mut store, &component, &linker).await?;
    // The value `backup` returns exists only once this task has run, which it
    // can only do while the guest is suspended in the host's await.
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        tx.send(23).unwrap();
    });
    assert_eq!(within(world.call_run(&mut store)).await?, 123);
    sender.await?;
    assert_eq!(store.data().primary, vec![(1, "first".to_string())]);
    assert_eq!(store.data().backup, vec![(2, "second".to_string())]);
    // Without an answer channel the host function fails: the call traps.
    let err = within(world.call_run(&mut store)).await.unwrap_err();
    assert!(format!("{err:?}").contains("no answer channel"), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn bindgen_async_instantiate_pre() -> tern::Result<()> {
    let engine = async_engine();
    let component = rust_guest(&engine, "twice");
    let pre = twice_linker(&engine).instantiate_pre(&component)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    tx.send(7).unwrap();
    let mut store = Store::new(
        &engine,
        Logs {
            answer: Some(rx),
            ..Logs::default()
        },
    );
    let (world, _) = twice::Twice::instantiate_pre(&mut store, &pre).await?;
    assert_eq!(within(world.call_run(&mut store)).await?, 107);
    Ok(())
}

/// The async bindings need an engine with `Config::async_support`.
#[tokio::test]
async fn bindgen_async_refuses_a_sync_engine() {
    let engine = crate::bindgen_guest::engine();
    let component = rust_guest(&engine, "twice");
    let linker = twice_linker(&engine);
    let mut store = Store::new(&engine, Logs::default());
    let err = match twice::Twice::instantiate_async(&mut store, &component, &linker).await {
        Ok(_) => panic!("instantiate_async without async_support must fail"),
        Err(e) => e,
    };
    assert!(format!("{err:#}").contains("async"), "{err:#}");
}

/// Two instances in two stores, awaited concurrently on a multi-threaded
/// runtime: both guests must be inside `primary::log` at once to pass the
/// barrier, so the calls really interleave, and `tokio::spawn` requires every
/// generated future to be `Send`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bindgen_async_two_instances_concurrently() -> tern::Result<()> {
    struct Meet(Arc<tokio::sync::Barrier>, Vec<String>);

    #[async_trait::async_trait]
    impl twice::primary::Host for Meet {
        async fn log(&mut self, e: twice::primary::Entry) -> tern::Result<u32> {
            self.0.wait().await;
            self.1.push(e.text);
            Ok(10)
        }
    }

    #[async_trait::async_trait]
    impl twice::backup::Host for Meet {
        async fn log(&mut self, e: twice::primary::Entry) -> tern::Result<u32> {
            tokio::task::yield_now().await;
            self.1.push(e.text);
            Ok(u32::from(e.level))
        }
    }

    let engine = async_engine();
    let component = rust_guest(&engine, "twice");
    let mut linker = Linker::new(&engine);
    twice::Twice::add_to_linker(&mut linker, |h: &mut Meet| h)?;
    let linker = Arc::new(linker);
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (engine, component, linker) = (engine.clone(), component.clone(), linker.clone());
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut store = Store::new(&engine, Meet(barrier, Vec::new()));
                let (world, _) =
                    twice::Twice::instantiate_async(&mut store, &component, &linker).await?;
                let r = world.call_run(&mut store).await?;
                tern::Result::<_>::Ok((r, store.into_data().1))
            })
        })
        .collect();
    for task in tasks {
        let (r, logged) = within(task).await??;
        assert_eq!(r, 12);
        assert_eq!(logged, ["first", "second"]);
    }
    Ok(())
}

/// The host of `resources`: blobs behind async methods.
#[derive(Default)]
struct Blobs {
    blobs: Vec<Option<String>>,
    dropped: Vec<u32>,
}

impl Blobs {
    fn blob(&self, r: &Resource<resources::tests::res::host_api::Blob>) -> tern::Result<String> {
        self.blobs
            .get(r.rep() as usize)
            .and_then(Option::clone)
            .ok_or_else(|| tern::Error::msg("no such blob"))
    }
}

use resources::tests::res::host_api::{self, Blob};

#[async_trait::async_trait]
impl host_api::HostBlob for Blobs {
    async fn new(&mut self, init: String) -> tern::Result<Resource<Blob>> {
        tokio::task::yield_now().await;
        self.blobs.push(Some(init));
        Ok(Resource::new_own(self.blobs.len() as u32 - 1))
    }
    async fn size(&mut self, self_: Resource<Blob>) -> tern::Result<u32> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(self.blob(&self_)?.len() as u32)
    }
    async fn merge(
        &mut self,
        a: Resource<Blob>,
        b: Resource<Blob>,
    ) -> tern::Result<Resource<Blob>> {
        let merged = format!("{}{}", self.blob(&a)?, self.blob(&b)?);
        self.new(merged).await
    }
    fn drop(&mut self, rep: Resource<Blob>) -> tern::Result<()> {
        self.dropped.push(rep.rep());
        self.blobs[rep.rep() as usize] = None;
        Ok(())
    }
}

#[async_trait::async_trait]
impl host_api::Host for Blobs {}

#[tokio::test]
async fn bindgen_async_host_resource() -> tern::Result<()> {
    let engine = async_engine();
    let component = rust_guest(&engine, "resources");
    let mut linker = Linker::new(&engine);
    resources::Resources::add_to_linker(&mut linker, |h: &mut Blobs| h)?;
    let mut store = Store::new(&engine, Blobs::default());
    let (world, _) =
        resources::Resources::instantiate_async(&mut store, &component, &linker).await?;
    let g = world.tests_res_guest_api();
    // The guest calls the host's async constructor, method and static function.
    let b = within(g.call_make_blob(&mut store, "hello")).await?;
    let size = within(g.call_blob_size(&mut store, Resource::new_borrow(b.rep()))).await?;
    assert_eq!(size, 5);
    let other = within(g.call_make_blob(&mut store, "!!")).await?;
    let merged = within(g.call_merge_blobs(&mut store, b, other)).await?;
    assert_eq!(store.data().blob(&merged)?, "hello!!");
    // The guest drops an owned blob: the host's synchronous `drop` runs.
    let rep = merged.rep();
    within(g.call_consume(&mut store, merged)).await?;
    assert!(
        store.data().dropped.contains(&rep),
        "{:?}",
        store.data().dropped
    );
    // A guest resource through the async accessors.
    let c = within(g.counter().call_constructor(&mut store, 5)).await?;
    assert_eq!(within(g.counter().call_bump(&mut store, c, 3)).await?, 8);
    c.resource_drop_async(&mut store).await?;
    assert_eq!(within(g.call_dropped(&mut store)).await?, 1);
    Ok(())
}

struct Fs;

#[async_trait::async_trait]
impl errs::tests::errs::fs::Host for Fs {
    async fn open(&mut self, path: String) -> Result<u32, errs::tests::errs::fs::FsError> {
        use errs::tests::errs::fs::{ErrorCode, FsError};
        tokio::task::yield_now().await;
        match path.as_str() {
            "ok" => Ok(7),
            "missing" => Err(ErrorCode::NotFound.into()),
            _ => Err(FsError::trap(tern::Error::msg(format!(
                "cannot open {path}"
            )))),
        }
    }
}

#[tokio::test]
async fn bindgen_async_trappable_error() -> tern::Result<()> {
    use errs::tests::errs::fs::ErrorCode;
    let mut wat = String::from("(module\n");
    wat += &import(
        "tests:errs/fs",
        "open",
        "$open",
        &["i32", "i32"],
        Some("retptr"),
    );
    wat += ALLOCATOR;
    wat += &forward("run", "$open", &["i32", "i32"], Some("retptr"));
    wat += ")";
    let wit = "package tests:errs;
interface fs {
  enum error-code { not-found, denied }
  open: func(path: string) -> result<u32, error-code>;
}
world errs {
  import fs;
  use fs.{error-code};
  export run: func(path: string) -> result<u32, error-code>;
}
";
    let engine = async_engine();
    let component = componentize(&engine, wit, "errs", &wat)?;
    let mut linker = Linker::new(&engine);
    errs::Errs::add_to_linker(&mut linker, |h: &mut Fs| h)?;
    let mut store = Store::new(&engine, Fs);
    let (world, _) = errs::Errs::instantiate_async(&mut store, &component, &linker).await?;
    assert_eq!(within(world.call_run(&mut store, "ok")).await?, Ok(7));
    assert_eq!(
        within(world.call_run(&mut store, "missing")).await?,
        Err(ErrorCode::NotFound)
    );
    let err = within(world.call_run(&mut store, "other"))
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("cannot open other"), "{err:?}");
    Ok(())
}

/// `async: false` generates the synchronous bindings.
#[test]
fn bindgen_async_false_is_sync() {
    struct Sync0;
    impl sync_spelled_out::primary::Host for Sync0 {
        fn log(&mut self, _: sync_spelled_out::primary::Entry) -> tern::Result<u32> {
            Ok(3)
        }
    }
    impl sync_spelled_out::backup::Host for Sync0 {
        fn log(&mut self, _: sync_spelled_out::primary::Entry) -> tern::Result<u32> {
            Ok(4)
        }
    }
    let engine = crate::bindgen_guest::engine();
    let component = rust_guest(&engine, "twice");
    let mut linker = Linker::new(&engine);
    sync_spelled_out::Twice::add_to_linker(&mut linker, |h: &mut Sync0| h).unwrap();
    let mut store = Store::new(&engine, Sync0);
    let (world, _) = sync_spelled_out::Twice::instantiate(&mut store, &component, &linker).unwrap();
    assert_eq!(world.call_run(&mut store).unwrap(), 7);
}

/// Compile-time check: a future is `Send`.
fn send<F: Future + Send>(_: F) {}

/// Compile-time checks: every future the async bindings return is `Send`
/// when the store's data is (never run; it must compile).
#[allow(dead_code, reason = "a compile-time check, never called")]
fn world_futures_are_send(
    store: &mut Store<Logs>,
    component: &Component,
    linker: &Linker<Logs>,
    pre: &tern::component::InstancePre<Logs>,
    world: &twice::Twice,
) {
    send(twice::Twice::instantiate_async(
        &mut *store,
        component,
        linker,
    ));
    send(twice::Twice::instantiate_pre(&mut *store, pre));
    send(world.call_run(&mut *store));
}

/// As [`world_futures_are_send`], for exported interfaces' and resources'
/// calls and the host traits' methods.
#[allow(dead_code, reason = "a compile-time check, never called")]
fn interface_futures_are_send(
    store: &mut Store<Blobs>,
    res: &resources::Resources,
    host: &mut Blobs,
) {
    send(res.tests_res_guest_api().call_make_blob(&mut *store, "x"));
    send(
        res.tests_res_guest_api()
            .counter()
            .call_constructor(&mut *store, 1),
    );
    send(host_api::HostBlob::size(host, Resource::new_own(0)));
}

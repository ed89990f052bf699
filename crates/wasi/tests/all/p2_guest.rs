//! The WASI 0.2 host as a guest reaches it: small components written in WAT,
//! instantiated with `tern_wasi::p2`'s linker and called. The unstable
//! `wasi:clocks/timezone` is linked only on request and answers UTC; a path
//! that is not valid UTF-8 is a trap when the canonical ABI lifts it (before
//! the host sees it), with a message saying so — never a host panic.

use tern::component::{Component, Linker, ResourceTable};
use tern::{Config, Engine, Store};
use tern_wasi::p2::{LinkOptions, WasiView};
use tern_wasi::sync::{ambient_authority, Dir};
use tern_wasi::{DirPerms, FilePerms, WasiCtx, WasiCtxBuilder};

struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
    fn ctx(&mut self) -> &mut WasiCtx {
        &mut self.ctx
    }
}

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    Engine::new(&config).unwrap()
}

fn store(engine: &Engine, ctx: WasiCtx) -> Store<Host> {
    Store::new(
        engine,
        Host {
            ctx,
            table: ResourceTable::new(),
        },
    )
}

/// A core module with a memory and a bump allocator as `realloc`.
const MEMORY_MODULE: &str = r#"
  (core module $mem
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and
        (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $m (instantiate $mem))
  (alias core export $m "memory" (core memory $memory))
  (alias core export $m "realloc" (core func $realloc))
"#;

/// A component importing `wasi:clocks/timezone@VERSION` whose export `check`
/// returns `display`'s three fields and `utc-offset`'s answer for a date.
fn timezone_component(version: &str) -> String {
    format!(
        r#"(component
  (import "wasi:clocks/timezone@{version}" (instance $tz
    (type $dt (record (field "seconds" u64) (field "nanoseconds" u32)))
    (export "datetime" (type $datetime (eq $dt)))
    (type $disp (record (field "utc-offset" s32) (field "name" string)
                        (field "in-daylight-saving-time" bool)))
    (export "timezone-display" (type $display (eq $disp)))
    (export "display" (func (param "when" $datetime) (result $display)))
    (export "utc-offset" (func (param "when" $datetime) (result s32)))))
  {MEMORY_MODULE}
  (core func $display (canon lower (func $tz "display") (memory $memory) (realloc $realloc)))
  (core func $offset (canon lower (func $tz "utc-offset")))
  (core module $main
    (import "tz" "display" (func $display (param i64 i32 i32)))
    (import "tz" "utc-offset" (func $offset (param i64 i32) (result i32)))
    (import "m" "memory" (memory 1))
    (func (export "check") (result i32)
      ;; `display` writes its record (s32, string, bool: 16 bytes) at 64;
      ;; `utc-offset`'s answer goes right after it, making the result tuple.
      (call $display (i64.const 1700000000) (i32.const 0) (i32.const 64))
      (i32.store (i32.const 80) (call $offset (i64.const 1700000000) (i32.const 0)))
      (i32.const 64)))
  (core instance $i (instantiate $main
    (with "tz" (instance (export "display" (func $display)) (export "utc-offset" (func $offset))))
    (with "m" (instance $m))))
  (func (export "check") (result (tuple s32 string bool s32))
    (canon lift (core func $i "check") (memory $memory))))"#
    )
}

#[test]
fn timezone_is_linked_on_request_and_answers_utc() {
    let engine = engine();
    let component = Component::new(&engine, timezone_component("0.2.12")).unwrap();
    // Not linked by default: instantiation names the missing interface.
    let mut linker = Linker::new(&engine);
    tern_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let mut s = store(&engine, WasiCtxBuilder::new().build());
    let err = linker.instantiate(&mut s, &component).unwrap_err();
    assert!(
        format!("{err:#}").contains("wasi:clocks/timezone@0.2.12"),
        "{err:#}"
    );
    // Linked with `clocks_timezone(true)`, for 0.2.12 and an earlier 0.2.x.
    let mut linker = Linker::new(&engine);
    tern_wasi::p2::add_to_linker_with_options_sync(
        &mut linker,
        LinkOptions::default().clocks_timezone(true),
    )
    .unwrap();
    for version in ["0.2.12", "0.2.0"] {
        let component = Component::new(&engine, timezone_component(version)).unwrap();
        let mut s = store(&engine, WasiCtxBuilder::new().build());
        let instance = linker.instantiate(&mut s, &component).unwrap();
        let check = instance
            .get_typed_func::<(), ((i32, String, bool, i32),)>(&mut s, "check")
            .unwrap();
        let (answer,) = check.call(&mut s, ()).unwrap();
        assert_eq!(answer, (0, "UTC".to_string(), false, 0), "@{version}");
    }
}

/// The cases of `wasi:filesystem/types`' `error-code`, in order.
const ERROR_CODES: &str = "access would-block already bad-descriptor busy deadlock quota \
    exist file-too-large illegal-byte-sequence in-progress interrupted invalid io is-directory \
    loop too-many-links message-size name-too-long no-device no-entry no-lock \
    insufficient-memory insufficient-space not-directory not-empty not-recoverable unsupported \
    no-tty no-such-device overflow not-permitted pipe read-only invalid-seek text-file-busy \
    cross-device";

/// A component that takes its first preopened directory and calls
/// `create-directory-at` on it with the path bytes `path` (a WAT string).
fn create_directory_component(path: &str) -> String {
    let cases: String = ERROR_CODES
        .split_whitespace()
        .map(|c| format!(r#" "{c}""#))
        .collect();
    format!(
        r#"(component $root
  (import "wasi:filesystem/types@0.2.12" (instance $types
    (export "descriptor" (type $d (sub resource)))
    (type $ec (enum{cases}))
    (export "error-code" (type $error-code (eq $ec)))
    (export "[method]descriptor.create-directory-at"
      (func (param "self" (borrow $d)) (param "path" string) (result (result (error $error-code)))))))
  (alias export $types "descriptor" (type $descriptor))
  (import "wasi:filesystem/preopens@0.2.12" (instance $preopens
    (alias outer $root $descriptor (type $d))
    (export "descriptor" (type $desc (eq $d)))
    (export "get-directories" (func (result (list (tuple (own $desc) string)))))))
  {MEMORY_MODULE}
  (core func $get-directories
    (canon lower (func $preopens "get-directories") (memory $memory) (realloc $realloc)))
  (core func $create-directory-at
    (canon lower (func $types "[method]descriptor.create-directory-at") (memory $memory)))
  (core module $main
    (import "fs" "get-directories" (func $get-directories (param i32)))
    (import "fs" "create-directory-at" (func $create-directory-at (param i32 i32 i32 i32)))
    (import "m" "memory" (memory 1))
    (data (i32.const 256) "{path}")
    (func (export "run") (result i32)
      ;; The list (pointer, length) at 0; its first element's handle first.
      (call $get-directories (i32.const 0))
      (call $create-directory-at
        (i32.load (i32.load (i32.const 0)))
        (i32.const 256) (i32.const {len})
        (i32.const 16))
      ;; The result's discriminant: 0 for ok.
      (i32.load8_u (i32.const 16))))
  (core instance $i (instantiate $main
    (with "fs" (instance
      (export "get-directories" (func $get-directories))
      (export "create-directory-at" (func $create-directory-at))))
    (with "m" (instance $m))))
  (func (export "run") (result u32) (canon lift (core func $i "run"))))"#,
        len = wat_string_len(path),
    )
}

/// The number of bytes of a WAT string literal's body (`\XX` is one byte).
fn wat_string_len(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
            chars.next();
            n += 1;
        } else {
            n += c.len_utf8();
        }
    }
    n
}

#[test]
fn an_invalid_utf8_path_traps_when_lifted() {
    let engine = engine();
    let mut linker = Linker::new(&engine);
    tern_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let dir = std::env::temp_dir().join(format!("tern-p2-guest-utf8-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |path: &str| {
        let ctx = WasiCtxBuilder::new()
            .preopened_dir_with_perms(
                Dir::open_ambient_dir(&dir, ambient_authority()).unwrap(),
                "/",
                DirPerms::all(),
                FilePerms::all(),
            )
            .unwrap()
            .build();
        let mut s = store(&engine, ctx);
        let component = Component::new(&engine, create_directory_component(path)).unwrap();
        let instance = linker.instantiate(&mut s, &component).unwrap();
        let run = instance
            .get_typed_func::<(), (u32,)>(&mut s, "run")
            .unwrap();
        run.call(&mut s, ()).map(|(r,)| r)
    };
    // A valid path works (the component is right)…
    assert_eq!(run("made").unwrap(), 0);
    assert!(dir.join("made").is_dir());
    // …and the same call with bytes that are not UTF-8 traps at lift time.
    for bad in [r"bad\ff", r"\c3\28", r"x\ed\a0\80y"] {
        let err = run(bad).unwrap_err();
        let text = format!("{err:?}");
        assert!(
            err.downcast_ref::<tern::component::ComponentTrap>()
                .is_some()
                || err.downcast_ref::<tern::Trap>().is_some(),
            "{bad}: not a trap: {text}"
        );
        assert!(text.contains("invalid utf-8"), "{bad}: {text}");
    }
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["made"], "nothing was created for the bad paths");
    std::fs::remove_dir_all(&dir).unwrap();
}

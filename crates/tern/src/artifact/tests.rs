//! Unit tests of the artifact format: the mismatches no engine of this build can
//! produce (another Tern version, another target or CPU, another memory layout,
//! a component), made by rewriting a real artifact's header; and the pin on the
//! metadata encoding that reminds whoever changes it to bump `FORMAT_VERSION`.
#![allow(
    unsafe_code,
    reason = "the tests call the unsafe `Module::deserialize` API on artifacts they made"
)]

use super::*;
use crate::vm::code_memory::FuncNames;
use crate::Module;
use tern_environ::{
    DataSegment, ElemSegment, Export, Global, Import, MemoryPlan, TablePlan, WasmFuncType,
    WasmRefType, WasmValType,
};

const WAT: &str = r#"(module (func (export "answer") (result i32) (i32.const 42)))"#;

/// A real artifact with its header changed by `edit`, re-sealed with a valid checksum.
fn with_header(edit: impl FnOnce(&mut Header)) -> (Engine, Vec<u8>) {
    let engine = Engine::default();
    let bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    let parsed = elf::parse(&bytes).unwrap();
    let mut header = parsed.header.clone();
    edit(&mut header);
    let rewritten = elf::write(&bytes[parsed.text.clone()], &header, parsed.meta).unwrap();
    (engine, rewritten)
}

fn set(header: &mut Header, key: &str, value: &str) {
    let entry = header
        .settings
        .iter_mut()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no `{key}` setting"));
    entry.1 = value.to_string();
}

fn load_error(engine: &Engine, bytes: &[u8]) -> String {
    // SAFETY: the artifact is real apart from its header, which the check refuses.
    let result = unsafe { Module::deserialize(engine, bytes) };
    format!("{:#}", result.expect_err("the artifact must be refused"))
}

#[test]
fn an_unchanged_rewrite_still_loads_and_runs() {
    let (engine, bytes) = with_header(|_| {});
    // SAFETY: the artifact is real; only re-sealed.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = crate::Store::new(&engine, ());
    let instance = crate::Instance::new(&mut store, &module, &[]).unwrap();
    let answer = instance
        .get_typed_func::<(), i32>(&mut store, "answer")
        .unwrap();
    assert_eq!(answer.call(&mut store, ()).unwrap(), 42);
}

#[test]
fn another_tern_version_is_named() {
    let (engine, bytes) = with_header(|h| set(h, "module version", "0.0.1"));
    let msg = load_error(&engine, &bytes);
    let expected = format!(
        "compiled with module version=0.0.1, this engine has module version={}",
        env!("CARGO_PKG_VERSION")
    );
    assert!(msg.contains(&expected), "{msg}");
}

#[test]
fn another_target_is_named() {
    let (engine, bytes) = with_header(|h| set(h, "target", "riscv64gc-unknown-linux-gnu"));
    let msg = load_error(&engine, &bytes);
    let ours = engine.inner.compiler.triple();
    assert!(
        msg.contains(&format!(
            "compiled with target=riscv64gc-unknown-linux-gnu, this engine has target={ours}"
        )),
        "{msg}"
    );
}

#[test]
fn other_cpu_features_are_named_one_by_one() {
    let mut flipped = None;
    let (engine, bytes) = with_header(|h| {
        let (key, value) = h
            .settings
            .iter_mut()
            .find(|(k, _)| k.starts_with("cpu feature "))
            .expect("a CPU flag");
        *value = if value == "true" {
            "false".into()
        } else {
            "true".into()
        };
        flipped = Some((key.clone(), value.clone()));
    });
    let (key, value) = flipped.unwrap();
    let msg = load_error(&engine, &bytes);
    assert!(
        msg.contains(&format!(
            "compiled with {key}={value}, this engine has {key}="
        )),
        "{msg}"
    );
}

#[test]
fn another_memory_layout_is_named() {
    let mut key = String::new();
    let (engine, bytes) = with_header(|h| {
        let (k, v) = h
            .settings
            .iter_mut()
            .find(|(k, _)| k.contains("guard size"))
            .expect("a guard size setting");
        (key, *v) = (k.clone(), "65536".into());
    });
    let msg = load_error(&engine, &bytes);
    assert!(
        msg.contains(&format!(
            "compiled with {key}=65536, this engine has {key}="
        )),
        "{msg}"
    );
}

#[test]
fn missing_and_unknown_settings_are_named() {
    let (engine, bytes) = with_header(|h| {
        h.settings.retain(|(k, _)| k != "opt level");
        h.settings
            .push(("stack strategy".into(), "segmented".into()));
    });
    let msg = load_error(&engine, &bytes);
    assert!(
        msg.contains("compiled without a `opt level` setting, this engine has opt level=Speed"),
        "{msg}"
    );
    assert!(
        msg.contains(
            "compiled with stack strategy=segmented, this engine has no `stack strategy` setting"
        ),
        "{msg}"
    );
}

#[test]
fn a_component_artifact_is_not_a_module() {
    let (engine, bytes) = with_header(|h| h.kind = Precompiled::Component);
    assert_eq!(
        engine.detect_precompiled(&bytes),
        Some(Precompiled::Component)
    );
    let msg = load_error(&engine, &bytes);
    assert!(
        msg.contains("the precompiled artifact holds a component, not a core module"),
        "{msg}"
    );
}

#[test]
fn another_container_format_is_named() {
    let engine = Engine::default();
    let mut bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    let at = bytes.windows(7).position(|w| w == b"TERNAOT").unwrap();
    bytes[at + 7] = 9;
    let msg = load_error(&engine, &bytes);
    assert!(
        msg.contains("the artifact uses container format 9, this version of Tern reads format 2"),
        "{msg}"
    );
}

#[test]
fn inconsistent_metadata_is_refused() {
    let engine = Engine::default();
    let bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    let parsed = elf::parse(&bytes).unwrap();
    let mut meta: ModuleMetadata = postcard::from_bytes(parsed.meta).unwrap();
    meta.funcs[0].1 = u32::MAX;
    let rewritten = elf::write(
        &bytes[parsed.text.clone()],
        &parsed.header,
        &postcard::to_allocvec(&meta).unwrap(),
    )
    .unwrap();
    let msg = load_error(&engine, &rewritten);
    assert!(
        msg.contains("inconsistent module metadata: a function lies outside the code"),
        "{msg}"
    );
}

#[test]
fn exception_handlers_outside_the_code_are_refused() {
    let engine = Engine::default();
    let bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    let parsed = elf::parse(&bytes).unwrap();
    let mut meta: ModuleMetadata = postcard::from_bytes(parsed.meta).unwrap();
    // A resume address past the code would jump anywhere.
    meta.handlers = tern_environ::ExceptionHandlers::default();
    meta.handlers
        .push(0, 16, u32::try_from(meta.code_len).unwrap());
    let rewritten = elf::write(
        &bytes[parsed.text.clone()],
        &parsed.header,
        &postcard::to_allocvec(&meta).unwrap(),
    )
    .unwrap();
    let msg = load_error(&engine, &rewritten);
    assert!(
        msg.contains("inconsistent module metadata: bad exception handler table"),
        "{msg}"
    );
}

#[test]
fn stack_maps_outside_their_frames_are_refused() {
    let engine = Engine::default();
    let bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    let parsed = elf::parse(&bytes).unwrap();
    let mut meta: ModuleMetadata = postcard::from_bytes(parsed.meta).unwrap();
    // A slot 16 bytes into a 16-byte frame would be the caller's frame.
    meta.stack_maps = tern_environ::StackMaps::default();
    meta.stack_maps.push(0, 16, &[16]);
    let rewritten = elf::write(
        &bytes[parsed.text.clone()],
        &parsed.header,
        &postcard::to_allocvec(&meta).unwrap(),
    )
    .unwrap();
    let msg = load_error(&engine, &rewritten);
    assert!(
        msg.contains("inconsistent module metadata: bad stack maps"),
        "{msg}"
    );
}

/// A module using every type and variant that goes into `.tern.meta`. Written
/// without `..Default::default()` so that a new field fails to compile here.
fn representative() -> ModuleMetadata {
    let expr = |ops| ConstExpr { ops };
    let env = tern_environ::Module {
        name: Some("m".into()),
        types: vec![tern_environ::WasmSubType::func(WasmFuncType {
            params: vec![
                WasmValType::I32,
                WasmValType::I64,
                WasmValType::F32,
                WasmValType::F64,
            ]
            .into(),
            results: vec![
                WasmValType::V128,
                WasmValType::FUNCREF,
                WasmValType::EXTERNREF,
            ]
            .into(),
        })],
        type_groups: vec![(0, 1)],
        functions: vec![0, 0],
        tags: vec![0],
        tables: vec![TablePlan {
            element: WasmRefType::FUNCREF,
            minimum: 1,
            maximum: Some(2),
            table64: true,
        }],
        table_inits: vec![Some(expr(vec![ConstOp::RefNull]))],
        memories: vec![MemoryPlan {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: true,
        }],
        globals: vec![Global {
            ty: WasmValType::I64,
            mutable: true,
            init: Some(expr(vec![
                ConstOp::I32Const(-1),
                ConstOp::I64Const(2),
                ConstOp::F32Const(3),
                ConstOp::F64Const(4),
                ConstOp::V128Const(5),
                ConstOp::GlobalGet(0),
                ConstOp::RefNull,
                ConstOp::RefFunc(1),
                ConstOp::I32Add,
                ConstOp::I32Sub,
                ConstOp::I32Mul,
                ConstOp::I64Add,
                ConstOp::I64Sub,
                ConstOp::I64Mul,
            ])),
        }],
        num_imported_funcs: 1,
        num_imported_tables: 0,
        num_imported_memories: 0,
        num_imported_globals: 0,
        num_imported_tags: 0,
        imports: vec![Import {
            module: "a".into(),
            field: "b".into(),
            index: EntityIndex::Function(0),
        }],
        exports: vec![
            Export {
                name: "t".into(),
                index: EntityIndex::Table(0),
            },
            Export {
                name: "m".into(),
                index: EntityIndex::Memory(0),
            },
            Export {
                name: "g".into(),
                index: EntityIndex::Global(0),
            },
            Export {
                name: "e".into(),
                index: EntityIndex::Tag(0),
            },
        ],
        start: Some(1),
        elems: vec![
            ElemSegment {
                mode: SegmentMode::Active {
                    index: 0,
                    offset: expr(vec![ConstOp::I32Const(0)]),
                },
                ty: WasmRefType::FUNCREF,
                items: ElemItems::Functions(vec![1]),
            },
            ElemSegment {
                mode: SegmentMode::Passive,
                ty: WasmRefType::FUNCREF,
                items: ElemItems::Expressions(vec![]),
            },
            ElemSegment {
                mode: SegmentMode::Declared,
                ty: WasmRefType::FUNCREF,
                items: ElemItems::Functions(vec![]),
            },
        ],
        data: vec![DataSegment {
            mode: SegmentMode::Passive,
            data: vec![1, 2],
        }],
        func_names: [(1, "f".to_string()), (0, "i".to_string())]
            .into_iter()
            .collect(),
    };
    let traps = TrapKind::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| (i as u32, *k))
        .collect();
    let func_names = FuncNames::new(
        [(0, "i".to_string()), (1, "f".to_string())]
            .into_iter()
            .collect(),
    );
    ModuleMetadata {
        env,
        code_len: 16,
        funcs: vec![(0, 16)],
        array_trampolines: vec![(0, 0, 8)],
        host_trampolines: vec![(1, 8, 8)],
        traps,
        address_map: tern_environ::AddressMap {
            func_starts: vec![30],
            sites: vec![(0, 32), (4, 35)],
        },
        stack_maps: {
            let mut maps = tern_environ::StackMaps::default();
            maps.push(8, 32, &[0, 16]);
            maps
        },
        handlers: {
            let mut handlers = tern_environ::ExceptionHandlers::default();
            handlers.push(8, 32, 12);
            handlers
        },
        func_names,
        exports_by_name: vec![2, 1, 0],
        memory_images: vec![Some((65536, 0, 4096)), None],
    }
}

#[test]
fn metadata_encoding_is_pinned() {
    let encoded = postcard::to_allocvec(&representative()).unwrap();
    let expected: &[u8] = &PINNED;
    assert_eq!(
        (FORMAT_VERSION, encoded.as_slice()),
        (16, expected),
        "the encoding of `.tern.meta` changed: bump artifact::FORMAT_VERSION (so old artifacts are \
         refused by name instead of misread), then update this test's expected version and PINNED bytes"
    );
}

/// The encoding of `representative()` for `FORMAT_VERSION` 16 (version 13
/// added the exception handler table after the stack maps; 14 and 15 changed
/// no encoding, only the compiled code and the libcalls it relies on; 16
/// appended three trap kinds to the trap table).
#[rustfmt::skip]
const PINNED: [u8; 230] = [
    1, 1, 109, 1, 1, 0, 0, 4, 0, 1, 2, 3, 3, 4, 5, 1, 0, 5, 1, 5, 1, 0, 1, 2, 0, 0, 1, 1, 0, 1,
    1, 2, 1, 1, 1, 1, 6, 1, 1, 0, 0, 1, 1, 1, 1, 1, 14, 0, 1, 1, 4, 2, 3, 3, 4, 4, 5, 5, 0, 6,
    7, 1, 8, 9, 10, 11, 12, 13, 1, 0, 1, 0, 0, 0, 0, 1, 1, 97, 1, 98, 0, 0, 4, 1, 116, 1, 0, 1,
    109, 2, 0, 1, 103, 3, 0, 1, 101, 4, 0, 1, 1, 3, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0,
    2, 1, 0, 0, 0, 1, 1, 2, 1, 2, 2, 0, 1, 105, 1, 1, 102, 16, 1, 0, 16, 1, 0, 0, 8, 1, 1, 8, 8,
    22, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13, 14, 14, 15, 15, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 1, 30, 2, 0, 32, 4, 35,
    1, 8, 32, 2, 2, 0, 16, 1, 8, 32, 12, 2, 105, 102, 2, 0, 1, 1, 2, 3, 2, 1, 0, 2, 1, 128, 128,
    4, 0, 128, 32, 0,
];

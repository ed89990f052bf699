//! Every canonical-ABI value type, both ways, typed and dynamic: each test
//! sends a value through the relay component (see `component_gen.rs`), which
//! lowers it into the component, lifts it back out to a host import, lowers
//! the import's result back in and lifts `run`'s result out; in each of the
//! three string encodings (the relay's core code forwards pointers untouched,
//! so both of its sides use the same one; transcoding between two components
//! is tested in `component.rs`). Plus traps for invalid values out of wasm.

use super::component_gen::{relay_component, same, Ty, ENCODINGS};
use tern::component::{
    Component, ComponentNamedList, ComponentTrap, ComponentTrapKind, Lift, Linker, Lower, Val,
};
use tern::{Config, Engine, Store};

pub(crate) fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    Engine::new(&config).expect("component engine")
}

/// Sends `v` through the relay for `ty` with dynamic calls on both sides and
/// returns what came back; also records what the host import saw.
pub(crate) fn relay_dynamic(
    engine: &Engine,
    ty: &Ty,
    v: &Val,
    lower_enc: &str,
    lift_enc: &str,
) -> anyhow::Result<(Val, Val)> {
    let component = Component::new(engine, relay_component(ty, lower_enc, lift_enc))?;
    let mut store = Store::new(engine, None::<Val>);
    let mut linker = Linker::new(engine);
    linker.root().func_new("h", |mut cx, params, results| {
        *cx.data_mut() = Some(params[0].clone());
        results[0] = params[0].clone();
        Ok(())
    })?;
    let instance = linker.instantiate(&mut store, &component)?;
    let run = instance.get_func(&mut store, "run").expect("run export");
    let mut out = [Val::Bool(false)];
    run.call(&mut store, std::slice::from_ref(v), &mut out)?;
    run.post_return(&mut store)?;
    let seen = store.data().clone().expect("the host import ran");
    let [out] = out;
    Ok((out, seen))
}

/// Sends `v` through the relay for `ty` with typed calls on both sides.
fn relay_typed<T>(ty: &Ty, v: T, lower_enc: &str, lift_enc: &str) -> anyhow::Result<T>
where
    T: Lift + Lower + Clone + Send + Sync + 'static,
    (T,): ComponentNamedList + Lift + Lower,
{
    let engine = engine();
    let component = Component::new(&engine, relay_component(ty, lower_enc, lift_enc))?;
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .root()
        .func_wrap("h", |mut cx: tern::StoreContextMut<'_, u32>, (x,): (T,)| {
            *cx.data_mut() += 1;
            Ok((x,))
        })?;
    let instance = linker.instantiate(&mut store, &component)?;
    let run = instance.get_typed_func::<(T,), (T,)>(&mut store, "run")?;
    let (out,) = run.call(&mut store, (v,))?;
    run.post_return(&mut store)?;
    assert_eq!(*store.data(), 1, "the host import ran once");
    Ok(out)
}

fn check_dynamic(ty: Ty, values: &[Val]) {
    let engine = engine();
    for enc in ENCODINGS {
        for v in values {
            let (out, seen) = relay_dynamic(&engine, &ty, v, enc, enc)
                .unwrap_or_else(|e| panic!("{ty:?} {v} ({enc}): {e:?}"));
            assert!(same(&out, v), "{ty:?} ({enc}): sent {v}, got {out}");
            assert!(
                same(&seen, v),
                "{ty:?} ({enc}): sent {v}, the import saw {seen}"
            );
        }
    }
}

fn check_typed<T>(ty: Ty, values: &[T])
where
    T: Lift + Lower + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static,
    (T,): ComponentNamedList + Lift + Lower,
{
    for enc in ENCODINGS {
        for v in values {
            let out = relay_typed(&ty, v.clone(), enc, enc)
                .unwrap_or_else(|e| panic!("{ty:?} {v:?} ({enc}): {e:?}"));
            assert_eq!(&out, v, "{ty:?} ({enc})");
        }
    }
}

#[test]
fn integers_and_bool() {
    check_dynamic(Ty::Bool, &[Val::Bool(true), Val::Bool(false)]);
    check_dynamic(Ty::S8, &[Val::S8(-128), Val::S8(127), Val::S8(-1)]);
    check_dynamic(Ty::U8, &[Val::U8(0), Val::U8(255)]);
    check_dynamic(Ty::S16, &[Val::S16(i16::MIN), Val::S16(-2)]);
    check_dynamic(Ty::U16, &[Val::U16(u16::MAX)]);
    check_dynamic(Ty::S32, &[Val::S32(i32::MIN), Val::S32(-7)]);
    check_dynamic(Ty::U32, &[Val::U32(u32::MAX)]);
    check_dynamic(Ty::S64, &[Val::S64(i64::MIN), Val::S64(-1)]);
    check_dynamic(Ty::U64, &[Val::U64(u64::MAX)]);
    check_typed(Ty::Bool, &[true, false]);
    check_typed(Ty::S8, &[i8::MIN, -1, i8::MAX]);
    check_typed(Ty::U8, &[0u8, 255]);
    check_typed(Ty::S16, &[i16::MIN, -3]);
    check_typed(Ty::U16, &[u16::MAX]);
    check_typed(Ty::S32, &[i32::MIN, -5]);
    check_typed(Ty::U32, &[u32::MAX]);
    check_typed(Ty::S64, &[i64::MIN]);
    check_typed(Ty::U64, &[u64::MAX]);
}

#[test]
fn floats_and_chars() {
    check_dynamic(
        Ty::F32,
        &[
            Val::Float32(1.5),
            Val::Float32(-0.0),
            Val::Float32(f32::NAN),
            Val::Float32(f32::INFINITY),
        ],
    );
    check_dynamic(
        Ty::F64,
        &[Val::Float64(-2.25), Val::Float64(f64::MIN_POSITIVE)],
    );
    check_dynamic(
        Ty::Char,
        &[
            Val::Char('a'),
            Val::Char('\u{d7ff}'),
            Val::Char('\u{e000}'),
            Val::Char('🍰'),
        ],
    );
    check_typed(Ty::F32, &[3.25f32, -1e30]);
    check_typed(Ty::F64, &[std::f64::consts::PI]);
    check_typed(Ty::Char, &['x', '☃', '\u{10ffff}']);
}

#[test]
fn strings_in_every_encoding_pair() {
    let samples = [
        "",
        "ascii",
        "latin-1 ÿé",
        "snowman ☃",
        "cake 🍰 and \u{0} nul",
        &"long ".repeat(300),
    ];
    check_dynamic(
        Ty::String,
        &samples
            .iter()
            .map(|s| Val::String(s.to_string()))
            .collect::<Vec<_>>(),
    );
    check_typed(
        Ty::String,
        &samples.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
}

#[test]
fn lists_records_tuples() {
    let list = Ty::List(Box::new(Ty::U32));
    check_dynamic(
        list.clone(),
        &[
            Val::List(vec![]),
            Val::List((0..100).map(Val::U32).collect()),
        ],
    );
    check_typed(list, &[vec![], vec![1u32, 2, 3]]);
    let strings = Ty::List(Box::new(Ty::String));
    check_typed(
        strings,
        &[vec!["a".to_string(), "é☃".to_string(), String::new()]],
    );
    let nested = Ty::List(Box::new(Ty::List(Box::new(Ty::U8))));
    check_typed(nested, &[vec![vec![1u8, 2], vec![], vec![255]]]);
    let record = Ty::Record(vec![
        ("a".into(), Ty::U8),
        ("b".into(), Ty::String),
        ("c".into(), Ty::F64),
    ]);
    check_dynamic(
        record,
        &[Val::Record(vec![
            ("a".into(), Val::U8(7)),
            ("b".into(), Val::String("hi".into())),
            ("c".into(), Val::Float64(0.5)),
        ])],
    );
    let tuple = Ty::Tuple(vec![Ty::U8, Ty::S64, Ty::String]);
    check_dynamic(
        tuple.clone(),
        &[Val::Tuple(vec![
            Val::U8(1),
            Val::S64(-9),
            Val::String("t".into()),
        ])],
    );
    check_typed(tuple, &[(1u8, -9i64, "t".to_string())]);
}

#[test]
fn variants_enums_options_results() {
    let variant = Ty::Variant(vec![
        ("a".into(), Some(Ty::F32)),
        ("b".into(), Some(Ty::U64)),
        ("c".into(), None),
    ]);
    check_dynamic(
        variant,
        &[
            Val::Variant("a".into(), Some(Box::new(Val::Float32(2.5)))),
            Val::Variant("b".into(), Some(Box::new(Val::U64(u64::MAX)))),
            Val::Variant("c".into(), None),
        ],
    );
    check_dynamic(
        Ty::Enum(vec!["x".into(), "y".into(), "z".into()]),
        &[Val::Enum("z".into()), Val::Enum("x".into())],
    );
    let option = Ty::Option(Box::new(Ty::String));
    check_dynamic(
        option.clone(),
        &[
            Val::Option(None),
            Val::Option(Some(Box::new(Val::String("s".into())))),
        ],
    );
    check_typed(option, &[None, Some("s".to_string())]);
    let result = Ty::Result(Some(Box::new(Ty::String)), Some(Box::new(Ty::U32)));
    check_dynamic(
        result.clone(),
        &[
            Val::Result(Ok(Some(Box::new(Val::String("ok".into()))))),
            Val::Result(Err(Some(Box::new(Val::U32(404))))),
        ],
    );
    check_typed(result, &[Ok("fine".to_string()), Err(404u32)]);
    let bare = Ty::Result(None, None);
    check_dynamic(
        bare.clone(),
        &[Val::Result(Ok(None)), Val::Result(Err(None))],
    );
    check_typed(bare, &[Ok::<(), ()>(()), Err(())]);
    let ok_only = Ty::Result(Some(Box::new(Ty::U8)), None);
    check_typed(ok_only, &[Ok::<u8, ()>(3), Err(())]);
}

#[test]
fn flags_up_to_and_past_32() {
    for n in [1usize, 8, 9, 16, 17, 32, 33, 64, 70] {
        let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
        let set: Vec<String> = names.iter().step_by(3).cloned().collect();
        let ty = Ty::Flags(names.clone());
        if n > 32 {
            // The current component model caps flags at 32: such a type is refused at validation.
            let err = Component::new(&engine(), relay_component(&ty, ENCODINGS[0], ENCODINGS[0]))
                .unwrap_err();
            assert!(format!("{err:#}").contains("flags"), "{err:#}");
            continue;
        }
        check_dynamic(
            ty,
            &[Val::Flags(vec![]), Val::Flags(set), Val::Flags(names)],
        );
    }
}

#[test]
fn more_than_16_flat_params_and_spilled_results() {
    let wide = Ty::Tuple(vec![Ty::U32; 20]);
    let v = Val::Tuple((0..20).map(Val::U32).collect());
    check_dynamic(wide, &[v]);
    let mixed = Ty::Record(
        (0..17)
            .map(|i| {
                (
                    format!("f{i}"),
                    if i % 2 == 0 { Ty::U8 } else { Ty::String },
                )
            })
            .collect(),
    );
    let v = Val::Record(
        (0..17)
            .map(|i| {
                (
                    format!("f{i}"),
                    if i % 2 == 0 {
                        Val::U8(i as u8)
                    } else {
                        Val::String(format!("s{i}"))
                    },
                )
            })
            .collect(),
    );
    check_dynamic(mixed, &[v]);
}

#[test]
fn a_mismatched_val_names_the_path() {
    let engine = engine();
    let ty = Ty::Record(vec![(
        "xs".into(),
        Ty::List(Box::new(Ty::Record(vec![("p".into(), Ty::U32)]))),
    )]);
    let bad = Val::Record(vec![(
        "xs".into(),
        Val::List(vec![
            Val::Record(vec![("p".into(), Val::U32(1))]),
            Val::Record(vec![("p".into(), Val::String("no".into()))]),
        ]),
    )]);
    let err = relay_dynamic(&engine, &ty, &bad, ENCODINGS[0], ENCODINGS[0]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("params[0].xs[1].p") && msg.contains("expected u32, found string"),
        "{msg}"
    );
}

/// A component whose export `f: func() -> T` is lifted from core code that
/// returns `ret` (core text for the returned values), with `data` at 0.
fn returning(result: &str, core_result: &str, ret: &str, data: &str, enc: &str) -> String {
    format!(
        r#"(component
  (core module $M
    (memory (export "mem") 1)
    (data (i32.const 0) "{data}")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    (func (export "f") (result {core_result}) {ret}))
  (core instance $m (instantiate $M))
  (func (export "f") (result {result})
    (canon lift (core func $m "f") (memory (core memory $m "mem")) (realloc (core func $m "realloc")) {enc}))
)"#
    )
}

fn call_f(wat: &str) -> anyhow::Result<Val> {
    let engine = engine();
    let component = Component::new(&engine, wat)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &component)?;
    let f = instance.get_func(&mut store, "f").expect("f");
    let mut out = [Val::Bool(false)];
    f.call(&mut store, &[], &mut out)?;
    let [out] = out;
    Ok(out)
}

fn trap_kind(e: &anyhow::Error) -> ComponentTrapKind {
    e.downcast_ref::<ComponentTrap>()
        .unwrap_or_else(|| panic!("expected a component trap, got {e:?}"))
        .kind()
}

#[test]
fn invalid_values_out_of_wasm_trap() {
    // String pointer/length at 8: "\ff" is not UTF-8.
    let wat = returning(
        "string",
        "i32",
        "(i32.const 0)",
        "\\08\\00\\00\\00\\01\\00\\00\\00\\ff",
        ENCODINGS[0],
    );
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::InvalidString
    );
    // UTF-16 with an unpaired surrogate.
    let wat = returning(
        "string",
        "i32",
        "(i32.const 0)",
        "\\08\\00\\00\\00\\01\\00\\00\\00\\00\\d8",
        ENCODINGS[1],
    );
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::InvalidString
    );
    // UTF-16 at an odd address.
    let wat = returning(
        "string",
        "i32",
        "(i32.const 0)",
        "\\09\\00\\00\\00\\01\\00\\00\\00\\00\\61\\00",
        ENCODINGS[1],
    );
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::UnalignedPointer
    );
    // Length past the end of memory.
    let wat = returning(
        "string",
        "i32",
        "(i32.const 0)",
        "\\00\\00\\01\\00\\10\\00\\00\\00",
        ENCODINGS[0],
    );
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::OutOfBounds
    );
    // Misaligned and out-of-bounds return pointers.
    let wat = returning("string", "i32", "(i32.const 2)", "", ENCODINGS[0]);
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::UnalignedPointer
    );
    let wat = returning("string", "i32", "(i32.const 65532)", "", ENCODINGS[0]);
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::OutOfBounds
    );
    // A list of u32 at a misaligned address.
    let wat = returning(
        "(list u32)",
        "i32",
        "(i32.const 0)",
        "\\09\\00\\00\\00\\01\\00\\00\\00",
        ENCODINGS[0],
    );
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::UnalignedPointer
    );
    // Discriminants and chars.
    let wat = returning("(option u32)", "i32", "(i32.const 0)", "\\02", ENCODINGS[0]);
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::InvalidDiscriminant
    );
    let wat = returning("char", "i32", "(i32.const 0xd800)", "", ENCODINGS[0]);
    assert_eq!(
        trap_kind(&call_f(&wat).unwrap_err()),
        ComponentTrapKind::InvalidChar
    );
    // Bool and flags bits beyond the defined ones are normalized, as the ABI says.
    let wat = returning("bool", "i32", "(i32.const 7)", "", ENCODINGS[0]);
    assert_eq!(call_f(&wat).unwrap(), Val::Bool(true));
}

#[test]
fn bad_realloc_results_trap_before_any_write() {
    let engine = engine();
    for (ret, kind) in [
        ("(i32.const 3)", ComponentTrapKind::ReallocUnaligned),
        ("(i32.const 65532)", ComponentTrapKind::ReallocOutOfBounds),
    ] {
        let wat = format!(
            r#"(component
  (core module $M
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) {ret})
    (func (export "f") (param i32 i32)))
  (core instance $m (instantiate $M))
  (func (export "f") (param "x" (list u32))
    (canon lift (core func $m "f") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
)"#
        );
        let component = Component::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &component)
            .unwrap();
        let f = instance.get_func(&mut store, "f").unwrap();
        let err = f
            .call(
                &mut store,
                &[Val::List(vec![Val::U32(1), Val::U32(2)])],
                &mut [],
            )
            .unwrap_err();
        assert_eq!(trap_kind(&err), kind);
    }
}

/// A declared length that cannot fit in memory traps before the host
/// allocates anything for the value (the check is against the memory's
/// size; a 2 GiB or 32 GiB length on a one-page memory is refused at once),
/// through dynamic and typed calls, in every encoding.
#[test]
fn huge_declared_lengths_trap_before_any_host_allocation() {
    let engine = engine();
    // (result type, encoding, the length stored after pointer 16, message)
    let cases = [
        (
            "string",
            ENCODINGS[0],
            "\\ff\\ff\\ff\\7f",
            "string pointer/length out of bounds of memory",
        ),
        (
            "string",
            ENCODINGS[1],
            "\\ff\\ff\\ff\\7f",
            "string pointer/length out of bounds of memory",
        ),
        (
            "string",
            ENCODINGS[2],
            "\\ff\\ff\\ff\\ff",
            "string pointer/length out of bounds of memory",
        ),
        (
            "string",
            ENCODINGS[2],
            "\\ff\\ff\\ff\\7f",
            "string pointer/length out of bounds of memory",
        ),
        (
            "(list u64)",
            ENCODINGS[0],
            "\\ff\\ff\\ff\\ff",
            "list pointer/length out of bounds of memory",
        ),
        (
            "(list string)",
            ENCODINGS[0],
            "\\00\\00\\00\\20",
            "list pointer/length out of bounds of memory",
        ),
    ];
    for (ty, enc, len, msg) in cases {
        let data = format!("\\10\\00\\00\\00{len}");
        let wat = returning(ty, "i32", "(i32.const 0)", &data, enc);
        let err = call_f(&wat).unwrap_err();
        assert_eq!(
            trap_kind(&err),
            ComponentTrapKind::OutOfBounds,
            "{ty} {enc}"
        );
        let trap = err.downcast_ref::<ComponentTrap>().expect("a trap");
        assert_eq!(trap.message(), msg, "{ty} {enc}");
        let component = Component::new(&engine, &wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &component)
            .unwrap();
        let err = if ty == "string" {
            let f = instance
                .get_typed_func::<(), (String,)>(&mut store, "f")
                .unwrap();
            f.call(&mut store, ()).map(drop).unwrap_err()
        } else if ty == "(list u64)" {
            let f = instance
                .get_typed_func::<(), (Vec<u64>,)>(&mut store, "f")
                .unwrap();
            f.call(&mut store, ()).map(drop).unwrap_err()
        } else {
            let f = instance
                .get_typed_func::<(), (Vec<String>,)>(&mut store, "f")
                .unwrap();
            f.call(&mut store, ()).map(drop).unwrap_err()
        };
        assert_eq!(
            err.downcast_ref::<ComponentTrap>().map(|t| t.message()),
            Some(msg),
            "typed {ty} {enc}: {err:?}"
        );
    }
}

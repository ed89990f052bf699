//! `#[derive(ComponentType, Lift, Lower)]` and `flags!`: derived types go
//! through the relay component typed on both sides, and a derived type that
//! does not match the component's type is refused with both names.

use super::component_abi::engine;
use super::component_gen::{relay_component, Ty, ENCODINGS};
use tern::component::{flags, Component, ComponentType, Lift, Linker, Lower};
use tern::Store;

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(record)]
struct Point {
    x: i32,
    #[component(name = "y")]
    why: f64,
    label: String,
}

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(variant)]
enum Shape {
    #[component(name = "circle")]
    Circle(f32),
    #[component(name = "poly")]
    Poly(Vec<Point>),
    #[component(name = "nothing")]
    Empty,
}

#[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq)]
#[component(enum)]
enum Color {
    #[component(name = "red")]
    Red,
    #[component(name = "dark-green")]
    DarkGreen,
}

flags! {
    Perms {
        #[component(name = "read")]
        const READ;
        #[component(name = "write")]
        const WRITE;
        #[component(name = "exec")]
        const EXECUTE;
    }
}

fn point_ty() -> Ty {
    Ty::Record(vec![
        ("x".into(), Ty::S32),
        ("y".into(), Ty::F64),
        ("label".into(), Ty::String),
    ])
}

fn round_trip<T>(ty: &Ty, v: T) -> T
where
    T: ComponentType + Lift + Lower + Clone + Send + Sync + 'static,
{
    let engine = engine();
    let component =
        Component::new(&engine, relay_component(ty, ENCODINGS[0], ENCODINGS[0])).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .root()
        .func_wrap("h", |_, (x,): (T,)| Ok((x,)))
        .unwrap();
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance
        .get_typed_func::<(T,), (T,)>(&mut store, "run")
        .unwrap();
    run.call(&mut store, (v,)).unwrap().0
}

#[test]
fn derived_records_variants_enums() {
    let p = Point {
        x: -3,
        why: 2.5,
        label: "p☃".into(),
    };
    assert_eq!(round_trip(&point_ty(), p.clone()), p);
    let shape = Ty::Variant(vec![
        ("circle".into(), Some(Ty::F32)),
        ("poly".into(), Some(Ty::List(Box::new(point_ty())))),
        ("nothing".into(), None),
    ]);
    for s in [
        Shape::Circle(1.5),
        Shape::Poly(vec![p.clone(), p.clone()]),
        Shape::Empty,
    ] {
        assert_eq!(round_trip(&shape, s.clone()), s);
    }
    let color = Ty::Enum(vec!["red".into(), "dark-green".into()]);
    assert_eq!(round_trip(&color, Color::DarkGreen), Color::DarkGreen);
    assert_eq!(
        round_trip(
            &Ty::List(Box::new(color)),
            vec![Color::Red, Color::DarkGreen]
        ),
        vec![Color::Red, Color::DarkGreen]
    );
}

#[test]
fn flags_macro() {
    let ty = Ty::Flags(vec!["read".into(), "write".into(), "exec".into()]);
    let v = Perms::READ | Perms::EXECUTE;
    assert_eq!(round_trip(&ty, v), v);
    assert!(v.contains(Perms::READ) && !v.contains(Perms::WRITE));
    assert_eq!(!v, Perms::WRITE);
    assert_eq!(format!("{v:?}"), "Perms(read | exec)");
    assert_eq!(round_trip(&ty, Perms::empty()), Perms::empty());
}

#[test]
fn a_mismatched_derived_type_is_refused() {
    let engine = engine();
    let other = Ty::Record(vec![
        ("x".into(), Ty::S32),
        ("z".into(), Ty::F64),
        ("label".into(), Ty::String),
    ]);
    let component =
        Component::new(&engine, relay_component(&other, ENCODINGS[0], ENCODINGS[0])).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .root()
        .func_wrap("h", |_, (x,): (Point,)| Ok((x,)))
        .unwrap();
    let msg = format!(
        "{:#}",
        linker.instantiate(&mut store, &component).unwrap_err()
    );
    assert!(
        msg.contains("expected record field `y`, component has `z`"),
        "{msg}"
    );
    assert!(
        msg.contains("record { x: s32, z: f64, label: string }")
            && msg.contains("record { x: s32, y: f64, label: string }"),
        "{msg}"
    );
}

/// wasmtime's naming rule: without `name = …` the Rust name is the WIT name as written.
#[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq)]
#[component(enum)]
enum Unrenamed {
    A,
    B,
}

#[test]
fn unrenamed_names_are_used_as_written() {
    let ty = Ty::Enum(vec!["A".into(), "B".into()]);
    assert_eq!(round_trip(&ty, Unrenamed::B), Unrenamed::B);
    // Kebab-cased WIT names do not match unrenamed Rust names.
    let engine = engine();
    let kebab = Ty::Enum(vec!["a".into(), "b".into()]);
    let component =
        Component::new(&engine, relay_component(&kebab, ENCODINGS[0], ENCODINGS[0])).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .root()
        .func_wrap("h", |_, (x,): (Unrenamed,)| Ok((x,)))
        .unwrap();
    assert!(linker.instantiate(&mut store, &component).is_err());
}

/// The runtime crate reached through another path, as a crate that
/// re-exports Tern would name it.
pub(crate) mod reexported {
    pub use tern::component;
}

/// `#[component(wasmtime_crate = path)]` (wasmtime's attribute): the derived
/// code names the runtime through `path` instead of the dependency's name.
#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(record)]
#[component(wasmtime_crate = crate::component_derive::reexported)]
struct Located {
    x: i32,
}

#[test]
fn derive_with_wasmtime_crate_path() {
    let ty = Ty::Record(vec![("x".into(), Ty::S32)]);
    assert_eq!(round_trip(&ty, Located { x: 9 }), Located { x: 9 });
}

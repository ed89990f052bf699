//! `bindgen!` with every WIT type both ways: the world `types` imports and
//! exports the interface `tests:types/roundtrip`; the guest re-exports each
//! imported function, so a host call of an export lowers its arguments,
//! the guest hands them to the host's implementation (lifted there), and
//! the result comes back the same way. The host implementations change
//! every value, so a result that merely echoed the arguments would fail.
//! Also: a world-level import and export, and `trappable_error_type`.
//! The guest is the Rust crate `tests/bindgen-guests/types`.

use crate::bindgen_guest::rust_guest;
use tern::component::Linker;
use tern::Store;

mod bindings {
    tern::component::bindgen!({
        world: "types",
        path: "tests/all/bindgen/types.wit",
        trappable_error_type: { "tests:types/roundtrip/error-code" => super::CheckError },
        additional_derives: [PartialEq],
    });
}

use bindings::tests::types::roundtrip::{self, Color, ErrorCode, Perms, Point, Shape};

/// The Rust error of `checked`, converted to the WIT `error-code` (or a trap).
#[derive(Debug)]
pub enum CheckError {
    /// Becomes `error-code.too-big`.
    TooBig,
    /// Becomes a trap.
    Fatal,
}

#[derive(Default)]
struct Host {
    logged: Vec<String>,
    nothing_calls: u32,
}

impl roundtrip::Host for Host {
    fn prims(
        &mut self,
        a: bool,
        b: u8,
        c: i8,
        d: u16,
        e: i16,
        f: u32,
        g: i32,
        h: u64,
        i: i64,
        j: f32,
        k: f64,
        l: char,
    ) -> tern::Result<(bool, u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, char)> {
        Ok((
            !a,
            b + 1,
            c - 1,
            d * 2,
            -e,
            f ^ 1,
            g + 1,
            h * 3,
            i - 7,
            j * 2.0,
            k / 2.0,
            char::from_u32(l as u32 + 1).unwrap(),
        ))
    }
    fn echo_string(&mut self, s: String) -> tern::Result<String> {
        Ok(format!("{}!", s.to_uppercase()))
    }
    fn echo_list(&mut self, l: Vec<u32>) -> tern::Result<Vec<u32>> {
        Ok(l.iter().rev().map(|x| x + 1).collect())
    }
    fn echo_point(&mut self, p: Point) -> tern::Result<Point> {
        Ok(Point {
            x: p.y,
            y: p.x,
            label: format!("<{}>", p.label),
        })
    }
    fn echo_shape(&mut self, s: Shape) -> tern::Result<Shape> {
        Ok(match s {
            Shape::Circle(r) => Shape::Circle(r * 2.0),
            Shape::Rect(p) => Shape::Rect(Point { x: p.x + 1, ..p }),
            Shape::Empty => Shape::Circle(1.5),
        })
    }
    fn echo_color(&mut self, c: Color) -> tern::Result<Color> {
        Ok(match c {
            Color::Red => Color::Green,
            Color::Green => Color::Blue,
            Color::Blue => Color::Red,
        })
    }
    fn echo_perms(&mut self, p: Perms) -> tern::Result<Perms> {
        Ok(!p)
    }
    fn echo_option(&mut self, o: Option<String>) -> tern::Result<Option<String>> {
        Ok(match o {
            Some(s) => Some(s.repeat(2)),
            None => Some("none".to_string()),
        })
    }
    fn echo_result(&mut self, r: Result<u32, String>) -> tern::Result<Result<u32, String>> {
        Ok(match r {
            Ok(v) => Err(format!("was {v}")),
            Err(e) => Ok(e.len() as u32),
        })
    }
    fn echo_tuple(&mut self, t: (u8, String)) -> tern::Result<(u8, String)> {
        Ok((t.0.wrapping_mul(3), t.1.chars().rev().collect()))
    }
    fn echo_id(&mut self, i: u64) -> tern::Result<u64> {
        Ok(i.rotate_left(8))
    }
    fn echo_nested(&mut self, l: Vec<Point>) -> tern::Result<Vec<Option<Shape>>> {
        Ok(l.into_iter()
            .map(|p| if p.x < 0 { None } else { Some(Shape::Rect(p)) })
            .collect())
    }
    fn checked(&mut self, x: u32) -> Result<u32, CheckError> {
        match x {
            0..=99 => Ok(x * 10),
            100..=999 => Err(CheckError::TooBig),
            _ => Err(CheckError::Fatal),
        }
    }
    fn nothing(&mut self) -> tern::Result<()> {
        self.nothing_calls += 1;
        Ok(())
    }
    fn convert_error_code(&mut self, err: CheckError) -> tern::Result<ErrorCode> {
        match err {
            CheckError::TooBig => Ok(ErrorCode::TooBig),
            CheckError::Fatal => Err(tern::Error::msg("fatal check error")),
        }
    }
}

impl bindings::TypesImports for Host {
    fn log(&mut self, msg: String) -> tern::Result<()> {
        self.logged.push(msg);
        Ok(())
    }
}

fn setup() -> (Store<Host>, bindings::Types) {
    let engine = crate::bindgen_guest::engine();
    let component = rust_guest(&engine, "types");
    let mut linker = Linker::new(&engine);
    bindings::Types::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let (world, _) = bindings::Types::instantiate(&mut store, &component, &linker).unwrap();
    (store, world)
}

#[test]
fn bindgen_every_type_both_ways() {
    let (mut store, world) = setup();
    let g = world.tests_types_roundtrip();
    assert_eq!(
        g.call_prims(
            &mut store,
            true,
            1,
            -1,
            300,
            5,
            0xf0,
            -9,
            1 << 40,
            -1,
            1.5,
            0.5,
            'a'
        )
        .unwrap(),
        (false, 2, -2, 600, -5, 0xf1, -8, 3 << 40, -8, 3.0, 0.25, 'b')
    );
    assert_eq!(g.call_echo_string(&mut store, "héllo").unwrap(), "HÉLLO!");
    assert_eq!(
        g.call_echo_list(&mut store, &[1, 2, 3]).unwrap(),
        vec![4, 3, 2]
    );
    let p = Point {
        x: 1,
        y: -2,
        label: "p".into(),
    };
    assert_eq!(
        g.call_echo_point(&mut store, &p).unwrap(),
        Point {
            x: -2,
            y: 1,
            label: "<p>".into()
        }
    );
    assert_eq!(
        g.call_echo_shape(&mut store, &Shape::Circle(2.0)).unwrap(),
        Shape::Circle(4.0)
    );
    assert_eq!(
        g.call_echo_shape(&mut store, &Shape::Rect(p.clone()))
            .unwrap(),
        Shape::Rect(Point { x: 2, ..p.clone() })
    );
    assert_eq!(
        g.call_echo_shape(&mut store, &Shape::Empty).unwrap(),
        Shape::Circle(1.5)
    );
    assert_eq!(
        g.call_echo_color(&mut store, Color::Blue).unwrap(),
        Color::Red
    );
    assert_eq!(
        g.call_echo_perms(&mut store, Perms::READ | Perms::EXEC)
            .unwrap(),
        Perms::WRITE
    );
    assert_eq!(
        g.call_echo_option(&mut store, Some("ab")).unwrap(),
        Some("abab".into())
    );
    assert_eq!(
        g.call_echo_option(&mut store, None).unwrap(),
        Some("none".into())
    );
    assert_eq!(
        g.call_echo_result(&mut store, Ok(7)).unwrap(),
        Err("was 7".into())
    );
    assert_eq!(g.call_echo_result(&mut store, Err("four")).unwrap(), Ok(4));
    assert_eq!(
        g.call_echo_tuple(&mut store, (5, "abc")).unwrap(),
        (15, "cba".into())
    );
    assert_eq!(g.call_echo_id(&mut store, 0x0102).unwrap(), 0x010200);
    let q = Point {
        x: -1,
        y: 0,
        label: "neg".into(),
    };
    assert_eq!(
        g.call_echo_nested(&mut store, &[p.clone(), q]).unwrap(),
        vec![Some(Shape::Rect(p)), None]
    );
    g.call_nothing(&mut store).unwrap();
    assert_eq!(store.data().nothing_calls, 1);
}

#[test]
fn bindgen_trappable_error_type() {
    let (mut store, world) = setup();
    let g = world.tests_types_roundtrip();
    assert_eq!(g.call_checked(&mut store, 5).unwrap(), Ok(50));
    assert_eq!(
        g.call_checked(&mut store, 500).unwrap(),
        Err(ErrorCode::TooBig)
    );
    let err = g.call_checked(&mut store, 5000).unwrap_err();
    assert!(format!("{err:?}").contains("fatal check error"), "{err:?}");
}

#[test]
fn bindgen_world_level_functions() {
    let (mut store, world) = setup();
    assert_eq!(world.call_run(&mut store, 3).unwrap(), "RUN!");
    assert_eq!(store.data().logged, vec!["guest says hi".to_string()]);
}

#[test]
fn bindgen_instantiate_pre_and_new() {
    let engine = crate::bindgen_guest::engine();
    let component = rust_guest(&engine, "types");
    let mut linker = Linker::new(&engine);
    bindings::Types::add_to_linker(&mut linker, |h: &mut Host| h).unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let (world, instance) = bindings::Types::instantiate_pre(&mut store, &pre).unwrap();
    let again = bindings::Types::new(&mut store, &instance).unwrap();
    assert_eq!(world.call_run(&mut store, 0).unwrap(), "RUN!");
    assert_eq!(again.call_run(&mut store, 0).unwrap(), "RUN!");
    // A component of another world is rejected by `new`, naming the export.
    let empty = tern::component::Component::new(&engine, "(component)").unwrap();
    let instance = Linker::<Host>::new(&engine)
        .instantiate(&mut store, &empty)
        .unwrap();
    let err = bindings::Types::new(&mut store, &instance).unwrap_err();
    assert!(format!("{err:#}").contains("run"), "{err:#}");
}

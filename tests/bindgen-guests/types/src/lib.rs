//! Guest of the world `types` (`crates/tern/tests/all/bindgen/types.wit`):
//! every export of `tests:types/roundtrip` calls the host's import of the
//! same name with the same arguments and returns its result, so each value
//! crosses the component boundary in both directions; `run` logs through
//! the world-level import and returns the host's `echo-string("run")`.

wit_bindgen::generate!({
    world: "types",
    path: "../../../crates/tern/tests/all/bindgen/types.wit",
});

use exports::tests::types::roundtrip::{Color, ErrorCode, Guest as Roundtrip, Perms, Point, Shape};
use tests::types::roundtrip as host;

struct Types;

impl Roundtrip for Types {
    fn prims(
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
    ) -> (bool, u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, char) {
        host::prims(a, b, c, d, e, f, g, h, i, j, k, l)
    }
    fn echo_string(s: String) -> String {
        host::echo_string(&s)
    }
    fn echo_list(l: Vec<u32>) -> Vec<u32> {
        host::echo_list(&l)
    }
    fn echo_point(p: Point) -> Point {
        to_export_point(host::echo_point(&to_host_point(p)))
    }
    fn echo_shape(s: Shape) -> Shape {
        to_export_shape(host::echo_shape(&to_host_shape(s)))
    }
    fn echo_color(c: Color) -> Color {
        let c = match c {
            Color::Red => host::Color::Red,
            Color::Green => host::Color::Green,
            Color::Blue => host::Color::Blue,
        };
        match host::echo_color(c) {
            host::Color::Red => Color::Red,
            host::Color::Green => Color::Green,
            host::Color::Blue => Color::Blue,
        }
    }
    fn echo_perms(p: Perms) -> Perms {
        Perms::from_bits_retain(host::echo_perms(host::Perms::from_bits_retain(p.bits())).bits())
    }
    fn echo_option(o: Option<String>) -> Option<String> {
        host::echo_option(o.as_deref())
    }
    fn echo_result(r: Result<u32, String>) -> Result<u32, String> {
        host::echo_result(r.as_ref().map(|v| *v).map_err(String::as_str))
    }
    fn echo_tuple(t: (u8, String)) -> (u8, String) {
        host::echo_tuple((t.0, &t.1))
    }
    fn echo_id(i: u64) -> u64 {
        host::echo_id(i)
    }
    fn echo_nested(l: Vec<Point>) -> Vec<Option<Shape>> {
        let l: Vec<host::Point> = l.into_iter().map(to_host_point).collect();
        host::echo_nested(&l)
            .into_iter()
            .map(|s| s.map(to_export_shape))
            .collect()
    }
    fn checked(x: u32) -> Result<u32, ErrorCode> {
        host::checked(x).map_err(|e| match e {
            host::ErrorCode::TooBig => ErrorCode::TooBig,
            host::ErrorCode::Unlucky => ErrorCode::Unlucky,
        })
    }
    fn nothing() {
        host::nothing()
    }
}

impl Guest for Types {
    fn run(_n: u32) -> String {
        log("guest says hi");
        host::echo_string("run")
    }
}

fn to_host_point(p: Point) -> host::Point {
    host::Point {
        x: p.x,
        y: p.y,
        label: p.label,
    }
}

fn to_export_point(p: host::Point) -> Point {
    Point {
        x: p.x,
        y: p.y,
        label: p.label,
    }
}

fn to_host_shape(s: Shape) -> host::Shape {
    match s {
        Shape::Circle(r) => host::Shape::Circle(r),
        Shape::Rect(p) => host::Shape::Rect(to_host_point(p)),
        Shape::Empty => host::Shape::Empty,
    }
}

fn to_export_shape(s: host::Shape) -> Shape {
    match s {
        host::Shape::Circle(r) => Shape::Circle(r),
        host::Shape::Rect(p) => Shape::Rect(to_export_point(p)),
        host::Shape::Empty => Shape::Empty,
    }
}

export!(Types);

//! `Config::cranelift_nan_canonicalization`: every float operator that can
//! compute a NaN returns the canonical NaN with the knob on, operators defined
//! on bits still pass NaN payloads through, and artifacts record the knob;
//! and `Config::relaxed_simd_deterministic`, the other determinism knob.
//!
//! Each case gives the exact bits with the knob off — what x86-64 computes,
//! asserted only there, since the spec lets hardware pick any arithmetic NaN
//! (AArch64 returns the canonical NaN for `0/0`, for instance) — and the
//! exact bits with it on, asserted everywhere. Scalars and lanes that are not
//! NaN must come out the same either way.

use tern::*;

/// A quiet f32 NaN with a payload (positive).
const NP32: u32 = 0x7fc1_2345;
/// The same, negative.
const NN32: u32 = 0xffc1_2345;
/// A signaling f32 NaN: any arithmetic would quieten it.
const SNAN32: u32 = 0x7fa0_0001;
/// x86-64's default NaN for an invalid f32 operation (`0/0`): negative, quiet.
const DN32: u32 = 0xffc0_0000;
/// The canonical f32 NaN.
const C32: u32 = 0x7fc0_0000;

const NP64: u64 = 0x7ff9_1234_5678_9abc;
const NN64: u64 = 0xfff9_1234_5678_9abc;
const SNAN64: u64 = 0x7ff4_0000_0000_0001;
const DN64: u64 = 0xfff8_0000_0000_0000;
const C64: u64 = 0x7ff8_0000_0000_0000;

fn f32b(x: f32) -> u32 {
    x.to_bits()
}

fn f64b(x: f64) -> u64 {
    x.to_bits()
}

/// A `v128` of four f32 lanes given as bits, lane 0 first.
fn x4(l: [u32; 4]) -> Val {
    Val::V128(
        l.iter()
            .rev()
            .fold(0u128, |acc, &b| (acc << 32) | u128::from(b)),
    )
}

/// A `v128` of two f64 lanes given as bits, lane 0 first.
fn x2(l: [u64; 2]) -> Val {
    Val::V128((u128::from(l[1]) << 64) | u128::from(l[0]))
}

/// The module under test: one export per operator, named after it.
fn module_text() -> String {
    let mut funcs = String::new();
    let mut add = |name: &str, params: &str, result: &str, body: &str| {
        funcs.push_str(&format!(
            "  (func (export \"{name}\") {params} (result {result}) {body})\n"
        ));
    };
    for (ty, vty) in [("f32", "f32x4"), ("f64", "f64x2")] {
        for op in ["add", "sub", "mul", "div", "min", "max"] {
            add(
                &format!("{ty}.{op}"),
                &format!("(param {ty} {ty})"),
                ty,
                &format!("({ty}.{op} (local.get 0) (local.get 1))"),
            );
            add(
                &format!("{vty}.{op}"),
                "(param v128 v128)",
                "v128",
                &format!("({vty}.{op} (local.get 0) (local.get 1))"),
            );
        }
        for op in ["relaxed_min", "relaxed_max", "pmin", "pmax"] {
            add(
                &format!("{vty}.{op}"),
                "(param v128 v128)",
                "v128",
                &format!("({vty}.{op} (local.get 0) (local.get 1))"),
            );
        }
        for op in ["relaxed_madd", "relaxed_nmadd"] {
            add(
                &format!("{vty}.{op}"),
                "(param v128 v128 v128)",
                "v128",
                &format!("({vty}.{op} (local.get 0) (local.get 1) (local.get 2))"),
            );
        }
        for op in ["sqrt", "ceil", "floor", "trunc", "nearest", "neg", "abs"] {
            add(
                &format!("{ty}.{op}"),
                &format!("(param {ty})"),
                ty,
                &format!("({ty}.{op} (local.get 0))"),
            );
            add(
                &format!("{vty}.{op}"),
                "(param v128)",
                "v128",
                &format!("({vty}.{op} (local.get 0))"),
            );
        }
        add(
            &format!("{ty}.copysign"),
            &format!("(param {ty} {ty})"),
            ty,
            &format!("({ty}.copysign (local.get 0) (local.get 1))"),
        );
        add(
            &format!("{ty}.store_load"),
            &format!("(param {ty})"),
            ty,
            &format!("({ty}.store (i32.const 8) (local.get 0)) ({ty}.load (i32.const 8))"),
        );
        add(
            &format!("{vty}.splat_extract"),
            &format!("(param {ty})"),
            ty,
            &format!("({vty}.extract_lane 1 ({vty}.splat (local.get 0)))"),
        );
    }
    add(
        "f32.demote_f64",
        "(param f64)",
        "f32",
        "(f32.demote_f64 (local.get 0))",
    );
    add(
        "f64.promote_f32",
        "(param f32)",
        "f64",
        "(f64.promote_f32 (local.get 0))",
    );
    add(
        "f32x4.demote_f64x2_zero",
        "(param v128)",
        "v128",
        "(f32x4.demote_f64x2_zero (local.get 0))",
    );
    add(
        "f64x2.promote_low_f32x4",
        "(param v128)",
        "v128",
        "(f64x2.promote_low_f32x4 (local.get 0))",
    );
    add(
        "i32.reinterpret_f32",
        "(param f32)",
        "i32",
        "(i32.reinterpret_f32 (local.get 0))",
    );
    add(
        "f32.reinterpret_i32",
        "(param i32)",
        "f32",
        "(f32.reinterpret_i32 (local.get 0))",
    );
    add(
        "i64.reinterpret_f64",
        "(param f64)",
        "i64",
        "(i64.reinterpret_f64 (local.get 0))",
    );
    add(
        "f64.reinterpret_i64",
        "(param i64)",
        "f64",
        "(f64.reinterpret_i64 (local.get 0))",
    );
    add(
        "v128.store_load",
        "(param v128)",
        "v128",
        "(v128.store (i32.const 16) (local.get 0)) (v128.load (i32.const 16))",
    );
    format!("(module (memory 1)\n{funcs})")
}

/// A value's type and bits, for exact comparison.
fn bits(v: &Val) -> (&'static str, u128) {
    match v {
        Val::I32(x) => ("i32", u128::from(*x as u32)),
        Val::I64(x) => ("i64", u128::from(*x as u64)),
        Val::F32(x) => ("f32", u128::from(*x)),
        Val::F64(x) => ("f64", u128::from(*x)),
        Val::V128(x) => ("v128", *x),
        other => panic!("unexpected result {other:?}"),
    }
}

/// Instances of the module with the knob off and on.
struct Both {
    off: (Store<()>, Instance),
    on: (Store<()>, Instance),
}

impl Both {
    fn new() -> Result<Self> {
        let text = module_text();
        let make = |canon: bool| -> Result<(Store<()>, Instance)> {
            let mut config = Config::new();
            config.cranelift_nan_canonicalization(canon);
            let engine = Engine::new(&config)?;
            let module = Module::new(&engine, &text)?;
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[])?;
            Ok((store, instance))
        };
        Ok(Self {
            off: make(false)?,
            on: make(true)?,
        })
    }

    fn call(which: &mut (Store<()>, Instance), name: &str, args: &[Val]) -> Result<Val> {
        let (store, instance) = which;
        let f = instance
            .get_func(&mut *store, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let mut out = [Val::I32(0)];
        f.call(&mut *store, args, &mut out)?;
        let [v] = out;
        Ok(v)
    }

    /// Checks `name(args)`: `off` is x86-64's result without the knob, `on`
    /// the result with it.
    fn check(&mut self, name: &str, args: &[Val], off: Val, on: Val) -> Result<()> {
        let got_off = Self::call(&mut self.off, name, args)?;
        let got_on = Self::call(&mut self.on, name, args)?;
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                bits(&got_off),
                bits(&off),
                "{name}{args:?} without canonicalisation: got {:#x}, want {:#x}",
                bits(&got_off).1,
                bits(&off).1
            );
        }
        assert_eq!(
            bits(&got_on),
            bits(&on),
            "{name}{args:?} with canonicalisation: got {:#x}, want {:#x}",
            bits(&got_on).1,
            bits(&on).1
        );
        Ok(())
    }

    /// Checks that `name(args)` returns `want` whether or not the knob is on.
    fn same(&mut self, name: &str, args: &[Val], want: Val) -> Result<()> {
        self.check(name, args, want.clone(), want)
    }
}

#[test]
fn scalar_f32_arithmetic_gives_canonical_nans() -> Result<()> {
    let mut t = Both::new()?;
    let (np, one) = (Val::F32(NP32), Val::F32(f32b(1.0)));
    let (inf, ninf) = (
        Val::F32(f32b(f32::INFINITY)),
        Val::F32(f32b(-f32::INFINITY)),
    );
    let zero = Val::F32(0);
    let (c, dn) = (Val::F32(C32), Val::F32(DN32));
    for op in ["add", "sub", "mul", "div", "min", "max"] {
        // x86 keeps the payload of a NaN operand.
        t.check(
            &format!("f32.{op}"),
            &[np.clone(), one.clone()],
            Val::F32(NP32),
            c.clone(),
        )?;
        t.check(
            &format!("f32.{op}"),
            &[one.clone(), np.clone()],
            Val::F32(NP32),
            c.clone(),
        )?;
    }
    // Invalid operations give x86's default NaN, which is negative.
    t.check(
        "f32.add",
        &[inf.clone(), ninf.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check(
        "f32.sub",
        &[inf.clone(), inf.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check(
        "f32.mul",
        &[zero.clone(), inf.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check(
        "f32.div",
        &[zero.clone(), zero.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check("f32.sqrt", &[Val::F32(f32b(-1.0))], dn.clone(), c.clone())?;
    for op in ["sqrt", "ceil", "floor", "trunc", "nearest"] {
        t.check(
            &format!("f32.{op}"),
            &[Val::F32(NN32)],
            Val::F32(NN32),
            c.clone(),
        )?;
    }
    // Ordinary results are untouched.
    t.same(
        "f32.div",
        &[one.clone(), Val::F32(f32b(4.0))],
        Val::F32(f32b(0.25)),
    )?;
    t.same("f32.sqrt", &[Val::F32(f32b(2.25))], Val::F32(f32b(1.5)))?;
    t.same("f32.nearest", &[Val::F32(f32b(-2.5))], Val::F32(f32b(-2.0)))?;
    t.same(
        "f32.min",
        &[zero.clone(), Val::F32(f32b(-0.0))],
        Val::F32(f32b(-0.0)),
    )?;
    t.same("f32.add", &[inf.clone(), one.clone()], inf.clone())?;
    Ok(())
}

#[test]
fn scalar_f64_arithmetic_gives_canonical_nans() -> Result<()> {
    let mut t = Both::new()?;
    let (np, one) = (Val::F64(NP64), Val::F64(f64b(1.0)));
    let (inf, ninf) = (
        Val::F64(f64b(f64::INFINITY)),
        Val::F64(f64b(-f64::INFINITY)),
    );
    let zero = Val::F64(0);
    let (c, dn) = (Val::F64(C64), Val::F64(DN64));
    for op in ["add", "sub", "mul", "div", "min", "max"] {
        t.check(
            &format!("f64.{op}"),
            &[np.clone(), one.clone()],
            Val::F64(NP64),
            c.clone(),
        )?;
        t.check(
            &format!("f64.{op}"),
            &[one.clone(), np.clone()],
            Val::F64(NP64),
            c.clone(),
        )?;
    }
    t.check(
        "f64.add",
        &[inf.clone(), ninf.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check(
        "f64.sub",
        &[ninf.clone(), ninf.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check(
        "f64.mul",
        &[inf.clone(), zero.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check(
        "f64.div",
        &[zero.clone(), zero.clone()],
        dn.clone(),
        c.clone(),
    )?;
    t.check("f64.sqrt", &[Val::F64(f64b(-4.0))], dn.clone(), c.clone())?;
    for op in ["sqrt", "ceil", "floor", "trunc", "nearest"] {
        t.check(
            &format!("f64.{op}"),
            &[Val::F64(NN64)],
            Val::F64(NN64),
            c.clone(),
        )?;
    }
    t.same(
        "f64.mul",
        &[Val::F64(f64b(1.5)), Val::F64(f64b(-2.0))],
        Val::F64(f64b(-3.0)),
    )?;
    t.same("f64.floor", &[Val::F64(f64b(-0.5))], Val::F64(f64b(-1.0)))?;
    t.same(
        "f64.max",
        &[Val::F64(f64b(-0.0)), zero.clone()],
        zero.clone(),
    )?;
    Ok(())
}

#[test]
fn demotion_and_promotion_give_canonical_nans() -> Result<()> {
    let mut t = Both::new()?;
    // x86 keeps the top payload bits when converting a NaN between widths.
    t.check(
        "f32.demote_f64",
        &[Val::F64(NP64)],
        Val::F32(0x7fc8_91a2),
        Val::F32(C32),
    )?;
    t.check(
        "f64.promote_f32",
        &[Val::F32(NN32)],
        Val::F64(0xfff8_2468_a000_0000),
        Val::F64(C64),
    )?;
    // A signaling NaN is quietened by the hardware, keeping its payload.
    t.check(
        "f64.promote_f32",
        &[Val::F32(SNAN32)],
        Val::F64(0x7ffc_0000_2000_0000),
        Val::F64(C64),
    )?;
    t.same(
        "f32.demote_f64",
        &[Val::F64(f64b(0.5))],
        Val::F32(f32b(0.5)),
    )?;
    t.same(
        "f64.promote_f32",
        &[Val::F32(f32b(-3.25))],
        Val::F64(f64b(-3.25)),
    )?;
    t.check(
        "f32x4.demote_f64x2_zero",
        &[x2([NP64, f64b(1.5)])],
        x4([0x7fc8_91a2, f32b(1.5), 0, 0]),
        x4([C32, f32b(1.5), 0, 0]),
    )?;
    t.check(
        "f64x2.promote_low_f32x4",
        &[x4([f32b(2.5), NN32, NP32, NP32])],
        x2([f64b(2.5), 0xfff8_2468_a000_0000]),
        x2([f64b(2.5), C64]),
    )?;
    Ok(())
}

#[test]
fn f32x4_arithmetic_gives_canonical_nans_lane_by_lane() -> Result<()> {
    let mut t = Both::new()?;
    let inf = f32b(f32::INFINITY);
    let ninf = f32b(-f32::INFINITY);
    let a = x4([NP32, 0, f32b(1.5), inf]);
    let b = x4([f32b(1.0), 0, f32b(2.0), ninf]);
    let ab = [a.clone(), b.clone()];
    let cases: [(&str, [u32; 4], [u32; 4]); 4] = [
        ("add", [NP32, 0, f32b(3.5), DN32], [C32, 0, f32b(3.5), C32]),
        ("sub", [NP32, 0, f32b(-0.5), inf], [C32, 0, f32b(-0.5), inf]),
        ("mul", [NP32, 0, f32b(3.0), ninf], [C32, 0, f32b(3.0), ninf]),
        (
            "div",
            [NP32, DN32, f32b(0.75), DN32],
            [C32, C32, f32b(0.75), C32],
        ),
    ];
    for (op, off, on) in cases {
        t.check(&format!("f32x4.{op}"), &ab, x4(off), x4(on))?;
    }
    // Cranelift's x86-64 vector min/max clear a NaN's payload but keep the
    // sign of the default NaN.
    for op in ["min", "relaxed_min"] {
        t.check(
            &format!("f32x4.{op}"),
            &ab,
            x4([DN32, 0, f32b(1.5), ninf]),
            x4([C32, 0, f32b(1.5), ninf]),
        )?;
    }
    // For max, a negative NaN operand gives the negative default NaN.
    let na = x4([NN32, 0, f32b(1.5), inf]);
    for op in ["max", "relaxed_max"] {
        t.check(
            &format!("f32x4.{op}"),
            &[na.clone(), b.clone()],
            x4([DN32, 0, f32b(2.0), inf]),
            x4([C32, 0, f32b(2.0), inf]),
        )?;
        t.check(
            &format!("f32x4.{op}"),
            &ab,
            x4([C32, 0, f32b(2.0), inf]),
            x4([C32, 0, f32b(2.0), inf]),
        )?;
    }
    let u = [x4([NN32, f32b(-1.0), f32b(2.5), f32b(-0.5)])];
    let unary: [(&str, [u32; 4], [u32; 4]); 5] = [
        (
            "sqrt",
            [NN32, DN32, f32b(2.5f32.sqrt()), DN32],
            [C32, C32, f32b(2.5f32.sqrt()), C32],
        ),
        (
            "ceil",
            [NN32, f32b(-1.0), f32b(3.0), f32b(-0.0)],
            [C32, f32b(-1.0), f32b(3.0), f32b(-0.0)],
        ),
        (
            "floor",
            [NN32, f32b(-1.0), f32b(2.0), f32b(-1.0)],
            [C32, f32b(-1.0), f32b(2.0), f32b(-1.0)],
        ),
        (
            "trunc",
            [NN32, f32b(-1.0), f32b(2.0), f32b(-0.0)],
            [C32, f32b(-1.0), f32b(2.0), f32b(-0.0)],
        ),
        (
            "nearest",
            [NN32, f32b(-1.0), f32b(2.0), f32b(-0.0)],
            [C32, f32b(-1.0), f32b(2.0), f32b(-0.0)],
        ),
    ];
    for (op, off, on) in unary {
        t.check(&format!("f32x4.{op}"), &u, x4(off), x4(on))?;
    }
    // Fused multiply-adds: a NaN operand's payload survives, `0 * inf` is invalid.
    let fa = x4([NP32, f32b(1.0), f32b(2.0), 0]);
    let fb = x4([f32b(1.0), f32b(1.0), f32b(3.0), inf]);
    let fc = x4([0, NN32, f32b(1.0), f32b(1.0)]);
    t.check(
        "f32x4.relaxed_madd",
        &[fa.clone(), fb.clone(), fc.clone()],
        x4([NP32, NN32, f32b(7.0), DN32]),
        x4([C32, C32, f32b(7.0), C32]),
    )?;
    // `-(a * b) + c`, with the NaN in `b` (the operand that is not negated
    // when the negation is not fused).
    t.check(
        "f32x4.relaxed_nmadd",
        &[fb, fa, fc],
        x4([NP32, NN32, f32b(-5.0), DN32]),
        x4([C32, C32, f32b(-5.0), C32]),
    )?;
    Ok(())
}

#[test]
fn f64x2_arithmetic_gives_canonical_nans_lane_by_lane() -> Result<()> {
    let mut t = Both::new()?;
    let inf = f64b(f64::INFINITY);
    let ab = [x2([NP64, 0]), x2([f64b(1.0), 0])];
    for (op, off) in [
        ("add", [NP64, 0]),
        ("sub", [NP64, 0]),
        ("mul", [NP64, 0]),
        ("div", [NP64, DN64]),
    ] {
        let on = off.map(|l| if f64::from_bits(l).is_nan() { C64 } else { l });
        t.check(&format!("f64x2.{op}"), &ab, x2(off), x2(on))?;
    }
    for op in ["min", "relaxed_min"] {
        t.check(&format!("f64x2.{op}"), &ab, x2([DN64, 0]), x2([C64, 0]))?;
    }
    for op in ["max", "relaxed_max"] {
        t.check(&format!("f64x2.{op}"), &ab, x2([C64, 0]), x2([C64, 0]))?;
        let nab = [x2([NN64, 0]), x2([f64b(1.0), 0])];
        t.check(&format!("f64x2.{op}"), &nab, x2([DN64, 0]), x2([C64, 0]))?;
    }
    t.check(
        "f64x2.add",
        &[x2([inf, f64b(1.5)]), x2([f64b(-f64::INFINITY), f64b(2.0)])],
        x2([DN64, f64b(3.5)]),
        x2([C64, f64b(3.5)]),
    )?;
    let u = [x2([NN64, f64b(-2.5)])];
    for (op, second) in [
        ("sqrt", DN64),
        ("ceil", f64b(-2.0)),
        ("floor", f64b(-3.0)),
        ("trunc", f64b(-2.0)),
        ("nearest", f64b(-2.0)),
    ] {
        let on = if second == DN64 { C64 } else { second };
        t.check(
            &format!("f64x2.{op}"),
            &u,
            x2([NN64, second]),
            x2([C64, on]),
        )?;
    }
    let (fa, fb, fc) = (
        x2([NP64, 0]),
        x2([f64b(2.0), inf]),
        x2([f64b(1.0), f64b(1.0)]),
    );
    t.check(
        "f64x2.relaxed_madd",
        &[fa.clone(), fb.clone(), fc.clone()],
        x2([NP64, DN64]),
        x2([C64, C64]),
    )?;
    t.check(
        "f64x2.relaxed_nmadd",
        &[fb, fa, fc],
        x2([NP64, DN64]),
        x2([C64, C64]),
    )?;
    Ok(())
}

/// Operators the spec defines on bits must not touch a NaN's payload, even a
/// signaling NaN's, with the knob on.
#[test]
fn bitwise_operators_pass_nans_through() -> Result<()> {
    let mut t = Both::new()?;
    let sign32 = 0x8000_0000u32;
    let sign64 = 1u64 << 63;
    for nan in [SNAN32, NP32, NN32] {
        t.same("f32.neg", &[Val::F32(nan)], Val::F32(nan ^ sign32))?;
        t.same("f32.abs", &[Val::F32(nan)], Val::F32(nan & !sign32))?;
        t.same(
            "f32.copysign",
            &[Val::F32(nan), Val::F32(f32b(-1.0))],
            Val::F32(nan | sign32),
        )?;
        t.same("f32.store_load", &[Val::F32(nan)], Val::F32(nan))?;
        t.same("f32x4.splat_extract", &[Val::F32(nan)], Val::F32(nan))?;
        t.same(
            "i32.reinterpret_f32",
            &[Val::F32(nan)],
            Val::I32(nan as i32),
        )?;
        t.same(
            "f32.reinterpret_i32",
            &[Val::I32(nan as i32)],
            Val::F32(nan),
        )?;
    }
    for nan in [SNAN64, NP64, NN64] {
        t.same("f64.neg", &[Val::F64(nan)], Val::F64(nan ^ sign64))?;
        t.same("f64.abs", &[Val::F64(nan)], Val::F64(nan & !sign64))?;
        t.same(
            "f64.copysign",
            &[Val::F64(nan), Val::F64(f64b(-1.0))],
            Val::F64(nan | sign64),
        )?;
        t.same("f64.store_load", &[Val::F64(nan)], Val::F64(nan))?;
        t.same("f64x2.splat_extract", &[Val::F64(nan)], Val::F64(nan))?;
        t.same(
            "i64.reinterpret_f64",
            &[Val::F64(nan)],
            Val::I64(nan as i64),
        )?;
        t.same(
            "f64.reinterpret_i64",
            &[Val::I64(nan as i64)],
            Val::F64(nan),
        )?;
    }
    let v = [SNAN32, NP32, NN32, f32b(1.0)];
    t.same("f32x4.neg", &[x4(v)], x4(v.map(|l| l ^ sign32)))?;
    t.same("f32x4.abs", &[x4(v)], x4(v.map(|l| l & !sign32)))?;
    t.same("v128.store_load", &[x4(v)], x4(v))?;
    let w = [SNAN64, NN64];
    t.same("f64x2.neg", &[x2(w)], x2(w.map(|l| l ^ sign64)))?;
    t.same("f64x2.abs", &[x2(w)], x2(w.map(|l| l & !sign64)))?;
    // pmin/pmax return one operand unchanged: `b < a ? b : a`, `a < b ? b : a`.
    let a = x4([SNAN32, f32b(1.0), NN32, f32b(5.0)]);
    let b = x4([f32b(1.0), NP32, f32b(2.0), f32b(3.0)]);
    t.same(
        "f32x4.pmin",
        &[a.clone(), b.clone()],
        x4([SNAN32, f32b(1.0), NN32, f32b(3.0)]),
    )?;
    t.same(
        "f32x4.pmax",
        &[a, b],
        x4([SNAN32, f32b(1.0), NN32, f32b(5.0)]),
    )?;
    let a = x2([SNAN64, f64b(1.0)]);
    let b = x2([f64b(1.0), NN64]);
    t.same(
        "f64x2.pmin",
        &[a.clone(), b.clone()],
        x2([SNAN64, f64b(1.0)]),
    )?;
    t.same("f64x2.pmax", &[a, b], x2([SNAN64, f64b(1.0)]))?;
    Ok(())
}

/// An artifact records the knob: an engine with the other setting refuses
/// it, naming the setting, both ways; the same setting loads and runs it.
#[test]
fn artifacts_record_nan_canonicalization() -> Result<()> {
    let wat = r#"(module (func (export "div") (param f32 f32) (result f32)
        (f32.div (local.get 0) (local.get 1))))"#;
    let engine = |canon: bool| {
        let mut config = Config::new();
        config.cranelift_nan_canonicalization(canon);
        Engine::new(&config)
    };
    let (off, on) = (engine(false)?, engine(true)?);
    let from_on = on.precompile_module(wat.as_bytes())?;
    let from_off = off.precompile_module(wat.as_bytes())?;
    // SAFETY: the bytes come from `precompile_module`; the check refuses them.
    let err = unsafe { Module::deserialize(&off, &from_on) }.expect_err("settings differ");
    assert!(
        err.to_string().contains(
            "compiled with cranelift_nan_canonicalization=true, \
             this engine has cranelift_nan_canonicalization=false"
        ),
        "{err}"
    );
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&on, &from_off) }.expect_err("settings differ");
    assert!(
        err.to_string().contains(
            "compiled with cranelift_nan_canonicalization=false, \
             this engine has cranelift_nan_canonicalization=true"
        ),
        "{err}"
    );
    assert_ne!(
        off.precompile_compatibility_hash(),
        on.precompile_compatibility_hash()
    );
    // SAFETY: made by an engine with the same settings.
    let module = unsafe { Module::deserialize(&on, &from_on) }?;
    let mut store = Store::new(&on, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let div = instance.get_typed_func::<(f32, f32), f32>(&mut store, "div")?;
    assert_eq!(div.call(&mut store, (0.0, 0.0))?.to_bits(), C32);
    Ok(())
}

/// wasmtime code may spell the knob as the Cranelift flag
/// `enable_nan_canonicalization`; it sets the same switch, and a value other
/// than `true`/`false` is refused by `Engine::new`.
#[test]
fn the_cranelift_flag_spelling_sets_the_same_switch() -> Result<()> {
    let wat = r#"(module (func (export "div") (param f32 f32) (result f32)
        (f32.div (local.get 0) (local.get 1))))"#;
    let div_zero_by_zero = |config: &Config| -> Result<u32> {
        let engine = Engine::new(config)?;
        let module = Module::new(&engine, wat)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let div = instance.get_typed_func::<(f32, f32), f32>(&mut store, "div")?;
        Ok(div.call(&mut store, (0.0, 0.0))?.to_bits())
    };
    let mut enabled = Config::new();
    // SAFETY: NaN canonicalisation does not weaken the sandbox.
    unsafe { enabled.cranelift_flag_enable("enable_nan_canonicalization") };
    assert_eq!(div_zero_by_zero(&enabled)?, C32);
    let mut set = Config::new();
    // SAFETY: as above.
    unsafe { set.cranelift_flag_set("enable_nan_canonicalization", "true") };
    assert_eq!(div_zero_by_zero(&set)?, C32);
    if cfg!(target_arch = "x86_64") {
        let mut off = Config::new();
        off.cranelift_nan_canonicalization(true);
        // SAFETY: as above; the flag comes last, so it wins.
        unsafe { off.cranelift_flag_set("enable_nan_canonicalization", "false") };
        assert_eq!(div_zero_by_zero(&off)?, DN32);
    }
    let mut bad = Config::new();
    // SAFETY: as above.
    unsafe { bad.cranelift_flag_set("enable_nan_canonicalization", "yes") };
    let err = Engine::new(&bad).expect_err("not a boolean");
    assert!(err.to_string().contains("takes `true` or `false`"), "{err}");
    Ok(())
}

/// `Config::relaxed_simd_deterministic`: `relaxed_madd` rounds twice, as the
/// spec's deterministic profile prescribes, instead of once (fused); the
/// setting is recorded in artifacts.
#[test]
fn relaxed_simd_deterministic_rounds_madd_twice() -> Result<()> {
    let wat = r#"(module
      (func (export "madd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "nmadd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2))))"#;
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: fused, adding -(1 + 2^-11) leaves
    // 2^-24; rounded first, the 2^-24 is lost (a tie, to even) and the sum is 0.
    let a = f32b(1.0 + 2f32.powi(-12));
    let c = f32b(-(1.0 + 2f32.powi(-11)));
    let run = |deterministic: bool, name: &str, args: &[Val]| -> Result<u128> {
        let mut config = Config::new();
        config.relaxed_simd_deterministic(deterministic);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, wat)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let f = instance.get_func(&mut store, name).expect("export");
        let mut out = [Val::V128(0)];
        f.call(&mut store, args, &mut out)?;
        Ok(bits(&out[0]).1)
    };
    let fused = bits(&x4([f32b(2f32.powi(-24)); 4])).1;
    let args = [x4([a; 4]), x4([a; 4]), x4([c; 4])];
    assert_eq!(run(false, "madd", &args)?, fused);
    assert_eq!(run(true, "madd", &args)?, 0);
    // nmadd(x, y, z) = -(x * y) + z: with x = -a it computes the same sum.
    let args = [x4([a ^ 0x8000_0000; 4]), x4([a; 4]), x4([c; 4])];
    assert_eq!(run(false, "nmadd", &args)?, fused);
    assert_eq!(run(true, "nmadd", &args)?, 0);

    let mut on = Config::new();
    on.relaxed_simd_deterministic(true);
    let bytes = Engine::new(&on)?.precompile_module(wat.as_bytes())?;
    // SAFETY: the bytes come from `precompile_module`; the check refuses them.
    let err =
        unsafe { Module::deserialize(&Engine::default(), &bytes) }.expect_err("settings differ");
    assert!(
        err.to_string().contains(
            "compiled with relaxed_simd_deterministic=true, \
             this engine has relaxed_simd_deterministic=false"
        ),
        "{err}"
    );
    Ok(())
}

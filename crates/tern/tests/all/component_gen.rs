//! Test support for components: a model of component value types ([`Ty`])
//! that writes itself as component text, flattens itself by the canonical
//! ABI's rules (an independent re-statement of them, so the tests check the
//! runtime against it), and makes random types and values from a seed; and
//! the "relay" component every value test uses. For resources, [`RTy`] and
//! [`GVal`] model handle-carrying types and values, with a component that
//! receives random handles and drops them and one that produces them.
//!
//! The relay component for a type `T` exports `run: func(x: T) -> T`, whose
//! core code passes its arguments straight to a lowered host import
//! `h: func(x: T) -> T` and returns what `h` returned. A host call of `run`
//! therefore crosses the boundary four times — host lowers `x` into the
//! component, the component's call to `h` lifts it back to the host, the host
//! lowers `h`'s result into the component, and the host lifts `run`'s result —
//! with a string encoding chosen for each side.

use tern::component::Val;

/// A component value type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    List(Box<Ty>),
    Record(Vec<(String, Ty)>),
    Tuple(Vec<Ty>),
    Variant(Vec<(String, Option<Ty>)>),
    Enum(Vec<String>),
    Option(Box<Ty>),
    Result(Option<Box<Ty>>, Option<Box<Ty>>),
    Flags(Vec<String>),
}

/// A core type a value flattens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flat {
    I32,
    I64,
    F32,
    F64,
}

impl Flat {
    pub fn wat(self) -> &'static str {
        match self {
            Flat::I32 => "i32",
            Flat::I64 => "i64",
            Flat::F32 => "f32",
            Flat::F64 => "f64",
        }
    }

    fn join(a: Flat, b: Flat) -> Flat {
        match (a, b) {
            _ if a == b => a,
            (Flat::I32, Flat::F32) | (Flat::F32, Flat::I32) => Flat::I32,
            _ => Flat::I64,
        }
    }
}

impl Ty {
    /// The canonical ABI's `flatten_type`.
    pub fn flat(&self) -> Vec<Flat> {
        match self {
            Ty::Bool
            | Ty::S8
            | Ty::U8
            | Ty::S16
            | Ty::U16
            | Ty::S32
            | Ty::U32
            | Ty::Char
            | Ty::Enum(_) => vec![Flat::I32],
            Ty::S64 | Ty::U64 => vec![Flat::I64],
            Ty::F32 => vec![Flat::F32],
            Ty::F64 => vec![Flat::F64],
            Ty::String | Ty::List(_) => vec![Flat::I32, Flat::I32],
            Ty::Record(fields) => fields.iter().flat_map(|(_, t)| t.flat()).collect(),
            Ty::Tuple(tys) => tys.iter().flat_map(Ty::flat).collect(),
            Ty::Flags(names) => vec![Flat::I32; names.len().div_ceil(32)],
            Ty::Variant(_) | Ty::Option(_) | Ty::Result(..) => {
                let mut joined: Vec<Flat> = Vec::new();
                for case in self.cases().into_iter().flatten() {
                    for (i, f) in case.flat().into_iter().enumerate() {
                        match joined.get_mut(i) {
                            Some(slot) => *slot = Flat::join(*slot, f),
                            None => joined.push(f),
                        }
                    }
                }
                let mut out = vec![Flat::I32];
                out.extend(joined);
                out
            }
        }
    }

    fn cases(&self) -> Vec<Option<Ty>> {
        match self {
            Ty::Variant(cases) => cases.iter().map(|(_, t)| t.clone()).collect(),
            Ty::Option(t) => vec![None, Some((**t).clone())],
            Ty::Result(ok, err) => vec![ok.as_deref().cloned(), err.as_deref().cloned()],
            _ => Vec::new(),
        }
    }

    /// The type in component text; records, variants, enums and flags are
    /// defined in `defs` and imported by name (an exported function's types
    /// must be named).
    pub fn wat(&self, defs: &mut Vec<String>) -> String {
        let named = |defs: &mut Vec<String>, body: String| {
            let n = defs.len();
            defs.push(format!(
                "(type $t{n}' {body}) (import \"t{n}\" (type $t{n} (eq $t{n}')))"
            ));
            format!("$t{n}")
        };
        match self {
            Ty::Bool => "bool".into(),
            Ty::S8 => "s8".into(),
            Ty::U8 => "u8".into(),
            Ty::S16 => "s16".into(),
            Ty::U16 => "u16".into(),
            Ty::S32 => "s32".into(),
            Ty::U32 => "u32".into(),
            Ty::S64 => "s64".into(),
            Ty::U64 => "u64".into(),
            Ty::F32 => "f32".into(),
            Ty::F64 => "f64".into(),
            Ty::Char => "char".into(),
            Ty::String => "string".into(),
            Ty::List(t) => format!("(list {})", t.wat(defs)),
            Ty::Tuple(tys) => {
                let parts: Vec<String> = tys.iter().map(|t| t.wat(defs)).collect();
                format!("(tuple {})", parts.join(" "))
            }
            Ty::Option(t) => format!("(option {})", t.wat(defs)),
            Ty::Result(ok, err) => {
                let ok = ok
                    .as_ref()
                    .map(|t| format!(" {}", t.wat(defs)))
                    .unwrap_or_default();
                let err = err
                    .as_ref()
                    .map(|t| format!(" (error {})", t.wat(defs)))
                    .unwrap_or_default();
                format!("(result{ok}{err})")
            }
            Ty::Record(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(n, t)| format!("(field \"{n}\" {})", t.wat(defs)))
                    .collect();
                named(defs, format!("(record {})", parts.join(" ")))
            }
            Ty::Variant(cases) => {
                let parts: Vec<String> = cases
                    .iter()
                    .map(|(n, t)| match t {
                        Some(t) => format!("(case \"{n}\" {})", t.wat(defs)),
                        None => format!("(case \"{n}\")"),
                    })
                    .collect();
                named(defs, format!("(variant {})", parts.join(" ")))
            }
            Ty::Enum(names) => {
                let parts: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                named(defs, format!("(enum {})", parts.join(" ")))
            }
            Ty::Flags(names) => {
                let parts: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                named(defs, format!("(flags {})", parts.join(" ")))
            }
        }
    }
}

/// String encodings, as written in `canon` options.
pub const ENCODINGS: [&str; 3] = [
    "string-encoding=utf8",
    "string-encoding=utf16",
    "string-encoding=latin1+utf16",
];

/// The relay component for `ty` (see the module docs): the import `h` is
/// lowered with `lower_enc`, the export `run` lifted with `lift_enc`.
pub fn relay_component(ty: &Ty, lower_enc: &str, lift_enc: &str) -> String {
    let mut defs = Vec::new();
    let t = ty.wat(&mut defs);
    let flat = ty.flat();
    let params: Vec<Flat> = if flat.len() > 16 {
        vec![Flat::I32]
    } else {
        flat.clone()
    };
    let spilled_result = flat.len() > 1;
    let param_wat: String = params.iter().map(|f| format!(" {}", f.wat())).collect();
    let (h_sig, run_sig) = if spilled_result {
        (
            format!("(param{param_wat} i32)"),
            format!("(param{param_wat}) (result i32)"),
        )
    } else {
        (
            format!("(param{param_wat}) (result {})", flat[0].wat()),
            format!("(param{param_wat}) (result {})", flat[0].wat()),
        )
    };
    let gets: String = (0..params.len())
        .map(|i| format!(" (local.get {i})"))
        .collect();
    let body = if spilled_result {
        format!("{gets} (i32.const 16) (call $h) (i32.const 16)")
    } else {
        format!("{gets} (call $h)")
    };
    format!(
        r#"(component
  {defs}
  (import "h" (func $h (param "x" {t}) (result {t})))
  (core module $Mem
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 16384))
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $r) (local.get $new)))
      (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $next) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))))))
      (if (local.get $old) (then (memory.copy (local.get $r) (local.get $old) (local.get $old_size))))
      (local.get $r)))
  (core instance $mem (instantiate $Mem))
  (core func $h' (canon lower (func $h) (memory (core memory $mem "mem")) (realloc (core func $mem "realloc")) {lower_enc}))
  (core module $M
    (import "" "h" (func $h {h_sig}))
    (func (export "run") {run_sig} {body}))
  (core instance $m (instantiate $M (with "" (instance (export "h" (func $h'))))))
  (func (export "run") (param "x" {t}) (result {t})
    (canon lift (core func $m "run") (memory (core memory $mem "mem")) (realloc (core func $mem "realloc")) {lift_enc}))
)"#,
        defs = defs.join("\n  ")
    )
}

/// A small seeded generator (xorshift64*), so failures reproduce from the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn names(&mut self, prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    /// A random type, at most `depth` levels deep.
    pub fn ty(&mut self, depth: u32) -> Ty {
        let leaf = depth == 0 || self.chance(40);
        if leaf {
            return match self.below(13) {
                0 => Ty::Bool,
                1 => Ty::S8,
                2 => Ty::U8,
                3 => Ty::S16,
                4 => Ty::U16,
                5 => Ty::S32,
                6 => Ty::U32,
                7 => Ty::S64,
                8 => Ty::U64,
                9 => Ty::F32,
                10 => Ty::F64,
                11 => Ty::Char,
                _ => Ty::String,
            };
        }
        let d = depth - 1;
        match self.below(9) {
            0 => Ty::List(Box::new(self.ty(d))),
            1 => {
                let n = 1 + self.below(4) as usize;
                Ty::Record(
                    self.names("f", n)
                        .into_iter()
                        .map(|name| (name, self.ty(d)))
                        .collect(),
                )
            }
            2 => Ty::Tuple((0..1 + self.below(4)).map(|_| self.ty(d)).collect()),
            3 => {
                let n = 1 + self.below(4) as usize;
                Ty::Variant(
                    self.names("c", n)
                        .into_iter()
                        .map(|name| (name, self.chance(70).then(|| self.ty(d))))
                        .collect(),
                )
            }
            4 => {
                let n = 1 + self.below(5) as usize;
                Ty::Enum(self.names("e", n))
            }
            5 => Ty::Option(Box::new(self.ty(d))),
            6 => Ty::Result(
                self.chance(70).then(|| Box::new(self.ty(d))),
                self.chance(70).then(|| Box::new(self.ty(d))),
            ),
            7 => {
                let n = 1 + self.below(32) as usize;
                Ty::Flags(self.names("g", n))
            }
            _ => Ty::Tuple((0..17 + self.below(3)).map(|_| Ty::U8).collect()),
        }
    }

    fn string(&mut self) -> String {
        const PIECES: [&str; 8] = ["a", "Z", "é", "ÿ", "☃", "🍰", "\u{0}", "ok"];
        (0..self.below(6))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }

    /// A random value of type `ty`.
    pub fn val(&mut self, ty: &Ty) -> Val {
        match ty {
            Ty::Bool => Val::Bool(self.chance(50)),
            Ty::S8 => Val::S8(self.next() as i8),
            Ty::U8 => Val::U8(self.next() as u8),
            Ty::S16 => Val::S16(self.next() as i16),
            Ty::U16 => Val::U16(self.next() as u16),
            Ty::S32 => Val::S32(self.next() as i32),
            Ty::U32 => Val::U32(self.next() as u32),
            Ty::S64 => Val::S64(self.next() as i64),
            Ty::U64 => Val::U64(self.next()),
            Ty::F32 => Val::Float32(f32::from_bits(self.next() as u32)),
            Ty::F64 => Val::Float64(f64::from_bits(self.next())),
            Ty::Char => Val::Char(char::from_u32(self.below(0x11_0000) as u32).unwrap_or('x')),
            Ty::String => Val::String(self.string()),
            Ty::List(t) => Val::List((0..self.below(4)).map(|_| self.val(t)).collect()),
            Ty::Record(fields) => Val::Record(
                fields
                    .iter()
                    .map(|(n, t)| (n.clone(), self.val(t)))
                    .collect(),
            ),
            Ty::Tuple(tys) => Val::Tuple(tys.iter().map(|t| self.val(t)).collect()),
            Ty::Variant(cases) => {
                let (name, t) = &cases[self.below(cases.len() as u64) as usize];
                Val::Variant(name.clone(), t.as_ref().map(|t| Box::new(self.val(t))))
            }
            Ty::Enum(names) => Val::Enum(names[self.below(names.len() as u64) as usize].clone()),
            Ty::Option(t) => Val::Option(self.chance(50).then(|| Box::new(self.val(t)))),
            Ty::Result(ok, err) => {
                if self.chance(50) {
                    Val::Result(Ok(ok.as_ref().map(|t| Box::new(self.val(t)))))
                } else {
                    Val::Result(Err(err.as_ref().map(|t| Box::new(self.val(t)))))
                }
            }
            Ty::Flags(names) => {
                Val::Flags(names.iter().filter(|_| self.chance(50)).cloned().collect())
            }
        }
    }
}

/// Value equality where floats compare by bits (so NaNs compare).
pub fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Float32(a), Val::Float32(b)) => a.to_bits() == b.to_bits(),
        (Val::Float64(a), Val::Float64(b)) => a.to_bits() == b.to_bits(),
        (Val::List(a), Val::List(b)) | (Val::Tuple(a), Val::Tuple(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        (Val::Record(a), Val::Record(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((n, a), (m, b))| n == m && same(a, b))
        }
        (Val::Variant(n, a), Val::Variant(m, b)) => n == m && same_opt(a, b),
        (Val::Option(a), Val::Option(b)) => same_opt(a, b),
        (Val::Result(Ok(a)), Val::Result(Ok(b))) | (Val::Result(Err(a)), Val::Result(Err(b))) => {
            same_opt(a, b)
        }
        (a, b) => a == b,
    }
}

fn same_opt(a: &Option<Box<Val>>, b: &Option<Box<Val>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// A resource-carrying parameter type: `u32`, handles of the host resource
/// `hr` and of the guest resource `gr` (defined by another inlined instance,
/// so the relay sees borrows of both as handles), and options and records
/// of those. All flatten to `i32`s.
#[derive(Debug, Clone, PartialEq)]
pub enum RTy {
    U32,
    OwnH,
    BorrowH,
    OwnG,
    BorrowG,
    Option(Box<RTy>),
    Record(Vec<RTy>),
}

impl RTy {
    /// How many flat `i32`s it takes.
    pub fn flat_len(&self) -> usize {
        match self {
            RTy::Option(t) => 1 + t.flat_len(),
            RTy::Record(ts) => ts.iter().map(RTy::flat_len).sum(),
            _ => 1,
        }
    }

    /// The type in component text (records are defined in `defs`, and
    /// exported so that an export's type can name them).
    pub fn wat(&self, defs: &mut Vec<String>) -> String {
        self.wat_named(defs, false)
    }

    /// Like [`RTy::wat`], but records are imported (`import`) or exported:
    /// an import's type can only name imported types.
    pub fn wat_named(&self, defs: &mut Vec<String>, import: bool) -> String {
        match self {
            RTy::U32 => "u32".into(),
            RTy::OwnH => "(own $hr)".into(),
            RTy::BorrowH => "(borrow $hr)".into(),
            RTy::OwnG => "(own $gr)".into(),
            RTy::BorrowG => "(borrow $gr)".into(),
            RTy::Option(t) => format!("(option {})", t.wat_named(defs, import)),
            RTy::Record(ts) => {
                let fields: Vec<String> = ts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("(field \"f{i}\" {})", t.wat_named(defs, import)))
                    .collect();
                let n = defs.len();
                let name = if import {
                    format!("(import \"r{n}\" (type $r{n} (eq $r{n}')))")
                } else {
                    format!("(export $r{n} \"r{n}\" (type $r{n}'))")
                };
                defs.push(format!(
                    "(type $r{n}' (record {})) {name}",
                    fields.join(" ")
                ));
                format!("$r{n}")
            }
        }
    }

    /// Core code that drops every handle of a value at flat locals `at..`
    /// (the present ones only, for options) and adds 1 to local `$n` for
    /// each; returns the next flat local.
    pub fn drop_code(&self, at: u32, code: &mut String) -> u32 {
        match self {
            RTy::U32 => {}
            RTy::OwnH | RTy::BorrowH => code.push_str(&format!(
                "(call $droph (local.get {at})) (local.set $n (i32.add (local.get $n) (i32.const 1)))\n"
            )),
            RTy::OwnG | RTy::BorrowG => code.push_str(&format!(
                "(call $dropg (local.get {at})) (local.set $n (i32.add (local.get $n) (i32.const 1)))\n"
            )),
            RTy::Option(t) => {
                let mut inner = String::new();
                t.drop_code(at + 1, &mut inner);
                code.push_str(&format!("(if (local.get {at}) (then {inner}))\n"));
                return at + 1 + t.flat_len() as u32;
            }
            RTy::Record(ts) => {
                let mut next = at;
                for t in ts {
                    next = t.drop_code(next, code);
                }
                return next;
            }
        }
        at + 1
    }
}

impl Rng {
    /// A random resource-carrying parameter type, at most `depth` deep.
    pub fn rty(&mut self, depth: u32) -> RTy {
        if depth == 0 || self.chance(50) {
            return match self.below(5) {
                0 => RTy::U32,
                1 => RTy::OwnH,
                2 => RTy::BorrowH,
                3 => RTy::OwnG,
                _ => RTy::BorrowG,
            };
        }
        if self.chance(50) {
            RTy::Option(Box::new(self.rty(depth - 1)))
        } else {
            RTy::Record(
                (0..1 + self.below(3))
                    .map(|_| self.rty(depth - 1))
                    .collect(),
            )
        }
    }
}

/// A component whose export `run(p0: T0, …) -> u32` drops every handle it
/// receives (borrows and owns, host `hr` and guest `gr`) and returns how
/// many it dropped; `gr` is defined by an inner instance (so borrows of it
/// reach `run` as handles too) whose `make(rep) -> own<gr>` and
/// `dtors() -> u32` (its destructor count) the root re-exports.
pub fn resource_relay_component(params: &[RTy]) -> String {
    let mut defs = Vec::new();
    let wat_params: String = params
        .iter()
        .enumerate()
        .map(|(i, t)| format!(" (param \"p{i}\" {})", t.wat(&mut defs)))
        .collect();
    let nflat: usize = params.iter().map(RTy::flat_len).sum();
    let core_params = " i32".repeat(nflat);
    let mut code = String::new();
    let mut at = 0;
    for t in params {
        at = t.drop_code(at, &mut code);
    }
    format!(
        r#"(component
  (import "hr" (type $hr (sub resource)))
  (component $D
    (core module $M
      (global $dtors (mut i32) (i32.const 0))
      (func (export "dtor") (param i32) (global.set $dtors (i32.add (global.get $dtors) (i32.const 1))))
      (func (export "dtors") (result i32) (global.get $dtors)))
    (core instance $m (instantiate $M))
    (type $R (resource (rep i32) (dtor (core func $m "dtor"))))
    (core func $new (canon resource.new $R))
    (core module $N
      (import "" "new" (func $new (param i32) (result i32)))
      (func (export "make") (param i32) (result i32) (call $new (local.get 0))))
    (core instance $n (instantiate $N (with "" (instance (export "new" (func $new))))))
    (export $R' "gr" (type $R))
    (func (export "make") (param "rep" u32) (result (own $R')) (canon lift (core func $n "make")))
    (func (export "dtors") (result u32) (canon lift (core func $m "dtors"))))
  (instance $d (instantiate $D))
  (alias export $d "gr" (type $gr'))
  (export $gr "gr" (type $gr'))
  (alias export $d "make" (func $make))
  (export "make" (func $make) (func (param "rep" u32) (result (own $gr))))
  (export "dtors" (func $d "dtors"))
  {defs}
  (core func $droph (canon resource.drop $hr))
  (core func $dropg (canon resource.drop $gr))
  (core module $M
    (import "" "droph" (func $droph (param i32)))
    (import "" "dropg" (func $dropg (param i32)))
    (func (export "run") (param{core_params}) (result i32) (local $n i32)
      {code}
      (local.get $n)))
  (core instance $m (instantiate $M (with "" (instance
    (export "droph" (func $droph)) (export "dropg" (func $dropg))))))
  (func (export "run"){wat_params} (result u32) (canon lift (core func $m "run")))
)"#,
        defs = defs.join("\n  ")
    )
}

impl Rng {
    /// A random resource-carrying type, at most `depth` deep, whose leaves
    /// are drawn from `leaves` (so a signature can leave out the handles a
    /// position cannot carry).
    pub fn rty_of(&mut self, depth: u32, leaves: &[RTy]) -> RTy {
        if depth == 0 || self.chance(50) {
            return leaves[self.below(leaves.len() as u64) as usize].clone();
        }
        if self.chance(50) {
            RTy::Option(Box::new(self.rty_of(depth - 1, leaves)))
        } else {
            RTy::Record(
                (0..1 + self.below(3))
                    .map(|_| self.rty_of(depth - 1, leaves))
                    .collect(),
            )
        }
    }

    /// A random value of `t` for the guest to produce: numbers, absent or
    /// present options, and handles, each with a fresh rep from `next_rep`.
    pub fn gval(&mut self, t: &RTy, next_rep: &mut u32) -> GVal {
        match t {
            RTy::U32 => GVal::U32(self.next() as u32),
            RTy::Option(inner) => GVal::Option(
                self.chance(50)
                    .then(|| Box::new(self.gval(inner, next_rep))),
            ),
            RTy::Record(ts) => GVal::Record(ts.iter().map(|t| self.gval(t, next_rep)).collect()),
            leaf => {
                *next_rep += 1;
                assert!(*next_rep < 64, "reps index a 64-bit mask");
                GVal::Handle(leaf.clone(), *next_rep)
            }
        }
    }
}

/// A value the guest produces (see [`guest_producer_component`]): a handle
/// is its leaf type (`OwnH`, `BorrowH`, `OwnG`, `BorrowG`) and its rep.
#[derive(Debug, Clone, PartialEq)]
pub enum GVal {
    U32(u32),
    Handle(RTy, u32),
    Option(Option<Box<GVal>>),
    Record(Vec<GVal>),
}

impl GVal {
    /// Core expressions, one per flat `i32` of `self` as a value of `t`,
    /// that make the value: handles are created by calling `$mkh` (host) or
    /// `$make` (guest) with their rep; a borrowed one is also kept in a new
    /// local `$b{k}` and dropped by the code pushed to `after`.
    pub fn flat_code(&self, t: &RTy, out: &mut Vec<String>, after: &mut Vec<String>) {
        match (self, t) {
            (GVal::U32(v), _) => out.push(format!("(i32.const {})", *v as i32)),
            (GVal::Handle(kind, rep), _) => {
                let (make, drop) = match kind {
                    RTy::OwnH | RTy::BorrowH => ("$mkh", "$droph"),
                    _ => ("$make", "$dropg"),
                };
                let call = format!("(call {make} (i32.const {rep}))");
                if matches!(kind, RTy::BorrowH | RTy::BorrowG) {
                    let k = after.len();
                    out.push(format!("(local.tee $b{k} {call})"));
                    after.push(format!("(call {drop} (local.get $b{k}))"));
                } else {
                    out.push(call);
                }
            }
            (GVal::Option(v), RTy::Option(inner)) => match v {
                Some(v) => {
                    out.push("(i32.const 1)".into());
                    v.flat_code(inner, out, after);
                }
                None => {
                    out.push("(i32.const 0)".into());
                    out.extend((0..inner.flat_len()).map(|_| "(i32.const 0)".to_string()));
                }
            },
            (GVal::Record(vs), RTy::Record(ts)) => {
                for (v, t) in vs.iter().zip(ts) {
                    v.flat_code(t, out, after);
                }
            }
            (v, t) => panic!("{v:?} is not a value of {t:?}"),
        }
    }
}

/// A component whose export `run() -> tuple<R…>` makes values and hands
/// them to the host in both ways a guest can: first it calls the host
/// import `h(p0: P0, …)` with `args` (host handles, owned and borrowed, that
/// it gets from the host import `mkh(rep) -> own<hr>`; a borrowed one it
/// drops after `h` returns), then it returns `rets`, which may also own
/// resources of its own type `gr` (made by the inner instance's `make`).
///
/// Guest resources reach the host only through the export's results: an
/// import's type cannot name a resource the component defines itself (the
/// validator rejects it: "func not valid to be used as import"), and `gr`
/// is defined by an instance inside this component, so `h` cannot take it.
/// Borrows reach the host only through `h`'s parameters, as
/// a result cannot be a borrow. The inner instance's destructor sets bit
/// `rep` of a mask that the root re-exports as `dropped() -> u64`, and
/// traps if that bit is already set (a second destructor call).
pub fn guest_producer_component(
    params: &[RTy],
    args: &[GVal],
    rets_ty: &[RTy],
    rets: &[GVal],
) -> String {
    let mut pdefs = Vec::new();
    let wat_params: String = params
        .iter()
        .enumerate()
        .map(|(i, t)| format!(" (param \"p{i}\" {})", t.wat_named(&mut pdefs, true)))
        .collect();
    let mut rdefs = vec![String::new(); pdefs.len()];
    let wat_rets: String = rets_ty
        .iter()
        .map(|t| format!(" {}", t.wat(&mut rdefs)))
        .collect();
    let rdefs = &rdefs[pdefs.len()..];
    let (mut arg_code, mut after) = (Vec::new(), Vec::new());
    for (v, t) in args.iter().zip(params) {
        v.flat_code(t, &mut arg_code, &mut after);
    }
    let mut ret_code = Vec::new();
    for (v, t) in rets.iter().zip(rets_ty) {
        v.flat_code(t, &mut ret_code, &mut after);
    }
    assert!(arg_code.len() <= 16, "h's parameters must not spill");
    let h_params = " i32".repeat(arg_code.len());
    let locals: String = (0..after.len())
        .map(|k| format!("(local $b{k} i32) "))
        .collect();
    let ret_body = if ret_code.len() == 1 {
        ret_code[0].clone()
    } else {
        let stores: String = ret_code
            .iter()
            .enumerate()
            .map(|(i, e)| format!("(i32.store offset={} (i32.const 0) {e})\n      ", 4 * i))
            .collect();
        format!("{stores}(i32.const 0)")
    };
    format!(
        r#"(component
  (import "hr" (type $hr (sub resource)))
  {pdefs}
  (import "mkh" (func $mkh (param "rep" u32) (result (own $hr))))
  (import "h" (func $h{wat_params}))
  (component $D
    (core module $M
      (global $mask (mut i64) (i64.const 0))
      (func (export "dtor") (param i32) (local $bit i64)
        (local.set $bit (i64.shl (i64.const 1) (i64.extend_i32_u (local.get 0))))
        (if (i64.ne (i64.and (global.get $mask) (local.get $bit)) (i64.const 0)) (then unreachable))
        (global.set $mask (i64.or (global.get $mask) (local.get $bit))))
      (func (export "dropped") (result i64) (global.get $mask)))
    (core instance $m (instantiate $M))
    (type $R (resource (rep i32) (dtor (core func $m "dtor"))))
    (core func $new (canon resource.new $R))
    (core module $N
      (import "" "new" (func $new (param i32) (result i32)))
      (func (export "make") (param i32) (result i32) (call $new (local.get 0))))
    (core instance $n (instantiate $N (with "" (instance (export "new" (func $new))))))
    (export $R' "gr" (type $R))
    (func (export "make") (param "rep" u32) (result (own $R')) (canon lift (core func $n "make")))
    (func (export "dropped") (result u64) (canon lift (core func $m "dropped"))))
  (instance $d (instantiate $D))
  (alias export $d "gr" (type $gr'))
  (export $gr "gr" (type $gr'))
  (alias export $d "make" (func $make))
  (export "make" (func $make) (func (param "rep" u32) (result (own $gr))))
  (export "dropped" (func $d "dropped"))
  {rdefs}
  (core func $mkh' (canon lower (func $mkh)))
  (core func $make' (canon lower (func $make)))
  (core func $h' (canon lower (func $h)))
  (core func $droph (canon resource.drop $hr))
  (core func $dropg (canon resource.drop $gr))
  (core module $M
    (import "" "mkh" (func $mkh (param i32) (result i32)))
    (import "" "make" (func $make (param i32) (result i32)))
    (import "" "h" (func $h (param{h_params})))
    (import "" "droph" (func $droph (param i32)))
    (import "" "dropg" (func $dropg (param i32)))
    (memory (export "mem") 1)
    (func (export "run") (result i32) {locals}
      {args}
      (call $h)
      {after}
      {ret_body}))
  (core instance $m (instantiate $M (with "" (instance
    (export "mkh" (func $mkh')) (export "make" (func $make')) (export "h" (func $h'))
    (export "droph" (func $droph)) (export "dropg" (func $dropg))))))
  (func (export "run") (result (tuple{wat_rets}))
    (canon lift (core func $m "run") (memory (core memory $m "mem"))))
)"#,
        pdefs = pdefs.join("\n  "),
        rdefs = rdefs.join("\n  "),
        args = arg_code.join("\n      "),
        after = after.join("\n      "),
    )
}

//! Bulk-memory and table modules for the differential campaign.
//!
//! `wasm-smith` emits `memory.copy`/`fill`/`init` only when three addresses
//! happen to be on its operand stack and traps are allowed, and
//! `table.copy`/`init` almost never: in practice its modules contain none
//! (300 seeds of [`crate::generate::module`]: 0 `memory.*` bulk operations, 3
//! `table.fill`). So these paths — the inlined constant-length copies and
//! fills, the libcalls, lazily initialised tables — were checked only by the
//! spec suites. This generator writes modules made of them, as text, from a
//! seed, for [`crate::differential`] to run on both engines:
//!
//! - one or two memories (the first sometimes 64-bit) with active and passive
//!   data segments, and one or two funcref tables with active, passive and
//!   declarative element segments over four small functions;
//! - exported functions that each do a short sequence of bulk operations
//!   (`memory.copy` within and across memories, `memory.fill`, `memory.init`,
//!   `data.drop`, `memory.grow`, `table.copy`/`init`/`fill`/`grow`/`get`/`set`,
//!   `elem.drop`) and `call_indirect`s through the tables, and return a load;
//! - operands that are either constants at the interesting places (0, around
//!   the inline-copy limits, around the end of the memory or table) or the
//!   function's parameters masked to small ranges or taken raw (mostly out of
//!   bounds), so both the in-bounds results and the trap-without-writing rule
//!   are compared, byte for byte, through the exported memories and tables.
//!
//! No loops, so every call ends; the modules need no termination counter.

use crate::rng::Rng;
use anyhow::Result;
use std::fmt::Write as _;

/// Bytes in a wasm page.
const PAGE: u64 = 65536;

/// What one generated module holds, so that operands can aim at its edges.
struct Shape {
    /// Initial page counts of the memories (the first may be 64-bit).
    memory_pages: Vec<u64>,
    /// Whether memory 0 is 64-bit.
    memory64: bool,
    /// Lengths of the data segments.
    data_lens: Vec<u64>,
    /// Which data segments are passive (the others are active).
    data_passive: Vec<bool>,
    /// Initial sizes of the tables.
    table_sizes: Vec<u64>,
    /// Lengths of the element segments.
    elem_lens: Vec<u64>,
    /// The kind of each element segment: 0 active (into table 0), 1
    /// declarative, 2 passive.
    elem_kinds: Vec<u64>,
}

/// Generates the bulk-operations module for `seed` (see the module docs).
///
/// # Errors
/// Never for a generated text; kept fallible like [`crate::generate::module`].
pub fn module(seed: u64) -> Result<Vec<u8>> {
    let mut rng = Rng::new(seed ^ 0xb01c_b01c);
    let memory_pages: Vec<u64> = (0..rng.range(1, 2))
        .map(|_| if rng.chance(1, 8) { 0 } else { rng.range(1, 2) })
        .collect();
    let data_lens: Vec<u64> = (0..rng.range(1, 4))
        .map(|_| *rng.pick(&[0, 1, 8, 33, 130, 300]))
        .collect();
    // Active data segments must fit memory 0; a third of those that fit are
    // active.
    let data_passive = data_lens
        .iter()
        .map(|len| *len > memory_pages[0] * PAGE || rng.chance(2, 3))
        .collect();
    let table_sizes: Vec<u64> = (0..rng.range(1, 2)).map(|_| rng.range(1, 12)).collect();
    // The first element segment is active and fills table 0, so that most
    // indirect calls find a function; the others are mostly passive (active
    // and declarative segments are dropped at instantiation).
    let mut elem_lens = vec![table_sizes[0]];
    let mut elem_kinds = vec![0];
    for _ in 0..rng.range(1, 3) {
        let len = rng.range(0, 6);
        elem_lens.push(len);
        elem_kinds.push(match rng.below(8) {
            0 if len <= table_sizes[0] => 0,
            1 => 1,
            _ => 2,
        });
    }
    let shape = Shape {
        memory_pages,
        memory64: rng.chance(1, 4),
        data_lens,
        data_passive,
        table_sizes,
        elem_lens,
        elem_kinds,
    };
    let mut wat = String::from("(module\n");
    declarations(&mut rng, &shape, &mut wat);
    for f in 0..rng.range(1, 5) {
        function(&mut rng, &shape, f, &mut wat);
    }
    wat.push(')');
    Ok(wat::parse_str(&wat)?)
}

/// The types, memories, data, tables, elements and the four table targets.
fn declarations(rng: &mut Rng, shape: &Shape, wat: &mut String) {
    wat.push_str("  (type $t (func (param i32) (result i32)))\n");
    // `ref.func` in a body needs its function declared in some element segment.
    wat.push_str("  (elem declare func $k0 $k1 $k2 $k3)\n");
    for k in 0..4 {
        let _ = writeln!(
            wat,
            "  (func $k{k} (type $t) (i32.add (local.get 0) (i32.const {})))",
            k * 1000 + 1
        );
    }
    for (m, pages) in shape.memory_pages.iter().enumerate() {
        let index = if m == 0 && shape.memory64 { "i64 " } else { "" };
        let _ = writeln!(
            wat,
            "  (memory $m{m} (export \"m{m}\") {index}{pages} {})",
            pages + 2
        );
    }
    for (d, len) in shape.data_lens.iter().enumerate() {
        let mut bytes = vec![0u8; *len as usize];
        rng.fill(&mut bytes);
        let text: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        if !shape.data_passive[d] {
            let offset = rng.range(0, shape.memory_end(0) - len);
            let _ = writeln!(
                wat,
                "  (data $d{d} (memory $m0) ({} {offset}) \"{text}\")",
                shape.address_const()
            );
        } else {
            let _ = writeln!(wat, "  (data $d{d} \"{text}\")");
        }
    }
    for (t, size) in shape.table_sizes.iter().enumerate() {
        let _ = writeln!(
            wat,
            "  (table $tab{t} (export \"t{t}\") {size} {} funcref)",
            size + 8
        );
    }
    for (e, len) in shape.elem_lens.iter().enumerate() {
        let items: String = (0..*len)
            .map(|_| match rng.below(5) {
                4 => " (ref.null func)".to_string(),
                k => format!(" (ref.func $k{k})"),
            })
            .collect();
        let size = shape.table_sizes[0];
        match shape.elem_kinds[e] {
            0 => {
                let offset = if e == 0 { 0 } else { rng.range(0, size - len) };
                let _ = writeln!(
                    wat,
                    "  (elem $e{e} (table $tab0) (i32.const {offset}) funcref{items})"
                );
            }
            1 => {
                let _ = writeln!(wat, "  (elem $e{e} declare funcref{items})");
            }
            _ => {
                let _ = writeln!(wat, "  (elem $e{e} funcref{items})");
            }
        }
    }
}

/// One exported function `(param i32 i32 i32) (result i32)`: a few bulk
/// operations, then a load (or a call) whose value is the result.
fn function(rng: &mut Rng, shape: &Shape, index: u64, wat: &mut String) {
    let _ = writeln!(
        wat,
        "  (func (export \"f{index}\") (param i32 i32 i32) (result i32)"
    );
    // A third of the functions are "wild": a quarter of their operands
    // ignore bounds, so they mostly trap; the others stay in bounds and
    // mostly run to the end (they trap only on dropped segments and null
    // table entries).
    let wild = rng.chance(1, 3);
    for _ in 0..rng.range(1, 8) {
        let op = operation(rng, shape, wild);
        let _ = writeln!(wat, "    {op}");
    }
    let tail = if rng.chance(1, 3) {
        call_indirect(rng, shape, wild)
    } else {
        let end = shape.memory_end(0);
        if end < 8 {
            "(i32.const 0)".to_string()
        } else {
            let at = address_within(rng, end, &Operand::Const(8));
            format!("(i32.wrap_i64 (i64.load $m0 {}))", at.text(shape.memory64))
        }
    };
    let _ = writeln!(wat, "    {tail})");
}

/// One bulk operation as a folded instruction (with `drop` where it has a
/// result).
fn operation(rng: &mut Rng, shape: &Shape, wild: bool) -> String {
    let memories = shape.memory_pages.len() as u64;
    let tables = shape.table_sizes.len() as u64;
    match rng.below(14) {
        0..=2 => {
            let (dst, src) = (rng.below(memories) as usize, rng.below(memories) as usize);
            // The length's type is the narrower address type: 64-bit only
            // when both are memory 0 and it is 64-bit.
            let wide = dst == 0 && src == 0 && shape.memory64;
            let (d_end, s_end) = (shape.memory_end(dst), shape.memory_end(src));
            let (dst_at, src_at, len) = if keep_in_bounds(rng, wild) {
                let len = span_length(rng, d_end.min(s_end));
                (
                    address_within(rng, d_end, &len),
                    address_within(rng, s_end, &len),
                    len,
                )
            } else {
                let (l, d, s) = (
                    out_of_bounds(rng, d_end),
                    out_of_bounds(rng, d_end),
                    out_of_bounds(rng, s_end),
                );
                (d, s, l)
            };
            format!(
                "(memory.copy $m{dst} $m{src} {} {} {})",
                dst_at.text(shape.is_wide(dst)),
                src_at.text(shape.is_wide(src)),
                len.text(wide)
            )
        }
        3..=4 => {
            let m = rng.below(memories) as usize;
            let (at, len) = memory_span(rng, shape.memory_end(m), wild);
            let value = if rng.chance(1, 2) {
                Operand::Const(rng.range(0, 255))
            } else {
                Operand::Param(rng.below(3), None)
            };
            format!(
                "(memory.fill $m{m} {} {} {})",
                at.text(shape.is_wide(m)),
                value.text(false),
                len.text(shape.is_wide(m))
            )
        }
        5 => {
            let d = segment(rng, &shape.data_passive, wild);
            let m = rng.below(memories) as usize;
            let seg = shape.data_lens[d];
            let (offset, len) = segment_span(rng, seg, shape.memory_end(m), wild);
            let at = if keep_in_bounds(rng, wild) {
                address_within(rng, shape.memory_end(m), &len)
            } else {
                out_of_bounds(rng, shape.memory_end(m))
            };
            format!(
                "(memory.init $m{m} $d{d} {} {} {})",
                at.text(shape.is_wide(m)),
                offset.text(false),
                len.text(false)
            )
        }
        // Drops last for the instance's life, so they are rare.
        6 if rng.chance(1, 3) => {
            format!("(data.drop $d{})", rng.below(shape.data_lens.len() as u64))
        }
        7 => {
            let m = rng.below(memories) as usize;
            let delta = Operand::Const(rng.range(0, 1));
            format!(
                "(drop (memory.grow $m{m} {}))",
                delta.text(shape.is_wide(m))
            )
        }
        8 => {
            let (dst, src) = (rng.below(tables), rng.below(tables));
            let (d_size, s_size) = (
                shape.table_sizes[dst as usize],
                shape.table_sizes[src as usize],
            );
            let len = if keep_in_bounds(rng, wild) {
                Operand::Const(rng.range(0, d_size.min(s_size)))
            } else {
                out_of_bounds(rng, d_size)
            };
            format!(
                "(table.copy $tab{dst} $tab{src} {} {} {})",
                address_within(rng, d_size, &len).text(false),
                address_within(rng, s_size, &len).text(false),
                len.text(false)
            )
        }
        9 => {
            let t = rng.below(tables);
            let passive: Vec<bool> = shape.elem_kinds.iter().map(|k| *k == 2).collect();
            let e = segment(rng, &passive, wild);
            let (offset, len) =
                segment_span(rng, shape.elem_lens[e], shape.table_sizes[t as usize], wild);
            format!(
                "(table.init $tab{t} $e{e} {} {} {})",
                address_within(rng, shape.table_sizes[t as usize], &len).text(false),
                offset.text(false),
                len.text(false)
            )
        }
        10 if rng.chance(1, 3) => {
            format!("(elem.drop $e{})", rng.below(shape.elem_lens.len() as u64))
        }
        6 | 10 => "(nop)".to_string(),
        _ => {
            let t = rng.below(tables);
            let size = shape.table_sizes[t as usize];
            let value = match rng.below(5) {
                4 => "(ref.null func)".to_string(),
                k => format!("(ref.func $k{k})"),
            };
            let index = table_index(rng, size, wild).text(false);
            match rng.below(4) {
                0 => {
                    let len = Operand::Const(rng.range(0, size));
                    format!(
                        "(table.fill $tab{t} {} {value} {})",
                        address_within(rng, size, &len).text(false),
                        len.text(false)
                    )
                }
                1 => format!(
                    "(drop (table.grow $tab{t} {value} (i32.const {})))",
                    rng.range(0, 3)
                ),
                2 => format!("(table.set $tab{t} {index} {value})"),
                _ => format!("(drop (ref.is_null (table.get $tab{t} {index})))"),
            }
        }
    }
}

/// A `call_indirect` through a table, with the first parameter as argument.
fn call_indirect(rng: &mut Rng, shape: &Shape, wild: bool) -> String {
    let t = rng.below(shape.table_sizes.len() as u64);
    format!(
        "(call_indirect $tab{t} (type $t) (local.get 0) {})",
        table_index(rng, shape.table_sizes[t as usize], wild).text(false)
    )
}

impl Shape {
    /// The `iNN.const` of memory 0's address type (for active data offsets).
    fn address_const(&self) -> &'static str {
        if self.memory64 {
            "i64.const"
        } else {
            "i32.const"
        }
    }

    /// Memory `m`'s initial size in bytes.
    fn memory_end(&self, m: usize) -> u64 {
        self.memory_pages[m] * PAGE
    }

    /// Whether memory `m` takes 64-bit addresses.
    fn is_wide(&self, m: usize) -> bool {
        m == 0 && self.memory64
    }
}

/// A segment index for `memory.init`/`table.init`: a passive segment when
/// there is one and [`keep_in_bounds`] says so (active and declarative
/// segments are dropped, so initialising from them traps), else any.
fn segment(rng: &mut Rng, passive: &[bool], wild: bool) -> usize {
    let candidates: Vec<usize> = (0..passive.len()).filter(|&i| passive[i]).collect();
    if !candidates.is_empty() && keep_in_bounds(rng, wild) {
        *rng.pick(&candidates)
    } else {
        rng.below(passive.len() as u64) as usize
    }
}

/// Whether the next operand stays in bounds: always in a tame function,
/// three times in four in a wild one.
fn keep_in_bounds(rng: &mut Rng, wild: bool) -> bool {
    !wild || rng.chance(3, 4)
}

/// An address and a length in a memory of `end` bytes: in bounds unless
/// [`keep_in_bounds`] says otherwise.
fn memory_span(rng: &mut Rng, end: u64, wild: bool) -> (Operand, Operand) {
    if keep_in_bounds(rng, wild) {
        let len = span_length(rng, end);
        (address_within(rng, end, &len), len)
    } else {
        (out_of_bounds(rng, end), out_of_bounds(rng, end))
    }
}

/// A length that fits in `end`: around the inline limits (128 and 256
/// bytes), small, 0, the whole memory, or a masked parameter.
fn span_length(rng: &mut Rng, end: u64) -> Operand {
    let len = match rng.below(5) {
        0 => Operand::Const(*rng.pick(&[0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33])),
        1 => Operand::Const(*rng.pick(&[127, 128, 129, 255, 256, 257])),
        2 => Operand::Const(rng.range(0, 1024)),
        3 => Operand::Const(end),
        _ => Operand::Param(rng.below(3), Some(0xff)),
    };
    if len.max() <= end {
        len
    } else {
        Operand::Const(rng.range(0, end))
    }
}

/// A start such that `[start, start + len)` stays within `end`: at 0, near 0,
/// flush with the end, or a masked parameter when there is room for it.
fn address_within(rng: &mut Rng, end: u64, len: &Operand) -> Operand {
    let room = end.saturating_sub(len.max());
    match rng.below(4) {
        0 => Operand::Const(rng.range(0, room.min(64))),
        1 => Operand::Const(room),
        2 if room >= 0xffff => Operand::Param(rng.below(3), Some(0xffff)),
        2 if room >= 0xff => Operand::Param(rng.below(3), Some(0xff)),
        _ => Operand::Const(rng.range(0, room)),
    }
}

/// An operand with no care for bounds: just past `end`, a raw parameter
/// (mostly far out of bounds) or a masked one.
fn out_of_bounds(rng: &mut Rng, end: u64) -> Operand {
    match rng.below(3) {
        0 => Operand::Const(end + rng.range(1, 300)),
        1 => Operand::Param(rng.below(3), None),
        _ => Operand::Param(rng.below(3), Some(0x1ffff)),
    }
}

/// An offset and a length inside a segment of `len` entries, the length no
/// more than `room` (the destination's size), unless [`keep_in_bounds`] says
/// otherwise.
fn segment_span(rng: &mut Rng, len: u64, room: u64, wild: bool) -> (Operand, Operand) {
    if keep_in_bounds(rng, wild) {
        let n = Operand::Const(rng.range(0, len.min(room)));
        (address_within(rng, len, &n), n)
    } else {
        (out_of_bounds(rng, len), out_of_bounds(rng, len))
    }
}

/// A table index for a table of `size` entries: in bounds when the table
/// has entries, unless [`keep_in_bounds`] says otherwise.
fn table_index(rng: &mut Rng, size: u64, wild: bool) -> Operand {
    if size > 0 && keep_in_bounds(rng, wild) {
        Operand::Const(rng.range(0, size - 1))
    } else {
        out_of_bounds(rng, size)
    }
}

/// An operand: a constant, or parameter `i` masked (or not).
enum Operand {
    Const(u64),
    Param(u64, Option<u64>),
}

impl Operand {
    /// The largest value the operand can take (for a raw parameter, the
    /// largest unsigned 32-bit value).
    fn max(&self) -> u64 {
        match self {
            Operand::Const(v) => *v,
            Operand::Param(_, mask) => mask.unwrap_or(u64::from(u32::MAX)),
        }
    }

    /// The folded instruction giving the operand as an i32 (or an i64 for
    /// a 64-bit memory's addresses and lengths).
    fn text(&self, wide: bool) -> String {
        let param = |i: &u64| {
            if wide {
                format!("(i64.extend_i32_u (local.get {i}))")
            } else {
                format!("(local.get {i})")
            }
        };
        let ty = if wide { "i64" } else { "i32" };
        match self {
            Operand::Const(v) => format!("({ty}.const {v})"),
            Operand::Param(i, None) => param(i),
            Operand::Param(i, Some(mask)) => format!("({ty}.and {} ({ty}.const {mask}))", param(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    /// Generated modules contain the operations they are for (a generator
    /// that silently produced empty functions would check nothing).
    #[test]
    fn modules_are_valid_and_contain_bulk_operations() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let wasm = super::module(seed).expect("generated text parses");
            wasmparser::Validator::new()
                .validate_all(&wasm)
                .expect("generated module validates");
            let text = wasmprinter::print_bytes(&wasm).expect("prints");
            for op in [
                "memory.copy",
                "memory.fill",
                "memory.init",
                "table.copy",
                "table.init",
                "call_indirect",
            ] {
                if text.contains(op) {
                    seen.insert(op);
                }
            }
        }
        assert_eq!(seen.len(), 6, "operations seen in 200 modules: {seen:?}");
    }
}

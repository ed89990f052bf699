//! JSON: writes a generated document of `n` records, then tokenizes and parses
//! it into a tree (objects, arrays, strings with escapes, numbers with
//! fractions and exponents, literals) and walks the tree; checksum of the walk.

use crate::rng::{fold, Rng};

/// A parsed JSON value.
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// A recursive-descent parser over the document's bytes.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.pos) == Some(&b)).then(|| self.pos += 1)
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        match *self.s.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.s.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Some(Value::Object(fields));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.expect(b':')?;
                    fields.push((key, self.value()?));
                    self.ws();
                    match *self.s.get(self.pos)? {
                        b',' => self.pos += 1,
                        b'}' => {
                            self.pos += 1;
                            return Some(Value::Object(fields));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Some(Value::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match *self.s.get(self.pos)? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            return Some(Value::Array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Value::String),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            _ => self.number().map(Value::Number),
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Option<Value> {
        self.s[self.pos..].starts_with(word).then(|| {
            self.pos += word.len();
            v
        })
    }

    fn string(&mut self) -> Option<String> {
        if self.s.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = *self.s.get(self.pos)?;
            self.pos += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = *self.s.get(self.pos)?;
                    self.pos += 1;
                    out.push(match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'u' => {
                            let hex =
                                std::str::from_utf8(self.s.get(self.pos..self.pos + 4)?).ok()?;
                            self.pos += 4;
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                        }
                        other => char::from(other),
                    });
                }
                _ => out.push(char::from(c)),
            }
        }
    }

    fn digits(&mut self) -> (f64, i32) {
        let (mut v, mut count) = (0.0, 0);
        while let Some(d @ b'0'..=b'9') = self.s.get(self.pos).copied() {
            v = v * 10.0 + f64::from(d - b'0');
            count += 1;
            self.pos += 1;
        }
        (v, count)
    }

    fn number(&mut self) -> Option<f64> {
        let negative = self.s.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let (mut v, n) = self.digits();
        if n == 0 {
            return None;
        }
        let mut exp = 0;
        if self.s.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let (frac, n) = self.digits();
            v += frac / 10f64.powi(n);
        }
        if matches!(self.s.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            let sign = if self.s.get(self.pos) == Some(&b'-') {
                -1
            } else {
                1
            };
            if matches!(self.s.get(self.pos), Some(b'-' | b'+')) {
                self.pos += 1;
            }
            exp = sign * self.digits().0 as i32;
        }
        v *= 10f64.powi(exp);
        Some(if negative { -v } else { v })
    }
}

/// Parses a whole document; `None` if it is not (this parser's subset of) JSON.
pub fn parse(s: &[u8]) -> Option<Value> {
    let mut p = Parser { s, pos: 0 };
    let v = p.value()?;
    p.ws();
    (p.pos == s.len()).then_some(v)
}

fn push_int(out: &mut String, mut x: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

const NAMES: &[&str] = &[
    "ada", "grace", "edsger", "barbara", "tony", "don", "frances", "niklaus",
];

/// A document of `n` records with nested objects, arrays, escapes and numbers.
fn document(n: u32) -> String {
    let mut rng = Rng::new(0x150e);
    let mut s = String::from("{\"records\": [\n");
    for i in 0..n {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str("  {\"id\": ");
        push_int(&mut s, i);
        s.push_str(", \"name\": \"");
        s.push_str(NAMES[rng.below(8) as usize]);
        s.push_str("\\n\\u00e9\", \"score\": -");
        push_int(&mut s, rng.below(1000));
        s.push('.');
        push_int(&mut s, rng.below(1000));
        s.push_str("e-2, \"ok\": ");
        s.push_str(if rng.below(2) == 0 { "true" } else { "false" });
        s.push_str(", \"tags\": [");
        for t in 0..rng.below(6) {
            if t > 0 {
                s.push_str(", ");
            }
            s.push('"');
            s.push_str(NAMES[rng.below(8) as usize]);
            s.push('"');
        }
        s.push_str("], \"pos\": {\"x\": ");
        push_int(&mut s, rng.below(100_000));
        s.push_str(", \"y\": [");
        push_int(&mut s, rng.below(10));
        s.push_str(", null, ");
        push_int(&mut s, rng.below(10));
        s.push_str("]}}");
    }
    s.push_str("\n]}\n");
    s
}

/// Mixes every value of the tree into `acc`.
fn walk(v: &Value, acc: &mut u64) {
    let mix = |acc: &mut u64, x: u64| *acc = (*acc ^ x).wrapping_mul(0x100_0000_01b3);
    match v {
        Value::Null => mix(acc, 1),
        Value::Bool(b) => mix(acc, 2 + u64::from(*b)),
        Value::Number(x) => mix(acc, x.to_bits()),
        Value::String(s) => s.chars().for_each(|c| mix(acc, u64::from(c))),
        Value::Array(items) => {
            mix(acc, items.len() as u64);
            items.iter().for_each(|i| walk(i, acc));
        }
        Value::Object(fields) => {
            mix(acc, fields.len() as u64 + 1000);
            for (k, v) in fields {
                k.chars().for_each(|c| mix(acc, u64::from(c)));
                walk(v, acc);
            }
        }
    }
}

/// Writes and parses an `n`-record document four times; checksum of the tree
/// (0 if it fails to parse).
pub fn run(n: u32) -> u32 {
    let doc = document(n);
    let mut acc = 0xcbf2_9ce4_8422_2325;
    for _ in 0..4 {
        match parse(doc.as_bytes()) {
            Some(v) => walk(&v, &mut acc),
            None => return 0,
        }
    }
    fold(acc)
}

#[cfg(test)]
mod tests {
    use super::{parse, Value};

    #[test]
    fn parses() {
        let v = parse(br#"{"a": [1, -2.5e1, true, null, "x\n\u00e9"], "b": {}}"#).unwrap();
        let Value::Object(fields) = v else {
            panic!("an object")
        };
        assert_eq!(fields[0].0, "a");
        let Value::Array(items) = &fields[0].1 else {
            panic!("an array")
        };
        assert!(matches!(items[1], Value::Number(x) if x == -25.0));
        assert!(matches!(&items[4], Value::String(s) if s == "x\n\u{e9}"));
        assert!(parse(b"[1, 2").is_none());
        assert!(parse(b"{\"a\" 1}").is_none());
    }
}

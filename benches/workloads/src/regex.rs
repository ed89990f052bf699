//! A backtracking regular-expression matcher (literals, `.`, classes `[a-z]`
//! and `[^…]`, groups, `|`, `*`, `+`, `?`, `^`, `$`, `\` escapes) compiled to a
//! small instruction list and run with an explicit backtrack stack, searching
//! `n` generated lines of text for a few patterns; checksum of where they match.

use crate::rng::Rng;

#[derive(Clone, Copy)]
enum Inst {
    Byte(u8),
    Any,
    Class([u64; 4]),
    /// Try the first target, backtrack to the second.
    Split(usize, usize),
    Jump(usize),
    LineStart,
    LineEnd,
    Match,
}

struct Parser<'a> {
    pat: &'a [u8],
    pos: usize,
    prog: Vec<Inst>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.pat.get(self.pos).copied()
    }

    fn alternation(&mut self) {
        let start = self.prog.len();
        self.sequence();
        if self.peek() == Some(b'|') {
            self.pos += 1;
            self.prog.insert(start, Inst::Split(0, 0));
            self.shift(start + 1, 1);
            let jump = self.prog.len();
            self.prog.push(Inst::Jump(0));
            let second = self.prog.len();
            self.alternation();
            let end = self.prog.len();
            self.prog[start] = Inst::Split(start + 1, second);
            self.prog[jump] = Inst::Jump(end);
        }
    }

    fn sequence(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            let start = self.prog.len();
            self.atom();
            match self.peek() {
                Some(b'*') => {
                    self.pos += 1;
                    self.prog.insert(start, Inst::Split(0, 0));
                    self.shift(start + 1, 1);
                    self.prog.push(Inst::Jump(start));
                    let end = self.prog.len();
                    self.prog[start] = Inst::Split(start + 1, end);
                }
                Some(b'+') => {
                    self.pos += 1;
                    let end = self.prog.len() + 1;
                    self.prog.push(Inst::Split(start, end));
                }
                Some(b'?') => {
                    self.pos += 1;
                    self.prog.insert(start, Inst::Split(0, 0));
                    self.shift(start + 1, 1);
                    let end = self.prog.len();
                    self.prog[start] = Inst::Split(start + 1, end);
                }
                _ => {}
            }
        }
    }

    /// Moves the jump targets of instructions from `from` on by `by` after an insertion.
    fn shift(&mut self, from: usize, by: usize) {
        for inst in &mut self.prog[from..] {
            match inst {
                Inst::Split(a, b) => {
                    *a += by;
                    *b += by;
                }
                Inst::Jump(a) => *a += by,
                _ => {}
            }
        }
    }

    fn atom(&mut self) {
        let c = self.pat[self.pos];
        self.pos += 1;
        let inst = match c {
            b'.' => Inst::Any,
            b'^' => Inst::LineStart,
            b'$' => Inst::LineEnd,
            b'\\' => {
                self.pos += 1;
                Inst::Byte(self.pat[self.pos - 1])
            }
            b'(' => {
                self.alternation();
                self.pos += 1; // ')'
                return;
            }
            b'[' => {
                let negate = self.peek() == Some(b'^');
                if negate {
                    self.pos += 1;
                }
                let mut set = [0u64; 4];
                while self.pat[self.pos] != b']' {
                    let lo = self.pat[self.pos];
                    let mut hi = lo;
                    if self.pat[self.pos + 1] == b'-' && self.pat[self.pos + 2] != b']' {
                        hi = self.pat[self.pos + 2];
                        self.pos += 2;
                    }
                    self.pos += 1;
                    for b in lo..=hi {
                        set[usize::from(b / 64)] |= 1 << (b % 64);
                    }
                }
                self.pos += 1;
                if negate {
                    set = set.map(|w| !w);
                }
                Inst::Class(set)
            }
            _ => Inst::Byte(c),
        };
        self.prog.push(inst);
    }
}

/// A compiled pattern.
pub struct Regex(Vec<Inst>);

impl Regex {
    /// Compiles `pattern` (the syntax above; the patterns are the workload's own, well formed).
    pub fn new(pattern: &str) -> Self {
        let mut p = Parser {
            pat: pattern.as_bytes(),
            pos: 0,
            prog: Vec::new(),
        };
        p.alternation();
        p.prog.push(Inst::Match);
        Regex(p.prog)
    }

    /// Whether the pattern matches `line` starting exactly at `at`; the end of the match.
    fn match_at(&self, line: &[u8], at: usize, stack: &mut Vec<(usize, usize)>) -> Option<usize> {
        stack.clear();
        stack.push((0, at));
        while let Some((mut pc, mut pos)) = stack.pop() {
            loop {
                match self.0[pc] {
                    Inst::Byte(b) if line.get(pos) == Some(&b) => pos += 1,
                    Inst::Any if pos < line.len() => pos += 1,
                    Inst::Class(set) if pos < line.len() => {
                        let b = line[pos];
                        if set[usize::from(b / 64)] & (1 << (b % 64)) == 0 {
                            break;
                        }
                        pos += 1;
                    }
                    Inst::Split(a, b) => {
                        stack.push((b, pos));
                        pc = a;
                        continue;
                    }
                    Inst::Jump(a) => {
                        pc = a;
                        continue;
                    }
                    Inst::LineStart if pos == 0 => {}
                    Inst::LineEnd if pos == line.len() => {}
                    Inst::Match => return Some(pos),
                    _ => break,
                }
                pc += 1;
            }
        }
        None
    }

    /// The first match in `line`: its start and end.
    pub fn find(&self, line: &[u8], stack: &mut Vec<(usize, usize)>) -> Option<(usize, usize)> {
        (0..=line.len()).find_map(|at| self.match_at(line, at, stack).map(|end| (at, end)))
    }
}

const WORDS: &[&str] = &[
    "the",
    "what",
    "thing",
    "where",
    "which",
    "nothing",
    "quiet",
    "query",
    "qat",
    "abcdab",
    "running",
    "whistling",
    "thinking",
    "stone",
    "river",
    "a",
    "cdefx",
    "mail",
    "example",
    "org",
];

/// `n` lines of words, numbers and addresses, from a fixed seed.
fn text(n: u32) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x4e6e);
    (0..n)
        .map(|_| {
            let mut line = Vec::new();
            for w in 0..8 + rng.below(8) {
                if w > 0 {
                    line.push(b' ');
                }
                match rng.below(10) {
                    0 => line.extend_from_slice(
                        format!("{}.{}", rng.below(1000), rng.below(100)).as_bytes(),
                    ),
                    1 => line.extend_from_slice(
                        format!(
                            "{}@{}.{}",
                            WORDS[rng.below(20) as usize],
                            WORDS[rng.below(20) as usize],
                            ["com", "org", "net"][rng.below(3) as usize]
                        )
                        .as_bytes(),
                    ),
                    _ => line.extend_from_slice(WORDS[rng.below(20) as usize].as_bytes()),
                }
            }
            line
        })
        .collect()
}

const PATTERNS: &[&str] = &[
    "(th|wh)[a-z]*ing",
    "[0-9]+\\.[0-9]+",
    "^[a-z]+ (a|the) [a-z]+",
    "q[^u ]",
    "[a-z]+@[a-z]+\\.(com|org)",
    "(ab|cd|ef)+x",
    "r.*n.*g$",
];

/// Searches `n` generated lines for every pattern; the checksum mixes each
/// match's line, start and end.
pub fn run(n: u32) -> u32 {
    let lines = text(n);
    let mut stack = Vec::new();
    let mut sum = 0u32;
    for (p, pattern) in PATTERNS.iter().enumerate() {
        let re = Regex::new(pattern);
        for (i, line) in lines.iter().enumerate() {
            if let Some((start, end)) = re.find(line, &mut stack) {
                sum = sum.wrapping_mul(16_777_619).wrapping_add(
                    ((i * 7 + p) as u32) ^ ((start as u32) << 8) ^ ((end as u32) << 20),
                );
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn find(p: &str, s: &str) -> Option<(usize, usize)> {
        Regex::new(p).find(s.as_bytes(), &mut Vec::new())
    }

    #[test]
    fn matches() {
        assert_eq!(find("(th|wh)[a-z]*ing", "a whistling x"), Some((2, 11)));
        assert_eq!(find("[0-9]+\\.[0-9]+", "x 12.5 y"), Some((2, 6)));
        assert_eq!(find("[0-9]+\\.[0-9]+", "x 12 y"), None);
        assert_eq!(
            find("^[a-z]+ (a|the) [a-z]+", "see the river"),
            Some((0, 13))
        );
        assert_eq!(find("^[a-z]+ (a|the) [a-z]+", "x see the river"), None);
        assert_eq!(find("q[^u ]", "quiet qat"), Some((6, 8)));
        assert_eq!(find("(ab|cd|ef)+x", "abcdab cdefx"), Some((7, 12)));
        assert_eq!(find("r.*n.*g$", "river running"), Some((0, 13)));
        assert_eq!(find("r.*n.*g$", "running river"), None);
        assert_eq!(find("colou?r", "color"), Some((0, 5)));
    }
}

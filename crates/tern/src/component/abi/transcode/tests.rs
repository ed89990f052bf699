//! `store_string` against the canonical ABI's text: for each of the nine
//! encoding pairs (and both halves of latin1+utf16), the exact `realloc`
//! calls (worked out by hand from `CanonicalABI.md`, not from the code under
//! test), the bytes that end up in memory, the in-place inflation and
//! deflation (observable with a `realloc` that moves without copying), and
//! the length limit.

use super::*;
use tern_environ::component::StringEncoding::{CompactUtf16, Utf16, Utf8};

/// One `realloc(old, old_size, align, new_size)` call.
type Call = (u32, u64, u32, u64);

/// A receiver with a bump allocator that records its calls. It shrinks in
/// place; a grown block moves and is copied (like a real `realloc`) unless
/// `copy` is off, in which case new blocks are filled with `0xaa`, so tests
/// can see what the spec reads back from the new block.
struct Mock {
    src: Vec<u8>,
    memory: Vec<u8>,
    next: u32,
    copy: bool,
    calls: Vec<Call>,
}

impl Mock {
    fn new(src: Vec<u8>, copy: bool) -> Self {
        Mock {
            src,
            memory: vec![0; 4096],
            next: 16,
            copy,
            calls: Vec::new(),
        }
    }
}

impl Target for Mock {
    fn split(&mut self) -> Result<(&[u8], &mut [u8])> {
        Ok((&self.src, &mut self.memory))
    }

    fn realloc(&mut self, old: u32, old_size: u64, align: u32, size: u64) -> Result<u32> {
        self.calls.push((old, old_size, align, size));
        if old != 0 && size <= old_size {
            return Ok(old);
        }
        let ptr = self.next.next_multiple_of(align);
        self.next = ptr + size as u32 + 8;
        let (p, n) = (ptr as usize, size as usize);
        if self.copy {
            let keep = old_size.min(size) as usize;
            self.memory
                .copy_within(old as usize..old as usize + keep, p);
        } else {
            self.memory[p..p + n].fill(0xaa);
        }
        Ok(ptr)
    }
}

fn bytes_of(s: &str, format: Simple) -> Vec<u8> {
    match format {
        Simple::Utf8 => s.as_bytes().to_vec(),
        Simple::Utf16 => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Simple::Latin1 => s.chars().map(|c| u32::from(c) as u8).collect(),
    }
}

/// Stores `s` produced by a side using `src` (for latin1+utf16: `utf16`
/// says which half) into a `dst` receiver, with the source bytes in the
/// producer's format (as a compiled adapter reads them) and as UTF-8 (as
/// the host path holds them); both must agree. Returns the calls, the
/// tagged length and the bytes stored.
fn store(
    s: &str,
    src: StringEncoding,
    utf16: bool,
    dst: StringEncoding,
) -> (Vec<Call>, u32, Vec<u8>) {
    let hint = Hint::of_str(src, s, Some(utf16));
    let mut results = Vec::new();
    for format in [hint.simple, Simple::Utf8] {
        let mut m = Mock::new(bytes_of(s, format), true);
        let (ptr, len) = store_string(&mut m, format, hint, dst).expect("stores");
        let byte_len = match dst {
            Utf8 => len as usize,
            Utf16 => 2 * len as usize,
            CompactUtf16 if len & UTF16_TAG != 0 => 2 * (len ^ UTF16_TAG) as usize,
            CompactUtf16 => len as usize,
        };
        let stored = m.memory[ptr as usize..ptr as usize + byte_len].to_vec();
        results.push((m.calls, len, stored));
    }
    assert_eq!(results[0], results[1], "{s:?}: memory source vs str source");
    results.remove(0)
}

const P: u32 = 16; // the mock's first block

#[test]
fn utf8_to_utf8_copies_exactly() {
    let (calls, len, bytes) = store("a☃", Utf8, false, Utf8);
    assert_eq!(calls, [(0, 0, 1, 4)]);
    assert_eq!((len, bytes), (4, "a☃".as_bytes().to_vec()));
    let (calls, len, _) = store("", Utf8, false, Utf8);
    assert_eq!((calls, len), (vec![(0, 0, 1, 0)], 0));
}

#[test]
fn utf16_to_utf8_guesses_then_grows_and_shrinks() {
    let (calls, len, bytes) = store("abc", Utf16, false, Utf8);
    assert_eq!(
        (calls, len, bytes),
        (vec![(0, 0, 1, 3)], 3, b"abc".to_vec())
    );
    // "aé": 2 units, 3 bytes: worst case 3 * 2.
    let (calls, len, bytes) = store("aé", Utf16, false, Utf8);
    let p2 = P + 2 + 8;
    assert_eq!(calls, [(0, 0, 1, 2), (P, 2, 1, 6), (p2, 6, 1, 3)]);
    assert_eq!((len, bytes), (3, "aé".as_bytes().to_vec()));
    // An astral code point: 3 units, 5 bytes.
    let (calls, len, _) = store("a🍰", Utf16, false, Utf8);
    assert_eq!(
        calls.iter().map(|c| (c.1, c.3)).collect::<Vec<_>>(),
        [(0, 3), (3, 9), (9, 5)]
    );
    assert_eq!(len, 5);
    // The empty string still allocates.
    assert_eq!(store("", Utf16, false, Utf8).0, [(0, 0, 1, 0)]);
}

#[test]
fn latin1_to_utf8_uses_twice_the_units_as_worst_case() {
    let (calls, len, _) = store("aé", CompactUtf16, false, Utf8);
    assert_eq!(
        calls.iter().map(|c| (c.1, c.3)).collect::<Vec<_>>(),
        [(0, 2), (2, 4), (4, 3)]
    );
    assert_eq!(len, 3);
    // Worst case reached exactly: no shrink.
    let (calls, _, bytes) = store("éé", CompactUtf16, false, Utf8);
    assert_eq!(
        calls.iter().map(|c| (c.1, c.3)).collect::<Vec<_>>(),
        [(0, 2), (2, 4)]
    );
    assert_eq!(bytes, "éé".as_bytes());
    // The same Latin-1 text tagged UTF-16 by its producer is transcoded as
    // UTF-16 (worst case 3 bytes per unit).
    let (calls, _, _) = store("aé", CompactUtf16, true, Utf8);
    assert_eq!(
        calls.iter().map(|c| (c.1, c.3)).collect::<Vec<_>>(),
        [(0, 2), (2, 6), (6, 3)]
    );
}

#[test]
fn utf8_to_utf16_allocates_the_worst_case_then_shrinks() {
    let (calls, len, bytes) = store("a☃", Utf8, false, Utf16);
    assert_eq!(calls, [(0, 0, 2, 8), (P, 8, 2, 4)]);
    assert_eq!((len, bytes), (2, bytes_of("a☃", Simple::Utf16)));
    let (calls, len, _) = store("ab", Utf8, false, Utf16);
    assert_eq!((calls, len), (vec![(0, 0, 2, 4)], 2));
}

#[test]
fn into_utf16_from_utf16_or_latin1_copies() {
    for (src, utf16) in [(Utf16, false), (CompactUtf16, false), (CompactUtf16, true)] {
        let (calls, len, bytes) = store("aé", src, utf16, Utf16);
        assert_eq!(calls, [(0, 0, 2, 4)], "{src:?} {utf16}");
        assert_eq!((len, bytes), (2, bytes_of("aé", Simple::Utf16)));
    }
    let (calls, len, _) = store("a🍰", Utf16, false, Utf16);
    assert_eq!((calls, len), (vec![(0, 0, 2, 6)], 3));
}

#[test]
fn into_latin1_or_utf16_tries_latin1_first() {
    for src in [Utf8, Utf16] {
        let (calls, len, bytes) = store("ab", src, false, CompactUtf16);
        assert_eq!((calls, len, bytes), (vec![(0, 0, 2, 2)], 2, b"ab".to_vec()));
    }
    // UTF-8 "é" is 2 source units but 1 Latin-1 byte: shrink.
    let (calls, len, bytes) = store("é", Utf8, false, CompactUtf16);
    assert_eq!(calls, [(0, 0, 2, 2), (P, 2, 2, 1)]);
    assert_eq!((len, bytes), (1, vec![0xe9]));
    // A code point past Latin-1: grow to 2 * units, inflate, shrink.
    let (calls, len, bytes) = store("a☃", Utf8, false, CompactUtf16);
    assert_eq!(
        calls.iter().map(|c| (c.1, c.2, c.3)).collect::<Vec<_>>(),
        [(0, 2, 4), (4, 2, 8), (8, 2, 4)]
    );
    assert_eq!((len, bytes), (2 | UTF16_TAG, bytes_of("a☃", Simple::Utf16)));
    // From UTF-16 the worst case is exact: no shrink.
    let (calls, len, _) = store("a🍰", Utf16, false, CompactUtf16);
    assert_eq!(
        calls.iter().map(|c| (c.1, c.3)).collect::<Vec<_>>(),
        [(0, 3), (3, 6)]
    );
    assert_eq!(len, 3 | UTF16_TAG);
}

#[test]
fn latin1_or_utf16_to_itself() {
    // Latin-1 is copied (alignment 2).
    let (calls, len, bytes) = store("aé", CompactUtf16, false, CompactUtf16);
    assert_eq!(
        (calls, len, bytes),
        (vec![(0, 0, 2, 2)], 2, vec![b'a', 0xe9])
    );
    // Tagged UTF-16 that needs it stays UTF-16 with one allocation.
    let (calls, len, _) = store("a☃", CompactUtf16, true, CompactUtf16);
    assert_eq!((calls, len), (vec![(0, 0, 2, 4)], 2 | UTF16_TAG));
    // Tagged UTF-16 that fits Latin-1 is deflated and shrunk (alignment 1).
    let (calls, len, bytes) = store("aé", CompactUtf16, true, CompactUtf16);
    assert_eq!(calls, [(0, 0, 2, 4), (P, 4, 1, 2)]);
    assert_eq!((len, bytes), (2, vec![b'a', 0xe9]));
    let (calls, len, _) = store("", CompactUtf16, true, CompactUtf16);
    assert_eq!((calls, len), (vec![(0, 0, 2, 0), (P, 0, 1, 0)], 0));
}

/// With a `realloc` that moves without copying, what the spec writes before
/// a `realloc` is lost and what it reads back after one is the new block's
/// contents: exactly that must show.
#[test]
fn in_place_steps_read_the_receivers_memory() {
    let run = |s: &str, src, utf16, dst| {
        let hint = Hint::of_str(src, s, Some(utf16));
        let mut m = Mock::new(s.as_bytes().to_vec(), false);
        let (ptr, len) = store_string(&mut m, Simple::Utf8, hint, dst).expect("stores");
        (m.memory, ptr as usize, len)
    };
    // Latin-1 "é" written, then the block moves: the inflation reads 0xaa.
    let (mem, ptr, len) = run("é☃", Utf8, false, CompactUtf16);
    assert_eq!(len, 2 | UTF16_TAG);
    assert_eq!(&mem[ptr..ptr + 4], &[0xaa, 0, 0x03, 0x26]);
    // The ASCII prefix of a UTF-8 result is lost the same way.
    let (mem, ptr, len) = run("ab☃", Utf16, false, Utf8);
    assert_eq!(len, 5);
    assert_eq!(&mem[ptr..ptr + 5], &[0xaa, 0xaa, 0xe2, 0x98, 0x83]);
}

#[test]
fn lengths_past_the_limit_trap_before_any_realloc() {
    let cases = [
        (Utf8, Simple::Utf8, 1u64 << 31, Utf8),
        (Utf8, Simple::Utf8, (1 << 31) - 1, Utf16),
        (Utf16, Simple::Utf16, 1 << 30, Utf16),
        (CompactUtf16, Simple::Latin1, 1 << 30, Utf16),
        (CompactUtf16, Simple::Utf16, 1 << 30, CompactUtf16),
        (Utf8, Simple::Utf8, 1 << 31, CompactUtf16),
    ];
    for (encoding, simple, units, dst) in cases {
        let hint = Hint {
            encoding,
            simple,
            units,
        };
        let mut m = Mock::new(Vec::new(), true);
        let err = store_string(&mut m, Simple::Utf8, hint, dst).unwrap_err();
        let t = err
            .downcast_ref::<crate::component::ComponentTrap>()
            .expect("a trap");
        assert_eq!(
            t.kind(),
            ComponentTrapKind::LengthOverflow,
            "{hint:?} -> {dst:?}"
        );
        assert!(
            t.message().starts_with("string too large"),
            "{}",
            t.message()
        );
        assert!(m.calls.is_empty(), "{hint:?} -> {dst:?}: {:?}", m.calls);
    }
    // Exactly at the limit a copy is allowed (and asks for that size).
    let hint = Hint {
        encoding: Utf8,
        simple: Simple::Utf8,
        units: MAX_STRING_BYTE_LENGTH,
    };
    let mut m = Mock::new(Vec::new(), true);
    let _ = store_string(&mut m, Simple::Utf8, hint, Utf8);
    assert_eq!(m.calls, [(0, 0, 1, MAX_STRING_BYTE_LENGTH)]);
}

#[test]
fn invalid_sources_are_refused_with_the_lift_messages() {
    let err = validate(&[0x61, 0xff], Simple::Utf8).unwrap_err();
    assert!(format!("{err}").contains("invalid utf-8"), "{err}");
    let err = validate(&0xd800u16.to_le_bytes(), Simple::Utf16).unwrap_err();
    assert_eq!(
        err.downcast_ref::<crate::component::ComponentTrap>()
            .map(|t| t.message()),
        Some("invalid utf-16: unpaired surrogate 0xd800")
    );
    validate(&[0xff, 0x00], Simple::Latin1).expect("every byte is Latin-1");
    validate(&bytes_of("a🍰", Simple::Utf16), Simple::Utf16).expect("a valid pair");
}

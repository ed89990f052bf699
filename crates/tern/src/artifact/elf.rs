//! The container of a precompiled artifact: an ELF file (written and read with the
//! `object` crate) with three sections Tern cares about.
//!
//! * `.text`: all the module's machine code, position-independent and already
//!   linked (no relocations). Its file offset and size are multiples of
//!   [`TEXT_ALIGN`], so `Module::deserialize_file` can map the file and flip the
//!   text pages to read-execute in place, and no other section shares its pages.
//! * `.tern.header`: the 8-byte [`MAGIC`], an 8-byte checksum, then the
//!   postcard-encoded [`Header`] (kind of artifact and the engine fingerprint).
//! * `.tern.meta`: the postcard-encoded metadata needed to rebuild the module.
//! * `.tern.data` (only when a memory has an image): the memory images, each
//!   at a page-aligned offset, the section itself aligned like `.text`, so
//!   `Module::deserialize_file` can map each image copy-on-write from the file.
//!
//! The checksum covers every byte of the file except the contents of the text
//! and data sections and the checksum itself: the header, the metadata, the
//! ELF header and the section table. Memory images are left out for the
//! reason the code is: hashing them would read every page at load, which is
//! what mapping them avoids; corrupted image bytes only change the guest's
//! initial memory, never what the host trusts. So a truncated or bit-flipped artifact is refused here, before
//! anything in it is believed. The code is not covered: hashing it would touch
//! every page of a mapped file and cost more than the rest of loading, and
//! machine code is trusted anyway (see `Module::deserialize`'s `# Safety`).
//!
//! This file never executes or maps anything; it only produces and checks bytes.

use super::Header;
use anyhow::{anyhow, bail, Context as _, Result};
use object::read::elf::ElfFile64;
use object::read::{Object as _, ObjectSection as _};
use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};
use std::ops::Range;

/// First bytes of the `.tern.header` section; the last byte is the container
/// version, bumped when this layout changes.
pub(crate) const MAGIC: [u8; 8] = *b"TERNAOT\x02";
const MAGIC_PREFIX: &[u8] = b"TERNAOT";
const TEXT_SECTION: &str = ".text";
const HEADER_SECTION: &str = ".tern.header";
const META_SECTION: &str = ".tern.meta";
const DATA_SECTION: &str = ".tern.data";

/// Alignment of the text section in the file: the largest page size of the
/// host, so the text can be mapped executable on its own pages. An artifact
/// compiled for another architecture (`Config::target`) is written with that
/// architecture's alignment ([`text_align`]).
pub(crate) const TEXT_ALIGN: usize = if cfg!(target_arch = "x86_64") {
    0x1000
} else {
    0x10000
};

/// [`TEXT_ALIGN`] of the hosts of architecture `arch`.
fn text_align(arch: Architecture) -> usize {
    if arch == Architecture::X86_64 {
        0x1000
    } else {
        0x10000
    }
}

/// The ELF architecture of code compiled for the target `triple`.
///
/// # Errors
/// Fails for an architecture Tern does not compile for.
pub(crate) fn architecture_of(triple: &str) -> Result<Architecture> {
    Ok(match triple.split('-').next() {
        Some("x86_64") => Architecture::X86_64,
        Some("aarch64") => Architecture::Aarch64,
        _ => bail!("precompiled artifacts are not supported for the target `{triple}`"),
    })
}

/// The parts of a checked artifact.
pub(crate) struct Parsed<'a> {
    /// The decoded header.
    pub header: Header,
    /// The text section's byte range in the file (page-aligned start).
    pub text: Range<usize>,
    /// The encoded metadata.
    pub meta: &'a [u8],
    /// The memory images' byte range in the file (empty when there are none).
    pub data: Range<usize>,
}

fn host_architecture() -> Result<Architecture> {
    Ok(if cfg!(target_arch = "x86_64") {
        Architecture::X86_64
    } else if cfg!(target_arch = "aarch64") {
        Architecture::Aarch64
    } else if cfg!(target_arch = "riscv64") {
        Architecture::Riscv64
    } else if cfg!(target_arch = "s390x") {
        Architecture::S390x
    } else {
        bail!("precompiled artifacts are not supported on this architecture")
    })
}

/// Writes an artifact holding `text` (padded to [`TEXT_ALIGN`]), `header` and `meta`.
///
/// # Errors
/// Fails when the header cannot be encoded or `object` refuses to write the file.
pub(crate) fn write(text: &[u8], header: &Header, meta: &[u8]) -> Result<Vec<u8>> {
    write_with_data(text, header, meta, &[], host_architecture()?)
}

/// Like `write`, plus the memory images `data` (whose offsets the metadata
/// records relative to the section start) in a `.tern.data` section aligned
/// to [`TEXT_ALIGN`], for code of architecture `arch` (whose page size sets
/// the alignment instead when it is not the host's).
///
/// # Errors
/// As `write`.
pub(crate) fn write_with_data(
    text: &[u8],
    header: &Header,
    meta: &[u8],
    data: &[u8],
    arch: Architecture,
) -> Result<Vec<u8>> {
    let align = text_align(arch);
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text_id = obj.add_section(
        Vec::new(),
        TEXT_SECTION.as_bytes().to_vec(),
        SectionKind::Text,
    );
    let mut padded = Vec::with_capacity(text.len().next_multiple_of(align).max(align));
    padded.extend_from_slice(text);
    padded.resize(text.len().next_multiple_of(align).max(align), 0);
    obj.append_section_data(text_id, &padded, align as u64);

    let mut header_bytes = MAGIC.to_vec();
    header_bytes.extend_from_slice(&[0; 8]);
    header_bytes.extend_from_slice(
        &postcard::to_allocvec(header).context("failed to encode the artifact header")?,
    );
    let header_id = obj.add_section(
        Vec::new(),
        HEADER_SECTION.as_bytes().to_vec(),
        SectionKind::ReadOnlyData,
    );
    obj.append_section_data(header_id, &header_bytes, 8);
    let meta_id = obj.add_section(
        Vec::new(),
        META_SECTION.as_bytes().to_vec(),
        SectionKind::ReadOnlyData,
    );
    obj.append_section_data(meta_id, meta, 8);
    if !data.is_empty() {
        let data_id = obj.add_section(
            Vec::new(),
            DATA_SECTION.as_bytes().to_vec(),
            SectionKind::ReadOnlyData,
        );
        obj.append_section_data(data_id, data, align as u64);
    }

    let mut bytes = obj
        .write()
        .map_err(|e| anyhow!("failed to write the artifact: {e}"))?;
    let ranges = sections(&bytes)?;
    if ranges.text.start % align != 0 || ranges.data.start % align != 0 {
        bail!("internal error: the artifact's text or data section is not page-aligned");
    }
    let sum_at = ranges.header.start + MAGIC.len();
    let sum = checksum(&bytes, &ranges.text, &ranges.data, sum_at)?;
    bytes[sum_at..sum_at + 8].copy_from_slice(&sum.to_le_bytes());
    Ok(bytes)
}

/// Whether `bytes` look like a Tern artifact (ELF with a Tern header), and its header.
/// Checks no checksum: this is the cheap test `Engine::detect_precompiled` makes.
pub(crate) fn peek_header(bytes: &[u8]) -> Option<Header> {
    let header = sections(bytes).ok()?.header;
    let data = &bytes[header];
    (data.get(..MAGIC.len())? == MAGIC)
        .then(|| postcard::from_bytes(&data[16..]).ok())
        .flatten()
}

/// Checks that `bytes` is an intact artifact and splits it into its parts.
///
/// # Errors
/// Fails, naming the problem, when `bytes` is not an ELF file, lacks a Tern
/// section, has a misaligned text section, was written by another container
/// version, or fails the checksum (truncated or corrupted).
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    if !bytes.starts_with(b"\x7fELF") {
        if bytes.starts_with(b"\0asm") {
            bail!("the bytes are a WebAssembly binary, not a precompiled artifact; compile them with `Module::new`");
        }
        bail!("the bytes are not a precompiled Tern artifact (no ELF header)");
    }
    let Sections {
        text,
        header: header_range,
        meta: meta_range,
        data,
    } = sections(bytes)?;
    let header_data = &bytes[header_range.clone()];
    if header_data.len() < 16 || !header_data.starts_with(MAGIC_PREFIX) {
        bail!("corrupt artifact: the `{HEADER_SECTION}` section does not start with Tern's magic bytes");
    }
    if header_data[..8] != MAGIC {
        bail!(
            "the artifact uses container format {}, this version of Tern reads format {}; recompile the module",
            header_data[7],
            MAGIC[7]
        );
    }
    if text.start % TEXT_ALIGN != 0 || text.len() % TEXT_ALIGN != 0 {
        bail!("corrupt artifact: the text section is not aligned to {TEXT_ALIGN:#x} bytes");
    }
    if data.start % TEXT_ALIGN != 0 {
        bail!("corrupt artifact: the data section is not aligned to {TEXT_ALIGN:#x} bytes");
    }
    let sum_at = header_range.start + MAGIC.len();
    let stored = u64::from_le_bytes(
        header_data[8..16]
            .try_into()
            .expect("16 bytes checked above"),
    );
    if checksum(bytes, &text, &data, sum_at)? != stored {
        bail!("corrupt artifact: checksum mismatch (the file is truncated or damaged)");
    }
    let header =
        postcard::from_bytes(&header_data[16..]).context("corrupt artifact: undecodable header")?;
    Ok(Parsed {
        header,
        text,
        meta: &bytes[meta_range],
        data,
    })
}

/// The file ranges of an artifact's sections.
struct Sections {
    text: Range<usize>,
    header: Range<usize>,
    meta: Range<usize>,
    /// Empty (at 0) when the artifact has no memory images.
    data: Range<usize>,
}

/// The file ranges of the text, header, metadata and data sections, bounds-checked.
fn sections(bytes: &[u8]) -> Result<Sections> {
    let file = ElfFile64::<Endianness, &[u8]>::parse(bytes)
        .map_err(|e| anyhow!("malformed artifact: {e}"))?;
    let range = |name: &str| -> Result<Range<usize>> {
        let section = file
            .section_by_name(name)
            .with_context(|| format!("malformed artifact: no `{name}` section"))?;
        let (offset, size) = section
            .file_range()
            .with_context(|| format!("malformed artifact: `{name}` has no file data"))?;
        let start = usize::try_from(offset)?;
        let end = start
            .checked_add(usize::try_from(size)?)
            .filter(|end| *end <= bytes.len());
        let end =
            end.with_context(|| format!("malformed artifact: `{name}` lies outside the file"))?;
        Ok(start..end)
    };
    let data = if file.section_by_name(DATA_SECTION).is_some() {
        range(DATA_SECTION)?
    } else {
        0..0
    };
    Ok(Sections {
        text: range(TEXT_SECTION)?,
        header: range(HEADER_SECTION)?,
        meta: range(META_SECTION)?,
        data,
    })
}

/// A 64-bit running checksum. Each step is a bijection of the state for a fixed
/// input word and injective in the word for a fixed state, so changing any one
/// word of the input always changes the result: every single bit flip is caught.
struct Checksum(u64);

impl Checksum {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }

    fn update(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("chunks of 8")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(last));
        self.word(bytes.len() as u64);
    }
}

/// The checksum of `bytes` without the `text` and `data` ranges and the 8
/// bytes at `sum_at`.
fn checksum(bytes: &[u8], text: &Range<usize>, data: &Range<usize>, sum_at: usize) -> Result<u64> {
    let mut skipped = vec![text.clone(), sum_at..sum_at + 8];
    if !data.is_empty() {
        skipped.push(data.clone());
    }
    skipped.sort_by_key(|r| r.start);
    let mut c = Checksum(0x7465_726e_2061_6f74);
    let mut at = 0;
    for range in &skipped {
        if range.start < at || range.end > bytes.len() {
            bail!("malformed artifact: overlapping sections");
        }
        c.update(&bytes[at..range.start]);
        at = range.end;
    }
    c.update(&bytes[at..]);
    c.word(bytes.len() as u64);
    Ok(c.0)
}

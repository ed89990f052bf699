//! A module's memory image at run time: where its bytes live, and how a new
//! linear memory gets them without copying.
//!
//! The image itself is laid out at compile time (`tern_environ::memory_images`).
//! Its bytes live either in the heap (a module compiled in this process, or
//! loaded with `Module::deserialize`) or in a page-aligned range of a
//! precompiled artifact file (`Module::deserialize_file`). A memory initialised
//! from it maps those bytes `MAP_PRIVATE | MAP_FIXED` over its own pages: reads
//! share the page cache, the first write to a page gives this memory a private
//! copy, and nothing is touched at instantiation. Heap bytes are first put into
//! a `memfd`, once per module, the first time a memory needs them.
//!
//! When mapping is impossible (a host page larger than the image's alignment,
//! no `memfd`), the bytes are copied instead: slower, same contents.

use super::memory::Memory;
use super::mmap::page_size;
use anyhow::{Context as _, Result};
use std::borrow::Cow;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::sync::{Arc, OnceLock};

/// The initial non-zero pages of one defined memory.
#[derive(Debug)]
pub struct MemoryImage {
    /// Byte offset of the image in the linear memory.
    offset: usize,
    /// Length of the image in bytes.
    len: usize,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Bytes owned by the module, copied into a `memfd` on first use (`None`
    /// inside when the OS has no `memfd`: memories then copy `data`).
    Heap {
        data: Vec<u8>,
        memfd: OnceLock<Option<File>>,
    },
    /// `len` bytes at `file_offset` of a precompiled artifact file.
    File { file: Arc<File>, file_offset: u64 },
}

impl MemoryImage {
    /// An image of `data` at `offset` in the memory.
    pub fn from_bytes(offset: u64, data: Vec<u8>) -> Result<Self> {
        Ok(Self {
            offset: usize::try_from(offset)?,
            len: data.len(),
            source: Source::Heap {
                data,
                memfd: OnceLock::new(),
            },
        })
    }

    /// An image of `len` bytes stored at `file_offset` in `file`, for `offset`
    /// in the memory. The file must stay unmodified while the module lives
    /// (the promise `Module::deserialize_file` asks of its caller).
    pub fn from_file(file: Arc<File>, file_offset: u64, len: u64, offset: u64) -> Result<Self> {
        Ok(Self {
            offset: usize::try_from(offset)?,
            len: usize::try_from(len)?,
            source: Source::File { file, file_offset },
        })
    }

    /// Byte offset of the image in the memory.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The image's bytes (read from the file for a file-backed image), for
    /// writing them into an artifact.
    ///
    /// # Errors
    /// Fails if reading the artifact file fails.
    pub fn contents(&self) -> Result<Cow<'_, [u8]>> {
        Ok(match &self.source {
            Source::Heap { data, .. } => Cow::Borrowed(data),
            Source::File { file, file_offset } => {
                let mut bytes = vec![0; self.len];
                file.read_exact_at(&mut bytes, *file_offset)
                    .context("failed to read a memory image from the artifact file")?;
                Cow::Owned(bytes)
            }
        })
    }

    /// Gives `memory` (freshly created, all zero) the image's contents: maps
    /// them copy-on-write when `map` is true and the OS allows it, copies them
    /// otherwise (`Config::memory_init_cow`).
    ///
    /// # Errors
    /// Fails if the image does not fit in the memory's current size, or the OS
    /// refuses both the mapping and the copy's reads.
    pub fn initialize(&self, memory: &mut Memory, map: bool) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let end = self.offset.checked_add(self.len);
        if end.is_none_or(|end| end > memory.byte_size()) {
            anyhow::bail!("internal error: a memory image does not fit its memory");
        }
        if let Some((file, file_offset)) = map.then(|| self.mappable_file()).flatten() {
            let page = page_size();
            let aligned = |n: usize| n.is_multiple_of(page);
            if aligned(self.offset) && aligned(self.len) && file_offset.is_multiple_of(page as u64)
            {
                return memory.map_image(self.offset, self.len, file, file_offset);
            }
        }
        let dst = &mut memory.data_mut()[self.offset..self.offset + self.len];
        match &self.source {
            Source::Heap { data, .. } => dst.copy_from_slice(data),
            Source::File { file, file_offset } => file
                .read_exact_at(dst, *file_offset)
                .context("failed to read a memory image from the artifact file")?,
        }
        Ok(())
    }

    /// The file and offset to map the image from, creating the `memfd` for heap
    /// bytes on first use; `None` when only copying is possible.
    fn mappable_file(&self) -> Option<(&File, u64)> {
        match &self.source {
            Source::Heap { data, memfd } => memfd
                .get_or_init(|| memfd_holding(data).ok())
                .as_ref()
                .map(|f| (f, 0)),
            Source::File { file, file_offset } => Some((file, *file_offset)),
        }
    }
}

/// A new anonymous in-memory file holding exactly `data`.
fn memfd_holding(data: &[u8]) -> Result<File> {
    let fd = rustix::fs::memfd_create("tern-memory-image", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = File::from(fd);
    file.write_all(data)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_environ::MemoryStyle;

    #[test]
    fn heap_image_is_mapped_and_private_per_memory() {
        let mut data = vec![0u8; 8192];
        data[10] = 7;
        data[5000] = 9;
        let image = MemoryImage::from_bytes(65536, data).expect("image");
        let style = MemoryStyle::Dynamic { guard: 65536 };
        let mut a = Memory::new(2, None, false, style, None).expect("memory");
        let mut b = Memory::new(2, None, false, style, None).expect("memory");
        image.initialize(&mut a, true).expect("initialise a");
        image.initialize(&mut b, true).expect("initialise b");
        assert_eq!(a.data()[65536 + 10], 7);
        a.data_mut()[65536 + 10] = 1;
        assert_eq!(b.data()[65536 + 10], 7);
        assert_eq!(b.data()[65536 + 5000], 9);
        // A dynamic memory that moves keeps its contents.
        assert_eq!(a.grow(10).expect("grow"), Some(2));
        assert_eq!(a.data()[65536 + 10], 1);
        assert_eq!(a.data()[65536 + 5000], 9);
    }

    /// The `/proc/self/maps` line of the mapping that holds `addr`.
    fn mapping_of(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
        let holds = |line: &&str| {
            let range = line.split_whitespace().next().unwrap_or("");
            let Some((lo, hi)) = range.split_once('-') else {
                return false;
            };
            let parse = |x| usize::from_str_radix(x, 16).unwrap_or(0);
            parse(lo) <= addr && addr < parse(hi)
        };
        maps.lines().find(holds).unwrap_or("").to_string()
    }

    #[test]
    fn without_map_the_image_is_copied_not_mapped() {
        let mut data = vec![0u8; 8192];
        data[10] = 7;
        data[8000] = 3;
        let image = MemoryImage::from_bytes(65536, data).expect("image");
        let style = MemoryStyle::Dynamic { guard: 65536 };
        let mut mapped = Memory::new(2, None, false, style, None).expect("memory");
        let mut copied = Memory::new(2, None, false, style, None).expect("memory");
        image.initialize(&mut mapped, true).expect("map");
        image.initialize(&mut copied, false).expect("copy");
        assert_eq!(mapped.data(), copied.data());
        assert_eq!(copied.data()[65536 + 8000], 3);
        let image_page = |m: &Memory| m.data().as_ptr() as usize + 65536;
        assert!(
            mapping_of(image_page(&mapped)).contains("tern-memory-image"),
            "{}",
            mapping_of(image_page(&mapped))
        );
        assert!(
            !mapping_of(image_page(&copied)).contains("tern-memory-image"),
            "{}",
            mapping_of(image_page(&copied))
        );
    }
}

//! [`GuestMemory`]: bounds-checked access to the calling instance's linear
//! memory, in the guest's terms (32-bit addresses, little-endian values).
//!
//! Every pointer and length a WASI function receives comes from the guest and
//! may be anything; each access here checks `ptr + len` against the memory's
//! size with overflow-free arithmetic and fails with `EFAULT`, so a bad pointer
//! is an error the guest sees, never a host crash. Nothing here ever panics.

use crate::error::WasiResult;
use crate::types::{size, Errno};

/// The guest's linear memory during one WASI call.
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Wraps the memory's bytes.
    pub(crate) fn new(bytes: &'a mut [u8]) -> Self {
        Self { bytes }
    }

    fn range(&self, ptr: u32, len: u32) -> WasiResult<std::ops::Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault.into());
        }
        Ok(start..end)
    }

    /// `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let r = self.range(ptr, len)?;
        Ok(&self.bytes[r])
    }

    /// `len` bytes at `ptr`, mutably.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.bytes[r])
    }

    /// A UTF-8 string of `len` bytes at `ptr` (`EILSEQ` if it is not UTF-8).
    pub(crate) fn str(&self, ptr: u32, len: u32) -> WasiResult<&str> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq.into())
    }

    /// Copies `data` to `ptr`.
    pub(crate) fn write(&mut self, ptr: u32, data: &[u8]) -> WasiResult<()> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    /// Reads a little-endian `u32` at `ptr`.
    pub(crate) fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        let b = self.slice(ptr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a little-endian `u64` at `ptr`.
    pub(crate) fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        let b = self.slice(ptr, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads a little-endian `u16` at `ptr`.
    pub(crate) fn read_u16(&self, ptr: u32) -> WasiResult<u16> {
        let b = self.slice(ptr, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Reads a byte at `ptr`.
    pub(crate) fn read_u8(&self, ptr: u32) -> WasiResult<u8> {
        Ok(self.slice(ptr, 1)?[0])
    }

    /// Writes a little-endian `u32` at `ptr`.
    pub(crate) fn write_u32(&mut self, ptr: u32, v: u32) -> WasiResult<()> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// Writes a little-endian `u64` at `ptr`.
    pub(crate) fn write_u64(&mut self, ptr: u32, v: u64) -> WasiResult<()> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// The `(buf, buf_len)` pairs of an `iovec`/`ciovec` array of `count`
    /// entries at `ptr`, each checked to lie inside memory.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<(u32, u32)>> {
        let total = count.checked_mul(size::IOVEC).ok_or(Errno::Fault)?;
        let raw = self.slice(ptr, total)?;
        let mut out = Vec::with_capacity(count as usize);
        for chunk in raw.chunks_exact(size::IOVEC as usize) {
            let buf = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            self.range(buf, len)?;
            out.push((buf, len));
        }
        Ok(out)
    }

    /// The byte slices of a `ciovec` array (for writing them out), in order.
    pub(crate) fn gather(&self, iovs: &[(u32, u32)]) -> WasiResult<Vec<&[u8]>> {
        iovs.iter().map(|&(p, l)| self.slice(p, l)).collect()
    }
}

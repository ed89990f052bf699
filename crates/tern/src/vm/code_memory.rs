//! Executable memory for compiled code, and what the runtime knows about it
//! (trap sites, function ranges and names).
//!
//! [`CodeMemory`] maps a text section read-write, copies the code in, then flips
//! it to read-execute (never both writable and executable); or, for a
//! precompiled artifact loaded from a file, it keeps the file's private mapping
//! and flips the page-aligned text range to read-execute in place, so loading
//! copies nothing. Module code is also
//! registered with its [`CodeInfo`] in `vm::registry`, which the signal handler
//! and the backtrace walker consult to decide whether a program counter belongs
//! to wasm and what it means.
//!
//! # Instruction-cache coherence
//! On x86-64 instruction fetch sees data writes by itself. On AArch64 it does
//! not: code written through the data side must be cleaned from the data
//! cache and invalidated in the instruction cache (`tern_clear_icache` in
//! `helpers.c`), and every core that may run it must then execute a context
//! synchronization, or it could run stale instructions it already fetched from
//! those addresses (an unmapped module's code at a reused address). [`publish`]
//! does both before code is handed out; the cores are synchronized through
//! `membarrier(2)`'s `SYNC_CORE` command (Linux 4.16+; where the kernel lacks it
//! the syscalls that map and protect the code are the only synchronization, as
//! for every JIT on such kernels).

use super::mmap::{Mmap, ReadOnlyMmap};
use anyhow::Result;
use tern_environ::TrapKind;

/// A read-execute mapping holding machine code.
#[derive(Debug)]
pub struct CodeMemory {
    mmap: ReadOnlyMmap,
    /// Offset of the code in the mapping (non-zero for a mapped artifact file).
    start: usize,
    len: usize,
}

impl CodeMemory {
    /// Maps `code` executable.
    ///
    /// # Errors
    /// Fails when the OS refuses the mapping.
    pub fn new(code: &[u8]) -> Result<Self> {
        let mut mmap = Mmap::reserve(code.len().max(1))?;
        mmap.make_accessible(0, code.len().max(1))?;
        mmap.as_mut_slice()[..code.len()].copy_from_slice(code);
        let mmap = mmap.make_executable()?;
        publish(&mmap.as_slice()[..code.len()]);
        Ok(Self {
            mmap,
            start: 0,
            len: code.len(),
        })
    }

    /// Turns `[start, start + len)` of a file mapping (see [`ReadOnlyMmap::map_file`])
    /// into the executable code, in place. Where that is impossible (a `start`
    /// that is not page-aligned on this host, or an OS that refuses, as on a
    /// `noexec` mount) the code is copied into fresh memory as by [`CodeMemory::new`].
    ///
    /// # Errors
    /// Fails when the range lies outside the mapping, or when copying fails.
    pub fn from_file_mapping(mut mmap: ReadOnlyMmap, start: usize, len: usize) -> Result<Self> {
        if start
            .checked_add(len)
            .is_none_or(|end| end > mmap.as_slice().len())
        {
            anyhow::bail!("code range {start:#x}+{len:#x} lies outside the mapped file");
        }
        if start.is_multiple_of(super::mmap::page_size())
            && mmap.make_range_executable(start, len).is_ok()
        {
            publish(&mmap.as_slice()[start..start + len]);
            return Ok(Self { mmap, start, len });
        }
        Self::new(&mmap.as_slice()[start..start + len])
    }

    /// Address of the first byte.
    pub fn base(&self) -> usize {
        self.mmap.as_ptr() as usize + self.start
    }

    /// The machine code, for writing it into an artifact.
    pub fn code(&self) -> &[u8] {
        &self.mmap.as_slice()[self.start..self.start + self.len]
    }

    /// Length of the code.
    pub fn len(&self) -> usize {
        self.len
    }
}

extern "C" {
    /// Cleans `[start, start + len)` from the data cache and invalidates it in
    /// the instruction cache (`helpers.c`; nothing on x86-64).
    fn tern_clear_icache(start: *const u8, len: usize);
}

/// Makes `code`, just written and mapped executable, safe to run on any core
/// of this process (see the module note).
fn publish(code: &[u8]) {
    // SAFETY: `code` is a live, readable range of our own mapping; cache
    // maintenance changes no memory contents.
    unsafe { tern_clear_icache(code.as_ptr(), code.len()) };
    #[cfg(target_arch = "aarch64")]
    synchronize_cores();
}

/// Has every core running a thread of this process execute a context
/// synchronization, through `membarrier(2)` (registered once per process).
/// Does nothing when the kernel does not offer the command.
#[cfg(target_arch = "aarch64")]
fn synchronize_cores() {
    // The command numbers of Linux's `enum membarrier_cmd`.
    const PRIVATE_EXPEDITED_SYNC_CORE: libc::c_int = 1 << 5;
    const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: libc::c_int = 1 << 6;
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        // SAFETY: membarrier(2) with a registration command and no flags
        // only records the process's intent; it touches no memory of ours.
        let r = unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
                0,
                0,
            )
        };
        r == 0
    });
    if registered {
        // SAFETY: as above; the command only interrupts this process's
        // running threads, which then resume normally.
        unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) };
    }
}

/// What the runtime knows about one module's code, for trap and frame lookups.
#[derive(Debug)]
pub struct CodeInfo {
    /// Function ranges (start offset, length, function index), sorted by start.
    pub funcs: Vec<(u32, u32, u32)>,
    /// Trap sites sorted by offset.
    pub traps: Vec<(u32, TrapKind)>,
    /// Function names from the name section.
    pub func_names: FuncNames,
    /// The module's name.
    pub module_name: Option<String>,
    /// Code offsets back to wasm offsets, for backtraces.
    pub address_map: tern_environ::AddressMap,
    /// Where each call with live GC references keeps them (see `stack_roots`).
    pub stack_maps: tern_environ::StackMaps,
    /// Where calls inside a `try_table` resume when an exception reaches
    /// them (see `vm::unwind`).
    pub handlers: tern_environ::ExceptionHandlers,
}

impl CodeInfo {
    /// The function index containing text offset `offset`.
    pub fn func_at(&self, offset: u32) -> Option<u32> {
        let i = self
            .funcs
            .partition_point(|(start, _, _)| *start <= offset)
            .checked_sub(1)?;
        let (start, len, index) = self.funcs[i];
        (offset < start + len).then_some(index)
    }

    /// For text offset `offset`: the wasm offset (in the module binary) of
    /// the instruction whose code contains it, and of its function's body.
    pub fn wasm_offsets_at(&self, offset: u32) -> Option<(u32, u32)> {
        let defined = self
            .funcs
            .partition_point(|(start, _, _)| *start <= offset)
            .checked_sub(1)?;
        let (start, len, _) = self.funcs[defined];
        if offset >= start + len {
            return None;
        }
        let body = *self.address_map.func_starts.get(defined)?;
        let at = self
            .address_map
            .wasm_offset(defined as u32, start, offset)?;
        Some((at, body))
    }

    /// The name of function `index` from the name section.
    pub fn func_name(&self, index: u32) -> Option<&str> {
        self.func_names.get(index)
    }

    /// The stack map of the call whose return address is at text offset
    /// `ret`, if that call has live GC references.
    pub fn stack_map_at(&self, ret: u32) -> Option<tern_environ::StackMap<'_>> {
        self.stack_maps.lookup(ret)
    }

    /// The exception handler of the call whose return address is at text
    /// offset `ret`, if that call is a `try_call`.
    pub fn handler_at(&self, ret: u32) -> Option<tern_environ::HandlerSite> {
        self.handlers.lookup(ret)
    }

    /// The trap kind of the instruction at `offset`, if it is a trap site.
    pub fn trap_at(&self, offset: u32) -> Option<TrapKind> {
        self.traps
            .binary_search_by_key(&offset, |(o, _)| *o)
            .ok()
            .map(|i| self.traps[i].1)
    }
}

/// A module's function names packed into one string, so that a module with
/// many names costs two allocations, not one per name (it is also how they
/// are stored in artifacts).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FuncNames {
    /// Every name, one after the other.
    text: String,
    /// (function index, end of its name in `text`), sorted by index; a name
    /// starts where the previous one ends.
    entries: Vec<(u32, u32)>,
}

impl FuncNames {
    /// Packs `names` (function index → name).
    pub fn new(names: std::collections::HashMap<u32, String>) -> Self {
        let mut sorted: Vec<(u32, String)> = names.into_iter().collect();
        sorted.sort_unstable_by_key(|(i, _)| *i);
        let mut packed = Self::default();
        for (index, name) in sorted {
            packed.text.push_str(&name);
            packed.entries.push((index, packed.text.len() as u32));
        }
        packed
    }

    /// The name of function `index`.
    pub fn get(&self, index: u32) -> Option<&str> {
        let i = self
            .entries
            .binary_search_by_key(&index, |(i, _)| *i)
            .ok()?;
        let start = if i == 0 { 0 } else { self.entries[i - 1].1 };
        self.text.get(start as usize..self.entries[i].1 as usize)
    }

    /// Whether the table is well formed: indices strictly increasing, names
    /// ending in order inside the text on character boundaries.
    pub fn is_valid(&self) -> bool {
        self.entries.is_sorted_by(|a, b| a.0 < b.0 && a.1 <= b.1)
            && self
                .entries
                .iter()
                .all(|(_, end)| self.text.is_char_boundary(*end as usize))
    }
}

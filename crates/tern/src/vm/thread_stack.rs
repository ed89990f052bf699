//! Per-thread resources the signal handler needs, set up the first time a
//! thread enters wasm and freed when the thread exits.
//!
//! One private mapping per thread holds, from low to high addresses:
//! * a guard page (`PROT_NONE`), so a handler that overflows its stack faults
//!   instead of silently writing over other memory;
//! * Tern's alternate signal stack ([`ALT_STACK_SIZE`]), installed with
//!   `sigaltstack`. Rust's runtime gives threads a small one (a few KiB, meant
//!   for printing "stack overflow"); the trap handler walks frames and consults
//!   the code registry there, so it gets room of its own. An alternate stack
//!   someone else installed is kept when it is at least as large;
//! * the trace buffer ([`MAX_FRAMES`] words), where the handler writes the
//!   program counters of a trap's backtrace: a signal handler may not allocate,
//!   so it writes here, and the landing pad copies the frames into a `Vec`
//!   once it is back in ordinary code.
//!
//! Pages are committed only when touched, so a thread pays for the address
//! space of ~150 KiB and for the few pages it uses.
//!
//! At thread exit Rust's runtime switches the alternate stack off when the
//! thread's main function returns (whoever installed it), and this module's
//! thread-local destructor unmaps the mapping afterwards, switching the stack
//! off first if it is still ours. Wasm entered from a later thread-local
//! destructor gets an error once the mapping is gone; before that it runs with
//! no alternate stack, which only matters for a fault on an exhausted thread
//! stack (wasm's own recursion is stopped earlier by the stack-limit check).

use std::cell::{Cell, RefCell};

/// Size of Tern's alternate signal stack.
pub const ALT_STACK_SIZE: usize = 64 * 1024;
/// Most frames a backtrace records.
pub const MAX_FRAMES: usize = 10_000;

/// This thread's guard page, alternate stack and trace buffer.
struct ThreadStack {
    base: *mut u8,
    len: usize,
    /// Whether `sigaltstack` points at our stack (we installed it).
    installed: bool,
}

thread_local! {
    static THREAD_STACK: RefCell<Option<ThreadStack>> = const { RefCell::new(None) };
    /// This thread's trace buffer once `THREAD_STACK` is set up (null before and
    /// after): a `const` cell without destructor, so the check on every entry
    /// into wasm is one thread-local load.
    static TRACE: Cell<*mut usize> = const { Cell::new(std::ptr::null_mut()) };
}

/// Where the signal handler of this thread may write a backtrace.
#[derive(Debug, Clone, Copy)]
pub struct TraceBuffer {
    /// First slot.
    pub ptr: *mut usize,
    /// Number of slots.
    pub cap: usize,
}

/// Sets up this thread's resources if this is its first entry into wasm, and
/// returns its trace buffer.
///
/// # Errors
/// Fails when the OS refuses the mapping or the alternate stack, or when the
/// thread is already exiting (its thread-locals are being destroyed).
#[inline]
pub fn trace_buffer() -> anyhow::Result<TraceBuffer> {
    let ptr = TRACE.with(Cell::get);
    if !ptr.is_null() {
        return Ok(TraceBuffer {
            ptr,
            cap: MAX_FRAMES,
        });
    }
    set_up()
}

/// The first entry of this thread into wasm: installs the process's signal
/// handlers if needed, then maps this thread's stack and trace buffer.
#[cold]
fn set_up() -> anyhow::Result<TraceBuffer> {
    super::traphandlers::init_signal_handlers();
    let trace = THREAD_STACK
        .try_with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(ThreadStack::new()?);
            }
            let stack = slot.as_ref().map(ThreadStack::trace);
            stack.ok_or_else(|| anyhow::anyhow!("thread stack missing after setup"))
        })
        .map_err(|_| anyhow::anyhow!("cannot enter wasm on a thread that is exiting"))??;
    TRACE.with(|c| c.set(trace.ptr));
    Ok(trace)
}

impl ThreadStack {
    fn new() -> anyhow::Result<Self> {
        let page = super::mmap::page_size();
        let trace_bytes = (MAX_FRAMES * size_of::<usize>()).div_ceil(page) * page;
        let len = page + ALT_STACK_SIZE + trace_bytes;
        // SAFETY: a new anonymous mapping with no address hint touches no
        // existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            anyhow::bail!(
                "failed to map the signal stack: {}",
                std::io::Error::last_os_error()
            );
        }
        let mut this = Self {
            base: base.cast(),
            len,
            installed: false,
        };
        // SAFETY: everything above the first (guard) page lies inside the
        // mapping just made, which no one else knows about yet.
        let r = unsafe {
            libc::mprotect(
                this.base.add(page).cast(),
                len - page,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if r != 0 {
            // `this` unmaps on drop.
            anyhow::bail!("mprotect failed: {}", std::io::Error::last_os_error());
        }
        // SAFETY: an all-zero `stack_t` is a valid value of this C struct.
        let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: querying only; `old` is a valid out-pointer.
        if unsafe { libc::sigaltstack(std::ptr::null(), &mut old) } != 0 {
            anyhow::bail!("sigaltstack failed: {}", std::io::Error::last_os_error());
        }
        let usable = old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALT_STACK_SIZE;
        if !usable {
            let new = libc::stack_t {
                // SAFETY: the page after the guard page is inside the mapping.
                ss_sp: unsafe { this.base.add(page) }.cast(),
                ss_flags: 0,
                ss_size: ALT_STACK_SIZE,
            };
            // SAFETY: `new` describes read-write memory this thread owns until
            // `drop` uninstalls it; `sigaltstack` only affects this thread.
            if unsafe { libc::sigaltstack(&new, std::ptr::null_mut()) } != 0 {
                anyhow::bail!("sigaltstack failed: {}", std::io::Error::last_os_error());
            }
            this.installed = true;
        }
        Ok(this)
    }

    fn trace(&self) -> TraceBuffer {
        let page = super::mmap::page_size();
        TraceBuffer {
            // SAFETY: the trace buffer starts after the guard page and the
            // alternate stack, inside the mapping (see `new`'s length).
            ptr: unsafe { self.base.add(page + ALT_STACK_SIZE) }.cast(),
            cap: MAX_FRAMES,
        }
    }
}

impl Drop for ThreadStack {
    fn drop(&mut self) {
        // Later entries (from other thread-local destructors) take the slow
        // path, which fails cleanly. The cell has no destructor, so it is
        // still accessible here.
        let _ = TRACE.try_with(|c| c.set(std::ptr::null_mut()));
        if self.installed {
            // SAFETY: an all-zero `stack_t` is a valid value of this C struct.
            let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
            // SAFETY: querying only; `current` is a valid out-pointer.
            let ok = unsafe { libc::sigaltstack(std::ptr::null(), &mut current) } == 0;
            let page = super::mmap::page_size();
            // Rust's runtime may already have disabled it at thread exit; only
            // switch off a stack that is still ours.
            // SAFETY: `base + page` is inside our mapping (pointer arithmetic only).
            let ours = unsafe { self.base.add(page) }.cast::<libc::c_void>();
            if ok && current.ss_flags & libc::SS_DISABLE == 0 && current.ss_sp == ours {
                let disable = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                // SAFETY: disabling this thread's alternate stack; we are not on
                // it (a destructor does not run inside a signal handler).
                unsafe { libc::sigaltstack(&disable, std::ptr::null_mut()) };
            }
        }
        // SAFETY: we own this mapping; the alternate stack no longer points into
        // it, and the trace buffer is only used while this thread runs wasm,
        // which it no longer does.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

//! The process-wide map from code address ranges to their [`CodeInfo`], read
//! by the signal handler without locks or allocation.
//!
//! # Design
//! The map is an immutable, sorted *snapshot* (a boxed slice of ranges) that
//! is published through one `AtomicPtr`. Readers never lock, allocate or free;
//! writers (registering or unregistering a module, which happens outside any
//! signal handler) serialise on a `Mutex`, build a new snapshot, publish it with
//! one atomic swap and then free the old one once no reader can still see it.
//!
//! "No reader can still see it" is decided by two reader counters and a phase
//! number (a two-phase, quiescent-state scheme):
//! * a reader reads the phase `p`, increments `ACTIVE[p % 2]`, and re-reads the
//!   phase: if it changed meanwhile it undoes the increment and starts again.
//!   Only then does it load the snapshot pointer and use the snapshot, and it
//!   decrements the same counter when done;
//! * a writer swaps in the new snapshot, advances the phase from `p` to `p + 1`
//!   (new readers now count in the other counter), and waits until
//!   `ACTIVE[p % 2]` drops to zero. Every reader that might hold the old pointer
//!   registered in phase `p` before the phase changed, so once that counter is
//!   zero the old snapshot is unreachable and is freed. Readers of phase
//!   `p - 1` were drained by the previous writer before it released the mutex.
//!
//! All operations are `SeqCst`, so "registered, phase unchanged" happens before
//! the writer's phase change, which happens before its wait sees zero.
//! A reader waits for nobody, so a signal handler can neither block nor
//! deadlock here, even when it interrupts a writer on the same thread (the
//! writer's waiting is on the *previous* phase, the handler counts in the
//! current one). A writer only waits for readers already inside a lookup,
//! each a bounded binary search, so it cannot starve.

use super::code_memory::CodeInfo;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// One registered code range: `[start, end)` and what lives there.
struct Entry {
    start: usize,
    end: usize,
    info: Arc<CodeInfo>,
}

/// An immutable view of every registered range, sorted by `start`; ranges
/// never overlap (each is a distinct live mapping).
type Snapshot = Box<[Entry]>;

/// The published snapshot: a `Box<Snapshot>` turned into a raw pointer, or null
/// while nothing was ever registered.
static SNAPSHOT: AtomicPtr<Snapshot> = AtomicPtr::new(std::ptr::null_mut());
/// The phase readers register in (only its parity matters).
static PHASE: AtomicUsize = AtomicUsize::new(0);
/// Readers inside a lookup, per phase parity.
static ACTIVE: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
/// Serialises writers; never taken by readers.
static WRITER: Mutex<()> = Mutex::new(());

/// Registers code at `[start, start + len)`.
pub fn register(start: usize, len: usize, info: Arc<CodeInfo>) {
    let end = start + len.max(1);
    update(|entries| {
        let at = entries.partition_point(|e| e.start < start);
        entries.insert(at, Entry { start, end, info });
    });
}

/// Removes the registration made for code starting at `start`. Once this
/// returns, no signal handler or frame walker still uses that registration.
pub fn unregister(start: usize, len: usize) {
    let end = start + len.max(1);
    update(|entries| entries.retain(|e| !(e.start == start && e.end == end)));
}

/// Publishes the snapshot `edit` makes from the current one, then frees the
/// current one when no reader can see it any more.
fn update(edit: impl FnOnce(&mut Vec<Entry>)) {
    let _writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let old = SNAPSHOT.load(SeqCst);
    let mut entries: Vec<Entry> = if old.is_null() {
        Vec::new()
    } else {
        // SAFETY: `old` was published by a writer and only writers free
        // snapshots; we hold the writer lock, so it is alive and nobody writes it.
        let old = unsafe { &*old };
        old.iter()
            .map(|e| Entry {
                start: e.start,
                end: e.end,
                info: e.info.clone(),
            })
            .collect()
    };
    edit(&mut entries);
    let new = Box::into_raw(Box::new(entries.into_boxed_slice()));
    let old = SNAPSHOT.swap(new, SeqCst);
    let phase = PHASE.fetch_add(1, SeqCst);
    while ACTIVE[phase % 2].load(SeqCst) != 0 {
        std::thread::yield_now();
    }
    if !old.is_null() {
        // SAFETY: `old` came from `Box::into_raw` above (in an earlier update),
        // is no longer published, and every reader that loaded it registered in
        // phase `phase`, whose counter is now zero (see the module docs); later
        // readers load the new pointer.
        drop(unsafe { Box::from_raw(old) });
    }
}

/// Runs `f` on the registration containing `pc` (its info and `pc`'s offset in
/// the code), if any.
///
/// Async-signal-safe: no lock, no allocation, no deallocation (as long as `f`
/// does none), bounded time. `f` must not register or unregister code.
pub fn with_code_at<R>(pc: usize, f: impl FnOnce(&Arc<CodeInfo>, u32) -> R) -> Option<R> {
    let phase = loop {
        let phase = PHASE.load(SeqCst);
        ACTIVE[phase % 2].fetch_add(1, SeqCst);
        if PHASE.load(SeqCst) == phase {
            break phase;
        }
        ACTIVE[phase % 2].fetch_sub(1, SeqCst);
    };
    let snapshot = SNAPSHOT.load(SeqCst);
    let result = if snapshot.is_null() {
        None
    } else {
        // SAFETY: we registered in `phase` before loading the pointer, so no
        // writer frees this snapshot before we decrement the counter below.
        let entries = unsafe { &*snapshot };
        let i = entries.partition_point(|e| e.start <= pc);
        i.checked_sub(1)
            .map(|i| &entries[i])
            .filter(|e| pc < e.end)
            .map(|e| f(&e.info, (pc - e.start) as u32))
    };
    ACTIVE[phase % 2].fetch_sub(1, SeqCst);
    result
}

/// Finds the code containing `pc`: its info and `pc`'s offset in it.
///
/// Not for signal handlers: the returned `Arc` may be the last reference once
/// the module is dropped, and dropping it then frees memory.
pub fn lookup(pc: usize) -> Option<(Arc<CodeInfo>, u32)> {
    with_code_at(pc, |info, offset| (info.clone(), offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::code_memory::FuncNames;
    use std::sync::atomic::AtomicBool;

    fn info(name: &str) -> Arc<CodeInfo> {
        Arc::new(CodeInfo {
            funcs: vec![(0, 16, 0)],
            traps: vec![(4, tern_environ::TrapKind::UnreachableCodeReached)],
            func_names: FuncNames::default(),
            address_map: tern_environ::AddressMap::default(),
            stack_maps: tern_environ::StackMaps::default(),
            handlers: tern_environ::ExceptionHandlers::default(),
            module_name: Some(name.to_string()),
        })
    }

    /// Addresses far from any real mapping, distinct per test.
    const BASE: usize = 0x7e00_0000_0000;

    #[test]
    fn lookup_finds_exactly_the_registered_range() {
        let start = BASE + 0x10_0000;
        register(start, 32, info("a"));
        assert!(with_code_at(start - 1, |_, _| ()).is_none());
        assert_eq!(lookup(start).map(|(_, o)| o), Some(0));
        let (found, offset) = lookup(start + 31).expect("last byte is inside");
        assert_eq!((found.module_name.as_deref(), offset), (Some("a"), 31));
        assert!(with_code_at(start + 32, |_, _| ()).is_none());
        assert_eq!(
            with_code_at(start + 4, |i, o| i.trap_at(o)).flatten(),
            Some(tern_environ::TrapKind::UnreachableCodeReached)
        );
        unregister(start, 32);
        assert!(lookup(start).is_none());
    }

    #[test]
    fn a_registration_stays_visible_while_others_come_and_go() {
        let stable = BASE + 0x20_0000;
        register(stable, 64, info("stable"));
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut reads = 0usize;
                    while !stop.load(SeqCst) || reads < 1000 {
                        let name = with_code_at(stable + 8, |i, o| {
                            assert_eq!(o, 8);
                            i.module_name.clone()
                        });
                        assert_eq!(name.flatten().as_deref(), Some("stable"));
                        reads += 1;
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..2)
            .map(|w| {
                std::thread::spawn(move || {
                    for i in 0..500 {
                        let start = BASE + 0x30_0000 + (w * 1000 + i) * 0x100;
                        register(start, 0x80, info("churn"));
                        assert!(lookup(start + 0x7f).is_some());
                        unregister(start, 0x80);
                        assert!(lookup(start).is_none());
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer panicked");
        }
        stop.store(true, SeqCst);
        for r in readers {
            r.join().expect("reader panicked");
        }
        unregister(stable, 64);
    }
}

//! The compilation cache's cleaner: keeps a cache directory under its soft
//! limits (wasmtime's `file-count-soft-limit` and
//! `files-total-size-soft-limit`) by deleting the least recently used entries.
//!
//! # When it runs
//! After the cache writes an entry, at most once per `cleanup-interval` per
//! directory. The marker file `.cleanup` in the directory records the last
//! cleanup in its modification time, so separate processes sharing a
//! directory share the interval too. A cleanup claims its turn by setting the
//! marker's time before scanning; threads of one process claim under a lock,
//! so only one of them cleans. Two processes that claim at the same instant
//! both clean, which costs a second scan and nothing else (deleting a file
//! that is already gone is not an error). A marker dated further in the future
//! than `allowed-clock-drift-for-files-from-future` (the clock was set back)
//! does not block cleanups.
//!
//! The cleanup runs on the thread that wrote the entry, right after it. A scan
//! costs about 1 ms per 1,000 entries with nothing to delete (measured on the
//! 2-core development machine under load: 1.0 ms for 1,000 entries, 25 ms for
//! 10,000; a cleanup that deleted 451 of 1,081 entries, 6–10 ms), paid at most
//! once an interval and after a compilation, which costs more. Doing it
//! synchronously keeps a short process (`tern run`) from exiting in the
//! middle of a background cleanup, and keeps the cache's behaviour
//! deterministic for tests.
//!
//! # What it deletes
//! Only cache entries: regular files named `<64 hex digits>.cwasm`, the names
//! `cache.rs` gives them. When their count is above `file-count-soft-limit`
//! or their total size (file lengths, not disk blocks) above
//! `files-total-size-soft-limit`, entries are deleted oldest first until the
//! count is at most `file-count-limit-percent-if-deleting` of its limit and
//! the size at most `files-total-size-limit-percent-if-deleting` of its limit
//! (wasmtime's hysteresis: a full cache is not trimmed again at every write).
//! "Oldest" is the modification time, which a cache hit refreshes (`cache.rs`),
//! so the order is least-recently-used. An entry dated further in the future
//! than the allowed drift counts as the oldest of all.
//!
//! Besides entries, only the temporary files of `cache.rs`'s writers
//! (`.tmp-…`) that have not been written for a minute are deleted: they are
//! left behind by a writer that died between writing and renaming (a live
//! writer's file is younger, since writing updates its time). The marker,
//! files of other names and subdirectories are never touched, and do not count
//! toward the limits.
//!
//! # Failures
//! A cleanup never fails the compilation that triggered it: errors are logged
//! through `tracing` and the cleanup goes on with the next file or gives up.
//! An entry deleted while another process is loading it is harmless: a loader
//! that has mapped it keeps its inode, one that has not finds no entry and
//! compiles.

use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// Name of the marker file whose modification time records the last cleanup.
pub(crate) const MARKER: &str = ".cleanup";

/// How long a writer's temporary file may go unwritten before the cleaner
/// takes it for the leftover of a dead writer.
const TEMPORARY_GRACE: Duration = Duration::from_secs(60);

/// When the cleaner runs and how far it trims (wasmtime's keys; see
/// `cache_config.rs` for their syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CleanupLimits {
    /// `cleanup-interval`: the least time between two cleanups of a directory.
    pub(crate) interval: Duration,
    /// `allowed-clock-drift-for-files-from-future`: how far in the future a
    /// file's time may be before it is taken for a clock error.
    pub(crate) allowed_clock_drift: Duration,
    /// `file-count-soft-limit`: entries allowed before a cleanup deletes any.
    pub(crate) file_count_soft_limit: u64,
    /// `files-total-size-soft-limit`: bytes of entries allowed before a
    /// cleanup deletes any.
    pub(crate) files_total_size_soft_limit: u64,
    /// `file-count-limit-percent-if-deleting`: the share of the count limit a
    /// cleanup that deletes trims down to.
    pub(crate) file_count_percent_if_deleting: u8,
    /// `files-total-size-limit-percent-if-deleting`: the share of the size
    /// limit a cleanup that deletes trims down to.
    pub(crate) files_total_size_percent_if_deleting: u8,
}

impl Default for CleanupLimits {
    /// wasmtime's defaults.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60 * 60),
            allowed_clock_drift: Duration::from_secs(24 * 60 * 60),
            file_count_soft_limit: 65536,
            files_total_size_soft_limit: 512 << 20,
            file_count_percent_if_deleting: 70,
            files_total_size_percent_if_deleting: 70,
        }
    }
}

/// Called after the cache wrote an entry into `directory`: cleans the
/// directory if its interval has passed. Never fails (module notes).
pub(crate) fn after_write(directory: &Path, limits: &CleanupLimits) {
    let now = SystemTime::now();
    match claim(directory, limits, now) {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => {
            tracing::warn!(
                "compilation cache `{}`: cannot update the cleanup marker: {error}",
                directory.display()
            );
            return;
        }
    }
    if let Err(error) = clean(directory, limits, now) {
        tracing::warn!(
            "compilation cache `{}`: cleanup failed: {error}",
            directory.display()
        );
    }
}

/// Takes this cleanup's turn: `Ok(true)` (and the marker set to `now`) when
/// the interval has passed since the last cleanup, `Ok(false)` otherwise.
fn claim(directory: &Path, limits: &CleanupLimits, now: SystemTime) -> io::Result<bool> {
    static CLAIMING: Mutex<()> = Mutex::new(());
    let _claiming = CLAIMING.lock().unwrap_or_else(PoisonError::into_inner);
    let marker = directory.join(MARKER);
    match fs::metadata(&marker).and_then(|m| m.modified()) {
        Ok(last) if !is_due(last, now, limits) => return Ok(false),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&marker)?
        .set_modified(now)?;
    Ok(true)
}

/// Whether a cleanup is due at `now` after the last one at `last`.
fn is_due(last: SystemTime, now: SystemTime, limits: &CleanupLimits) -> bool {
    match now.duration_since(last) {
        Ok(elapsed) => elapsed >= limits.interval,
        Err(ahead) => ahead.duration() > limits.allowed_clock_drift,
    }
}

/// One cache entry, as the cleaner sees it.
struct Entry {
    path: PathBuf,
    size: u64,
    /// The time that orders deletions: the modification time, or the epoch
    /// for a time too far in the future.
    used: SystemTime,
}

/// Scans `directory`, deletes stale temporary files and, when the entries
/// exceed a soft limit, the least recently used entries (module notes).
fn clean(directory: &Path, limits: &CleanupLimits, now: SystemTime) -> io::Result<()> {
    let mut entries = Vec::new();
    for dir_entry in fs::read_dir(directory)? {
        let dir_entry = dir_entry?;
        let name = dir_entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_entry = crate::cache::is_entry_name(name);
        let is_temporary = name.starts_with(crate::cache::TEMPORARY_PREFIX);
        if !is_entry && !is_temporary {
            continue;
        }
        // `DirEntry::metadata` does not follow symbolic links: a link is
        // not a regular file and is left alone.
        let metadata = match dir_entry.metadata() {
            Ok(metadata) if metadata.is_file() => metadata,
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        let path = dir_entry.path();
        if is_temporary {
            remove_if_abandoned(&path, &metadata, now);
        } else {
            entries.push(Entry {
                used: used_time(&metadata, now, limits),
                size: metadata.len(),
                path,
            });
        }
    }
    trim(entries, limits);
    Ok(())
}

/// The time by which an entry is ordered for deletion (see [`Entry::used`]).
fn used_time(metadata: &Metadata, now: SystemTime, limits: &CleanupLimits) -> SystemTime {
    match metadata.modified() {
        Ok(time)
            if now
                .checked_add(limits.allowed_clock_drift)
                .is_none_or(|latest| time <= latest) =>
        {
            time
        }
        // From the future beyond the drift, or no time at all: oldest.
        _ => SystemTime::UNIX_EPOCH,
    }
}

/// Deletes a writer's temporary file that has not been written for
/// [`TEMPORARY_GRACE`].
fn remove_if_abandoned(path: &Path, metadata: &Metadata, now: SystemTime) {
    let abandoned = metadata
        .modified()
        .ok()
        .and_then(|time| now.duration_since(time).ok())
        .is_some_and(|age| age >= TEMPORARY_GRACE);
    if abandoned {
        remove(path);
    }
}

/// Deletes entries, least recently used first, when they exceed a soft limit,
/// until both the count and the size are within their share of the limit.
fn trim(mut entries: Vec<Entry>, limits: &CleanupLimits) {
    let mut count = entries.len() as u64;
    let mut size: u64 = entries.iter().map(|e| e.size).sum();
    if count <= limits.file_count_soft_limit && size <= limits.files_total_size_soft_limit {
        return;
    }
    let share = |limit: u64, percent: u8| {
        u64::try_from(u128::from(limit) * u128::from(percent) / 100).unwrap_or(u64::MAX)
    };
    let count_target = share(
        limits.file_count_soft_limit,
        limits.file_count_percent_if_deleting,
    );
    let size_target = share(
        limits.files_total_size_soft_limit,
        limits.files_total_size_percent_if_deleting,
    );
    // Oldest first; the name breaks ties so that the order is deterministic.
    entries.sort_by(|a, b| (a.used, &a.path).cmp(&(b.used, &b.path)));
    let mut deleted = 0u64;
    for entry in &entries {
        if count <= count_target && size <= size_target {
            break;
        }
        if remove(&entry.path) {
            count -= 1;
            size -= entry.size;
            deleted += 1;
        }
    }
    tracing::debug!(
        "compilation cache: deleted {deleted} least recently used entries; \
         {count} entries of {size} bytes remain"
    );
}

/// Deletes `path`; `true` when it is gone (deleted here or by someone else).
fn remove(path: &Path) -> bool {
    match fs::remove_file(path) {
        Ok(()) => true,
        Err(error) if error.kind() == io::ErrorKind::NotFound => true,
        Err(error) => {
            tracing::warn!(
                "compilation cache: cannot delete `{}`: {error}",
                path.display()
            );
            false
        }
    }
}

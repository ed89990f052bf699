//! `Config::cache_config_load`: the compilation cache configured by a file in
//! the shape of wasmtime's cache configuration (TOML):
//!
//! ```toml
//! [cache]
//! enabled = true
//! directory = "/path/to/cache"
//! cleanup-interval = "30m"
//! files-total-size-soft-limit = "1Gi"
//! ```
//!
//! Only this subset of TOML is read: one `[cache]` table whose values are
//! `true`, `false`, an integer or a double-quoted string (with `\\` and `\"`
//! escapes), and `#` comments; a key set twice is an error, as in TOML.
//! `enabled` is required, as in wasmtime; `directory` defaults to the per-user
//! directory of `Config::cache_config_load_default`.
//!
//! The cleaner's keys take wasmtime's value syntax and defaults (what they
//! do is in `cache_cleanup.rs`):
//!
//! | key | syntax | default |
//! |---|---|---|
//! | `cleanup-interval` | duration: `"{integer}(s\|m\|h\|d)"` | `"1h"` |
//! | `allowed-clock-drift-for-files-from-future` | duration | `"1d"` |
//! | `file-count-soft-limit` | count: `"{integer}(K\|M\|G\|T\|P)?"` (powers of 1000) | `"65536"` |
//! | `files-total-size-soft-limit` | size: `"{integer}(K\|Ki\|M\|Mi\|G\|Gi\|T\|Ti\|P\|Pi)?"` | `"512Mi"` |
//! | `file-count-limit-percent-if-deleting` | percent: `"{integer}%"`, at most 100 | `"70%"` |
//! | `files-total-size-limit-percent-if-deleting` | percent | `"70%"` |
//!
//! wasmtime's keys for its compression and its worker thread
//! (`worker-event-queue-size`, `baseline-compression-level`,
//! `optimized-compression-level`,
//! `optimized-compression-usage-counter-threshold`,
//! `optimizing-compression-task-timeout`) are checked for their syntax and
//! otherwise ignored: Tern's entries are stored uncompressed (so that they
//! can be mapped instead of read) and its cleaner needs no worker. Any other
//! key is an error, as in wasmtime, so that a misspelt limit is not silently
//! dropped.

use crate::cache::CacheSettings;
use crate::cache_cleanup::CleanupLimits;
use crate::Config;
use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Config {
    /// Configures the compilation cache from the file at `path` (see the
    /// format above): turns it on in `directory`, with the file's cleanup
    /// limits, when `enabled = true`; off when `enabled = false`.
    ///
    /// # Errors
    /// Fails, naming the file, the line and the key, when the file cannot be
    /// read, is not in the subset described above, sets a key twice, names an
    /// unknown key, gives a value of the wrong syntax, lacks `enabled`, or
    /// names a relative directory; or, without `directory`, when there is no
    /// default directory.
    pub fn cache_config_load(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "failed to read the cache configuration `{}`",
                path.display()
            )
        })?;
        let file = parse(&text)
            .with_context(|| format!("bad cache configuration `{}`", path.display()))?;
        if !file.enabled {
            return Ok(self.disable_cache());
        }
        let directory = match file.directory {
            Some(directory) => directory,
            None => crate::cache::default_directory()?,
        };
        self.cache = Some(CacheSettings {
            directory,
            limits: file.limits,
        });
        Ok(self)
    }
}

/// The settings Tern reads from a cache configuration file.
struct CacheFile {
    enabled: bool,
    directory: Option<PathBuf>,
    limits: CleanupLimits,
}

fn parse(text: &str) -> Result<CacheFile> {
    let mut in_cache = false;
    let mut enabled = None;
    let mut directory = None;
    let mut limits = CleanupLimits::default();
    let mut seen: Vec<String> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = strip_comment(line).trim();
        let at = || format!("line {}", number + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(table) = line.strip_prefix('[') {
            let name = table.strip_suffix(']').with_context(at)?.trim();
            if name != "cache" {
                bail!(
                    "{}: unknown table `[{name}]` (only `[cache]` is read)",
                    at()
                );
            }
            in_cache = true;
            continue;
        }
        if !in_cache {
            bail!("{}: settings must follow `[cache]`", at());
        }
        let (key, value) = line
            .split_once('=')
            .with_context(|| format!("{}: expected `key = value`", at()))?;
        let (key, value) = (key.trim(), value.trim());
        if seen.iter().any(|k| k == key) {
            bail!("{}: `{key}` is set twice", at());
        }
        seen.push(key.to_string());
        let at_key = || format!("{}: `{key}`", at());
        match key {
            "enabled" => {
                enabled = Some(match value {
                    "true" => true,
                    "false" => false,
                    _ => bail!("{}: `enabled` must be `true` or `false`", at()),
                })
            }
            "directory" => {
                let dir = PathBuf::from(parse_string(value).with_context(at_key)?);
                if !dir.is_absolute() {
                    bail!("{}: `directory` must be an absolute path", at());
                }
                directory = Some(dir);
            }
            "cleanup-interval" => limits.interval = duration(value).with_context(at_key)?,
            "allowed-clock-drift-for-files-from-future" => {
                limits.allowed_clock_drift = duration(value).with_context(at_key)?
            }
            "file-count-soft-limit" => {
                limits.file_count_soft_limit = si_count(value).with_context(at_key)?
            }
            "files-total-size-soft-limit" => {
                limits.files_total_size_soft_limit = disk_space(value).with_context(at_key)?
            }
            "file-count-limit-percent-if-deleting" => {
                limits.file_count_percent_if_deleting = percent(value).with_context(at_key)?
            }
            "files-total-size-limit-percent-if-deleting" => {
                limits.files_total_size_percent_if_deleting = percent(value).with_context(at_key)?
            }
            // wasmtime's compression and worker settings: checked, then
            // ignored (module notes).
            "worker-event-queue-size" | "optimized-compression-usage-counter-threshold" => {
                si_count(value).with_context(at_key)?;
            }
            "baseline-compression-level" | "optimized-compression-level" => {
                integer(value).with_context(at_key)?;
            }
            "optimizing-compression-task-timeout" => {
                duration(value).with_context(at_key)?;
            }
            _ => bail!("{}: unknown key `{key}` in `[cache]`", at()),
        }
    }
    let enabled = enabled.context("`enabled` is missing from `[cache]`")?;
    Ok(CacheFile {
        enabled,
        directory,
        limits,
    })
}

/// `line` without a `#` comment (a `#` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

/// A double-quoted TOML basic string with `\\` and `\"` escapes.
fn parse_string(value: &str) -> Result<String> {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .context("expected a double-quoted string")?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | '"')) => out.push(e),
                _ => bail!("unsupported escape in a string (only `\\\\` and `\\\"`)"),
            },
            '"' => bail!("stray `\"` in a string"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A TOML integer without underscores or a base prefix (wasmtime's
/// compression levels).
fn integer(value: &str) -> Result<i64> {
    value
        .parse()
        .ok()
        .with_context(|| format!("expected an integer, found `{value}`"))
}

/// A quoted string of decimal digits followed by one of `units`' suffixes
/// (or none, a factor of 1), as a number: the digits times the suffix's
/// factor. `what` describes the syntax in the error.
fn quantity(value: &str, units: &[(&str, u64)], what: &str) -> Result<u64> {
    let bad = || format!("expected {what}, found `{value}`");
    let text = parse_string(value).with_context(bad)?;
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    if digits.is_empty() {
        bail!(bad());
    }
    let factor = match units.iter().find(|(unit, _)| *unit == suffix) {
        Some((_, factor)) => *factor,
        None => bail!(bad()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .with_context(|| format!("`{value}` is too large"))
}

/// wasmtime's duration syntax: `"{integer}(s|m|h|d)"`, the unit required.
fn duration(value: &str) -> Result<Duration> {
    const UNITS: &[(&str, u64)] = &[("s", 1), ("m", 60), ("h", 60 * 60), ("d", 24 * 60 * 60)];
    let seconds = quantity(
        value,
        UNITS,
        "a duration like \"30m\" (an integer and one of s, m, h, d)",
    )?;
    Ok(Duration::from_secs(seconds))
}

/// wasmtime's count syntax: `"{integer}(K|M|G|T|P)?"`, decimal prefixes.
fn si_count(value: &str) -> Result<u64> {
    const UNITS: &[(&str, u64)] = &[
        ("", 1),
        ("K", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("P", 1_000_000_000_000_000),
    ];
    quantity(
        value,
        UNITS,
        "a count like \"65536\" or \"64K\" (an integer, optionally K, M, G, T or P)",
    )
}

/// wasmtime's disk-space syntax: `"{integer}(K|Ki|M|Mi|G|Gi|T|Ti|P|Pi)?"`,
/// decimal or binary prefixes, in bytes.
fn disk_space(value: &str) -> Result<u64> {
    const UNITS: &[(&str, u64)] = &[
        ("", 1),
        ("K", 1_000),
        ("Ki", 1 << 10),
        ("M", 1_000_000),
        ("Mi", 1 << 20),
        ("G", 1_000_000_000),
        ("Gi", 1 << 30),
        ("T", 1_000_000_000_000),
        ("Ti", 1 << 40),
        ("P", 1_000_000_000_000_000),
        ("Pi", 1 << 50),
    ];
    quantity(
        value,
        UNITS,
        "a size like \"512Mi\" (an integer, optionally K, Ki, M, Mi, G, Gi, T, Ti, P or Pi)",
    )
}

/// wasmtime's percent syntax: `"{integer}%"`, here at most 100.
fn percent(value: &str) -> Result<u8> {
    let n = quantity(value, &[("%", 1)], "a percentage like \"70%\"")?;
    match u8::try_from(n) {
        Ok(n) if n <= 100 => Ok(n),
        _ => bail!("`{value}` is more than 100%"),
    }
}

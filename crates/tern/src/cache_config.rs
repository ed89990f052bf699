//! `Config::cache_config_load`: the compilation cache configured by a file in
//! the shape of wasmtime's cache configuration (TOML):
//!
//! ```toml
//! [cache]
//! enabled = true
//! directory = "/path/to/cache"
//! ```
//!
//! Only this subset of TOML is read: one `[cache]` table whose values are
//! `true`, `false` or a double-quoted string (with `\\` and `\"` escapes), and
//! `#` comments. `enabled` is required, as in wasmtime; `directory` defaults to
//! the per-user directory of `Config::cache_config_load_default`. wasmtime's
//! other keys (size limits, cleanup intervals, compression levels) are accepted
//! and ignored, because Tern's cache has none of those mechanisms yet.

use crate::Config;
use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};

impl Config {
    /// Configures the compilation cache from the file at `path` (see the
    /// format above): turns it on in `directory` when `enabled = true`, off
    /// when `enabled = false`.
    ///
    /// # Errors
    /// Fails, naming the file and line, when the file cannot be read, is not
    /// in the subset described above, lacks `enabled`, or names a relative
    /// directory; or, without `directory`, when there is no default directory.
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
        match (file.enabled, file.directory) {
            (false, _) => Ok(self.disable_cache()),
            (true, Some(directory)) => Ok(self.cache_directory(directory)),
            (true, None) => self.cache_config_load_default(),
        }
    }
}

/// The settings Tern reads from a cache configuration file.
struct CacheFile {
    enabled: bool,
    directory: Option<PathBuf>,
}

fn parse(text: &str) -> Result<CacheFile> {
    let mut in_cache = false;
    let mut enabled = None;
    let mut directory = None;
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
        match key {
            "enabled" => {
                enabled = Some(match value {
                    "true" => true,
                    "false" => false,
                    _ => bail!("{}: `enabled` must be `true` or `false`", at()),
                })
            }
            "directory" => {
                let dir = PathBuf::from(parse_string(value).with_context(at)?);
                if !dir.is_absolute() {
                    bail!("{}: `directory` must be an absolute path", at());
                }
                directory = Some(dir);
            }
            // wasmtime's limits and cleanup settings: nothing to configure here.
            _ => {}
        }
    }
    let enabled = enabled.context("`enabled` is missing from `[cache]`")?;
    Ok(CacheFile { enabled, directory })
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

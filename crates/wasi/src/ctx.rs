//! [`WasiCtx`], a guest's whole WASI world (arguments, environment, standard
//! streams, preopened directories, clocks, randomness), and
//! [`WasiCtxBuilder`], the only way to make one.
//!
//! The context lives in the embedder's store data; the host functions reach it
//! through the accessor given to [`crate::add_to_linker`]. Its state sits in a
//! box that each WASI call takes out for the duration of the call (see
//! `linker.rs` for why), so the public struct is a thin shell.

use crate::stream::Stream;
use crate::table::{Desc, Dir, Kind, Table};
use crate::types::{filetype, rights};
use crate::wasi_file::{dir_of, stream_of, FileAccessMode, WasiDir, WasiFile};
use anyhow::{bail, Context as _, Result};
use std::fs::File;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// What a guest may do with a preopened directory itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirPerms {
    read: bool,
    mutate: bool,
}

impl DirPerms {
    /// List, stat and open entries.
    pub const READ: DirPerms = DirPerms {
        read: true,
        mutate: false,
    };
    /// Create, rename and remove entries (implies nothing about reading).
    pub const MUTATE: DirPerms = DirPerms {
        read: false,
        mutate: true,
    };
    /// Both permissions together.
    pub const fn all() -> DirPerms {
        DirPerms {
            read: true,
            mutate: true,
        }
    }

    /// The union of two permission sets.
    pub const fn union(self, other: DirPerms) -> DirPerms {
        DirPerms {
            read: self.read || other.read,
            mutate: self.mutate || other.mutate,
        }
    }

    fn rights(self) -> u64 {
        (if self.read { rights::DIR_READ } else { 0 })
            | (if self.mutate { rights::DIR_MUTATE } else { 0 })
    }
}

/// What a guest may do with the files under a preopened directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePerms {
    read: bool,
    write: bool,
}

impl FilePerms {
    /// Read files.
    pub const READ: FilePerms = FilePerms {
        read: true,
        write: false,
    };
    /// Write files.
    pub const WRITE: FilePerms = FilePerms {
        read: false,
        write: true,
    };

    /// Both permissions together.
    pub const fn all() -> FilePerms {
        FilePerms {
            read: true,
            write: true,
        }
    }

    /// The union of two permission sets.
    pub const fn union(self, other: FilePerms) -> FilePerms {
        FilePerms {
            read: self.read || other.read,
            write: self.write || other.write,
        }
    }

    fn rights(self) -> u64 {
        (if self.read { rights::FILE_READ } else { 0 })
            | (if self.write { rights::FILE_WRITE } else { 0 })
    }
}

/// The wall clock a guest reads with `clock_time_get(realtime)`.
pub trait WasiWallClock: Send {
    /// Time since the Unix epoch.
    fn now(&self) -> Duration;
    /// The clock's resolution.
    fn resolution(&self) -> Duration;
}

/// The monotonic clock a guest reads with `clock_time_get(monotonic)` and
/// sleeps on with `poll_oneoff`.
pub trait WasiMonotonicClock: Send {
    /// Nanoseconds since an arbitrary fixed point.
    fn now(&self) -> u64;
    /// The clock's resolution.
    fn resolution(&self) -> Duration;
}

/// Where `random_get` takes its bytes.
pub trait WasiRandom: Send {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// Fails when the source is exhausted or unavailable; the guest sees `EIO`.
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()>;
}

/// The host's real-time clock.
struct SystemWallClock;

impl WasiWallClock for SystemWallClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }
    fn resolution(&self) -> Duration {
        timespec_duration(rustix::time::clock_getres(rustix::time::ClockId::Realtime))
    }
}

/// The host's monotonic clock.
struct SystemMonotonicClock;

impl WasiMonotonicClock for SystemMonotonicClock {
    fn now(&self) -> u64 {
        timespec_nanos(rustix::time::clock_gettime(
            rustix::time::ClockId::Monotonic,
        ))
    }
    fn resolution(&self) -> Duration {
        timespec_duration(rustix::time::clock_getres(rustix::time::ClockId::Monotonic))
    }
}

/// The operating system's cryptographic random source.
struct SystemRandom;

impl WasiRandom for SystemRandom {
    fn fill(&mut self, mut buf: &mut [u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            let n = rustix::rand::getrandom(&mut *buf, rustix::rand::GetRandomFlags::empty())?;
            buf = &mut buf[n..];
        }
        Ok(())
    }
}

pub(crate) fn timespec_nanos(t: rustix::time::Timespec) -> u64 {
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

fn timespec_duration(t: rustix::time::Timespec) -> Duration {
    Duration::from_nanos(timespec_nanos(t).max(1))
}

/// Everything a running guest's WASI calls read and change.
pub(crate) struct State {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) table: Table,
    pub(crate) wall_clock: Box<dyn WasiWallClock>,
    pub(crate) monotonic_clock: Box<dyn WasiMonotonicClock>,
    pub(crate) random: Box<dyn WasiRandom>,
    /// What the guest may do on the network (WASI 0.2 `wasi:sockets`).
    pub(crate) network: NetworkPerms,
}

/// The network permissions of a guest, set by
/// [`WasiCtxBuilder::inherit_network`] and
/// [`WasiCtxBuilder::allow_ip_name_lookup`]; both off by default.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NetworkPerms {
    /// Sockets may bind, connect and send to any address.
    pub(crate) inherit: bool,
    /// `ip-name-lookup` may resolve names.
    pub(crate) ip_name_lookup: bool,
}

/// A guest's WASI state; put it in the store data and give
/// [`crate::add_to_linker`] a way to reach it.
///
/// The state sits behind a mutex only so that wasmtime 12's `&self` setters
/// ([`WasiCtx::set_stdout`] & co.) work; WASI calls reach it through
/// `&mut WasiCtx` and never lock.
pub struct WasiCtx {
    pub(crate) state: Mutex<Option<Box<State>>>,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx").finish_non_exhaustive()
    }
}

impl WasiCtx {
    /// The state slot, without locking.
    pub(crate) fn slot(&mut self) -> &mut Option<Box<State>> {
        self.state.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, for a WASI 0.2 call (which never runs inside a preview 1
    /// call, so the state is always in place).
    pub(crate) fn state_mut(&mut self) -> Result<&mut State> {
        self.slot()
            .as_deref_mut()
            .context("the WASI context is unavailable (a WASI call re-entered another one)")
    }

    /// Runs `f` on the state through `&self`. The state is out of its slot
    /// only while a WASI call runs, and WASI calls never call back into
    /// embedder code, so `f` always runs.
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> Option<R> {
        let mut slot = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_deref_mut().map(f)
    }

    /// Appends one argument (wasmtime 12's `WasiCtx::push_arg`).
    ///
    /// # Errors
    /// Fails when `arg` contains a NUL byte.
    pub fn push_arg(&mut self, arg: &str) -> Result<()> {
        check_no_nul("argument", arg)?;
        self.state_mut()?.args.push(arg.to_string());
        Ok(())
    }

    /// Sets one environment variable (wasmtime 12's `WasiCtx::push_env`).
    ///
    /// # Errors
    /// Fails when the name is empty or contains `=` or NUL, or the value NUL.
    pub fn push_env(&mut self, var: &str, value: &str) -> Result<()> {
        check_env(var, value)?;
        set_env(&mut self.state_mut()?.env, var, value);
        Ok(())
    }

    /// Replaces standard input (descriptor 0), whatever the guest did to it.
    pub fn set_stdin(&self, f: Box<dyn WasiFile>) {
        self.set_stdio(0, f);
    }

    /// Replaces standard output (descriptor 1), whatever the guest did to it.
    pub fn set_stdout(&self, f: Box<dyn WasiFile>) {
        self.set_stdio(1, f);
    }

    /// Replaces standard error (descriptor 2), whatever the guest did to it.
    pub fn set_stderr(&self, f: Box<dyn WasiFile>) {
        self.set_stdio(2, f);
    }

    fn set_stdio(&self, fd: u32, f: Box<dyn WasiFile>) {
        let desc = stdio_desc(stream_of(f));
        self.with_state(|s| s.table.insert_at(fd, desc));
    }

    /// Puts `file` at descriptor `fd`, closing what was there, with the
    /// rights `access_mode` allows (wasmtime 12's `WasiCtx::insert_file`).
    pub fn insert_file(&self, fd: u32, file: Box<dyn WasiFile>, access_mode: FileAccessMode) {
        let desc = file_desc(stream_of(file), access_mode);
        self.with_state(|s| s.table.insert_at(fd, desc));
    }

    /// Puts `file` at the lowest free descriptor and returns it, with the
    /// rights `access_mode` allows (wasmtime 12's `WasiCtx::push_file`).
    ///
    /// # Errors
    /// Fails when the table is full.
    pub fn push_file(&self, file: Box<dyn WasiFile>, access_mode: FileAccessMode) -> Result<u32> {
        let desc = file_desc(stream_of(file), access_mode);
        match self.with_state(|s| s.table.push(desc)) {
            Some(Ok(fd)) => Ok(fd),
            Some(Err(_)) => bail!("the guest's descriptor table is full"),
            None => bail!("the WASI context is unavailable (a WASI call is running)"),
        }
    }

    /// Gives the guest one more preopened directory, named `path`, at the
    /// lowest free descriptor, with every right (as wasmtime 12's
    /// `WasiCtx::push_preopened_dir`).
    ///
    /// # Errors
    /// Fails when `path` is not UTF-8 or contains NUL, or the table is full.
    pub fn push_preopened_dir(&self, dir: Box<dyn WasiDir>, path: impl AsRef<Path>) -> Result<()> {
        let guest = guest_name(path.as_ref())?;
        let desc = preopen_desc(guest, dir_of(dir), DirPerms::all(), FilePerms::all());
        match self.with_state(|s| s.table.push(desc)) {
            Some(Ok(_)) => Ok(()),
            Some(Err(_)) => bail!("the guest's descriptor table is full"),
            None => bail!("the WASI context is unavailable (a WASI call is running)"),
        }
    }
}

/// A standard stream's descriptor.
fn stdio_desc(stream: Stream) -> Desc {
    let filetype = match &stream {
        Stream::Host(f) => crate::host::fs::filetype_of(f),
        _ => filetype::UNKNOWN,
    };
    Desc {
        kind: Kind::Stream(stream),
        base: rights::STDIO,
        inheriting: 0,
        flags: 0,
        filetype,
    }
}

/// The descriptor of a file given with `insert_file`/`push_file`: a host
/// file is a file (seek, stat, pread work); a pipe is a stream.
fn file_desc(stream: Stream, mode: FileAccessMode) -> Desc {
    let base = (if mode.contains(FileAccessMode::READ) {
        rights::FILE_READ
    } else {
        0
    }) | (if mode.contains(FileAccessMode::WRITE) {
        rights::FILE_WRITE
    } else {
        0
    });
    match stream {
        Stream::Host(f) => Desc {
            filetype: crate::host::fs::filetype_of(&f),
            kind: Kind::File(f),
            base,
            inheriting: 0,
            flags: 0,
        },
        stream => Desc {
            base: base & rights::STDIO,
            ..stdio_desc(stream)
        },
    }
}

/// A preopened directory's descriptor.
fn preopen_desc(guest: String, file: File, dir_perms: DirPerms, file_perms: FilePerms) -> Desc {
    let base = dir_perms.rights();
    Desc {
        kind: Kind::Dir(Dir {
            file,
            preopen: Some(guest),
            listing: None,
        }),
        base,
        inheriting: base | file_perms.rights(),
        flags: 0,
        filetype: filetype::DIRECTORY,
    }
}

/// A preopen's guest-visible name: UTF-8 without NUL.
fn guest_name(path: &Path) -> Result<String> {
    let Some(name) = path.to_str() else {
        bail!("preopened directory name {path:?} is not UTF-8");
    };
    check_no_nul("preopened directory name", name)?;
    Ok(name.to_string())
}

impl State {
    /// Standard input (0), output (1) or error (2), shared with preview 1;
    /// `None` if a preview 1 guest closed or replaced it.
    pub(crate) fn stdio(&mut self, fd: u32) -> Option<&mut Stream> {
        match self.table.get(fd) {
            Ok(Desc {
                kind: Kind::Stream(s),
                ..
            }) => Some(s),
            _ => None,
        }
    }
}

/// Builds a [`WasiCtx`]. Nothing is inherited unless asked: no arguments, no
/// environment, empty standard input, discarded output, no directories.
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Stream>,
    stdout: Option<Stream>,
    stderr: Option<Stream>,
    preopens: Vec<(String, File, DirPerms, FilePerms)>,
    wall_clock: Option<Box<dyn WasiWallClock>>,
    monotonic_clock: Option<Box<dyn WasiMonotonicClock>>,
    random: Option<Box<dyn WasiRandom>>,
    network: NetworkPerms,
    built: bool,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

/// Checks an environment variable for what WASI cannot pass.
fn check_env(name: &str, value: &str) -> Result<()> {
    if name.is_empty() || name.contains('=') {
        bail!(
            "environment variable name `{}` is empty or contains `=`",
            name.escape_debug()
        );
    }
    check_no_nul("environment variable name", name)?;
    check_no_nul("environment variable value", value)
}

/// Sets `name` in `env`, replacing an earlier value.
fn set_env(env: &mut Vec<(String, String)>, name: &str, value: &str) {
    env.retain(|(n, _)| n != name);
    env.push((name.to_string(), value.to_string()));
}

fn check_no_nul(what: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        bail!(
            "{what} `{}` contains a NUL byte, which WASI cannot pass",
            s.escape_debug()
        );
    }
    Ok(())
}

impl WasiCtxBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            stdout: None,
            stderr: None,
            preopens: Vec::new(),
            wall_clock: None,
            monotonic_clock: None,
            random: None,
            network: NetworkPerms::default(),
            built: false,
        }
    }

    /// Appends one argument (the first is the program's name, `argv[0]`).
    ///
    /// # Errors
    /// Fails when `arg` contains a NUL byte.
    pub fn arg(&mut self, arg: &str) -> Result<&mut Self> {
        check_no_nul("argument", arg)?;
        self.args.push(arg.to_string());
        Ok(self)
    }

    /// Appends arguments.
    ///
    /// # Errors
    /// Fails when an argument contains a NUL byte.
    pub fn args(&mut self, args: &[String]) -> Result<&mut Self> {
        for a in args {
            self.arg(a)?;
        }
        Ok(self)
    }

    /// Appends the host process's own arguments.
    ///
    /// # Errors
    /// Fails when an argument is not UTF-8.
    pub fn inherit_args(&mut self) -> Result<&mut Self> {
        for a in std::env::args_os() {
            let a = a
                .into_string()
                .map_err(|a| anyhow::anyhow!("argument {a:?} is not UTF-8"))?;
            self.arg(&a)?;
        }
        Ok(self)
    }

    /// Sets one environment variable.
    ///
    /// # Errors
    /// Fails when the name is empty or contains `=` or NUL, or the value NUL.
    pub fn env(&mut self, name: &str, value: &str) -> Result<&mut Self> {
        check_env(name, value)?;
        set_env(&mut self.env, name, value);
        Ok(self)
    }

    /// Sets environment variables.
    ///
    /// # Errors
    /// As [`WasiCtxBuilder::env`].
    pub fn envs(&mut self, env: &[(String, String)]) -> Result<&mut Self> {
        for (n, v) in env {
            self.env(n, v)?;
        }
        Ok(self)
    }

    /// Passes the host process's environment (variables that are not UTF-8
    /// are skipped).
    ///
    /// # Errors
    /// Fails when a variable cannot be passed (contains NUL).
    pub fn inherit_env(&mut self) -> Result<&mut Self> {
        for (n, v) in std::env::vars_os() {
            if let (Some(n), Some(v)) = (n.to_str(), v.to_str()) {
                self.env(n, v)?;
            }
        }
        Ok(self)
    }

    /// Standard input from `f` (a [`crate::pipe::ReadPipe`], a
    /// [`crate::sync::file::File`], [`crate::sync::stdio::stdin`]).
    pub fn stdin(&mut self, f: Box<dyn WasiFile>) -> &mut Self {
        self.stdin = Some(stream_of(f));
        self
    }

    /// Standard output to `f` (a [`crate::pipe::WritePipe`], a
    /// [`crate::sync::file::File`], [`crate::sync::stdio::stdout`]).
    pub fn stdout(&mut self, f: Box<dyn WasiFile>) -> &mut Self {
        self.stdout = Some(stream_of(f));
        self
    }

    /// Standard error to `f`, as [`WasiCtxBuilder::stdout`].
    pub fn stderr(&mut self, f: Box<dyn WasiFile>) -> &mut Self {
        self.stderr = Some(stream_of(f));
        self
    }

    /// The host's standard input. The host descriptor is duplicated now; if
    /// that fails, the guest's reads fail with the host's error.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin(Box::new(crate::sync::stdio::stdin()))
    }

    /// The host's standard output (see [`WasiCtxBuilder::inherit_stdin`]).
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout(Box::new(crate::sync::stdio::stdout()))
    }

    /// The host's standard error (see [`WasiCtxBuilder::inherit_stdin`]).
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr(Box::new(crate::sync::stdio::stderr()))
    }

    /// The host's standard input, output and error.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Gives the guest the directory `dir` under the name `guest_path`, with
    /// every right (wasmtime 12's shape): paths the guest resolves through it
    /// can reach what lies below it and nothing else. Preopens get
    /// descriptors 3, 4, … in the order they are added.
    ///
    /// ```no_run
    /// use tern_wasi::sync::{ambient_authority, Dir, WasiCtxBuilder};
    /// let dir = Dir::open_ambient_dir("data", ambient_authority())?;
    /// let ctx = WasiCtxBuilder::new().preopened_dir(dir, "/data")?.build();
    /// # anyhow::Ok(())
    /// ```
    ///
    /// # Errors
    /// Fails when `guest_path` is not UTF-8 or contains NUL.
    pub fn preopened_dir(
        &mut self,
        dir: crate::sync::Dir,
        guest_path: impl AsRef<Path>,
    ) -> Result<&mut Self> {
        self.preopened_dir_with_perms(dir, guest_path, DirPerms::all(), FilePerms::all())
    }

    /// [`WasiCtxBuilder::preopened_dir`] with the rights limited to
    /// `dir_perms` on the directory and `file_perms` on what is opened
    /// through it (Tern's addition; later wasmtime versions take the same
    /// two permission sets).
    ///
    /// # Errors
    /// Fails when `guest_path` is not UTF-8 or contains NUL.
    pub fn preopened_dir_with_perms(
        &mut self,
        dir: crate::sync::Dir,
        guest_path: impl AsRef<Path>,
        dir_perms: DirPerms,
        file_perms: FilePerms,
    ) -> Result<&mut Self> {
        let guest = guest_name(guest_path.as_ref())?;
        self.preopens.push((guest, dir.file, dir_perms, file_perms));
        Ok(self)
    }

    /// Replaces the wall clock (for reproducible runs).
    pub fn wall_clock(&mut self, clock: impl WasiWallClock + 'static) -> &mut Self {
        self.wall_clock = Some(Box::new(clock));
        self
    }

    /// Replaces the monotonic clock.
    pub fn monotonic_clock(&mut self, clock: impl WasiMonotonicClock + 'static) -> &mut Self {
        self.monotonic_clock = Some(Box::new(clock));
        self
    }

    /// Replaces the random source (for reproducible runs).
    pub fn secure_random(&mut self, random: impl WasiRandom + 'static) -> &mut Self {
        self.random = Some(Box::new(random));
        self
    }

    /// Lets the guest's WASI 0.2 sockets (`wasi:sockets/tcp`, `udp`) bind,
    /// connect and send to any address, as the host process could. Without
    /// it, creating a socket still works but `start-bind`, `start-connect`,
    /// UDP `stream` with a remote address and `send` to an address return
    /// `access-denied` (as in wasmtime).
    pub fn inherit_network(&mut self) -> &mut Self {
        self.network.inherit = true;
        self
    }

    /// Allows (or forbids) `wasi:sockets/ip-name-lookup`. Without it,
    /// `resolve-addresses` returns `permanent-resolver-failure` (as in
    /// wasmtime).
    pub fn allow_ip_name_lookup(&mut self, enable: bool) -> &mut Self {
        self.network.ip_name_lookup = enable;
        self
    }

    /// The context.
    ///
    /// # Panics
    /// Panics when called twice on the same builder (as wasmtime's does): the
    /// preopened descriptors belong to the first context.
    pub fn build(&mut self) -> WasiCtx {
        assert!(!self.built, "WasiCtxBuilder::build called twice");
        self.built = true;
        let mut table = Table::default();
        for stream in [self.stdin.take(), self.stdout.take(), self.stderr.take()] {
            // Cannot fail: the table is empty and grows by one.
            let _ = table.push(stdio_desc(stream.unwrap_or(Stream::Null)));
        }
        for (guest, file, dir_perms, file_perms) in self.preopens.drain(..) {
            let _ = table.push(preopen_desc(guest, file, dir_perms, file_perms));
        }
        WasiCtx {
            state: Mutex::new(Some(Box::new(State {
                args: std::mem::take(&mut self.args),
                env: std::mem::take(&mut self.env),
                table,
                wall_clock: self
                    .wall_clock
                    .take()
                    .unwrap_or_else(|| Box::new(SystemWallClock)),
                monotonic_clock: self
                    .monotonic_clock
                    .take()
                    .unwrap_or_else(|| Box::new(SystemMonotonicClock)),
                random: self.random.take().unwrap_or_else(|| Box::new(SystemRandom)),
                network: self.network,
            }))),
        }
    }
}

//! [`add_to_linker`]: defines every `wasi_snapshot_preview1` function in a
//! [`Linker`], each a thin adapter from wasm arguments to a `State` method.
//!
//! The hard part is borrowing: a WASI call needs the context (inside the
//! store's data) and the guest's memory (inside the store) at once, and Tern's
//! public API hands out one mutable borrow of the store at a time. So each call
//! takes the context's boxed state out of the `WasiCtx` (a pointer move), works
//! with the memory borrowed from the store, and puts the state back before
//! returning. WASI functions never call back into wasm, so nothing can observe
//! the context while its state is out.

use crate::ctx::{State, WasiCtx};
use crate::error::{Error, WasiResult};
use crate::memory::GuestMemory;
use anyhow::{bail, Result};
use std::future::Future;
use tern::{Caller, Extern, FuncType, Linker, Val, ValType};

/// The module name every preview 1 import uses.
const PREVIEW1: &str = "wasi_snapshot_preview1";

/// The module name every preview 0 import uses.
const PREVIEW0: &str = "wasi_unstable";

/// Runs `f` with the state and the caller's exported memory (empty when the
/// caller exports none: every pointer is then `EFAULT`).
fn with_state<T>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WasiCtx,
    f: impl FnOnce(&mut State, &mut GuestMemory<'_>) -> WasiResult<()>,
) -> Result<i32> {
    let memory = match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Some(m),
        _ => None,
    };
    let Some(mut state) = get(caller.data_mut()).slot().take() else {
        bail!("the WASI context is unavailable (a WASI call re-entered another one)");
    };
    let result = match memory {
        Some(m) => f(&mut state, &mut GuestMemory::new(m.data_mut(&mut *caller))),
        None => f(&mut state, &mut GuestMemory::new(&mut [])),
    };
    *get(caller.data_mut()).slot() = Some(state);
    match result {
        Ok(()) => Ok(0),
        Err(Error::Errno(e)) => Ok(i32::from(e as u16)),
        Err(Error::Trap(e)) => Err(e),
    }
}

/// Defines one WASI function taking only `i32`/`i64` arguments and returning
/// an errno, as a closure `|state, mem, args…| body`, with `func_wrap`.
macro_rules! wasi_sync {
    ($module:expr, $linker:ident, $get:ident, $name:literal, |$st:ident, $mem:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $linker.func_wrap($module, $name, move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> Result<i32> {
            #[allow(unused_variables, reason = "not every function uses memory")]
            with_state(&mut caller, $get, |$st: &mut State, $mem: &mut GuestMemory<'_>| $body)
        })?;
    };
}

/// The same with `func_wrap_async`: the body runs to completion before the
/// future is returned, so the future is always ready when first polled.
macro_rules! wasi_async {
    ($module:expr, $linker:ident, $get:ident, $name:literal, |$st:ident, $mem:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $linker.func_wrap_async($module, $name, move |mut caller: Caller<'_, T>, ($($arg,)*): ($($ty,)*)| -> Box<dyn Future<Output = Result<i32>> + Send + '_> {
            #[allow(unused_variables, reason = "not every function uses memory")]
            let r = with_state(&mut caller, $get, |$st: &mut State, $mem: &mut GuestMemory<'_>| $body);
            Box::new(std::future::ready(r))
        })?;
    };
}

/// Every `wasi_snapshot_preview1` function but `proc_exit` (no result) and
/// `path_open` (more parameters than `func_wrap` takes), each defined with
/// `$def` (`wasi_sync` or `wasi_async`).
macro_rules! preview1_functions {
    ($def:ident, $linker:ident, $get:ident, $module:expr) => {
        $def!(
            $module,
            $linker,
            $get,
            "args_get",
            |s, m, argv: u32, buf: u32| s.args_get(m, argv, buf)
        );
        $def!(
            $module,
            $linker,
            $get,
            "args_sizes_get",
            |s, m, argc: u32, size: u32| s.args_sizes_get(m, argc, size)
        );
        $def!(
            $module,
            $linker,
            $get,
            "environ_get",
            |s, m, env: u32, buf: u32| s.environ_get(m, env, buf)
        );
        $def!(
            $module,
            $linker,
            $get,
            "environ_sizes_get",
            |s, m, n: u32, size: u32| s.environ_sizes_get(m, n, size)
        );
        $def!(
            $module,
            $linker,
            $get,
            "clock_res_get",
            |s, m, id: u32, out: u32| s.clock_res_get(m, id, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "clock_time_get",
            |s, m, id: u32, precision: u64, out: u32| s.clock_time_get(m, id, precision, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_advise",
            |s, m, fd: u32, offset: u64, len: u64, advice: u32| s
                .fd_advise(fd, offset, len, advice)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_allocate",
            |s, m, fd: u32, offset: u64, len: u64| s.fd_allocate(fd, offset, len)
        );
        $def!($module, $linker, $get, "fd_close", |s, m, fd: u32| s
            .fd_close(fd));
        $def!($module, $linker, $get, "fd_datasync", |s, m, fd: u32| s
            .fd_datasync(fd));
        $def!(
            $module,
            $linker,
            $get,
            "fd_fdstat_get",
            |s, m, fd: u32, out: u32| s.fd_fdstat_get(m, fd, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_fdstat_set_flags",
            |s, m, fd: u32, flags: u32| s.fd_fdstat_set_flags(fd, flags)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_fdstat_set_rights",
            |s, m, fd: u32, base: u64, inh: u64| s.fd_fdstat_set_rights(fd, base, inh)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_filestat_set_size",
            |s, m, fd: u32, size: u64| s.fd_filestat_set_size(fd, size)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_filestat_set_times",
            |s, m, fd: u32, atim: u64, mtim: u64, flags: u32| s
                .fd_filestat_set_times(fd, atim, mtim, flags)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_pread",
            |s, m, fd: u32, iovs: u32, n: u32, offset: u64, out: u32| s
                .fd_pread(m, fd, iovs, n, offset, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_prestat_get",
            |s, m, fd: u32, out: u32| s.fd_prestat_get(m, fd, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_prestat_dir_name",
            |s, m, fd: u32, path: u32, len: u32| s.fd_prestat_dir_name(m, fd, path, len)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_pwrite",
            |s, m, fd: u32, iovs: u32, n: u32, offset: u64, out: u32| s
                .fd_pwrite(m, fd, iovs, n, offset, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_read",
            |s, m, fd: u32, iovs: u32, n: u32, out: u32| s.fd_read(m, fd, iovs, n, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_readdir",
            |s, m, fd: u32, buf: u32, len: u32, cookie: u64, out: u32| s
                .fd_readdir(m, fd, buf, len, cookie, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_renumber",
            |s, m, from: u32, to: u32| s.fd_renumber(from, to)
        );
        $def!($module, $linker, $get, "fd_sync", |s, m, fd: u32| s
            .fd_sync(fd));
        $def!(
            $module,
            $linker,
            $get,
            "fd_tell",
            |s, m, fd: u32, out: u32| s.fd_tell(m, fd, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "fd_write",
            |s, m, fd: u32, iovs: u32, n: u32, out: u32| s.fd_write(m, fd, iovs, n, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_create_directory",
            |s, m, fd: u32, path: u32, len: u32| s.path_create_directory(m, fd, path, len)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_filestat_set_times",
            |s, m, fd: u32, flags: u32, path: u32, len: u32, atim: u64, mtim: u64, fst: u32| s
                .path_filestat_set_times(m, fd, flags, path, len, atim, mtim, fst)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_link",
            |s,
             m,
             old_fd: u32,
             old_flags: u32,
             old_path: u32,
             old_len: u32,
             new_fd: u32,
             new_path: u32,
             new_len: u32| s
                .path_link(m, old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_readlink",
            |s, m, fd: u32, path: u32, len: u32, buf: u32, buf_len: u32, out: u32| s
                .path_readlink(m, fd, path, len, buf, buf_len, out)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_remove_directory",
            |s, m, fd: u32, path: u32, len: u32| s.path_remove_directory(m, fd, path, len)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_rename",
            |s,
             m,
             fd: u32,
             old_path: u32,
             old_len: u32,
             new_fd: u32,
             new_path: u32,
             new_len: u32| s.path_rename(m, fd, old_path, old_len, new_fd, new_path, new_len)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_symlink",
            |s, m, old_path: u32, old_len: u32, fd: u32, new_path: u32, new_len: u32| s
                .path_symlink(m, old_path, old_len, fd, new_path, new_len)
        );
        $def!(
            $module,
            $linker,
            $get,
            "path_unlink_file",
            |s, m, fd: u32, path: u32, len: u32| s.path_unlink_file(m, fd, path, len)
        );
        $def!($module, $linker, $get, "proc_raise", |s, m, sig: u32| s
            .proc_raise(sig));
        $def!($module, $linker, $get, "sched_yield", |s, m| s
            .sched_yield());
        $def!(
            $module,
            $linker,
            $get,
            "random_get",
            |s, m, buf: u32, len: u32| s.random_get(m, buf, len)
        );
        $def!(
            $module,
            $linker,
            $get,
            "sock_accept",
            |s, m, fd: u32, _flags: u32, _out: u32| s.sock_op(fd)
        );
        $def!(
            $module,
            $linker,
            $get,
            "sock_recv",
            |s, m, fd: u32, _d: u32, _n: u32, _f: u32, _o: u32, _of: u32| s.sock_op(fd)
        );
        $def!(
            $module,
            $linker,
            $get,
            "sock_send",
            |s, m, fd: u32, _d: u32, _n: u32, _f: u32, _o: u32| s.sock_op(fd)
        );
        $def!(
            $module,
            $linker,
            $get,
            "sock_shutdown",
            |s, m, fd: u32, _how: u32| s.sock_op(fd)
        );
    };
}

/// The four functions whose ABI differs between the snapshots (see
/// `host/preview0.rs`), each defined for both with `$def`.
macro_rules! snapshot_functions {
    ($def:ident, $linker:ident, $get:ident) => {
        $def!(
            PREVIEW1,
            $linker,
            $get,
            "fd_filestat_get",
            |s, m, fd: u32, out: u32| s.fd_filestat_get(m, fd, out)
        );
        $def!(
            PREVIEW0,
            $linker,
            $get,
            "fd_filestat_get",
            |s, m, fd: u32, out: u32| s.p0_fd_filestat_get(m, fd, out)
        );
        $def!(
            PREVIEW1,
            $linker,
            $get,
            "fd_seek",
            |s, m, fd: u32, offset: i64, whence: u32, out: u32| s
                .fd_seek(m, fd, offset, whence, out)
        );
        $def!(
            PREVIEW0,
            $linker,
            $get,
            "fd_seek",
            |s, m, fd: u32, offset: i64, whence: u32, out: u32| s
                .p0_fd_seek(m, fd, offset, whence, out)
        );
        $def!(
            PREVIEW1,
            $linker,
            $get,
            "path_filestat_get",
            |s, m, fd: u32, flags: u32, path: u32, len: u32, out: u32| s
                .path_filestat_get(m, fd, flags, path, len, out)
        );
        $def!(
            PREVIEW0,
            $linker,
            $get,
            "path_filestat_get",
            |s, m, fd: u32, flags: u32, path: u32, len: u32, out: u32| s
                .p0_path_filestat_get(m, fd, flags, path, len, out)
        );
        $def!(
            PREVIEW1,
            $linker,
            $get,
            "poll_oneoff",
            |s, m, subs: u32, events: u32, n: u32, out: u32| s.poll_oneoff(m, subs, events, n, out)
        );
        $def!(
            PREVIEW0,
            $linker,
            $get,
            "poll_oneoff",
            |s, m, subs: u32, events: u32, n: u32, out: u32| s
                .p0_poll_oneoff(m, subs, events, n, out)
        );
    };
}

/// Defines every `wasi_snapshot_preview1` function, and every preview 0
/// (`wasi_unstable`) function as wasmtime 12 does, in `linker`, reaching the
/// context through `get`.
///
/// A guest's `proc_exit(code)` ends its call with an error that downcasts to
/// [`crate::I32Exit`].
///
/// # Errors
/// Fails when one of the names is already defined and shadowing is off.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<()> {
    snapshot_functions!(wasi_sync, linker, get);
    for module in [PREVIEW1, PREVIEW0] {
        preview1_functions!(wasi_sync, linker, get, module);
        linker.func_wrap(
            module,
            "proc_exit",
            move |mut caller: Caller<'_, T>, code: u32| -> Result<()> {
                with_state(&mut caller, get, |s, _| s.proc_exit(code)).map(drop)
            },
        )?;
        // `path_open` has nine parameters, one more than `Linker::func_wrap`
        // takes, so it goes through the dynamic `func_new`.
        linker.func_new(
            module,
            "path_open",
            path_open_type(),
            move |mut caller: Caller<'_, T>, args: &[Val], results: &mut [Val]| {
                path_open(&mut caller, get, args, results)
            },
        )?;
    }
    Ok(())
}

/// `path_open`'s nine parameters, through the dynamic `func_new`.
fn path_open_type() -> FuncType {
    FuncType::new(
        [
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I64,
            ValType::I64,
            ValType::I32,
            ValType::I32,
        ],
        [ValType::I32],
    )
}

/// `path_open` from dynamic values.
fn path_open<T>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WasiCtx,
    args: &[Val],
    results: &mut [Val],
) -> Result<()> {
    let a = |i: usize| args.get(i).and_then(Val::i32).unwrap_or(0) as u32;
    let b = |i: usize| args.get(i).and_then(Val::i64).unwrap_or(0) as u64;
    let errno = with_state(caller, get, |s, m| {
        s.path_open(m, a(0), a(1), a(2), a(3), a(4), b(5), b(6), a(7), a(8))
    })?;
    if let Some(r) = results.first_mut() {
        *r = Val::I32(errno);
    }
    Ok(())
}

/// [`add_to_linker`] for engines with `Config::async_support(true)`: the
/// same functions defined with `func_wrap_async` / `func_new_async` (see
/// [`crate::tokio::add_to_linker`]).
pub(crate) fn add_to_linker_async<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<()> {
    snapshot_functions!(wasi_async, linker, get);
    for module in [PREVIEW1, PREVIEW0] {
        preview1_functions!(wasi_async, linker, get, module);
        linker.func_wrap_async(
            module,
            "proc_exit",
            move |mut caller: Caller<'_, T>,
                  (code,): (u32,)|
                  -> Box<dyn Future<Output = Result<()>> + Send + '_> {
                let r = with_state(&mut caller, get, |s, _| s.proc_exit(code)).map(drop);
                Box::new(std::future::ready(r))
            },
        )?;
        linker.func_new_async(
            module,
            "path_open",
            path_open_type(),
            move |mut caller: Caller<'_, T>,
                  args: &[Val],
                  results: &mut [Val]|
                  -> Box<dyn Future<Output = Result<()>> + Send + '_> {
                let r = path_open(&mut caller, get, args, results);
                Box::new(std::future::ready(r))
            },
        )?;
    }
    Ok(())
}

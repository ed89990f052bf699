//! A guest for calling WASI functions one at a time from Rust tests.
//!
//! The module is generated: for each `wasi_snapshot_preview1` function it
//! imports, it exports a wasm wrapper of the same signature (host functions
//! must be called from wasm to see the caller's memory), plus the memory.
//! Tests put strings and structures into that memory, call a wrapper, and read
//! the out-parameters back; the errno is returned as it is.

use tern::{Engine, Instance, Linker, Memory, Module, Store, Val};
use tern_wasi::{WasiCtx, WasiCtxBuilder};

/// Store data of the test guests.
pub struct Host {
    pub wasi: WasiCtx,
}

/// Every preview 1 function: name, parameter types ('i' = i32, 'I' = i64),
/// whether it returns an errno.
pub const FUNCTIONS: &[(&str, &str, bool)] = &[
    ("args_get", "ii", true),
    ("args_sizes_get", "ii", true),
    ("environ_get", "ii", true),
    ("environ_sizes_get", "ii", true),
    ("clock_res_get", "ii", true),
    ("clock_time_get", "iIi", true),
    ("fd_advise", "iIIi", true),
    ("fd_allocate", "iII", true),
    ("fd_close", "i", true),
    ("fd_datasync", "i", true),
    ("fd_fdstat_get", "ii", true),
    ("fd_fdstat_set_flags", "ii", true),
    ("fd_fdstat_set_rights", "iII", true),
    ("fd_filestat_get", "ii", true),
    ("fd_filestat_set_size", "iI", true),
    ("fd_filestat_set_times", "iIIi", true),
    ("fd_pread", "iiiIi", true),
    ("fd_prestat_get", "ii", true),
    ("fd_prestat_dir_name", "iii", true),
    ("fd_pwrite", "iiiIi", true),
    ("fd_read", "iiii", true),
    ("fd_readdir", "iiiIi", true),
    ("fd_renumber", "ii", true),
    ("fd_seek", "iIii", true),
    ("fd_sync", "i", true),
    ("fd_tell", "ii", true),
    ("fd_write", "iiii", true),
    ("path_create_directory", "iii", true),
    ("path_filestat_get", "iiiii", true),
    ("path_filestat_set_times", "iiiiIIi", true),
    ("path_link", "iiiiiii", true),
    ("path_open", "iiiiiIIii", true),
    ("path_readlink", "iiiiii", true),
    ("path_remove_directory", "iii", true),
    ("path_rename", "iiiiii", true),
    ("path_symlink", "iiiii", true),
    ("path_unlink_file", "iii", true),
    ("poll_oneoff", "iiii", true),
    ("proc_exit", "i", false),
    ("proc_raise", "i", true),
    ("sched_yield", "", true),
    ("random_get", "ii", true),
    ("sock_accept", "iii", true),
    ("sock_recv", "iiiiii", true),
    ("sock_send", "iiiii", true),
    ("sock_shutdown", "ii", true),
];

/// The generated guest module's text.
pub fn guest_wat(with_memory: bool) -> String {
    let mut imports = String::new();
    let mut wrappers = String::new();
    for (name, params, result) in FUNCTIONS {
        let ps: Vec<&str> = params
            .chars()
            .map(|c| if c == 'I' { "i64" } else { "i32" })
            .collect();
        let sig = format!(
            "(param {}){}",
            ps.join(" "),
            if *result { " (result i32)" } else { "" }
        );
        imports.push_str(&format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} {sig}))\n"
        ));
        let gets: String = (0..ps.len())
            .map(|i| format!("(local.get {i})"))
            .collect::<Vec<_>>()
            .join(" ");
        wrappers.push_str(&format!(
            "  (func (export \"{name}\") {sig} (call ${name} {gets}))\n"
        ));
    }
    let memory = if with_memory {
        "  (memory (export \"memory\") 4)\n"
    } else {
        ""
    };
    format!("(module\n{imports}{memory}{wrappers})")
}

/// Where tests put data in guest memory.
const SCRATCH: u32 = 1024;

/// A running test guest.
pub struct Guest {
    pub store: Store<Host>,
    pub instance: Instance,
    pub memory: Option<Memory>,
    next: u32,
}

impl Guest {
    /// A guest with `ctx` and a memory.
    pub fn new(ctx: WasiCtx) -> Guest {
        Self::build(ctx, true)
    }

    /// A guest with `ctx` and no exported memory.
    pub fn without_memory(ctx: WasiCtx) -> Guest {
        Self::build(ctx, false)
    }

    fn build(ctx: WasiCtx, with_memory: bool) -> Guest {
        let engine = Engine::default();
        let module =
            Module::new(&engine, guest_wat(with_memory)).expect("the generated guest compiles");
        let mut linker = Linker::new(&engine);
        tern_wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).expect("WASI links");
        let mut store = Store::new(&engine, Host { wasi: ctx });
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("the guest instantiates");
        let memory = instance.get_memory(&mut store, "memory");
        Guest {
            store,
            instance,
            memory,
            next: SCRATCH,
        }
    }

    /// A guest with an empty context.
    pub fn empty() -> Guest {
        Self::new(WasiCtxBuilder::new().build())
    }

    /// Calls `name`, returning its errno.
    pub fn call(&mut self, name: &str, args: &[Val]) -> anyhow::Result<i32> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .expect("the wrapper exists");
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        func.call(&mut self.store, args, &mut results)?;
        Ok(results.first().and_then(Val::i32).unwrap_or(0))
    }

    /// Calls `name` with `i32`/`i64` arguments given as `i64`, typed by the signature.
    pub fn errno(&mut self, name: &str, args: &[i64]) -> i32 {
        let (_, params, _) = FUNCTIONS
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("known function");
        assert_eq!(params.len(), args.len(), "argument count of {name}");
        let vals: Vec<Val> = params
            .chars()
            .zip(args)
            .map(|(c, &a)| {
                if c == 'I' {
                    Val::I64(a)
                } else {
                    Val::I32(a as i32)
                }
            })
            .collect();
        self.call(name, &vals)
            .unwrap_or_else(|e| panic!("{name} trapped: {e:?}"))
    }

    /// Reserves `len` bytes of scratch memory (8-aligned).
    /// Wraps around after 192 KiB: no test holds scratch data that long.
    pub fn alloc(&mut self, len: u32) -> u32 {
        if self.next + len > 192 * 1024 {
            self.next = SCRATCH;
        }
        let p = self.next;
        self.next = (self.next + len + 7) & !7;
        p
    }

    /// Copies `bytes` into fresh scratch memory.
    pub fn put(&mut self, bytes: &[u8]) -> (i64, i64) {
        let p = self.alloc(bytes.len() as u32);
        let memory = self.memory.expect("guest has memory");
        memory
            .write(&mut self.store, p as usize, bytes)
            .expect("scratch in bounds");
        (i64::from(p), bytes.len() as i64)
    }

    /// Reads `len` bytes at `ptr`.
    pub fn get(&self, ptr: i64, len: usize) -> Vec<u8> {
        let mut b = vec![0; len];
        self.memory
            .expect("guest has memory")
            .read(&self.store, ptr as usize, &mut b)
            .expect("in bounds");
        b
    }

    pub fn u32_at(&self, ptr: i64) -> u32 {
        u32::from_le_bytes(self.get(ptr, 4).try_into().unwrap())
    }

    pub fn u64_at(&self, ptr: i64) -> u64 {
        u64::from_le_bytes(self.get(ptr, 8).try_into().unwrap())
    }

    /// `path_open`: the new descriptor or the errno.
    pub fn open(
        &mut self,
        dir: u32,
        path: &str,
        lookup: u32,
        oflags: u32,
        rights: u64,
        fdflags: u32,
    ) -> Result<u32, i32> {
        let (p, l) = self.put(path.as_bytes());
        let out = i64::from(self.alloc(4));
        let e = self.errno(
            "path_open",
            &[
                dir.into(),
                lookup.into(),
                p,
                l,
                oflags.into(),
                rights as i64,
                rights as i64,
                fdflags.into(),
                out,
            ],
        );
        if e == 0 {
            Ok(self.u32_at(out))
        } else {
            Err(e)
        }
    }

    /// `fd_read` of up to `max` bytes into one buffer.
    pub fn read(&mut self, fd: u32, max: u32) -> Result<Vec<u8>, i32> {
        let buf = self.alloc(max);
        let iov = self.put(&[buf.to_le_bytes(), max.to_le_bytes()].concat()).0;
        let nread = i64::from(self.alloc(4));
        let e = self.errno("fd_read", &[fd.into(), iov, 1, nread]);
        if e == 0 {
            Ok(self.get(buf.into(), self.u32_at(nread) as usize))
        } else {
            Err(e)
        }
    }

    /// `fd_write` of `data` in one buffer; the count written or the errno.
    pub fn write(&mut self, fd: u32, data: &[u8]) -> Result<u32, i32> {
        let (buf, len) = self.put(data);
        let iov = self
            .put(&[(buf as u32).to_le_bytes(), (len as u32).to_le_bytes()].concat())
            .0;
        let n = i64::from(self.alloc(4));
        let e = self.errno("fd_write", &[fd.into(), iov, 1, n]);
        if e == 0 {
            Ok(self.u32_at(n))
        } else {
            Err(e)
        }
    }

    /// A path call taking `(fd, path_ptr, path_len)`.
    pub fn path_op(&mut self, name: &str, dir: u32, path: &str) -> i32 {
        let (p, l) = self.put(path.as_bytes());
        self.errno(name, &[dir.into(), p, l])
    }

    /// `path_filestat_get`: the file type byte, or the errno.
    pub fn stat_type(&mut self, dir: u32, path: &str, follow: bool) -> Result<u8, i32> {
        let (p, l) = self.put(path.as_bytes());
        let out = i64::from(self.alloc(64));
        let e = self.errno(
            "path_filestat_get",
            &[dir.into(), i64::from(follow), p, l, out],
        );
        if e == 0 {
            Ok(self.get(out + 16, 1)[0])
        } else {
            Err(e)
        }
    }

    /// `path_symlink(target, dir, link)`.
    pub fn symlink(&mut self, target: &str, dir: u32, link: &str) -> i32 {
        let (t, tl) = self.put(target.as_bytes());
        let (p, l) = self.put(link.as_bytes());
        self.errno("path_symlink", &[t, tl, dir.into(), p, l])
    }

    /// `path_rename(dir, old, dir, new)`.
    pub fn rename(&mut self, dir: u32, old: &str, new: &str) -> i32 {
        let (o, ol) = self.put(old.as_bytes());
        let (n, nl) = self.put(new.as_bytes());
        self.errno("path_rename", &[dir.into(), o, ol, dir.into(), n, nl])
    }

    /// Reads a whole file under `dir` through WASI.
    pub fn read_file(&mut self, dir: u32, path: &str) -> Result<Vec<u8>, i32> {
        let fd = self.open(dir, path, 1, 0, RIGHTS_ALL, 0)?;
        let mut out = Vec::new();
        loop {
            let chunk = self.read(fd, 4096)?;
            if chunk.is_empty() {
                break;
            }
            out.extend(chunk);
        }
        assert_eq!(self.errno("fd_close", &[fd.into()]), 0);
        Ok(out)
    }
}

/// Every right.
pub const RIGHTS_ALL: u64 = (1 << 30) - 1;
/// The rights that ask for writing (`FD_WRITE`, `FD_DATASYNC`, `FD_ALLOCATE`,
/// `FD_FILESTAT_SET_SIZE`): a directory cannot be opened with them.
pub const RIGHTS_WRITE: u64 = 1 << 6 | 1 << 0 | 1 << 8 | 1 << 22;
/// Every right but the writing ones, for opening directories.
pub const RIGHTS_DIR: u64 = RIGHTS_ALL & !RIGHTS_WRITE;

/// Errno values the tests check.
pub mod errno {
    pub const BADF: i32 = 8;
    pub const EXIST: i32 = 20;
    pub const FAULT: i32 = 21;
    pub const ILSEQ: i32 = 25;
    pub const INVAL: i32 = 28;
    pub const ISDIR: i32 = 31;
    pub const LOOP: i32 = 32;
    pub const NAMETOOLONG: i32 = 37;
    pub const NOENT: i32 = 44;
    pub const NOSYS: i32 = 52;
    pub const NOTDIR: i32 = 54;
    pub const NOTEMPTY: i32 = 55;
    pub const NOTSOCK: i32 = 57;
    pub const SPIPE: i32 = 70;
    pub const NOTCAPABLE: i32 = 76;
}

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tern-wasi-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

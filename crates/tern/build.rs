//! Builds the small C helper that gives Rust its entry into wasm with a
//! `setjmp`-like landing pad and the matching `longjmp` (Rust cannot call
//! `setjmp` itself: a function that returns twice is outside its model; on
//! x86-64 the pair is a few lines of assembly, elsewhere libc's), the
//! entries of the libcalls that may collect garbage (`src/vm/libcall_entry.c`), and
//! computes `TERN_BUILD_ID`, a hash of the sources that decide what machine code
//! Tern emits, so the compilation cache never serves code from another build of
//! the same version.

use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=src/vm/helpers.c");
    cc::Build::new()
        .file("src/vm/helpers.c")
        .warnings(true)
        .compile("tern-helpers");
    // The entries of the libcalls that may collect garbage must keep a frame
    // (with a frame pointer) around the Rust body they call: see the file.
    println!("cargo:rerun-if-changed=src/vm/libcall_entry.c");
    let mut entries = cc::Build::new();
    entries
        .file("src/vm/libcall_entry.c")
        .flag("-fno-omit-frame-pointer")
        .flag("-fno-optimize-sibling-calls")
        .warnings(true);
    // The unwinders read the return address out of these entries' frame
    // records, so it must be stored plain: on AArch64 some compilers sign it
    // by default (pointer authentication, `-mbranch-protection=standard` on
    // some distributions), which would make it look like no code at all.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("aarch64") {
        entries.flag("-mbranch-protection=none");
    }
    entries.compile("tern-libcall-entry");

    // `DefaultHasher::new()` uses fixed keys: the same sources give the same id.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["src", "../environ/src", "../cranelift/src"] {
        let dir = manifest.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        hash_tree(&dir, &mut hasher);
    }
    // The lock file pins Cranelift, whose version changes the code too.
    let lock = manifest.join("../../Cargo.lock");
    if lock.is_file() {
        println!("cargo:rerun-if-changed={}", lock.display());
        std::fs::read(&lock).unwrap_or_default().hash(&mut hasher);
    }
    println!("cargo:rustc-env=TERN_BUILD_ID={:016x}", hasher.finish());
}

/// Hashes the names and contents of every file below `dir`, in sorted order.
fn hash_tree(dir: &Path, hasher: &mut impl Hasher) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            hash_tree(&path, hasher);
        } else if let Ok(bytes) = std::fs::read(&path) {
            path.file_name().hash(hasher);
            bytes.hash(hasher);
        }
    }
}

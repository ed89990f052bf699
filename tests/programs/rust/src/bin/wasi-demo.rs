//! `wasi-demo COMMAND ...`: one subcommand per part of WASI that Tern's tests
//! check, each printing only what is the same on every correct host, so its
//! output under `tern run` must equal its output when built natively.
//!
//! - `args A B ...`: the arguments after the command.
//! - `env`: the environment, sorted.
//! - `stdio`: standard input counted and echoed upper-cased; a note on stderr.
//! - `files DIR`: create, write, append, seek, read, stat, list, rename,
//!   symlink, remove files and directories under DIR/demo.
//! - `clock`: a sleep measured on the monotonic clock, the wall clock's era.
//! - `random`: hash keys drawn from the host's random source.
//! - `exit CODE`: exits with CODE.
//! - `trap`: aborts (a wasm trap under a runtime).

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs;
use std::hash::BuildHasher;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("usage: wasi-demo args|env|stdio|files DIR|clock|random|exit CODE|trap");
        std::process::exit(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "args" => {
            println!("{} arguments", rest.len());
            for (i, a) in rest.iter().enumerate() {
                println!("arg {i}: {a}");
            }
            Ok(())
        }
        "env" => {
            let mut vars: Vec<(String, String)> = std::env::vars().collect();
            vars.sort();
            for (k, v) in vars {
                println!("{k}={v}");
            }
            Ok(())
        }
        "stdio" => stdio(),
        "files" => files(Path::new(rest.first().map(String::as_str).unwrap_or("."))),
        "clock" => {
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(20));
            let slept = start.elapsed();
            println!(
                "slept at least 20ms: {}",
                slept >= Duration::from_millis(20)
            );
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            println!("wall clock after 2020: {}", now.as_secs() > 1_577_836_800);
            Ok(())
        }
        "random" => {
            let values: HashSet<u64> = (0..8)
                .map(|i: u64| RandomState::new().hash_one(i))
                .collect();
            println!("distinct random hashes: {}", values.len());
            Ok(())
        }
        "exit" => {
            let code: i32 = rest.first().and_then(|c| c.parse().ok()).unwrap_or(1);
            println!("exiting with {code}");
            std::process::exit(code);
        }
        "trap" => {
            println!("about to abort");
            std::process::abort();
        }
        other => {
            eprintln!("unknown command {other}");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn stdio() -> std::io::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    println!("{} lines, {} bytes", input.lines().count(), input.len());
    print!("{}", input.to_uppercase());
    eprintln!("stderr works");
    std::io::stdout().flush()
}

fn list(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let kind = if e.file_type()?.is_dir() {
            "dir"
        } else if e.file_type()?.is_symlink() {
            "link"
        } else {
            "file"
        };
        names.push(format!("{}({kind})", e.file_name().to_string_lossy()));
    }
    names.sort();
    Ok(names)
}

/// `std::fs::soft_link` is the one stable symlink call on both WASI and Unix.
#[allow(
    deprecated,
    reason = "std::os::wasi::fs::symlink_path is unstable; soft_link is the stable call"
)]
fn symlink(target: &str, link: &Path) -> std::io::Result<()> {
    fs::soft_link(target, link)
}

fn files(root: &Path) -> std::io::Result<()> {
    let d = root.join("demo");
    let _ = fs::remove_dir_all(&d);
    fs::create_dir(&d)?;
    fs::create_dir_all(d.join("sub/deeper"))?;
    fs::write(d.join("hello.txt"), "hello\n")?;
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(d.join("hello.txt"))?;
    f.write_all(b"world\n")?;
    drop(f);
    println!("read back: {:?}", fs::read_to_string(d.join("hello.txt"))?);

    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(d.join("data.bin"))?;
    f.write_all(&(0u8..=255).collect::<Vec<_>>())?;
    f.seek(SeekFrom::Start(100))?;
    let mut four = [0u8; 4];
    f.read_exact(&mut four)?;
    println!(
        "bytes at 100: {four:?}, position now {}",
        f.stream_position()?
    );
    f.seek(SeekFrom::End(-1))?;
    f.read_exact(&mut four[..1])?;
    println!("last byte: {}", four[0]);
    f.set_len(10)?;
    println!("size after set_len: {}", f.metadata()?.len());
    drop(f);

    let meta = fs::metadata(d.join("hello.txt"))?;
    println!(
        "hello.txt: file={} dir={} len={}",
        meta.is_file(),
        meta.is_dir(),
        meta.len()
    );
    println!("sub is dir: {}", fs::metadata(d.join("sub"))?.is_dir());
    println!(
        "modified is recent: {}",
        meta.modified()?
            .elapsed()
            .map_or(true, |e| e < Duration::from_secs(3600))
    );

    fs::rename(d.join("hello.txt"), d.join("sub/moved.txt"))?;
    println!("after rename: {:?}", list(&d)?);
    println!("sub: {:?}", list(&d.join("sub"))?);

    symlink("sub/moved.txt", &d.join("link"))?;
    println!("link target: {:?}", fs::read_link(d.join("link"))?);
    println!("through link: {:?}", fs::read_to_string(d.join("link"))?);
    println!(
        "link is symlink: {}",
        fs::symlink_metadata(d.join("link"))?
            .file_type()
            .is_symlink()
    );

    match fs::read_to_string(d.join("missing.txt")) {
        Ok(_) => println!("missing.txt exists?"),
        Err(e) => println!("missing.txt: {:?}", e.kind()),
    }
    match fs::remove_dir(d.join("sub")) {
        Ok(()) => println!("removed non-empty dir?"),
        // The error kind of ENOTEMPTY differs between std's platforms; the failure does not.
        Err(_) => println!("remove non-empty dir: refused"),
    }
    match fs::create_dir(d.join("sub")) {
        Ok(()) => println!("created existing dir?"),
        Err(e) => println!("create existing dir: {:?}", e.kind()),
    }

    for i in 0..30 {
        fs::write(d.join("sub/deeper").join(format!("n{i:02}")), i.to_string())?;
    }
    let entries = list(&d.join("sub/deeper"))?;
    println!(
        "deeper has {} entries, first {:?}, last {:?}",
        entries.len(),
        entries.first(),
        entries.last()
    );

    fs::remove_file(d.join("link"))?;
    fs::remove_dir_all(&d)?;
    println!("demo removed: {}", !d.exists());
    Ok(())
}

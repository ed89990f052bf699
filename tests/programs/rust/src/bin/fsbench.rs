//! `fsbench DIR [FILES] [KIB]`: a file-heavy workload for comparing runtimes.
//!
//! Creates FILES files of KIB KiB each under DIR/fsbench, reads them back in
//! small and large chunks, stats and lists them, renames and deletes them,
//! and prints a checksum so every runtime can be checked to do the same work.

use std::io::{Read, Seek, SeekFrom, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::Path::new(args.get(1).map(String::as_str).unwrap_or(".")).join("fsbench");
    let files: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let kib: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(64);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut checksum: u64 = 0;
    let block: Vec<u8> = (0..1024u32).map(|i| (i * 31 % 251) as u8).collect();
    for i in 0..files {
        let mut f = std::fs::File::create(dir.join(format!("f{i}.dat")))?;
        for k in 0..kib {
            let mut b = block.clone();
            b[0] = (i + k) as u8;
            f.write_all(&b)?;
        }
    }
    for i in 0..files {
        let path = dir.join(format!("f{i}.dat"));
        let mut f = std::fs::File::open(&path)?;
        let mut small = [0u8; 100];
        while f.read(&mut small)? > 0 {
            checksum = checksum.wrapping_mul(31).wrapping_add(u64::from(small[0]));
        }
        f.seek(SeekFrom::Start(0))?;
        let mut all = Vec::new();
        f.read_to_end(&mut all)?;
        checksum = all.iter().fold(checksum, |c, &b| {
            c.wrapping_mul(131).wrapping_add(u64::from(b))
        });
        checksum = checksum.wrapping_add(std::fs::metadata(&path)?.len());
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for (i, name) in names.iter().enumerate() {
        std::fs::rename(dir.join(name), dir.join(format!("r{i}.dat")))?;
    }
    for i in 0..names.len() {
        std::fs::remove_file(dir.join(format!("r{i}.dat")))?;
    }
    std::fs::remove_dir(&dir)?;
    println!("fsbench: {files} files of {kib} KiB, checksum {checksum:016x}");
    Ok(())
}

//! `wc`: prints the line, word and byte counts of each file named on the
//! command line (and a total when there are several), like POSIX `wc`.
//!
//! A real program for `tern run`: README's main command runs it over files of
//! this repository, and the tests compare its output under Tern with the
//! output of the same source built natively.

use std::process::ExitCode;

fn count(bytes: &[u8]) -> (usize, usize, usize) {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    let words = bytes
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .count();
    (lines, words, bytes.len())
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: wc FILE...");
        return ExitCode::from(2);
    }
    let mut total = (0, 0, 0);
    let mut failed = false;
    for f in &files {
        match std::fs::read(f) {
            Ok(bytes) => {
                let (l, w, b) = count(&bytes);
                println!("{l:>7} {w:>7} {b:>8} {f}");
                total = (total.0 + l, total.1 + w, total.2 + b);
            }
            Err(e) => {
                eprintln!("wc: {f}: {e}");
                failed = true;
            }
        }
    }
    if files.len() > 1 {
        println!("{:>7} {:>7} {:>8} total", total.0, total.1, total.2);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

//! Printing a trap for a person: the error chain as anyhow prints it, except
//! that a long wasm backtrace (a deep recursion gives one frame per call, tens
//! of thousands of them) keeps its innermost and outermost frames and says how
//! many it left out between them.
//!
//! The elision lives here, not in `WasmBacktrace`'s `Display`, because
//! wasmtime's `WasmBacktrace` prints every frame and embedders may rely on
//! that; only the command line shortens what it shows.

use std::fmt;
use tern::WasmBacktrace;

/// Innermost frames shown before the elision.
const INNERMOST: usize = 10;
/// Outermost frames shown after the elision.
const OUTERMOST: usize = 10;

/// An error whose `Debug` is anyhow's (`{e:?}`: the message, then `Caused
/// by:` with the numbered causes) with any wasm backtrace in it shortened.
pub struct Readable<'a>(pub &'a anyhow::Error);

impl fmt::Debug for Readable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A backtrace is attached as context, which anyhow's chain does not let
        // one downcast to; the error itself does, and the chain element is the
        // one that prints the same text.
        let backtrace = self.0.downcast_ref::<WasmBacktrace>();
        let backtrace_text = backtrace.map(ToString::to_string);
        let backtrace = backtrace.zip(backtrace_text.as_deref());
        let mut chain = self.0.chain();
        if let Some(first) = chain.next() {
            write!(f, "{}", shortened(first, backtrace))?;
        }
        let causes: Vec<String> = chain.map(|e| shortened(e, backtrace)).collect();
        match causes.as_slice() {
            [] => {}
            [only] => write!(f, "\n\nCaused by:\n    {}", indent(only, "    "))?,
            many => {
                write!(f, "\n\nCaused by:")?;
                for (i, cause) in many.iter().enumerate() {
                    write!(f, "\n{i:>5}: {}", indent(cause, "       "))?;
                }
            }
        }
        Ok(())
    }
}

/// `error`'s message; shortened if it is `backtrace` (which prints `text`).
fn shortened(
    error: &(dyn std::error::Error + 'static),
    backtrace: Option<(&WasmBacktrace, &str)>,
) -> String {
    let message = error.to_string();
    match backtrace {
        Some((bt, text)) if text == message => elide(&message, bt.frames().len()),
        _ => message,
    }
}

/// Keeps the header line, the innermost and the outermost frame lines of a
/// backtrace's text, when that text has one line per frame (otherwise frames
/// and lines cannot be matched, and the text stays whole).
fn elide(text: &str, frames: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != frames + 1 || frames <= INNERMOST + OUTERMOST + 1 {
        return text.to_string();
    }
    let hidden = frames - INNERMOST - OUTERMOST;
    let mut out: Vec<String> = lines[..=INNERMOST].iter().map(|l| l.to_string()).collect();
    out.push(format!("         … {hidden} frames …"));
    out.extend(
        lines[lines.len() - OUTERMOST..]
            .iter()
            .map(|l| l.to_string()),
    );
    out.join("\n")
}

/// `text` with every line after the first indented by `prefix`.
fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .collect::<Vec<_>>()
        .join(&format!("\n{prefix}"))
}

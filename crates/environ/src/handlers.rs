//! [`ExceptionHandlers`]: where compiled code catches exceptions, per call
//! site, for the runtime's unwinder (`tern::vm::unwind`).
//!
//! A call inside a `try_table` is compiled as Cranelift's `try_call`: on a
//! normal return it costs nothing more than a call, and its exceptional
//! successor (the *handler*) is only reached by the unwinder resuming there.
//! This table records, for each such call's return address, the handler's
//! text offset and the frame's size at the call (`frame_offset`: from the
//! frame pointer down to the stack pointer), which is what the unwinder
//! needs to resume: the stack pointer is the frame's `fp - frame_offset`,
//! the frame pointer is the frame's own, and the exception (its exnref) is
//! in the first exception-payload register. Tag matching is done by the
//! handler's code, not here (see `tern-cranelift`'s `translate/exceptions.rs`),
//! so every site has exactly one handler, which catches everything.
//!
//! Only facts about code live here; walking frames and resuming are the
//! runtime's job.

use serde::{Deserialize, Serialize};

/// The exception handlers of a text section, sorted by return address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionHandlers {
    /// One entry per call site with a handler, strictly increasing by `ret`.
    pub sites: Vec<HandlerSite>,
}

/// One call site's handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerSite {
    /// Text offset of the call's return address.
    pub ret: u32,
    /// Bytes from the frame pointer down to the stack pointer at the call.
    pub frame_offset: u32,
    /// Text offset of the handler's first instruction.
    pub handler: u32,
}

impl ExceptionHandlers {
    /// Appends the handler of the call returning to text offset `ret`.
    /// Calls must come in increasing `ret` order; [`Self::is_valid`] checks
    /// the result.
    pub fn push(&mut self, ret: u32, frame_offset: u32, handler: u32) {
        self.sites.push(HandlerSite {
            ret,
            frame_offset,
            handler,
        });
    }

    /// The handler of the call whose return address is at text offset `ret`.
    pub fn lookup(&self, ret: u32) -> Option<HandlerSite> {
        let i = self.sites.binary_search_by_key(&ret, |s| s.ret).ok()?;
        Some(self.sites[i])
    }

    /// Whether the table is well formed for `code_len` bytes of code: sites
    /// strictly increasing, return addresses and handlers inside the code,
    /// frame offsets word-aligned.
    pub fn is_valid(&self, code_len: u64) -> bool {
        self.sites.windows(2).all(|w| w[0].ret < w[1].ret)
            && self.sites.iter().all(|s| {
                u64::from(s.ret) <= code_len
                    && u64::from(s.handler) < code_len
                    && s.frame_offset.is_multiple_of(8)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_exact_return_addresses_only() {
        let mut h = ExceptionHandlers::default();
        h.push(16, 32, 80);
        h.push(40, 48, 96);
        assert_eq!(h.lookup(40).map(|s| s.handler), Some(96));
        assert_eq!(h.lookup(16).map(|s| s.frame_offset), Some(32));
        assert_eq!(h.lookup(17), None);
        assert!(h.is_valid(100));
        assert!(!h.is_valid(96), "a handler past the code");
        let mut unsorted = h.clone();
        unsorted.sites.swap(0, 1);
        assert!(!unsorted.is_valid(100));
        let mut odd = ExceptionHandlers::default();
        odd.push(8, 20, 0);
        assert!(!odd.is_valid(100), "a misaligned frame");
    }
}

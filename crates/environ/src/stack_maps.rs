//! [`StackMaps`]: where compiled code keeps its live GC references at each
//! call, so that a collector can find (and, since it moves objects, rewrite)
//! every reference a wasm frame holds.
//!
//! The translator marks every value of the `any`/`extern`/`exn` hierarchies
//! as needing a stack map; Cranelift then spills such values to stack slots
//! before each call they are live across, reloads them after it, and records
//! for the call's return address which slots hold them (its *user stack
//! maps*, see `docs/design/gc.md` §4). This table keeps those records for a
//! whole text section, keyed by the return address's text offset: when a
//! frame walker finds a return address into wasm code, the frame that address
//! returns into has its references at `fp - frame_size + slot` for each slot.
//!
//! Only facts about code live here; walking frames is the runtime's job
//! (`tern::vm::stack_roots`). Every reference slot is one 64-bit word, the
//! width of a reference in compiled code (design §2).

use serde::{Deserialize, Serialize};

/// The stack maps of a text section, sorted by return address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackMaps {
    /// One entry per call site with live references, strictly increasing by
    /// `ret`.
    pub sites: Vec<StackMapSite>,
    /// The slots of every site, one site's after the other's (see
    /// [`StackMapSite::slots_end`]).
    pub slots: Vec<u32>,
}

/// One call site's stack map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackMapSite {
    /// Text offset of the call's return address.
    pub ret: u32,
    /// Bytes from the stack pointer up to the frame pointer while the frame
    /// is active (Cranelift's frame size at the call).
    pub frame_size: u32,
    /// End of this site's slots in [`StackMaps::slots`]; they start where the
    /// previous site's end (or at 0).
    pub slots_end: u32,
}

/// The live references of a frame stopped at one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackMap<'a> {
    /// Bytes from the stack pointer up to the frame pointer.
    pub frame_size: u32,
    /// Offsets from the stack pointer of the 64-bit words holding live
    /// references, increasing; each lies inside the frame
    /// (`slot + 8 <= frame_size`) and is 8-aligned.
    pub slots: &'a [u32],
}

impl StackMaps {
    /// Appends the stack map of the call returning to text offset `ret`, with
    /// `slots` (offsets from the stack pointer). Calls must come in
    /// increasing `ret` order; [`Self::is_valid`] checks the result.
    pub fn push(&mut self, ret: u32, frame_size: u32, slots: &[u32]) {
        self.slots.extend_from_slice(slots);
        self.sites.push(StackMapSite {
            ret,
            frame_size,
            slots_end: u32::try_from(self.slots.len()).unwrap_or(u32::MAX),
        });
    }

    /// The stack map of the call whose return address is at text offset
    /// `ret`, if that call has live references.
    pub fn lookup(&self, ret: u32) -> Option<StackMap<'_>> {
        let i = self.sites.binary_search_by_key(&ret, |s| s.ret).ok()?;
        let start = match i {
            0 => 0,
            _ => self.sites[i - 1].slots_end as usize,
        };
        let site = self.sites[i];
        Some(StackMap {
            frame_size: site.frame_size,
            slots: self.slots.get(start..site.slots_end as usize)?,
        })
    }

    /// Whether the table is well formed for `code_len` bytes of code: sites
    /// strictly increasing and inside the code, slot ranges in order and
    /// covering `slots` exactly, every slot an aligned word inside its frame.
    /// A frame walker may then trust every slot to lie inside its frame.
    pub fn is_valid(&self, code_len: u64) -> bool {
        let mut start = 0usize;
        let mut prev_ret = None;
        for site in &self.sites {
            let end = site.slots_end as usize;
            if prev_ret.is_some_and(|p| p >= site.ret)
                || u64::from(site.ret) > code_len
                || end < start
                || end > self.slots.len()
            {
                return false;
            }
            let inside =
                |s: &u32| s.is_multiple_of(8) && u64::from(*s) + 8 <= u64::from(site.frame_size);
            if !self.slots[start..end].iter().all(inside) {
                return false;
            }
            prev_ret = Some(site.ret);
            start = end;
        }
        start == self.slots.len()
    }

    /// Whether no call site has live references.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_sites() -> StackMaps {
        let mut maps = StackMaps::default();
        maps.push(16, 32, &[0, 8]);
        maps.push(40, 48, &[24]);
        maps
    }

    #[test]
    fn lookup_finds_exact_return_addresses_only() {
        let maps = two_sites();
        assert_eq!(
            maps.lookup(16),
            Some(StackMap {
                frame_size: 32,
                slots: &[0, 8]
            })
        );
        assert_eq!(
            maps.lookup(40),
            Some(StackMap {
                frame_size: 48,
                slots: &[24]
            })
        );
        assert_eq!(maps.lookup(15), None);
        assert_eq!(maps.lookup(17), None);
        assert_eq!(maps.lookup(0), None);
        assert!(maps.is_valid(40));
    }

    #[test]
    fn validation_refuses_what_a_walker_could_not_trust() {
        assert!(!two_sites().is_valid(39), "a site past the code");
        let mut unsorted = two_sites();
        unsorted.sites.swap(0, 1);
        assert!(!unsorted.is_valid(100));
        let mut outside = StackMaps::default();
        outside.push(8, 16, &[8, 16]);
        assert!(!outside.is_valid(100), "a slot reaching past the frame");
        let mut unaligned = StackMaps::default();
        unaligned.push(8, 32, &[4]);
        assert!(!unaligned.is_valid(100));
        let mut stray = two_sites();
        stray.slots.push(0);
        assert!(!stray.is_valid(100), "slots no site owns");
        let mut short = two_sites();
        short.sites[1].slots_end = 9;
        assert!(!short.is_valid(100));
    }
}

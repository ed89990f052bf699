//! Memory images: a defined memory's active data segments laid out once, at
//! compile time, into the bytes its pages must hold after instantiation.
//!
//! The runtime maps an image copy-on-write over a new memory instead of copying
//! every segment into it, so instantiating a module with megabytes of data
//! touches no page until the guest writes one. A memory gets an image only when
//! the outcome of its segments is known without running anything:
//!
//! * every active segment for it has a constant offset (`i32.const`,
//!   `i64.const`, or extended-const arithmetic on them; `global.get` of an
//!   imported global is only known at instantiation),
//! * every segment fits in the memory's initial size (one that does not must
//!   trap at instantiation after writing the segments before it, so the
//!   runtime's segment-by-segment path keeps those),
//! * the memory is defined (an imported memory's contents are someone else's)
//!   and not shared,
//! * the image stays small next to the data (segments far apart would make a
//!   mostly-zero image; a limit keeps compile-time memory bounded),
//! * and all of the above holds for every active data segment of the module.
//!
//! The last rule keeps the spec's order observable exactly: segments are
//! applied after the element segments, in order, and a trap stops them. When
//! no data segment can trap, the only trap left is an element segment's, which
//! comes before every data segment; the runtime maps images once the element
//! segments are done, so a trap still leaves every memory untouched. A module
//! with one segment that must wait for instantiation keeps the one-by-one path
//! for all of them, since a trap there must leave later segments unwritten.
//!
//! An image is sparse: it covers only the pages from the first to the last
//! non-zero byte, and records its offset in the memory. Both the offset and the
//! length are multiples of [`IMAGE_PAGE`], so the runtime can map it directly
//! on hosts whose page size divides that (and copies it elsewhere).

use crate::{ConstExpr, ConstOp, Module, SegmentMode, WASM_PAGE_SIZE};

/// Alignment of an image's offset and length: the common host page size.
pub const IMAGE_PAGE: u64 = 4096;

/// An image never spans more than this many bytes beyond twice its data, so a
/// few bytes at each end of a large memory do not become a huge image.
const SPARSE_SLACK: u64 = 1 << 20;

/// The initial contents of one defined memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryImage {
    /// Byte offset of `data` in the memory (a multiple of [`IMAGE_PAGE`]).
    pub offset: u64,
    /// The bytes from `offset` on (length a multiple of [`IMAGE_PAGE`]); every
    /// byte of the memory outside them starts zero. Empty when the memory has
    /// no non-zero initial byte.
    pub data: Vec<u8>,
}

/// For each *defined* memory of `module` (in order), its image when its active
/// data segments can be laid out at compile time (see the module docs), or
/// `None` when they must be applied one by one at instantiation.
pub fn memory_images(module: &Module) -> Vec<Option<MemoryImage>> {
    memory_images_dense_up_to(module, 0)
}

/// [`memory_images`], except that an image spanning at most
/// `guaranteed_dense` bytes is made however sparse its data is
/// (`Config::memory_guaranteed_dense_image_size`).
pub fn memory_images_dense_up_to(
    module: &Module,
    guaranteed_dense: u64,
) -> Vec<Option<MemoryImage>> {
    let first_defined = module.num_imported_memories as usize;
    let images: Vec<Option<MemoryImage>> = (first_defined..module.memories.len())
        .map(|index| image_for(module, index as u32, guaranteed_dense))
        .collect();
    let all_imaged = module.data.iter().all(|segment| match &segment.mode {
        SegmentMode::Active { index, .. } => memory_has_image(module, &images, *index),
        SegmentMode::Passive | SegmentMode::Declared => true,
    });
    if all_imaged {
        images
    } else {
        images.iter().map(|_| None).collect()
    }
}

/// Whether the active segments for memory `index` are all covered by its image
/// (`images` as returned by [`memory_images`]).
pub fn memory_has_image(
    module: &Module,
    images: &[Option<MemoryImage>],
    memory_index: u32,
) -> bool {
    memory_index
        .checked_sub(module.num_imported_memories)
        .and_then(|defined| images.get(defined as usize))
        .is_some_and(Option::is_some)
}

fn image_for(module: &Module, index: u32, guaranteed_dense: u64) -> Option<MemoryImage> {
    let plan = &module.memories[index as usize];
    if plan.shared {
        return None;
    }
    let initial_bytes = plan.minimum.checked_mul(WASM_PAGE_SIZE)?;
    let segments: Vec<(u64, &[u8])> = placed_segments(
        &module.data,
        |s| (&s.mode, s.data.len() as u64),
        index,
        plan.memory64,
        initial_bytes,
    )?
    .into_iter()
    .map(|(start, segment)| (start, segment.data.as_slice()))
    .collect();
    // The non-zero extent, so the image is sparse from the start.
    let nonzero = |(start, bytes): &(u64, &[u8])| {
        let first = bytes.iter().position(|b| *b != 0)?;
        let last = bytes.iter().rposition(|b| *b != 0)?;
        Some((start + first as u64, start + last as u64 + 1))
    };
    let (lo, hi) = segments
        .iter()
        .filter_map(nonzero)
        .fold((u64::MAX, 0), |(lo, hi), (s, e)| (lo.min(s), hi.max(e)));
    if lo >= hi {
        return Some(MemoryImage {
            offset: 0,
            data: Vec::new(),
        });
    }
    let image_start = lo / IMAGE_PAGE * IMAGE_PAGE;
    let image_end = hi.div_ceil(IMAGE_PAGE) * IMAGE_PAGE;
    let total: u64 = segments.iter().map(|(_, b)| b.len() as u64).sum();
    let span = image_end - image_start;
    if span > guaranteed_dense && span > total.saturating_mul(2).saturating_add(SPARSE_SLACK) {
        return None;
    }
    let mut data = vec![0u8; usize::try_from(image_end - image_start).ok()?];
    // Later segments overwrite earlier ones, as applying them in order would.
    for (start, bytes) in &segments {
        // Clip each segment to the image: bytes outside it are zero.
        let seg_end = start + bytes.len() as u64;
        let from = (*start).max(image_start);
        let to = seg_end.min(image_end);
        if from >= to {
            continue;
        }
        let src = &bytes[(from - start) as usize..(to - start) as usize];
        data[(from - image_start) as usize..(to - image_start) as usize].copy_from_slice(src);
    }
    // Overwrites may have zeroed the ends again; trim to the non-zero pages.
    let first = data.iter().position(|b| *b != 0);
    let Some(first) = first else {
        return Some(MemoryImage {
            offset: 0,
            data: Vec::new(),
        });
    };
    let last = data.iter().rposition(|b| *b != 0).unwrap_or(first);
    let keep_from = first as u64 / IMAGE_PAGE * IMAGE_PAGE;
    let keep_to = (last as u64 + 1).div_ceil(IMAGE_PAGE) * IMAGE_PAGE;
    data.truncate(keep_to as usize);
    data.drain(..keep_from as usize);
    Some(MemoryImage {
        offset: image_start + keep_from,
        data,
    })
}

/// The active segments of `segments` that target memory or table `index`,
/// in order, each with its start, when every one of them has a constant offset
/// ([`constant_offset`]) and ends within `limit`; `None` when any does not (it
/// must then be applied, or trap, at instantiation). `mode_len` gives a
/// segment's mode and length.
pub(crate) fn placed_segments<S>(
    segments: &[S],
    mode_len: impl Fn(&S) -> (&SegmentMode, u64),
    index: u32,
    wide: bool,
    limit: u64,
) -> Option<Vec<(u64, &S)>> {
    let mut placed = Vec::new();
    for segment in segments {
        let (
            SegmentMode::Active {
                index: target,
                offset,
            },
            len,
        ) = mode_len(segment)
        else {
            continue;
        };
        if *target != index {
            continue;
        }
        let start = constant_offset(offset, wide)?;
        if start.checked_add(len)? > limit {
            return None;
        }
        placed.push((start, segment));
    }
    Some(placed)
}

/// The value of a segment offset that needs nothing from instantiation, as an
/// unsigned address (an `i32` offset is read as `u32`).
pub(crate) fn constant_offset(expr: &ConstExpr, memory64: bool) -> Option<u64> {
    let mut stack: Vec<i64> = Vec::new();
    for op in &expr.ops {
        let value = match *op {
            ConstOp::I32Const(v) => i64::from(v),
            ConstOp::I64Const(v) => v,
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (stack.pop()? as i32, stack.pop()? as i32);
                i64::from(match *op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                match *op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
            _ => return None,
        };
        stack.push(value);
    }
    let [value] = *stack.as_slice() else {
        return None;
    };
    Some(if memory64 {
        value as u64
    } else {
        u64::from(value as i32 as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataSegment, MemoryPlan};

    fn module(minimum: u64, segments: &[(ConstOp, &[u8])]) -> Module {
        Module {
            memories: vec![MemoryPlan {
                minimum,
                maximum: None,
                memory64: false,
                shared: false,
            }],
            data: segments
                .iter()
                .map(|(op, bytes)| DataSegment {
                    mode: SegmentMode::Active {
                        index: 0,
                        offset: ConstExpr { ops: vec![*op] },
                    },
                    data: bytes.to_vec(),
                })
                .collect(),
            ..Module::default()
        }
    }

    #[test]
    fn image_is_sparse_and_later_segments_win() {
        let m = module(
            2,
            &[
                (ConstOp::I32Const(5000), &[1, 2, 3]),
                (ConstOp::I32Const(5001), &[9]),
                (ConstOp::I32Const(100), &[0, 0]),
            ],
        );
        let image = memory_images(&m).remove(0).expect("imaged");
        assert_eq!(image.offset, 4096);
        assert_eq!(image.data.len(), 4096);
        assert_eq!(&image.data[5000 - 4096..5003 - 4096], &[1, 9, 3]);
        assert_eq!(image.data.iter().filter(|b| **b != 0).count(), 3);
    }

    #[test]
    fn out_of_bounds_or_global_offsets_fall_back() {
        let oob = module(1, &[(ConstOp::I32Const(65535), &[1, 2])]);
        assert_eq!(memory_images(&oob), vec![None]);
        let global = module(1, &[(ConstOp::GlobalGet(0), &[1])]);
        assert_eq!(memory_images(&global), vec![None]);
        let negative = module(1, &[(ConstOp::I32Const(-1), &[1])]);
        assert_eq!(memory_images(&negative), vec![None]);
    }

    #[test]
    fn one_segment_that_must_wait_keeps_every_memory_on_the_segment_path() {
        let mut m = module(
            1,
            &[(ConstOp::I32Const(0), &[1]), (ConstOp::GlobalGet(0), &[2])],
        );
        m.memories.push(m.memories[0]);
        m.data[1].mode = SegmentMode::Active {
            index: 1,
            offset: ConstExpr {
                ops: vec![ConstOp::GlobalGet(0)],
            },
        };
        assert_eq!(memory_images(&m), vec![None, None]);
    }

    #[test]
    fn far_apart_segments_fall_back_and_zero_data_is_empty() {
        let far = module(
            1000,
            &[
                (ConstOp::I32Const(0), &[1]),
                (ConstOp::I32Const(60_000_000), &[1]),
            ],
        );
        assert_eq!(memory_images(&far), vec![None]);
        let zeros = module(1, &[(ConstOp::I32Const(0), &[0; 100])]);
        let image = memory_images(&zeros).remove(0).expect("imaged");
        assert!(image.data.is_empty());
    }
}

//! Table images: a defined funcref table's active element segments laid out
//! once, per module, into the function index each slot must hold after
//! instantiation.
//!
//! The runtime then creates such a table with every slot *uninitialised* (a
//! zeroed vector: no per-element work) and resolves a slot from the image the
//! first time anything reads it (compiled code through the
//! `table_get_lazy_init_func_ref` libcall, the host through `vm::Table`), so a
//! module with 10,000 function pointers pays for the ones it uses. A table gets
//! an image only when its contents are known without running anything:
//!
//! * it is defined (an imported table's contents are someone else's), its
//!   elements are function references, and it has no initialiser expression;
//! * every active segment for it has a constant offset (`i32.const`,
//!   `i64.const`, or extended-const arithmetic on them) and fits in the
//!   table's initial size — a segment that does not must trap at
//!   instantiation, which the runtime's segment-by-segment path handles (the
//!   table is unobservable then: a failed instantiation exports nothing);
//! * every item is `ref.func` or `ref.null` (or a plain function index);
//! * the image stays small next to its items (segments far apart would make
//!   a large image of mostly null slots).
//!
//! Element segments of other tables keep their order relative to each other;
//! segments of an imaged table write nothing anybody else can see, so skipping
//! them does not change what an observer sees.

use crate::memory_image::placed_segments;
use crate::{ConstOp, ElemItems, Module};

/// The image's value for a slot that starts null.
pub const TABLE_IMAGE_NULL: u32 = u32::MAX;

/// An image never spans more than this many slots beyond twice its items.
const SPARSE_SLACK: u64 = 1 << 16;

/// For each *defined* table of `module` (in order), the function index each of
/// its first slots starts with ([`TABLE_IMAGE_NULL`] for null; slots past the
/// end start null), when its active segments can be laid out ahead of
/// instantiation (see the module docs), or `None` when they must be applied one
/// by one.
pub fn table_images(module: &Module) -> Vec<Option<Vec<u32>>> {
    let first_defined = module.num_imported_tables as usize;
    (first_defined..module.tables.len())
        .map(|index| image_for(module, index as u32))
        .collect()
}

/// Whether the active segments for table `table_index` are covered by its image
/// (`images` as returned by [`table_images`]).
pub fn table_has_image<I>(module: &Module, images: &[Option<I>], table_index: u32) -> bool {
    table_index
        .checked_sub(module.num_imported_tables)
        .and_then(|defined| images.get(defined as usize))
        .is_some_and(Option::is_some)
}

fn image_for(module: &Module, index: u32) -> Option<Vec<u32>> {
    let plan = &module.tables[index as usize];
    let defined = index - module.num_imported_tables;
    if !plan.element.is_func() || module.table_inits.get(defined as usize)?.is_some() {
        return None;
    }
    let placed = placed_segments(
        &module.elems,
        |s| (&s.mode, s.items.len() as u64),
        index,
        plan.table64,
        plan.minimum,
    )?;
    let mut segments = Vec::new();
    let (mut end_max, mut items_total) = (0u64, 0u64);
    for (start, segment) in placed {
        let funcs: Vec<u32> = match &segment.items {
            ElemItems::Functions(fs) => fs.clone(),
            ElemItems::Expressions(es) => es
                .iter()
                .map(|e| match e.ops.as_slice() {
                    [ConstOp::RefFunc(f)] if *f != TABLE_IMAGE_NULL => Some(*f),
                    [ConstOp::RefNull] => Some(TABLE_IMAGE_NULL),
                    _ => None,
                })
                .collect::<Option<_>>()?,
        };
        end_max = end_max.max(start + funcs.len() as u64);
        items_total += funcs.len() as u64;
        segments.push((start, funcs));
    }
    if end_max > items_total.saturating_mul(2).saturating_add(SPARSE_SLACK) {
        return None;
    }
    let mut image = vec![TABLE_IMAGE_NULL; usize::try_from(end_max).ok()?];
    // Later segments overwrite earlier ones, as applying them in order would.
    for (start, funcs) in segments {
        let start = start as usize;
        image[start..start + funcs.len()].copy_from_slice(&funcs);
    }
    Some(image)
}

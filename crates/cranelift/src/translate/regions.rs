//! Alias regions: the parts of memory that compiled code reaches only through
//! accesses tagged with the same region, so that Cranelift's alias analysis
//! may assume a store to one region leaves every other region's bytes alone.
//! With them a store to linear memory no longer forces a reload of a global
//! (the shadow-stack pointer of compiled Rust or C) or of a vmctx field, and a
//! `global.set` no longer forces a reload of linear memory.
//!
//! The rule that keeps this sound: every access to a region's bytes carries
//! that region. Linear memories are only read and written by the loads and
//! stores of `memory` and `simd` (bulk operations and growth are libcalls,
//! which Cranelift treats as touching everything); a defined global's slot in
//! the vmctx only by `global.get`/`global.set` of that global (the runtime
//! writes it from libcalls and host calls, again calls); the storage behind an
//! imported global may be shared with another imported global (two imports
//! can name one export), so all imported globals share one region, distinct
//! from the defined ones (an instance cannot import its own globals). Accesses
//! without a region (the runtime's own vmctx fields, the GC heap) keep
//! Cranelift's default: a store there may alias anything.

use super::FuncState;
use cranelift_codegen::ir::{AliasRegion, AliasRegionData};

/// The memory an access touches, for alias analysis.
#[derive(Clone, Copy)]
pub(crate) enum Region {
    /// Any linear memory of the instance.
    LinearMemory,
    /// The storage of any imported global.
    ImportedGlobals,
    /// The vmctx slot of the defined global with this defined-global index.
    DefinedGlobal(u32),
}

impl Region {
    /// The region's identifier, unique within a function (Tern does not
    /// inline, so no two functions' regions are ever merged).
    fn user_id(self) -> u32 {
        match self {
            Region::LinearMemory => 0,
            Region::ImportedGlobals => 1,
            Region::DefinedGlobal(i) => 2 + i,
        }
    }

    fn description(self) -> String {
        match self {
            Region::LinearMemory => "linear memory".into(),
            Region::ImportedGlobals => "imported globals".into(),
            Region::DefinedGlobal(i) => format!("defined global {i}"),
        }
    }
}

impl FuncState<'_, '_> {
    /// The current function's alias region for `region`.
    pub(crate) fn alias_region(&mut self, region: Region) -> AliasRegion {
        let regions = &mut self.builder.func.dfg.alias_regions;
        match regions.get(region.user_id()) {
            Some(r) => r,
            None => regions.insert(AliasRegionData {
                user_id: region.user_id(),
                description: region.description().into(),
            }),
        }
    }
}

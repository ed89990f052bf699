//! [`Tunables`]: the frozen, code-affecting runtime settings that the code
//! generator and the runtime must agree on, and [`MemoryStyle`], the one place
//! that decides how a linear memory is laid out.

use crate::{MemoryPlan, WASM32_MAX_PAGES, WASM_PAGE_SIZE};

/// Settings that change generated code, decided once by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Tunables {
    /// Memories whose maximum size (in bytes) is at most this are reserved in
    /// full up front and never move ("static"); larger ones are "dynamic".
    pub static_memory_maximum_size: u64,
    /// Inaccessible bytes after a static memory's reservation.
    pub static_memory_guard_size: u64,
    /// Inaccessible bytes after a dynamic memory's accessible part.
    pub dynamic_memory_guard_size: u64,
    /// Whether code counts fuel and traps when the store runs out.
    pub consume_fuel: bool,
    /// Whether code checks the engine's epoch against the store's deadline.
    pub epoch_interruption: bool,
    /// Whether every explicit linear-memory bounds check also clamps the
    /// address with a speculation-safe select (`select_spectre_guard`), so a
    /// mispredicted check cannot read outside the sandbox. Cranelift's (and
    /// wasmtime's) flag `enable_heap_access_spectre_mitigation`.
    pub heap_access_spectre_mitigation: bool,
    /// The same for table bounds checks (`table.get/set`, `call_indirect`);
    /// Cranelift's `enable_table_access_spectre_mitigation`, which also guards
    /// `br_table` jump-table loads in Cranelift's own lowering.
    pub table_access_spectre_mitigation: bool,
    /// Whether exception handling is on: then every call in compiled code is
    /// followed by a check for an exception the callee left pending, since an
    /// exception may pass through any module's frames.
    pub exceptions: bool,
    /// Whether every float operator that can compute a NaN yields the
    /// canonical NaN of its type instead of whatever the hardware produced
    /// (`Config::cranelift_nan_canonicalization`; see `tern-cranelift`'s
    /// `translate/nan_canon.rs`). Off by default, as in wasmtime.
    pub nan_canonicalization: bool,
    /// Whether relaxed SIMD follows the spec's deterministic profile
    /// (`Config::relaxed_simd_deterministic`): the only operators where
    /// Tern's default differs from it are `relaxed_madd`/`relaxed_nmadd`,
    /// fused by default and rounded twice (multiply, then add) here.
    pub relaxed_simd_deterministic: bool,
}

impl Default for Tunables {
    fn default() -> Self {
        Self {
            static_memory_maximum_size: WASM32_MAX_PAGES * WASM_PAGE_SIZE,
            static_memory_guard_size: 2 << 30,
            dynamic_memory_guard_size: 64 << 10,
            consume_fuel: false,
            epoch_interruption: false,
            heap_access_spectre_mitigation: true,
            table_access_spectre_mitigation: true,
            exceptions: false,
            nan_canonicalization: false,
            relaxed_simd_deterministic: false,
        }
    }
}

/// How a linear memory is laid out in the host's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryStyle {
    /// `reservation` bytes reserved once, followed by `guard` inaccessible bytes;
    /// the base never moves, and accesses whose static offset and size fit in
    /// `reservation - max_index + guard` need no bounds check.
    Static {
        /// Bytes reserved for the memory itself (at least its maximum size).
        reservation: u64,
        /// Guard bytes after the reservation.
        guard: u64,
    },
    /// Only the current size is accessible, followed by `guard` bytes; the memory
    /// may move when it grows, and every access is bounds-checked.
    Dynamic {
        /// Guard bytes after the accessible part.
        guard: u64,
    },
}

impl MemoryStyle {
    /// The style for a memory of type `plan` under `tunables`.
    pub fn for_plan(plan: &MemoryPlan, tunables: &Tunables) -> Self {
        let maximum_bytes = plan
            .maximum
            .unwrap_or(WASM32_MAX_PAGES)
            .min(WASM32_MAX_PAGES)
            .saturating_mul(WASM_PAGE_SIZE);
        if !plan.memory64 && maximum_bytes <= tunables.static_memory_maximum_size {
            // A 32-bit index can reach 4 GiB whatever the maximum, so checks are
            // only elided when the reservation covers all of it.
            Self::Static {
                reservation: tunables.static_memory_maximum_size.max(maximum_bytes),
                guard: tunables.static_memory_guard_size,
            }
        } else {
            Self::Dynamic {
                guard: tunables.dynamic_memory_guard_size,
            }
        }
    }

    /// Whether an access of `size` bytes at static offset `offset` from a 32-bit
    /// index needs no explicit bounds check in this style.
    pub fn elides_check(&self, memory64: bool, offset: u64, size: u64) -> bool {
        match *self {
            Self::Static { reservation, guard } => {
                let index_reach = WASM32_MAX_PAGES * WASM_PAGE_SIZE;
                !memory64
                    && reservation >= index_reach
                    && offset.checked_add(size).is_some_and(|end| end <= guard)
                    && offset <= i32::MAX as u64
            }
            Self::Dynamic { .. } => false,
        }
    }

    /// Whether the memory's base can change (so its loads must not be hoisted).
    pub fn base_moves(&self) -> bool {
        matches!(self, Self::Dynamic { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(maximum: Option<u64>, memory64: bool) -> MemoryPlan {
        MemoryPlan {
            minimum: 1,
            maximum,
            memory64,
            shared: false,
        }
    }

    #[test]
    fn default_tunables_make_32_bit_memories_static_and_unchecked() {
        let t = Tunables::default();
        let style = MemoryStyle::for_plan(&plan(None, false), &t);
        assert!(matches!(style, MemoryStyle::Static { .. }));
        assert!(style.elides_check(false, 16, 8));
        assert!(!style.elides_check(false, 3 << 30, 8));
        assert!(matches!(
            MemoryStyle::for_plan(&plan(None, true), &t),
            MemoryStyle::Dynamic { .. }
        ));
    }

    #[test]
    fn a_zero_static_maximum_makes_every_memory_dynamic() {
        let t = Tunables {
            static_memory_maximum_size: 0,
            ..Tunables::default()
        };
        let style = MemoryStyle::for_plan(&plan(Some(1), false), &t);
        assert!(matches!(style, MemoryStyle::Dynamic { .. }));
        assert!(!style.elides_check(false, 0, 1));
        assert!(style.base_moves());
    }
}

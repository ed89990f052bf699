//! [`ResourcesRequired`]: what instantiating a module or component allocates,
//! for embedders that budget memories and tables up front.

use crate::Module;

/// The memories and tables an instantiation creates (imported ones are not
/// counted: the instantiation does not allocate them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourcesRequired {
    /// Memories created.
    pub num_memories: u32,
    /// The largest initial size of those memories, in wasm pages (`None` without memories).
    pub max_initial_memory_size: Option<u64>,
    /// Tables created.
    pub num_tables: u32,
    /// The largest initial size of those tables, in elements (`None` without tables).
    pub max_initial_table_size: Option<u64>,
}

impl ResourcesRequired {
    /// The requirements of doing both `self` and `other`.
    pub(crate) fn add(&self, other: &ResourcesRequired) -> ResourcesRequired {
        let max = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        ResourcesRequired {
            num_memories: self.num_memories + other.num_memories,
            max_initial_memory_size: max(
                self.max_initial_memory_size,
                other.max_initial_memory_size,
            ),
            num_tables: self.num_tables + other.num_tables,
            max_initial_table_size: max(self.max_initial_table_size, other.max_initial_table_size),
        }
    }
}

impl Module {
    /// What one instantiation of this module allocates: its defined memories
    /// and tables and their largest initial sizes.
    pub fn resources_required(&self) -> ResourcesRequired {
        let env = &self.inner.env;
        let memories = &env.memories[env.num_imported_memories as usize..];
        let tables = &env.tables[env.num_imported_tables as usize..];
        ResourcesRequired {
            num_memories: memories.len() as u32,
            max_initial_memory_size: memories.iter().map(|m| m.minimum).max(),
            num_tables: tables.len() as u32,
            max_initial_table_size: tables.iter().map(|t| t.minimum).max(),
        }
    }
}

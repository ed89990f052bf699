//! A fast hasher for the store's maps keyed by values the runtime chooses
//! itself — funcref addresses, engine signature ids, module addresses — never
//! by data a guest or embedder picks, so SipHash's resistance to chosen keys
//! buys nothing there and costs tens of nanoseconds on every instantiation's
//! import and every function handle.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Mixes each word in with a rotate, xor and multiply by an odd constant
/// (the multiply spreads the entropy of an address into the high bits the
/// hash table uses).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AddrHasher(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A `HashMap` with [`AddrHasher`].
pub(crate) type AddrMap<K, V> = HashMap<K, V, BuildHasherDefault<AddrHasher>>;
/// A `HashSet` with [`AddrHasher`].
pub(crate) type AddrSet<K> = HashSet<K, BuildHasherDefault<AddrHasher>>;

//! The workloads' input generator: xorshift64*, from a fixed seed, so every
//! run of a workload sees the same data on every runtime.

/// A small deterministic pseudo-random generator.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced, xorshift must not start at 0).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The next 32 pseudo-random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A number in `0..bound` (`bound` > 0; the slight bias does not matter here).
    pub fn below(&mut self, bound: u32) -> u32 {
        self.next_u32() % bound
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Folds a 64-bit value into a 32-bit checksum.
pub fn fold(x: u64) -> u32 {
    (x ^ (x >> 32)) as u32
}

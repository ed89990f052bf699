//! Sieve of Eratosthenes: counts the primes below `n` (byte per number).

/// The number of primes below `n`.
pub fn run(n: u32) -> u32 {
    let n = n as usize;
    let mut composite = vec![false; n];
    let mut count = 0;
    for i in 2..n {
        if composite[i] {
            continue;
        }
        count += 1;
        let mut j = i * i;
        while j < n {
            composite[j] = true;
            j += i;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    #[test]
    fn prime_counts() {
        assert_eq!([10, 100, 100_000].map(super::run), [4, 25, 9592]);
    }
}

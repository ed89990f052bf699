//! Sorting `n` pseudo-random u32s with a hand-written merge sort (bottom-up,
//! with an insertion sort for short runs), so the measured code is the
//! workload's own rather than the standard library's; checksum of the result.

use crate::rng::Rng;

fn insertion_sort(v: &mut [u32]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

fn merge(left: &[u32], right: &[u32], out: &mut [u32]) {
    let (mut i, mut j) = (0, 0);
    for o in out.iter_mut() {
        if j >= right.len() || (i < left.len() && left[i] <= right[j]) {
            *o = left[i];
            i += 1;
        } else {
            *o = right[j];
            j += 1;
        }
    }
}

/// Sorts `v` ascending.
pub fn merge_sort(v: &mut Vec<u32>) {
    const RUN: usize = 16;
    for chunk in v.chunks_mut(RUN) {
        insertion_sort(chunk);
    }
    let mut buf = vec![0u32; v.len()];
    let mut width = RUN;
    while width < v.len() {
        for (src, dst) in v.chunks(2 * width).zip(buf.chunks_mut(2 * width)) {
            let mid = width.min(src.len());
            merge(&src[..mid], &src[mid..], dst);
        }
        std::mem::swap(v, &mut buf);
        width *= 2;
    }
}

/// Sorts `n` pseudo-random numbers; the checksum weighs each by its position,
/// and is 0 if the result is not sorted.
pub fn run(n: u32) -> u32 {
    let mut rng = Rng::new(0x5027);
    let mut v: Vec<u32> = (0..n).map(|_| rng.next_u32()).collect();
    merge_sort(&mut v);
    if v.windows(2).any(|w| w[0] > w[1]) {
        return 0;
    }
    v.iter().enumerate().fold(0u32, |acc, (i, x)| {
        acc.wrapping_mul(31).wrapping_add(x ^ i as u32)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorts() {
        for n in [0, 1, 15, 16, 17, 100, 1000] {
            let mut v: Vec<u32> = (0..n).map(|i| (i * 7919 + 13) % 1009).collect();
            let mut want = v.clone();
            want.sort_unstable();
            super::merge_sort(&mut v);
            assert_eq!(v, want, "n = {n}");
        }
    }
}

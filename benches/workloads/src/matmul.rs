//! Dense matrix product of two pseudo-random `n`×`n` f64 matrices (i-k-j loop
//! order, row-major); checksum of the bits of the sum of the product.

use crate::rng::{fold, Rng};

/// `C = A·B` for `n`×`n` matrices; the checksum folds the bits of `ΣC`.
pub fn run(n: u32) -> u32 {
    let n = n as usize;
    let mut rng = Rng::new(0x3a7_3a7);
    let a: Vec<f64> = (0..n * n).map(|_| rng.unit() - 0.5).collect();
    let b: Vec<f64> = (0..n * n).map(|_| rng.unit() - 0.5).collect();
    let mut c = vec![0.0f64; n * n];
    for i in 0..n {
        let row = &mut c[i * n..(i + 1) * n];
        for k in 0..n {
            let aik = a[i * n + k];
            let brow = &b[k * n..(k + 1) * n];
            for (cij, bkj) in row.iter_mut().zip(brow) {
                *cij += aik * bkj;
            }
        }
    }
    fold(c.iter().sum::<f64>().to_bits())
}

//! The n-body simulation of the Jovian planets (the classic benchmark's data):
//! `n` steps of 0.01 days, checksum of the final energy's bits.

use crate::rng::fold;

const PI: f64 = 3.141_592_653_589_793;
const SOLAR_MASS: f64 = 4.0 * PI * PI;
const DAYS_PER_YEAR: f64 = 365.24;

#[derive(Clone, Copy)]
struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

fn body(pos: [f64; 3], vel: [f64; 3], mass: f64) -> Body {
    Body {
        pos,
        vel: vel.map(|v| v * DAYS_PER_YEAR),
        mass: mass * SOLAR_MASS,
    }
}

fn bodies() -> [Body; 5] {
    let mut b = [
        body([0.0; 3], [0.0; 3], 1.0),
        body(
            [
                4.841_431_442_464_72,
                -1.160_320_044_027_428_4,
                -0.103_622_044_471_123_1,
            ],
            [
                1.660_076_642_744_037e-3,
                7.699_011_184_197_404e-3,
                -6.904_600_169_720_63e-5,
            ],
            9.547_919_384_243_266e-4,
        ),
        body(
            [
                8.343_366_718_244_58,
                4.124_798_564_124_305,
                -4.035_234_171_143_214e-1,
            ],
            [
                -2.767_425_107_268_624e-3,
                4.998_528_012_349_172e-3,
                2.304_172_975_737_639_3e-5,
            ],
            2.858_859_806_661_308e-4,
        ),
        body(
            [
                12.894_369_562_139_131,
                -15.111_151_401_698_631,
                -2.233_075_788_926_557_3e-1,
            ],
            [
                2.964_601_375_647_616e-3,
                2.378_471_739_594_809_5e-3,
                -2.965_895_685_402_375_6e-5,
            ],
            4.366_244_043_351_563e-5,
        ),
        body(
            [
                15.379_697_114_850_917,
                -25.919_314_609_987_964,
                1.792_587_729_503_711_8e-1,
            ],
            [
                2.680_677_724_903_893_2e-3,
                1.628_241_700_382_423e-3,
                -9.515_922_545_197_159e-5,
            ],
            5.151_389_020_466_114_5e-5,
        ),
    ];
    let mut p = [0.0; 3];
    for body in &b {
        for k in 0..3 {
            p[k] += body.vel[k] * body.mass;
        }
    }
    for k in 0..3 {
        b[0].vel[k] = -p[k] / SOLAR_MASS;
    }
    b
}

fn advance(b: &mut [Body; 5], dt: f64) {
    for i in 0..b.len() {
        for j in i + 1..b.len() {
            let d = [0, 1, 2].map(|k| b[i].pos[k] - b[j].pos[k]);
            let dist2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let mag = dt / (dist2 * dist2.sqrt());
            let (mi, mj) = (b[i].mass, b[j].mass);
            for k in 0..3 {
                b[i].vel[k] -= d[k] * mj * mag;
                b[j].vel[k] += d[k] * mi * mag;
            }
        }
    }
    for body in b.iter_mut() {
        for k in 0..3 {
            body.pos[k] += dt * body.vel[k];
        }
    }
}

fn energy(b: &[Body; 5]) -> f64 {
    let mut e = 0.0;
    for i in 0..b.len() {
        let v = &b[i].vel;
        e += 0.5 * b[i].mass * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        for j in i + 1..b.len() {
            let d = [0, 1, 2].map(|k| b[i].pos[k] - b[j].pos[k]);
            e -= b[i].mass * b[j].mass / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        }
    }
    e
}

/// `n` steps; the checksum folds the bits of the final energy.
pub fn run(n: u32) -> u32 {
    let mut b = bodies();
    for _ in 0..n {
        advance(&mut b, 0.01);
    }
    fold(energy(&b).to_bits())
}

#[cfg(test)]
mod tests {
    /// The classic benchmark's published energies: before, and after 1,000 steps.
    #[test]
    fn energies() {
        let mut b = super::bodies();
        assert_eq!(format!("{:.9}", super::energy(&b)), "-0.169075164");
        for _ in 0..1000 {
            super::advance(&mut b, 0.01);
        }
        assert_eq!(format!("{:.9}", super::energy(&b)), "-0.169087605");
    }
}

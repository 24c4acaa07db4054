//! Generators for bitmap and HyperLogLog write commands.

use rand::rngs::StdRng;
use rand::Rng;

use super::key;

/// SETBIT, BITFIELD, BITOP, PFADD, PFMERGE and PFCOUNT (which writes its cache).
pub fn command(rng: &mut StdRng) -> Vec<String> {
    let k = key;
    let off = |rng: &mut StdRng| rng.gen_range(0..200).to_string();
    let ty = |rng: &mut StdRng| {
        let signed = rng.gen_bool(0.5);
        let bits = if signed {
            rng.gen_range(1..=64)
        } else {
            rng.gen_range(1..=63)
        };
        format!("{}{bits}", if signed { "i" } else { "u" })
    };
    let ow = |rng: &mut StdRng| ["WRAP", "SAT", "FAIL"][rng.gen_range(0..3)].to_string();
    let els = |rng: &mut StdRng, n: usize| -> Vec<String> {
        (0..n)
            .map(|_| format!("e{}", rng.gen_range(0..5000)))
            .collect()
    };
    match rng.gen_range(0..9) {
        0 => vec![
            "SETBIT".into(),
            k(rng),
            off(rng),
            rng.gen_range(0..2).to_string(),
        ],
        1 => vec![
            "BITFIELD".into(),
            k(rng),
            "OVERFLOW".into(),
            ow(rng),
            "INCRBY".into(),
            ty(rng),
            off(rng),
            rng.gen_range(-300i64..300).to_string(),
            "SET".into(),
            ty(rng),
            format!("#{}", rng.gen_range(0..8)),
            rng.gen_range(-300i64..300).to_string(),
        ],
        2 => {
            let op = ["AND", "OR", "XOR"][rng.gen_range(0..3)];
            vec!["BITOP".into(), op.into(), k(rng), k(rng), k(rng)]
        }
        3 => vec!["BITOP".into(), "NOT".into(), k(rng), k(rng)],
        4 | 5 => {
            // Sometimes many elements, to reach the dense encoding.
            let n = if rng.gen_range(0..10) == 0 {
                rng.gen_range(200..2000)
            } else {
                rng.gen_range(0..20)
            };
            let mut v = vec!["PFADD".into(), k(rng)];
            v.extend(els(rng, n));
            v
        }
        6 => vec!["PFMERGE".into(), k(rng), k(rng), k(rng)],
        7 => vec!["PFCOUNT".into(), k(rng)],
        _ => vec!["GETBIT".into(), k(rng), off(rng)],
    }
}

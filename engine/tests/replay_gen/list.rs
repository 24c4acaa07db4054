//! Generators for list write commands, blocking pops included (inside the engine they never
//! block: on empty keys they answer `Reply::Block` and change nothing).

use rand::rngs::StdRng;
use rand::Rng;

use super::key;

/// A list element: short strings, integer-looking strings, and now and then a big one, so
/// lists cross the listpack/quicklist limits both ways.
fn elem(rng: &mut StdRng) -> String {
    match rng.gen_range(0..14) {
        0 => "x".repeat(rng.gen_range(1000..9000)),
        1..=6 => rng.gen_range(-300i64..300).to_string(),
        _ => format!("e{}", rng.gen_range(0..12)),
    }
}

fn side(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.5) { "LEFT" } else { "RIGHT" }.into()
}

/// List commands.
pub fn command(rng: &mut StdRng) -> Vec<String> {
    let k = key;
    let idx = |rng: &mut StdRng| rng.gen_range(-8i64..8).to_string();
    let s = |x: &str| x.to_string();
    let i = rng.gen_range(0..22);
    match i {
        0 | 1 => {
            let mut v = vec![s(if i == 0 { "LPUSH" } else { "RPUSH" }), k(rng)];
            for _ in 0..rng.gen_range(1..6) {
                v.push(elem(rng));
            }
            v
        }
        2 => vec![s("LPUSHX"), k(rng), elem(rng)],
        3 => vec![s("RPUSHX"), k(rng), elem(rng), elem(rng)],
        4 => vec![s("LPOP"), k(rng)],
        5 => vec![s("RPOP"), k(rng), rng.gen_range(0..5).to_string()],
        6 => vec![s("LSET"), k(rng), idx(rng), elem(rng)],
        7 => vec![
            s("LINSERT"),
            k(rng),
            s(if rng.gen_bool(0.5) { "BEFORE" } else { "AFTER" }),
            elem(rng),
            elem(rng),
        ],
        8 => vec![
            s("LREM"),
            k(rng),
            rng.gen_range(-3i64..4).to_string(),
            elem(rng),
        ],
        9 => vec![s("LTRIM"), k(rng), idx(rng), idx(rng)],
        10 => vec![s("LMOVE"), k(rng), k(rng), side(rng), side(rng)],
        11 => vec![s("RPOPLPUSH"), k(rng), k(rng)],
        12 => vec![
            s("LMPOP"),
            s("2"),
            k(rng),
            k(rng),
            side(rng),
            s("COUNT"),
            rng.gen_range(1..6).to_string(),
        ],
        13 => vec![s("BLPOP"), k(rng), k(rng), s("0")],
        14 => vec![s("BRPOP"), k(rng), s("0.1")],
        15 => vec![s("BLMOVE"), k(rng), k(rng), side(rng), side(rng), s("0")],
        16 => vec![s("BRPOPLPUSH"), k(rng), k(rng), s("0")],
        17 => vec![
            s("BLMPOP"),
            s("0"),
            s("1"),
            k(rng),
            side(rng),
            s("COUNT"),
            rng.gen_range(1..4).to_string(),
        ],
        18 => {
            // Many small pushes to one key: grows past the listpack limit.
            let mut v = vec![s("RPUSH"), k(rng)];
            for n in 0..rng.gen_range(100..300) {
                v.push(format!("item-{n:04}-padding-padding-padding"));
            }
            v
        }
        19 => vec![
            s("LTRIM"),
            k(rng),
            s("0"),
            rng.gen_range(0..250).to_string(),
        ],
        20 => vec![s("LPOP"), k(rng), rng.gen_range(1..40).to_string()],
        _ => vec![s("LRANGE"), k(rng), s("0"), s("-1")],
    }
}

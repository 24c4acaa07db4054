//! Generators for sorted set and geo write commands.

use rand::rngs::StdRng;
use rand::Rng;

use super::key;

fn s(v: &str) -> String {
    v.to_string()
}

/// Sorted set and geo write commands (and a few that fail or block, which must log nothing
/// or exactly what they did).
pub fn command(rng: &mut StdRng) -> Vec<String> {
    let k = key;
    let m = |rng: &mut StdRng| format!("m{}", rng.gen_range(0..12));
    let sc = |rng: &mut StdRng| match rng.gen_range(0..12) {
        0 => s("inf"),
        1 => s("-inf"),
        2 => s("-0"),
        _ => (rng.gen_range(-20i32..20) as f64 / 4.0).to_string(),
    };
    let bound = |rng: &mut StdRng| match rng.gen_range(0..5) {
        0 => s("-inf"),
        1 => s("+inf"),
        2 => format!("({}", rng.gen_range(-5..5)),
        _ => rng.gen_range(-5..5).to_string(),
    };
    let lex = |rng: &mut StdRng| match rng.gen_range(0..4) {
        0 => s("-"),
        1 => s("+"),
        2 => format!("[m{}", rng.gen_range(0..12)),
        _ => format!("(m{}", rng.gen_range(0..12)),
    };
    let flag = |rng: &mut StdRng| {
        [
            "", "NX", "XX", "GT", "LT", "CH", "XX CH", "GT CH", "NX INCR", "INCR",
        ][rng.gen_range(0..10)]
        .split_whitespace()
        .map(String::from)
        .collect::<Vec<String>>()
    };
    let lon = |rng: &mut StdRng| format!("{:.4}", rng.gen_range(-180.0..180.0f64));
    let lat = |rng: &mut StdRng| format!("{:.4}", rng.gen_range(-85.0..85.0f64));
    let i = rng.gen_range(0..26);
    let mut c: Vec<String> = match i {
        0 | 1 => {
            let mut v = vec![s("ZADD"), k(rng)];
            let f = flag(rng);
            let incr = f.iter().any(|x| x == "INCR");
            v.extend(f);
            for _ in 0..if incr { 1 } else { rng.gen_range(1..5) } {
                v.push(sc(rng));
                v.push(m(rng));
            }
            v
        }
        2 => vec![s("ZINCRBY"), k(rng), sc(rng), m(rng)],
        3 => vec![s("ZREM"), k(rng), m(rng), m(rng)],
        4 => vec![
            s("ZREMRANGEBYRANK"),
            k(rng),
            rng.gen_range(-4..4).to_string(),
            rng.gen_range(-4..4).to_string(),
        ],
        5 => vec![s("ZREMRANGEBYSCORE"), k(rng), bound(rng), bound(rng)],
        6 => vec![s("ZREMRANGEBYLEX"), k(rng), lex(rng), lex(rng)],
        7 => vec![s("ZPOPMIN"), k(rng), rng.gen_range(0..4).to_string()],
        8 => vec![s("ZPOPMAX"), k(rng)],
        9 => vec![
            s("ZMPOP"),
            s("2"),
            k(rng),
            k(rng),
            s(if rng.gen() { "MIN" } else { "MAX" }),
            s("COUNT"),
            rng.gen_range(1..4).to_string(),
        ],
        10 => vec![s("BZPOPMIN"), k(rng), k(rng), s("0.01")],
        11 => vec![s("BZMPOP"), s("0.01"), s("1"), k(rng), s("MAX")],
        12 => vec![
            s("ZRANGESTORE"),
            k(rng),
            k(rng),
            bound(rng),
            bound(rng),
            s("BYSCORE"),
        ],
        13 => vec![
            s("ZRANGESTORE"),
            k(rng),
            k(rng),
            s("0"),
            rng.gen_range(-3..5).to_string(),
        ],
        14 => vec![
            s("ZUNIONSTORE"),
            k(rng),
            s("2"),
            k(rng),
            k(rng),
            s("WEIGHTS"),
            sc(rng),
            s("2"),
        ],
        15 => vec![
            s("ZINTERSTORE"),
            k(rng),
            s("2"),
            k(rng),
            k(rng),
            s("AGGREGATE"),
            s(["SUM", "MIN", "MAX"][rng.gen_range(0..3)]),
        ],
        16 => vec![s("ZDIFFSTORE"), k(rng), s("2"), k(rng), k(rng)],
        17 => {
            // Enough members to convert to the skiplist encoding.
            let mut v = vec![s("ZADD"), k(rng)];
            let base = rng.gen_range(0..1000);
            for j in 0..130 {
                v.push(j.to_string());
                v.push(format!("b{}", base + j));
            }
            v
        }
        18 | 19 => {
            let mut v = vec![s("GEOADD"), k(rng)];
            if rng.gen_range(0..3) == 0 {
                v.push(s(["NX", "XX", "CH"][rng.gen_range(0..3)]));
            }
            for _ in 0..rng.gen_range(1..4) {
                v.push(lon(rng));
                v.push(lat(rng));
                v.push(m(rng));
            }
            v
        }
        20 => vec![
            s("GEOSEARCHSTORE"),
            k(rng),
            k(rng),
            s("FROMLONLAT"),
            lon(rng),
            lat(rng),
            s("BYRADIUS"),
            s("5000"),
            s("km"),
            s("ASC"),
        ],
        21 => vec![
            s("GEOSEARCHSTORE"),
            k(rng),
            k(rng),
            s("FROMMEMBER"),
            m(rng),
            s("BYBOX"),
            s("20000"),
            s("20000"),
            s("km"),
            s("COUNT"),
            s("3"),
            s("STOREDIST"),
        ],
        22 => vec![
            s("GEORADIUS"),
            k(rng),
            lon(rng),
            lat(rng),
            s("8000"),
            s("km"),
            s("STORE"),
            k(rng),
        ],
        23 => vec![
            s("GEORADIUSBYMEMBER"),
            k(rng),
            m(rng),
            s("8000"),
            s("km"),
            s("STOREDIST"),
            k(rng),
        ],
        24 => vec![
            s("ZADD"),
            k(rng),
            s("GT"),
            s("CH"),
            sc(rng),
            m(rng),
            sc(rng),
            m(rng),
        ],
        _ => vec![s("ZINCRBY"), k(rng), s("inf"), m(rng)],
    };
    c.retain(|x| !x.is_empty());
    c
}

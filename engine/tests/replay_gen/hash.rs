//! Generators for hash write commands.

use rand::rngs::StdRng;
use rand::Rng;

use super::key;

fn field(rng: &mut StdRng) -> String {
    format!("f{}", rng.gen_range(0..12))
}

/// Hash write commands (and the reads that touch hashes).
pub fn command(rng: &mut StdRng) -> Vec<String> {
    let k = key;
    let f = field;
    let mut cmds: Vec<Vec<String>> = vec![
        vec![
            "HSET".into(),
            k(rng),
            f(rng),
            rng.gen_range(0..100).to_string(),
        ],
        vec![
            "HSET".into(),
            k(rng),
            f(rng),
            "v".into(),
            f(rng),
            "w".into(),
        ],
        vec!["HMSET".into(), k(rng), f(rng), "m".into()],
        vec!["HSETNX".into(), k(rng), f(rng), "nx".into()],
        vec!["HDEL".into(), k(rng), f(rng)],
        vec!["HDEL".into(), k(rng), f(rng), f(rng), f(rng)],
        vec![
            "HINCRBY".into(),
            k(rng),
            f(rng),
            rng.gen_range(-5..5).to_string(),
        ],
        vec!["HINCRBYFLOAT".into(), k(rng), f(rng), "0.25".into()],
        vec!["HINCRBYFLOAT".into(), k(rng), f(rng), "1e300".into()],
        vec!["HGETALL".into(), k(rng)],
        vec![
            "HRANDFIELD".into(),
            k(rng),
            "-3".into(),
            "WITHVALUES".into(),
        ],
        vec![
            "HSET".into(),
            k(rng),
            f(rng),
            "a-value-longer-than-sixty-four-bytes-so-the-hash-becomes-a-hashtable!!".into(),
        ],
    ];
    if rng.gen_range(0..30) == 0 {
        // A large hash (hashtable encoded, swap-removing).
        let mut c = vec!["HSET".to_string(), k(rng)];
        for i in 0..rng.gen_range(500..700) {
            c.push(format!("f{i}"));
            c.push(i.to_string());
        }
        cmds.push(c);
    }
    if rng.gen_range(0..10) == 0 {
        let mut c = vec!["HDEL".to_string(), k(rng)];
        for _ in 0..50 {
            c.push(format!("f{}", rng.gen_range(0..700)));
        }
        cmds.push(c);
    }
    let i = rng.gen_range(0..cmds.len());
    cmds.swap_remove(i)
}

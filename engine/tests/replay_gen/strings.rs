//! Generators for string and key-space write commands.

use rand::rngs::StdRng;
use rand::Rng;

use super::key;

/// Key-space and string commands.
pub fn command(rng: &mut StdRng) -> Vec<String> {
    let k = key;
    let n = |rng: &mut StdRng| rng.gen_range(-5i64..200).to_string();
    let cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), k(rng), n(rng)],
        vec![
            "SET".into(),
            k(rng),
            "v".into(),
            "PX".into(),
            rng.gen_range(1..300).to_string(),
        ],
        vec!["SET".into(), k(rng), "kept".into(), "KEEPTTL".into()],
        vec!["SET".into(), k(rng), "nx".into(), "NX".into(), "GET".into()],
        vec!["SET".into(), k(rng), "xx".into(), "XX".into()],
        vec!["SETNX".into(), k(rng), "s".into()],
        vec!["SETEX".into(), k(rng), "1".into(), "e".into()],
        vec![
            "PSETEX".into(),
            k(rng),
            rng.gen_range(1..500).to_string(),
            "p".into(),
        ],
        vec!["GETSET".into(), k(rng), n(rng)],
        vec!["MSET".into(), k(rng), "m1".into(), k(rng), "m2".into()],
        vec!["MSETNX".into(), k(rng), "x1".into(), k(rng), "x2".into()],
        vec!["GETDEL".into(), k(rng)],
        vec![
            "GETEX".into(),
            k(rng),
            "PX".into(),
            rng.gen_range(1..400).to_string(),
        ],
        vec!["GETEX".into(), k(rng), "PERSIST".into()],
        vec![
            "SETRANGE".into(),
            k(rng),
            rng.gen_range(0..20).to_string(),
            "xyz".into(),
        ],
        vec!["APPEND".into(), k(rng), "++".into()],
        vec!["INCR".into(), k(rng)],
        vec!["DECRBY".into(), k(rng), "7".into()],
        vec!["INCRBYFLOAT".into(), k(rng), "0.1".into()],
        vec!["DEL".into(), k(rng), k(rng)],
        vec!["UNLINK".into(), k(rng)],
        vec!["RENAME".into(), k(rng), k(rng)],
        vec!["RENAMENX".into(), k(rng), k(rng)],
        vec!["COPY".into(), k(rng), k(rng), "REPLACE".into()],
        vec!["COPY".into(), k(rng), k(rng), "DB".into(), "1".into()],
        vec!["EXPIRE".into(), k(rng), rng.gen_range(-1..3).to_string()],
        vec![
            "PEXPIRE".into(),
            k(rng),
            rng.gen_range(1..400).to_string(),
            "GT".into(),
        ],
        vec!["PERSIST".into(), k(rng)],
    ];
    let i = rng.gen_range(0..cmds.len() + 2);
    if i == cmds.len() {
        // Rarely, a flush.
        if rng.gen_range(0..20) == 0 {
            return vec!["FLUSHDB".into()];
        }
        return vec!["GET".into(), k(rng)];
    }
    if i == cmds.len() + 1 {
        let all = rng.gen_range(0..40) == 0;
        return vec![if all { "FLUSHALL" } else { "PING" }.into()];
    }
    cmds[i].clone()
}

//! Generators for set write commands.

use rand::rngs::StdRng;
use rand::Rng;

use super::key;

fn member(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.5) {
        rng.gen_range(-5..20).to_string()
    } else {
        format!("m{}", rng.gen_range(0..10))
    }
}

/// Set write commands (and the reads that touch sets).
pub fn command(rng: &mut StdRng) -> Vec<String> {
    let k = key;
    let m = member;
    let mut cmds: Vec<Vec<String>> = vec![
        vec!["SADD".into(), k(rng), m(rng)],
        vec!["SADD".into(), k(rng), m(rng), m(rng), m(rng)],
        vec!["SREM".into(), k(rng), m(rng)],
        vec!["SREM".into(), k(rng), m(rng), m(rng)],
        vec!["SPOP".into(), k(rng)],
        vec!["SPOP".into(), k(rng), rng.gen_range(0..6).to_string()],
        vec!["SMOVE".into(), k(rng), k(rng), m(rng)],
        vec!["SINTERSTORE".into(), k(rng), k(rng), k(rng)],
        vec!["SUNIONSTORE".into(), k(rng), k(rng), k(rng)],
        vec!["SDIFFSTORE".into(), k(rng), k(rng), k(rng)],
        vec!["SMEMBERS".into(), k(rng)],
        vec!["SRANDMEMBER".into(), k(rng), "-2".into()],
    ];
    if rng.gen_range(0..20) == 0 {
        // A large set: all integers (past the intset limit) or mixed.
        let ints = rng.gen_bool(0.5);
        let mut c = vec!["SADD".to_string(), k(rng)];
        for i in 0..rng.gen_range(100..700) {
            c.push(if ints { i.to_string() } else { format!("x{i}") });
        }
        cmds.push(c);
    }
    if rng.gen_range(0..10) == 0 {
        let mut c = vec!["SREM".to_string(), k(rng)];
        for i in 0..60 {
            c.push(if i % 2 == 0 {
                rng.gen_range(0..700).to_string()
            } else {
                format!("x{}", rng.gen_range(0..700))
            });
        }
        cmds.push(c);
    }
    let i = rng.gen_range(0..cmds.len());
    cmds.swap_remove(i)
}

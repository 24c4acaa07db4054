//! Restart equivalence for hashes and sets: HGETALL/SMEMBERS (in order), OBJECT ENCODING and
//! sizes answer the same after a snapshot load, a log replay, and both.

mod common;

#[test]
fn hashes_and_sets_survive_restarts() {
    // Small and large (hashtable-encoded) hashes and sets, changed in place, keep their
    // contents and iteration order across every kind of restart.
    let big_h: String = (0..600).map(|i| format!(" f{i} v{i}")).collect();
    let big_s: String = (0..300).map(|i| format!(" m{i}")).collect();
    let ints: String = (0..600).map(|i| format!(" {}", i * 7 % 601)).collect();
    let writes = [
        "HSET small a 1 b 2 c 3".to_string(),
        "HDEL small b".into(),
        "HINCRBY small n 5".into(),
        "HINCRBYFLOAT small f 0.1".into(),
        format!("HSET big{big_h}"),
        "HDEL big f0 f7 f100".into(),
        "HSET big f0 again".into(),
        "SADD s x y z 1".into(),
        "SREM s y".into(),
        "SADD i 5 3 9 1".into(),
        format!("SADD bigs{big_s}"),
        "SREM bigs m3 m150 m299".into(),
        format!("SADD bigi{ints}"),
        "SREM bigi 0 7".into(),
        "SMOVE s moved x".into(),
        "SINTERSTORE inter bigs s".into(),
        "SUNIONSTORE uni s i".into(),
        "SDIFFSTORE dif bigs s".into(),
        "SPOP bigs 5".into(),
    ];
    let more = [
        "HSET small d 4".to_string(),
        "HDEL big f1 f2 f3".into(),
        "HSETNX big new v".into(),
        "SADD i 4".into(),
        "SREM bigs m10 m11".into(),
        "SADD bigs extra".into(),
        "SPOP bigi 3".into(),
        "HINCRBYFLOAT big n9 1.5".into(),
    ];
    let checks = [
        "HGETALL small",
        "HGETALL big",
        "HLEN big",
        "OBJECT ENCODING small",
        "OBJECT ENCODING big",
        "SMEMBERS s",
        "SMEMBERS i",
        "SMEMBERS bigs",
        "SMEMBERS bigi",
        "SMEMBERS moved",
        "SMEMBERS inter",
        "SMEMBERS uni",
        "SMEMBERS dif",
        "SCARD bigs",
        "OBJECT ENCODING s",
        "OBJECT ENCODING i",
        "OBJECT ENCODING bigs",
        "OBJECT ENCODING bigi",
        "HSCAN big 0 COUNT 50",
        "SSCAN bigs 0 COUNT 50",
    ];
    let w: Vec<&str> = writes.iter().map(String::as_str).collect();
    let m: Vec<&str> = more.iter().map(String::as_str).collect();
    common::restart::check("hash-set", &w, &m, &checks);
}

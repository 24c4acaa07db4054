//! Restart equivalence for lists: after a snapshot load, a log replay, or both, every list
//! reads back identically (elements, lengths, encodings).

mod common;

const CHECKS: &[&str] = &[
    "LRANGE l 0 -1",
    "LLEN l",
    "OBJECT ENCODING l",
    "LRANGE m 0 -1",
    "LLEN m",
    "OBJECT ENCODING m",
    "LRANGE big 0 -1",
    "OBJECT ENCODING big",
    "LRANGE dst 0 -1",
    "EXISTS gone",
    "EXISTS src",
    "LRANGE n 0 -1",
    "TYPE l",
];

#[test]
fn lists_survive_restarts() {
    // Every list write, replayed from a snapshot, from the log, or both, gives back the same
    // lists.
    let big = format!("RPUSH big a {} b", "z".repeat(10_000));
    let writes = [
        "RPUSH l a b c d e f g",
        "LPUSH l x y 1 -5 9223372036854775807",
        "LINSERT l BEFORE c inserted",
        "LINSERT l AFTER g last",
        "LSET l 0 first",
        "LSET l -1 end",
        "RPUSH l a a a",
        "LREM l 2 a",
        "LREM l -1 a",
        "LTRIM l 1 -2",
        "LPOP l",
        "RPOP l 2",
        "LPUSHX l px",
        "RPUSHX l rx",
        "RPUSH m 1 2 3",
        &big,
        "RPUSH src s1 s2 s3",
        "LMOVE src dst LEFT RIGHT",
        "RPOPLPUSH src dst",
        "LMOVE dst dst LEFT RIGHT",
        "LMPOP 2 nokey src LEFT COUNT 5",
        "RPUSH gone 1 2",
        "LPOP gone 2",
    ];
    let more_writes = [
        "RPUSH l more1 more2",
        "LREM l 0 b",
        "LTRIM m 0 0",
        "RPOP big",
        "RPUSH n 1 2 3 4",
        "BLPOP nokey n 0",
        "BRPOP n 0",
        "BLMOVE n dst RIGHT LEFT 0",
        "BRPOPLPUSH dst n 0",
        "BLMPOP 0 1 dst RIGHT COUNT 1",
        "LINSERT n AFTER 2 two",
        "LSET n 0 zero",
    ];
    common::restart::check("lists", &writes, &more_writes, CHECKS);
}

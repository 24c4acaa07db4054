//! Restart equivalence for bitmaps and HyperLogLogs: the values SETBIT, BITFIELD, BITOP,
//! PFADD, PFMERGE and PFCOUNT (which caches the cardinality in the value) leave are the same
//! after a snapshot load and after replaying the log.

mod common;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn pfadd(key: &str, from: usize, to: usize) -> &'static str {
    let mut line = format!("PFADD {key}");
    for i in from..to {
        line.push_str(&format!(" e{i}"));
    }
    leak(line)
}

#[test]
fn bitmaps_survive_restart() {
    // Bit writes (in place, growing, on new keys, on int-encoded strings) replay exactly.
    common::restart::check(
        "bits",
        &[
            "SETBIT b 7 1",
            "SETBIT b 100 1",
            "SETBIT b 7 0",
            "SET n 12345",
            "SETBIT n 0 0",
            "SET t abc EX 1000",
            "SETBIT t 30 1",
            "BITFIELD f SET u8 0 200 INCRBY i5 100 7 OVERFLOW SAT INCRBY u4 #3 99",
            "BITFIELD f OVERFLOW FAIL INCRBY u2 400 10",
            "BITFIELD g OVERFLOW FAIL INCRBY u2 100 10",
            "SET a foobar",
            "BITOP NOT x a",
            "BITOP AND y a b f",
            "BITOP OR z nokey",
        ],
        &[
            "SETBIT b 3000 1",
            "BITFIELD f SET i64 64 -1",
            "BITOP XOR x x a",
            "SET z v",
            "BITOP AND z nokey",
        ],
        &[
            "GET b",
            "GET n",
            "OBJECT ENCODING n",
            "GET t",
            "OBJECT ENCODING t",
            "GET f",
            "GET g",
            "GET x",
            "GET y",
            "EXISTS z",
            "BITCOUNT b",
            "OBJECT ENCODING x",
        ],
    );
}

#[test]
fn hyperloglogs_survive_restart() {
    // Sparse and dense HLLs, merges and cached cardinalities replay byte for byte.
    common::restart::check(
        "hll",
        &[
            "PFADD s a b c",
            "PFCOUNT s",
            "PFADD s d",
            pfadd("d", 0, 1000),
            pfadd("d", 1000, 3000),
            "PFCOUNT d",
            pfadd("d", 3000, 3100),
            "PFMERGE m s d",
            "PFMERGE m2 s",
            "PFADD e",
        ],
        &[
            "PFADD s e f g",
            "PFCOUNT s",
            pfadd("d", 5000, 5500),
            "PFMERGE m2 s",
            "PFCOUNT m2",
            "PFMERGE s d",
        ],
        &[
            "GET s",
            "GET d",
            "GET m",
            "GET m2",
            "GET e",
            // (Single-key PFCOUNT writes its cache, so checks use the multi-key form.)
            "PFCOUNT s s",
            "PFCOUNT d m m2",
            "OBJECT ENCODING e",
        ],
    );
}

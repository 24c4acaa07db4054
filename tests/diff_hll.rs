//! Differential tests of the HyperLogLog commands (PFADD PFCOUNT PFMERGE) against a real
//! `redis-server`: replies, and the stored bytes (GET) of sparse and dense HLLs.

mod common;

use common::diff;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `PFADD key` lines adding `prefix{from..to}`, 1000 elements a line.
fn pfadd_lines(key: &str, prefix: &str, from: usize, to: usize) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        let end = (i + 1000).min(to);
        let mut line = format!("PFADD {key}");
        for j in i..end {
            line.push_str(&format!(" {prefix}{j}"));
        }
        out.push(leak(line));
        i = end;
    }
    out
}

fn cases() -> Vec<&'static [&'static str]> {
    let mut cases: Vec<Vec<&'static str>> = vec![
        vec![
            "PFADD h a b c",
            "GET h",
            "PFCOUNT h",
            "GET h",
            "PFADD h a",
            "GET h",
            "PFADD h d",
            "GET h",
            "PFCOUNT h",
            "OBJECT ENCODING h",
            "PFADD e",
            "GET e",
            "PFADD e",
            "PFCOUNT e",
            "GET e",
            "PFCOUNT nokey",
            "EXISTS nokey",
            "PFCOUNT h e nokey",
            "PFADD",
            "PFCOUNT",
            "PFMERGE",
        ],
        // Not HLLs, and corrupt HLLs.
        vec![
            "SET s foo",
            "PFADD s x",
            "PFCOUNT s",
            "PFCOUNT s s",
            "PFMERGE d s",
            "PFMERGE s",
            "EXISTS d",
            "SET s2 HYLLxxxxxxxxxxxxxxxxxxx",
            "PFADD s2 x",
            "SETRANGE dd 0 HYLL",
            "SETRANGE dd 17 z",
            "PFCOUNT dd",
            "SETRANGE dz 0 HYLL",
            "SETRANGE dz 12303 z",
            "PFCOUNT dz",
            "PFADD dz a b c",
            "PFCOUNT dz",
            "GET dz",
            "SETRANGE sp 0 HYLL",
            "SETBIT sp 39 1",
            "SETRANGE sp 16 A",
            "PFCOUNT sp",
            "PFCOUNT sp dz",
            "PFMERGE m sp",
            "PFADD sp x",
            "PFADD sp a b c d e f g",
            "PFCOUNT sp",
            "GET sp",
            "PFADD h a",
            "APPEND h AAAA",
            "PFCOUNT h",
            "PFADD h zzz",
            "PFCOUNT h",
        ],
        // PFMERGE of sparse and dense inputs, into new and existing keys.
        vec![
            "PFADD a x1 x2 x3",
            "PFADD b x3 x4 x5 x6",
            "PFMERGE d a b",
            "GET d",
            "PFCOUNT d",
            "PFCOUNT a b",
            "PFMERGE d",
            "GET d",
            "PFMERGE d2",
            "GET d2",
            "PFMERGE a b",
            "GET a",
            "SET d3 x EX 100",
            "PFMERGE d4 nokey",
            "GET d4",
        ],
    ];
    // Sparse HLLs growing element by element, through the promotion to dense.
    let mut grow = Vec::new();
    for step in 0..40 {
        grow.extend(pfadd_lines("g", "el:", step * 100, (step + 1) * 100));
        grow.push("GET g");
        grow.push("PFCOUNT g");
        grow.push("GET g");
    }
    cases.push(grow);
    // Small HLLs, one element at a time (opcode splits and merges).
    let mut small = Vec::new();
    for i in 0..300 {
        small.push(leak(format!("PFADD s {i}")));
        if i % 7 == 0 {
            small.push("GET s");
        }
        if i % 50 == 0 {
            small.push("PFCOUNT s");
        }
    }
    small.push("GET s");
    cases.push(small);
    // Cardinalities from 1 to 100k.
    for n in [1usize, 2, 10, 100, 500, 1000, 2000, 5000, 20_000, 100_000] {
        let mut c = pfadd_lines("c", "member-", 0, n);
        c.push("PFCOUNT c");
        c.push("GET c");
        c.extend(pfadd_lines("c2", "other-", 0, n / 2 + 1));
        c.push("PFCOUNT c c2");
        c.push("PFMERGE m c2 c");
        c.push("GET m");
        c.push("PFCOUNT m");
        c.push("PFMERGE c2 c");
        c.push("GET c2");
        c.push("PFCOUNT c2");
        cases.push(c);
    }
    cases
        .into_iter()
        .map(|c| &*Box::leak(c.into_boxed_slice()))
        .collect()
}

const EXPECTED_TO_DIFFER: &[(&str, &str)] = &[];

fn run_cases(proto: u8) {
    let cases = cases();
    diff::run(&cases, EXPECTED_TO_DIFFER, &[], proto);
}

#[test]
fn hll_same_as_redis_resp2() {
    // Replies and stored HLL bytes are identical to redis-server's (RESP2).
    run_cases(2);
}

#[test]
fn hll_same_as_redis_resp3() {
    // Replies and stored HLL bytes are identical to redis-server's (RESP3).
    run_cases(3);
}

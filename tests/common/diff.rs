//! The differential harness: the same command sequences go to Vole and to a real
//! `redis-server`, and the replies must be identical.

use super::{Raw, Redis, Vole};
use vole_engine::resp::Value;

pub fn sorted(v: Value) -> Value {
    match v {
        Value::Array(mut items) => {
            items.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            Value::Array(items)
        }
        Value::Set(mut items) => {
            items.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            Value::Set(items)
        }
        Value::Map(mut pairs) => {
            pairs.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            Value::Map(pairs)
        }
        other => other,
    }
}

/// Split a command line into words, honouring double quotes.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Runs every case (each from an empty keyspace) on redis-server and Vole in RESP`proto`
/// and fails listing every reply that differs. Lines in `expected_to_differ` are skipped;
/// replies of commands in `unordered` are compared sorted. Returns without checking when
/// redis-server is not installed (CI installs it and sets VOLE_REQUIRE_REDIS=1).
pub fn run(cases: &[&[&str]], expected_to_differ: &[(&str, &str)], unordered: &[&str], proto: u8) {
    let Some(redis) = Redis::start() else { return };
    let vole = Vole::start(&[]);
    let mut r = Raw::connect(redis.addr);
    let mut v = vole.raw();
    let mut failures = Vec::new();
    for case in cases {
        for conn in [&mut r, &mut v] {
            assert!(!super::is_err(&conn.cmd(&["FLUSHALL"]), ""));
            let _ = conn.cmd(&["SELECT", "0"]);
            let _ = conn.cmd(&["HELLO", &proto.to_string()]);
        }
        for line in *case {
            if expected_to_differ.iter().any(|(l, _)| l == line) {
                continue;
            }
            let w = words(line);
            let a: Vec<&str> = w.iter().map(String::as_str).collect();
            let (mut expected, mut got) = (r.cmd(&a), v.cmd(&a));
            if unordered.iter().any(|c| a[0].eq_ignore_ascii_case(c)) {
                (expected, got) = (sorted(expected), sorted(got));
            }
            if expected != got {
                failures.push(format!(
                    "RESP{proto} {line}\n   redis: {expected:?}\n   vole:  {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// [`run`] on cases built at run time (expanded or generated lines).
pub fn run_owned(
    cases: Vec<Vec<String>>,
    expected_to_differ: &[(&str, &str)],
    unordered: &[&str],
    proto: u8,
) {
    let lines: Vec<Vec<&str>> = cases
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = lines.iter().map(Vec::as_slice).collect();
    run(&refs, expected_to_differ, unordered, proto);
}

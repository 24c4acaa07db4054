//! Keyspace commands through the `redis` crate against the real server: counting, patterns,
//! SCAN's guarantees (also while other clients change the keyspace), renames and copies, the
//! expire family, databases, OBJECT and MEMORY USAGE.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{q, q_err, unix_ms, Vole};
use redis::Value as R;

fn ok(v: R) -> bool {
    v == R::Okay
}

/// Set `n` keys named `{prefix}{i}` in batches.
fn fill(c: &mut redis::Connection, prefix: &str, n: usize) {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    for chunk in names.chunks(500) {
        let mut cmd = redis::cmd("MSET");
        for k in chunk {
            cmd.arg(k).arg("v");
        }
        let () = cmd.query(c).expect("MSET");
    }
}

/// Run one SCAN call: (next cursor, keys).
fn scan_once(c: &mut redis::Connection, cursor: &str, extra: &[&str]) -> (String, Vec<String>) {
    let mut args = vec!["SCAN", cursor];
    args.extend_from_slice(extra);
    q::<(String, Vec<String>)>(c, &args)
}

/// A whole SCAN iteration: how many times each key was returned.
fn scan_all(c: &mut redis::Connection, extra: &[&str]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, keys) = scan_once(c, &cursor, extra);
        for k in keys {
            *seen.entry(k).or_insert(0) += 1;
        }
        calls += 1;
        assert!(calls < 100_000, "SCAN does not terminate");
        if next == "0" {
            return seen;
        }
        cursor = next;
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn del_unlink_exists_count_keys() {
    // DEL and UNLINK count removed keys; EXISTS counts a key once per mention.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"])));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b", "c", "c", "x"]), 4);
    assert_eq!(q::<i64>(&mut c, &["DEL", "a", "b", "x"]), 2);
    assert_eq!(q::<i64>(&mut c, &["DEL", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b", "c"]), 1);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "c", "c", "zz"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(
        q_err(&mut c, &["DEL"]),
        "ERR wrong number of arguments for 'del' command"
    );
}

#[test]
fn type_of_keys() {
    // TYPE names the value's type, and "none" for a missing key.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "s", "v"])));
    assert!(ok(q(&mut c, &["SET", "n", "12"])));
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "n"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "missing"]), "none");
}

#[test]
fn keys_with_patterns() {
    // KEYS matches Redis glob patterns: *, ?, classes, negated classes, ranges and escapes.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    for k in [
        "user:1", "user:2", "user:10", "other", "hello", "hallo", "hxllo", "h?llo", "a*b", "axb",
    ] {
        assert!(ok(q(&mut c, &["SET", k, "v"])));
    }
    let keys = |c: &mut redis::Connection, p: &str| sorted(q::<Vec<String>>(c, &["KEYS", p]));
    assert_eq!(keys(&mut c, "user:*"), ["user:1", "user:10", "user:2"]);
    assert_eq!(keys(&mut c, "*:2"), ["user:2"]);
    assert_eq!(keys(&mut c, "user:?"), ["user:1", "user:2"]);
    assert_eq!(keys(&mut c, "h?llo"), ["h?llo", "hallo", "hello", "hxllo"]);
    assert_eq!(keys(&mut c, "h[ae]llo"), ["hallo", "hello"]);
    assert_eq!(keys(&mut c, "h[^e]llo"), ["h?llo", "hallo", "hxllo"]);
    assert_eq!(keys(&mut c, "h[a-f]llo"), ["hallo", "hello"]);
    assert_eq!(keys(&mut c, "h\\?llo"), ["h?llo"]);
    assert_eq!(keys(&mut c, "a\\*b"), ["a*b"]);
    assert_eq!(keys(&mut c, "a*b"), ["a*b", "axb"]);
    assert_eq!(keys(&mut c, "nothing*"), Vec::<String>::new());
    assert_eq!(keys(&mut c, "*").len(), 10);
    // Expired keys are not listed.
    assert!(ok(q(&mut c, &["SET", "user:tmp", "v", "PX", "30"])));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(keys(&mut c, "user:*"), ["user:1", "user:10", "user:2"]);
}

#[test]
fn scan_returns_every_key_exactly_once() {
    // A full SCAN with COUNT 100 over 10k keys returns each key exactly once.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    fill(&mut c, "key:", 10_000);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 10_000);
    let seen = scan_all(&mut c, &["COUNT", "100"]);
    assert_eq!(seen.len(), 10_000);
    let dup: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        dup.is_empty(),
        "keys returned more than once: {:?}",
        &dup[..dup.len().min(10)]
    );
    for i in 0..10_000 {
        assert!(
            seen.contains_key(&format!("key:{i}")),
            "key:{i} never returned"
        );
    }
    // Default COUNT too.
    assert_eq!(scan_all(&mut c, &[]).len(), 10_000);
}

#[test]
fn scan_with_match_and_type() {
    // MATCH and TYPE filter what SCAN returns without losing matching keys.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    fill(&mut c, "user:", 300);
    fill(&mut c, "other:", 200);
    let users = scan_all(&mut c, &["MATCH", "user:*", "COUNT", "50"]);
    assert_eq!(users.len(), 300);
    assert!(users.keys().all(|k| k.starts_with("user:")));
    let some = scan_all(&mut c, &["MATCH", "user:1?"]);
    assert_eq!(
        sorted(some.into_keys().collect()),
        (10..20).map(|i| format!("user:{i}")).collect::<Vec<_>>()
    );
    assert_eq!(scan_all(&mut c, &["TYPE", "string"]).len(), 500);
    assert_eq!(
        scan_all(&mut c, &["TYPE", "STRING", "MATCH", "other:*"]).len(),
        200
    );
    assert!(scan_all(&mut c, &["TYPE", "list"]).is_empty());
    assert!(scan_all(&mut c, &["TYPE", "hash", "COUNT", "1000"]).is_empty());
    // Errors.
    assert_eq!(q_err(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q_err(&mut c, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "BOGUS", "x"]),
        "ERR syntax error"
    );
}

#[test]
fn scan_guarantee_holds_under_churn() {
    // Keys present for the whole scan are all returned even while another connection adds and
    // deletes many other keys between SCAN calls (growing and shrinking the table).
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let mut other = vole.client();
    fill(&mut c, "stable:", 2000);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut step = 0usize;
    loop {
        let (next, keys) = scan_once(&mut c, &cursor, &["COUNT", "50"]);
        seen.extend(keys);
        // Alternate between adding a burst of keys and deleting an older burst.
        let burst = step / 2;
        if step % 2 == 0 {
            fill(&mut other, &format!("churn:{burst}:"), 300);
        } else if burst >= 2 {
            let names: Vec<String> = (0..300)
                .map(|i| format!("churn:{}:{i}", burst - 2))
                .collect();
            let mut del = redis::cmd("DEL");
            for n in &names {
                del.arg(n);
            }
            let _: i64 = del.query(&mut other).expect("DEL");
        }
        step += 1;
        assert!(step < 100_000, "SCAN does not terminate under churn");
        if next == "0" {
            break;
        }
        cursor = next;
    }
    let missing: Vec<_> = (0..2000)
        .map(|i| format!("stable:{i}"))
        .filter(|k| !seen.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "{} stable keys missed, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
}

#[test]
fn rename_and_renamenx() {
    // RENAME moves the value and its TTL, replacing the destination; RENAMENX refuses to.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "a", "1", "EX", "100"])));
    assert!(ok(q(&mut c, &["RENAME", "a", "b"])));
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "a"]), None);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "b"])));
    assert_eq!(q_err(&mut c, &["RENAME", "nope", "x"]), "ERR no such key");
    assert_eq!(q_err(&mut c, &["RENAMENX", "nope", "x"]), "ERR no such key");
    assert!(ok(q(&mut c, &["RENAME", "b", "b"])));
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    // Replacing a destination that had a TTL drops that TTL with the old value.
    assert!(ok(q(&mut c, &["SET", "p", "persistent"])));
    assert!(ok(q(&mut c, &["SET", "d", "old", "EX", "500"])));
    assert!(ok(q(&mut c, &["RENAME", "p", "d"])));
    assert_eq!(q::<String>(&mut c, &["GET", "d"]), "persistent");
    assert_eq!(q::<i64>(&mut c, &["TTL", "d"]), -1);
    assert!(ok(q(&mut c, &["SET", "c", "3"])));
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "b", "c"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "c"]), "3");
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "b", "e"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "e"]), "1");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "b"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "e", "e"]), 0);
}

#[test]
fn copy_with_db_and_replace() {
    // COPY duplicates value and TTL, refuses an existing destination unless REPLACE, and can
    // target another database.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "a", "1", "EX", "100"])));
    assert_eq!(q::<i64>(&mut c, &["COPY", "a", "b"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "b"])));
    assert!(ok(q(&mut c, &["SET", "a", "2"])));
    assert_eq!(
        q::<String>(&mut c, &["GET", "b"]),
        "1",
        "the copy is independent"
    );
    assert_eq!(q::<i64>(&mut c, &["COPY", "a", "b"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert_eq!(q::<i64>(&mut c, &["COPY", "a", "b", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "2");
    assert_eq!(q::<i64>(&mut c, &["TTL", "b"]), -1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "nope", "z"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "z"]), 0);
    assert_eq!(
        q_err(&mut c, &["COPY", "a", "a"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        q_err(&mut c, &["COPY", "a", "b", "DB", "99"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["COPY", "a", "b", "DB", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut c, &["COPY", "a", "b", "BOGUS"]),
        "ERR syntax error"
    );
    // Into db 1: same name allowed, since the databases differ.
    assert_eq!(q::<i64>(&mut c, &["COPY", "a", "a", "DB", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "a", "x", "DB", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "a", "x", "DB", "1"]), 0);
    assert!(ok(q(&mut c, &["SELECT", "1"])));
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "2");
    assert_eq!(q::<String>(&mut c, &["GET", "x"]), "2");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
}

#[test]
fn touch_counts_existing_keys() {
    // TOUCH returns how many of the named keys exist.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["MSET", "a", "1", "b", "2"])));
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "a", "b", "z"]), 2);
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "z"]), 0);
}

#[test]
fn randomkey_nil_on_empty_then_a_real_key() {
    // RANDOMKEY is nil on an empty database and otherwise names an existing key.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
    assert!(ok(q(&mut c, &["SET", "only", "1"])));
    assert_eq!(
        q::<Option<String>>(&mut c, &["RANDOMKEY"]),
        Some("only".into())
    );
    fill(&mut c, "k", 20);
    let mut distinct = HashSet::new();
    for _ in 0..100 {
        let k: String = q(&mut c, &["RANDOMKEY"]);
        assert!(
            k == "only" || (k.starts_with('k') && k[1..].parse::<u32>().is_ok_and(|n| n < 20)),
            "{k}"
        );
        distinct.insert(k);
    }
    assert!(distinct.len() > 1, "RANDOMKEY always returned the same key");
    // Keys only in db 0 are not returned in db 1.
    assert!(ok(q(&mut c, &["SELECT", "1"])));
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
}

#[test]
fn expire_family_with_conditions() {
    // EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX/XX/GT/LT follow Redis (no TTL counts as
    // infinite for GT/LT).
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "a", "1"])));
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "100", "XX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "100", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "a"]), -1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "100", "NX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "200", "NX"]), 0);
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "a"])));
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "200", "XX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "50", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "500", "GT"]), 1);
    assert!((499..=500).contains(&q::<i64>(&mut c, &["TTL", "a"])));
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "600", "LT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "10", "LT"]), 1);
    assert!((9..=10).contains(&q::<i64>(&mut c, &["TTL", "a"])));
    assert!(ok(q(&mut c, &["SET", "b", "1"])));
    assert_eq!(
        q::<i64>(&mut c, &["EXPIRE", "b", "100", "LT"]),
        1,
        "no TTL is infinite, so LT applies"
    );
    // The millisecond and absolute forms.
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "b", "50000"]), 1);
    assert!((49_000..=50_000).contains(&q::<i64>(&mut c, &["PTTL", "b"])));
    let at = unix_ms() / 1000 + 1000;
    assert_eq!(
        q::<i64>(&mut c, &["EXPIREAT", "b", &at.to_string(), "GT"]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "b"]), at);
    let at_ms = unix_ms() + 2_000_000;
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "b", &at_ms.to_string()]), 1);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "b"]), at_ms);
    // Errors.
    let nx_xx = "ERR NX and XX, GT or LT options at the same time are not compatible";
    assert_eq!(q_err(&mut c, &["EXPIRE", "a", "100", "NX", "XX"]), nx_xx);
    assert_eq!(q_err(&mut c, &["EXPIRE", "a", "100", "NX", "GT"]), nx_xx);
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "a", "100", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "a", "100", "FOO"]),
        "ERR Unsupported option FOO"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "a", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "a", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        q_err(&mut c, &["PEXPIRE", "a", "9223372036854775807"]),
        "ERR invalid expire time in 'pexpire' command"
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "missing", "10"]), 0);
    // A TTL in the past deletes the key at once.
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "a", "-1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a"]), 0);
    assert!(ok(q(&mut c, &["SET", "c", "1"])));
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "c", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "c"]), 0);
}

#[test]
fn ttl_expiretime_and_persist() {
    // TTL/PTTL/EXPIRETIME/PEXPIRETIME give -2 for missing and -1 for persistent keys; PERSIST
    // removes a TTL once.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(q::<i64>(&mut c, &[cmd, "missing"]), -2, "{cmd} missing");
    }
    assert!(ok(q(&mut c, &["SET", "k", "v"])));
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(q::<i64>(&mut c, &[cmd, "k"]), -1, "{cmd} persistent");
    }
    assert_eq!(q::<i64>(&mut c, &["EXPIREAT", "k", "4102444800"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), 4102444800);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), 4102444800000);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "missing"]), 0);
    // TTL rounds to the nearest second like Redis.
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "1600"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 2);
}

#[test]
fn dbsize_flushdb_flushall() {
    // FLUSHDB empties only the current database; FLUSHALL empties all of them.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    fill(&mut c, "a", 10);
    assert!(ok(q(&mut c, &["SELECT", "3"])));
    fill(&mut c, "b", 5);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 5);
    assert!(ok(q(&mut c, &["FLUSHDB"])));
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert!(ok(q(&mut c, &["SELECT", "0"])));
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 10);
    assert!(ok(q(&mut c, &["FLUSHDB", "ASYNC"])));
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    fill(&mut c, "a", 10);
    assert!(ok(q(&mut c, &["SELECT", "5"])));
    fill(&mut c, "c", 3);
    assert!(ok(q(&mut c, &["FLUSHALL", "SYNC"])));
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert!(ok(q(&mut c, &["SELECT", "0"])));
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert!(ok(q(&mut c, &["FLUSHALL"])));
    assert_eq!(q_err(&mut c, &["FLUSHDB", "BOGUS"]), "ERR syntax error");
    assert_eq!(q_err(&mut c, &["FLUSHALL", "BOGUS"]), "ERR syntax error");
}

#[test]
fn select_isolates_databases() {
    // A key in db 1 is invisible from db 0 (and from another client on db 0).
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let mut other = vole.client();
    assert!(ok(q(&mut c, &["SELECT", "1"])));
    assert!(ok(q(&mut c, &["SET", "k", "in1"])));
    assert_eq!(q::<Option<String>>(&mut other, &["GET", "k"]), None);
    assert_eq!(q::<i64>(&mut other, &["EXISTS", "k"]), 0);
    assert_eq!(
        q::<Vec<String>>(&mut other, &["KEYS", "*"]),
        Vec::<String>::new()
    );
    assert!(ok(q(&mut c, &["SELECT", "0"])));
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert!(ok(q(&mut c, &["SET", "k", "in0"])));
    assert!(ok(q(&mut c, &["SELECT", "1"])));
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "in1");
    assert!(ok(q(&mut c, &["SELECT", "15"])));
    assert_eq!(
        q_err(&mut c, &["SELECT", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SELECT", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    // A client opened on db 1 through the URL sees db 1.
    let url = format!("redis://{}/1", vole.addr);
    let mut on1 = redis::Client::open(url)
        .expect("client")
        .get_connection()
        .expect("connect");
    assert_eq!(q::<String>(&mut on1, &["GET", "k"]), "in1");
}

#[test]
fn object_encoding_and_idletime() {
    // OBJECT ENCODING reports int/embstr/raw like Redis; IDLETIME grows while a key is
    // untouched and resets when it is read.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let enc =
        |c: &mut redis::Connection, k: &str| q::<Option<String>>(c, &["OBJECT", "ENCODING", k]);
    assert!(ok(q(&mut c, &["SET", "i", "123"])));
    assert_eq!(enc(&mut c, "i").as_deref(), Some("int"));
    assert!(ok(q(&mut c, &["SET", "neg", "-9223372036854775808"])));
    assert_eq!(enc(&mut c, "neg").as_deref(), Some("int"));
    assert!(ok(q(&mut c, &["SET", "lead", "0123"])));
    assert_eq!(enc(&mut c, "lead").as_deref(), Some("embstr"));
    assert!(ok(q(&mut c, &["SET", "s", "hello"])));
    assert_eq!(enc(&mut c, "s").as_deref(), Some("embstr"));
    let s44 = "a".repeat(44);
    let s45 = "a".repeat(45);
    assert!(ok(q(&mut c, &["SET", "s44", &s44])));
    assert_eq!(enc(&mut c, "s44").as_deref(), Some("embstr"));
    assert!(ok(q(&mut c, &["SET", "s45", &s45])));
    assert_eq!(enc(&mut c, "s45").as_deref(), Some("raw"));
    assert_eq!(q::<i64>(&mut c, &["APPEND", "s", "x"]), 6);
    assert_eq!(enc(&mut c, "s").as_deref(), Some("raw"));
    assert_eq!(q::<i64>(&mut c, &["INCR", "i"]), 124);
    assert_eq!(enc(&mut c, "i").as_deref(), Some("int"));
    assert_eq!(enc(&mut c, "missing"), None);
    assert_eq!(
        q::<Option<i64>>(&mut c, &["OBJECT", "IDLETIME", "missing"]),
        None
    );
    // IDLETIME.
    assert!(ok(q(&mut c, &["SET", "idle", "v"])));
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "idle"]), 0);
    std::thread::sleep(Duration::from_millis(1100));
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "idle"]);
    assert!((1..=3).contains(&idle), "idle time {idle}");
    // OBJECT itself does not touch the key.
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "idle"]) >= 1);
    assert_eq!(q::<String>(&mut c, &["GET", "idle"]), "v");
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "idle"]), 0);
}

#[test]
fn memory_usage_is_an_integer_or_nil() {
    // MEMORY USAGE gives a positive size for an existing key (growing with the value) and nil
    // for a missing one.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "small", "v"])));
    assert!(ok(q(&mut c, &["SET", "big", &"x".repeat(10_000)])));
    let small: i64 = q(&mut c, &["MEMORY", "USAGE", "small"]);
    let big: i64 = q(&mut c, &["MEMORY", "USAGE", "big"]);
    assert!(small > 0, "{small}");
    assert!(big >= 10_000 && big > small, "{big}");
    assert_eq!(
        q::<Option<i64>>(&mut c, &["MEMORY", "USAGE", "missing"]),
        None
    );
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "small", "SAMPLES", "5"]) > 0);
}

#[test]
fn concurrent_renames_in_opposite_directions_do_not_deadlock() {
    // One client renames a→b while another renames b→a over and over: no deadlock, and the
    // value is never lost or duplicated.
    let vole = Vole::start(&[]);
    let mut setup = vole.client();
    for i in 0..20 {
        assert!(ok(q(
            &mut setup,
            &["SET", &format!("a{i}"), &format!("v{i}")]
        )));
    }
    let spawn = |from: &'static str, to: &'static str| {
        let mut c = vole.client();
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        std::thread::spawn(move || {
            for round in 0..100 {
                for i in 0..20 {
                    let r = common::rcmd(&["RENAME", &format!("{from}{i}"), &format!("{to}{i}")])
                        .query::<R>(&mut c);
                    match r {
                        Ok(v) => assert_eq!(v, R::Okay),
                        Err(e) => {
                            assert_eq!(common::err_text(&e), "ERR no such key", "round {round}")
                        }
                    }
                    let _: i64 = q(
                        &mut c,
                        &[
                            "COPY",
                            &format!("{to}{i}"),
                            &format!("c{from}{i}"),
                            "REPLACE",
                        ],
                    );
                }
            }
        })
    };
    let t1 = spawn("a", "b");
    let t2 = spawn("b", "a");
    t1.join().expect("a→b (a timeout here means a deadlock)");
    t2.join().expect("b→a (a timeout here means a deadlock)");
    for i in 0..20 {
        let v: Vec<Option<String>> = q(&mut setup, &["MGET", &format!("a{i}"), &format!("b{i}")]);
        let present: Vec<_> = v.iter().flatten().collect();
        assert_eq!(present, [&format!("v{i}")], "pair {i}: {v:?}");
    }
}

#[test]
fn expired_keys_count_as_missing_everywhere() {
    // Every command treats a key whose TTL has passed (but that may not be reclaimed yet) as
    // missing: NX-style writes succeed, reads see nothing, and new values carry no old TTL.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "src", "s"])));
    assert!(ok(q(&mut c, &["SET", "src2", "s2"])));
    let dead = [
        "copy_dst", "rnx_dst", "msetnx", "setnx", "append", "incr", "setrange", "read", "getset",
        "expire", "only",
    ];
    for k in dead {
        assert!(ok(q(&mut c, &["SET", k, "old", "PX", "30"])));
    }
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(q::<i64>(&mut c, &["COPY", "src", "copy_dst"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "copy_dst"]), "s");
    assert_eq!(q::<i64>(&mut c, &["TTL", "copy_dst"]), -1);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "src2", "rnx_dst"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "rnx_dst"]), "s2");
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "msetnx", "new"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "setnx", "new"]), 1);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "append", "x"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "append"]), -1);
    assert_eq!(q::<i64>(&mut c, &["INCR", "incr"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "incr"]), -1);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "setrange", "2", "x"]), 3);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "setrange"]), b"\0\0x");
    assert_eq!(q::<i64>(&mut c, &["TTL", "setrange"]), -1);
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "read", "0", "-1"]), "");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "read"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "read"]), "none");
    assert_eq!(
        q::<Option<String>>(&mut c, &["OBJECT", "ENCODING", "read"]),
        None
    );
    assert_eq!(q::<Option<i64>>(&mut c, &["MEMORY", "USAGE", "read"]), None);
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "read"]), 0);
    assert_eq!(q::<Option<String>>(&mut c, &["GETDEL", "read"]), None);
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETSET", "getset", "new"]),
        None
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "expire", "100"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "expire"]), 0);
    assert_eq!(q_err(&mut c, &["RENAME", "expire", "x"]), "ERR no such key");
    assert_eq!(q::<i64>(&mut c, &["COPY", "expire", "x"]), 0);
    // A database holding only expired keys has no random key and no keys to list.
    assert!(ok(q(&mut c, &["SELECT", "1"])));
    assert!(ok(q(&mut c, &["SET", "gone", "v", "PX", "30"])));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "*"]),
        Vec::<String>::new()
    );
    let (_, keys) = scan_once(&mut c, "0", &["COUNT", "1000"]);
    assert!(keys.is_empty(), "SCAN returned expired keys: {keys:?}");
}

#[test]
fn ttl_survives_in_place_modifications() {
    // Commands that modify a value in place keep its TTL (as in Redis); those that replace it
    // do not.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let with_ttl = |c: &mut redis::Connection, k: &str, v: &str| {
        assert!(ok(q(c, &["SET", k, v, "EX", "100"])));
    };
    let ttl = |c: &mut redis::Connection, k: &str| q::<i64>(c, &["TTL", k]);
    with_ttl(&mut c, "f", "1.5");
    let _: String = q(&mut c, &["INCRBYFLOAT", "f", "1"]);
    assert!(ttl(&mut c, "f") > 0, "INCRBYFLOAT dropped the TTL");
    with_ttl(&mut c, "r", "hello");
    let _: i64 = q(&mut c, &["SETRANGE", "r", "1", "a"]);
    assert!(ttl(&mut c, "r") > 0, "SETRANGE dropped the TTL");
    with_ttl(&mut c, "d", "5");
    let _: i64 = q(&mut c, &["DECRBY", "d", "2"]);
    assert!(ttl(&mut c, "d") > 0, "DECRBY dropped the TTL");
    with_ttl(&mut c, "g", "v");
    let _: String = q(&mut c, &["GETEX", "g"]);
    assert!(
        ttl(&mut c, "g") > 0,
        "GETEX without options dropped the TTL"
    );
    with_ttl(&mut c, "s", "v");
    assert_eq!(q::<i64>(&mut c, &["SETNX", "s", "w"]), 0);
    assert!(ttl(&mut c, "s") > 0, "a failed SETNX dropped the TTL");
    with_ttl(&mut c, "x", "v");
    assert!(ok(q(&mut c, &["SET", "x", "w", "XX"])));
    assert_eq!(ttl(&mut c, "x"), -1, "SET XX keeps no TTL without KEEPTTL");
}

//! Transactions (MULTI, EXEC, DISCARD, WATCH, UNWATCH): differential tests against a real
//! `redis-server` (one connection, and WATCH races between two), plus Vole-only checks that a
//! transaction is atomic for readers and survives a restart whole.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{diff, is_err, Raw, Redis, Vole};
use vole_engine::resp::Value;

const CASES: &[&[&str]] = &[
    // Queued commands run in order; a run-time error does not stop the others.
    &[
        "MULTI",
        "SET a 1",
        "INCR a",
        "LPUSH a x",
        "INCRBY a 10",
        "GET a",
        "EXEC",
        "GET a",
    ],
    &[
        "MULTI", "EXEC", "EXEC", "DISCARD", "MULTI", "MULTI", "DISCARD", "DISCARD",
    ],
    // Errors while queueing abort the whole transaction.
    &["MULTI", "SET a 1", "NOSUCHCMD x", "GET a", "EXEC", "GET a"],
    &["MULTI", "SET a 1", "GET a b c", "EXEC", "EXISTS a"],
    &["MULTI", "SET", "EXEC"],
    &["MULTI", "SAVE", "SET a 1", "EXEC", "EXISTS a"],
    &["MULTI", "SHUTDOWN NOSAVE", "EXEC"],
    // Errors MULTI and WATCH answer themselves do not abort.
    &["MULTI", "MULTI", "SET a 1", "WATCH a", "EXEC", "GET a"],
    &["MULTI", "SET a 1", "DISCARD", "GET a", "EXEC"],
    // WATCH: the client's own change counts.
    &[
        "SET k 1", "WATCH k", "SET k 2", "MULTI", "SET k 3", "EXEC", "GET k",
    ],
    &["SET k 1", "WATCH k", "MULTI", "SET k 3", "EXEC", "GET k"],
    &["WATCH k", "UNWATCH", "SET k 1", "MULTI", "GET k", "EXEC"],
    &[
        "WATCH k", "MULTI", "DISCARD", "SET k 1", "MULTI", "GET k", "EXEC",
    ],
    &["WATCH k", "SET other 1", "MULTI", "GET k", "EXEC"],
    &["WATCH k", "DEL k", "MULTI", "PING", "EXEC"],
    &["SET k v", "WATCH k", "DEL k", "MULTI", "PING", "EXEC"],
    &[
        "SET k v",
        "WATCH k",
        "EXPIRE k 100",
        "MULTI",
        "PING",
        "EXEC",
    ],
    &[
        "SADD s a", "WATCH s", "SADD s a", "MULTI", "SCARD s", "EXEC",
    ],
    &[
        "SADD s a", "WATCH s", "SADD s b", "MULTI", "SCARD s", "EXEC",
    ],
    &["RPUSH l a", "WATCH l", "LPOP l", "MULTI", "LLEN l", "EXEC"],
    &[
        "HSET h f v",
        "WATCH h",
        "HSET h f v2",
        "MULTI",
        "HGET h f",
        "EXEC",
    ],
    &[
        "ZADD z 1 a",
        "WATCH z",
        "ZINCRBY z 1 a",
        "MULTI",
        "ZSCORE z a",
        "EXEC",
    ],
    // FLUSHALL touches only watched keys that exist.
    &["WATCH k", "FLUSHALL", "MULTI", "PING", "EXEC"],
    &["SET k v", "WATCH k", "FLUSHALL", "MULTI", "PING", "EXEC"],
    &["SET k v", "WATCH k", "FLUSHDB", "MULTI", "PING", "EXEC"],
    &[
        "SELECT 1", "SET k v", "WATCH k", "SELECT 0", "FLUSHDB", "SELECT 1", "MULTI", "PING",
        "EXEC", "FLUSHDB", "SELECT 0",
    ],
    // A watched key that expires before EXEC aborts it.
    &[
        "SET k v PX 30",
        "WATCH k",
        "DEBUG SLEEP 0.1",
        "MULTI",
        "PING",
        "EXEC",
    ],
    &["WATCH", "WATCH a b c", "MULTI", "PING", "EXEC"],
    // Blocking commands do not block inside a transaction.
    &[
        "MULTI",
        "BLPOP nolist 0",
        "BRPOP nolist 1",
        "BLMOVE nolist dst LEFT RIGHT 0",
        "BZPOPMIN nozset 0",
        "BLMPOP 0 1 nolist LEFT",
        "RPUSH l a",
        "BLPOP l 0",
        "EXEC",
    ],
    // SELECT inside a transaction sticks.
    &[
        "MULTI", "SELECT 1", "SET x 1", "EXEC", "GET x", "SELECT 0", "GET x", "SELECT 1",
        "FLUSHDB", "SELECT 0",
    ],
    // Mixed replies, reads of what the transaction wrote.
    &[
        "MULTI",
        "HSET h a 1 b 2",
        "HGETALL h",
        "ZADD z 1 x 2 y",
        "ZRANGE z 0 -1 WITHSCORES",
        "SADD s m",
        "SMEMBERS s",
        "PING",
        "ECHO hi",
        "EXEC",
    ],
    &["MULTI", "GET a", "INCR", "EXEC"],
    &["MULTI", "UNWATCH", "EXEC"],
];

#[test]
fn transactions_match_redis_resp2() {
    diff::run(CASES, &[], &[], 2);
}

#[test]
fn transactions_match_redis_resp3() {
    diff::run(CASES, &[], &[], 3);
}

/// Two connections: `a` watches and runs the transaction, `b` changes things in between.
const RACES: &[(&[&str], &[&str], &[&str])] = &[
    (
        &["SET k 1", "WATCH k"],
        &["SET k 2"],
        &["MULTI", "INCR k", "EXEC", "GET k"],
    ),
    (
        &["SET k 1", "WATCH k"],
        &["SET other 2"],
        &["MULTI", "INCR k", "EXEC", "GET k"],
    ),
    (
        &["WATCH k"],
        &["SET k 2"],
        &["MULTI", "INCR k", "EXEC", "GET k"],
    ),
    (
        &["SET k 1", "WATCH k"],
        &["GET k", "EXISTS k", "TYPE k"],
        &["MULTI", "INCR k", "EXEC"],
    ),
    (
        &["SET k 1", "WATCH k"],
        &["FLUSHALL"],
        &["MULTI", "INCR k", "EXEC"],
    ),
    (
        &["SET k 1", "WATCH k"],
        &["SET k 1"],
        &["MULTI", "INCR k", "EXEC"],
    ),
    (
        &["SET k 1", "WATCH k"],
        &["RENAME k k2"],
        &["MULTI", "GET k", "EXEC"],
    ),
    (
        &["SET k 1", "WATCH k"],
        &["MULTI", "SET k 5", "EXEC"],
        &["MULTI", "GET k", "EXEC"],
    ),
    (
        &["WATCH k"],
        &["MULTI", "SET k 5", "DISCARD"],
        &["MULTI", "GET k", "EXEC"],
    ),
    (
        &["SELECT 1", "WATCH k"],
        &["SET k 5"],
        &["MULTI", "GET k", "EXEC", "SELECT 0"],
    ),
    // A script's write invalidates a watch; its read does not.
    (
        &["SET k 1", "WATCH k"],
        &["EVAL \"return redis.call('incr', 'k')\" 0"],
        &["MULTI", "GET k", "EXEC"],
    ),
    (
        &["SET k 1", "WATCH k"],
        &["EVAL \"return redis.call('get', 'k')\" 0"],
        &["MULTI", "GET k", "EXEC"],
    ),
];

#[test]
fn watch_races_between_two_clients_match_redis() {
    let Some(redis) = Redis::start() else { return };
    let vole = Vole::start(&[]);
    let mut failures = Vec::new();
    for (first, other, then) in RACES {
        let mut got: Vec<Vec<Value>> = Vec::new();
        for addr in [redis.addr, vole.addr] {
            let mut conns = [Raw::connect(addr), Raw::connect(addr)];
            assert!(!is_err(&conns[0].cmd(&["FLUSHALL"]), ""));
            let mut replies = Vec::new();
            for (who, lines) in [(0, first), (1, other), (0, then)] {
                let conn = &mut conns[who];
                for line in lines.iter() {
                    let w = diff::words(line);
                    let args: Vec<&str> = w.iter().map(String::as_str).collect();
                    replies.push(conn.cmd(&args));
                }
            }
            got.push(replies);
        }
        if got[0] != got[1] {
            failures.push(format!(
                "{first:?} / {other:?} / {then:?}\n   redis: {:?}\n   vole:  {:?}",
                got[0], got[1]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn subscribing_inside_exec_keeps_the_reply_well_formed() {
    let vole = Vole::start(&[]);
    let mut c = vole.raw();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SUBSCRIBE", "a", "b"]);
    c.cmd(&["PING"]);
    let Value::Array(replies) = c.cmd(&["EXEC"]) else {
        panic!("EXEC is an array")
    };
    assert_eq!(replies.len(), 2, "{replies:?}");
    let mut p = vole.raw();
    assert_eq!(p.cmd(&["PUBLISH", "a", "hi"]), Value::Int(1));
    assert!(matches!(c.read(), Some(Value::Push(_))));
    assert_eq!(c.cmd(&["PING"]), Value::Simple("PONG".into()));
}

#[test]
fn active_expiry_of_a_watched_key_aborts_exec() {
    // Nobody touches the key: the expiry cycle deletes it, and that is a change.
    let vole = Vole::start(&[]);
    let mut a = vole.raw();
    a.cmd(&["SET", "k", "v", "PX", "50"]);
    a.cmd(&["WATCH", "k"]);
    let mut b = vole.raw();
    assert!(common::wait_until(Duration::from_secs(5), || {
        b.cmd(&["DBSIZE"]) == Value::Int(0)
    }));
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_eq!(a.cmd(&["EXEC"]), Value::Null);
}

#[test]
fn readers_never_see_half_a_transaction() {
    // One client moves a counter pair forward in transactions; others read both keys at
    // once (MGET), and one key after the other in a pipeline, and must always see them equal.
    let vole = Vole::start(&[]);
    let mut w = vole.raw();
    w.cmd(&["MSET", "a", "0", "b", "0"]);
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut r = vole.raw();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let v = r.cmd(&["MGET", "a", "b"]);
                    let Value::Array(items) = &v else {
                        panic!("MGET answered {v:?}")
                    };
                    assert_eq!(items[0], items[1], "a reader saw half a transaction");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for _ in 0..3000 {
        w.send(b"MULTI\r\nINCR a\r\nINCR b\r\nEXEC\r\n");
        for _ in 0..3 {
            w.read();
        }
        let exec = w.read();
        assert!(
            matches!(exec, Some(Value::Array(ref r)) if r.len() == 2),
            "{exec:?}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|h| h.join().expect("reader")).sum();
    assert!(reads > 0);
    assert_eq!(
        w.cmd(&["MGET", "a", "b"]),
        Value::Array(vec![common::bulk("3000"), common::bulk("3000")])
    );
}

#[test]
fn a_transaction_is_one_log_record_and_survives_kill_9() {
    let dir = common::temp_dir("multi-restart");
    let vole = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = vole.raw();
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["RPUSH", "l", "x", "y"]);
    c.cmd(&["HSET", "h", "f", "v"]);
    c.cmd(&["INCR", "a"]);
    let exec = c.cmd(&["EXEC"]);
    assert_eq!(
        exec,
        Value::Array(vec![
            Value::Simple("OK".into()),
            Value::Int(2),
            Value::Int(1),
            Value::Int(2)
        ])
    );
    vole.kill9();
    // The log holds the transaction as one record with all five effects.
    let storage = vole_wal::storage::FsStorage::new(dir.join("vole.aof"));
    let mut reader = vole_wal::tail::WalReader::open_storage(storage, 0).expect("open log");
    let mut records = Vec::new();
    while let Some(item) = reader.next().expect("read log") {
        if let vole_wal::tail::ReadItem::Record { kind, payload, .. } = item {
            let rec = vole_engine::effect::decode_record(kind, &payload).expect("decode");
            records.push(rec.effects.len());
        }
    }
    assert_eq!(records, vec![4], "one record for the whole EXEC");
    let vole = Vole::start_in(&dir, &[]);
    let mut c = vole.raw();
    assert_eq!(c.cmd(&["GET", "a"]), common::bulk("2"));
    assert_eq!(c.cmd(&["LLEN", "l"]), Value::Int(2));
    assert_eq!(c.cmd(&["HGET", "h", "f"]), common::bulk("v"));
}

#[test]
fn a_push_inside_a_transaction_wakes_a_blocked_pop() {
    let vole = Vole::start(&[]);
    let mut a = vole.raw();
    a.send_cmd(&[b"BLPOP", b"q", b"0"]);
    let mut b = vole.raw();
    assert!(common::wait_until(Duration::from_secs(5), || {
        common::text(&b.cmd(&["INFO", "clients"])).contains("blocked_clients:1")
    }));
    b.cmd(&["MULTI"]);
    b.cmd(&["RPUSH", "q", "x", "y"]);
    b.cmd(&["LPOP", "q"]);
    assert_eq!(
        b.cmd(&["EXEC"]),
        Value::Array(vec![Value::Int(2), common::bulk("x")])
    );
    // The transaction ran whole before the blocked client was served: it gets "y".
    assert_eq!(
        a.read(),
        Some(Value::Array(vec![common::bulk("q"), common::bulk("y")]))
    );
}

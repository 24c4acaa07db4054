//! Keyspace notifications: the events Redis publishes for each write, compared with a real
//! `redis-server` (same commands, same `notify-keyspace-events`, every message a pattern
//! subscriber receives), Vole's always-on `__keyspace__:` / `__keyevent__:` channels, and
//! the timing of `expired` events.

mod common;

use std::time::{Duration, Instant};

use common::{diff, Raw, Redis, Vole};
use vole_engine::resp::Value;

const COMMANDS: &[&str] = &[
    "SET k v",
    "SET k v EX 100",
    "SETEX k2 10 v",
    "SETNX k3 v",
    "GETSET k x",
    "APPEND k y",
    "SETRANGE k 0 z",
    "INCR n",
    "INCRBY n 5",
    "DECR n",
    "INCRBYFLOAT n 1.5",
    "DEL k n nothere",
    "MSET a 1 b 2",
    "EXPIRE a 100",
    "PEXPIRE a 100000",
    "PERSIST a",
    "EXPIRE b -1",
    "RENAME a c",
    "COPY c d",
    "GETDEL d",
    "GETEX c EX 100",
    "GETEX c PERSIST",
    "UNLINK c",
    "LPUSH l 1 2 3",
    "RPUSH l 4",
    "LPOP l",
    "RPOP l",
    "LSET l 0 x",
    "LINSERT l BEFORE x y",
    "LREM l 1 y",
    "LTRIM l 0 0",
    "RPUSH l a b",
    "RPOPLPUSH l l2",
    "LMOVE l2 l3 LEFT RIGHT",
    "LPOP l 5",
    "HSET h f v g w",
    "HINCRBY h n 1",
    "HINCRBYFLOAT h x 1.5",
    "HDEL h f",
    "HDEL h g n x",
    "SADD s a b c",
    "SREM s a",
    "SMOVE s s2 b",
    "SPOP s2",
    "SADD s2 q",
    "SINTERSTORE s3 s s2",
    "SUNIONSTORE s3 s s2",
    "SDIFFSTORE s3 nothing",
    "ZADD z 1 a 2 b",
    "ZINCRBY z 1 a",
    "ZADD z INCR 1 b",
    "ZREM z a",
    "ZPOPMIN z",
    "ZADD z 1 a 2 b 3 c",
    "ZREMRANGEBYRANK z 0 0",
    "ZUNIONSTORE z2 1 z",
    "ZINTERSTORE z3 2 z nothing",
    "ZPOPMAX z 5",
    "SETBIT bits 1 1",
    "PFADD hll a",
    "RPUSH tosort 3 1 2",
    "SORT tosort STORE sorted",
    "GEOADD g 13.36 38.11 palermo",
    "FLUSHALL",
];

/// Sends each command on `publ`; after each, a marker on the `sync` channel, so `sub` reads
/// exactly the events of that command.
fn events(addr: std::net::SocketAddr, pattern: &str) -> Vec<String> {
    let mut sub = Raw::connect(addr);
    let mut publ = Raw::connect(addr);
    assert_eq!(
        publ.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        Value::Simple("OK".into())
    );
    sub.cmd(&["SUBSCRIBE", "sync"]);
    sub.cmd(&["PSUBSCRIBE", pattern]);
    let mut out = Vec::new();
    for (i, line) in COMMANDS.iter().enumerate() {
        let w = diff::words(line);
        let args: Vec<&str> = w.iter().map(String::as_str).collect();
        let reply = publ.cmd(&args);
        out.push(format!("{line} -> {reply:?}"));
        publ.cmd(&["PUBLISH", "sync", &i.to_string()]);
        loop {
            let Some(Value::Array(f)) = sub.read() else {
                panic!("subscriber lost")
            };
            if common::text(&f[0]) == "message" {
                break;
            }
            out.push(format!(
                "   {} {}",
                common::text(&f[2]),
                common::text(&f[3])
            ));
        }
    }
    publ.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    out
}

#[test]
fn events_match_redis() {
    let Some(redis) = Redis::start() else { return };
    let vole = Vole::start(&[]);
    // Vole's own channels have no '@', so this pattern sees only Redis's channels.
    let expected = events(redis.addr, "__key*@*__:*");
    let got = events(vole.addr, "__key*@*__:*");
    if expected != got {
        let mut report = String::new();
        for (e, g) in expected.iter().zip(&got) {
            let mark = if e == g { "  " } else { "!!" };
            report.push_str(&format!("{mark} redis: {e}\n   vole:  {g}\n"));
        }
        panic!("events differ:\n{report}");
    }
}

#[test]
fn flags_select_classes_and_channels() {
    let vole = Vole::start(&[]);
    let mut c = vole.raw();
    assert!(common::is_err(
        &c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEZ"]),
        "ERR"
    ));
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Elg"]);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]),
        Value::Array(vec![
            common::bulk("notify-keyspace-events"),
            common::bulk("glE")
        ])
    );
    let mut sub = vole.raw();
    sub.cmd(&["PSUBSCRIBE", "__key*@0__:*"]);
    c.cmd(&["SET", "s", "v"]); // string class: off
    c.cmd(&["LPUSH", "l", "x"]); // list class: on, keyevent only
    let Some(Value::Array(f)) = sub.read() else {
        panic!("no event")
    };
    assert_eq!(common::text(&f[2]), "__keyevent@0__:lpush");
    assert_eq!(common::text(&f[3]), "l");
}

#[test]
fn vole_channels_are_always_on() {
    let vole = Vole::start(&[]);
    let mut sub = vole.raw();
    sub.cmd(&["SUBSCRIBE", "__keyspace__:user:1", "__keyevent__:del"]);
    sub.read();
    let mut c = vole.raw();
    c.cmd(&["HSET", "user:1", "name", "ada"]);
    c.cmd(&["DEL", "user:1"]);
    let mut got = Vec::new();
    for _ in 0..3 {
        let Some(Value::Array(f)) = sub.read() else {
            panic!("no event")
        };
        got.push(format!("{} {}", common::text(&f[1]), common::text(&f[2])));
    }
    assert_eq!(
        got,
        [
            "__keyspace__:user:1 hset",
            "__keyspace__:user:1 del",
            "__keyevent__:del user:1"
        ]
    );
}

#[test]
fn expired_events_arrive_within_100ms_of_each_deadline() {
    // 10,000 keys with deadlines spread over two seconds; nobody touches them.
    let vole = Vole::start(&[]);
    let mut sub = vole.raw();
    sub.cmd(&["SUBSCRIBE", "__keyevent__:expired"]);
    let mut c = vole.raw();
    let base = common::unix_ms() + 1000;
    let n = 10_000;
    let mut batch = Vec::new();
    for i in 0..n {
        let at = base + (i as i64 * 2000) / n as i64;
        let (k, t) = (format!("key:{i}"), at.to_string());
        batch.extend_from_slice(
            format!(
                "*5\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nv\r\n$4\r\nPXAT\r\n${}\r\n{t}\r\n",
                k.len(),
                t.len()
            )
            .as_bytes(),
        );
    }
    c.send(&batch);
    for _ in 0..n {
        c.read();
    }
    assert!(
        common::unix_ms() < base,
        "setup took longer than the first deadline"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut late = Vec::new();
    for _ in 0..n {
        assert!(Instant::now() < deadline);
        let Some(Value::Array(f)) = sub.read() else {
            panic!("subscriber lost")
        };
        let now = common::unix_ms();
        let key = common::text(&f[2]);
        let i: i64 = key["key:".len()..].parse().expect("index");
        let at = base + (i * 2000) / n as i64;
        if now - at > 100 {
            late.push((key, now - at));
        }
    }
    assert!(
        late.is_empty(),
        "{} late events, e.g. {:?}",
        late.len(),
        &late[..late.len().min(5)]
    );
    assert_eq!(c.cmd(&["DBSIZE"]), Value::Int(0));
}

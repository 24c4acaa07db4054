//! Pub/Sub: differential tests against a real `redis-server` (a subscriber and a publisher
//! connection on each server; every frame the subscriber receives is compared, in RESP2 and
//! RESP3), and Vole-only checks of the output limit that protects the server from a
//! subscriber that does not read.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{diff, Raw, Redis, Vole};
use vole_engine::resp::Value;

/// One step: who sends the command (`S`ubscriber or `P`ublisher), the command, and how many
/// frames the subscriber then reads (its replies and messages).
type Step = (char, &'static str, usize);

const SCRIPTS: &[&[Step]] = &[
    &[
        ('S', "SUBSCRIBE news", 1),
        ('P', "PUBLISH news hello", 1),
        ('P', "PUBLISH other x", 0),
        ('S', "SUBSCRIBE news more", 2),
        ('P', "PUBLISH more m", 1),
        ('P', "PUBSUB NUMSUB news more none", 0),
        ('P', "PUBSUB NUMPAT", 0),
        ('S', "PSUBSCRIBE n*", 1),
        ('P', "PUBLISH news both", 2),
        ('P', "PUBSUB NUMPAT", 0),
        ('S', "GET k", 1),
        ('S', "PING", 1),
        ('S', "PING hi", 1),
        ('S', "PING a b", 1),
        ('S', "UNSUBSCRIBE news", 1),
        ('P', "PUBLISH news only-pattern", 1),
        ('S', "PUNSUBSCRIBE", 1),
        ('S', "UNSUBSCRIBE", 1),
        ('S', "UNSUBSCRIBE", 1),
        ('S', "PUNSUBSCRIBE nothing", 1),
        ('S', "GET k", 1),
        ('S', "PING", 1),
        ('P', "PUBLISH more gone", 0),
    ],
    &[
        ('S', "PSUBSCRIBE h?llo [ab]*", 2),
        ('P', "PUBLISH hello 1", 1),
        ('P', "PUBLISH b 3", 1),
        ('S', "PUNSUBSCRIBE h?llo", 1),
        ('P', "PUBLISH hallo 2", 0),
        ('S', "SUBSCRIBE", 1),
        ('S', "MULTI", 1),
        ('S', "RESET", 1),
        ('S', "GET k", 1),
        ('P', "PUBLISH b 4", 0),
    ],
    &[
        ('S', "SUBSCRIBE \"\" \"with space\"", 2),
        ('P', "PUBLISH \"\" empty-name", 1),
        ('P', "PUBLISH \"with space\" \"\"", 1),
        ('P', "PUBLISH", 0),
        ('P', "PUBSUB", 0),
        ('P', "PUBSUB NOSUCH", 0),
        ('P', "PUBSUB NUMPAT extra", 0),
    ],
    // Shard channels (Redis 7) are a namespace of their own.
    &[
        ('S', "SSUBSCRIBE orders", 1),
        ('P', "SPUBLISH orders o1", 1),
        ('P', "PUBLISH orders plain", 0),
        ('S', "SUBSCRIBE orders", 1),
        ('P', "PUBLISH orders plain2", 1),
        ('P', "PUBSUB SHARDCHANNELS", 0),
        ('P', "PUBSUB SHARDCHANNELS ord*", 0),
        ('P', "PUBSUB SHARDNUMSUB orders none", 0),
        ('P', "PUBSUB CHANNELS", 0),
        ('S', "PSUBSCRIBE ord*", 1),
        ('P', "SPUBLISH orders o2", 1),
        ('S', "SUNSUBSCRIBE", 1),
        ('S', "SUNSUBSCRIBE", 1),
        ('S', "PING", 1),
        ('S', "UNSUBSCRIBE", 1),
        ('S', "PUNSUBSCRIBE", 1),
        ('P', "SPUBLISH orders o3", 0),
    ],
];

fn words(line: &str) -> Vec<String> {
    diff::words(line)
}

fn run_script(addr: std::net::SocketAddr, proto: u8, script: &[Step]) -> Vec<String> {
    let mut sub = Raw::connect(addr);
    let mut publ = Raw::connect(addr);
    sub.cmd(&["HELLO", &proto.to_string()]);
    publ.cmd(&["HELLO", &proto.to_string()]);
    let mut seen = Vec::new();
    for (who, line, frames) in script {
        let w = words(line);
        let args: Vec<&str> = w.iter().map(String::as_str).collect();
        if *who == 'P' {
            let reply = publ.cmd(&args);
            seen.push(format!("P {line} -> {reply:?}"));
        } else {
            let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
            sub.send_cmd(&a);
        }
        for _ in 0..*frames {
            let f = sub.read();
            seen.push(format!("S {line} <- {f:?}"));
        }
    }
    // Nothing else may be waiting for the subscriber.
    sub.cmd(&["RESET"]);
    let end = sub.cmd(&["PING", "end"]);
    seen.push(format!("S end <- {end:?}"));
    seen
}

fn compare(proto: u8) {
    let Some(redis) = Redis::start() else { return };
    let vole = Vole::start(&[]);
    let mut failures = Vec::new();
    for script in SCRIPTS {
        let expected = run_script(redis.addr, proto, script);
        let got = run_script(vole.addr, proto, script);
        for (e, g) in expected.iter().zip(&got) {
            if e != g {
                failures.push(format!("RESP{proto}\n   redis: {e}\n   vole:  {g}"));
            }
        }
        assert_eq!(expected.len(), got.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pubsub_matches_redis_resp2() {
    compare(2);
}

#[test]
fn pubsub_matches_redis_resp3() {
    compare(3);
}

#[test]
fn messages_arrive_in_publish_order_across_many_publishers() {
    let vole = Vole::start(&[]);
    let mut sub = vole.raw();
    sub.cmd(&["SUBSCRIBE", "c"]);
    let handles: Vec<_> = (0..4)
        .map(|p| {
            let mut c = vole.raw();
            std::thread::spawn(move || {
                for i in 0..500 {
                    let msg = format!("{p}:{i}");
                    assert_eq!(c.cmd(&["PUBLISH", "c", &msg]), Value::Int(1));
                }
            })
        })
        .collect();
    let mut last = [-1i64; 4];
    for _ in 0..2000 {
        let Some(Value::Array(f)) = sub.read() else {
            panic!("subscriber lost")
        };
        let text = common::text(&f[2]);
        let (p, i) = text.split_once(':').expect("p:i");
        let (p, i): (usize, i64) = (p.parse().expect("p"), i.parse().expect("i"));
        assert_eq!(i, last[p] + 1, "per-publisher order");
        last[p] = i;
    }
    for h in handles {
        h.join().expect("publisher");
    }
}

#[test]
fn a_subscriber_that_does_not_read_is_dropped_at_its_limit_and_publishers_go_on() {
    let dir = common::temp_dir("pubsub-limit");
    let vole = Vole::start_in(&dir, &[]);
    let mut admin = vole.raw();
    assert_eq!(
        admin.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 256kb 0 0"
        ]),
        Value::Simple("OK".into())
    );
    let limit = admin.cmd(&["CONFIG", "GET", "client-output-buffer-limit"]);
    assert!(
        format!("{limit:?}").contains("pubsub 262144 0 0"),
        "{limit:?}"
    );
    // The lazy subscriber subscribes, then never reads again.
    let mut lazy = vole.raw();
    lazy.cmd(&["SUBSCRIBE", "firehose"]);
    let mut publ = vole.raw();
    let payload = "x".repeat(4096);
    let started = Instant::now();
    let mut dropped = false;
    // Up to 200 MB: far beyond socket buffers, so the limit must act.
    for round in 0..50 {
        let mut batch = Vec::new();
        for _ in 0..1000 {
            batch.extend_from_slice(
                format!("*3\r\n$7\r\nPUBLISH\r\n$8\r\nfirehose\r\n$4096\r\n{payload}\r\n")
                    .as_bytes(),
            );
        }
        publ.send(&batch);
        let mut receivers = 0;
        for _ in 0..1000 {
            if let Some(Value::Int(n)) = publ.read() {
                receivers += n;
            }
        }
        if receivers < 1000 {
            dropped = true;
            eprintln!("subscriber dropped in round {round}");
            break;
        }
    }
    assert!(dropped, "the lazy subscriber was never disconnected");
    assert!(started.elapsed() < Duration::from_secs(60));
    // Its connection is closed: what it can still read ends in EOF.
    lazy.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut sink = vec![0u8; 1 << 20];
    let mut closed = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match lazy.stream.read(&mut sink) {
            Ok(0) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(closed, "the dropped subscriber's socket was closed");
    assert_eq!(
        admin.cmd(&["PUBSUB", "NUMSUB", "firehose"]),
        Value::Array(vec![common::bulk("firehose"), Value::Int(0)])
    );
    assert!(vole.log_text().contains("client-output-buffer-limit"));
}

#[test]
fn client_list_shows_subscriptions() {
    let vole = Vole::start(&[]);
    let mut sub = vole.raw();
    sub.cmd(&["SUBSCRIBE", "a", "b"]);
    sub.read();
    sub.cmd(&["PSUBSCRIBE", "p*"]);
    let mut other = vole.raw();
    let list = common::text(&other.cmd(&["CLIENT", "LIST"]));
    assert!(
        list.contains("flags=P") && list.contains("sub=2 psub=1"),
        "{list}"
    );
}

#[test]
fn a_resp3_subscriber_blocked_in_blpop_still_gets_its_messages() {
    let vole = Vole::start(&[]);
    let mut c = vole.raw();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["SUBSCRIBE", "news"]);
    c.send_cmd(&[b"BLPOP", b"q", b"0"]);
    let mut p = vole.raw();
    assert!(common::wait_until(Duration::from_secs(5), || {
        common::text(&p.cmd(&["INFO", "clients"])).contains("blocked_clients:1")
    }));
    assert_eq!(p.cmd(&["PUBLISH", "news", "while-blocked"]), Value::Int(1));
    let Some(Value::Push(msg)) = c.read() else {
        panic!("expected the message first")
    };
    assert_eq!(common::text(&msg[2]), "while-blocked");
    p.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(
        c.read(),
        Some(Value::Array(vec![common::bulk("q"), common::bulk("x")]))
    );
}

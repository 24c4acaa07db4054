//! Streams end to end, where the differential test cannot go: blocking reads (XREAD and
//! XREADGROUP with BLOCK) woken by writes from other clients, transactions and scripts,
//! timeouts, CLIENT UNBLOCK and disconnects; a consumer-group workload with a crashing
//! consumer, XAUTOCLAIM and a server restart in the middle, where every entry must be
//! acknowledged exactly once; errors that reach blocked clients; large entries.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{bulk, info_num, is_err, send, temp_dir, text, wait_blocked, wait_until, Raw, Vole};
use vole_engine::resp::Value;

/// Whether no reply arrives on `r` within `wait` (the client is still blocked).
fn nothing_to_read(r: &mut Raw, wait: Duration) -> bool {
    r.stream.set_read_timeout(Some(wait)).expect("timeout");
    let mut b = [0u8; 1];
    let got = r.stream.peek(&mut b);
    r.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    matches!(got, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

/// An entry as XRANGE and XREAD answer it: [id, [field, value, ...]].
fn entry(id: &str, fields: &[&str]) -> Value {
    arr(vec![
        bulk(id),
        arr(fields.iter().map(|f| bulk(f)).collect()),
    ])
}

/// A read reply (RESP2) serving one key: [[key, [entries]]].
fn served(key: &str, entries: Vec<Value>) -> Value {
    arr(vec![arr(vec![bulk(key), arr(entries)])])
}

fn client_id(r: &mut Raw) -> String {
    match r.cmd(&["CLIENT", "ID"]) {
        Value::Int(i) => i.to_string(),
        other => panic!("CLIENT ID: {other:?}"),
    }
}

/// The IDs in a (single-key) read reply; none for a null reply.
fn read_ids(v: &Value) -> Vec<String> {
    match v {
        Value::Null => vec![],
        Value::Array(keys) => keys
            .iter()
            .flat_map(|k| match k {
                Value::Array(kv) if kv.len() == 2 => match &kv[1] {
                    Value::Array(es) => es
                        .iter()
                        .map(|e| match e {
                            Value::Array(p) if !p.is_empty() => text(&p[0]),
                            other => panic!("entry {other:?}"),
                        })
                        .collect::<Vec<_>>(),
                    other => panic!("entries {other:?}"),
                },
                other => panic!("key reply {other:?}"),
            })
            .collect(),
        other => panic!("read reply {other:?}"),
    }
}

/// XPENDING's extended form as (id, consumer, delivery count).
fn pending(r: &mut Raw, key: &str, group: &str) -> Vec<(String, String, i64)> {
    let Value::Array(rows) = r.cmd(&["XPENDING", key, group, "-", "+", "1000"]) else {
        panic!("XPENDING: not an array");
    };
    rows.iter()
        .map(|row| match row {
            Value::Array(f) => match &f[..] {
                [id, c, Value::Int(_), Value::Int(n)] => (text(id), text(c), *n),
                other => panic!("XPENDING row {other:?}"),
            },
            other => panic!("XPENDING row {other:?}"),
        })
        .collect()
}

/// A field of a RESP2 map reply (a flat array of names and values).
fn field(v: &Value, name: &str) -> Value {
    let Value::Array(f) = v else {
        panic!("not a map: {v:?}")
    };
    f.chunks(2)
        .find(|p| matches!(&p[0], Value::Bulk(b) if b[..] == *name.as_bytes()))
        .map(|p| p[1].clone())
        .unwrap_or_else(|| panic!("no {name} in {v:?}"))
}

// ---- blocking XREAD ---------------------------------------------------------------------

#[test]
fn xread_dollar_is_served_by_an_xadd_from_another_client() {
    // Proves `XREAD BLOCK 0 STREAMS s $` parks and the next XADD from another client answers
    // it with only that new entry, on an existing stream and on a key that does not exist yet.
    let v = Vole::start(&[]);
    let mut b = v.raw();
    let mut o = v.raw();
    o.cmd(&["XADD", "s", "1-1", "old", "x"]);
    send(&mut b, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["XADD", "s", "2-1", "new", "y"]), bulk("2-1"));
    assert_eq!(
        b.read(),
        Some(served("s", vec![entry("2-1", &["new", "y"])]))
    );
    wait_blocked(&mut o, 0);

    send(&mut b, &["XREAD", "BLOCK", "0", "STREAMS", "missing", "$"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["XADD", "missing", "5-5", "a", "b"]), bulk("5-5"));
    assert_eq!(
        b.read(),
        Some(served("missing", vec![entry("5-5", &["a", "b"])]))
    );
}

#[test]
fn dollar_is_resolved_when_the_client_blocks() {
    // Proves `$` stands for the last ID at the time XREAD blocked: wake-ups that bring no
    // entry (a group created and destroyed, writes to other keys) leave the client blocked,
    // and the next XADD serves it that entry only, not the one that was there before; with
    // two keys, the key that got the entry is the one served.
    let v = Vole::start(&[]);
    let mut b = v.raw();
    let mut o = v.raw();
    o.cmd(&["XADD", "s", "*", "e", "1"]);
    send(
        &mut b,
        &["XREAD", "BLOCK", "0", "STREAMS", "s", "other", "$", "$"],
    );
    wait_blocked(&mut o, 1);
    assert_eq!(
        o.cmd(&["XGROUP", "CREATE", "s", "g", "$"]),
        Value::Simple("OK".into())
    );
    assert_eq!(o.cmd(&["XGROUP", "DESTROY", "s", "g"]), Value::Int(1));
    o.cmd(&["XADD", "unrelated", "*", "x", "y"]);
    assert!(nothing_to_read(&mut b, Duration::from_millis(200)));
    assert_eq!(info_num(&mut o, "blocked_clients"), 1);
    let e2 = text(&o.cmd(&["XADD", "s", "*", "e", "2"]));
    assert_eq!(b.read(), Some(served("s", vec![entry(&e2, &["e", "2"])])));

    send(
        &mut b,
        &["XREAD", "BLOCK", "0", "STREAMS", "s", "other", "$", "$"],
    );
    wait_blocked(&mut o, 1);
    o.cmd(&["XADD", "other", "7-7", "k", "v"]);
    assert_eq!(
        b.read(),
        Some(served("other", vec![entry("7-7", &["k", "v"])]))
    );
}

#[test]
fn an_xadd_inside_multi_or_eval_serves_a_blocked_xread_once_complete() {
    // Proves XADDs made by MULTI/EXEC and by EVAL wake a blocked XREAD, and the client sees
    // the whole transaction or script (both entries), as Redis serves it after they finish.
    let v = Vole::start(&[]);
    let mut b = v.raw();
    let mut o = v.raw();
    o.cmd(&["XADD", "s", "1-1", "a", "0"]);
    send(&mut b, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["MULTI"]), Value::Simple("OK".into()));
    assert_eq!(
        o.cmd(&["XADD", "s", "2-1", "a", "1"]),
        Value::Simple("QUEUED".into())
    );
    assert_eq!(
        o.cmd(&["XADD", "s", "3-1", "a", "2"]),
        Value::Simple("QUEUED".into())
    );
    assert_eq!(o.cmd(&["EXEC"]), arr(vec![bulk("2-1"), bulk("3-1")]));
    assert_eq!(
        b.read(),
        Some(served(
            "s",
            vec![entry("2-1", &["a", "1"]), entry("3-1", &["a", "2"])]
        ))
    );

    send(&mut b, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut o, 1);
    let script = "redis.call('XADD', KEYS[1], '4-1', 'a', '3') \
                  redis.call('XADD', KEYS[1], '5-1', 'a', '4') return 1";
    assert_eq!(o.cmd(&["EVAL", script, "1", "s"]), Value::Int(1));
    assert_eq!(
        b.read(),
        Some(served(
            "s",
            vec![entry("4-1", &["a", "3"]), entry("5-1", &["a", "4"])]
        ))
    );
}

#[test]
fn every_client_blocked_in_xread_on_a_key_gets_the_entry() {
    // Proves one XADD serves all clients blocked in XREAD on that key (not only the first in
    // line, as for BLPOP).
    let v = Vole::start(&[]);
    let mut o = v.raw();
    let mut clients: Vec<Raw> = (0..2).map(|_| v.raw()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        send(c, &["XREAD", "BLOCK", "0", "STREAMS", "s", "0-0"]);
        wait_blocked(&mut o, i as i64 + 1);
    }
    o.cmd(&["XADD", "s", "1-1", "f", "v"]);
    for c in &mut clients {
        assert_eq!(c.read(), Some(served("s", vec![entry("1-1", &["f", "v"])])));
    }
    wait_blocked(&mut o, 0);
}

#[test]
fn xread_block_times_out_with_nil() {
    // Proves XREAD BLOCK ms (and XREADGROUP BLOCK ms) answers nil when nothing arrives, and
    // not before the timeout.
    let v = Vole::start(&[]);
    let mut r = v.raw();
    r.cmd(&["XADD", "s", "1-1", "f", "v"]);
    let t = Instant::now();
    assert_eq!(
        r.cmd(&["XREAD", "BLOCK", "300", "STREAMS", "s", "$"]),
        Value::Null
    );
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );
    r.cmd(&["XGROUP", "CREATE", "s", "g", "$"]);
    let t = Instant::now();
    assert_eq!(
        r.cmd(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "200",
            "STREAMS",
            "s",
            ">"
        ]),
        Value::Null
    );
    assert!(
        t.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(info_num(&mut r, "blocked_clients"), 0);
}

// ---- blocking XREADGROUP ----------------------------------------------------------------

#[test]
fn one_xadd_serves_exactly_one_of_two_blocked_consumers() {
    // Proves XREADGROUP BLOCK with `>` is served by an XADD, and with two consumers of one
    // group blocked, one entry goes to exactly one of them (pending for it alone) while the
    // other keeps blocking until a second XADD serves it.
    let v = Vole::start(&[]);
    let mut o = v.raw();
    o.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut a = v.raw();
    send(
        &mut a,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "ca",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
    );
    wait_blocked(&mut o, 1);
    o.cmd(&["XADD", "s", "1-1", "f", "1"]);
    assert_eq!(a.read(), Some(served("s", vec![entry("1-1", &["f", "1"])])));
    wait_blocked(&mut o, 0);

    let mut b = v.raw();
    for (c, name) in [(&mut a, "ca"), (&mut b, "cb")] {
        send(
            c,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                name,
                "COUNT",
                "5",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        );
    }
    wait_blocked(&mut o, 2);
    o.cmd(&["XADD", "s", "2-1", "f", "2"]);
    wait_blocked(&mut o, 1);
    let p = pending(&mut o, "s", "g");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[1].0.as_str(), p[1].2), ("2-1", 1), "{p:?}");
    let (mut first, mut second, second_name) = match p[1].1.as_str() {
        "ca" => (a, b, "cb"),
        "cb" => (b, a, "ca"),
        other => panic!("2-1 pending for {other}"),
    };
    assert_eq!(
        first.read(),
        Some(served("s", vec![entry("2-1", &["f", "2"])]))
    );
    assert!(
        nothing_to_read(&mut second, Duration::from_millis(200)),
        "the other consumer was answered too"
    );
    assert_eq!(info_num(&mut o, "blocked_clients"), 1);
    o.cmd(&["XADD", "s", "3-1", "f", "3"]);
    assert_eq!(
        second.read(),
        Some(served("s", vec![entry("3-1", &["f", "3"])]))
    );
    let p = pending(&mut o, "s", "g");
    assert_eq!(p[2], ("3-1".to_string(), second_name.to_string(), 1));
    wait_blocked(&mut o, 0);
}

#[test]
fn client_unblock_ends_blocked_stream_reads() {
    // Proves CLIENT UNBLOCK ends a blocked XREAD as a timeout (nil), or with ERROR as an
    // UNBLOCKED error, and works for XREADGROUP too; the client is usable afterwards.
    let v = Vole::start(&[]);
    let mut b = v.raw();
    let mut o = v.raw();
    let id = client_id(&mut b);
    send(&mut b, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut o, 1);
    assert!(text(&o.cmd(&["CLIENT", "LIST"])).contains("flags=b"));
    assert_eq!(o.cmd(&["CLIENT", "UNBLOCK", &id]), Value::Int(1));
    assert_eq!(b.read(), Some(Value::Null));
    assert_eq!(o.cmd(&["CLIENT", "UNBLOCK", &id]), Value::Int(0));

    send(&mut b, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), Value::Int(1));
    assert!(is_err(&b.read().expect("reply"), "UNBLOCKED"));

    o.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    send(
        &mut b,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
    );
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["CLIENT", "UNBLOCK", &id]), Value::Int(1));
    assert_eq!(b.read(), Some(Value::Null));
    assert_eq!(b.cmd(&["PING"]), Value::Simple("PONG".into()));
    assert_eq!(info_num(&mut o, "blocked_clients"), 0);
}

#[test]
fn a_client_gone_while_blocked_leaves_streams_working() {
    // Proves clients that disconnect while blocked in XREAD and XREADGROUP leave no waiter
    // behind: later XADDs succeed, the group delivered nothing to the departed consumer, and
    // new blocked readers are still served.
    let v = Vole::start(&[]);
    let mut o = v.raw();
    o.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut x = v.raw();
    let mut g = v.raw();
    send(&mut x, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    send(
        &mut g,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "gone",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
    );
    wait_blocked(&mut o, 2);
    drop(x);
    drop(g);
    wait_blocked(&mut o, 0);
    assert_eq!(o.cmd(&["XADD", "s", "1-1", "f", "v"]), bulk("1-1"));
    assert_eq!(
        o.cmd(&["XREAD", "STREAMS", "s", "0"]),
        served("s", vec![entry("1-1", &["f", "v"])])
    );
    assert_eq!(pending(&mut o, "s", "g"), vec![]);

    let mut n = v.raw();
    send(
        &mut n,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "new",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
    );
    assert_eq!(n.read(), Some(served("s", vec![entry("1-1", &["f", "v"])])));
    send(&mut n, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut o, 1);
    o.cmd(&["XADD", "s", "2-1", "f", "w"]);
    assert_eq!(n.read(), Some(served("s", vec![entry("2-1", &["f", "w"])])));
}

// ---- errors reaching blocked clients ----------------------------------------------------

#[test]
fn a_destroyed_group_answers_a_blocked_xreadgroup_with_nogroup() {
    // Proves a client blocked in XREADGROUP gets a NOGROUP error, not a hang, when its group
    // is destroyed, and can block again once the group is back.
    let v = Vole::start(&[]);
    let mut o = v.raw();
    let mut b = v.raw();
    o.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    send(
        &mut b,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
    );
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["XGROUP", "DESTROY", "s", "g"]), Value::Int(1));
    let r = b.read().expect("reply");
    assert!(is_err(&r, "NOGROUP"), "{r:?}");
    wait_blocked(&mut o, 0);
    o.cmd(&["XGROUP", "CREATE", "s", "g", "$"]);
    send(
        &mut b,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
    );
    wait_blocked(&mut o, 1);
    o.cmd(&["XADD", "s", "1-1", "f", "v"]);
    assert_eq!(b.read(), Some(served("s", vec![entry("1-1", &["f", "v"])])));
}

#[test]
fn a_blocked_xread_waits_through_its_key_being_deleted_or_overwritten() {
    // Proves a blocked XREAD (unlike XREADGROUP) keeps waiting, as in Redis, while its key is
    // deleted, becomes a string and is flushed, and is served by the stream created again.
    let v = Vole::start(&[]);
    let mut o = v.raw();
    let mut x = v.raw();
    o.cmd(&["XADD", "s", "1-1", "a", "b"]);
    send(&mut x, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut o, 1);
    o.cmd(&["DEL", "s"]);
    o.cmd(&["SET", "s", "x"]);
    o.cmd(&["FLUSHDB"]);
    assert!(nothing_to_read(&mut x, Duration::from_millis(200)));
    assert_eq!(info_num(&mut o, "blocked_clients"), 1);
    o.cmd(&["XADD", "s", "1-2", "c", "d"]);
    assert_eq!(x.read(), Some(served("s", vec![entry("1-2", &["c", "d"])])));
}

#[test]
fn a_stream_key_that_goes_away_unblocks_xreadgroup_as_in_redis() {
    // Proves a client blocked in XREADGROUP is answered `UNBLOCKED the stream key no longer
    // exists` (Redis 7's reply, which clients match on) whichever way its stream goes away:
    // deleted, renamed, overwritten by SET, flushed, or expired. Fails today: see the report.
    let v = Vole::start(&[]);
    let mut o = v.raw();
    let mut outcomes = Vec::new();
    for how in [
        "DEL s",
        "UNLINK s",
        "RENAME s s2",
        "SET s x",
        "FLUSHDB",
        "FLUSHALL",
        "PEXPIRE s 50",
    ] {
        o.cmd(&["FLUSHALL"]);
        o.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        let mut b = v.raw();
        send(
            &mut b,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        );
        wait_blocked(&mut o, 1);
        let w: Vec<&str> = how.split(' ').collect();
        o.cmd(&w);
        let got = if nothing_to_read(&mut b, Duration::from_secs(2)) {
            "still blocked after 2 s".to_string()
        } else {
            match b.read().expect("reply") {
                Value::Error(e) => format!("-{}", String::from_utf8_lossy(&e)),
                other => format!("{other:?}"),
            }
        };
        outcomes.push(format!("{how:>14}: {got}"));
        drop(b);
        wait_blocked(&mut o, 0);
    }
    let want = "-UNBLOCKED the stream key no longer exists";
    assert!(
        outcomes.iter().all(|o| o.ends_with(want)),
        "want {want:?} for each; got:\n{}",
        outcomes.join("\n")
    );
}

// ---- large entries ----------------------------------------------------------------------

#[test]
fn huge_values_and_wide_entries_round_trip() {
    // Proves a 1 MiB value and an entry of 1000 fields come back byte for byte from XRANGE,
    // XREAD and XREADGROUP, and after a restart (snapshot) too.
    let dir = temp_dir("stream-big");
    let v = Vole::start_in(&dir, &[]);
    let mut r = v.raw();
    let huge: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    r.send_cmd(&[b"XADD", b"s", b"1-1", b"huge", &huge, b"small", b"x"]);
    assert_eq!(r.read(), Some(bulk("1-1")));
    let wide: Vec<(String, String)> = (0..1000)
        .map(|i| {
            (
                format!("field{i}"),
                format!("value-{i}-{}", "v".repeat(i % 50)),
            )
        })
        .collect();
    let mut args: Vec<&str> = vec!["XADD", "s", "2-1"];
    for (f, val) in &wide {
        args.push(f);
        args.push(val);
    }
    assert_eq!(r.cmd(&args), bulk("2-1"));
    let want_huge = arr(vec![
        bulk("1-1"),
        arr(vec![
            bulk("huge"),
            Value::Bulk(bytes::Bytes::from(huge.clone())),
            bulk("small"),
            bulk("x"),
        ]),
    ]);
    let want_wide = arr(vec![
        bulk("2-1"),
        arr(wide.iter().flat_map(|(f, v)| [bulk(f), bulk(v)]).collect()),
    ]);
    let all = arr(vec![want_huge.clone(), want_wide.clone()]);
    assert!(r.cmd(&["XRANGE", "s", "-", "+"]) == all, "XRANGE differs");
    let both = served("s", vec![want_huge, want_wide]);
    assert!(
        r.cmd(&["XREAD", "STREAMS", "s", "0"]) == both,
        "XREAD differs"
    );
    r.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    assert!(
        r.cmd(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]) == both,
        "XREADGROUP differs"
    );
    drop(r);
    assert_eq!(v.shutdown(&[]), Some(0));
    let v = Vole::start_in(&dir, &[]);
    let mut r = v.raw();
    assert!(
        r.cmd(&["XRANGE", "s", "-", "+"]) == all,
        "XRANGE differs after restart"
    );
    assert!(
        r.cmd(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"]) == both,
        "the pending history differs after restart"
    );
    drop(r);
    drop(v);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the consumer-group workload ---------------------------------------------------------

const TOTAL: usize = 200;

/// Where the workers stop, when the main thread asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    /// Right after an XREADGROUP, holding what it delivered unacknowledged.
    Holding,
    /// After acknowledging everything, holding nothing.
    Idle,
}

struct Ctl {
    addr: SocketAddr,
    /// Bumped by every restart: workers reconnect.
    epoch: u64,
    /// The producer adds entries up to this many.
    gate: usize,
    pause: Option<Pause>,
    /// The workers stopped at a pause point, and which.
    paused: HashMap<String, Pause>,
}

#[derive(Default)]
struct Track {
    /// Delivered and not acknowledged: id → consumer.
    in_flight: HashMap<String, String>,
    /// Acknowledged (XACK answered 1), each exactly once.
    acked: HashSet<String>,
    /// Every ID the producer added.
    produced: Vec<String>,
    /// Entries consumers got back from their history (`0`) after reconnecting.
    from_history: usize,
}

struct Shared {
    ctl: Mutex<Ctl>,
    cv: Condvar,
    track: Mutex<Track>,
    produced: AtomicUsize,
    done: AtomicBool,
    failed: AtomicBool,
    deadline: Instant,
}

impl Shared {
    fn stop(&self) -> bool {
        self.done.load(Ordering::SeqCst) || self.failed.load(Ordering::SeqCst)
    }

    fn check_time(&self, what: &str) {
        assert!(Instant::now() < self.deadline, "{what}: out of time");
    }

    /// A worker's pause point of kind `kind`: when that pause is requested, waits for the
    /// release; the new address when the server was restarted meanwhile.
    fn pause_point(&self, me: &str, kind: Pause) -> Option<SocketAddr> {
        let mut c = self.ctl.lock().expect("ctl");
        if c.pause != Some(kind) {
            return None;
        }
        let epoch = c.epoch;
        c.paused.insert(me.to_string(), kind);
        self.cv.notify_all();
        while c.pause == Some(kind) && !self.stop() {
            self.check_time(me);
            c = self
                .cv
                .wait_timeout(c, Duration::from_millis(50))
                .expect("ctl")
                .0;
        }
        c.paused.remove(me);
        (c.epoch != epoch).then_some(c.addr)
    }

    /// Main thread: asks the workers `who` to pause at `kind` and waits until they have.
    fn pause(&self, kind: Pause, who: &[&str]) {
        self.ctl.lock().expect("ctl").pause = Some(kind);
        self.cv.notify_all();
        let ok = wait_until(Duration::from_secs(10), || {
            self.stop() || {
                let c = self.ctl.lock().expect("ctl");
                who.iter().all(|w| c.paused.get(*w) == Some(&kind))
            }
        });
        assert!(ok && !self.stop(), "workers did not pause at {kind:?}");
    }

    /// Main thread: releases paused workers (after a restart, at `addr`) and opens the
    /// producer's gate to `gate`.
    fn release(&self, restarted_at: Option<SocketAddr>, gate: usize) {
        let mut c = self.ctl.lock().expect("ctl");
        if let Some(a) = restarted_at {
            c.addr = a;
            c.epoch += 1;
        }
        c.gate = gate;
        c.pause = None;
        self.cv.notify_all();
    }

    fn addr(&self) -> SocketAddr {
        self.ctl.lock().expect("ctl").addr
    }
}

/// Runs `f` on a thread; a panic marks the workload failed (so everyone stops) and is
/// re-raised by `join`.
fn spawn(
    sh: &Arc<Shared>,
    f: impl FnOnce(&Shared) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let sh = sh.clone();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&sh)));
        if let Err(e) = r {
            sh.failed.store(true, Ordering::SeqCst);
            std::panic::resume_unwind(e);
        }
    })
}

fn producer(sh: &Shared) {
    let mut addr = sh.addr();
    let mut r = Raw::connect(addr);
    for i in 0..TOTAL {
        // Wait at the gate; reconnect if the server was restarted meanwhile.
        loop {
            if sh.stop() {
                return;
            }
            sh.check_time("producer");
            let c = sh.ctl.lock().expect("ctl");
            if c.addr != addr {
                addr = c.addr;
                drop(c);
                r = Raw::connect(addr);
                continue;
            }
            if i < c.gate {
                break;
            }
            drop(
                sh.cv
                    .wait_timeout(c, Duration::from_millis(50))
                    .expect("ctl"),
            );
        }
        let n = i.to_string();
        let id = match r.cmd(&["XADD", "s", "*", "n", &n]) {
            Value::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("XADD: {other:?}"),
        };
        sh.track.lock().expect("track").produced.push(id);
        sh.produced.store(i + 1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A consumer: reads batches of 10 with `>` (or its own history with `0` after reconnecting,
/// until that is empty) and acknowledges each entry. With `crash_after`, it stops without
/// acknowledging its n-th non-empty batch and drops its connection.
fn consumer(sh: &Shared, me: &str, crash_after: Option<usize>) {
    let mut r = Raw::connect(sh.addr());
    let mut history = false;
    let mut batches = 0;
    while !sh.stop() {
        sh.check_time(me);
        let from = if history { "0" } else { ">" };
        let reply = r.cmd(&[
            "XREADGROUP",
            "GROUP",
            "g",
            me,
            "COUNT",
            "10",
            "BLOCK",
            "100",
            "STREAMS",
            "s",
            from,
        ]);
        let ids = read_ids(&reply);
        {
            let mut t = sh.track.lock().expect("track");
            for id in &ids {
                if history {
                    t.from_history += 1;
                    assert_eq!(
                        t.in_flight.get(id).map(String::as_str),
                        Some(me),
                        "{me}'s history returned {id}"
                    );
                } else {
                    assert!(
                        !t.acked.contains(id),
                        "{id} delivered to {me} after its ack"
                    );
                    if let Some(other) = t.in_flight.insert(id.clone(), me.to_string()) {
                        panic!("{id} delivered to {me} while in flight at {other}");
                    }
                }
            }
        }
        if history && ids.is_empty() {
            history = false;
        }
        if !ids.is_empty() {
            batches += 1;
            if crash_after == Some(batches) {
                return; // the connection drops with the batch pending
            }
        }
        if let Some(addr) = sh.pause_point(me, Pause::Holding) {
            // The server restarted while we held this batch: reconnect and start over from
            // our history, which has it.
            r = Raw::connect(addr);
            history = true;
            continue;
        }
        for id in &ids {
            let got = r.cmd(&["XACK", "s", "g", id]);
            assert_eq!(got, Value::Int(1), "{me}: XACK {id}");
            let mut t = sh.track.lock().expect("track");
            assert_eq!(t.in_flight.remove(id).as_deref(), Some(me));
            assert!(t.acked.insert(id.clone()), "{id} acked twice");
        }
        assert_eq!(sh.pause_point(me, Pause::Idle), None, "restart while idle");
    }
}

fn consumer_group_workload(kill: bool) {
    let dir = temp_dir(if kill {
        "stream-work-kill"
    } else {
        "stream-work-snap"
    });
    let flags: &[&str] = if kill {
        &["--appendfsync", "always"]
    } else {
        &[]
    };
    let mut v = Vole::start_in(&dir, flags);
    let mut m = v.raw();
    assert_eq!(
        m.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]),
        Value::Simple("OK".into())
    );
    let sh = Arc::new(Shared {
        ctl: Mutex::new(Ctl {
            addr: v.addr,
            epoch: 0,
            gate: 20,
            pause: None,
            paused: HashMap::new(),
        }),
        cv: Condvar::new(),
        track: Mutex::new(Track::default()),
        produced: AtomicUsize::new(0),
        done: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        deadline: Instant::now() + Duration::from_secs(20),
    });
    let mut handles = vec![spawn(&sh, producer)];
    let join_all = |handles: Vec<std::thread::JoinHandle<()>>| {
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    };
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let ok = wait_until(Duration::from_secs(10), || sh.stop() || f());
        if !ok || sh.failed.load(Ordering::SeqCst) {
            panic!("failed or out of time waiting for {what}");
        }
    };

    // c3 reads alone first: one batch processed, the second one held when it "crashes".
    let c3 = spawn(&sh, |sh| consumer(sh, "c3", Some(2)));
    if let Err(e) = c3.join() {
        sh.failed.store(true, Ordering::SeqCst);
        join_all(handles);
        std::panic::resume_unwind(e);
    }
    let crashed: BTreeSet<String> = {
        let t = sh.track.lock().expect("track");
        t.in_flight.keys().cloned().collect()
    };
    assert!(!crashed.is_empty());
    assert!(sh
        .track
        .lock()
        .expect("track")
        .in_flight
        .values()
        .all(|c| c == "c3"));

    // c1 and c2 work while the producer goes on to 100.
    sh.release(None, 100);
    handles.push(spawn(&sh, |sh| consumer(sh, "c1", None)));
    handles.push(spawn(&sh, |sh| consumer(sh, "c2", None)));
    wait("50 entries", &|| sh.produced.load(Ordering::SeqCst) >= 50);

    // c1 takes over c3's entries with XAUTOCLAIM while c1 and c2 hold nothing (so only c3's
    // stale entries qualify), acknowledges half and keeps the rest pending over the restart.
    sh.pause(Pause::Idle, &["c1", "c2"]);
    let in_flight: Vec<(String, String)> = {
        let t = sh.track.lock().expect("track");
        t.in_flight
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect()
    };
    assert!(
        in_flight
            .iter()
            .all(|(id, c)| c == "c3" && crashed.contains(id)),
        "{in_flight:?}"
    );
    assert_eq!(
        m.cmd(&["XAUTOCLAIM", "s", "g", "c1", "3600000", "0-0"]),
        arr(vec![bulk("0-0"), arr(vec![]), arr(vec![])]),
        "a min-idle of an hour claims nothing"
    );
    std::thread::sleep(Duration::from_millis(60));
    let mut claimed = Vec::new();
    let mut cursor = "0-0".to_string();
    for _ in 0..20 {
        let Value::Array(p) = m.cmd(&["XAUTOCLAIM", "s", "g", "c1", "50", &cursor, "COUNT", "3"])
        else {
            panic!("XAUTOCLAIM")
        };
        let Value::Array(entries) = &p[1] else {
            panic!("XAUTOCLAIM entries {p:?}")
        };
        assert_eq!(p[2], arr(vec![]), "no deleted entries");
        claimed.extend(read_ids(&served("s", entries.clone())));
        cursor = text(&p[0]);
        if cursor == "0-0" {
            break;
        }
    }
    assert_eq!(
        claimed.iter().cloned().collect::<BTreeSet<_>>(),
        crashed,
        "XAUTOCLAIM takes exactly the crashed consumer's entries"
    );
    {
        let mut t = sh.track.lock().expect("track");
        for id in &claimed {
            t.in_flight.insert(id.clone(), "c1".into());
        }
    }
    for (id, c, n) in pending(&mut m, "s", "g") {
        assert_eq!((c.as_str(), n), ("c1", 2), "{id} after XAUTOCLAIM");
    }
    let keep = claimed.split_off(claimed.len() / 2);
    for id in &claimed {
        assert_eq!(m.cmd(&["XACK", "s", "g", id]), Value::Int(1));
        let mut t = sh.track.lock().expect("track");
        t.in_flight.remove(id);
        assert!(t.acked.insert(id.clone()));
    }
    assert!(!keep.is_empty());

    // The restart: workers stop holding their latest batch, the producer at 100.
    sh.release(None, 100);
    sh.pause(Pause::Holding, &["c1", "c2"]);
    wait("the producer at 100", &|| {
        sh.produced.load(Ordering::SeqCst) == 100
    });
    let before = pending(&mut m, "s", "g");
    {
        let t = sh.track.lock().expect("track");
        let mut want: Vec<(String, String)> = t
            .in_flight
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        want.sort_by(|a, b| cmp_ids(&a.0, &b.0));
        let got: Vec<(String, String)> = before
            .iter()
            .map(|(a, b, _)| (a.clone(), b.clone()))
            .collect();
        assert_eq!(got, want, "XPENDING before the restart");
    }
    for id in &keep {
        assert!(before.iter().any(|p| p.0 == *id && p.1 == "c1" && p.2 == 2));
    }
    drop(m);
    if kill {
        v.kill9();
    } else {
        assert_eq!(v.shutdown(&[]), Some(0));
    }
    v = Vole::start_in(&dir, flags);
    let mut m = v.raw();
    assert_eq!(
        pending(&mut m, "s", "g"),
        before,
        "pending entries after the restart"
    );
    sh.release(Some(v.addr), TOTAL);

    wait("every entry acknowledged", &|| {
        sh.track.lock().expect("track").acked.len() == TOTAL
    });
    sh.done.store(true, Ordering::SeqCst);
    join_all(handles);

    let t = sh.track.lock().expect("track");
    assert!(t.in_flight.is_empty(), "{:?}", t.in_flight);
    assert_eq!(
        t.from_history,
        before.len(),
        "entries read back from history = entries pending at the restart"
    );
    assert_eq!(t.produced.len(), TOTAL);
    assert_eq!(
        t.produced.iter().cloned().collect::<HashSet<_>>(),
        t.acked,
        "acked = produced"
    );
    let all = read_ids(&served(
        "s",
        match m.cmd(&["XRANGE", "s", "-", "+"]) {
            Value::Array(e) => e,
            other => panic!("XRANGE {other:?}"),
        },
    ));
    assert_eq!(
        all, t.produced,
        "the stream holds what was produced, in order"
    );
    assert_eq!(
        m.cmd(&["XPENDING", "s", "g"]),
        arr(vec![Value::Int(0), Value::Null, Value::Null, Value::Null])
    );
    let groups = m.cmd(&["XINFO", "GROUPS", "s"]);
    let Value::Array(gs) = &groups else {
        panic!("{groups:?}")
    };
    assert_eq!(gs.len(), 1);
    assert_eq!(field(&gs[0], "lag"), Value::Int(0), "{groups:?}");
    assert_eq!(field(&gs[0], "pending"), Value::Int(0), "{groups:?}");
    assert_eq!(field(&gs[0], "entries-read"), Value::Int(TOTAL as i64));
    assert_eq!(field(&gs[0], "consumers"), Value::Int(3));
    drop(t);
    drop(m);
    drop(v);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Orders stream IDs numerically.
fn cmp_ids(a: &str, b: &str) -> std::cmp::Ordering {
    let p = |s: &str| -> (u64, u64) {
        let (ms, seq) = s.split_once('-').expect("id");
        (ms.parse().expect("ms"), seq.parse().expect("seq"))
    };
    p(a).cmp(&p(b))
}

#[test]
fn consumer_group_work_is_acked_exactly_once_across_a_graceful_restart() {
    // Proves the consumer-group contract end to end: 200 entries from a producer, 3
    // consumers (one crashes with entries pending, taken over by XAUTOCLAIM), a SHUTDOWN and
    // restart in the middle after which consumers resume from their history then `>`: every
    // entry is acknowledged exactly once, none is given by `>` to two consumers or after its
    // ack, and the group ends with nothing pending and lag 0.
    consumer_group_workload(false);
}

#[test]
fn consumer_group_work_is_acked_exactly_once_across_kill_9() {
    // Proves the same with kill -9 under `appendfsync always`: the group's state (cursor,
    // pending entries, owners, delivery counts) comes back from the log alone.
    consumer_group_workload(true);
}

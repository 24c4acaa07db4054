//! Restart equivalence for streams: after a snapshot load, a log replay, or both, every stream
//! reads back identically — entries, tombstones and node boundaries (XINFO STREAM's length,
//! radix-tree-keys, last-generated-id, max-deleted-entry-id, entries-added,
//! recorded-first-entry-id), consumer groups with their pending entries, consumers, delivery
//! counts and delivery times (XINFO STREAM FULL prints them as absolute times), and groups and
//! consumers that were deleted stay deleted. Pending entries' idle times keep counting across
//! a restart instead of starting again from 0.

mod common;

use std::time::Duration;

use common::{temp_dir, text, Raw, Vole};
use vole_engine::resp::Value;

/// The writes before the first restart.
fn writes() -> Vec<String> {
    let mut w = Vec::new();
    // 250 entries with explicit IDs (so node boundaries do not depend on the clock), mostly
    // with the same three fields (Redis's master-field compression), every 7th with others.
    for i in 1..=250 {
        if i % 7 == 0 {
            w.push(format!("XADD s {i}-0 other o{i} \"with space\" \"\""));
        } else {
            w.push(format!(
                "XADD s {i}-0 name n{i} value v{i} extra {}",
                i * 31
            ));
        }
    }
    // A large entry (closes a node on bytes), and a partial ID.
    w.push(format!("XADD s 250-1 big {}", "z".repeat(5000)));
    w.push("XADD s 250-* after big".into());
    let more = [
        // Groups: from the start, from the end, from an ID with a read count, one to delete.
        "XGROUP CREATE s g1 0",
        "XGROUP CREATE s g2 $",
        "XGROUP CREATE s g3 100-0 ENTRIESREAD 90",
        "XGROUP CREATE s gone 0",
        "XREADGROUP GROUP gone someone COUNT 4 STREAMS s >",
        // Deliveries to two consumers, a re-delivery of history (delivery count 2), acks.
        "XREADGROUP GROUP g1 alice COUNT 5 STREAMS s >",
        "XREADGROUP GROUP g1 bob COUNT 7 STREAMS s >",
        "XREADGROUP GROUP g1 alice COUNT 2 STREAMS s 0",
        "XACK s g1 3-0 7-0",
        // Claims: plain, JUSTID, with IDLE and RETRYCOUNT, FORCE of an entry never delivered.
        "XCLAIM s g1 carol 0 8-0 9-0",
        "XCLAIM s g1 carol 0 10-0 JUSTID",
        "XCLAIM s g1 dave 0 11-0 IDLE 5000 RETRYCOUNT 7",
        "XCLAIM s g1 erin 0 200-0 FORCE",
        "XAUTOCLAIM s g1 frank 0 0-0 COUNT 1",
        // A consumer that never read; one deleted with its pending entries.
        "XGROUP CREATECONSUMER s g1 idle",
        "XGROUP CREATECONSUMER s g1 delme",
        "XREADGROUP GROUP g1 delme COUNT 3 STREAMS s >",
        "XGROUP DELCONSUMER s g1 delme",
        "XREADGROUP GROUP g2 zed STREAMS s >",
        "XREADGROUP GROUP g3 y COUNT 3 STREAMS s >",
        "XREADGROUP GROUP g3 y NOACK COUNT 2 STREAMS s >",
        "XGROUP DESTROY s gone",
        // Tombstones (two of them pending), then approximate and exact trims.
        "XDEL s 5-0 6-0 150-0 250-1 999-0",
        "XTRIM s MAXLEN ~ 140",
        "XTRIM s MINID 120",
        "XTRIM s MAXLEN = 125",
        "XGROUP SETID s g2 200-0 ENTRIESREAD 180",
        "XADD s MAXLEN ~ 50 LIMIT 1 300-0 f v",
        "XADD s NOMKSTREAM 301-0 f v",
        "XADD nokey NOMKSTREAM 1-1 f v",
        // A stream emptied by trimming (still a key), with clock IDs.
        "XADD t * a 1",
        "XADD t * a 2 b 3",
        "XTRIM t MAXLEN 0",
        // XSETID with entries-added and max-deleted-id, then emptied by XDEL.
        "XADD x 1-1 f v",
        "XSETID x 100-5 ENTRIESADDED 42 MAXDELETEDID 50-0",
        "XDEL x 1-1",
        // An empty stream made by XGROUP CREATE MKSTREAM, with a consumer that never read.
        "XGROUP CREATE e g $ MKSTREAM",
        "XGROUP CREATE e g2 0 MKSTREAM",
        "XGROUP CREATECONSUMER e g never",
    ];
    w.extend(more.iter().map(|s| s.to_string()));
    w
}

/// Writes after the snapshot, kept only in the log.
const MORE: &[&str] = &[
    "XADD s 400-0 late yes",
    "XDEL s 120-0",
    "XACK s g1 1-0 2-0",
    "XREADGROUP GROUP g1 alice COUNT 3 STREAMS s >",
    "XREADGROUP GROUP g1 bob COUNT 1 STREAMS s 0",
    "XCLAIM s g1 bob 0 4-0",
    "XAUTOCLAIM s g1 frank 0 0-0 COUNT 10",
    "XGROUP DELCONSUMER s g1 idle",
    "XGROUP DESTROY s g3",
    "XTRIM s MINID ~ 201",
    "XSETID s 500-0 ENTRIESADDED 1000 MAXDELETEDID 450-0",
    "XGROUP CREATE e g3 0",
    "XADD t * late 1",
    "XTRIM t MAXLEN 0",
    "XADD fresh 1-1 a b",
    "XGROUP CREATE fresh fg $",
    "XREADGROUP GROUP fg c STREAMS fresh >",
    "XADD fresh 2-1 c d",
    "XREADGROUP GROUP fg c STREAMS fresh >",
];

const CHECKS: &[&str] = &[
    "XINFO STREAM s",
    "XINFO STREAM s FULL",
    "XINFO STREAM s FULL COUNT 0",
    "XRANGE s - +",
    "XREVRANGE s + - COUNT 3",
    "XLEN s",
    "XINFO GROUPS s",
    "XPENDING s g1",
    "XPENDING s g2",
    "XPENDING s g3",
    "XINFO CONSUMERS s gone",
    "XREAD COUNT 3 STREAMS s t x e 0 0 0 0",
    "TYPE s",
    "OBJECT ENCODING s",
    "XINFO STREAM t FULL",
    "XINFO STREAM x FULL",
    "XINFO STREAM e FULL",
    "XINFO GROUPS e",
    "TYPE e",
    "XLEN e",
    "XINFO STREAM fresh FULL",
    "XINFO GROUPS fresh",
    "EXISTS nokey",
    "DBSIZE",
];

#[test]
fn streams_survive_restarts() {
    // Proves every stream write (entries with several fields, XDEL tombstones, exact and `~`
    // trims, XSETID, groups, consumers, deliveries, claims, acks, deleted groups and
    // consumers, an empty MKSTREAM stream) reads back byte for byte the same after a snapshot
    // load, a log replay, and a snapshot plus log replay.
    let w = writes();
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    common::restart::check("streams", &w, MORE, CHECKS);
}

fn run(r: &mut Raw, line: &str) -> Value {
    let w: Vec<&str> = line.split(' ').collect();
    let v = r.cmd(&w);
    assert!(!matches!(v, Value::Error(_)), "`{line}` failed: {v:?}");
    v
}

/// XPENDING's extended form as (id, consumer, idle ms, delivery count).
fn pending(r: &mut Raw) -> Vec<(String, String, i64, i64)> {
    let Value::Array(rows) = run(r, "XPENDING s g - + 100") else {
        panic!("XPENDING: not an array");
    };
    rows.iter()
        .map(|row| match row {
            Value::Array(f) => match &f[..] {
                [id, c, Value::Int(idle), Value::Int(n)] => (text(id), text(c), *idle, *n),
                other => panic!("XPENDING row {other:?}"),
            },
            other => panic!("XPENDING row {other:?}"),
        })
        .collect()
}

/// XINFO CONSUMERS as (name, pending, idle, inactive).
fn consumers(r: &mut Raw) -> Vec<(String, i64, i64, i64)> {
    let Value::Array(rows) = run(r, "XINFO CONSUMERS s g") else {
        panic!("XINFO CONSUMERS: not an array");
    };
    rows.iter()
        .map(|row| {
            let Value::Array(f) = row else {
                panic!("consumer {row:?}")
            };
            let get = |name: &str| {
                let at = f
                    .iter()
                    .position(|v| matches!(v, Value::Bulk(b) if b[..] == *name.as_bytes()))
                    .unwrap_or_else(|| panic!("no {name} in {f:?}"));
                f[at + 1].clone()
            };
            let int = |name: &str| match get(name) {
                Value::Int(i) => i,
                other => panic!("{name}: {other:?}"),
            };
            (
                text(&get("name")),
                int("pending"),
                int("idle"),
                int("inactive"),
            )
        })
        .collect()
}

fn idle_times_continue(kill: bool) {
    let dir = temp_dir(if kill {
        "stream-idle-kill"
    } else {
        "stream-idle-snap"
    });
    let flags = ["--appendfsync", "always"];
    let v = Vole::start_in(&dir, &flags);
    let mut r = v.raw();
    for line in [
        "XADD s 1-1 f v",
        "XADD s 2-1 f v",
        "XADD s 3-1 f v",
        "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g c1 COUNT 2 STREAMS s >",
        "XREADGROUP GROUP g c2 STREAMS s >",
        "XREADGROUP GROUP g c1 STREAMS s 0",
        "XGROUP CREATECONSUMER s g c3",
    ] {
        run(&mut r, line);
    }
    std::thread::sleep(Duration::from_millis(150));
    let before = pending(&mut r);
    let cons_before = consumers(&mut r);
    assert_eq!(
        before
            .iter()
            .map(|(id, c, _, n)| (id.as_str(), c.as_str(), *n))
            .collect::<Vec<_>>(),
        vec![("1-1", "c1", 2), ("2-1", "c1", 2), ("3-1", "c2", 1)]
    );
    assert!(before.iter().all(|p| p.2 >= 150), "{before:?}");
    drop(r);
    if kill {
        v.kill9();
    } else {
        assert_eq!(v.shutdown(&[]), Some(0));
    }
    let v = Vole::start_in(&dir, &flags);
    let mut r = v.raw();
    let after = pending(&mut r);
    let cons_after = consumers(&mut r);
    assert_eq!(after.len(), before.len(), "{before:?} -> {after:?}");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.0, &b.1, b.3),
            (&a.0, &a.1, a.3),
            "{before:?} -> {after:?}"
        );
        assert!(a.2 >= b.2, "idle went back: {before:?} -> {after:?}");
    }
    assert_eq!(cons_after.len(), 3, "{cons_after:?}");
    for (b, a) in cons_before.iter().zip(&cons_after) {
        assert_eq!(
            (&b.0, b.1),
            (&a.0, a.1),
            "{cons_before:?} -> {cons_after:?}"
        );
        assert!(
            a.2 >= b.2,
            "idle went back: {cons_before:?} -> {cons_after:?}"
        );
        assert!(
            a.3 >= b.3 && (b.3 == -1) == (a.3 == -1),
            "inactive: {cons_before:?} -> {cons_after:?}"
        );
    }
    // The idle time is real: XAUTOCLAIM with a min-idle the entries had before the restart
    // takes them all.
    let claimed = run(&mut r, "XAUTOCLAIM s g c3 150 0-0 JUSTID");
    assert_eq!(
        format!("{claimed:?}"),
        format!(
            "{:?}",
            Value::Array(vec![
                common::bulk("0-0"),
                Value::Array(vec![
                    common::bulk("1-1"),
                    common::bulk("2-1"),
                    common::bulk("3-1")
                ]),
                Value::Array(vec![]),
            ])
        )
    );
    let claimed = pending(&mut r);
    assert!(claimed.iter().all(|p| p.1 == "c3"), "{claimed:?}");
    drop(r);
    drop(v);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pending_idle_times_keep_counting_across_a_graceful_restart() {
    // Proves XPENDING's consumer and delivery count survive a snapshot load, and its idle
    // time (and XINFO CONSUMERS' idle and inactive) is not reset: it is at least what it was.
    idle_times_continue(false);
}

#[test]
fn pending_idle_times_keep_counting_across_kill_9() {
    // Proves the same for log replay after kill -9 under `appendfsync always`.
    idle_times_continue(true);
}

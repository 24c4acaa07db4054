//! Durability end to end: restarts keep data, TTLs stay absolute, `kill -9` under
//! `appendfsync always` loses no acknowledged write, a torn log tail is cut, damaged records
//! and snapshots are reported, SAVE/BGSAVE/LASTSAVE and SHUTDOWN behave as in Redis.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{q, q_err, temp_dir, unix_ms, wait_until, Vole};
use rand::{Rng, SeedableRng};

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("vole.aof"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "wal"));
    v.sort();
    v
}

/// Where the whole records of a segment end: under `appendfsync always` a killed server
/// leaves zeros preallocated after them.
fn records_end(bytes: &[u8]) -> usize {
    vole_wal::recover::scan_segment(bytes).valid_len
}

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let info: String = q(con, &["INFO", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO:\n{info}"))
        .trim()
        .to_string()
}

#[test]
fn data_and_ttls_survive_a_graceful_restart() {
    // Proves SHUTDOWN writes a snapshot, a restart loads it, and TTLs are absolute times:
    // time spent down counts, and a key that expired while down is gone.
    let dir = temp_dir("restart");
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    let _: () = q(&mut c, &["SET", "plain", "v1"]);
    let _: () = q(&mut c, &["SET", "short", "x", "PX", "300"]);
    let _: () = q(&mut c, &["SET", "long", "y", "EX", "100"]);
    let _: f64 = q(&mut c, &["INCRBYFLOAT", "f", "10.5"]);
    let _: i64 = q(&mut c, &["APPEND", "plain", "+tail"]);
    let expire_at: i64 = q(&mut c, &["PEXPIRETIME", "long"]);
    assert_eq!(v.shutdown(&[]), Some(0));
    assert!(dir.join("vole.snap").exists(), "shutdown writes a snapshot");
    std::thread::sleep(Duration::from_millis(400));
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(q::<String>(&mut c, &["GET", "plain"]), "v1+tail");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "short"]), None);
    assert_eq!(q::<String>(&mut c, &["GET", "f"]), "10.5");
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "long"]), expire_at);
    assert!(q::<i64>(&mut c, &["PTTL", "long"]) <= 100_000 - 400);
    let _ = unix_ms();
}

#[test]
fn the_log_alone_restores_everything_after_kill_9() {
    // Proves writes reach the log without any snapshot: kill -9 (no final snapshot) and a
    // restart replays them, including deletes, expiries, renames and flushes.
    let dir = temp_dir("replay");
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = v.client();
    for i in 0..200 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    let _: i64 = q(&mut c, &["DEL", "k0", "k1"]);
    let _: () = q(&mut c, &["RENAME", "k2", "renamed"]);
    let _: i64 = q(&mut c, &["EXPIRE", "k3", "1000"]);
    let _: () = q(&mut c, &["SELECT", "3"]);
    let _: () = q(&mut c, &["SET", "in3", "x"]);
    let _: () = q(&mut c, &["FLUSHDB"]);
    let _: () = q(&mut c, &["SET", "after-flush", "y"]);
    v.kill9();
    assert!(!dir.join("vole.snap").exists());
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 198);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k0"]), None);
    assert_eq!(q::<String>(&mut c, &["GET", "renamed"]), "v2");
    assert!(q::<i64>(&mut c, &["TTL", "k3"]) > 990);
    let _: () = q(&mut c, &["SELECT", "3"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "*"]),
        vec!["after-flush"]
    );
    assert_eq!(info_field(&mut c, "load_replayed_records"), "206");
}

#[test]
fn kill_9_under_appendfsync_always_loses_no_acknowledged_write() {
    // Proves the acknowledgement contract of `always`: 4 concurrent writers, kill -9 at a
    // random moment, restart, and every acknowledged SET and INCR is there; 20 cycles on one
    // data directory (so later cycles also replay earlier ones, and snapshots interleave).
    // VOLE_CRASH_CYCLES raises the count for a soak run (benches/crash_soak.sh).
    let cycles: usize = std::env::var("VOLE_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = temp_dir("crash");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    // Per writer: the highest n acknowledged across all cycles so far.
    let mut acked: HashMap<usize, u64> = HashMap::new();
    for cycle in 0..cycles {
        let v = Vole::start_in(
            &dir,
            &["--appendfsync", "always", "--wal-segment-size", "65536"],
        );
        let mut c = v.client();
        // Everything acknowledged before is still there.
        for (id, &n) in &acked {
            if n == 0 {
                continue;
            }
            let ctr: i64 = q(&mut c, &["GET", &format!("ctr{id}")]);
            assert!(
                ctr as u64 >= n,
                "cycle {cycle}: writer {id} acked {n}, counter is {ctr}"
            );
            let last: Option<String> = q(&mut c, &["GET", &format!("w{id}:{n}")]);
            assert_eq!(last, Some(n.to_string()), "cycle {cycle}: w{id}:{n} lost");
        }
        if cycle % 5 == 4 {
            let _: String = q(&mut c, &["BGSAVE"]);
        }
        // Writers continue from the counter's current value.
        for id in 0..4 {
            let ctr: Option<i64> = q(&mut c, &["GET", &format!("ctr{id}")]);
            acked.insert(id, ctr.unwrap_or(0) as u64);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let addr = v.addr;
        let handles: Vec<_> = (0..4)
            .map(|id| {
                let stop = stop.clone();
                let base = acked[&id];
                std::thread::spawn(move || base + writer_from(addr, id, base, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..250)));
        v.kill9();
        stop.store(true, Ordering::Relaxed);
        for (id, h) in handles.into_iter().enumerate() {
            let n = h.join().expect("writer thread");
            acked.insert(id, n);
        }
    }
    let total: u64 = acked.values().sum();
    assert!(
        total > 100,
        "the writers made progress: {total} acknowledged"
    );
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    for (id, &n) in &acked {
        let ctr: i64 = q(&mut c, &["GET", &format!("ctr{id}")]);
        assert!(ctr as u64 >= n);
    }
}

/// One writer: SETs `w{id}:{n}` = n, then INCRs `ctr{id}` to n, for n after `base`; returns
/// how many pairs were acknowledged.
fn writer_from(addr: std::net::SocketAddr, id: usize, base: u64, stop: Arc<AtomicBool>) -> u64 {
    let Ok(client) = redis::Client::open(format!("redis://{addr}/")) else {
        return 0;
    };
    let Ok(mut c) = client.get_connection() else {
        return 0;
    };
    let mut done = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let n = base + done + 1;
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("w{id}:{n}"))
            .arg(n)
            .query(&mut c);
        if r.is_err() {
            break;
        }
        let r: redis::RedisResult<i64> = redis::cmd("INCR").arg(format!("ctr{id}")).query(&mut c);
        match r {
            Ok(v) if v as u64 == n => done += 1,
            _ => break,
        }
    }
    done
}

#[test]
fn a_torn_tail_is_cut_and_every_whole_record_kept() {
    // Proves torn-tail recovery: keys written one per record, the newest segment cut at
    // random offsets; each restart keeps an unbroken prefix of the keys, reports the cut,
    // and accepts new writes after it.
    let dir = temp_dir("torn");
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = v.client();
    for i in 0..300 {
        let _: () = q(&mut c, &["SET", &format!("k{i:04}"), &"x".repeat(i % 50)]);
    }
    v.kill9();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut expected_max = 300usize;
    for round in 0..5 {
        let seg = segments(&dir).pop().expect("a segment");
        let len = records_end(&std::fs::read(&seg).expect("read")) as u64;
        let cut = rng.gen_range(len / 2..len.saturating_sub(1).max(len / 2 + 1));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .expect("open");
        f.set_len(cut).expect("cut");
        drop(f);
        let v = Vole::start_in(&dir, &[]);
        let mut c = v.client();
        let keys: Vec<String> = q(&mut c, &["KEYS", "k*"]);
        let n = keys.len();
        assert!(
            n <= expected_max,
            "round {round}: {n} keys > {expected_max}"
        );
        for i in 0..n {
            let present: i64 = q(&mut c, &["EXISTS", &format!("k{i:04}")]);
            assert_eq!(present, 1, "round {round}: k{i:04} missing: not a prefix");
        }
        assert_eq!(
            info_field(&mut c, "wal_torn_tails_truncated"),
            "1",
            "round {round}"
        );
        assert!(v.log_text().contains("torn tail"), "round {round}: logged");
        expected_max = n;
        v.kill9();
    }
    // The log keeps working after the cuts.
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = v.client();
    let _: () = q(&mut c, &["SET", "after", "1"]);
    v.kill9();
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(q::<String>(&mut c, &["GET", "after"]), "1");
}

#[test]
fn preallocated_zeros_after_kill_9_are_trimmed_not_called_torn() {
    // Proves that under `appendfsync always` the log runs ahead in zeros, a kill -9 leaves
    // them, and a restart keeps every record, trims the zeros, logs them as preallocated
    // space and does not count a torn tail; a clean shutdown leaves no zeros at all.
    let dir = temp_dir("prealloc");
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = v.client();
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("k{i:03}"), "v"]);
    }
    v.kill9();
    let seg = segments(&dir).pop().expect("segment");
    let bytes = std::fs::read(&seg).expect("read");
    assert!(
        bytes.len() > records_end(&bytes) + 4096,
        "zeros follow the records: {} of {}",
        records_end(&bytes),
        bytes.len()
    );
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = v.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 100);
    assert_eq!(info_field(&mut c, "wal_torn_tails_truncated"), "0");
    let log = v.log_text();
    assert!(log.contains("preallocated"), "{log}");
    assert!(!log.contains("torn tail"), "{log}");
    let trimmed = std::fs::read(&seg).expect("read");
    assert_eq!(trimmed.len(), records_end(&bytes));
    let _: () = q(&mut c, &["SET", "after", "1"]);
    assert_eq!(v.shutdown(&["NOSAVE"]), Some(0));
    for seg in segments(&dir) {
        let bytes = std::fs::read(&seg).expect("read");
        assert_eq!(
            bytes.len(),
            records_end(&bytes),
            "{} ends in zeros",
            seg.display()
        );
    }
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 101);
}

#[test]
fn a_damaged_record_is_reported_and_counted_not_fatal() {
    // Proves a bit flip inside a record in the middle of a segment is detected: the server
    // starts, logs segment and offset, counts it in INFO, and keeps the records before it.
    let dir = temp_dir("bitflip");
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = v.client();
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("k{i:03}"), "value-value-value"]);
    }
    v.kill9();
    let seg = segments(&dir).pop().expect("segment");
    let mut bytes = std::fs::read(&seg).expect("read");
    let at = records_end(&bytes) / 2;
    bytes[at] ^= 0x10;
    std::fs::write(&seg, &bytes).expect("write");
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(info_field(&mut c, "wal_corrupt_records_skipped"), "1");
    let log = v.log_text();
    assert!(
        log.contains("damaged log record") && log.contains("offset"),
        "{log}"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k000"]), 1);
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert!(n > 10 && n < 100, "records before the damage are kept: {n}");
}

#[test]
fn a_damaged_snapshot_stops_start_up_with_a_clear_error() {
    // Proves a bit flip in a snapshot block is detected: the server refuses to start without
    // part of its data and names the file.
    let dir = temp_dir("badsnap");
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    for i in 0..2000 {
        let _: () = q(&mut c, &["SET", &format!("key:{i}"), &format!("{i}")]);
    }
    assert_eq!(v.shutdown(&[]), Some(0));
    let snap = dir.join("vole.snap");
    let mut bytes = std::fs::read(&snap).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&snap, &bytes).expect("write");
    let err = Vole::try_start_in(&dir, &[]).err().expect("must not start");
    assert!(err.contains("vole.snap"), "{err}");
}

#[test]
fn save_bgsave_lastsave_and_info_report_snapshots() {
    // Proves SAVE and BGSAVE write snapshots, LASTSAVE moves, INFO persistence reports them,
    // and the changes counter resets.
    let dir = temp_dir("save");
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    for i in 0..50 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "50");
    let _: () = q(&mut c, &["SAVE"]);
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert_eq!(info_field(&mut c, "rdb_saves"), "1");
    assert_eq!(info_field(&mut c, "snapshot_last_keys"), "50");
    let last: i64 = q(&mut c, &["LASTSAVE"]);
    assert!((last - unix_ms() / 1000).abs() <= 2);
    let started: String = q(&mut c, &["BGSAVE"]);
    assert_eq!(started, "Background saving started");
    assert!(wait_until(Duration::from_secs(10), || {
        info_field(&mut c, "rdb_bgsave_in_progress") == "0"
            && info_field(&mut c, "rdb_saves") == "2"
    }));
    assert!(q_err(&mut c, &["BGSAVE", "NOW"]).starts_with("ERR"));
    let started = Instant::now();
    assert_eq!(v.shutdown(&["NOSAVE"]), Some(0));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn shutdown_nosave_keeps_the_log_and_skips_the_snapshot() {
    // Proves SHUTDOWN NOSAVE writes no snapshot, yet the log still has every write.
    let dir = temp_dir("nosave");
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    assert_eq!(v.shutdown(&["NOSAVE"]), Some(0));
    assert!(!dir.join("vole.snap").exists());
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
}

#[test]
fn appendonly_no_keeps_only_what_snapshots_hold() {
    // Proves --appendonly no writes no log; a SAVE is what survives a kill -9.
    let dir = temp_dir("noaof");
    let v = Vole::start_in(&dir, &["--appendonly", "no"]);
    let mut c = v.client();
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    let _: () = q(&mut c, &["SET", "saved", "1"]);
    let _: () = q(&mut c, &["SAVE"]);
    let _: () = q(&mut c, &["SET", "unsaved", "1"]);
    v.kill9();
    assert!(segments(&dir).is_empty());
    let v = Vole::start_in(&dir, &["--appendonly", "no"]);
    let mut c = v.client();
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "saved", "unsaved"]), 1);
}

#[test]
fn compaction_drops_log_segments_the_snapshot_covers() {
    // Proves automatic compaction: with small segments and a low threshold the log is
    // snapshotted and old segments are deleted, and the data is intact after a restart.
    let dir = temp_dir("compact");
    let v = Vole::start_in(
        &dir,
        &[
            "--wal-segment-size",
            "16384",
            "--auto-aof-rewrite-min-size",
            "65536",
            "--auto-aof-rewrite-percentage",
            "100",
        ],
    );
    let mut c = v.client();
    let value = "v".repeat(200);
    for i in 0..3000 {
        let _: () = q(&mut c, &["SET", &format!("k{}", i % 100), &value]);
    }
    assert!(
        wait_until(Duration::from_secs(10), || info_field(&mut c, "rdb_saves")
            != "0"),
        "a compaction ran"
    );
    assert!(wait_until(Duration::from_secs(5), || segments(&dir).len() < 10));
    v.kill9();
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 100);
    assert_eq!(q::<String>(&mut c, &["GET", "k7"]), value);
}

#[test]
fn a_failed_fsync_stops_writes_with_misconf_and_acknowledges_nothing_unsynced() {
    // Proves the failure contract under `always`: once an fsync of the log fails, the write
    // waiting for it gets -MISCONF (not OK), later writes get -MISCONF, reads still work,
    // INFO says so, and after a restart every write that did get OK is there.
    let dir = temp_dir("misconf");
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = v.client();
    let _: () = q(&mut c, &["SET", "before", "1"]);
    let _: () = q(&mut c, &["DEBUG", "FAIL-LOG-FSYNC"]);
    let e = q_err(&mut c, &["SET", "during", "2"]);
    assert!(e.starts_with("MISCONF"), "{e}");
    let e = q_err(&mut c, &["INCR", "after"]);
    assert!(
        e.starts_with("MISCONF") && e.contains("fsync failed"),
        "{e}"
    );
    assert_eq!(q::<String>(&mut c, &["GET", "before"]), "1");
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "err");
    v.kill9();
    let v = Vole::start_in(&dir, &[]);
    let mut c = v.client();
    assert_eq!(q::<String>(&mut c, &["GET", "before"]), "1");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "after"]), None);
    let _: () = q(&mut c, &["SET", "works-again", "1"]);
}

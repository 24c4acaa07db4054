//! Power cuts and storage faults under each fsync policy: what was acknowledged survives,
//! a failed write or sync poisons the log, and group commit shares syncs between writers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vole_wal::log::{FsyncPolicy, Wal, WalError, WalOptions, INLINE_SYNC_MAX_FSYNC};
use vole_wal::storage::MemStorage;
use vole_wal::tail::{ReadItem, WalReader};

fn opts(segment_bytes: u64, fsync: FsyncPolicy) -> WalOptions {
    WalOptions {
        segment_bytes,
        fsync,
        ..WalOptions::default()
    }
}

/// LSNs whose wait_durable returned, with their payloads.
type Acked = Vec<(u64, Vec<u8>)>;

/// Reopens the storage (recovering it) and returns every record by LSN.
fn recovered(storage: MemStorage) -> BTreeMap<u64, Vec<u8>> {
    let (wal, _) = Wal::open(storage, WalOptions::default(), 0).expect("reopen");
    let mut reader = wal.reader(0).expect("reader");
    let mut out = BTreeMap::new();
    while let Some(item) = reader.next().expect("read") {
        match item {
            ReadItem::Record { lsn, payload, .. } => {
                assert!(out.insert(lsn, payload).is_none(), "LSN {lsn} twice");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

#[test]
fn power_cut_keeps_every_acknowledged_append_always() {
    // Proves that under `always`, every LSN whose wait_durable returned before a power cut
    // is present with its payload after recovery, with many writers and rollovers.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(4096, FsyncPolicy::Always), 0).expect("open");
    let (disk, acked) = cut_power_under_writers(&storage, &wal, 8, 300, 1000, |wal, payload| {
        wal.append(1, payload)
    });
    let got = recovered(disk);
    for (lsn, payload) in &acked {
        assert_eq!(got.get(lsn), Some(payload), "acknowledged LSN {lsn} lost");
    }
}

/// Runs `threads` writers of `per_thread` records each (appending with `append`, then
/// waiting for durability), cuts the power once `min_acked` appends were acknowledged, lets
/// the writers finish and closes the log. Returns the storage as the cut left it and what
/// was acknowledged before it.
fn cut_power_under_writers(
    storage: &MemStorage,
    wal: &Arc<Wal<MemStorage>>,
    threads: usize,
    per_thread: usize,
    min_acked: usize,
    append: fn(&Wal<MemStorage>, &[u8]) -> Result<u64, WalError>,
) -> (MemStorage, Acked) {
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let writers: Vec<_> = (0..threads)
        .map(|t| {
            let (wal, acked) = (Arc::clone(wal), Arc::clone(&acked));
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let payload =
                        format!("thread {t} record {i} {}", "x".repeat(i % 40)).into_bytes();
                    let Ok(lsn) = append(&wal, &payload) else {
                        return;
                    };
                    if wal.wait_durable(lsn).is_err() {
                        return;
                    }
                    acked.lock().expect("lock").push((lsn, payload));
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.lock().expect("lock").len() < min_acked && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let (disk, acked_at_cut) = {
        let list = acked.lock().expect("lock");
        (storage.crash_copy(), list.clone())
    };
    for w in writers {
        w.join().expect("writer");
    }
    wal.close().expect("close");
    assert!(acked_at_cut.len() >= min_acked, "writers too slow");
    (disk, acked_at_cut)
}

#[test]
fn power_cut_under_everysec_keeps_older_appends() {
    // Proves that under `everysec`, appends made more than 1.5 s before a power cut survive
    // without anyone asking for a sync.
    let storage = MemStorage::new();
    let (wal, _) =
        Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::EverySec), 0).expect("open");
    for i in 0..20u8 {
        wal.append(1, &[i]).expect("append");
    }
    std::thread::sleep(Duration::from_millis(1600));
    wal.append(1, b"just before the cut").expect("append");
    let disk = storage.crash_copy();
    wal.close().expect("close");
    let got = recovered(disk);
    for lsn in 1..=20u64 {
        assert_eq!(got.get(&lsn), Some(&vec![(lsn - 1) as u8]), "LSN {lsn}");
    }
}

#[test]
fn everysec_and_no_sync_on_request() {
    // Proves wait_durable and sync_now force a sync under `everysec` and `no` at once, and
    // that under `no` nothing else syncs the active segment.
    for policy in [FsyncPolicy::EverySec, FsyncPolicy::No] {
        let storage = MemStorage::new();
        let (wal, _) = Wal::open(storage.clone(), opts(1 << 20, policy), 0).expect("open");
        let lsn = wal.append(1, b"a").expect("append");
        let started = Instant::now();
        wal.wait_durable(lsn).expect("durable");
        assert!(started.elapsed() < Duration::from_millis(900), "{policy:?}");
        assert_eq!(recovered(storage.crash_copy()).len(), 1);
        wal.append(1, b"b").expect("append");
        if policy == FsyncPolicy::No {
            let deadline = Instant::now() + Duration::from_secs(5);
            while wal.written_lsn() < 2 {
                assert!(Instant::now() < deadline, "never written");
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(wal.durable_lsn(), 1);
            assert_eq!(recovered(storage.crash_copy()).len(), 1);
        }
        assert_eq!(wal.sync_now().expect("sync"), 2);
        assert_eq!(recovered(storage.crash_copy()).len(), 2);
        wal.set_policy(FsyncPolicy::Always);
        assert_eq!(wal.policy(), FsyncPolicy::Always);
        let lsn = wal.append(1, b"c").expect("append");
        wal.wait_durable(lsn).expect("durable");
        assert_eq!(recovered(storage.crash_copy()).len(), 3);
        wal.close().expect("close");
    }
}

#[test]
fn failed_sync_poisons_the_log_and_loses_nothing_acknowledged() {
    // Proves a failed fsync fails the waiters, poisons the log for good, calls the listener,
    // and leaves every acknowledged record in place after a power cut.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::Always), 0).expect("open");
    let listener_calls = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&listener_calls);
    wal.set_durable_listener(Box::new(move |lsn| sink.lock().expect("lock").push(lsn)));
    let mut acked = Vec::new();
    for i in 0..10u8 {
        let lsn = wal.append(1, &[i]).expect("append");
        wal.wait_durable(lsn).expect("durable");
        acked.push(lsn);
    }
    storage.fail_nth_sync(storage.syncs_so_far() + 1);
    let doomed = wal.append(1, b"doomed").expect("append");
    assert!(matches!(wal.wait_durable(doomed), Err(WalError::Failed(_))));
    let reason = wal.failure().expect("failure recorded");
    assert!(
        reason.contains(".wal"),
        "reason names the segment: {reason}"
    );
    assert!(matches!(wal.append(1, b"later"), Err(WalError::Failed(_))));
    assert!(matches!(wal.sync_now(), Err(WalError::Failed(_))));
    assert_eq!(wal.status().failure, Some(reason));
    assert_eq!(listener_calls.lock().expect("lock").last(), Some(&10));
    wal.wait_durable(10)
        .expect("LSNs durable before the failure stay so");
    let disk = storage.crash_copy();
    assert!(wal.close().is_err());
    let got = recovered(disk);
    for lsn in acked {
        assert!(got.contains_key(&lsn), "acknowledged LSN {lsn} lost");
    }
}

#[test]
fn failed_or_torn_write_poisons_the_log() {
    // Proves a failed or torn write fails the log; after a power cut and reopen the torn
    // bytes (and the preallocated zeros) are cut off and appends continue after the last
    // good LSN.
    for tear in [false, true] {
        let storage = MemStorage::new();
        let (wal, _) =
            Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::Always), 0).expect("open");
        for i in 0..5u8 {
            let lsn = wal.append(1, &[i; 30]).expect("append");
            wal.wait_durable(lsn).expect("durable");
        }
        let n = storage.writes_so_far() + 1;
        if tear {
            storage.tear_nth_write(n, 10);
        } else {
            storage.fail_nth_write(n);
        }
        let lsn = wal.append(1, &[9; 30]).expect("append");
        assert!(matches!(wal.wait_durable(lsn), Err(WalError::Failed(_))));
        assert!(wal.failure().is_some());
        // The torn prefix may have reached the disk before the power went.
        storage.sync_everything();
        let disk = storage.crash_copy();
        drop(wal);
        let (wal, report) = Wal::open(disk, WalOptions::default(), 0).expect("reopen");
        // Under `always` the segment was preallocated: without the tear it ends in zeros,
        // which are cut too but are not a torn write.
        let torn = report
            .torn_tail
            .as_ref()
            .unwrap_or_else(|| panic!("tear {tear}: {report:?}"));
        assert_eq!(!torn.zero_filled, tear, "tear {tear}: {report:?}");
        assert_eq!(report.last_lsn, Some(5));
        assert_eq!(wal.append(1, b"next").expect("append"), 6);
        wal.close().expect("close");
    }
}

#[test]
fn group_commit_shares_fsyncs() {
    // Proves that 16 writers each waiting for durability under `always` share syncs: far
    // fewer syncs than records, with every record durable.
    const THREADS: usize = 16;
    const PER_THREAD: usize = 200;
    let storage = MemStorage::new();
    // A real disk's flush takes time; that is when the next group gathers.
    storage.set_sync_delay(Duration::from_millis(1));
    let (wal, _) = Wal::open(storage.clone(), opts(1 << 30, FsyncPolicy::Always), 0).expect("open");
    let syncs_before = storage.syncs_so_far();
    let started = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let lsn = wal
                        .append(1, format!("{t}:{i}").as_bytes())
                        .expect("append");
                    wal.wait_durable(lsn).expect("durable");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let elapsed = started.elapsed();
    let records = (THREADS * PER_THREAD) as u64;
    let status = wal.status();
    let syncs = storage.syncs_so_far() - syncs_before;
    assert_eq!(status.durable_lsn, records);
    assert!(
        status.fsyncs * 4 < records,
        "{} fsyncs for {records} records",
        status.fsyncs
    );
    assert!(syncs <= status.fsyncs + 2, "{syncs} storage syncs");
    eprintln!(
        "group commit: {records} records, {} fsyncs, {elapsed:?}",
        status.fsyncs
    );
    wal.close().expect("close");
    assert_eq!(recovered(storage.crash_copy()).len() as u64, records);
}

#[test]
fn append_after_close_and_drop_without_close() {
    // Proves close syncs everything and refuses later appends, and dropping an open log
    // neither hangs nor panics.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::No), 0).expect("open");
    wal.append(1, b"a").expect("append");
    wal.close().expect("close");
    assert_eq!(wal.durable_lsn(), 1);
    assert!(matches!(wal.append(1, b"b"), Err(WalError::Closed)));
    assert!(matches!(wal.wait_durable(1), Ok(())));
    wal.close().expect("second close is harmless");
    assert_eq!(recovered(storage.crash_copy()).len(), 1);

    let (wal, _) = Wal::open(MemStorage::new(), WalOptions::default(), 0).expect("open");
    wal.append(1, b"a").expect("append");
    let reader = WalReader::open_storage(MemStorage::new(), 0).expect("reader");
    drop(reader);
    drop(wal);
}

#[test]
fn sync_inline_writes_and_syncs_on_the_caller_thread() {
    // Proves that under `always` a deferred append is made durable by sync_inline itself
    // (durable on return, listener told), that a group over the limit or another policy is
    // left to the flusher (false, then kick makes it durable), and that nothing is lost.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::Always), 0).expect("open");
    let told: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = told.clone();
    wal.set_durable_listener(Box::new(move |lsn| sink.lock().expect("lock").push(lsn)));
    let a = wal.append_deferring(1, b"small", 100).expect("append");
    let b = wal.append_deferring(1, b"group", 100).expect("append");
    assert!(wal.sync_inline(100));
    assert_eq!(wal.durable_lsn(), b, "durable when sync_inline returns");
    assert!(told.lock().expect("lock").contains(&b));
    // Nothing pending: still true, nothing to do.
    assert!(wal.sync_inline(100));
    // Over the limit: left to the flusher (deferred up to 1000 bytes, so it is not awake).
    let big = wal.append_deferring(1, &[7; 300], 1000).expect("append");
    assert!(!wal.sync_inline(100));
    wal.kick();
    wal.wait_durable(big).expect("the flusher syncs it");
    // Another policy: never inline.
    wal.set_policy(FsyncPolicy::EverySec);
    let c = wal.append_deferring(1, b"later", 100).expect("append");
    assert!(!wal.sync_inline(100));
    wal.kick();
    wal.wait_durable(c).expect("durable");
    let disk = storage.crash_copy();
    wal.close().expect("close");
    let got = recovered(disk);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![a, b, big, c]);
}

#[test]
fn a_slow_disk_leaves_syncs_to_the_flusher() {
    // Proves that while the last sync took longer than INLINE_SYNC_MAX_FSYNC, sync_inline
    // declines (the caller's thread would stall), and that it syncs inline again once the
    // flusher measured a fast sync.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::Always), 0).expect("open");
    storage.set_sync_delay(INLINE_SYNC_MAX_FSYNC * 3);
    let lsn = wal.append(1, b"slow").expect("append");
    wal.wait_durable(lsn).expect("durable");
    let lsn = wal.append_deferring(1, b"next", 100).expect("append");
    assert!(!wal.sync_inline(100), "inline after a slow sync");
    storage.set_sync_delay(Duration::ZERO);
    wal.kick();
    wal.wait_durable(lsn).expect("the flusher syncs it");
    // The flusher may still hold the writer for a moment after its round, and on a busy
    // machine one of its syncs may take over 1 ms again: each declined record goes to the
    // flusher, whose next sync is measured anew.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lsn = wal.append_deferring(1, b"fast again", 100).expect("append");
        if wal.sync_inline(100) {
            assert_eq!(wal.durable_lsn(), lsn);
            break;
        }
        assert!(Instant::now() < deadline, "no inline sync after fast ones");
        wal.kick();
        wal.wait_durable(lsn).expect("durable");
    }
    wal.close().expect("close");
}

#[test]
fn inline_syncs_and_the_flusher_together_lose_no_acknowledged_append() {
    // Proves that many threads appending with deferred wake-ups, each then syncing inline or
    // kicking the flusher, keep every acknowledged record across a power cut, in LSN order,
    // with small segments rolling over under them.
    let storage = MemStorage::new();
    storage.set_sync_delay(Duration::from_micros(200));
    let (wal, _) = Wal::open(storage.clone(), opts(2048, FsyncPolicy::Always), 0).expect("open");
    let (disk, acked) = cut_power_under_writers(&storage, &wal, 6, 250, 600, |wal, payload| {
        let lsn = wal.append_deferring(1, payload, 512)?;
        if !wal.sync_inline(512) {
            wal.kick();
        }
        Ok(lsn)
    });
    let got = recovered(disk);
    for (lsn, payload) in &acked {
        assert_eq!(got.get(lsn), Some(payload), "acknowledged LSN {lsn} lost");
    }
    // After close everything appended is there, once, in order.
    let all = recovered(storage);
    assert_eq!(all.len(), 6 * 250);
    assert!(all.keys().zip(all.keys().skip(1)).all(|(a, b)| a < b));
}

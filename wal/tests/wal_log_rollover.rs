//! The log across segments: appends read back in order over many rollovers, readers from any
//! LSN, a reader tailing a live writer, reopening, and the same on a real directory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vole_wal::log::{verify_log, FsyncPolicy, Wal, WalError, WalOptions};
use vole_wal::record::{DEFAULT_MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_LEN};
use vole_wal::segment::{segment_file_name, SegmentWriter, SEGMENT_HEADER_LEN};
use vole_wal::storage::{FsStorage, MemStorage, Storage};
use vole_wal::tail::{ReadItem, WalReader};

fn opts(segment_bytes: u64, fsync: FsyncPolicy) -> WalOptions {
    WalOptions {
        segment_bytes,
        fsync,
        ..WalOptions::default()
    }
}

fn payload(lsn: u64) -> Vec<u8> {
    format!("payload-{lsn}-{}", "x".repeat((lsn % 7) as usize)).into_bytes()
}

/// Every item a reader yields until it is caught up.
fn drain<S: Storage>(reader: &mut WalReader<S>) -> Vec<ReadItem> {
    let mut out = Vec::new();
    while let Some(item) = reader.next().expect("read") {
        out.push(item);
    }
    out
}

fn records(items: &[ReadItem]) -> Vec<(u64, Vec<u8>)> {
    items
        .iter()
        .map(|item| match item {
            ReadItem::Record { lsn, payload, .. } => (*lsn, payload.clone()),
            other => panic!("unexpected item {other:?}"),
        })
        .collect()
}

#[test]
fn append_and_read_back_across_rollovers() {
    // Proves records appended over many rollovers come back in order with their payloads,
    // and each segment stays within segment_bytes.
    let storage = MemStorage::new();
    let (wal, report) =
        Wal::open(storage.clone(), opts(200, FsyncPolicy::Always), 0).expect("open");
    assert_eq!(report.next_lsn, 1);
    for lsn in 1..=100 {
        assert_eq!(wal.append(3, &payload(lsn)).expect("append"), lsn);
    }
    wal.sync_now().expect("sync");
    let status = wal.status();
    assert!(status.segments > 10, "expected many segments: {status:?}");
    assert_eq!((status.last_lsn, status.durable_lsn), (100, 100));
    for name in storage.list().expect("list") {
        let len = storage.read_all(&name).expect("read").len();
        assert!(len <= 200, "{name} has {len} bytes");
    }
    let mut reader = wal.reader(1).expect("reader");
    let got = records(&drain(&mut reader));
    let want: Vec<_> = (1..=100).map(|l| (l, payload(l))).collect();
    assert_eq!(got, want);
    assert_eq!(reader.position(), 101);

    let mut middle = wal.reader(57).expect("reader");
    let got = records(&drain(&mut middle));
    assert_eq!(got.first().map(|r| r.0), Some(57));
    assert_eq!(got.len(), 44);
    wal.close().expect("close");
}

#[test]
fn record_larger_than_segment_is_alone() {
    // Proves a record larger than segment_bytes is written whole, alone in its segment.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(100, FsyncPolicy::No), 0).expect("open");
    wal.append(1, b"small").expect("append");
    wal.append(1, &[7u8; 500]).expect("append");
    wal.append(1, b"after").expect("append");
    wal.close().expect("close");
    let names = storage.list().expect("list");
    assert_eq!(
        names,
        vec![
            segment_file_name(1),
            segment_file_name(2),
            segment_file_name(3)
        ]
    );
    let big = storage.read_all(&segment_file_name(2)).expect("read");
    assert_eq!(big.len(), SEGMENT_HEADER_LEN + RECORD_HEADER_LEN + 500);
    let mut reader = WalReader::open_storage(storage, 0).expect("reader");
    let got = records(&drain(&mut reader));
    assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(got[1].1, vec![7u8; 500]);
}

#[test]
fn payload_over_limit_is_refused() {
    // Proves append refuses a payload above max_record_payload and the log goes on.
    let options = WalOptions {
        max_record_payload: 10,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(MemStorage::new(), options, 0).expect("open");
    assert_eq!(wal.append(1, &[0; 11]), Err(WalError::PayloadTooLarge(11)));
    assert_eq!(wal.append(1, &[0; 10]), Ok(1));
}

#[test]
fn reader_tails_a_writer_that_rolls_over() {
    // Proves a reader started before a writer thread sees every LSN exactly once, in order,
    // while the writer appends and rolls over many times.
    const N: u64 = 3000;
    let (wal, _) = Wal::open(MemStorage::new(), opts(512, FsyncPolicy::EverySec), 0).expect("open");
    let mut reader = wal.reader(1).expect("reader");
    let writer = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || {
            for lsn in 1..=N {
                assert_eq!(wal.append(9, &payload(lsn)).expect("append"), lsn);
                if lsn % 500 == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut expected = 1;
    while expected <= N {
        assert!(Instant::now() < deadline, "reader stuck at {expected}");
        match reader
            .next_timeout(Duration::from_millis(200))
            .expect("read")
        {
            Some(ReadItem::Record {
                lsn,
                kind,
                payload: p,
            }) => {
                assert_eq!((lsn, kind), (expected, 9));
                assert_eq!(p, payload(lsn));
                expected += 1;
            }
            Some(other) => panic!("unexpected {other:?}"),
            None => {}
        }
    }
    writer.join().expect("writer");
    assert!(wal.status().segments > 50);
    assert_eq!(reader.next().expect("read"), None);
    wal.close().expect("close");
}

#[test]
fn reopen_continues_in_a_new_segment() {
    // Proves reopening keeps every record, never appends to a file found at open, and
    // continues at the next LSN.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::Always), 0).expect("open");
    for lsn in 1..=5 {
        wal.append(1, &payload(lsn)).expect("append");
    }
    wal.close().expect("close");
    assert!(matches!(wal.append(1, b"late"), Err(WalError::Closed)));
    let first_bytes = storage.read_all(&segment_file_name(1)).expect("read");

    let (wal, report) =
        Wal::open(storage.clone(), opts(1 << 20, FsyncPolicy::Always), 0).expect("reopen");
    assert_eq!(
        (report.records, report.last_lsn, report.next_lsn),
        (5, Some(5), 6)
    );
    assert_eq!(wal.last_lsn(), 5);
    assert_eq!(wal.append(1, &payload(6)).expect("append"), 6);
    wal.close().expect("close");
    assert_eq!(
        storage.read_all(&segment_file_name(1)).expect("read"),
        first_bytes,
        "a segment found at open was changed"
    );
    assert_eq!(
        storage.list().expect("list"),
        vec![segment_file_name(1), segment_file_name(6)]
    );
    let mut reader = WalReader::open_storage(storage, 1).expect("reader");
    assert_eq!(records(&drain(&mut reader)).len(), 6);
}

#[test]
fn reopen_without_appends_creates_nothing() {
    // Proves opening and closing with no appends adds no file, and next_lsn_at_least moves
    // the next LSN forward.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), WalOptions::default(), 0).expect("open");
    wal.close().expect("close");
    assert!(storage.list().expect("list").is_empty());
    let (wal, report) = Wal::open(storage.clone(), WalOptions::default(), 40).expect("open");
    assert_eq!(report.next_lsn, 40);
    assert_eq!((wal.last_lsn(), wal.durable_lsn()), (39, 39));
    wal.wait_durable(39).expect("already durable");
    assert_eq!(wal.append(1, b"x").expect("append"), 40);
    wal.close().expect("close");
    assert_eq!(storage.list().expect("list"), vec![segment_file_name(40)]);
}

#[test]
fn empty_newest_segment_is_removed_and_its_name_reused() {
    // Proves a header-only newest segment (a rollover cut short by a crash) is removed at
    // open, still counts for the next LSN, and the new segment of that name holds the next
    // record; nothing is lost.
    let storage = MemStorage::new();
    let mut old = SegmentWriter::create(storage.clone(), 1).expect("create");
    for lsn in 1..=4 {
        old.append(lsn, 1, &payload(lsn)).expect("append");
    }
    old.sync().expect("sync");
    drop(SegmentWriter::create(storage.clone(), 5).expect("create empty"));
    let (wal, report) = Wal::open(storage.clone(), WalOptions::default(), 0).expect("open");
    assert_eq!((report.next_lsn, report.segments), (5, 1));
    assert_eq!(storage.list().expect("list"), vec![segment_file_name(1)]);
    assert_eq!(wal.append(1, &payload(5)).expect("append"), 5);
    wal.close().expect("close");
    let mut reader = WalReader::open_storage(storage, 0).expect("reader");
    let got = records(&drain(&mut reader));
    assert_eq!(got, (1..=5).map(|l| (l, payload(l))).collect::<Vec<_>>());
}

#[test]
fn fs_storage_round_trip_and_reopen() {
    // Proves the log on a real directory: rollover, reopen, offline read, verify.
    let dir = std::env::temp_dir().join(format!("vole-wal-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let storage = FsStorage::new(&dir);
    std::fs::write(dir.join("not-a-segment.txt"), b"ignored").expect("stray file");
    let (wal, _) = Wal::open(storage.clone(), opts(300, FsyncPolicy::Always), 0).expect("open");
    for lsn in 1..=40 {
        wal.append(2, &payload(lsn)).expect("append");
    }
    wal.close().expect("close");
    let report = verify_log(&storage, DEFAULT_MAX_RECORD_PAYLOAD_BYTES).expect("verify");
    assert_eq!((report.records, report.next_lsn), (40, 41));
    assert!(report.segments > 3);
    let (wal, _) = Wal::open(storage.clone(), opts(300, FsyncPolicy::EverySec), 0).expect("reopen");
    assert_eq!(wal.append(2, &payload(41)).expect("append"), 41);
    // A reader sees only what the flusher handed to the storage.
    wal.sync_now().expect("sync");
    let mut live = wal.reader(0).expect("reader");
    let got = records(&drain(&mut live));
    assert_eq!(got, (1..=41).map(|l| (l, payload(l))).collect::<Vec<_>>());
    wal.close().expect("close");
    let mut offline = WalReader::open_storage(storage, 30).expect("reader");
    assert_eq!(records(&drain(&mut offline)).len(), 12);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn listener_sees_durable_lsns() {
    // Proves the durable listener is called with increasing durable LSNs up to the last one.
    let (wal, _) =
        Wal::open(MemStorage::new(), opts(1 << 20, FsyncPolicy::Always), 0).expect("open");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    wal.set_durable_listener(Box::new(move |lsn| {
        sink.lock().expect("lock").push(lsn);
    }));
    for _ in 0..10 {
        let lsn = wal.append(1, b"v").expect("append");
        wal.wait_durable(lsn).expect("durable");
    }
    // The listener runs on the flusher thread, possibly just after the waiter woke; close
    // joins that thread.
    wal.close().expect("close");
    let seen = seen.lock().expect("lock").clone();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&10));
}

#[test]
fn always_preallocates_the_active_segment_and_trims_finished_ones() {
    // Proves that under `always` the active segment (on a real directory) runs ahead in zeros
    // that a live reader never sees, every rolled-over segment ends exactly at its last
    // record, close trims the newest one too, and `everysec` never preallocates.
    for policy in [FsyncPolicy::Always, FsyncPolicy::EverySec] {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = FsStorage::new(dir.path());
        let segment_bytes = 16 << 10;
        let (wal, _) = Wal::open(storage.clone(), opts(segment_bytes, policy), 0).expect("open");
        let mut reader = wal.reader(0).expect("reader");
        let mut last = 0;
        for lsn in 1..=3000u64 {
            last = wal.append(1, &payload(lsn)).expect("append");
            if policy == FsyncPolicy::Always && lsn % 100 == 0 {
                wal.wait_durable(last).expect("durable");
            }
        }
        wal.sync_now().expect("sync");
        let got = records(&drain(&mut reader));
        assert_eq!(got.len(), 3000, "{policy:?}");
        assert_eq!(got.last().map(|(l, _)| *l), Some(last));
        let names: Vec<String> = storage.list().expect("list");
        assert!(names.len() > 2, "{policy:?}: rolled over: {names:?}");
        let scan_len = |name: &str| {
            let bytes = storage.read_all(name).expect("read");
            let report = vole_wal::recover::scan_segment(&bytes);
            (bytes.len(), report.valid_len)
        };
        for name in &names[..names.len() - 1] {
            let (len, valid) = scan_len(name);
            assert_eq!(len, valid, "{policy:?}: finished segment {name} has a tail");
        }
        let newest = names.last().expect("newest");
        let (len, valid) = scan_len(newest);
        match policy {
            FsyncPolicy::Always => assert!(len > valid, "no zeros ahead: {len} {valid}"),
            _ => assert_eq!(len, valid),
        }
        wal.close().expect("close");
        let (len, valid) = scan_len(newest);
        assert_eq!(len, valid, "{policy:?}: close left zeros");
        let report = verify_log(&storage, DEFAULT_MAX_RECORD_PAYLOAD_BYTES).expect("verify");
        assert!(report.torn_tail.is_none() && report.corrupt.is_empty());
    }
}

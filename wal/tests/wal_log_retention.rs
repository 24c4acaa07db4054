//! Retention: floors delete only segments wholly below the lowest floor, never the newest
//! one, durably; readers asking for deleted LSNs get NotRetained.

use vole_wal::log::{FsyncPolicy, Wal, WalOptions};
use vole_wal::segment::parse_segment_file_name;
use vole_wal::storage::{MemStorage, Storage};
use vole_wal::tail::{ReadError, ReadItem, WalReader};

fn opts() -> WalOptions {
    WalOptions {
        segment_bytes: 200,
        fsync: FsyncPolicy::Always,
        ..WalOptions::default()
    }
}

/// First LSNs of the segments on the storage.
fn segment_starts(storage: &MemStorage) -> Vec<u64> {
    storage
        .list()
        .expect("list")
        .iter()
        .filter_map(|n| parse_segment_file_name(n))
        .collect()
}

fn lsns<S: Storage>(mut reader: WalReader<S>) -> Vec<u64> {
    let mut out = Vec::new();
    while let Some(item) = reader.next().expect("read") {
        match item {
            ReadItem::Record { lsn, .. } => out.push(lsn),
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

#[test]
fn floors_delete_only_wholly_older_segments() {
    // Proves apply_retention deletes exactly the segments whose following segment starts at
    // or below the lowest floor, keeps nothing without a floor, and honours every holder.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(), 0).expect("open");
    for i in 0..100u64 {
        wal.append(1, format!("record {i}").as_bytes())
            .expect("append");
    }
    wal.sync_now().expect("sync");
    let starts = segment_starts(&storage);
    assert!(starts.len() > 5);
    assert!(
        wal.apply_retention().expect("retention").is_empty(),
        "no floor"
    );

    wal.set_retention_floor("snapshot", Some(50));
    wal.set_retention_floor(String::from("replica:a"), Some(20));
    let removed = wal.apply_retention().expect("retention");
    let expect_removed = |floor: u64, from: &[u64]| -> Vec<u64> {
        from.windows(2)
            .take_while(|w| w[1] <= floor)
            .map(|w| w[0])
            .collect()
    };
    let want = expect_removed(20, &starts);
    assert_eq!(
        removed
            .iter()
            .filter_map(|n| parse_segment_file_name(n))
            .collect::<Vec<_>>(),
        want
    );
    wal.set_retention_floor("replica:a", None);
    let after_first = segment_starts(&storage);
    let removed = wal.apply_retention().expect("retention");
    assert_eq!(removed.len(), expect_removed(50, &after_first).len());
    let kept = segment_starts(&storage);
    assert!(
        kept[0] <= 50 && kept.get(1).is_none_or(|&s| s > 50),
        "{kept:?}"
    );
    let status = wal.status();
    assert_eq!((status.segments, status.first_lsn), (kept.len(), kept[0]));

    // Readers from a deleted LSN are refused; from the oldest kept they see everything.
    assert!(matches!(
        wal.reader(10),
        Err(ReadError::NotRetained { requested: 10, oldest }) if oldest == kept[0]
    ));
    assert_eq!(
        lsns(wal.reader(0).expect("reader")),
        (kept[0]..=100).collect::<Vec<_>>()
    );

    // A floor past the end deletes everything but the newest segment.
    wal.set_retention_floor("snapshot", Some(1_000));
    wal.apply_retention().expect("retention");
    assert_eq!(segment_starts(&storage).len(), 1);
    assert_eq!(wal.append(1, b"still writing").expect("append"), 101);
    wal.close().expect("close");

    // The deletions were made durable.
    assert_eq!(segment_starts(&storage.crash_copy()).len(), 1);
}

#[test]
fn reader_loses_its_segment_to_retention() {
    // Proves a reader whose next records were deleted after it was made gets NotRetained,
    // and an offline reader checks retention too.
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(), 0).expect("open");
    for i in 0..60u64 {
        wal.append(1, format!("record {i}").as_bytes())
            .expect("append");
    }
    wal.sync_now().expect("sync");
    let mut reader = wal.reader(5).expect("reader");
    wal.set_retention_floor("snapshot", Some(40));
    assert!(!wal.apply_retention().expect("retention").is_empty());
    assert!(matches!(
        reader.next(),
        Err(ReadError::NotRetained { requested: 5, .. })
    ));
    wal.close().expect("close");
    assert!(matches!(
        WalReader::open_storage(storage.clone(), 5),
        Err(ReadError::NotRetained { requested: 5, .. })
    ));
    let oldest = segment_starts(&storage)[0];
    assert_eq!(
        lsns(WalReader::open_storage(storage, 0).expect("reader")),
        (oldest..=60).collect::<Vec<_>>()
    );
}

#[test]
fn reader_ahead_of_the_floor_is_unaffected() {
    // Proves a tailing reader past the floor keeps reading while older segments go.
    let (wal, _) = Wal::open(MemStorage::new(), opts(), 0).expect("open");
    for i in 0..40u64 {
        wal.append(1, format!("record {i}").as_bytes())
            .expect("append");
    }
    wal.sync_now().expect("sync");
    let mut reader = wal.reader(30).expect("reader");
    assert!(matches!(
        reader.next(),
        Ok(Some(ReadItem::Record { lsn: 30, .. }))
    ));
    wal.set_retention_floor("snapshot", Some(30));
    wal.apply_retention().expect("retention");
    for i in 40..80u64 {
        wal.append(1, format!("record {i}").as_bytes())
            .expect("append");
    }
    wal.sync_now().expect("sync");
    for want in 31..=60 {
        assert!(matches!(reader.next(), Ok(Some(ReadItem::Record { lsn, .. })) if lsn == want));
    }
    // A replica floor follows the reader's position.
    wal.set_retention_floor("replica:r", Some(reader.position()));
    wal.set_retention_floor("snapshot", Some(80));
    assert!(!wal.apply_retention().expect("retention").is_empty());
    assert_eq!(lsns(reader), (61..=80).collect::<Vec<_>>());
    wal.close().expect("close");
}

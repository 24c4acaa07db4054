//! Opening a damaged log: the recovery table's cases as the log applies them (torn tail of
//! the newest segment cut off, damage elsewhere reported and skipped, a bad header refused),
//! and what readers see of each.

use vole_wal::log::{verify_log, FsyncPolicy, OpenError, Wal, WalOptions};
use vole_wal::record::{encode_record, DEFAULT_MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_LEN};
use vole_wal::segment::{
    encode_segment_header, parse_segment_file_name, segment_file_name, SEGMENT_HEADER_LEN,
};
use vole_wal::storage::{FsStorage, MemStorage, Storage};
use vole_wal::tail::{ReadError, ReadItem, WalReader};

/// A tiny xorshift64 generator: deterministic, no dependencies.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % n
    }
}

fn payload(lsn: u64) -> Vec<u8> {
    vec![lsn as u8; (lsn % 13) as usize + 1]
}

fn opts(segment_bytes: u64) -> WalOptions {
    WalOptions {
        segment_bytes,
        fsync: FsyncPolicy::Always,
        ..WalOptions::default()
    }
}

/// Everything a reader from the oldest record yields until caught up.
fn read_everything<S: Storage>(mut reader: WalReader<S>) -> Vec<ReadItem> {
    let mut out = Vec::new();
    while let Some(item) = reader.next().expect("read") {
        out.push(item);
    }
    out
}

fn lsns(items: &[ReadItem]) -> Vec<u64> {
    items
        .iter()
        .filter_map(|item| match item {
            ReadItem::Record { lsn, .. } => Some(*lsn),
            ReadItem::Corrupt { .. } => None,
        })
        .collect()
}

/// Writes a segment file directly: header, then the given raw record bytes, synced.
fn write_raw_segment(storage: &MemStorage, first_lsn: u64, body: &[u8]) {
    let name = segment_file_name(first_lsn);
    let mut file = storage.create(&name).expect("create");
    let mut bytes = Vec::new();
    encode_segment_header(first_lsn, &mut bytes);
    bytes.extend_from_slice(body);
    storage.append(&mut file, &bytes).expect("append");
    storage.sync(&mut file).expect("sync");
}

fn records(range: std::ops::RangeInclusive<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    for lsn in range {
        encode_record(lsn, 1, &payload(lsn), &mut out).expect("encode");
    }
    out
}

#[test]
fn torn_tail_at_random_offsets() {
    // Proves that cutting the newest segment anywhere keeps every whole record, reports the
    // torn tail with the bytes dropped, and lets appends continue after the last good LSN.
    const LAST: u64 = 60;
    let storage = MemStorage::new();
    let (wal, _) = Wal::open(storage.clone(), opts(400), 0).expect("open");
    for lsn in 1..=LAST {
        wal.append(1, &payload(lsn)).expect("append");
    }
    wal.close().expect("close");
    let names = storage.list().expect("list");
    let newest = names.last().expect("segments").clone();
    let newest_first = parse_segment_file_name(&newest).expect("segment name");
    let full_len = storage.read_all(&newest).expect("read").len();
    // Where each record of the newest segment ends.
    let mut ends = vec![(SEGMENT_HEADER_LEN, newest_first - 1)];
    for lsn in newest_first..=LAST {
        let end = ends.last().map_or(0, |e| e.0) + RECORD_HEADER_LEN + payload(lsn).len();
        ends.push((end, lsn));
    }
    assert_eq!(ends.last().map(|e| e.0), Some(full_len));

    let mut rng = XorShift(0x5EED_1234_ABCD_0001);
    let mut cuts: Vec<usize> = (0..40)
        .map(|_| rng.below(full_len as u64) as usize)
        .collect();
    cuts.extend([
        0,
        5,
        SEGMENT_HEADER_LEN,
        SEGMENT_HEADER_LEN + 1,
        full_len - 1,
    ]);
    for cut in cuts {
        let disk = storage.crash_copy();
        disk.truncate(&newest, cut as u64).expect("cut");
        let expected_last = if cut < SEGMENT_HEADER_LEN {
            newest_first - 1
        } else {
            ends.iter()
                .filter(|e| e.0 <= cut)
                .map(|e| e.1)
                .max()
                .expect("ends")
        };
        let boundary = ends.iter().any(|e| e.0 == cut);
        let (wal, report) = Wal::open(disk.clone(), opts(400), 0).expect("reopen");
        assert_eq!(report.last_lsn, Some(expected_last), "cut {cut}");
        match &report.torn_tail {
            Some(torn) => {
                assert!(!boundary, "cut {cut} at a boundary reported torn");
                assert_eq!(torn.segment, newest);
                assert_eq!(torn.offset + torn.dropped_bytes, cut as u64);
            }
            None => assert!(boundary, "cut {cut} not reported"),
        }
        assert!(report.corrupt.is_empty());
        assert_eq!(wal.append(1, b"new").expect("append"), expected_last + 1);
        wal.close().expect("close");
        let items = read_everything(WalReader::open_storage(disk, 0).expect("reader"));
        let want: Vec<u64> = (1..=expected_last + 1).collect();
        assert_eq!(lsns(&items), want, "cut {cut}");
        assert_eq!(items.len(), want.len(), "no damage reported after repair");
    }
}

#[test]
fn torn_tail_on_a_real_directory() {
    // Proves the torn-tail repair on FsStorage: the file is cut and appends continue.
    let dir = std::env::temp_dir().join(format!("vole-wal-torn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let storage = FsStorage::new(&dir);
    let (wal, _) = Wal::open(storage.clone(), opts(1 << 20), 0).expect("open");
    for lsn in 1..=3 {
        wal.append(1, &payload(lsn)).expect("append");
    }
    wal.close().expect("close");
    let path = dir.join(segment_file_name(1));
    let len = std::fs::metadata(&path).expect("metadata").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_len(len - 2).expect("cut");
    drop(file);
    let (wal, report) = Wal::open(storage.clone(), opts(1 << 20), 0).expect("reopen");
    let torn = report.torn_tail.expect("torn tail reported");
    assert_eq!(torn.offset + torn.dropped_bytes, len - 2);
    assert_eq!(
        std::fs::metadata(&path).expect("metadata").len(),
        torn.offset
    );
    assert_eq!(wal.append(1, b"x").expect("append"), 3);
    wal.close().expect("close");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn corrupt_record_in_older_segment_is_reported_and_skipped() {
    // Proves a bad checksum in the middle of an older segment is counted and reported with
    // segment, offset and last good LSN, never truncated, and readers skip to the next
    // segment after yielding a Corrupt item.
    let storage = MemStorage::new();
    let mut body = records(1..=3);
    let damaged_at = SEGMENT_HEADER_LEN + body.len();
    let mut bad = records(4..=4);
    bad[RECORD_HEADER_LEN] ^= 0xff;
    body.extend_from_slice(&bad);
    body.extend_from_slice(&records(5..=5));
    write_raw_segment(&storage, 1, &body);
    write_raw_segment(&storage, 6, &records(6..=7));
    let before = storage.read_all(&segment_file_name(1)).expect("read");

    let verified = verify_log(&storage, DEFAULT_MAX_RECORD_PAYLOAD_BYTES).expect("verify");
    let (wal, report) = Wal::open(storage.clone(), WalOptions::default(), 0).expect("open");
    assert_eq!(verified, report);
    assert_eq!(report.corrupt.len(), 1);
    let corrupt = &report.corrupt[0];
    assert_eq!(corrupt.segment, segment_file_name(1));
    assert_eq!(corrupt.offset, damaged_at as u64);
    assert_eq!(corrupt.after_lsn, Some(3));
    assert!(corrupt.reason.contains("checksum"), "{}", corrupt.reason);
    assert_eq!(report.records, 5);
    assert_eq!(wal.status().corrupt_records_skipped, 1);
    assert_eq!(
        storage.read_all(&segment_file_name(1)).expect("read"),
        before,
        "a corrupt segment must not be changed"
    );
    assert_eq!(wal.append(1, b"x").expect("append"), 8);
    wal.sync_now().expect("sync");
    let items = read_everything(wal.reader(0).expect("reader"));
    assert_eq!(lsns(&items), vec![1, 2, 3, 6, 7, 8]);
    assert!(matches!(
        &items[3],
        ReadItem::Corrupt { segment, offset, after_lsn: Some(3), .. }
            if *segment == segment_file_name(1) && *offset == damaged_at as u64
    ));
    wal.close().expect("close");
}

#[test]
fn torn_tail_in_older_segment_is_corruption() {
    // Proves a torn tail in a segment that is not the newest is reported as damage, not cut.
    let storage = MemStorage::new();
    let mut body = records(1..=2);
    let whole = SEGMENT_HEADER_LEN + body.len();
    body.extend_from_slice(&records(3..=3)[..10]);
    write_raw_segment(&storage, 1, &body);
    write_raw_segment(&storage, 4, &records(4..=5));
    let (wal, report) = Wal::open(storage.clone(), WalOptions::default(), 0).expect("open");
    assert!(report.torn_tail.is_none());
    assert_eq!(report.corrupt.len(), 1);
    assert_eq!(report.corrupt[0].offset, whole as u64);
    let items = read_everything(wal.reader(1).expect("reader"));
    assert_eq!(lsns(&items), vec![1, 2, 4, 5]);
    assert!(matches!(
        &items[2],
        ReadItem::Corrupt {
            after_lsn: Some(2),
            ..
        }
    ));
    wal.close().expect("close");
}

#[test]
fn bad_header_stops_open_and_names_the_segment() {
    // Proves a segment with a bad magic stops the open with an error naming the segment,
    // leaves the file alone, and an offline reader refuses it too.
    let storage = MemStorage::new();
    write_raw_segment(&storage, 1, &records(1..=2));
    let name = segment_file_name(3);
    let mut file = storage.create(&name).expect("create");
    storage
        .append(&mut file, b"NOTAWAL!xxxxxxxxxxxxxxxxxxxxxxxxxxxx")
        .expect("append");
    storage.sync(&mut file).expect("sync");
    let err = match Wal::open(storage.clone(), WalOptions::default(), 0) {
        Err(err) => err,
        Ok(_) => panic!("open accepted a bad header"),
    };
    assert!(matches!(&err, OpenError::BadHeader { segment, .. } if *segment == name));
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(storage.read_all(&name).expect("read").len(), 36);
    let mut reader = WalReader::open_storage(storage, 0).expect("reader");
    let mut result = reader.next();
    while let Ok(Some(_)) = result {
        result = reader.next();
    }
    assert!(matches!(result, Err(ReadError::BadHeader { segment, .. }) if segment == name));
}

#[test]
fn offline_reader_treats_newest_torn_tail_as_not_yet_written() {
    // Proves an offline reader stops (None) at a torn tail of the newest segment without
    // reporting damage, and picks up the record once it is whole.
    let storage = MemStorage::new();
    let full = records(1..=2);
    let cut = full.len() - 3;
    write_raw_segment(&storage, 1, &full[..cut]);
    let mut reader = WalReader::open_storage(storage.clone(), 1).expect("reader");
    assert!(matches!(
        reader.next(),
        Ok(Some(ReadItem::Record { lsn: 1, .. }))
    ));
    assert!(matches!(reader.next(), Ok(None)));
    let mut file = storage.open_append(&segment_file_name(1)).expect("open");
    storage.append(&mut file, &full[cut..]).expect("append");
    assert!(matches!(
        reader.next(),
        Ok(Some(ReadItem::Record { lsn: 2, .. }))
    ));
    assert_eq!(reader.position(), 3);
}

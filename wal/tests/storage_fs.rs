//! FsStorage against a real directory: the segment writer's files can be read back, scanned,
//! truncated, listed and removed.

use std::path::PathBuf;

use vole_wal::recover::{scan_segment, SegmentEnd};
use vole_wal::segment::{segment_file_name, SegmentWriter};
use vole_wal::storage::{FsStorage, Storage};

fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vole-wal-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn fs_segment_write_scan_truncate_remove() {
    // Proves FsStorage holds what SegmentWriter wrote, and truncate/list/remove work on it.
    let dir = fresh_dir("segment");
    let storage = FsStorage::new(&dir);
    let mut writer = SegmentWriter::create(storage.clone(), 3).expect("create segment");
    writer.append(3, 1, b"hello").expect("append");
    writer.append(4, 1, b"world").expect("append");
    writer.sync().expect("sync");
    let name = segment_file_name(3);
    assert!(storage.create(&name).is_err(), "create must not overwrite");
    assert_eq!(storage.list().expect("list"), vec![name.clone()]);

    let bytes = storage.read_all(&name).expect("read");
    let report = scan_segment(&bytes);
    assert!(matches!(report.end, SegmentEnd::CleanEnd));
    assert_eq!(report.records, 2);

    storage
        .truncate(&name, bytes.len() as u64 - 2)
        .expect("truncate");
    let torn = scan_segment(&storage.read_all(&name).expect("read"));
    assert!(matches!(torn.end, SegmentEnd::TornTail { .. }));
    assert_eq!(torn.last_lsn, Some(3));

    storage.remove(&name).expect("remove");
    storage.sync_dir().expect("sync dir");
    assert!(storage.list().expect("list").is_empty());
    assert!(storage.read_all("../escape").is_err());
    std::fs::remove_dir_all(&dir).expect("clean up");
}

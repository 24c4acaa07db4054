//! Replays the `wal_segment` fuzz corpus on stable: every file goes through the same checks as
//! the fuzz target (`vole_wal::recover::fuzz_one`), and the named seeds end as expected.

use std::path::Path;

use vole_wal::recover::{scan_segment, SegmentEnd};

#[test]
fn wal_segment_corpus() {
    // Proves no corpus file breaks an invariant of the recovery scan, and the seeds still
    // classify the way their names say.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/wal_segment");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()));
    let mut files: Vec<_> = entries
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    for path in &files {
        let data = std::fs::read(path).expect("read corpus file");
        let outcome = std::panic::catch_unwind(|| vole_wal::recover::fuzz_one(&data));
        assert!(outcome.is_ok(), "corpus file {} failed", path.display());
        let end = scan_segment(&data).end;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let expected_ok = match name {
            "clean_three_records" | "header_only" => matches!(end, SegmentEnd::CleanEnd),
            "torn_tail" | "preallocated_zero_tail" | "torn_over_zeros" => {
                matches!(end, SegmentEnd::TornTail { .. })
            }
            "corrupt_middle" => matches!(end, SegmentEnd::CorruptRecord { .. }),
            "unknown_version" => matches!(end, SegmentEnd::BadHeader { .. }),
            _ => true, // files added by the fuzzer have no expected outcome
        };
        assert!(expected_ok, "seed {name} ended as {end:?}");
    }
}

//! Feeds arbitrary bytes to the WAL segment recovery scan. The checks (no panic, `valid_len`
//! never past the end, the report consistent with itself) live in
//! `vole_wal::recover::fuzz_one`, shared with the corpus replay test
//! `wal/tests/fuzz_corpus_wal.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vole_wal::recover::fuzz_one(data);
    let report = vole_wal::recover::scan_segment(data);
    assert!(report.valid_len <= data.len());
});

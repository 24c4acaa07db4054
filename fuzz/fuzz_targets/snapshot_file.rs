//! Feeds arbitrary bytes to the snapshot file reader. The checks (no panic; the reader, `verify`,
//! `read_meta` and `raw_blocks` agree; accepted entries survive being written again), run on
//! the input as it is and again with its checksums recomputed so mutations reach the
//! decompressor, live in `vole_wal::snapshot::fuzz_one`, shared with the corpus replay test
//! `wal/tests/fuzz_corpus_snapshot.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vole_wal::snapshot::fuzz_one(data);
    if let Ok(meta) = vole_wal::snapshot::read_meta(data) {
        assert!(meta.app.len() <= data.len());
    }
});

//! Replays the `snapshot_file` fuzz corpus on stable: every file goes through the same checks as
//! the fuzz target (`vole_wal::snapshot::fuzz_one`), and the named seeds end as expected.
//!
//! The seeds are written by the ignored test below, through the public writer:
//! `cargo test -p vole-wal --test fuzz_corpus_snapshot -- --ignored write_seed_corpus`.

use std::path::PathBuf;

use vole_wal::snapshot::{
    verify, SnapshotError, SnapshotMeta, SnapshotOptions, SnapshotReader, SnapshotWriter,
};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/snapshot_file")
}

/// What each named seed must do under `verify`; files the fuzzer adds have no expectation.
fn seed_ends_as_expected(
    name: &str,
    got: &Result<vole_wal::snapshot::SnapshotSummary, SnapshotError>,
) -> bool {
    match name {
        "valid_small" => matches!(got, Ok(s) if s.entries == 5 && s.blocks >= 3),
        "valid_empty" => matches!(got, Ok(s) if s.entries == 0 && s.blocks == 0),
        "truncated" => matches!(got, Err(SnapshotError::NoTrailer { .. })),
        "bit_flipped" => matches!(got, Err(SnapshotError::BlockChecksum { index: 0, .. })),
        "unknown_version" => matches!(got, Err(SnapshotError::UnsupportedVersion(2))),
        "frame_size_mismatch" => matches!(got, Err(SnapshotError::Decompress { index: 0, .. })),
        "entry_count_mismatch" => {
            matches!(got, Err(SnapshotError::EntryFraming { index: 0, .. }))
        }
        _ => true,
    }
}

#[test]
fn snapshot_file_corpus() {
    // Proves no corpus file breaks an invariant of the snapshot reader, and the seeds still
    // end the way their names say.
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()));
    let mut files: Vec<_> = entries
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 7, "corpus {} lacks its seeds", dir.display());
    for path in &files {
        let data = std::fs::read(path).expect("read corpus file");
        let outcome = std::panic::catch_unwind(|| vole_wal::snapshot::fuzz_one(&data));
        assert!(outcome.is_ok(), "corpus file {} failed", path.display());
        let got = verify(&data);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            seed_ends_as_expected(name, &got),
            "seed {name} ended as {got:?}"
        );
    }
}

/// Recomputes block `index`'s CRC after its header fields were changed on purpose.
fn reseal_block(bytes: &mut [u8], index: u64) {
    let (offset, compressed_len) = {
        let reader = SnapshotReader::new(bytes).expect("header and trailer");
        let block = reader
            .raw_blocks()
            .nth(index as usize)
            .expect("block exists")
            .expect("block bounds");
        (block.offset() as usize, block.compressed().len())
    };
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[offset..offset + 12]);
    hasher.update(&bytes[offset + 16..offset + 16 + compressed_len]);
    bytes[offset + 12..offset + 16].copy_from_slice(&hasher.finalize().to_le_bytes());
}

#[test]
#[ignore = "writes the seed corpus; run by hand when the format changes"]
fn write_seed_corpus() {
    // Proves nothing: regenerates fuzz/corpus/snapshot_file/ from the public writer.
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).expect("corpus dir");
    let meta = SnapshotMeta {
        lsn: 42,
        created_unix_ms: 1_700_000_000_000,
        app: b"ns:0,1".to_vec(),
    };
    let opts = SnapshotOptions {
        block_bytes: 24,
        ..SnapshotOptions::default()
    };
    let entries: [&[u8]; 5] = [
        b"k1\0v1",
        b"",
        b"an entry longer than a whole block, so it gets a block of its own",
        b"k2\0v2",
        b"x",
    ];
    let mut writer = SnapshotWriter::create(&dir.join("valid_small"), &meta, opts).expect("create");
    for entry in entries {
        writer.add(entry).expect("add");
    }
    writer.finish().expect("finish");
    SnapshotWriter::create(&dir.join("valid_empty"), &meta, opts)
        .expect("create")
        .finish()
        .expect("finish");

    let valid = std::fs::read(dir.join("valid_small")).expect("read");
    let first_block = {
        let reader = SnapshotReader::new(&valid).expect("valid");
        reader
            .raw_blocks()
            .next()
            .expect("a block")
            .expect("bounds")
            .offset() as usize
    };
    let write =
        |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).expect("write seed");

    write("truncated", &valid[..valid.len() - 10]);

    let mut flipped = valid.clone();
    flipped[first_block + 16 + 5] ^= 0x04;
    write("bit_flipped", &flipped);

    let mut version = valid.clone();
    version[8..10].copy_from_slice(&2u16.to_le_bytes());
    write("unknown_version", &version);

    // Header fields changed with the block CRC recomputed, so these reach the decompressor
    // and the entry framing.
    let mut size = valid.clone();
    size[first_block + 4] = size[first_block + 4].wrapping_add(1);
    reseal_block(&mut size, 0);
    write("frame_size_mismatch", &size);

    let mut count = valid.clone();
    count[first_block + 8] = count[first_block + 8].wrapping_add(1);
    reseal_block(&mut count, 0);
    write("entry_count_mismatch", &count);
}

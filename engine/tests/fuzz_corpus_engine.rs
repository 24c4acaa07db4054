//! Replays the `effect_record` and `snapshot_entry` fuzz corpora on stable through the same
//! checks as the fuzz targets, and checks the named seeds decode (or fail) as their names say.

use std::path::{Path, PathBuf};

use vole_engine::effect::{decode_record, DecodeError};
use vole_engine::persist::decode_entry;

fn corpus(name: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files
}

#[test]
fn effect_record_corpus() {
    // Proves no corpus file panics the effect decoder, and the seeds end as named.
    for path in corpus("effect_record") {
        let data = std::fs::read(&path).expect("read");
        let ok = std::panic::catch_unwind(|| vole_engine::effect::fuzz_one(&data));
        assert!(ok.is_ok(), "corpus file {} failed", path.display());
        let (kind, payload) = data.split_first().map(|(k, p)| (*k, p)).unwrap_or((0, &[]));
        let r = decode_record(kind, payload);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let expected = match name {
            "set_one" => r.as_ref().is_ok_and(|r| r.effects.len() == 1),
            "every_op" => r.as_ref().is_ok_and(|r| r.effects.len() == 9),
            "coll_each_type" => r.as_ref().is_ok_and(|r| r.effects.len() == 4),
            "coll_stream" => {
                let ks = vole_engine::keyspace::Keyspace::new(std::sync::Arc::new(
                    vole_engine::clock::ManualClock::new(0),
                ));
                r.is_ok() && vole_engine::effect::apply_record(&ks, data[0], &data[1..]).is_ok()
            }
            "unknown_kind" => matches!(r, Err(DecodeError::UnknownKind(9))),
            "unknown_op" => matches!(r, Err(DecodeError::UnknownOp { op: 200, .. })),
            "truncated" | "overlong_varint" => r.is_err(),
            _ => true,
        };
        assert!(expected, "seed {name}: {r:?}");
    }
}

#[test]
fn snapshot_entry_corpus() {
    // Proves no corpus file panics the entry decoder, and the seeds end as named.
    for path in corpus("snapshot_entry") {
        let data = std::fs::read(&path).expect("read");
        let ok = std::panic::catch_unwind(|| vole_engine::persist::fuzz_entry(&data));
        assert!(ok.is_ok(), "corpus file {} failed", path.display());
        let r = decode_entry(&data);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let expected = match name {
            "string" | "with_expiry" | "hash" | "list" | "set" | "zset" | "stream" => r.is_ok(),
            "unknown_tag" | "huge_length" | "trailing" | "set_duplicate" | "zset_nan"
            | "huge_count" => r.is_err(),
            _ => true,
        };
        assert!(expected, "seed {name}: {r:?}");
    }
}

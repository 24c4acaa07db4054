//! Replays the `resp_request` fuzz corpus on stable: every file goes through the same checks as
//! the fuzz target (`vole_engine::resp::fuzzing::fuzz_one`).

use std::path::Path;

#[test]
fn resp_request_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/resp_request");
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
        let outcome = std::panic::catch_unwind(|| vole_engine::resp::fuzzing::fuzz_one(&data));
        assert!(outcome.is_ok(), "corpus file {} failed", path.display());
    }
}

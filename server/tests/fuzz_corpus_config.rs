//! Replays the `config_file` fuzz corpus on stable through `vole_server::config::fuzz_one`
//! (the fuzz target's body), and checks the named seeds.

use std::path::Path;

use vole_server::config::Config;

#[test]
fn config_file_corpus() {
    // Proves no corpus file panics the config parser; valid seeds apply, bad ones name a line.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/config_file");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in &files {
        let data = std::fs::read(path).expect("read");
        let ok = std::panic::catch_unwind(|| vole_server::config::fuzz_one(&data));
        assert!(ok.is_ok(), "corpus file {} failed", path.display());
        let r = Config::default().apply_file(&String::from_utf8_lossy(&data));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match name {
            "valid" => assert!(r.is_ok(), "{r:?}"),
            "bad_value" | "unknown" | "binary" => assert!(r.is_err()),
            _ => {}
        }
    }
}

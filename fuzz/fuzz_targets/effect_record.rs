//! Feeds arbitrary bytes (first byte: record kind) to the effect-record decoder that replays
//! the WAL. Checks (no panic; whatever decodes re-encodes to the same record) live in
//! `vole_engine::effect::fuzz_one`, shared with `engine/tests/fuzz_corpus_engine.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vole_engine::effect::fuzz_one(data);
});

//! Feeds arbitrary bytes to the snapshot entry decoder (what each entry of a snapshot block
//! holds). Shared body: `vole_engine::persist::fuzz_entry`, replayed by
//! `engine/tests/fuzz_corpus_engine.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vole_engine::persist::fuzz_entry(data);
});

//! Feeds arbitrary bytes to the RESP request parser (whole and in pieces, with small limits)
//! and to the client-side value parser. The checks live in
//! `vole_engine::resp::fuzzing::fuzz_one`, shared with the corpus replay test
//! `engine/tests/fuzz_corpus_resp.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vole_engine::resp::fuzzing::fuzz_one(data);
});

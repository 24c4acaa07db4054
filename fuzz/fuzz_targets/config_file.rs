//! Feeds arbitrary bytes to the config file parser. Shared body:
//! `vole_server::config::fuzz_one`, replayed by `server/tests/fuzz_corpus_config.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vole_server::config::fuzz_one(data);
});

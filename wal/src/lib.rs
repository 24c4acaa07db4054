//! vole-wal: the write-ahead log, as bytes.
//!
//! This crate will hold record framing, segment files, the fsync policies with group commit,
//! tailing by log position (LSN), snapshot files and the recovery scan (the Durability
//! issue). It knows nothing about commands or data types: payloads are opaque bytes, and the
//! dependency arrow points here from `vole-engine`, never back.
//!
//! It is empty today: the Foundation release keeps data in memory only, and says so
//! (`CONFIG GET appendonly` answers `no`).

#![forbid(unsafe_code)]

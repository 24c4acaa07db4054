//! vole-wal: the write-ahead log, as bytes.
//!
//! This crate holds record framing, segment files, the fsync policies with group commit,
//! tailing by log position (LSN), snapshot files and the recovery scan (the Durability
//! issue). It knows nothing about commands or data types: payloads are opaque bytes, and the
//! dependency arrow points here from `vole-engine`, never back.
//!
//! Today it has the first layer, still unused by the server (which keeps data in memory only
//! and says so: `CONFIG GET appendonly` answers `no`):
//!
//! - [`record`]: the record format (length, LSN, kind, CRC32, payload) and its total decoder.
//! - [`segment`]: the segment file header, sortable file names, and [`segment::SegmentWriter`],
//!   which appends records to one segment and syncs them.
//! - [`storage`]: the small [`storage::Storage`] trait every write goes through, with
//!   [`storage::FsStorage`] over `std::fs` and the fault-injecting [`storage::MemStorage`].
//! - [`recover`]: the recovery table and [`recover::scan_segment`], which classifies how a
//!   segment ends (clean end, torn tail, corrupt record, bad header).
//!
//! Next come the `Wal` writer (rolling segments, a directory lock file), the tailer by LSN,
//! the fsync policies with group commit, and snapshot files.

#![forbid(unsafe_code)]

pub mod record;
pub mod recover;
pub mod segment;
pub mod storage;

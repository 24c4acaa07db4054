//! vole-wal: the write-ahead log, as bytes.
//!
//! This crate holds record framing, segment files, the fsync policies with group commit,
//! tailing by log position (LSN), snapshot files and the recovery scan (the Durability
//! issue). It knows nothing about commands or data types: payloads are opaque bytes, and the
//! dependency arrow points here from `vole-engine`, never back.
//!
//! - [`record`]: the record format (length, LSN, kind, CRC32, payload) and its total decoder.
//! - [`segment`]: the segment file header, sortable file names, and [`segment::SegmentWriter`],
//!   which appends records to one segment and syncs them.
//! - [`log`]: [`log::Wal`], the log itself: rolling segments, the fsync policies with group
//!   commit on a flusher thread, recovery at open, retention floors.
//! - [`tail`]: [`tail::WalReader`], reading records by LSN across segments while the writer
//!   keeps appending (replication, start-up replay, `vole-tool`).
//! - [`snapshot`]: the snapshot file format (zstd blocks, each checksummed, a trailer).
//! - [`storage`]: the small [`storage::Storage`] trait every log write goes through, with
//!   [`storage::FsStorage`] over `std::fs` and the fault-injecting [`storage::MemStorage`].
//! - [`recover`]: the recovery table and [`recover::scan_segment`], which classifies how a
//!   segment ends (clean end, torn tail, corrupt record, bad header).
//!
//! The one `unsafe` call in the crate maps a snapshot file (see [`snapshot`]).

#![deny(unsafe_code)]

pub mod log;
pub mod record;
pub mod recover;
pub mod segment;
pub mod snapshot;
pub mod storage;
pub mod tail;

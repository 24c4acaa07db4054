//! vole-engine: the data and every command's logic.
//!
//! - [`resp`]: the sans-IO RESP2/RESP3 codec shared by the server, the CLI, tests and fuzzers.
//! - [`reply`]: the protocol-neutral [`reply::Reply`] and the typed [`reply::CmdError`].
//! - [`index`]: one shard's key index: a hash table for point access beside an ordered set of
//!   positions (key hashes) for SCAN cursors and snapshot cursors.
//! - [`record`]: one allocation per key holding its metadata, key bytes and value.
//! - [`keyspace`]: namespaces (SELECT 0-15 and named ones), shards, expiry, the single writer.
//! - [`command`]: the command table that drives dispatch, `COMMAND`, and the CLI's help.
//! - [`cmd`]: the handlers, one module per group.
//! - [`types`]: hashes, lists, sets and sorted sets: structures, encodings, logged changes.
//! - [`glob`], [`num`], [`clock`]: Redis-compatible matching, number parsing/formatting, time.
//!
//! What this crate is not: it has no sockets and no async runtime. Handlers take parsed
//! arguments and a context and return a reply; the server crate does I/O.

// The one module with `unsafe` is `record` (one allocation per key; see its header).
#![deny(unsafe_code)]

pub mod clock;
pub mod cmd;
pub mod command;
pub mod command_docs;
pub mod effect;
pub mod glob;
pub mod index;
pub mod keyspace;
pub mod num;
pub mod persist;
#[allow(unsafe_code)]
pub mod record;
pub mod reply;
pub mod resp;
pub mod types;
pub mod value;
pub mod watch;

pub use bytes::Bytes;
pub use reply::{CmdError, CmdResult, Reply};

//! vole-tools: the command-line tools around the server.
//!
//! - [`tool`]: `vole-tool`, the offline admin tool for a stopped server's files: `wal
//!   list|dump|verify|repair` over the log directory and `snapshot info|verify|export` over a
//!   snapshot file. The binary (`src/bin/vole-tool.rs`) only hands it the process's arguments,
//!   stdout and stderr, and exits with the code it returns; tests call it the same way.
//!
//! Bytes flow one way: files are read through `vole-wal` (framing, checksums, the recovery
//! scan) and their payloads are decoded by `vole-engine` (effects, snapshot entries), never
//! re-implemented here. What this crate is not: it never talks to a running server, and the
//! only change it ever makes to a file is cutting a torn log tail (`wal repair`), the same cut
//! a server start makes. `vole-cli`, the interactive client, is still to come.

#![forbid(unsafe_code)]

pub mod cli;
pub mod tool;

//! vole-server: the process.
//!
//! - [`config`]: flags, the config file and the parameters behind CONFIG GET/SET.
//! - [`server`]: state shared by all connections and the accept loop.
//! - [`conn`]: one connection: read, parse with the engine's sans-IO codec, gate, execute, write.
//! - [`commands`]: commands that need the process (CLIENT, CONFIG, HELLO, INFO, ...).
//! - [`info`]: the INFO report.
//!
//! The data and the command logic live in `vole-engine`; this crate owns sockets and tasks.

#![forbid(unsafe_code)]

pub mod alloc_stats;
pub mod blocking;
pub mod commands;
pub mod config;
pub mod conn;
pub mod cores;
pub mod durable;
pub mod function;
pub mod info;
pub mod monitor;
pub mod multi;
pub mod notify;
pub mod persistence;
pub mod pubsub;
pub mod script;
pub mod script_libs;
pub mod server;

//! Command handlers, one module per group. Every handler has the shape
//! `fn(&mut Ctx, &[Bytes]) -> CmdResult`, where `args[0]` is the command name; the generic
//! checks (unknown command, arity, auth) already happened in the server's gate.

pub mod bitmap;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
pub mod meta;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

use std::sync::Arc;

use bytes::Bytes;

use crate::keyspace::{Db, Keyspace, Writer};
use crate::num;
use crate::reply::CmdError;

/// Limits that commands enforce on values they build.
#[derive(Debug, Clone)]
pub struct EngineLimits {
    /// Largest string a command may build (SETRANGE, APPEND): Redis's proto-max-bulk-len.
    pub proto_max_bulk_len_bytes: usize,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            proto_max_bulk_len_bytes: 512 * 1024 * 1024,
        }
    }
}

/// What a handler may use: the keyspace, the connection's current namespace, the time.
pub struct Ctx<'a> {
    /// The keyspace.
    pub ks: &'a Keyspace,
    /// The connection's current namespace.
    pub db: &'a Arc<Db>,
    /// The time this command runs at, read once from the keyspace clock.
    pub now_ms: i64,
    /// CLIENT NO-TOUCH: reads do not update the access time.
    pub no_touch: bool,
    /// Size limits.
    pub limits: &'a EngineLimits,
    /// Key lookups that found / did not find their key; the caller adds them to the
    /// INFO counters in batches (shared atomics per command would bounce between cores).
    pub hits: u64,
    /// See `hits`.
    pub misses: u64,
}

impl<'a> Ctx<'a> {
    /// A context on `db` at the keyspace's current time.
    pub fn new(ks: &'a Keyspace, db: &'a Arc<Db>, limits: &'a EngineLimits) -> Ctx<'a> {
        Ctx::at(ks, db, limits, ks.now_ms())
    }

    /// A context at a time the caller read from the keyspace clock (the server reads it once
    /// per batch of pipelined commands).
    pub fn at(ks: &'a Keyspace, db: &'a Arc<Db>, limits: &'a EngineLimits, now_ms: i64) -> Ctx<'a> {
        Ctx {
            ks,
            db,
            now_ms,
            no_touch: false,
            limits,
            hits: 0,
            misses: 0,
        }
    }
}

/// Counts a key lookup for INFO keyspace_hits / keyspace_misses.
#[inline]
pub fn note_lookup(ctx: &mut Ctx<'_>, hit: bool) {
    if hit {
        ctx.hits += 1;
    } else {
        ctx.misses += 1;
    }
}

/// Adds `n` changes to the dirty counter (INFO rdb_changes_since_last_save).
#[inline]
pub fn note_dirty(ctx: &Ctx<'_>, n: u64) {
    ctx.ks
        .stats
        .dirty
        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

/// Logs a collection change of type `tag` (see [`crate::types`]) on `key` of namespace `db`.
#[inline]
pub fn log_coll(w: &mut Writer<'_>, db: u32, key: &[u8], tag: u8, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    if let Some(mut r) = w.record() {
        r.coll(db, key, tag, body);
    }
}

/// Parses the timeout of a blocking command (seconds, a float since Redis 6) into ms, with
/// Redis's errors; 0 means forever.
pub fn block_timeout_ms(arg: &[u8]) -> Result<u64, CmdError> {
    let secs = num::parse_f64(arg)
        .filter(|s| !s.is_nan())
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(CmdError::err("timeout is negative"));
    }
    // Redis 7.2 converts to ms and refuses what no longer fits a long long (`inf` included).
    let ms = (secs * 1000.0).ceil();
    if ms > (i64::MAX / 2) as f64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(ms as u64)
}

/// ASCII case-insensitive comparison of an argument with an option name.
#[inline]
pub fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

/// Parse an integer argument (Redis `string2ll` rules).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    num::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parse a float argument (Redis `string2d` rules).
pub fn float_arg(arg: &[u8]) -> Result<f64, CmdError> {
    num::parse_f64(arg).ok_or(CmdError::NotFloat)
}

/// The command name as typed, for error messages.
pub fn name_of(args: &[Bytes]) -> String {
    args.first()
        .map(|a| String::from_utf8_lossy(a).to_lowercase())
        .unwrap_or_default()
}

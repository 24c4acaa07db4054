//! Keyspace notifications.
//!
//! Writers report the keys they changed, with what kind of change, whenever someone listens
//! (a subscriber of a `__key…` channel, or any pattern subscriber): see
//! [`vole_engine::keyspace::take_changes`]. Right after each command, and after each expiry
//! cycle, this module names the events as Redis does (`set`, `del`, `expired`, `lpush`,
//! `hset`, `rename_from`, ...) and publishes them on:
//!
//! - Vole's channels, always on: `__keyspace__:<key>` (message: the event) and
//!   `__keyevent__:<event>` (message: the key);
//! - Redis's channels `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`, as
//!   `notify-keyspace-events` selects (`K`, `E` and the classes `g$lshzxe`, or `A`).
//!
//! With no listener, writers record nothing and this costs nothing.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use vole_engine::cmd::is;
use vole_engine::effect::{
    Change, CHANGE_APPEND, CHANGE_COLL, CHANGE_DEL, CHANGE_EXPIRE, CHANGE_EXPIRED, CHANGE_SET,
    CHANGE_SETRANGE,
};

use crate::server::Server;

/// Event classes (`notify-keyspace-events` letters).
pub mod class {
    pub const GENERIC: u32 = 1 << 0; // g
    pub const STRING: u32 = 1 << 1; // $
    pub const LIST: u32 = 1 << 2; // l
    pub const SET: u32 = 1 << 3; // s
    pub const HASH: u32 = 1 << 4; // h
    pub const ZSET: u32 = 1 << 5; // z
    pub const EXPIRED: u32 = 1 << 6; // x
    pub const EVICTED: u32 = 1 << 7; // e
    pub const STREAM: u32 = 1 << 8; // t
    pub const KEYSPACE: u32 = 1 << 9; // K
    pub const KEYEVENT: u32 = 1 << 10; // E
    /// `A`: every class above.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM;
}

const LETTERS: &[(char, u32)] = &[
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
];

/// Parses a `notify-keyspace-events` value.
pub fn parse_flags(v: &str) -> Result<u32, String> {
    let mut flags = 0;
    for ch in v.chars() {
        flags |= match ch {
            'A' => class::ALL,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            'm' | 'n' | 'd' => {
                return Err(format!(
                "event class '{ch}' (key-miss, new-key and module events) is not delivered by Vole"
            ))
            }
            c => match LETTERS.iter().find(|(l, _)| *l == c) {
                Some((_, f)) => *f,
                None => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
            },
        };
    }
    Ok(flags)
}

/// Formats flags as Redis prints them (CONFIG GET).
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & class::ALL == class::ALL {
        s.push('A');
    } else {
        for (l, f) in LETTERS {
            if flags & f != 0 {
                s.push(*l);
            }
        }
    }
    if flags & class::KEYSPACE != 0 {
        s.push('K');
    }
    if flags & class::KEYEVENT != 0 {
        s.push('E');
    }
    s
}

/// Whether a subscription to `name` (a channel, or a pattern when `pattern`) may receive
/// keyspace notifications.
pub fn may_hear_key_events(name: &[u8], pattern: bool) -> bool {
    let prefix = b"__key";
    for (i, &c) in name.iter().enumerate() {
        if pattern && matches!(c, b'*' | b'?' | b'[' | b'\\') {
            return true;
        }
        if i >= prefix.len() {
            return true;
        }
        if c != prefix[i] {
            return false;
        }
    }
    // A pattern that is a strict prefix of "__key" matches no event channel.
    name.len() >= prefix.len()
}

fn has_token(args: &[Bytes], names: &[&str]) -> bool {
    args.iter().any(|a| names.iter().any(|n| is(a, n)))
}

/// The event of command `name` on a key it changed in place or set; `src` is whether the
/// key is the command's first key (for the commands that move things between two keys).
fn event_of(name: &str, args: &[Bytes], src: bool) -> Option<(&'static str, u32)> {
    use class::*;
    let dir = |i: usize| args.get(i).is_some_and(|a| is(a, "left"));
    Some(match name {
        "set" | "setnx" | "setex" | "psetex" | "getset" | "mset" | "msetnx" | "bitop" => {
            ("set", STRING)
        }
        "append" => ("append", STRING),
        "setrange" => ("setrange", STRING),
        "incr" | "incrby" | "decr" | "decrby" => ("incrby", STRING),
        "incrbyfloat" => ("incrbyfloat", STRING),
        "setbit" | "bitfield" => ("setbit", STRING),
        "pfadd" | "pfmerge" => ("pfadd", STRING),
        "getex" if has_token(args, &["persist"]) => ("persist", GENERIC),
        "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" => ("expire", GENERIC),
        "persist" => ("persist", GENERIC),
        "del" | "unlink" | "getdel" => ("del", GENERIC),
        "rename" | "renamenx" if src => ("rename_from", GENERIC),
        "rename" | "renamenx" => ("rename_to", GENERIC),
        "copy" => ("copy_to", GENERIC),
        "sort" => ("sortstore", LIST),
        "lpush" | "lpushx" => ("lpush", LIST),
        "rpush" | "rpushx" => ("rpush", LIST),
        "lpop" | "blpop" => ("lpop", LIST),
        "rpop" | "brpop" => ("rpop", LIST),
        "linsert" => ("linsert", LIST),
        "lset" => ("lset", LIST),
        "lrem" => ("lrem", LIST),
        "ltrim" => ("ltrim", LIST),
        "rpoplpush" | "brpoplpush" if src => ("rpop", LIST),
        "rpoplpush" | "brpoplpush" => ("lpush", LIST),
        "lmove" | "blmove" if src => (if dir(3) { "lpop" } else { "rpop" }, LIST),
        "lmove" | "blmove" => (if dir(4) { "lpush" } else { "rpush" }, LIST),
        "lmpop" | "blmpop" if has_token(args, &["left"]) => ("lpop", LIST),
        "lmpop" | "blmpop" => ("rpop", LIST),
        "hset" | "hmset" | "hsetnx" => ("hset", HASH),
        "hdel" => ("hdel", HASH),
        "hincrby" => ("hincrby", HASH),
        "hincrbyfloat" => ("hincrbyfloat", HASH),
        "sadd" => ("sadd", SET),
        "srem" => ("srem", SET),
        "spop" => ("spop", SET),
        "smove" if src => ("srem", SET),
        "smove" => ("sadd", SET),
        "sinterstore" => ("sinterstore", SET),
        "sunionstore" => ("sunionstore", SET),
        "sdiffstore" => ("sdiffstore", SET),
        "zadd" if has_token(args, &["incr"]) => ("zincr", ZSET),
        "zadd" | "geoadd" => ("zadd", ZSET),
        "zincrby" => ("zincr", ZSET),
        "zrem" => ("zrem", ZSET),
        "zremrangebyscore" => ("zremrangebyscore", ZSET),
        "zremrangebyrank" => ("zremrangebyrank", ZSET),
        "zremrangebylex" => ("zremrangebylex", ZSET),
        "zpopmin" | "bzpopmin" => ("zpopmin", ZSET),
        "zpopmax" | "bzpopmax" => ("zpopmax", ZSET),
        "zmpop" | "bzmpop" if has_token(args, &["min"]) => ("zpopmin", ZSET),
        "zmpop" | "bzmpop" => ("zpopmax", ZSET),
        "zunionstore" => ("zunionstore", ZSET),
        "zinterstore" => ("zinterstore", ZSET),
        "zdiffstore" => ("zdiffstore", ZSET),
        "zrangestore" => ("zrangestore", ZSET),
        "geosearchstore" => ("geosearchstore", ZSET),
        "georadius" | "georadiusbymember" => ("georadiusstore", ZSET),
        "xadd" => ("xadd", STREAM),
        "xtrim" => ("xtrim", STREAM),
        "xdel" => ("xdel", STREAM),
        "xsetid" => ("xsetid", STREAM),
        "xgroup" => {
            let sub = args.get(1)?;
            let event = [
                "create",
                "setid",
                "destroy",
                "createconsumer",
                "delconsumer",
            ]
            .iter()
            .zip([
                "xgroup-create",
                "xgroup-setid",
                "xgroup-destroy",
                "xgroup-createconsumer",
                "xgroup-delconsumer",
            ])
            .find(|(s, _)| is(sub, s))?
            .1;
            (event, STREAM)
        }
        _ => return None,
    })
}

/// Commands that store a computed result: an empty result deletes the destination and is
/// reported as `del` alone.
fn stores(name: &str) -> bool {
    name.ends_with("store")
        || matches!(
            name,
            "bitop" | "sort" | "georadius" | "georadiusbymember" | "pfmerge"
        )
}

/// The events, in Redis's order, for one change made by command `name`.
fn events(name: &str, args: &[Bytes], c: &Change) -> Vec<(&'static str, u32)> {
    use class::*;
    let src = args.get(1).is_some_and(|a| a[..] == c.key[..]);
    match c.kind {
        CHANGE_EXPIRED => vec![("expired", EXPIRED)],
        CHANGE_DEL => {
            let own = event_of(name, args, src);
            match own {
                // DEL, UNLINK, GETDEL, an EXPIRE in the past: the deletion is the event.
                Some(("del" | "expire" | "persist", _)) | None => vec![("del", GENERIC)],
                Some(("rename_from", _)) => vec![("rename_from", GENERIC)],
                Some(_) if stores(name) => vec![("del", GENERIC)],
                // The last element went: the operation, then the key's deletion.
                Some(e) => vec![e, ("del", GENERIC)],
            }
        }
        CHANGE_SET | CHANGE_COLL | CHANGE_APPEND | CHANGE_SETRANGE | CHANGE_EXPIRE => {
            let Some(e) = event_of(name, args, src) else {
                return Vec::new();
            };
            let mut out = vec![e];
            let sets_ttl = matches!(name, "setex" | "psetex")
                || (name == "set" && has_token(&args[3..], &["ex", "px", "exat", "pxat"]));
            if c.kind == CHANGE_SET && sets_ttl {
                out.push(("expire", GENERIC));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Publishes the notifications for the changes command `args` made.
pub fn publish_for_command(server: &Server, args: &[Bytes], mut changes: Vec<Change>) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    if matches!(
        name.as_str(),
        "rpoplpush" | "brpoplpush" | "lmove" | "blmove"
    ) {
        // Redis reports the push to the destination before the pop from the source.
        changes.sort_by_key(|c| args.get(1).is_some_and(|a| a[..] == c.key[..]));
    }
    for c in &changes {
        for (event, class) in events(&name, args, c) {
            publish(server, c, event, class);
        }
    }
}

/// Publishes `expired` for keys the expiry cycle deleted (and anything else reported).
pub fn publish_expired(server: &Server, changes: Vec<Change>) {
    for c in &changes {
        if c.kind == CHANGE_EXPIRED {
            publish(server, c, "expired", class::EXPIRED);
        }
    }
}

fn publish(server: &Server, c: &Change, event: &'static str, class: u32) {
    let ps = &server.pubsub;
    let ev = Bytes::from_static(event.as_bytes());
    let mut ch = Vec::with_capacity(24 + c.key.len());
    ch.extend_from_slice(b"__keyspace__:");
    ch.extend_from_slice(&c.key);
    ps.publish(&Bytes::from(ch), &ev);
    let mut ch = Vec::with_capacity(16 + event.len());
    ch.extend_from_slice(b"__keyevent__:");
    ch.extend_from_slice(event.as_bytes());
    ps.publish(&Bytes::from(ch), &c.key);
    let flags = server.notify_flags.load(Ordering::Relaxed);
    if flags & class == 0 {
        return;
    }
    if flags & class::KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{}__:", c.db).into_bytes();
        ch.extend_from_slice(&c.key);
        ps.publish(&Bytes::from(ch), &ev);
    }
    if flags & class::KEYEVENT != 0 {
        let ch = format!("__keyevent@{}__:{event}", c.db);
        ps.publish(&Bytes::from(ch), &c.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_as_redis_prints_them() {
        assert_eq!(flags_to_string(parse_flags("KEA").expect("KEA")), "AKE");
        assert_eq!(flags_to_string(parse_flags("Elg$").expect("Elg$")), "g$lE");
        assert_eq!(flags_to_string(parse_flags("").expect("empty")), "");
        assert!(parse_flags("KEZ").is_err());
    }

    #[test]
    fn which_subscriptions_may_hear_key_events() {
        assert!(may_hear_key_events(b"__keyspace__:k", false));
        assert!(may_hear_key_events(b"__keyevent@0__:set", false));
        assert!(!may_hear_key_events(b"news", false));
        assert!(!may_hear_key_events(b"__ke", false));
        assert!(may_hear_key_events(b"*", true));
        assert!(may_hear_key_events(b"__key*", true));
        assert!(may_hear_key_events(b"_?", true));
        assert!(!may_hear_key_events(b"news*", true));
    }
}

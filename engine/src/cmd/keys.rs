//! Generic key commands: DEL UNLINK EXISTS TYPE KEYS SCAN RENAME RENAMENX COPY TOUCH RANDOMKEY
//! EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL PERSIST EXPIRETIME PEXPIRETIME DBSIZE FLUSHDB
//! FLUSHALL OBJECT MEMORY.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use super::{int_arg, is, name_of, Ctx};
use crate::glob::{is_match_all, GlobPattern};
use crate::keyspace::{KeyRef, Record, NUMBERED_DBS};
use crate::reply::{CmdError, CmdResult, Reply};
use crate::value::ValueRef;

fn dirty(ctx: &Ctx<'_>, n: u64) {
    if n > 0 {
        ctx.ks.stats.dirty.fetch_add(n, Ordering::Relaxed);
    }
}

/// DEL key [key ...] / UNLINK key [key ...]
pub fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys: Vec<KeyRef<'_>> = args[1..].iter().map(|a| ctx.db.locate(a)).collect();
    let mut w = ctx.ks.writer();
    let mut guards = ctx.db.write_many(&keys, &w);
    let mut n = 0;
    for k in &keys {
        let sh = guards.shard(k);
        if let Some(item) = sh.remove(k, &mut w) {
            if !item.is_expired(ctx.now_ms) {
                n += 1;
            }
        }
    }
    drop(guards);
    drop(w);
    dirty(ctx, n);
    Ok(Reply::Int(n as i64))
}

/// EXISTS key [key ...]: a key named twice counts twice.
pub fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for a in &args[1..] {
        let k = ctx.db.locate(a);
        n += i64::from(ctx.db.read(k.shard).contains(&k, ctx.now_ms));
    }
    Ok(Reply::Int(n))
}

/// TOUCH key [key ...]
pub fn touch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for a in &args[1..] {
        let k = ctx.db.locate(a);
        let sh = ctx.db.read(k.shard);
        if let Some(i) = sh.get(&k, ctx.now_ms) {
            i.touch(ctx.now_ms);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// TYPE key
pub fn type_(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let t = sh
        .get(&k, ctx.now_ms)
        .map_or("none", |i| i.view().type_name());
    Ok(Reply::status(t))
}

/// KEYS pattern
pub fn keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let all = is_match_all(&args[1]);
    let pattern = GlobPattern::new(&args[1], false);
    let mut out = Vec::new();
    for shard in 0..crate::keyspace::SHARDS {
        let sh = ctx.db.read(shard);
        for e in sh.iter() {
            if !e.is_expired(ctx.now_ms) && (all || pattern.matches(e.key())) {
                out.push(Reply::bulk(e.key()));
            }
        }
    }
    Ok(Reply::Array(out))
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub fn scan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::err("invalid cursor"))?;
    let mut pattern: Option<&Bytes> = None;
    let mut count: usize = 10;
    let mut type_filter: Option<&Bytes> = None;
    let mut i = 2;
    while i < args.len() {
        let Some(v) = args.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if is(&args[i], "MATCH") {
            pattern = Some(v);
        } else if is(&args[i], "COUNT") {
            let c = int_arg(v)?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if is(&args[i], "TYPE") {
            type_filter = Some(v);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let pattern = pattern
        .filter(|p| !is_match_all(p))
        .map(|p| GlobPattern::new(p, false));
    let mut keys = Vec::new();
    let next = ctx.db.scan(cursor, count, ctx.now_ms, |e| {
        if let Some(p) = &pattern {
            if !p.matches(e.key()) {
                return;
            }
        }
        if let Some(t) = type_filter {
            if !is(t, e.view().type_name()) {
                return;
            }
        }
        keys.push(Reply::bulk(e.key()));
    });
    Ok(Reply::Array(vec![
        Reply::bulk_string(next.to_string()),
        Reply::Array(keys),
    ]))
}

/// RANDOMKEY
pub fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Ok(ctx
        .db
        .random_key(ctx.now_ms)
        .map_or(Reply::Nil, |k| Reply::bulk(&k)))
}

/// RENAME key newkey / RENAMENX key newkey
pub fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let nx = is(&args[0], "renamenx");
    let src = ctx.db.locate(&args[1]);
    let dst = ctx.db.locate(&args[2]);
    let mut w = ctx.ks.writer();
    let mut guards = ctx.db.write_many(&[src, dst], &w);
    let now = ctx.now_ms;
    if !guards.shard(&src).contains(&src, now) {
        return Err(CmdError::NoSuchKey);
    }
    if src.key == dst.key {
        return Ok(if nx { Reply::Int(0) } else { Reply::Ok });
    }
    if nx && guards.shard(&dst).contains(&dst, now) {
        return Ok(Reply::Int(0));
    }
    let Some(item) = guards.shard(&src).remove(&src, &mut w) else {
        return Err(CmdError::NoSuchKey);
    };
    guards
        .shard(&dst)
        .insert_record(&dst, item.moved_to(dst.key), &mut w);
    drop(guards);
    drop(w);
    dirty(ctx, 1);
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut replace = false;
    let mut target_db = None;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "REPLACE") {
            replace = true;
        } else if is(&args[i], "DB") && i + 1 < args.len() {
            let n = int_arg(&args[i + 1])?;
            if !(0..i64::from(NUMBERED_DBS)).contains(&n) {
                return Err(CmdError::err("DB index is out of range"));
            }
            target_db = Some(n as u32);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let dst_db = match target_db {
        Some(n) => ctx
            .ks
            .db(n)
            .cloned()
            .ok_or_else(|| CmdError::err("DB index is out of range"))?,
        None => Arc::clone(ctx.db),
    };
    let same_db = Arc::ptr_eq(&dst_db, ctx.db);
    if same_db && args[1] == args[2] {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let src = ctx.db.locate(&args[1]);
    let dst = dst_db.locate(&args[2]);
    let copy = {
        let sh = ctx.db.read(src.shard);
        match sh.get(&src, now) {
            Some(item) => item.copied_to(dst.key, now),
            None => return Ok(Reply::Int(0)),
        }
    };
    let mut sh = dst_db.write(dst.shard, &w);
    if sh.get_mut(&dst, now, &mut w).is_some() {
        if !replace {
            return Ok(Reply::Int(0));
        }
        sh.remove(&dst, &mut w);
    }
    sh.insert_record(&dst, copy, &mut w);
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Int(1))
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT]
pub fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let name = name_of(args);
    let unit_ms = name.starts_with('p');
    let absolute = name.ends_with("at");
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &args[3..] {
        if is(a, "NX") {
            nx = true;
        } else if is(a, "XX") {
            xx = true;
        } else if is(a, "GT") {
            gt = true;
        } else if is(a, "LT") {
            lt = true;
        } else {
            return Err(CmdError::err(format!(
                "Unsupported option {}",
                String::from_utf8_lossy(a)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let v = int_arg(&args[2])?;
    let invalid = || CmdError::InvalidExpire(name.clone());
    let ms = if unit_ms {
        v
    } else {
        v.checked_mul(1000).ok_or_else(invalid)?
    };
    let now = ctx.now_ms;
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now).ok_or_else(invalid)?
    };
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let Some(item) = sh.get_mut(&k, now, &mut w) else {
        return Ok(Reply::Int(0));
    };
    let current = item.expire_at();
    // A key without a TTL counts as an infinite TTL for GT and LT.
    let refuse = (nx && current != 0)
        || (xx && current == 0)
        || (gt && (current == 0 || at <= current))
        || (lt && current != 0 && at >= current);
    if refuse {
        return Ok(Reply::Int(0));
    }
    if at <= now {
        sh.remove(&k, &mut w);
    } else {
        sh.set_expire(&k, at, &mut w);
    }
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Int(1))
}

/// TTL / PTTL / EXPIRETIME / PEXPIRETIME key
pub fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(item) = sh.get(&k, ctx.now_ms) else {
        return Ok(Reply::Int(-2));
    };
    let at = item.expire_at();
    if at == 0 {
        return Ok(Reply::Int(-1));
    }
    let left = (at - ctx.now_ms).max(0);
    let cmd = &args[0];
    Ok(Reply::Int(if is(cmd, "ttl") {
        (left + 500) / 1000
    } else if is(cmd, "pttl") {
        left
    } else if is(cmd, "expiretime") {
        at / 1000
    } else {
        at
    }))
}

/// PERSIST key
pub fn persist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let has_ttl = sh
        .get_mut(&k, ctx.now_ms, &mut w)
        .is_some_and(|i| i.expire_at() != 0);
    if !has_ttl {
        return Ok(Reply::Int(0));
    }
    sh.set_expire(&k, 0, &mut w);
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Int(1))
}

/// DBSIZE
pub fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.db.len() as i64))
}

fn flush_mode_ok(args: &[Bytes]) -> Result<(), CmdError> {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "ASYNC") || is(&args[1], "SYNC") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// FLUSHDB [ASYNC | SYNC]
pub fn flushdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    flush_mode_ok(args)?;
    let n = ctx.db.len() as u64;
    let mut w = ctx.ks.writer();
    ctx.db.clear(&mut w);
    drop(w);
    dirty(ctx, n.max(1));
    Ok(Reply::Ok)
}

/// FLUSHALL [ASYNC | SYNC]
pub fn flushall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    flush_mode_ok(args)?;
    let mut w = ctx.ks.writer();
    ctx.ks.flush_all(&mut w);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Ok)
}

/// Integers Redis shares between keys (OBJECT REFCOUNT answers INT_MAX for them).
const SHARED_INTEGERS: i64 = 10000;

/// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key, OBJECT HELP
pub fn object(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_lowercase();
    if sub == "help" && args.len() == 2 {
        return Ok(help_reply(&[
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Print this help.",
        ]));
    }
    if args.len() != 3 || !["encoding", "refcount", "idletime", "freq"].contains(&sub.as_str()) {
        return Err(CmdError::UnknownSubcommand {
            command: "OBJECT".into(),
            sub,
        });
    }
    let k = ctx.db.locate(&args[2]);
    let sh = ctx.db.read(k.shard);
    let Some(item) = sh.get(&k, ctx.now_ms) else {
        return Ok(Reply::Nil);
    };
    Ok(match sub.as_str() {
        "encoding" => Reply::bulk(item.view().encoding()),
        "refcount" => {
            let shared = match item.view() {
                ValueRef::Str { data, raw: false } => crate::num::parse_i64(data)
                    .is_some_and(|n| (0..SHARED_INTEGERS).contains(&n)),
                _ => false,
            };
            Reply::Int(if shared { i64::from(i32::MAX) } else { 1 })
        }
        "idletime" => Reply::Int(item.idle_seconds(ctx.now_ms)),
        _ => {
            return Err(CmdError::err(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ))
        }
    })
}

/// MEMORY USAGE key [SAMPLES count], MEMORY HELP
pub fn memory(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_lowercase();
    match sub.as_str() {
        "help" if args.len() == 2 => Ok(help_reply(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Print this help.",
        ])),
        "usage" if args.len() >= 3 => {
            let mut i = 3;
            while i < args.len() {
                if is(&args[i], "SAMPLES") && i + 1 < args.len() {
                    if int_arg(&args[i + 1])? < 0 {
                        return Err(CmdError::Syntax);
                    }
                    i += 2;
                } else {
                    return Err(CmdError::Syntax);
                }
            }
            let k = ctx.db.locate(&args[2]);
            let sh = ctx.db.read(k.shard);
            Ok(match sh.get(&k, ctx.now_ms) {
                // The table slot (a pointer and a control byte) plus the record and
                // whatever a collection holds.
                Some(item) => {
                    Reply::Int((std::mem::size_of::<Record>() + 1 + item.memory_bytes()) as i64)
                }
                None => Reply::Nil,
            })
        }
        _ => Err(CmdError::UnknownSubcommand {
            command: "MEMORY".into(),
            sub,
        }),
    }
}

/// A HELP reply: an array of status lines.
pub fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::status(l)).collect())
}

//! String commands: GET SET MGET MSET MSETNX SETNX SETEX PSETEX GETSET GETEX GETDEL GETRANGE
//! SETRANGE SUBSTR INCR INCRBY DECR DECRBY INCRBYFLOAT APPEND STRLEN.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{int_arg, is, name_of, Ctx};
use crate::keyspace::{Item, KeyRef, Record, Shard};
use crate::num::{self, LongDouble};
use crate::reply::{CmdError, CmdResult, Reply};
use crate::value::{StrBuf, Value};

/// The string stored at `k`, or WRONGTYPE if the key holds another type.
fn string_of<'s>(sh: &'s Shard, k: &KeyRef<'_>, now: i64) -> Result<Option<&'s [u8]>, CmdError> {
    match sh.get(k, now) {
        None => Ok(None),
        Some(item) => item.as_str().map(Some).ok_or(CmdError::WrongType),
    }
}

/// An owned copy of a stored string, for a reply.
fn to_bytes(data: &[u8]) -> Bytes {
    Bytes::copy_from_slice(data)
}

fn count_lookup(ctx: &mut Ctx<'_>, hit: bool) {
    if hit {
        ctx.hits += 1;
    } else {
        ctx.misses += 1;
    }
}

fn dirty(ctx: &Ctx<'_>, n: u64) {
    ctx.ks.stats.dirty.fetch_add(n, Ordering::Relaxed);
}

/// Parse a relative or absolute expiry argument into absolute ms. `cmd` names the command
/// in the "invalid expire time" error.
pub fn parse_expire(
    arg: &[u8],
    unit_ms: bool,
    absolute: bool,
    now: i64,
    cmd: &str,
) -> Result<i64, CmdError> {
    let v = int_arg(arg)?;
    let invalid = || CmdError::InvalidExpire(cmd.to_string());
    if v <= 0 {
        return Err(invalid());
    }
    let ms = if unit_ms {
        v
    } else {
        v.checked_mul(1000).ok_or_else(invalid)?
    };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now).ok_or_else(invalid)?
    };
    if at <= 0 {
        return Err(invalid());
    }
    Ok(at)
}

/// EX / PX / EXAT / PXAT: (unit is ms, time is absolute), or None for another word.
fn expiry_kind(a: &[u8]) -> Option<(bool, bool)> {
    if is(a, "EX") {
        Some((false, false))
    } else if is(a, "PX") {
        Some((true, false))
    } else if is(a, "EXAT") {
        Some((false, true))
    } else if is(a, "PXAT") {
        Some((true, true))
    } else {
        None
    }
}

/// GET key
pub fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let v = match sh.get(&k, ctx.now_ms) {
        None => None,
        Some(item) => match item.as_str() {
            Some(data) => {
                if !ctx.no_touch {
                    item.touch(ctx.now_ms);
                }
                Some(to_bytes(data))
            }
            None => return Err(CmdError::WrongType),
        },
    };
    drop(sh);
    count_lookup(ctx, v.is_some());
    Ok(Reply::opt_bulk(v))
}

/// STRLEN key
pub fn strlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    Ok(Reply::Int(
        string_of(&sh, &k, ctx.now_ms)?.map_or(0, |d| d.len() as i64),
    ))
}

/// MGET key [key ...]: values of other types read as nil, as in Redis.
pub fn mget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys: Vec<KeyRef<'_>> = args[1..].iter().map(|a| ctx.db.locate(a)).collect();
    let guards = ctx.db.read_many(&keys);
    let mut out = Vec::with_capacity(keys.len());
    let mut hits = 0;
    for k in &keys {
        let v = string_of(guards.shard(k), k, ctx.now_ms)
            .ok()
            .flatten()
            .map(to_bytes);
        hits += usize::from(v.is_some());
        out.push(Reply::opt_bulk(v));
    }
    drop(guards);
    ctx.hits += hits as u64;
    ctx.misses += (keys.len() - hits) as u64;
    Ok(Reply::Array(out))
}

/// Options of the SET family.
#[derive(Default)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    /// Absolute expiry (0 = none).
    expire_at: i64,
}

/// The one implementation behind SET, SETNX, SETEX, PSETEX and GETSET.
fn set_generic(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    o: &SetOpts,
) -> Result<(bool, Option<Bytes>), CmdError> {
    let k = ctx.db.locate(key);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    // A plain SET needs nothing of the old value, so it skips reading it.
    let mut old = None;
    if o.nx || o.xx || o.get || o.keepttl {
        let existing = sh.get_mut(&k, now, &mut w);
        let found = existing.is_some();
        old = match existing {
            Some(item) => match item.as_str() {
                Some(data) => Some(to_bytes(data)),
                None if o.get => return Err(CmdError::WrongType),
                None => None,
            },
            None => None,
        };
        if (o.nx && found) || (o.xx && !found) {
            return Ok((false, old));
        }
        if o.keepttl {
            if let Some(item) = sh.get_mut(&k, now, &mut w) {
                item.set_str(value, false);
                item.touch(now);
                if let Some(mut r) = w.record() {
                    r.set(ctx.db.id, key, item.view(), item.expire_at());
                }
                drop(sh);
                drop(w);
                dirty(ctx, 1);
                return Ok((true, old));
            }
        }
    }
    sh.insert_record(
        &k,
        Record::new_str(key, value, false, o.expire_at, (now / 1000) as u32),
        &mut w,
    );
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok((true, old))
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
pub fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut o = SetOpts::default();
    // Options are all read before any value is parsed, as Redis does, so a conflicting
    // option is a syntax error even when a value is also malformed.
    let mut expiry: Option<(&Bytes, bool, bool)> = None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        let expiry_given = expiry.is_some() || o.keepttl;
        if is(a, "NX") && !o.xx {
            o.nx = true;
        } else if is(a, "XX") && !o.nx {
            o.xx = true;
        } else if is(a, "GET") {
            o.get = true;
        } else if is(a, "KEEPTTL") && !expiry_given {
            o.keepttl = true;
        } else if let (false, Some(v), Some((unit_ms, absolute))) =
            (expiry_given, next, expiry_kind(a))
        {
            expiry = Some((v, unit_ms, absolute));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if let Some((v, unit_ms, absolute)) = expiry {
        o.expire_at = parse_expire(v, unit_ms, absolute, ctx.now_ms, "set")?;
    }
    let (done, old) = set_generic(ctx, &args[1], &args[2], &o)?;
    if o.get {
        return Ok(Reply::opt_bulk(old));
    }
    Ok(if done { Reply::Ok } else { Reply::Nil })
}

/// SETNX key value
pub fn setnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        nx: true,
        ..SetOpts::default()
    };
    let (done, _) = set_generic(ctx, &args[1], &args[2], &o)?;
    Ok(Reply::Int(i64::from(done)))
}

/// SETEX key seconds value / PSETEX key milliseconds value
pub fn setex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let name = name_of(args);
    let unit_ms = name == "psetex";
    let expire_at = parse_expire(&args[2], unit_ms, false, ctx.now_ms, &name)?;
    let o = SetOpts {
        expire_at,
        ..SetOpts::default()
    };
    set_generic(ctx, &args[1], &args[3], &o)?;
    Ok(Reply::Ok)
}

/// GETSET key value
pub fn getset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        get: true,
        ..SetOpts::default()
    };
    let (_, old) = set_generic(ctx, &args[1], &args[2], &o)?;
    Ok(Reply::opt_bulk(old))
}

/// MSET key value [key value ...] / MSETNX key value [key value ...]
pub fn mset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(CmdError::WrongArity(name_of(args)));
    }
    let nx = is(&args[0], "msetnx");
    let pairs: Vec<(KeyRef<'_>, &Bytes)> = args[1..]
        .chunks_exact(2)
        .map(|p| (ctx.db.locate(&p[0]), &p[1]))
        .collect();
    let keys: Vec<KeyRef<'_>> = pairs.iter().map(|(k, _)| *k).collect();
    let mut w = ctx.ks.writer();
    let mut guards = ctx.db.write_many(&keys, &w);
    let now = ctx.now_ms;
    if nx && keys.iter().any(|k| guards.shard(k).contains(k, now)) {
        return Ok(Reply::Int(0));
    }
    for (k, v) in &pairs {
        guards
            .shard(k)
            .insert(k, Item::new(Value::string(v), now), &mut w);
    }
    drop(guards);
    drop(w);
    dirty(ctx, pairs.len() as u64);
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

/// GETDEL key
pub fn getdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let v = string_of(&sh, &k, ctx.now_ms)?.map(to_bytes);
    if v.is_some() {
        sh.remove(&k, &mut w);
        drop(sh);
        drop(w);
        dirty(ctx, 1);
    }
    Ok(Reply::opt_bulk(v))
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]
pub fn getex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut persist = false;
    let mut expiry: Option<(&Bytes, bool, bool)> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let given = persist || expiry.is_some();
        if is(a, "PERSIST") && !given {
            persist = true;
        } else if let (false, Some(v), Some((unit_ms, absolute))) =
            (given, args.get(i + 1), expiry_kind(a))
        {
            expiry = Some((v, unit_ms, absolute));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    // None = leave the TTL; Some(0) = persist; Some(t) = expire at t.
    let change: Option<i64> = match expiry {
        Some((v, unit_ms, absolute)) => {
            Some(parse_expire(v, unit_ms, absolute, ctx.now_ms, "getex")?)
        }
        None if persist => Some(0),
        None => None,
    };
    let k = ctx.db.locate(&args[1]);
    let Some(change) = change else {
        let sh = ctx.db.read(k.shard);
        let v = string_of(&sh, &k, ctx.now_ms)?.map(to_bytes);
        drop(sh);
        count_lookup(ctx, v.is_some());
        return Ok(Reply::opt_bulk(v));
    };
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let v = string_of(&sh, &k, ctx.now_ms)?.map(to_bytes);
    if v.is_some() {
        if change != 0 && change <= ctx.now_ms {
            sh.remove(&k, &mut w);
        } else {
            sh.set_expire(&k, change, &mut w);
        }
        drop(sh);
        drop(w);
        dirty(ctx, 1);
    }
    count_lookup(ctx, v.is_some());
    Ok(Reply::opt_bulk(v))
}

/// GETRANGE key start end (and its old name SUBSTR)
pub fn getrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(s) = string_of(&sh, &k, ctx.now_ms)? else {
        return Ok(Reply::bulk(b""));
    };
    Ok(Reply::Bulk(range_of(s, start, end)))
}

/// The bytes of `s` between `start` and `end` inclusive, with Redis's index rules.
fn range_of(s: &[u8], start: i64, end: i64) -> Bytes {
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Bytes::new();
    }
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Bytes::new();
    }
    Bytes::copy_from_slice(&s[start as usize..=end as usize])
}

/// SETRANGE key offset value
pub fn setrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(CmdError::ValueOutOfRange("offset"));
    }
    let value = &args[3];
    let offset = offset as usize;
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    let current = match sh.get_mut(&k, now, &mut w) {
        Some(item) => Some(item.as_str().ok_or(CmdError::WrongType)?.len()),
        None => None,
    };
    if value.is_empty() {
        return Ok(Reply::Int(current.map_or(0, |c| c as i64)));
    }
    let needed = offset
        .checked_add(value.len())
        .ok_or(CmdError::StringTooLong)?;
    if needed > ctx.limits.proto_max_bulk_len_bytes {
        return Err(CmdError::StringTooLong);
    }
    let len = match sh.get_mut(&k, now, &mut w) {
        Some(item) => {
            // In place: the record grows (zero-filled) only when the write reaches past it.
            let old = item.as_str().map_or(0, <[u8]>::len);
            let buf = item.resize_str(old.max(needed), true);
            buf[offset..needed].copy_from_slice(value);
            if let Some(mut r) = w.record() {
                r.setrange(ctx.db.id, &args[1], offset as u64, value);
            }
            old.max(needed)
        }
        None => {
            sh.insert(
                &k,
                Item::new(setrange_bytes(None, offset, value), now),
                &mut w,
            );
            needed
        }
    };
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Int(len as i64))
}

/// The string SETRANGE makes: `current` (or nothing) zero-padded to `offset`, with `data`
/// written there. The caller has checked the length limit.
pub fn setrange_bytes(current: Option<&[u8]>, offset: usize, data: &[u8]) -> Value {
    let needed = offset.saturating_add(data.len());
    let mut buf = current.map(<[u8]>::to_vec).unwrap_or_default();
    if buf.len() < needed {
        buf.resize(needed, 0);
    }
    buf[offset..needed].copy_from_slice(data);
    Value::Str {
        data: StrBuf::from(buf),
        raw: true,
    }
}

/// APPEND key value
pub fn append(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    let limit = ctx.limits.proto_max_bulk_len_bytes;
    let len = match sh.get_mut(&k, now, &mut w) {
        Some(item) => match item.as_str().map(<[u8]>::len) {
            Some(old) => {
                let total = old + args[2].len();
                if total > limit {
                    return Err(CmdError::StringTooLong);
                }
                let buf = item.resize_str(total, true);
                buf[old..].copy_from_slice(&args[2]);
                if let Some(mut r) = w.record() {
                    r.append(ctx.db.id, &args[1], &args[2]);
                }
                total
            }
            None => return Err(CmdError::WrongType),
        },
        None => {
            if args[2].len() > limit {
                return Err(CmdError::StringTooLong);
            }
            sh.insert(&k, Item::new(Value::string(&args[2]), now), &mut w);
            args[2].len()
        }
    };
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Int(len as i64))
}

/// INCR, DECR, INCRBY, DECRBY: one implementation.
pub fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // The command is told apart by its name without allocating (this is a hot path).
    let by = if args.len() == 2 {
        if is(&args[0], "incr") {
            1
        } else {
            -1
        }
    } else if is(&args[0], "incrby") {
        int_arg(&args[2])?
    } else {
        let d = int_arg(&args[2])?;
        if d == i64::MIN {
            return Err(CmdError::err("decrement would overflow"));
        }
        -d
    };
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    let result = match sh.get_mut(&k, now, &mut w) {
        Some(item) => {
            let cur = match item.as_str() {
                Some(data) => num::parse_i64(data).ok_or(CmdError::NotInteger)?,
                None => return Err(CmdError::WrongType),
            };
            let n = cur.checked_add(by).ok_or(CmdError::Overflow)?;
            item.set_str(num::format_i64(n, &mut [0; 20]), false);
            if let Some(mut r) = w.record() {
                r.set(ctx.db.id, &args[1], item.view(), item.expire_at());
            }
            n
        }
        None => {
            sh.insert(
                &k,
                Item::new(Value::string(num::format_i64(by, &mut [0; 20])), now),
                &mut w,
            );
            by
        }
    };
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Int(result))
}

/// INCRBYFLOAT key increment: computed in 80-bit extended precision and printed as Redis
/// prints it, so `10.5` + `0.1` is `10.6`.
pub fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = LongDouble::parse(&args[2]).ok_or(CmdError::NotFloat)?;
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    let cur = match sh.get_mut(&k, now, &mut w) {
        Some(item) => match item.as_str() {
            Some(data) => Some(LongDouble::parse(data).ok_or(CmdError::NotFloat)?),
            None => return Err(CmdError::WrongType),
        },
        None => None,
    };
    let sum = match cur {
        Some(c) => c.add(by),
        None => by,
    };
    if !sum.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(sum.to_human_string());
    match sh.get_mut(&k, now, &mut w) {
        Some(item) => {
            item.set_str(&text, false);
            if let Some(mut r) = w.record() {
                r.set(ctx.db.id, &args[1], item.view(), item.expire_at());
            }
        }
        None => {
            sh.insert(
                &k,
                Item::new(
                    Value::Str {
                        data: StrBuf::from(text.clone()),
                        raw: false,
                    },
                    now,
                ),
                &mut w,
            );
        }
    }
    drop(sh);
    drop(w);
    dirty(ctx, 1);
    Ok(Reply::Bulk(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getrange_follows_redis_index_rules() {
        // Negative, out-of-range and inverted ranges behave as in Redis 7.
        // Both storage forms: inline and shared.
        let text = b"This is a string";
        for s in [StrBuf::new(text), StrBuf::Shared(Bytes::from_static(text))] {
            assert_eq!(&range_of(&s, 0, 3)[..], b"This");
            assert_eq!(&range_of(&s, -3, -1)[..], b"ing");
            assert_eq!(&range_of(&s, 0, -1)[..], b"This is a string");
            assert_eq!(&range_of(&s, 10, 100)[..], b"string");
            assert_eq!(&range_of(&s, 5, 3)[..], b"");
            assert_eq!(&range_of(&s, -1, -5)[..], b"");
        }
        assert_eq!(&range_of(&StrBuf::default(), 0, -1)[..], b"");
        assert_eq!(&range_of(&StrBuf::Shared(Bytes::new()), 0, -1)[..], b"");
    }
}

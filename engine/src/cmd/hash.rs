//! Hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HDEL HLEN HEXISTS HKEYS HVALS HINCRBY
//! HINCRBYFLOAT HSTRLEN HSCAN HRANDFIELD.
//!
//! Writes change an existing hash in place and log a hash body (see [`crate::types::hash`])
//! with exactly what changed; a new hash is built whole and inserted (logged as a `SET` of
//! the value); a hash that loses its last field is deleted (logged as a `DEL`).

use bytes::Bytes;
use rand::Rng;

use super::{int_arg, is, log_coll, name_of, note_dirty, note_lookup, Ctx};
use crate::glob::{is_match_all, GlobPattern};
use crate::keyspace::{Item, KeyRef, Shard, Writer};
use crate::num::LongDouble;
use crate::reply::{CmdError, CmdResult, Reply};
use crate::types::elem::ToBytes;
use crate::types::hash::{Body, Hash};
use crate::types::TAG_HASH;
use crate::value::Value;

/// The hash at `k` for reading (touching it unless `no_touch`), or WRONGTYPE.
fn hash_of<'s>(
    sh: &'s Shard,
    k: &KeyRef<'_>,
    now: i64,
    no_touch: bool,
) -> Result<Option<&'s Hash>, CmdError> {
    match sh.get(k, now) {
        None => Ok(None),
        Some(item) => match item.value() {
            Some(Value::Hash(h)) => {
                if !no_touch {
                    item.touch(now);
                }
                Ok(Some(h))
            }
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The hash at `k` for changing in place, or WRONGTYPE.
fn hash_mut<'s>(
    sh: &'s mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
) -> Result<Option<&'s mut Hash>, CmdError> {
    match sh.get_mut(k, now, w) {
        None => Ok(None),
        Some(item) => {
            item.touch(now);
            match item.value_mut() {
                Some(Value::Hash(h)) => Ok(Some(h)),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// Runs `f` on the hash at `key` (None when missing) for a read command.
fn read<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Hash>) -> R,
) -> Result<R, CmdError> {
    let k = ctx.db.locate(key);
    let sh = ctx.db.read(k.shard);
    let h = hash_of(&sh, &k, ctx.now_ms, ctx.no_touch)?;
    let found = h.is_some();
    let r = f(h);
    drop(sh);
    note_lookup(ctx, found);
    Ok(r)
}

fn copy(b: &[u8]) -> Bytes {
    Bytes::copy_from_slice(b)
}

/// Sets `pairs` on the hash at `key`, creating it when missing; `nx` only sets a missing
/// field (HSETNX). Returns the number of new fields.
fn set_pairs(ctx: &mut Ctx<'_>, key: &[u8], pairs: &[Bytes], nx: bool) -> Result<i64, CmdError> {
    let k = ctx.db.locate(key);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let n = pairs.len() / 2;
    let added = match hash_mut(&mut sh, &k, now, &mut w)? {
        Some(h) => {
            if nx && h.contains(&pairs[0]) {
                return Ok(0);
            }
            h.hint(n);
            let mut added = 0;
            for p in pairs.chunks_exact(2) {
                added += i64::from(h.set(&p[0], copy(&p[1])));
            }
            let mut body = Body::new();
            body.set(pairs.chunks_exact(2).map(|p| (&p[0][..], &p[1][..])));
            log_coll(&mut w, db, key, TAG_HASH, body.bytes());
            added
        }
        None => {
            let mut h = Hash::new();
            h.hint(n);
            let mut added = 0;
            for p in pairs.chunks_exact(2) {
                added += i64::from(h.set(&p[0], copy(&p[1])));
            }
            sh.insert(&k, Item::new(Value::Hash(h), now), &mut w);
            added
        }
    };
    drop(sh);
    drop(w);
    note_dirty(ctx, n as u64);
    Ok(added)
}

/// HSET key field value [field value ...]
pub fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(CmdError::WrongArity(name_of(args)));
    }
    Ok(Reply::Int(set_pairs(ctx, &args[1], &args[2..], false)?))
}

/// HMSET key field value [field value ...]
pub fn hmset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(CmdError::WrongArity(name_of(args)));
    }
    set_pairs(ctx, &args[1], &args[2..], false)?;
    Ok(Reply::Ok)
}

/// HSETNX key field value
pub fn hsetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(set_pairs(ctx, &args[1], &args[2..4], true)?))
}

/// HGET key field
pub fn hget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let f = &args[2];
    read(ctx, &args[1], |h| {
        Reply::opt_bulk(h.and_then(|h| h.get(f)).map(ToBytes::to_bytes))
    })
}

/// HMGET key field [field ...]
pub fn hmget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |h| {
        Reply::Array(
            args[2..]
                .iter()
                .map(|f| Reply::opt_bulk(h.and_then(|h| h.get(f)).map(ToBytes::to_bytes)))
                .collect(),
        )
    })
}

/// HGETALL key
pub fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |h| {
        Reply::Map(h.map_or_else(Vec::new, |h| {
            h.iter()
                .map(|(f, v)| (Reply::Bulk(f.to_bytes()), Reply::Bulk(v.to_bytes())))
                .collect()
        }))
    })
}

/// HKEYS key / HVALS key
pub fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let vals = is(&args[0], "hvals");
    read(ctx, &args[1], |h| {
        Reply::Array(h.map_or_else(Vec::new, |h| {
            h.iter()
                .map(|(f, v)| Reply::Bulk(if vals { v.to_bytes() } else { f.to_bytes() }))
                .collect()
        }))
    })
}

/// HLEN key
pub fn hlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |h| {
        Reply::Int(h.map_or(0, |h| h.len() as i64))
    })
}

/// HEXISTS key field
pub fn hexists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let f = &args[2];
    read(ctx, &args[1], |h| {
        Reply::Int(i64::from(h.is_some_and(|h| h.contains(f))))
    })
}

/// HSTRLEN key field
pub fn hstrlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let f = &args[2];
    read(ctx, &args[1], |h| {
        Reply::Int(h.and_then(|h| h.get(f)).map_or(0, |v| v.len() as i64))
    })
}

/// HDEL key field [field ...]
pub fn hdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let k = ctx.db.locate(key);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let Some(h) = hash_mut(&mut sh, &k, now, &mut w)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed: Vec<&[u8]> = Vec::new();
    for f in &args[2..] {
        if h.remove(f) {
            removed.push(f);
        }
    }
    let empty = h.is_empty();
    if empty {
        sh.remove(&k, &mut w);
    } else if !removed.is_empty() {
        let mut body = Body::new();
        body.del(removed.iter().copied());
        log_coll(&mut w, db, key, TAG_HASH, body.bytes());
    }
    drop(sh);
    drop(w);
    note_dirty(ctx, removed.len() as u64);
    Ok(Reply::Int(removed.len() as i64))
}

/// Sets one field to `value` (already computed from the current one) and logs it.
fn set_one(
    sh: &mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
    field: &[u8],
    value: Bytes,
) -> Result<(), CmdError> {
    let db = sh.db_id();
    match hash_mut(sh, k, now, w)? {
        Some(h) => {
            h.set(field, value.clone());
            let mut body = Body::new();
            body.set([(field, &value[..])].into_iter());
            log_coll(w, db, k.key, TAG_HASH, body.bytes());
        }
        None => {
            let mut h = Hash::new();
            h.set(field, value);
            sh.insert(k, Item::new(Value::Hash(h), now), w);
        }
    }
    Ok(())
}

/// HINCRBY key field increment
pub fn hincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = int_arg(&args[3])?;
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let cur = match hash_of(&sh, &k, now, true)?.and_then(|h| h.get(&args[2])) {
        Some(v) => {
            crate::num::parse_i64(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?
        }
        None => 0,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut buf = [0u8; 20];
    let text = copy(crate::num::format_i64(new, &mut buf));
    set_one(&mut sh, &k, now, &mut w, &args[2], text)?;
    drop(sh);
    drop(w);
    note_dirty(ctx, 1);
    Ok(Reply::Int(new))
}

/// HINCRBYFLOAT key field increment: logs the resulting value.
pub fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = LongDouble::parse(&args[3]).ok_or(CmdError::NotFloat)?;
    if !by.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let sum = match hash_of(&sh, &k, now, true)?.and_then(|h| h.get(&args[2])) {
        Some(v) => LongDouble::parse(v)
            .ok_or_else(|| CmdError::err("hash value is not a float"))?
            .add(by),
        None => by,
    };
    if !sum.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(sum.to_human_string());
    set_one(&mut sh, &k, now, &mut w, &args[2], text.clone())?;
    drop(sh);
    drop(w);
    note_dirty(ctx, 1);
    Ok(Reply::Bulk(text))
}

/// Parses a SCAN cursor as Redis 7.2's `string2ull` does: a non-negative 64-bit integer, or
/// what `strtoull` accepts (leading spaces, a sign; `-n` wraps).
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    if let Some(v) = crate::num::parse_i64(arg) {
        return u64::try_from(v).map_err(|_| invalid());
    }
    let mut s = arg;
    while let [b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c, rest @ ..] = s {
        s = rest;
    }
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// Parses the `[MATCH pattern] [COUNT count]` options of HSCAN/SSCAN (from `args[3]`).
pub fn scan_opts(args: &[Bytes]) -> Result<(Option<GlobPattern>, usize), CmdError> {
    let mut pattern = None;
    let mut count = 10usize;
    let mut i = 3;
    while i < args.len() {
        let Some(v) = args.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if is(&args[i], "COUNT") {
            let c = int_arg(v)?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if is(&args[i], "MATCH") {
            pattern = (!is_match_all(v)).then(|| GlobPattern::new(v, false));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok((pattern, count))
}

/// The reply of an HSCAN/SSCAN step.
pub fn scan_reply(next: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::bulk_string(next.to_string()),
        Reply::Array(items),
    ])
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
pub fn hscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(h) = hash_of(&sh, &k, ctx.now_ms, ctx.no_touch)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = scan_opts(args)?;
    let mut items = Vec::new();
    let next = h.scan(cursor, count, |f, v| {
        if pattern.as_ref().is_none_or(|p| p.matches(f)) {
            items.push(Reply::Bulk(f.to_bytes()));
            items.push(Reply::Bulk(v.to_bytes()));
        }
    });
    Ok(scan_reply(next, items))
}

/// Parses the count of SRANDMEMBER/HRANDFIELD: Redis accepts -LONG_MAX..=LONG_MAX.
pub fn rand_count(arg: &[u8]) -> Result<i64, CmdError> {
    let n = int_arg(arg)?;
    if n == i64::MIN {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    Ok(n)
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut rng = rand::thread_rng();
    if args.len() == 2 {
        return read(ctx, &args[1], |h| match h {
            Some(h) if !h.is_empty() => Reply::opt_bulk(
                h.get_index(rng.gen_range(0..h.len()))
                    .map(|e| e.0.to_bytes()),
            ),
            _ => Reply::Nil,
        });
    }
    let n = rand_count(&args[2])?;
    let withvalues = match args.len() {
        3 => false,
        4 if is(&args[3], "WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::err("value is out of range"));
    }
    if n < 0 && n.unsigned_abs() > super::set::MAX_REPEAT_COUNT {
        return Err(CmdError::err("value is out of range"));
    }
    read(ctx, &args[1], |h| {
        let Some(h) = h else {
            return Reply::Array(Vec::new());
        };
        let len = h.len();
        let idx: Vec<usize> = if n < 0 {
            let m = n.unsigned_abs() as usize;
            (0..m).map(|_| rng.gen_range(0..len)).collect()
        } else if n as u64 >= len as u64 {
            (0..len).collect()
        } else {
            rand::seq::index::sample(&mut rng, len, n as usize).into_vec()
        };
        // A listpack finds an index by walking; walk it once.
        let packed = h.encoding() == "listpack";
        let all = if packed { h.entries() } else { Vec::new() };
        let at = |i: usize| {
            if packed {
                all.get(i).copied()
            } else {
                h.get_index(i)
            }
        };
        let entries = idx.into_iter().filter_map(at);
        if withvalues {
            Reply::Pairs(
                entries
                    .map(|(f, v)| (Reply::Bulk(f.to_bytes()), Reply::Bulk(v.to_bytes())))
                    .collect(),
            )
        } else {
            Reply::Array(entries.map(|(f, _)| Reply::Bulk(f.to_bytes())).collect())
        }
    })
}

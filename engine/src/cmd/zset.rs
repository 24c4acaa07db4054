//! Sorted set commands: ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT
//! ZRANGE ZRANGESTORE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
//! ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN BZPOPMAX
//! BZMPOP ZRANDMEMBER ZSCAN ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD.
//!
//! Changes to an existing key are logged as `zset::Body` ops (ADD of the resulting scores,
//! REM of removed members); a new key or a *STORE destination is logged as the whole value.

use bytes::Bytes;
use rand::Rng;

use super::{block_timeout_ms, int_arg, is, log_coll, name_of, note_dirty, note_lookup, Ctx};
use crate::keyspace::{Item, KeyRef, Shard, Writer};
use crate::num;
use crate::reply::{BlockOn, CmdError, CmdResult, Reply};
use crate::types::elem::ToBytes;
use crate::types::zset::{Body, LexBound, LexRange, ScoreRange, ZSet};
use crate::types::TAG_ZSET;
use crate::value::Value;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The sorted set at `k`, touching it; WRONGTYPE for another type.
pub(crate) fn zset_of<'s>(
    sh: &'s Shard,
    k: &KeyRef<'_>,
    ctx: &Ctx<'_>,
) -> Result<Option<&'s ZSet>, CmdError> {
    match sh.get(k, ctx.now_ms) {
        None => Ok(None),
        Some(item) => match item.value() {
            Some(Value::ZSet(z)) => {
                if !ctx.no_touch {
                    item.touch(ctx.now_ms);
                }
                Ok(Some(z))
            }
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The sorted set at `k` for changing in place; WRONGTYPE for another type.
fn zset_mut<'s>(
    sh: &'s mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
) -> Result<Option<&'s mut ZSet>, CmdError> {
    match sh.get_mut(k, now, w) {
        None => Ok(None),
        Some(item) => {
            item.touch(now);
            match item.value_mut() {
                Some(Value::ZSet(z)) => Ok(Some(z)),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// Removes `members` from the set at `k` (which exists and is a sorted set), logs the REM and
/// deletes the key when it empties.
fn remove_logged(sh: &mut Shard, k: &KeyRef<'_>, members: &[Bytes], now: i64, w: &mut Writer<'_>) {
    if members.is_empty() {
        return;
    }
    let db = sh.db_id();
    let empty = match zset_mut(sh, k, now, w) {
        Ok(Some(z)) => {
            for m in members {
                z.remove(m);
            }
            z.is_empty()
        }
        _ => return,
    };
    if empty {
        sh.remove(k, w);
    } else {
        let mut body = Body::new();
        body.rem(members.iter().map(|m| &m[..]));
        log_coll(w, db, k.key, TAG_ZSET, body.bytes());
    }
}

/// Replaces `dst` with `z`, or deletes it when `z` is empty. Returns the new cardinality.
pub(crate) fn store(
    sh: &mut Shard,
    dst: &KeyRef<'_>,
    z: ZSet,
    now: i64,
    w: &mut Writer<'_>,
) -> usize {
    let n = z.len();
    if n == 0 {
        sh.remove(dst, w);
    } else {
        sh.insert(dst, Item::new(Value::ZSet(z), now), w);
    }
    n
}

/// A ZSet built afresh from entries (its encoding follows from its contents).
pub(crate) fn build(entries: impl IntoIterator<Item = (Bytes, f64)>) -> ZSet {
    let mut z = ZSet::new();
    for (m, s) in entries {
        z.insert(&m, s);
    }
    z
}

/// Members, or members with scores (an array of [member, score] pairs in RESP3).
fn members_reply(items: Vec<(Bytes, f64)>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(
            items
                .into_iter()
                .map(|(m, s)| (Reply::Bulk(m), Reply::Double(s)))
                .collect(),
        )
    } else {
        Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

/// A double as C's `strtod` reads a whole argument (what Redis uses for range bounds): leading
/// white space allowed, an empty string is 0, overflow gives an infinity, NaN is refused.
fn strtod_whole(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() {
        return Some(0.0);
    }
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    if t.is_empty() {
        return None;
    }
    let v = match t.parse::<f64>() {
        Ok(v) => v,
        Err(_) => {
            // Hex floats, which Rust does not read.
            let lower = t.to_ascii_lowercase();
            let u = lower.trim_start_matches(['+', '-']);
            if !u.starts_with("0x") {
                return None;
            }
            num::parse_f64(t.as_bytes())?
        }
    };
    (!v.is_nan()).then_some(v)
}

fn score_bound(b: &[u8]) -> Option<(f64, bool)> {
    match b.first() {
        Some(b'(') => strtod_whole(&b[1..]).map(|v| (v, true)),
        _ => strtod_whole(b).map(|v| (v, false)),
    }
}

/// Parses `min max` of a score range, with Redis's error.
pub(crate) fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let err = || CmdError::err("min or max is not a float");
    let (min, minex) = score_bound(min).ok_or_else(err)?;
    let (max, maxex) = score_bound(max).ok_or_else(err)?;
    Ok(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

fn lex_bound(b: &Bytes) -> Option<LexBound> {
    match b.first() {
        Some(b'+') if b.len() == 1 => Some(LexBound::PosInf),
        Some(b'-') if b.len() == 1 => Some(LexBound::NegInf),
        Some(b'[') => Some(LexBound::Incl(b.slice(1..))),
        Some(b'(') => Some(LexBound::Excl(b.slice(1..))),
        _ => None,
    }
}

/// Parses `min max` of a lex range, with Redis's error.
pub(crate) fn lex_range(min: &Bytes, max: &Bytes) -> Result<LexRange, CmdError> {
    let err = || CmdError::err("min or max not valid string range item");
    Ok(LexRange {
        min: lex_bound(min).ok_or_else(err)?,
        max: lex_bound(max).ok_or_else(err)?,
    })
}

/// A positive count (`getPositiveLongFromObjectOrReply` with Redis's message).
fn positive_count(arg: &[u8], msg: &str) -> Result<i64, CmdError> {
    match num::parse_i64(arg) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

/// A count of at least 1 (`getRangeLongFromObjectOrReply(1, LONG_MAX)`).
fn count_at_least_1(arg: &[u8], msg: &str) -> Result<i64, CmdError> {
    match num::parse_i64(arg) {
        Some(v) if v >= 1 => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

// ---------------------------------------------------------------------------------------------
// ZADD / ZINCRBY
// ---------------------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
pub(crate) struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

/// The outcome of adding one member (Redis's `zsetAdd`).
enum AddOutcome {
    Nop,
    Added(f64),
    Updated(f64),
    /// Processed without a change (the same score).
    Same(f64),
}

fn add_one(z: &mut ZSet, m: &[u8], score: f64, f: AddFlags) -> Result<AddOutcome, CmdError> {
    match z.score(m) {
        Some(cur) => {
            if f.nx {
                return Ok(AddOutcome::Nop);
            }
            let mut score = score;
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return Err(CmdError::err("resulting score is not a number (NaN)"));
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return Ok(AddOutcome::Nop);
            }
            if score != cur {
                z.insert(m, score);
                Ok(AddOutcome::Updated(score))
            } else {
                Ok(AddOutcome::Same(cur))
            }
        }
        None if f.xx => Ok(AddOutcome::Nop),
        None => {
            z.insert(m, score);
            Ok(AddOutcome::Added(score))
        }
    }
}

pub(crate) fn zadd_generic(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    mut f: AddFlags,
    first: usize,
) -> CmdResult {
    let mut i = first;
    while i < args.len() {
        let a = &args[i];
        if is(a, "NX") {
            f.nx = true;
        } else if is(a, "XX") {
            f.xx = true;
        } else if is(a, "GT") {
            f.gt = true;
        } else if is(a, "LT") {
            f.lt = true;
        } else if is(a, "CH") {
            f.ch = true;
        } else if is(a, "INCR") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks_exact(2) {
        pairs.push((super::float_arg(&p[0])?, &p[1]));
    }
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    match zset_mut(&mut sh, &k, now, &mut w)? {
        Some(z) => {
            let mut changed: Vec<(&[u8], f64)> = Vec::new();
            let mut failed = None;
            for (s, m) in &pairs {
                match add_one(z, m, *s, f) {
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                    Ok(AddOutcome::Nop) => {}
                    Ok(AddOutcome::Added(s)) => {
                        added += 1;
                        processed += 1;
                        last = s;
                        changed.push((m, s));
                    }
                    Ok(AddOutcome::Updated(s)) => {
                        updated += 1;
                        processed += 1;
                        last = s;
                        changed.push((m, s));
                    }
                    Ok(AddOutcome::Same(s)) => {
                        processed += 1;
                        last = s;
                    }
                }
            }
            if !changed.is_empty() {
                let mut body = Body::new();
                body.add(changed.into_iter());
                log_coll(&mut w, db, k.key, TAG_ZSET, body.bytes());
                w.signal_ready(db, k.key);
            }
            if let Some(e) = failed {
                drop(sh);
                drop(w);
                note_dirty(ctx, (added + updated) as u64);
                return Err(e);
            }
        }
        None if f.xx => {}
        None => {
            let mut z = ZSet::new();
            for (s, m) in &pairs {
                match add_one(&mut z, m, *s, f)? {
                    AddOutcome::Nop => {}
                    AddOutcome::Added(s) => {
                        added += 1;
                        processed += 1;
                        last = s;
                    }
                    AddOutcome::Updated(s) => {
                        updated += 1;
                        processed += 1;
                        last = s;
                    }
                    AddOutcome::Same(s) => {
                        processed += 1;
                        last = s;
                    }
                }
            }
            if !z.is_empty() {
                sh.insert(&k, Item::new(Value::ZSet(z), now), &mut w);
            }
        }
    }
    drop(sh);
    drop(w);
    note_dirty(ctx, (added + updated) as u64);
    if f.incr {
        Ok(if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Nil
        })
    } else {
        Ok(Reply::Int(if f.ch { added + updated } else { added }))
    }
}

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, AddFlags::default(), 2)
}

/// ZINCRBY key increment member
pub fn zincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, args, f, 2)
}

// ---------------------------------------------------------------------------------------------
// Point reads and ZREM
// ---------------------------------------------------------------------------------------------

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let mut removed: Vec<Bytes> = Vec::new();
    if let Some(z) = zset_mut(&mut sh, &k, now, &mut w)? {
        for m in &args[2..] {
            if z.score(m).is_some() && !removed.contains(m) {
                removed.push(m.clone());
            }
        }
    }
    remove_logged(&mut sh, &k, &removed, now, &mut w);
    drop(sh);
    drop(w);
    note_dirty(ctx, removed.len() as u64);
    Ok(Reply::Int(removed.len() as i64))
}

/// ZCARD key
pub fn zcard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let n = zset_of(&sh, &k, ctx)?.map_or(0, |z| z.len());
    Ok(Reply::Int(n as i64))
}

/// ZSCORE key member
pub fn zscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let z = zset_of(&sh, &k, ctx)?;
    let hit = z.is_some();
    let s = z.and_then(|z| z.score(&args[2]));
    drop(sh);
    note_lookup(ctx, hit);
    Ok(s.map_or(Reply::Nil, Reply::Double))
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let z = zset_of(&sh, &k, ctx)?;
    let out = args[2..]
        .iter()
        .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double))
        .collect();
    Ok(Reply::Array(out))
}

/// ZRANK / ZREVRANK key member [WITHSCORE]
pub fn zrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let rev = is(&args[0], "ZREVRANK");
    if args.len() > 4 {
        return Err(CmdError::WrongArity(name_of(args)));
    }
    let withscore = match args.get(3) {
        Some(a) if is(a, "WITHSCORE") => true,
        Some(_) => return Err(CmdError::Syntax),
        None => false,
    };
    let miss = if withscore {
        Reply::NilArray
    } else {
        Reply::Nil
    };
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(z) = zset_of(&sh, &k, ctx)? else {
        return Ok(miss);
    };
    let Some(r) = z.rank(&args[2]) else {
        return Ok(miss);
    };
    let r = if rev { z.len() - 1 - r } else { r } as i64;
    if withscore {
        let s = z.score(&args[2]).unwrap_or(0.0);
        Ok(Reply::Array(vec![Reply::Int(r), Reply::Double(s)]))
    } else {
        Ok(Reply::Int(r))
    }
}

/// ZCOUNT key min max
pub fn zcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let r = score_range(&args[2], &args[3])?;
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let n = zset_of(&sh, &k, ctx)?.map_or(0, |z| z.count_in_score(&r));
    Ok(Reply::Int(n as i64))
}

/// ZLEXCOUNT key min max
pub fn zlexcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let r = lex_range(&args[2], &args[3])?;
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let n = zset_of(&sh, &k, ctx)?.map_or(0, |z| z.count_in_lex(&r));
    Ok(Reply::Int(n as i64))
}

// ---------------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------------

/// What a range selects.
pub(crate) enum RangeBy {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A parsed range request.
pub(crate) struct RangeReq {
    pub by: RangeBy,
    pub rev: bool,
    pub offset: i64,
    pub limit: i64,
    pub withscores: bool,
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Parses the range arguments as Redis's `zrangeGenericCommand` does: `args[start]` and
/// `args[start + 1]` are the bounds, options follow.
fn parse_range(
    args: &[Bytes],
    start: usize,
    kind: Kind,
    rev: Option<bool>,
    store: bool,
) -> Result<RangeReq, CmdError> {
    let (mut kind, mut dir) = (kind, rev);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = start + 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if !store && is(a, "WITHSCORES") {
            withscores = true;
        } else if is(a, "LIMIT") && left >= 2 {
            offset = int_arg(&args[j + 1])?;
            limit = int_arg(&args[j + 2])?;
            j += 2;
        } else if dir.is_none() && is(a, "REV") {
            dir = Some(true);
        } else if kind == Kind::Auto && is(a, "BYLEX") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(a, "BYSCORE") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = dir.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (lo, hi) = if rev && kind != Kind::Rank {
        (&args[start + 1], &args[start])
    } else {
        (&args[start], &args[start + 1])
    };
    let by = match kind {
        Kind::Score => RangeBy::Score(score_range(lo, hi)?),
        Kind::Lex => RangeBy::Lex(lex_range(lo, hi)?),
        _ => RangeBy::Rank(int_arg(lo)?, int_arg(hi)?),
    };
    Ok(RangeReq {
        by,
        rev,
        offset,
        limit,
        withscores,
    })
}

/// Normalizes a rank range against `len`: the inclusive 0-based (start, end), or None.
fn rank_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

/// The members a range selects, in reply order.
/// The LIMIT window of a score or lex range as (entries to skip, most to take); `None` when
/// the offset is negative or past the end (Redis answers nothing then).
fn window(req: &RangeReq, z: &ZSet) -> Option<(usize, usize)> {
    if req.offset < 0 || (req.offset > 0 && req.offset as u64 >= z.len() as u64) {
        return None;
    }
    let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
    Some((req.offset as usize, limit))
}

pub(crate) fn collect_range(z: &ZSet, req: &RangeReq) -> Vec<(Bytes, f64)> {
    let clone = |(m, s): (&[u8], f64)| (m.to_bytes(), s);
    match &req.by {
        RangeBy::Rank(start, end) => {
            let Some((a, b)) = rank_bounds(*start, *end, z.len()) else {
                return Vec::new();
            };
            let n = b - a + 1;
            let from = if req.rev {
                z.at_rank(z.len() - 1 - a)
            } else {
                z.at_rank(a)
            };
            z.walk(from, req.rev).take(n).map(clone).collect()
        }
        RangeBy::Score(r) => {
            let Some((skip, limit)) = window(req, z) else {
                return Vec::new();
            };
            let from = if req.rev {
                z.last_in_score(r)
            } else {
                z.first_in_score(r)
            };
            z.walk(from, req.rev)
                .skip(skip)
                .take_while(|(_, s)| {
                    if req.rev {
                        r.gte_min(*s)
                    } else {
                        r.lte_max(*s)
                    }
                })
                .take(limit)
                .map(clone)
                .collect()
        }
        RangeBy::Lex(r) => {
            let Some((skip, limit)) = window(req, z) else {
                return Vec::new();
            };
            let from = if req.rev {
                z.last_in_lex(r)
            } else {
                z.first_in_lex(r)
            };
            z.walk(from, req.rev)
                .skip(skip)
                .take_while(|(m, _)| if req.rev { r.gte_min(m) } else { r.lte_max(m) })
                .take(limit)
                .map(clone)
                .collect()
        }
    }
}

fn range_read(ctx: &mut Ctx<'_>, args: &[Bytes], req: RangeReq) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(z) = zset_of(&sh, &k, ctx)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let items = collect_range(z, &req);
    drop(sh);
    Ok(members_reply(items, req.withscores))
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let req = parse_range(args, 2, Kind::Auto, None, false)?;
    range_read(ctx, args, req)
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let req = parse_range(args, 2, Kind::Rank, Some(true), false)?;
    range_read(ctx, args, req)
}

/// ZRANGEBYSCORE / ZREVRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let rev = is(&args[0], "ZREVRANGEBYSCORE");
    let req = parse_range(args, 2, Kind::Score, Some(rev), false)?;
    range_read(ctx, args, req)
}

/// ZRANGEBYLEX / ZREVRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let rev = is(&args[0], "ZREVRANGEBYLEX");
    let req = parse_range(args, 2, Kind::Lex, Some(rev), false)?;
    range_read(ctx, args, req)
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
pub fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let req = parse_range(&args[1..], 2, Kind::Auto, None, true)?;
    let dst = ctx.db.locate(&args[1]);
    let src = ctx.db.locate(&args[2]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut g = ctx.db.write_many(&[dst, src], &w);
    let items = match zset_of(g.shard(&src), &src, ctx)? {
        Some(z) => collect_range(z, &req),
        None => Vec::new(),
    };
    let sh = g.shard(&dst);
    let existed = sh.contains(&dst, now);
    let n = store(sh, &dst, build(items), now, &mut w);
    drop(g);
    drop(w);
    if n > 0 || existed {
        note_dirty(ctx, 1);
    }
    Ok(Reply::Int(n as i64))
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max
pub fn zremrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = if is(&args[0], "ZREMRANGEBYRANK") {
        RangeBy::Rank(int_arg(&args[2])?, int_arg(&args[3])?)
    } else if is(&args[0], "ZREMRANGEBYSCORE") {
        RangeBy::Score(score_range(&args[2], &args[3])?)
    } else {
        RangeBy::Lex(lex_range(&args[2], &args[3])?)
    };
    let req = RangeReq {
        by,
        rev: false,
        offset: 0,
        limit: -1,
        withscores: false,
    };
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let victims: Vec<Bytes> = match zset_mut(&mut sh, &k, now, &mut w)? {
        Some(z) => collect_range(z, &req).into_iter().map(|(m, _)| m).collect(),
        None => Vec::new(),
    };
    remove_logged(&mut sh, &k, &victims, now, &mut w);
    drop(sh);
    drop(w);
    note_dirty(ctx, victims.len() as u64);
    Ok(Reply::Int(victims.len() as i64))
}

// ---------------------------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------------------------

/// Pops up to `count` members from the min (or `max`) end of the set at `k`, logging it.
fn pop_n(
    sh: &mut Shard,
    k: &KeyRef<'_>,
    count: usize,
    max: bool,
    now: i64,
    w: &mut Writer<'_>,
) -> Vec<(Bytes, f64)> {
    let items: Vec<(Bytes, f64)> = match zset_mut(sh, k, now, w) {
        Ok(Some(z)) => {
            let from = if max {
                z.at_rank(z.len().saturating_sub(1))
            } else {
                z.at_rank(0)
            };
            z.walk(from, max)
                .take(count)
                .map(|(m, s)| (m.to_bytes(), s))
                .collect()
        }
        _ => Vec::new(),
    };
    let members: Vec<Bytes> = items.iter().map(|(m, _)| m.clone()).collect();
    remove_logged(sh, k, &members, now, w);
    items
}

/// A key and the members popped from it.
type Popped = (Bytes, Vec<(Bytes, f64)>);

/// Finds the first of `keys` holding a non-empty sorted set (WRONGTYPE for a key of another
/// type met before it) and pops up to `count` from it.
fn pop_first(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    count: usize,
    max: bool,
) -> Result<Option<Popped>, CmdError> {
    let refs: Vec<KeyRef<'_>> = keys.iter().map(|a| ctx.db.locate(a)).collect();
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut g = ctx.db.write_many(&refs, &w);
    for (k, name) in refs.iter().zip(keys) {
        let sh = g.shard(k);
        let found = match sh.get(k, now) {
            None => false,
            Some(item) => match item.value() {
                Some(Value::ZSet(z)) => !z.is_empty(),
                _ => return Err(CmdError::WrongType),
            },
        };
        if found {
            let items = pop_n(sh, k, count, max, now, &mut w);
            drop(g);
            drop(w);
            note_dirty(ctx, items.len() as u64);
            return Ok(Some((name.clone(), items)));
        }
    }
    Ok(None)
}

/// ZPOPMIN / ZPOPMAX key [count]
pub fn zpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let max = is(&args[0], "ZPOPMAX");
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(a) => {
            let c = positive_count(a, "value is out of range, must be positive")?;
            if c == 0 {
                return Ok(Reply::Array(Vec::new()));
            }
            Some(c as usize)
        }
        None => None,
    };
    let Some((_, items)) = pop_first(ctx, &args[1..2], count.unwrap_or(1), max)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count.is_some() {
        Ok(members_reply(items, true))
    } else {
        Ok(Reply::Array(
            items
                .into_iter()
                .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
                .collect(),
        ))
    }
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout
pub fn bzpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let max = is(&args[0], "BZPOPMAX");
    let n = args.len();
    let timeout_ms = block_timeout_ms(&args[n - 1])?;
    let keys = &args[1..n - 1];
    match pop_first(ctx, keys, 1, max)? {
        Some((key, items)) => {
            let mut out = vec![Reply::Bulk(key)];
            for (m, s) in items {
                out.push(Reply::Bulk(m));
                out.push(Reply::Double(s));
            }
            Ok(Reply::Array(out))
        }
        None => Ok(Reply::Block(Box::new(BlockOn {
            keys: keys.to_vec(),
            timeout_ms,
            on_timeout: Reply::NilArray,
            rerun: None,
            stream: None,
        }))),
    }
}

/// Parses `numkeys key... MIN|MAX [COUNT count]` from `args[at]`.
fn parse_mpop(args: &[Bytes], at: usize) -> Result<(&[Bytes], bool, usize), CmdError> {
    let numkeys = count_at_least_1(&args[at], "numkeys should be greater than 0")?;
    let where_idx = (at as u64 + 1).saturating_add(numkeys as u64);
    if where_idx >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let max = if is(&args[where_idx], "MIN") {
        false
    } else if is(&args[where_idx], "MAX") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && is(&args[j], "COUNT") && j + 1 < args.len() {
            j += 1;
            count = Some(count_at_least_1(
                &args[j],
                "count should be greater than 0",
            )?);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    Ok((&args[at + 1..where_idx], max, count))
}

fn mpop_reply(key: Bytes, items: Vec<(Bytes, f64)>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(key),
        Reply::Array(
            items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        ),
    ])
}

/// ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]
pub fn zmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, max, count) = parse_mpop(args, 1)?;
    Ok(match pop_first(ctx, keys, count, max)? {
        Some((key, items)) => mpop_reply(key, items),
        None => Reply::NilArray,
    })
}

/// BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count]
pub fn bzmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout_ms = block_timeout_ms(&args[1])?;
    let (keys, max, count) = parse_mpop(args, 2)?;
    Ok(match pop_first(ctx, keys, count, max)? {
        Some((key, items)) => mpop_reply(key, items),
        None => Reply::Block(Box::new(BlockOn {
            keys: keys.to_vec(),
            timeout_ms,
            on_timeout: Reply::NilArray,
            rerun: None,
            stream: None,
        })),
    })
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN
// ---------------------------------------------------------------------------------------------

/// Largest reply ZRANDMEMBER builds for a negative count (Redis would try to build any size).
const RANDMEMBER_MAX_REPEATS: u64 = 1 << 24;

/// ZRANDMEMBER key [count [WITHSCORES]]
pub fn zrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    if args.len() < 3 {
        let sh = ctx.db.read(k.shard);
        let Some(z) = zset_of(&sh, &k, ctx)? else {
            return Ok(Reply::Nil);
        };
        let i = rand::thread_rng().gen_range(0..z.len().max(1));
        return Ok(z
            .at_rank(i)
            .map_or(Reply::Nil, |p| Reply::Bulk(z.entry(p).0.to_bytes())));
    }
    let l = int_arg(&args[2])?;
    if l == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match args.len() {
        3 => false,
        4 if is(&args[3], "WITHSCORES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let sh = ctx.db.read(k.shard);
    let Some(z) = zset_of(&sh, &k, ctx)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let count = l.unsigned_abs();
    if count == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let size = z.len();
    let mut rng = rand::thread_rng();
    // A listpack finds a rank by walking; walk it once.
    let all: Vec<(&[u8], f64)> = if z.is_listpack() {
        z.iter().collect()
    } else {
        Vec::new()
    };
    let entry = |i: usize| -> (Bytes, f64) {
        let e = if z.is_listpack() {
            all.get(i).copied()
        } else {
            z.at_rank(i).map(|p| z.entry(p))
        };
        e.map(|(m, s)| (m.to_bytes(), s)).unwrap_or_default()
    };
    let items: Vec<(Bytes, f64)> = if l < 0 {
        if count > RANDMEMBER_MAX_REPEATS {
            return Err(CmdError::err("value is out of range"));
        }
        (0..count).map(|_| entry(rng.gen_range(0..size))).collect()
    } else if count as usize >= size {
        z.iter().map(|(m, s)| (m.to_bytes(), s)).collect()
    } else {
        // Distinct ranks, in random order.
        let picks = rand::seq::index::sample(&mut rng, size, count as usize);
        picks.into_iter().map(entry).collect()
    };
    drop(sh);
    Ok(members_reply(items, withscores))
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
pub fn zscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // strtoul: a negative cursor wraps around (unlike HSCAN/SSCAN's, kept as it was).
    let cursor = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| {
            s.parse::<u64>()
                .ok()
                .or_else(|| s.parse::<i64>().ok().map(|v| v as u64))
        })
        .ok_or_else(|| CmdError::err("invalid cursor"))?;
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(z) = zset_of(&sh, &k, ctx)? else {
        return Ok(super::hash::scan_reply(0, Vec::new()));
    };
    let (pattern, count) = super::hash::scan_opts(args)?;
    let mut out = Vec::new();
    let mut push = |m: &[u8], s: f64| {
        if pattern.as_ref().is_none_or(|p| p.matches(m)) {
            out.push(Reply::Bulk(m.to_bytes()));
            out.push(Reply::bulk_string(num::fmt_double(s)));
        }
    };
    let next = if z.is_listpack() {
        // Redis answers a small set in one call, in order.
        for (m, s) in z.iter() {
            push(m, s);
        }
        0
    } else {
        // Slots walked downward: cursor 0 starts at the end, the next cursor is the next
        // exclusive upper bound (see `ZSet::scan_slot`).
        let len = z.len() as u64;
        let mut hi = if cursor == 0 { len } else { cursor.min(len) };
        let mut visited = 0usize;
        while hi > 0 && visited < count {
            hi -= 1;
            if let Some((m, s)) = z.scan_slot(hi as usize) {
                push(m, s);
            }
            visited += 1;
        }
        hi
    };
    Ok(super::hash::scan_reply(next, out))
}

// ---------------------------------------------------------------------------------------------
// Set algebra: ZUNION ZINTER ZDIFF (+STORE) ZINTERCARD
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, val: f64, a: Aggregate) {
    match a {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of a set operation: its entries (sets read as score 1), or None when missing.
type Input = Option<Vec<(Bytes, f64)>>;

fn input_of(sh: &Shard, k: &KeyRef<'_>, now: i64) -> Result<Input, CmdError> {
    match sh.get(k, now) {
        None => Ok(None),
        Some(item) => match item.value() {
            Some(Value::ZSet(z)) => Ok(Some(z.iter().map(|(m, s)| (m.to_bytes(), s)).collect())),
            Some(Value::Set(s)) => Ok(Some(s.iter().map(|m| (m.to_bytes(), 1.0)).collect())),
            _ => Err(CmdError::WrongType),
        },
    }
}

struct SetOpArgs {
    weights: Vec<f64>,
    agg: Aggregate,
    withscores: bool,
    limit: usize,
}

/// Parses the options after the keys (`args[j..]`), as `zunionInterDiffGenericCommand`.
fn parse_setop_opts(
    args: &[Bytes],
    mut j: usize,
    setnum: usize,
    op: Op,
    store: bool,
    card: bool,
) -> Result<SetOpArgs, CmdError> {
    let mut o = SetOpArgs {
        weights: vec![1.0; setnum],
        agg: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != Op::Diff && !card && remaining > setnum && is(a, "WEIGHTS") {
            j += 1;
            for w in o.weights.iter_mut() {
                *w = num::parse_f64(&args[j])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
                j += 1;
            }
        } else if op != Op::Diff && !card && remaining >= 2 && is(a, "AGGREGATE") {
            let v = &args[j + 1];
            o.agg = if is(v, "SUM") {
                Aggregate::Sum
            } else if is(v, "MIN") {
                Aggregate::Min
            } else if is(v, "MAX") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && !card && is(a, "WITHSCORES") {
            o.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && is(a, "LIMIT") {
            let l = positive_count(&args[j + 1], "LIMIT can't be negative")?;
            o.limit = usize::try_from(l).unwrap_or(usize::MAX);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// Computes a set operation over the inputs.
fn setop(inputs: Vec<Input>, o: &SetOpArgs, op: Op) -> ZSet {
    let weighted = |s: f64, w: f64| {
        let v = s * w;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    match op {
        Op::Diff => {
            let mut it = inputs.into_iter();
            let Some(Some(first)) = it.next() else {
                return ZSet::new();
            };
            let others: Vec<ZSet> = it.flatten().map(build).collect();
            build(
                first
                    .into_iter()
                    .filter(|(m, _)| others.iter().all(|z| z.score(m).is_none())),
            )
        }
        Op::Union => {
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| inputs[i].as_ref().map_or(0, |v| v.len()));
            let mut acc: indexmap::IndexMap<Bytes, f64, foldhash::fast::RandomState> =
                Default::default();
            for i in order {
                let Some(entries) = &inputs[i] else { continue };
                for (m, s) in entries {
                    let v = weighted(*s, o.weights[i]);
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, v, o.agg),
                        None => {
                            acc.insert(m.clone(), v);
                        }
                    }
                }
            }
            build(acc)
        }
        Op::Inter => {
            if inputs.iter().any(|i| i.is_none()) {
                return ZSet::new();
            }
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| inputs[i].as_ref().map_or(0, |v| v.len()));
            let Some((&first, rest)) = order.split_first() else {
                return ZSet::new();
            };
            let lookups: Vec<(usize, ZSet)> = rest
                .iter()
                .map(|&i| (i, build(inputs[i].clone().unwrap_or_default())))
                .collect();
            let mut out = Vec::new();
            'outer: for (m, s) in inputs[first].iter().flatten() {
                let mut score = weighted(*s, o.weights[first]);
                for (i, z) in &lookups {
                    let Some(v) = z.score(m) else {
                        continue 'outer;
                    };
                    aggregate(&mut score, weighted(v, o.weights[*i]), o.agg);
                }
                out.push((m.clone(), score));
            }
            build(out)
        }
    }
}

/// Reads `numkeys` at `args[at]` with Redis's errors; returns the key arguments.
fn setop_keys(args: &[Bytes], at: usize) -> Result<&[Bytes], CmdError> {
    let setnum = int_arg(&args[at])?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            name_of(args)
        )));
    }
    if setnum as u64 > (args.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    Ok(&args[at + 1..at + 1 + setnum as usize])
}

fn setop_read(ctx: &mut Ctx<'_>, args: &[Bytes], op: Op, card: bool) -> CmdResult {
    let keys = setop_keys(args, 1)?;
    let refs: Vec<KeyRef<'_>> = keys.iter().map(|a| ctx.db.locate(a)).collect();
    let g = ctx.db.read_many(&refs);
    let mut inputs = Vec::with_capacity(refs.len());
    for k in &refs {
        inputs.push(input_of(g.shard(k), k, ctx.now_ms)?);
    }
    drop(g);
    let o = parse_setop_opts(args, 2 + keys.len(), keys.len(), op, false, card)?;
    let z = setop(inputs, &o, op);
    if card {
        let n = if o.limit > 0 {
            z.len().min(o.limit)
        } else {
            z.len()
        };
        return Ok(Reply::Int(n as i64));
    }
    Ok(members_reply(
        z.iter().map(|(m, s)| (m.to_bytes(), s)).collect(),
        o.withscores,
    ))
}

fn setop_store(ctx: &mut Ctx<'_>, args: &[Bytes], op: Op) -> CmdResult {
    let keys = setop_keys(args, 2)?;
    let dst = ctx.db.locate(&args[1]);
    let mut refs: Vec<KeyRef<'_>> = keys.iter().map(|a| ctx.db.locate(a)).collect();
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    refs.push(dst);
    let mut g = ctx.db.write_many(&refs, &w);
    refs.pop();
    let mut inputs = Vec::with_capacity(refs.len());
    for k in &refs {
        inputs.push(input_of(g.shard(k), k, now)?);
    }
    let o = parse_setop_opts(args, 3 + keys.len(), keys.len(), op, true, false)?;
    let z = setop(inputs, &o, op);
    let sh = g.shard(&dst);
    let existed = sh.contains(&dst, now);
    let n = store(sh, &dst, z, now, &mut w);
    drop(g);
    drop(w);
    if n > 0 || existed {
        note_dirty(ctx, 1);
    }
    Ok(Reply::Int(n as i64))
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setop_read(ctx, args, Op::Union, false)
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setop_read(ctx, args, Op::Inter, false)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub fn zdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setop_read(ctx, args, Op::Diff, false)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn zintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setop_read(ctx, args, Op::Inter, true)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE SUM|MIN|MAX]
pub fn zunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setop_store(ctx, args, Op::Union)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE SUM|MIN|MAX]
pub fn zinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setop_store(ctx, args, Op::Inter)
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub fn zdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setop_store(ctx, args, Op::Diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::EngineLimits;
    use crate::keyspace::Keyspace;
    use crate::types::set::Set;
    use std::sync::Arc;

    fn run(ks: &Keyspace, args: &[&str]) -> CmdResult {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        let limits = EngineLimits::default();
        let db = ks.db(0).cloned().expect("db 0");
        let mut ctx = Ctx::new(ks, &db, &limits);
        let r = crate::command::resolve(&args)?;
        match r.cmd.exec {
            crate::command::Exec::Engine(h) => h(&mut ctx, &args),
            _ => Err(CmdError::Syntax),
        }
    }

    #[test]
    fn plain_sets_are_inputs_with_score_1() {
        // ZUNION / ZINTER / ZDIFF / ZINTERCARD read a plain set as members with score 1.
        let ks = Keyspace::new(Arc::new(crate::clock::SystemClock));
        let db = ks.db(0).cloned().expect("db 0");
        {
            let mut w = ks.writer();
            let k = db.locate(b"s");
            let mut sh = db.write(k.shard, &w);
            let mut s = Set::new();
            for m in ["z", "w", "v"] {
                s.add(m.as_bytes());
            }
            sh.insert(&k, Item::new(Value::Set(Box::new(s)), 0), &mut w);
        }
        run(&ks, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]).expect("zadd");
        let pairs = |v: &[(&str, f64)]| {
            Reply::Pairs(
                v.iter()
                    .map(|(m, s)| (Reply::bulk(m), Reply::Double(*s)))
                    .collect(),
            )
        };
        assert_eq!(
            run(&ks, &["ZUNION", "2", "a", "s", "WITHSCORES"]),
            Ok(pairs(&[
                ("v", 1.0),
                ("w", 1.0),
                ("x", 1.0),
                ("y", 2.0),
                ("z", 4.0)
            ]))
        );
        assert_eq!(
            run(
                &ks,
                &["ZINTER", "2", "a", "s", "AGGREGATE", "MAX", "WITHSCORES"]
            ),
            Ok(pairs(&[("z", 3.0)]))
        );
        assert_eq!(
            run(&ks, &["ZDIFF", "2", "s", "a", "WITHSCORES"]),
            Ok(pairs(&[("v", 1.0), ("w", 1.0)]))
        );
        assert_eq!(run(&ks, &["ZINTERCARD", "2", "a", "s"]), Ok(Reply::Int(1)));
    }

    #[test]
    fn zscan_covers_a_large_set_across_calls() {
        // A skiplist-encoded set is scanned in pieces; every member comes back.
        let ks = Keyspace::new(Arc::new(crate::clock::SystemClock));
        let mut args = vec!["ZADD".to_string(), "big".to_string()];
        for i in 0..300 {
            args.push(i.to_string());
            args.push(format!("m{i}"));
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&ks, &a).expect("zadd");
        let mut cursor = "0".to_string();
        let mut seen = std::collections::HashSet::new();
        let mut calls = 0;
        loop {
            calls += 1;
            let Ok(Reply::Array(v)) = run(&ks, &["ZSCAN", "big", &cursor, "COUNT", "7"]) else {
                panic!("bad reply");
            };
            let (Some(Reply::Bulk(c)), Some(Reply::Array(items))) = (v.first(), v.get(1)) else {
                panic!("bad reply shape");
            };
            for pair in items.chunks(2) {
                if let Reply::Bulk(m) = &pair[0] {
                    seen.insert(m.clone());
                }
            }
            cursor = String::from_utf8_lossy(c).into_owned();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
        assert!(calls > 10);
    }
}

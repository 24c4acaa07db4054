//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER
//! SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
//!
//! Writes change an existing set in place and log a set body (see [`crate::types::set`]) with
//! the members actually added or removed (SPOP logs the members it removed); a new set, and
//! every `*STORE` destination, is built whole and inserted (logged as a `SET` of the value);
//! a set that loses its last member, or an empty `*STORE` result, deletes the key.

use bytes::Bytes;
use rand::Rng;

use super::hash::{parse_cursor, rand_count, scan_opts, scan_reply};
use super::{int_arg, is, log_coll, note_dirty, note_lookup, Ctx};
use crate::keyspace::{Item, KeyRef, Shard, ShardsRead, ShardsWrite, Writer};
use crate::reply::{CmdError, CmdResult, Reply};
use crate::types::elem::ToBytes;
use crate::types::set::{Body, Set};
use crate::types::TAG_SET;
use crate::value::Value;

/// The largest negative count SRANDMEMBER / HRANDFIELD serve (Redis would try to send
/// billions of replies; Vole refuses rather than exhaust memory).
pub const MAX_REPEAT_COUNT: u64 = 1 << 27;

/// The set at `k` for reading, or WRONGTYPE.
fn set_of<'s>(
    sh: &'s Shard,
    k: &KeyRef<'_>,
    now: i64,
    no_touch: bool,
) -> Result<Option<&'s Set>, CmdError> {
    match sh.get(k, now) {
        None => Ok(None),
        Some(item) => match item.value() {
            Some(Value::Set(s)) => {
                if !no_touch {
                    item.touch(now);
                }
                Ok(Some(s))
            }
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The set at `k` for changing in place, or WRONGTYPE.
fn set_mut<'s>(
    sh: &'s mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
) -> Result<Option<&'s mut Set>, CmdError> {
    match sh.get_mut(k, now, w) {
        None => Ok(None),
        Some(item) => {
            item.touch(now);
            match item.value_mut() {
                Some(Value::Set(s)) => Ok(Some(s)),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// Runs `f` on the set at `key` (None when missing) for a read command.
fn read<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Set>) -> R,
) -> Result<R, CmdError> {
    let k = ctx.db.locate(key);
    let sh = ctx.db.read(k.shard);
    let s = set_of(&sh, &k, ctx.now_ms, ctx.no_touch)?;
    let found = s.is_some();
    let r = f(s);
    drop(sh);
    note_lookup(ctx, found);
    Ok(r)
}

fn bulks<'a>(it: impl Iterator<Item = &'a [u8]>) -> Vec<Reply> {
    it.map(|m| Reply::Bulk(m.to_bytes())).collect()
}

/// SADD key member [member ...]
pub fn sadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let members = &args[2..];
    let k = ctx.db.locate(key);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let added = match set_mut(&mut sh, &k, now, &mut w)? {
        Some(s) => {
            s.hint(members.len());
            let added: Vec<&[u8]> = members
                .iter()
                .filter(|m| s.add(m))
                .map(|m| &m[..])
                .collect();
            if !added.is_empty() {
                let mut body = Body::new();
                body.add(added.iter().copied());
                log_coll(&mut w, db, key, TAG_SET, body.bytes());
            }
            added.len()
        }
        None => {
            let mut s = Set::with_hint(&members[0], members.len());
            let added = members.iter().filter(|m| s.add(m)).count();
            sh.insert(&k, Item::new(Value::Set(Box::new(s)), now), &mut w);
            added
        }
    };
    drop(sh);
    drop(w);
    note_dirty(ctx, added as u64);
    Ok(Reply::Int(added as i64))
}

/// Removes `members` from the set at `k` (which must be a set), logging what went; deletes
/// the key when it empties. Returns the removed members.
fn remove_members<'m>(
    sh: &mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
    members: impl Iterator<Item = &'m [u8]>,
) -> Result<usize, CmdError> {
    let db = sh.db_id();
    let Some(s) = set_mut(sh, k, now, w)? else {
        return Ok(0);
    };
    let removed: Vec<&[u8]> = members.filter(|m| s.remove(m)).collect();
    if s.is_empty() {
        sh.remove(k, w);
    } else if !removed.is_empty() {
        let mut body = Body::new();
        body.rem(removed.iter().copied());
        log_coll(w, db, k.key, TAG_SET, body.bytes());
    }
    Ok(removed.len())
}

/// SREM key member [member ...]
pub fn srem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let n = remove_members(
        &mut sh,
        &k,
        ctx.now_ms,
        &mut w,
        args[2..].iter().map(|m| &m[..]),
    )?;
    drop(sh);
    drop(w);
    note_dirty(ctx, n as u64);
    Ok(Reply::Int(n as i64))
}

/// SMEMBERS key
pub fn smembers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |s| {
        Reply::Set(s.map_or_else(Vec::new, |s| bulks(s.iter())))
    })
}

/// SISMEMBER key member
pub fn sismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let m = &args[2];
    read(ctx, &args[1], |s| {
        Reply::Int(i64::from(s.is_some_and(|s| s.contains(m))))
    })
}

/// SMISMEMBER key member [member ...]
pub fn smismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |s| {
        Reply::Array(
            args[2..]
                .iter()
                .map(|m| Reply::Int(i64::from(s.is_some_and(|s| s.contains(m)))))
                .collect(),
        )
    })
}

/// SCARD key
pub fn scard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |s| {
        Reply::Int(s.map_or(0, |s| s.len() as i64))
    })
}

/// SPOP key [count]: logs the members it removed.
pub fn spop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => {
            let n = int_arg(&args[2])
                .map_err(|_| CmdError::err("value is out of range, must be positive"))?;
            if n < 0 {
                return Err(CmdError::err("value is out of range, must be positive"));
            }
            Some(n as u64)
        }
        _ => return Err(CmdError::Syntax),
    };
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let Some(s) = set_mut(&mut sh, &k, now, &mut w)? else {
        return Ok(if count.is_some() {
            Reply::Set(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let len = s.len();
    let want = count.unwrap_or(1);
    if want == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let mut rng = rand::thread_rng();
    let popped: Vec<Bytes> = if want >= len as u64 {
        let all: Vec<Bytes> = s.iter().map(ToBytes::to_bytes).collect();
        sh.remove(&k, &mut w);
        all
    } else {
        let picked: Vec<Bytes> = rand::seq::index::sample(&mut rng, len, want as usize)
            .into_iter()
            .filter_map(|i| s.get_index(i).map(ToBytes::to_bytes))
            .collect();
        remove_members(&mut sh, &k, now, &mut w, picked.iter().map(|m| &m[..]))?;
        picked
    };
    drop(sh);
    drop(w);
    note_dirty(ctx, popped.len() as u64);
    Ok(match count {
        None => Reply::opt_bulk(popped.into_iter().next()),
        Some(_) => Reply::Set(popped.into_iter().map(Reply::Bulk).collect()),
    })
}

/// SRANDMEMBER key [count]
pub fn srandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut rng = rand::thread_rng();
    let n = match args.len() {
        2 => {
            return read(ctx, &args[1], |s| match s {
                Some(s) if !s.is_empty() => Reply::opt_bulk(
                    s.get_index(rng.gen_range(0..s.len()))
                        .map(ToBytes::to_bytes),
                ),
                _ => Reply::Nil,
            })
        }
        3 => rand_count(&args[2])?,
        _ => return Err(CmdError::Syntax),
    };
    if n < 0 && n.unsigned_abs() > MAX_REPEAT_COUNT {
        return Err(CmdError::err("value is out of range"));
    }
    read(ctx, &args[1], |s| {
        let Some(s) = s else {
            return Reply::Array(Vec::new());
        };
        let len = s.len();
        if n < 0 {
            let m = n.unsigned_abs() as usize;
            // A small set finds an index by walking its pack; walk it once.
            let all: Vec<&[u8]> = if s.encoding() == "hashtable" {
                Vec::new()
            } else {
                s.iter().collect()
            };
            let at = |i: usize| {
                if all.is_empty() {
                    s.get_index(i)
                } else {
                    all.get(i).copied()
                }
            };
            return Reply::Array(
                (0..m)
                    .filter_map(|_| at(rng.gen_range(0..len)))
                    .map(|m| Reply::Bulk(m.to_bytes()))
                    .collect(),
            );
        }
        if n as u64 >= len as u64 {
            return Reply::Array(bulks(s.iter()));
        }
        Reply::Array(
            rand::seq::index::sample(&mut rng, len, n as usize)
                .into_iter()
                .filter_map(|i| s.get_index(i))
                .map(|m| Reply::Bulk(m.to_bytes()))
                .collect(),
        )
    })
}

/// SMOVE source destination member
pub fn smove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst, m) = (&args[1], &args[2], &args[3]);
    let ks = [ctx.db.locate(src), ctx.db.locate(dst)];
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut g = ctx.db.write_many(&ks, &w);
    // Types first, as Redis checks them: a missing source answers 0 whatever the destination.
    let Some(s) = set_of(g.shard(&ks[0]), &ks[0], now, true)? else {
        return Ok(Reply::Int(0));
    };
    let present = s.contains(m);
    set_of(g.shard(&ks[1]), &ks[1], now, true)?;
    if src == dst {
        return Ok(Reply::Int(i64::from(present)));
    }
    if !present {
        return Ok(Reply::Int(0));
    }
    remove_members(
        g.shard(&ks[0]),
        &ks[0],
        now,
        &mut w,
        std::iter::once(&m[..]),
    )?;
    let sh = g.shard(&ks[1]);
    let db = sh.db_id();
    match set_mut(sh, &ks[1], now, &mut w)? {
        Some(d) => {
            if d.add(m) {
                let mut body = Body::new();
                body.add(std::iter::once(&m[..]));
                log_coll(&mut w, db, dst, TAG_SET, body.bytes());
            }
        }
        None => {
            let mut d = Set::with_hint(m, 1);
            d.add(m);
            sh.insert(&ks[1], Item::new(Value::Set(Box::new(d)), now), &mut w);
        }
    }
    drop(g);
    drop(w);
    note_dirty(ctx, 1);
    Ok(Reply::Int(1))
}

/// Where the source sets of SINTER/SUNION/SDIFF are read from.
enum Src<'a, 'b> {
    Read(&'a ShardsRead<'b>),
    Write(&'a mut ShardsWrite<'b>),
}

impl Src<'_, '_> {
    fn get(&mut self, k: &KeyRef<'_>, now: i64) -> Result<Option<&Set>, CmdError> {
        let sh: &Shard = match self {
            Src::Read(g) => g.shard(k),
            Src::Write(g) => g.shard(k),
        };
        set_of(sh, k, now, true)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The result of `op` over the sets at `keys` (missing keys are empty sets), checking every
/// key's type first as Redis does. `limit` stops an intersection early (0 = no limit).
/// Intersections answer in the order of the smallest set; unions and differences as a set
/// built by adding the members in order.
fn compute(
    src: &mut Src<'_, '_>,
    keys: &[KeyRef<'_>],
    now: i64,
    op: Op,
    limit: usize,
) -> Result<Vec<Bytes>, CmdError> {
    let mut lens = Vec::with_capacity(keys.len());
    for k in keys {
        lens.push(src.get(k, now)?.map(|s| s.len()));
    }
    match op {
        Op::Inter => {
            if lens.iter().any(|l| l.is_none()) {
                return Ok(Vec::new());
            }
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by_key(|&i| lens[i]);
            let Some((&first, rest)) = order.split_first() else {
                return Ok(Vec::new());
            };
            let mut out: Vec<Bytes> = src
                .get(&keys[first], now)?
                .map_or_else(Vec::new, |s| s.iter().map(ToBytes::to_bytes).collect());
            for &i in rest {
                if let Some(s) = src.get(&keys[i], now)? {
                    out.retain(|m| s.contains(m));
                }
            }
            if limit > 0 {
                out.truncate(limit);
            }
            Ok(out)
        }
        Op::Union => {
            let mut acc = Set::new();
            for k in keys {
                if let Some(s) = src.get(k, now)? {
                    for m in s.iter() {
                        acc.add(m);
                    }
                }
            }
            Ok(acc.iter().map(ToBytes::to_bytes).collect())
        }
        Op::Diff => {
            let Some(Some(first)) = keys.first().map(|k| src.get(k, now)).transpose()? else {
                return Ok(Vec::new());
            };
            let mut out: Vec<Bytes> = first.iter().map(ToBytes::to_bytes).collect();
            for k in &keys[1..] {
                if out.is_empty() {
                    break;
                }
                if let Some(s) = src.get(k, now)? {
                    out.retain(|m| !s.contains(m));
                }
            }
            let mut acc = Set::new();
            for m in &out {
                acc.add(m);
            }
            Ok(acc.iter().map(ToBytes::to_bytes).collect())
        }
    }
}

fn op_of(name: &[u8]) -> Op {
    if name.len() >= 5 && name[..5].eq_ignore_ascii_case(b"sunio") {
        Op::Union
    } else if name.len() >= 5 && name[..5].eq_ignore_ascii_case(b"sdiff") {
        Op::Diff
    } else {
        Op::Inter
    }
}

/// SINTER / SUNION / SDIFF key [key ...]
pub fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let op = op_of(&args[0]);
    let keys: Vec<KeyRef<'_>> = args[1..].iter().map(|a| ctx.db.locate(a)).collect();
    let g = ctx.db.read_many(&keys);
    let out = compute(&mut Src::Read(&g), &keys, ctx.now_ms, op, 0)?;
    drop(g);
    Ok(Reply::Set(out.into_iter().map(Reply::Bulk).collect()))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let numkeys = int_arg(&args[1])
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys as u64 > (args.len() - 2) as u64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0usize;
    let mut i = end;
    while i < args.len() {
        match args.get(i + 1) {
            Some(v) if is(&args[i], "LIMIT") => {
                let l = int_arg(v)
                    .ok()
                    .filter(|&l| l >= 0)
                    .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
                limit = usize::try_from(l).unwrap_or(usize::MAX);
                i += 2;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let keys: Vec<KeyRef<'_>> = args[2..end].iter().map(|a| ctx.db.locate(a)).collect();
    let g = ctx.db.read_many(&keys);
    let out = compute(&mut Src::Read(&g), &keys, ctx.now_ms, Op::Inter, limit)?;
    Ok(Reply::Int(out.len() as i64))
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]
pub fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let op = op_of(&args[0]);
    let dst = ctx.db.locate(&args[1]);
    let srcs: Vec<KeyRef<'_>> = args[2..].iter().map(|a| ctx.db.locate(a)).collect();
    let mut all = srcs.clone();
    all.push(dst);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut g = ctx.db.write_many(&all, &w);
    let out = compute(&mut Src::Write(&mut g), &srcs, now, op, 0)?;
    let sh = g.shard(&dst);
    if out.is_empty() {
        // Redis deletes the destination (whatever its type) when the result is empty.
        if sh.get_mut(&dst, now, &mut w).is_some() {
            sh.remove(&dst, &mut w);
        }
    } else {
        let mut s = Set::new();
        for m in &out {
            s.add(m);
        }
        sh.insert(&dst, Item::new(Value::Set(Box::new(s)), now), &mut w);
    }
    drop(g);
    drop(w);
    note_dirty(ctx, 1);
    Ok(Reply::Int(out.len() as i64))
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
pub fn sscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(s) = set_of(&sh, &k, ctx.now_ms, ctx.no_touch)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = scan_opts(args)?;
    let mut items = Vec::new();
    let next = s.scan(cursor, count, |m| {
        if pattern.as_ref().is_none_or(|p| p.matches(m)) {
            items.push(Reply::Bulk(m.to_bytes()));
        }
    });
    Ok(scan_reply(next, items))
}

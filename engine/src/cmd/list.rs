//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LINDEX LRANGE LSET LINSERT LREM
//! LTRIM LPOS LMOVE RPOPLPUSH LMPOP, and the engine side of the blocking pops BLPOP BRPOP
//! BLMOVE BRPOPLPUSH BLMPOP.
//!
//! Every change to an existing list is logged as a list effect body (see
//! [`crate::types::list`]) with exactly what changed; a new list is logged as the `SET` of its
//! whole value, and a list that loses its last element is deleted (logged as `DEL`). A
//! blocking pop that finds data serves exactly as its non-blocking form (and is logged as the
//! pop); when every key is empty it answers [`Reply::Block`] and the server re-runs it when a
//! key is signalled.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{block_timeout_ms, int_arg, is, log_coll, name_of, note_dirty, note_lookup, Ctx};
use crate::keyspace::{Item, KeyRef, Shard, Writer};
use crate::num;
use crate::reply::{BlockOn, CmdError, CmdResult, Reply};
use crate::types::elem::ToBytes;
use crate::types::list::{Body, List};
use crate::types::TAG_LIST;
use crate::value::Value;

/// The list stored at `k` for reading (touching it unless `no_touch`), or WRONGTYPE.
fn read_list<'s>(
    sh: &'s Shard,
    k: &KeyRef<'_>,
    now: i64,
    no_touch: bool,
) -> Result<Option<&'s List>, CmdError> {
    match sh.get(k, now) {
        None => Ok(None),
        Some(item) => match item.value() {
            Some(Value::List(l)) => {
                if !no_touch {
                    item.touch(now);
                }
                Ok(Some(l))
            }
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The list stored at `k` for changing in place, or WRONGTYPE.
fn write_list<'s>(
    sh: &'s mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
) -> Result<Option<&'s mut List>, CmdError> {
    match sh.get_mut(k, now, w) {
        None => Ok(None),
        Some(item) => {
            item.touch(now);
            match item.value_mut() {
                Some(Value::List(l)) => Ok(Some(l)),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// LEFT / RIGHT: whether it names the head.
fn side(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "LEFT") {
        Ok(true)
    } else if is(arg, "RIGHT") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Redis's `getRangeLongFromObjectOrReply` with a message: `msg` for both a non-integer and a
/// value outside `[min, max]`.
fn ranged(arg: &[u8], min: i64, max: i64, msg: &str) -> Result<i64, CmdError> {
    match num::parse_i64(arg) {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

/// Normalizes a possibly negative index against `len`; `None` when out of range.
fn abs_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if i < 0 { i.checked_add(len)? } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

/// Pushes `elems` onto `k` (creating the list unless `only_existing`); the new length, or
/// `None` when the key is missing and `only_existing`.
fn push_into(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    head: bool,
    elems: &[Bytes],
    only_existing: bool,
) -> Result<Option<usize>, CmdError> {
    let k = ctx.db.locate(key);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let len = push_locked(&mut sh, &k, now, &mut w, head, elems, only_existing)?;
    drop(sh);
    drop(w);
    if len.is_some() {
        note_dirty(ctx, elems.len() as u64);
    }
    Ok(len)
}

/// The push of [`push_into`] on a locked shard.
fn push_locked(
    sh: &mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
    head: bool,
    elems: &[Bytes],
    only_existing: bool,
) -> Result<Option<usize>, CmdError> {
    let db = sh.db_id();
    // Own copies: the arguments may be views into a network buffer.
    let elems: Vec<Bytes> = elems.iter().map(|e| Bytes::copy_from_slice(e)).collect();
    if let Some(l) = write_list(sh, k, now, w)? {
        l.push(head, &elems);
        let len = l.len();
        let mut body = Body::new();
        body.push(head, elems.iter().map(|e| &e[..]));
        log_coll(w, db, k.key, TAG_LIST, body.bytes());
        w.signal_ready(db, k.key);
        return Ok(Some(len));
    }
    if only_existing {
        return Ok(None);
    }
    let mut items = VecDeque::with_capacity(elems.len());
    for e in elems {
        if head {
            items.push_front(e);
        } else {
            items.push_back(e);
        }
    }
    let len = items.len();
    sh.insert(
        k,
        Item::new(Value::List(Box::new(List::from_items(items))), now),
        w,
    );
    Ok(Some(len))
}

/// LPUSH / RPUSH key element [element ...]
pub fn push(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let head = args[0][0].eq_ignore_ascii_case(&b'l');
    let len = push_into(ctx, &args[1], head, &args[2..], false)?;
    Ok(Reply::Int(len.unwrap_or(0) as i64))
}

/// LPUSHX / RPUSHX key element [element ...]
pub fn pushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let head = args[0][0].eq_ignore_ascii_case(&b'l');
    let len = push_into(ctx, &args[1], head, &args[2..], true)?;
    Ok(Reply::Int(len.unwrap_or(0) as i64))
}

/// Pops up to `n` elements of the list at `k` on a locked shard: `None` when the key is
/// missing. Logs the pop, or the delete when the list empties.
fn pop_locked(
    sh: &mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
    head: bool,
    n: usize,
) -> Result<Option<Vec<Bytes>>, CmdError> {
    let db = sh.db_id();
    let Some(l) = write_list(sh, k, now, w)? else {
        return Ok(None);
    };
    if n == 0 {
        return Ok(Some(Vec::new()));
    }
    let out = l.pop(head, n);
    if l.is_empty() {
        sh.remove(k, w);
    } else {
        let mut body = Body::new();
        body.pop(head, out.len());
        log_coll(w, db, k.key, TAG_LIST, body.bytes());
    }
    Ok(Some(out))
}

fn bulks(v: Vec<Bytes>) -> Reply {
    Reply::Array(v.into_iter().map(Reply::Bulk).collect())
}

/// LPOP / RPOP key [count]
pub fn pop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(name_of(args)));
    }
    let head = args[0][0].eq_ignore_ascii_case(&b'l');
    let count = match args.get(2) {
        Some(a) => {
            Some(ranged(a, 0, i64::MAX, "value is out of range, must be positive")? as usize)
        }
        None => None,
    };
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let got = pop_locked(&mut sh, &k, now, &mut w, head, count.unwrap_or(1))?;
    drop(sh);
    drop(w);
    note_lookup(ctx, got.is_some());
    if let Some(v) = &got {
        note_dirty(ctx, v.len() as u64);
    }
    Ok(match (got, count) {
        (None, Some(_)) => Reply::NilArray,
        (None, None) => Reply::Nil,
        (Some(v), Some(_)) => bulks(v),
        (Some(v), None) => Reply::opt_bulk(v.into_iter().next()),
    })
}

/// LLEN key
pub fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let len = read_list(&sh, &k, ctx.now_ms, ctx.no_touch)?.map(List::len);
    drop(sh);
    note_lookup(ctx, len.is_some());
    Ok(Reply::Int(len.unwrap_or(0) as i64))
}

/// LINDEX key index
pub fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(l) = read_list(&sh, &k, ctx.now_ms, ctx.no_touch)? else {
        drop(sh);
        note_lookup(ctx, false);
        return Ok(Reply::Nil);
    };
    let i = int_arg(&args[2])?;
    let v = abs_index(i, l.len())
        .and_then(|i| l.get(i))
        .map(ToBytes::to_bytes);
    drop(sh);
    note_lookup(ctx, true);
    Ok(Reply::opt_bulk(v))
}

/// The `[start, end]` (inclusive) range of LRANGE / LTRIM over `len` elements, or `None`
/// when it is empty.
fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let n = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(n)
    } else {
        start
    };
    let mut end = if end < 0 { end.saturating_add(n) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= n {
        return None;
    }
    if end >= n {
        end = n - 1;
    }
    Some((start as usize, end as usize))
}

/// LRANGE key start stop
pub fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let l = read_list(&sh, &k, ctx.now_ms, ctx.no_touch)?;
    let found = l.is_some();
    let out = match l.and_then(|l| range(start, end, l.len()).map(|r| (l, r))) {
        None => Vec::new(),
        Some((l, (s, e))) => l.range(s, e).map(|b| Reply::Bulk(b.to_bytes())).collect(),
    };
    drop(sh);
    note_lookup(ctx, found);
    Ok(Reply::Array(out))
}

/// LSET key index element
pub fn lset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let Some(l) = write_list(&mut sh, &k, now, &mut w)? else {
        return Err(CmdError::NoSuchKey);
    };
    let i = int_arg(&args[2])?;
    let i = abs_index(i, l.len()).ok_or(CmdError::OutOfRange)?;
    l.set(i, Bytes::copy_from_slice(&args[3]));
    let mut body = Body::new();
    body.set(i, &args[3]);
    log_coll(&mut w, db, &args[1], TAG_LIST, body.bytes());
    drop(sh);
    drop(w);
    note_dirty(ctx, 1);
    Ok(Reply::Ok)
}

/// LINSERT key BEFORE | AFTER pivot element
pub fn linsert(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let after = if is(&args[2], "AFTER") {
        true
    } else if is(&args[2], "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let Some(l) = write_list(&mut sh, &k, now, &mut w)? else {
        return Ok(Reply::Int(0));
    };
    let Some(pivot) = l.iter().position(|e| e == &args[3][..]) else {
        return Ok(Reply::Int(-1));
    };
    let at = pivot + usize::from(after);
    l.insert(at, Bytes::copy_from_slice(&args[4]));
    let len = l.len();
    let mut body = Body::new();
    body.insert(at, &args[4]);
    log_coll(&mut w, db, &args[1], TAG_LIST, body.bytes());
    w.signal_ready(db, &args[1]);
    drop(sh);
    drop(w);
    note_dirty(ctx, 1);
    Ok(Reply::Int(len as i64))
}

/// LREM key count element
pub fn lrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = int_arg(&args[2])?;
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let Some(l) = write_list(&mut sh, &k, now, &mut w)? else {
        return Ok(Reply::Int(0));
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let matches = |(i, e): (usize, &[u8])| (e == &args[3][..]).then_some(i);
    let mut at: Vec<usize> = if count < 0 {
        l.iter()
            .enumerate()
            .rev()
            .filter_map(matches)
            .take(limit)
            .collect()
    } else {
        l.iter()
            .enumerate()
            .filter_map(matches)
            .take(limit)
            .collect()
    };
    if count < 0 {
        at.reverse();
    }
    if at.is_empty() {
        return Ok(Reply::Int(0));
    }
    l.remove_all(&at);
    if l.is_empty() {
        sh.remove(&k, &mut w);
    } else {
        let mut body = Body::new();
        body.remove_all(&at);
        log_coll(&mut w, db, &args[1], TAG_LIST, body.bytes());
    }
    drop(sh);
    drop(w);
    note_dirty(ctx, at.len() as u64);
    Ok(Reply::Int(at.len() as i64))
}

/// LTRIM key start stop
pub fn ltrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let k = ctx.db.locate(&args[1]);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let Some(l) = write_list(&mut sh, &k, now, &mut w)? else {
        return Ok(Reply::Ok);
    };
    let len = l.len();
    let (s, n) = match range(start, end, len) {
        None => (0, 0),
        Some((s, e)) => (s, e - s + 1),
    };
    if n == 0 {
        sh.remove(&k, &mut w);
    } else if n != len {
        l.trim(s, n);
        let mut body = Body::new();
        body.trim(s, n);
        log_coll(&mut w, db, &args[1], TAG_LIST, body.bytes());
    }
    drop(sh);
    drop(w);
    note_dirty(ctx, (len - n) as u64);
    Ok(Reply::Ok)
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is(&args[j], "RANK") && more {
            j += 1;
            rank = match num::parse_i64(&args[j]) {
                None => return Err(CmdError::NotInteger),
                Some(i64::MIN) => {
                    return Err(CmdError::err(
                        "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                    ))
                }
                Some(0) => return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                )),
                Some(r) => r,
            };
        } else if is(&args[j], "COUNT") && more {
            j += 1;
            count = Some(ranged(&args[j], 0, i64::MAX, "COUNT can't be negative")? as u64);
        } else if is(&args[j], "MAXLEN") && more {
            j += 1;
            maxlen = ranged(&args[j], 0, i64::MAX, "MAXLEN can't be negative")? as u64;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(l) = read_list(&sh, &k, ctx.now_ms, ctx.no_touch)? else {
        drop(sh);
        note_lookup(ctx, false);
        return Ok(if count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let len = l.len();
    let from_tail = rank < 0;
    let rank = rank.unsigned_abs();
    let want = match count {
        Some(0) => u64::MAX,
        Some(c) => c,
        None => 1,
    };
    let scan = if maxlen == 0 {
        len
    } else {
        usize::try_from(maxlen).unwrap_or(usize::MAX).min(len)
    };
    let mut found = Vec::new();
    let mut matches = 0u64;
    let walk: Box<dyn Iterator<Item = (usize, &[u8])>> = if from_tail {
        Box::new(l.iter().enumerate().rev().take(scan))
    } else {
        Box::new(l.iter().enumerate().take(scan))
    };
    for (i, e) in walk {
        if e == &args[2][..] {
            matches += 1;
            if matches >= rank {
                found.push(Reply::Int(i as i64));
                if found.len() as u64 >= want {
                    break;
                }
            }
        }
    }
    drop(sh);
    note_lookup(ctx, true);
    Ok(match count {
        Some(_) => Reply::Array(found),
        None => found.into_iter().next().unwrap_or(Reply::Nil),
    })
}

/// Moves one element from `src` (its head if `from_head`) to `dst` (its head if `to_head`):
/// `None` when `src` is missing.
fn move_one(
    ctx: &mut Ctx<'_>,
    src: &[u8],
    dst: &[u8],
    from_head: bool,
    to_head: bool,
) -> Result<Option<Bytes>, CmdError> {
    let ks_ = ctx.db.locate(src);
    let kd = ctx.db.locate(dst);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut g = ctx.db.write_many(&[ks_, kd], &w);
    if src == dst {
        let sh = g.shard(&ks_);
        let db = sh.db_id();
        let Some(l) = write_list(sh, &ks_, now, &mut w)? else {
            return Ok(None);
        };
        let v = l.pop(from_head, 1);
        l.push(to_head, &v);
        let mut body = Body::new();
        body.pop(from_head, 1);
        body.push(to_head, v.iter().map(|e| &e[..]));
        log_coll(&mut w, db, src, TAG_LIST, body.bytes());
        w.signal_ready(db, src);
        drop(g);
        drop(w);
        note_dirty(ctx, 1);
        return Ok(v.into_iter().next());
    }
    {
        let sh = g.shard(&ks_);
        match sh.get(&ks_, now).map(|i| i.value()) {
            None => return Ok(None),
            Some(Some(Value::List(_))) => {}
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    if let Some(item) = g.shard(&kd).get(&kd, now) {
        if !matches!(item.value(), Some(Value::List(_))) {
            return Err(CmdError::WrongType);
        }
    }
    let v = pop_locked(g.shard(&ks_), &ks_, now, &mut w, from_head, 1)?.unwrap_or_default();
    if !v.is_empty() {
        push_locked(g.shard(&kd), &kd, now, &mut w, to_head, &v, false)?;
    }
    drop(g);
    drop(w);
    note_dirty(ctx, 1);
    Ok(v.into_iter().next())
}

/// LMOVE source destination LEFT | RIGHT LEFT | RIGHT
pub fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let from = side(&args[3])?;
    let to = side(&args[4])?;
    Ok(Reply::opt_bulk(move_one(
        ctx, &args[1], &args[2], from, to,
    )?))
}

/// RPOPLPUSH source destination
pub fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(move_one(
        ctx, &args[1], &args[2], false, true,
    )?))
}

/// BLMOVE source destination LEFT | RIGHT LEFT | RIGHT timeout
pub fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let from = side(&args[3])?;
    let to = side(&args[4])?;
    let timeout_ms = block_timeout_ms(&args[5])?;
    blocking_move(ctx, args, from, to, timeout_ms)
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout_ms = block_timeout_ms(&args[3])?;
    blocking_move(ctx, args, false, true, timeout_ms)
}

fn blocking_move(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    from: bool,
    to: bool,
    timeout_ms: u64,
) -> CmdResult {
    match move_one(ctx, &args[1], &args[2], from, to)? {
        Some(v) => Ok(Reply::Bulk(v)),
        None => Ok(Reply::Block(Box::new(BlockOn {
            keys: vec![Bytes::copy_from_slice(&args[1])],
            timeout_ms,
            on_timeout: Reply::Nil,
            rerun: None,
            stream: None,
        }))),
    }
}

/// Pops from the first non-empty list of `keys`: `(key, elements)`, or `None` when every
/// key is missing. WRONGTYPE as soon as a key of another type is met, as Redis.
fn pop_first(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    head: bool,
    n: usize,
) -> Result<Option<(Bytes, Vec<Bytes>)>, CmdError> {
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    for key in keys {
        let k = ctx.db.locate(key);
        let mut sh = ctx.db.write(k.shard, &w);
        if let Some(v) = pop_locked(&mut sh, &k, now, &mut w, head, n)? {
            drop(sh);
            drop(w);
            note_lookup(ctx, true);
            note_dirty(ctx, v.len() as u64);
            return Ok(Some((key.clone(), v)));
        }
    }
    Ok(None)
}

/// The parsed `numkeys key [key ...] LEFT | RIGHT [COUNT count]` of LMPOP / BLMPOP, with
/// `numkeys` at `args[at]`: (keys, head, count).
fn mpop_args(args: &[Bytes], at: usize) -> Result<(&[Bytes], bool, usize), CmdError> {
    let numkeys = ranged(&args[at], 1, i64::MAX, "numkeys should be greater than 0")?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(at + 1))
        .filter(|&i| i < args.len())
        .ok_or(CmdError::Syntax)?;
    let head = side(&args[where_at])?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && is(&args[j], "COUNT") && j + 1 < args.len() {
            j += 1;
            count = Some(ranged(
                &args[j],
                1,
                i64::MAX,
                "count should be greater than 0",
            )?);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let n = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    Ok((&args[at + 1..where_at], head, n))
}

/// Own copies of `keys` (arguments may be views into a network buffer).
fn owned(keys: &[Bytes]) -> Vec<Bytes> {
    keys.iter().map(|k| Bytes::copy_from_slice(k)).collect()
}

fn mpop_reply(key: Bytes, v: Vec<Bytes>) -> Reply {
    Reply::Array(vec![Reply::Bulk(key), bulks(v)])
}

/// LMPOP numkeys key [key ...] LEFT | RIGHT [COUNT count]
pub fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, head, n) = mpop_args(args, 1)?;
    Ok(match pop_first(ctx, keys, head, n)? {
        Some((k, v)) => mpop_reply(k, v),
        None => Reply::NilArray,
    })
}

/// BLMPOP timeout numkeys key [key ...] LEFT | RIGHT [COUNT count]
pub fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, head, n) = mpop_args(args, 2)?;
    let timeout_ms = block_timeout_ms(&args[1])?;
    Ok(match pop_first(ctx, keys, head, n)? {
        Some((k, v)) => mpop_reply(k, v),
        None => Reply::Block(Box::new(BlockOn {
            keys: owned(keys),
            timeout_ms,
            on_timeout: Reply::NilArray,
            rerun: None,
            stream: None,
        })),
    })
}

/// BLPOP / BRPOP key [key ...] timeout
pub fn bpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let head = is(&args[0], "BLPOP");
    let last = args.len() - 1;
    let timeout_ms = block_timeout_ms(&args[last])?;
    let keys = &args[1..last];
    Ok(match pop_first(ctx, keys, head, 1)? {
        Some((k, v)) => {
            let mut out = vec![Reply::Bulk(k)];
            out.extend(v.into_iter().map(Reply::Bulk));
            Reply::Array(out)
        }
        None => Reply::Block(Box::new(BlockOn {
            keys: owned(keys),
            timeout_ms,
            on_timeout: Reply::NilArray,
            rerun: None,
            stream: None,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::cmd::EngineLimits;
    use crate::effect::EffectLog;
    use crate::keyspace::{Keyspace, ReadyListener};
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Log(Mutex<usize>);
    impl EffectLog for Log {
        fn append(&self, _kind: u8, _payload: &[u8]) -> Result<u64, String> {
            let mut n = self.0.lock().map_err(|e| e.to_string())?;
            *n += 1;
            Ok(*n as u64)
        }
    }

    #[derive(Default)]
    struct Ready(Mutex<Vec<Bytes>>);
    impl ReadyListener for Ready {
        fn ready(&self, keys: Vec<(u32, Bytes)>) {
            if let Ok(mut v) = self.0.lock() {
                v.extend(keys.into_iter().map(|(_, k)| k));
            }
        }
    }

    struct Fx {
        ks: Keyspace,
        log: Arc<Log>,
        ready: Arc<Ready>,
        limits: EngineLimits,
    }

    impl Fx {
        fn new() -> Fx {
            let ks = Keyspace::new(Arc::new(ManualClock::new(1_000_000)));
            let log = Arc::new(Log::default());
            let ready = Arc::new(Ready::default());
            assert!(ks.set_log(log.clone()));
            assert!(ks.set_ready_listener(ready.clone()));
            ks.blocked.store(1, Ordering::Relaxed);
            Fx {
                ks,
                log,
                ready,
                limits: EngineLimits::default(),
            }
        }

        fn run(&self, line: &str) -> CmdResult {
            let args: Vec<Bytes> = line
                .split(' ')
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let r = crate::command::resolve(&args)?;
            let crate::command::Exec::Engine(h) = r.cmd.exec else {
                panic!("not an engine command: {line}");
            };
            let db = self.ks.db(0).cloned().expect("db 0");
            let mut ctx = Ctx::new(&self.ks, &db, &self.limits);
            h(&mut ctx, &args)
        }

        fn records(&self) -> usize {
            self.log.0.lock().map(|n| *n).unwrap_or(0)
        }
    }

    fn block(keys: &[&str], timeout_ms: u64, on_timeout: Reply) -> CmdResult {
        Ok(Reply::Block(Box::new(BlockOn {
            keys: keys
                .iter()
                .map(|k| Bytes::copy_from_slice(k.as_bytes()))
                .collect(),
            timeout_ms,
            on_timeout,
            rerun: None,
            stream: None,
        })))
    }

    fn bulk(s: &str) -> Reply {
        Reply::bulk(s)
    }

    #[test]
    fn blocking_pops_on_empty_keys_ask_to_block_and_log_nothing() {
        // Every key missing: a Block reply naming the keys, the timeout and the timeout
        // reply; nothing logged.
        let fx = Fx::new();
        assert_eq!(
            fx.run("BLPOP a b 1.5"),
            block(&["a", "b"], 1500, Reply::NilArray)
        );
        assert_eq!(fx.run("BRPOP a 0"), block(&["a"], 0, Reply::NilArray));
        assert_eq!(
            fx.run("BLMOVE a d LEFT RIGHT 0.01"),
            block(&["a"], 10, Reply::Nil)
        );
        assert_eq!(fx.run("BRPOPLPUSH a d 2"), block(&["a"], 2000, Reply::Nil));
        assert_eq!(
            fx.run("BLMPOP 0 2 a b RIGHT COUNT 3"),
            block(&["a", "b"], 0, Reply::NilArray)
        );
        assert_eq!(fx.records(), 0);
    }

    #[test]
    fn blocking_pops_serve_like_their_plain_forms() {
        // Data present: served at once from the first non-empty key, logged as a pop.
        let fx = Fx::new();
        assert_eq!(fx.run("RPUSH b x y"), Ok(Reply::Int(2)));
        assert_eq!(
            fx.run("BLPOP a b 0"),
            Ok(Reply::Array(vec![bulk("b"), bulk("x")]))
        );
        assert_eq!(
            fx.run("BLMPOP 0 2 a b LEFT COUNT 5"),
            Ok(Reply::Array(vec![bulk("b"), Reply::Array(vec![bulk("y")])]))
        );
        assert_eq!(fx.run("LLEN b"), Ok(Reply::Int(0)));
        assert_eq!(fx.run("RPUSH s 1 2"), Ok(Reply::Int(2)));
        assert_eq!(fx.run("BLMOVE s d RIGHT LEFT 0"), Ok(bulk("2")));
        assert_eq!(fx.run("BRPOPLPUSH s d 0"), Ok(bulk("1")));
        assert_eq!(
            fx.run("LRANGE d 0 -1"),
            Ok(Reply::Array(vec![bulk("1"), bulk("2")]))
        );
        assert_eq!(fx.records(), 6);
    }

    #[test]
    fn wrong_types_answer_at_once() {
        // A key of another type is WRONGTYPE even for blocking pops, and logs nothing.
        let fx = Fx::new();
        assert!(fx.run("SET s v").is_ok());
        let before = fx.records();
        for line in [
            "BLPOP a s 0",
            "BLMOVE s d LEFT LEFT 0",
            "BLMPOP 0 2 a s LEFT",
            "LPUSH s x",
            "LRANGE s 0 -1",
            "LPOS s x",
        ] {
            assert_eq!(fx.run(line), Err(CmdError::WrongType), "{line}");
        }
        assert_eq!(fx.records(), before);
    }

    #[test]
    fn pushes_signal_ready_keys() {
        // A push onto a new or existing list, LINSERT and LMOVE's destination wake waiters.
        let fx = Fx::new();
        assert!(fx.run("RPUSH a 1").is_ok());
        assert!(fx.run("LPUSH a 0").is_ok());
        assert!(fx.run("RPUSHX a 2").is_ok());
        assert!(fx.run("LINSERT a BEFORE 1 x").is_ok());
        assert!(fx.run("LMOVE a b LEFT RIGHT").is_ok());
        assert!(fx.run("LMOVE a b LEFT RIGHT").is_ok());
        let got = fx.ready.0.lock().map(|v| v.clone()).unwrap_or_default();
        let want: Vec<Bytes> = ["a", "a", "a", "a", "b", "b"]
            .iter()
            .map(|k| Bytes::copy_from_slice(k.as_bytes()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn emptied_lists_are_deleted() {
        // The last element leaving by any path deletes the key.
        let fx = Fx::new();
        for (fill, empty) in [
            ("RPUSH k a", "LPOP k"),
            ("RPUSH k a b", "RPOP k 5"),
            ("RPUSH k a a", "LREM k 0 a"),
            ("RPUSH k a b", "LTRIM k 5 10"),
            ("RPUSH k a", "LMOVE k other LEFT LEFT"),
            ("RPUSH k a b", "LMPOP 1 k LEFT COUNT 2"),
        ] {
            assert!(fx.run(fill).is_ok());
            assert!(fx.run(empty).is_ok(), "{empty}");
            let db = fx.ks.db(0).cloned().expect("db");
            let k = db.locate(b"k");
            assert!(!db.read(k.shard).contains(&k, 1_000_000), "{empty}");
        }
    }
}

//! SORT and SORT_RO: sort a list, set or sorted set by its elements or by values looked up
//! through patterns (`BY weight_*`, `GET obj_*->field`), with LIMIT, ASC|DESC, ALPHA and STORE.
//!
//! Semantics follow Redis 7: numeric sorting parses each comparison value as a double (an
//! element or looked-up value that does not parse fails the whole command), ties compare the
//! elements' bytes; ALPHA compares bytes; a BY pattern without `*` skips sorting (a sorted
//! set then keeps its rank order, and LIMIT takes that range); looked-up keys that are missing
//! compare as 0 (numeric) or before everything (ALPHA). `STORE` replaces the destination with
//! a list of the results (missing GET values stored as empty strings) or deletes it when there
//! are none, and is logged as that whole value: replay never sorts.

use bytes::Bytes;

use super::{int_arg, is, note_dirty, Ctx};
use crate::keyspace::{Item, Shard};
use crate::num;
use crate::reply::{CmdError, CmdResult, Reply};
use crate::types::elem::ToBytes;
use crate::types::list::List;
use crate::value::{Value, ValueRef};

struct Opts {
    by: Option<Bytes>,
    /// The BY pattern has no `*`: do not sort.
    dontsort: bool,
    limit: Option<(i64, i64)>,
    gets: Vec<Bytes>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

fn parse(args: &[Bytes], readonly: bool) -> Result<Opts, CmdError> {
    let mut o = Opts {
        by: None,
        dontsort: false,
        limit: None,
        gets: Vec::new(),
        desc: false,
        alpha: false,
        store: None,
    };
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let left = args.len() - i - 1;
        if is(a, "ASC") {
            o.desc = false;
        } else if is(a, "DESC") {
            o.desc = true;
        } else if is(a, "ALPHA") {
            o.alpha = true;
        } else if is(a, "LIMIT") && left >= 2 {
            let off = int_arg(&args[i + 1])?;
            let count = int_arg(&args[i + 2])?;
            o.limit = Some((off, count));
            i += 2;
        } else if is(a, "STORE") && left >= 1 && !readonly {
            o.store = Some(args[i + 1].clone());
            i += 1;
        } else if is(a, "BY") && left >= 1 {
            let p = args[i + 1].clone();
            // A BY pattern without '*' means "do not sort" (Redis's trick for GET-only use).
            o.dontsort = !p.contains(&b'*');
            o.by = Some(p);
            i += 1;
        } else if is(a, "GET") && left >= 1 {
            o.gets.push(args[i + 1].clone());
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// Looks up what `pattern` names for element `subst`: `#` is the element itself; otherwise the
/// first `*` is replaced by the element to form a key name, and `key->field` reads a hash
/// field. `None` when the pattern has no `*`, the key is missing, or holds another type.
fn lookup(ctx: &Ctx<'_>, pattern: &[u8], subst: &[u8]) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(Bytes::copy_from_slice(subst));
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let arrow = pattern[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| p + star + 1)
        .filter(|&p| p + 2 < pattern.len());
    let key_end = arrow.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(key_end + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let k = ctx.db.locate(&key);
    let sh = ctx.db.read(k.shard);
    let item = sh.get(&k, ctx.now_ms)?;
    match (arrow, item.view()) {
        (None, ValueRef::Str { data, .. }) => Some(Bytes::copy_from_slice(data)),
        (Some(a), ValueRef::Coll(Value::Hash(h))) => h.get(&pattern[a + 2..]).map(|v| v.to_bytes()),
        _ => None,
    }
}

/// The elements of the source, in its own order (list order, set iteration order, sorted set
/// rank order); WRONGTYPE for strings and hashes.
fn elements(sh: &Shard, ctx: &Ctx<'_>, key: &[u8]) -> Result<(Vec<Bytes>, bool), CmdError> {
    let k = ctx.db.locate(key);
    let Some(item) = sh.get(&k, ctx.now_ms) else {
        return Ok((Vec::new(), false));
    };
    Ok(match item.value() {
        Some(Value::List(l)) => (l.iter().map(|e| e.to_bytes()).collect(), false),
        Some(Value::Set(s)) => (s.iter().map(|m| m.to_bytes()).collect(), false),
        Some(Value::ZSet(z)) => (z.iter().map(|(m, _)| m.to_bytes()).collect(), true),
        _ => return Err(CmdError::WrongType),
    })
}

/// Redis's LIMIT window over `len` elements, as a range.
fn window(limit: Option<(i64, i64)>, len: usize) -> std::ops::Range<usize> {
    let Some((off, count)) = limit else {
        return 0..len;
    };
    let len = len as i64;
    let start = off.max(0);
    let mut end = if count < 0 {
        len - 1
    } else {
        start.saturating_add(count) - 1
    };
    let mut start = start;
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    if start < 0 || end < start {
        return 0..0;
    }
    start as usize..(end + 1) as usize
}

/// Sorts `elems` as the options say.
fn sort_elements(ctx: &Ctx<'_>, o: &Opts, elems: Vec<Bytes>) -> Result<Vec<Bytes>, CmdError> {
    if o.alpha {
        let mut keyed: Vec<(Option<Bytes>, Bytes)> = elems
            .into_iter()
            .map(|e| {
                let by = match &o.by {
                    Some(p) => lookup(ctx, p, &e),
                    None => Some(e.clone()),
                };
                (by, e)
            })
            .collect();
        keyed.sort_by(|a, b| {
            let c = a.0.cmp(&b.0);
            if o.desc {
                c.reverse()
            } else {
                c
            }
        });
        return Ok(keyed.into_iter().map(|(_, e)| e).collect());
    }
    let bad = || CmdError::err("One or more scores can't be converted into double");
    let mut keyed = Vec::with_capacity(elems.len());
    for e in elems {
        let score = match &o.by {
            Some(p) => match lookup(ctx, p, &e) {
                Some(v) => num::parse_f64(&v).filter(|s| !s.is_nan()).ok_or_else(bad)?,
                None => 0.0,
            },
            None => num::parse_f64(&e).filter(|s| !s.is_nan()).ok_or_else(bad)?,
        };
        keyed.push((score, e));
    }
    keyed.sort_by(|a, b| {
        let c =
            a.0.partial_cmp(&b.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.1.cmp(&b.1));
        if o.desc {
            c.reverse()
        } else {
            c
        }
    });
    Ok(keyed.into_iter().map(|(_, e)| e).collect())
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &[Bytes], readonly: bool) -> CmdResult {
    let mut o = parse(args, readonly)?;
    let src = ctx.db.locate(&args[1]);
    // STORE and pattern lookups read several keys: hold the writer so they all see one state.
    let serialize = o.store.is_some() || o.by.is_some() || !o.gets.is_empty();
    let w = serialize.then(|| ctx.ks.writer());
    let (mut elems, _is_zset) = {
        let sh = ctx.db.read(src.shard);
        elements(&sh, ctx, &args[1])?
    };
    let is_set = {
        let sh = ctx.db.read(src.shard);
        sh.get(&src, ctx.now_ms)
            .is_some_and(|i| matches!(i.value(), Some(Value::Set(_))))
    };
    // Redis sorts an unsorted set anyway when storing, so the stored list is deterministic.
    if o.dontsort && is_set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let picked: Vec<Bytes> = if o.dontsort {
        // Unsorted output still honours DESC: the source is read from its end.
        if o.desc {
            elems.reverse();
        }
        let r = window(o.limit, elems.len());
        elems.drain(r).collect()
    } else {
        let sorted = sort_elements(ctx, &o, elems)?;
        let r = window(o.limit, sorted.len());
        sorted[r].to_vec()
    };
    let mut out: Vec<Option<Bytes>> = Vec::with_capacity(picked.len() * o.gets.len().max(1));
    for e in &picked {
        if o.gets.is_empty() {
            out.push(Some(e.clone()));
        }
        for g in &o.gets {
            out.push(lookup(ctx, g, e));
        }
    }
    let Some(dest) = o.store else {
        drop(w);
        return Ok(Reply::Array(out.into_iter().map(Reply::opt_bulk).collect()));
    };
    let Some(mut w) = w else {
        return Err(CmdError::err("internal error: STORE without the writer"));
    };
    let n = out.len();
    let dk = ctx.db.locate(&dest);
    let mut sh = ctx.db.write(dk.shard, &w);
    if n == 0 {
        if sh.remove(&dk, &mut w).is_some() {
            drop(sh);
            drop(w);
            note_dirty(ctx, 1);
        }
        return Ok(Reply::Int(0));
    }
    let l = List::from_items(out.into_iter().map(Option::unwrap_or_default).collect());
    sh.insert(&dk, Item::new(Value::List(Box::new(l)), ctx.now_ms), &mut w);
    drop(sh);
    drop(w);
    note_dirty(ctx, n as u64);
    Ok(Reply::Int(n as i64))
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
/// [STORE destination]
pub fn sort(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
pub fn sort_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn limit_windows_follow_redis() {
        // Proves LIMIT clamps like Redis: negative offset is 0, negative count is "all",
        // an offset past the end gives nothing.
        assert_eq!(window(None, 5), 0..5);
        assert_eq!(window(Some((1, 2)), 5), 1..3);
        assert_eq!(window(Some((-3, 2)), 5), 0..2);
        assert_eq!(window(Some((2, -1)), 5), 2..5);
        assert_eq!(window(Some((7, 2)), 5), 0..0);
        assert_eq!(window(Some((0, 0)), 5), 0..0);
        assert_eq!(window(Some((0, i64::MAX)), 5), 0..5);
        assert_eq!(window(Some((1, 1)), 0), 0..0);
    }
}

//! Stream commands: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID XREAD XREADGROUP XGROUP XACK
//! XPENDING XCLAIM XAUTOCLAIM XINFO.
//!
//! Every change is logged as a stream effect body (see [`crate::types::stream`]) holding its
//! outcome: the ID an `XADD *` chose, the point a trim cut at, the deliveries an XREADGROUP
//! made with their times. A new stream is logged as the `SET` of its whole value. Blocking
//! reads (`BLOCK ms`) answer [`Reply::Block`] when nothing can be served, and the server runs
//! them again when an XADD (or a group change) signals the key; `$` is resolved to the
//! stream's last ID before blocking, so the re-run waits for entries after it.

use bytes::Bytes;

use super::{int_arg, is, log_coll, name_of, note_dirty, note_lookup, Ctx};
use crate::keyspace::{Item, KeyRef, Shard, Writer};
use crate::reply::{BlockOn, CmdError, CmdResult, Reply, StreamWait};
use crate::types::stream::{node_limits, AddError, Body, EntryRef, Group, Stream, StreamId, Trim};
use crate::types::TAG_STREAM;
use crate::value::Value;

const INVALID_ID: &str = "Invalid stream ID specified as stream command argument";

fn invalid_id() -> CmdError {
    CmdError::err(INVALID_ID)
}

/// Redis's `string2ull`: a `string2ll` that is not negative, else what `strtoull` accepts
/// whole (leading blanks and a sign included).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::num::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// How an ID argument is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IdForm {
    /// `-` and `+` allowed.
    Range,
    /// `-` and `+` refused.
    Strict,
}

/// Parses `ms[-seq]` (`missing_seq` when the sequence is left out); with `partial`, `ms-*`
/// gives `(id, false)`.
fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    form: IdForm,
    partial: bool,
) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    match arg {
        b"-" if form == IdForm::Range => return Ok((StreamId::MIN, true)),
        b"+" if form == IdForm::Range => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms, seq) = match arg.iter().position(|&c| c == b'-') {
        Some(i) => (&arg[..i], Some(&arg[i + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms).ok_or_else(invalid_id)?;
    match seq {
        None => Ok((StreamId::new(ms, missing_seq), true)),
        Some(b"*") if partial => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((
            StreamId::new(ms, string2ull(s).ok_or_else(invalid_id)?),
            true,
        )),
    }
}

/// A strict ID (`-`/`+` refused; a missing sequence is 0).
fn strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    Ok(parse_id_full(arg, 0, IdForm::Strict, false)?.0)
}

/// A range bound: `-`, `+`, an ID, or `(ID` for an exclusive one. `start` picks the missing
/// sequence (0 for a start, max for an end) and which way an exclusive bound moves.
fn range_bound(arg: &[u8], start: bool) -> Result<StreamId, CmdError> {
    let (exclusive, arg) = match arg {
        [b'(', rest @ ..] if !rest.is_empty() => (true, rest),
        _ => (false, arg),
    };
    let form = if exclusive {
        IdForm::Strict
    } else {
        IdForm::Range
    };
    let missing = if start { 0 } else { u64::MAX };
    let id = parse_id_full(arg, missing, form, false)?.0;
    if !exclusive {
        return Ok(id);
    }
    if start {
        id.next()
            .ok_or_else(|| CmdError::err("invalid start ID for the interval"))
    } else {
        id.prev()
            .ok_or_else(|| CmdError::err("invalid end ID for the interval"))
    }
}

/// The stream at `k` for reading, or WRONGTYPE.
fn stream_of<'s>(
    sh: &'s Shard,
    k: &KeyRef<'_>,
    now: i64,
    no_touch: bool,
) -> Result<Option<&'s Stream>, CmdError> {
    match sh.get(k, now) {
        None => Ok(None),
        Some(item) => match item.value() {
            Some(Value::Stream(s)) => {
                if !no_touch {
                    item.touch(now);
                }
                Ok(Some(s))
            }
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The stream at `k` for changing, or WRONGTYPE.
fn stream_mut<'s>(
    sh: &'s mut Shard,
    k: &KeyRef<'_>,
    now: i64,
    w: &mut Writer<'_>,
) -> Result<Option<&'s mut Stream>, CmdError> {
    match sh.get_mut(k, now, w) {
        None => Ok(None),
        Some(item) => {
            item.touch(now);
            match item.value_mut() {
                Some(Value::Stream(s)) => Ok(Some(s)),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// Runs `f` on the stream at `key` (None when missing) for a read command.
fn read<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Stream>) -> Result<R, CmdError>,
) -> Result<R, CmdError> {
    let k = ctx.db.locate(key);
    let sh = ctx.db.read(k.shard);
    let s = stream_of(&sh, &k, ctx.now_ms, ctx.no_touch)?;
    let found = s.is_some();
    let r = f(s);
    drop(sh);
    note_lookup(ctx, found);
    r
}

/// What a write closure did: its reply, the body to log, and how many changes it made.
struct Change {
    reply: Reply,
    body: Body,
    dirty: u64,
    /// Wake clients blocked on the key.
    ready: bool,
}

impl Change {
    /// A reply with nothing changed.
    fn reply(reply: Reply) -> Change {
        Change::logged(reply, Body::new(), 0)
    }

    /// A reply, the body to log and the number of changes, waking nobody.
    fn logged(reply: Reply, body: Body, dirty: u64) -> Change {
        Change {
            reply,
            body,
            dirty,
            ready: false,
        }
    }
}

/// Runs `f` on the stream at `key` for a write command: `None` when the key is missing, in
/// which case `f` may return a new stream to store (logged whole).
fn write(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&mut Stream>, i64) -> Result<(Change, Option<Stream>), CmdError>,
) -> CmdResult {
    let k = ctx.db.locate(key);
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let db = sh.db_id();
    let existing = stream_mut(&mut sh, &k, now, &mut w)?;
    let found = existing.is_some();
    let (change, created) = f(existing, now)?;
    if let Some(s) = created {
        sh.insert(&k, Item::new(Value::Stream(Box::new(s)), now), &mut w);
    } else {
        log_coll(&mut w, db, key, TAG_STREAM, change.body.bytes());
    }
    if change.ready {
        w.signal_ready(db, key);
    }
    drop(sh);
    drop(w);
    note_lookup(ctx, found);
    if change.dirty > 0 {
        note_dirty(ctx, change.dirty);
    }
    Ok(change.reply)
}

fn bulks<'a>(fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Reply {
    Reply::Array(
        fields
            .into_iter()
            .flat_map(|(f, v)| [Reply::bulk(f), Reply::bulk(v)])
            .collect(),
    )
}

/// An entry as Redis replies with it: `[id, [field, value, ...]]`.
fn entry_reply(e: &EntryRef<'_>) -> Reply {
    Reply::Array(vec![Reply::Bulk(e.id.to_bytes()), bulks(e.fields())])
}

/// The live entries in `[start, end]` (reversed when `rev`), at most `count` (0: all).
fn range_reply(s: &Stream, start: StreamId, end: StreamId, rev: bool, count: usize) -> Reply {
    let mut out = Vec::new();
    s.scan(start, end, rev, |e| {
        out.push(entry_reply(&e));
        count == 0 || out.len() < count
    });
    Reply::Array(out)
}

// ---- XADD / XTRIM -----------------------------------------------------------------------

/// The ID an XADD asked for.
#[derive(Clone, Copy)]
enum IdSpec {
    Auto,
    /// `ms-*`.
    Partial(u64),
    Explicit(StreamId),
}

/// The trimming and ID options shared by XADD and XTRIM.
struct AddTrim {
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
    nomkstream: bool,
    id: IdSpec,
    /// Index of the ID argument (XADD) or past the options (XTRIM).
    next: usize,
}

/// Redis's `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim(args: &[Bytes], xadd: bool) -> Result<AddTrim, CmdError> {
    let mut a = AddTrim {
        trim: None,
        approx: false,
        limit: 0,
        nomkstream: false,
        id: IdSpec::Auto,
        next: args.len(),
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && &opt[..] == b"*" {
            a.next = i;
            break;
        } else if (is(opt, "MAXLEN") || is(opt, "MINID")) && more > 0 {
            if a.trim.is_some() {
                return Err(CmdError::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            a.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && (next == b"~" || next == b"=") {
                a.approx = next == b"~";
                i += 1;
            }
            let v = &args[i + 1];
            if is(opt, "MAXLEN") {
                let n = int_arg(v)?;
                if n < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                a.trim = Some(Trim::MaxLen(n as u64));
            } else {
                a.trim = Some(Trim::MinId(strict_id(v)?));
            }
            i += 2;
            continue;
        } else if is(opt, "LIMIT") && more > 0 {
            let n = int_arg(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            a.limit = n as u64;
            limit_given = true;
            i += 2;
            continue;
        } else if xadd && is(opt, "NOMKSTREAM") {
            a.nomkstream = true;
        } else if xadd {
            let (id, seq_given) = parse_id_full(opt, 0, IdForm::Strict, true)?;
            a.id = if seq_given {
                IdSpec::Explicit(id)
            } else {
                IdSpec::Partial(id.ms)
            };
            a.next = i;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if a.limit > 0 && a.trim.is_none() {
        return Err(CmdError::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.trim.is_none() {
        return Err(CmdError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !a.approx {
            return Err(CmdError::err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if a.approx {
        let per_node = node_limits().1.saturating_mul(100);
        a.limit = if per_node == 0 || per_node > 10_000 {
            10_000
        } else {
            per_node
        };
    } else {
        a.limit = 0;
    }
    Ok(a)
}

/// Applies `a`'s trim to `s`, recording it in `body`; how many entries went.
fn apply_trim(s: &mut Stream, a: &AddTrim, body: &mut Body) -> u64 {
    let Some(by) = a.trim else { return 0 };
    let removed = s.trim(by, a.approx, a.limit);
    if removed > 0 {
        body.trim(s.trim_point());
    }
    removed
}

/// The ID an XADD with `spec` gets on `s` at `now`.
fn next_id(s: &Stream, spec: IdSpec, now: i64) -> Result<StreamId, CmdError> {
    let smaller = || {
        CmdError::err(
            "The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let last = s.last_id;
    let id = match spec {
        IdSpec::Auto => {
            let ms = u64::try_from(now).unwrap_or(0);
            if ms > last.ms {
                StreamId::new(ms, 0)
            } else {
                last.next().ok_or_else(smaller)?
            }
        }
        IdSpec::Partial(ms) => {
            if ms == last.ms {
                if last.seq == u64::MAX {
                    return Err(smaller());
                }
                StreamId::new(ms, last.seq + 1)
            } else {
                StreamId::new(ms, 0)
            }
        }
        IdSpec::Explicit(id) => id,
    };
    if id <= last {
        return Err(smaller());
    }
    Ok(id)
}

/// XADD key [NOMKSTREAM] [MAXLEN | MINID [= | ~] threshold [LIMIT count]] * | id field value
/// [field value ...]
pub fn xadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = parse_add_trim(args, true)?;
    let field_pos = a.next + 1;
    if field_pos > args.len() || (args.len() - field_pos) < 2 || (args.len() - field_pos) % 2 == 1 {
        return Err(CmdError::WrongArity(name_of(args)));
    }
    if let IdSpec::Explicit(id) = a.id {
        if id.is_zero() {
            return Err(CmdError::err(
                "The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let fields: Vec<(&[u8], &[u8])> = args[field_pos..]
        .chunks_exact(2)
        .map(|p| (&p[0][..], &p[1][..]))
        .collect();
    let nfields = fields.len() as u64;
    write(ctx, &args[1], |s, now| {
        let mut created = None;
        let s = match s {
            Some(s) => s,
            None if a.nomkstream => return Ok((Change::reply(Reply::Nil), None)),
            None => created.insert(Stream::new()),
        };
        if s.last_id == StreamId::MAX {
            return Err(CmdError::err(
                "The stream has exhausted the last possible ID, unable to add more items",
            ));
        }
        let id = next_id(s, a.id, now)?;
        s.add(id, &fields).map_err(|e| match e {
            AddError::NotGreater => CmdError::err(
                "The ID specified in XADD is equal or smaller than the target stream top item",
            ),
            AddError::TooLarge => CmdError::err("Elements are too large to be stored"),
        })?;
        let mut body = Body::new();
        body.add(id, &fields);
        apply_trim(s, &a, &mut body);
        let change = Change {
            reply: Reply::Bulk(id.to_bytes()),
            body,
            dirty: nfields.max(1),
            ready: true,
        };
        Ok((change, created))
    })
}

/// XTRIM key MAXLEN | MINID [= | ~] threshold [LIMIT count]
pub fn xtrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = parse_add_trim(args, false)?;
    write(ctx, &args[1], |s, _| {
        let Some(s) = s else {
            return Ok((Change::reply(Reply::Int(0)), None));
        };
        let mut body = Body::new();
        let removed = apply_trim(s, &a, &mut body);
        Ok((
            Change::logged(Reply::Int(removed as i64), body, removed),
            None,
        ))
    })
}

// ---- reads ------------------------------------------------------------------------------

/// XRANGE key start end [COUNT count] / XREVRANGE key end start [COUNT count]
pub fn xrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let rev = is(&args[0], "XREVRANGE");
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = range_bound(start_arg, true)?;
    let end = range_bound(end_arg, false)?;
    let mut count: Option<i64> = None;
    let mut j = 4;
    while j < args.len() {
        if is(&args[j], "COUNT") && j + 1 < args.len() {
            count = Some(int_arg(&args[j + 1])?.max(0));
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    read(ctx, &args[1], |s| {
        let Some(s) = s else {
            return Ok(Reply::Array(Vec::new()));
        };
        Ok(match count {
            Some(0) => Reply::NilArray,
            c => range_reply(
                s,
                start,
                end,
                rev,
                usize::try_from(c.unwrap_or(0)).unwrap_or(usize::MAX),
            ),
        })
    })
}

/// XLEN key
pub fn xlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |s| {
        Ok(Reply::Int(s.map_or(0, |s| s.len() as i64)))
    })
}

/// XDEL key id [id ...]
pub fn xdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    write(ctx, &args[1], |s, _| {
        let Some(s) = s else {
            return Ok((Change::reply(Reply::Int(0)), None));
        };
        let ids = args[2..]
            .iter()
            .map(|a| strict_id(a))
            .collect::<Result<Vec<_>, _>>()?;
        let deleted: Vec<StreamId> = ids.into_iter().filter(|id| s.delete(*id)).collect();
        let mut body = Body::new();
        if !deleted.is_empty() {
            body.del(&deleted);
        }
        Ok((
            Change::logged(Reply::Int(deleted.len() as i64), body, deleted.len() as u64),
            None,
        ))
    })
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
pub fn xsetid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let id = strict_id(&args[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "ENTRIESADDED") && more > 0 {
            let n = int_arg(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if is(&args[i], "MAXDELETEDID") && more > 0 {
            max_deleted = strict_id(&args[i + 1])?;
            if id < max_deleted {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    write(ctx, &args[1], |s, _| {
        let Some(s) = s else {
            return Err(CmdError::NoSuchKey);
        };
        if !s.is_empty() {
            if id < s.last_live_id() {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the target stream top item",
                ));
            }
            if entries_added.is_some_and(|n| s.len() > n) {
                return Err(CmdError::err(
                    "The entries_added specified in XSETID is smaller than the target stream length",
                ));
            }
        }
        s.last_id = id;
        if let Some(n) = entries_added {
            s.entries_added = n;
        }
        if !max_deleted.is_zero() {
            s.max_deleted = max_deleted;
        }
        let mut body = Body::new();
        body.meta(s.last_id, s.entries_added, s.max_deleted);
        Ok((Change::logged(Reply::Ok, body, 1), None))
    })
}

// ---- XREAD / XREADGROUP -----------------------------------------------------------------

/// Where a read starts on one stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReadFrom {
    /// After this ID.
    After(StreamId),
    /// `$`: after the stream's last ID.
    Last,
    /// `>`: entries never delivered to the group.
    New,
}

struct ReadArgs<'a> {
    block_ms: Option<u64>,
    count: usize,
    group: Option<(&'a Bytes, &'a Bytes)>,
    noack: bool,
    keys: &'a [Bytes],
    from: Vec<ReadFrom>,
    /// Index of the first ID argument.
    ids_at: usize,
}

fn parse_read(args: &[Bytes], group_cmd: bool) -> Result<ReadArgs<'_>, CmdError> {
    let mut block_ms = None;
    let mut count = 0usize;
    let mut group = None;
    let mut noack = false;
    let mut streams_at = None;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let o = &args[i];
        if is(o, "BLOCK") && more > 0 {
            i += 1;
            let ms = crate::num::parse_i64(&args[i])
                .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            block_ms = Some(ms as u64);
        } else if is(o, "COUNT") && more > 0 {
            i += 1;
            count = usize::try_from(int_arg(&args[i])?.max(0)).unwrap_or(usize::MAX);
        } else if is(o, "STREAMS") && more > 0 {
            let n = args.len() - (i + 1);
            if n % 2 != 0 {
                // Redis 7.0 names XREAD and `$` for both commands.
                return Err(CmdError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if is(o, "GROUP") && more >= 2 {
            if !group_cmd {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if is(o, "NOACK") {
            if !group_cmd {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else {
        return Err(CmdError::Syntax);
    };
    if group_cmd && group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    let n = (args.len() - at) / 2;
    Ok(ReadArgs {
        block_ms,
        count,
        group,
        noack,
        keys: &args[at..at + n],
        from: Vec::with_capacity(n),
        ids_at: at + n,
    })
}

/// Resolves the ID arguments of a read (after the key and group checks Redis makes in the
/// same loop): `lookup(i)` says whether key `i` is a stream, and its group exists.
fn parse_read_ids(
    r: &mut ReadArgs<'_>,
    args: &[Bytes],
    mut check: impl FnMut(usize) -> Result<(), CmdError>,
) -> Result<(), CmdError> {
    for i in 0..r.keys.len() {
        check(i)?;
        let arg = &args[r.ids_at + i];
        let from = match &arg[..] {
            b"$" => {
                if r.group.is_some() {
                    return Err(CmdError::err(
                        "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                    ));
                }
                ReadFrom::Last
            }
            b">" => {
                if r.group.is_none() {
                    return Err(CmdError::err(
                        "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                    ));
                }
                ReadFrom::New
            }
            _ => ReadFrom::After(strict_id(arg)?),
        };
        r.from.push(from);
    }
    Ok(())
}

fn nogroup_read(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Other(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// The reply of a read that served `served` (key, entries) pairs, or what it does when none.
fn read_outcome(
    served: Vec<(Reply, Reply)>,
    r: &ReadArgs<'_>,
    args: &[Bytes],
    resolved: &[StreamId],
) -> Reply {
    if !served.is_empty() {
        return Reply::KeyedArrays(served);
    }
    let Some(timeout_ms) = r.block_ms else {
        return Reply::NilArray;
    };
    // Run again with `$` replaced by the ID it meant now, so the wait is for newer entries.
    let rerun = r.from.contains(&ReadFrom::Last).then(|| {
        let mut a = args.to_vec();
        for (i, from) in r.from.iter().enumerate() {
            if *from == ReadFrom::Last {
                a[r.ids_at + i] = resolved[i].to_bytes();
            }
        }
        a
    });
    Reply::Block(Box::new(BlockOn {
        keys: r.keys.iter().map(|k| Bytes::copy_from_slice(k)).collect(),
        timeout_ms,
        on_timeout: Reply::NilArray,
        rerun,
        stream: Some(if r.group.is_some() {
            StreamWait::Group
        } else {
            StreamWait::Read
        }),
    }))
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
pub fn xread(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut r = parse_read(args, false)?;
    let now = ctx.now_ms;
    let no_touch = ctx.no_touch;
    let db = ctx.db.clone();
    let keys = r.keys;
    parse_read_ids(&mut r, args, |i| {
        let k = db.locate(&keys[i]);
        let sh = db.read(k.shard);
        stream_of(&sh, &k, now, true).map(|_| ())
    })?;
    let mut served = Vec::new();
    let mut resolved = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let k = ctx.db.locate(key);
        let sh = ctx.db.read(k.shard);
        let s = stream_of(&sh, &k, now, no_touch)?;
        let Some(s) = s else {
            resolved.push(StreamId::MIN);
            continue;
        };
        let after = match r.from[i] {
            ReadFrom::After(id) => id,
            _ => s.last_id,
        };
        resolved.push(after);
        if s.is_empty() || s.last_live_id() <= after {
            continue;
        }
        let Some(start) = after.next() else { continue };
        served.push((
            Reply::bulk(key),
            range_reply(s, start, StreamId::MAX, false, r.count),
        ));
    }
    Ok(read_outcome(served, &r, args, &resolved))
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key
/// [key ...] id [id ...]
pub fn xreadgroup(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut r = parse_read(args, true)?;
    let Some((gname, cname)) = r.group else {
        return Err(CmdError::Syntax);
    };
    let now = ctx.now_ms;
    let mut w = ctx.ks.writer();
    let keys = r.keys;
    {
        let db = ctx.db.clone();
        parse_read_ids(&mut r, args, |i| {
            let k = db.locate(&keys[i]);
            let sh = db.read(k.shard);
            match stream_of(&sh, &k, now, true)? {
                Some(s) if s.groups.contains_key(&gname[..]) => Ok(()),
                _ => Err(nogroup_read(&keys[i], gname)),
            }
        })?;
    }
    let mut served = Vec::new();
    let mut dirty = 0u64;
    for (i, key) in keys.iter().enumerate() {
        let k = ctx.db.locate(key);
        let mut sh = ctx.db.write(k.shard, &w);
        let db_id = sh.db_id();
        let Some(s) = stream_mut(&mut sh, &k, now, &mut w)? else {
            continue;
        };
        let mut body = Body::new();
        let reply = read_group(s, gname, cname, r.from[i], r.count, r.noack, now, &mut body);
        log_coll(&mut w, db_id, key, TAG_STREAM, body.bytes());
        if let Some(entries) = reply {
            dirty += 1;
            served.push((Reply::bulk(key), entries));
        }
    }
    drop(w);
    note_dirty(ctx, dirty);
    Ok(read_outcome(served, &r, args, &[]))
}

/// One stream of an XREADGROUP: the consumer is created (or seen), then new entries are
/// delivered (`>`) or the consumer's pending history is read. `None` when nothing is
/// served from this stream.
#[allow(clippy::too_many_arguments)]
fn read_group(
    s: &mut Stream,
    gname: &[u8],
    cname: &[u8],
    from: ReadFrom,
    count: usize,
    noack: bool,
    now: i64,
    body: &mut Body,
) -> Option<Reply> {
    // Taken out while the stream is read, then put back under the same key.
    let (gkey, mut group) = s.groups.remove_entry(gname)?;
    group.consumer_mut(cname, now).seen_time = now;
    let mut delivered = Vec::new();
    let reply = match from {
        ReadFrom::After(start) => {
            // History: the consumer's own pending entries from `start`.
            let mut out = Vec::new();
            // Entries after `start`, as for new ones.
            let ids: Vec<StreamId> = group
                .consumers
                .get(cname)
                .and_then(|c| Some(c.pending.range(start.next()?..)))
                .map(|r| {
                    r.take(if count == 0 { usize::MAX } else { count })
                        .copied()
                        .collect()
                })
                .unwrap_or_default();
            for id in ids {
                match s.get(id) {
                    Some(e) => {
                        out.push(entry_reply(&e));
                        if let Some(p) = group.pending.get_mut(&id) {
                            p.delivery_time = now;
                            p.delivery_count += 1;
                            delivered.push((id, now, p.delivery_count));
                        }
                    }
                    None => out.push(Reply::Array(vec![
                        Reply::Bulk(id.to_bytes()),
                        Reply::NilArray,
                    ])),
                }
            }
            Some(Reply::Array(out))
        }
        _ => {
            let last = s.last_live_id();
            if s.is_empty() || last <= group.last_id {
                None
            } else {
                let mut out = Vec::new();
                let mut ids = Vec::new();
                if let Some(start) = group.last_id.next() {
                    s.scan(start, StreamId::MAX, false, |e| {
                        out.push(entry_reply(&e));
                        ids.push(e.id);
                        count == 0 || out.len() < count
                    });
                }
                for id in &ids {
                    s.advance_group(&mut group, *id);
                    if !noack {
                        group.claim(*id, cname, now, 1);
                        delivered.push((*id, now, 1));
                    }
                }
                if !ids.is_empty() {
                    body.group_id(gname, group.last_id, group.entries_read);
                    if let Some(c) = group.consumers.get_mut(cname) {
                        c.active_time = now;
                    }
                }
                Some(Reply::Array(out))
            }
        }
    };
    body.claim(gname, cname, &delivered);
    if let Some(c) = group.consumers.get(cname) {
        // Logged even when nothing was delivered: the seen time is state a restart keeps.
        body.consumer(gname, cname, c.seen_time, c.active_time);
    }
    s.groups.insert(gkey, group);
    reply
}

// ---- XGROUP -----------------------------------------------------------------------------

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::Other(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

fn subcommand_syntax(args: &[Bytes]) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

/// The `ENTRIESREAD n` and `MKSTREAM` options of XGROUP CREATE / SETID from `args[5..]`.
fn group_options(args: &[Bytes], allow_mkstream: bool) -> Result<(bool, i64), CmdError> {
    let mut mkstream = false;
    let mut entries_read = -1;
    let mut i = 5;
    while i < args.len() {
        if allow_mkstream && is(&args[i], "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if is(&args[i], "ENTRIESREAD") && i + 1 < args.len() {
            entries_read = int_arg(&args[i + 1])?;
            if entries_read < 0 && entries_read != -1 {
                return Err(CmdError::err(
                    "value for ENTRIESREAD must be positive or -1",
                ));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax(args));
        }
    }
    Ok((mkstream, entries_read))
}

const KEY_MUST_EXIST: &str = "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// XGROUP CREATE key group id | $ [MKSTREAM] [ENTRIESREAD entries-read]
pub fn xgroup_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 8 {
        return Err(subcommand_syntax(args));
    }
    let (mkstream, entries_read) = group_options(args, true)?;
    let gname = &args[3];
    write(ctx, &args[2], |s, _| {
        if s.is_none() && !mkstream {
            return Err(CmdError::err(KEY_MUST_EXIST));
        }
        let id = if &args[4][..] == b"$" {
            s.as_ref().map_or(StreamId::MIN, |s| s.last_id)
        } else {
            strict_id(&args[4])?
        };
        let mut created = None;
        let s = match s {
            Some(s) => s,
            None => created.insert(Stream::new()),
        };
        if s.groups.contains_key(&gname[..]) {
            return Err(CmdError::Other(
                "BUSYGROUP Consumer Group name already exists".into(),
            ));
        }
        s.groups
            .insert(Bytes::copy_from_slice(gname), Group::new(id, entries_read));
        let mut body = Body::new();
        body.group(gname, id, entries_read);
        Ok((Change::logged(Reply::Ok, body, 1), created))
    })
}

/// Runs an XGROUP subcommand that needs the key and the group to exist.
fn with_group(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    f: impl FnOnce(&mut Stream, &[u8]) -> Result<Change, CmdError>,
) -> CmdResult {
    let gname = &args[3];
    write(ctx, &args[2], |s, _| {
        let Some(s) = s else {
            return Err(CmdError::err(KEY_MUST_EXIST));
        };
        if !s.groups.contains_key(&gname[..]) {
            return Err(nogroup_for_key(gname, &args[2]));
        }
        Ok((f(s, gname)?, None))
    })
}

/// XGROUP SETID key group id | $ [ENTRIESREAD entries-read]
pub fn xgroup_setid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() != 5 && args.len() != 7 {
        return Err(subcommand_syntax(args));
    }
    let (_, entries_read) = group_options(args, false)?;
    with_group(ctx, args, |s, gname| {
        let id = if &args[4][..] == b"$" {
            s.last_id
        } else {
            parse_id_full(&args[4], 0, IdForm::Range, false)?.0
        };
        if let Some(g) = s.groups.get_mut(gname) {
            g.last_id = id;
            g.entries_read = entries_read;
        }
        let mut body = Body::new();
        body.group_id(gname, id, entries_read);
        Ok(Change::logged(Reply::Ok, body, 1))
    })
}

/// XGROUP DESTROY key group
pub fn xgroup_destroy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let gname = &args[3];
    write(ctx, &args[2], |s, _| {
        let Some(s) = s else {
            return Err(CmdError::err(KEY_MUST_EXIST));
        };
        if s.groups.remove(&gname[..]).is_none() {
            return Ok((Change::reply(Reply::Int(0)), None));
        }
        let mut body = Body::new();
        body.ungroup(gname);
        Ok((
            Change {
                reply: Reply::Int(1),
                body,
                dirty: 1,
                // Clients blocked in XREADGROUP on this group get their error.
                ready: true,
            },
            None,
        ))
    })
}

/// XGROUP CREATECONSUMER key group consumer
pub fn xgroup_createconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cname = &args[4];
    let now = ctx.now_ms;
    with_group(ctx, args, |s, gname| {
        let Some(g) = s.groups.get_mut(gname) else {
            return Ok(Change::reply(Reply::Int(0)));
        };
        if g.consumers.contains_key(&cname[..]) {
            return Ok(Change::reply(Reply::Int(0)));
        }
        let c = g.consumer_mut(cname, now);
        let mut body = Body::new();
        body.consumer(gname, cname, c.seen_time, c.active_time);
        Ok(Change::logged(Reply::Int(1), body, 1))
    })
}

/// XGROUP DELCONSUMER key group consumer
pub fn xgroup_delconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cname = &args[4];
    with_group(ctx, args, |s, gname| {
        let pending = s
            .groups
            .get_mut(gname)
            .and_then(|g| g.delete_consumer(cname));
        let Some(pending) = pending else {
            return Ok(Change::reply(Reply::Int(0)));
        };
        let mut body = Body::new();
        body.unconsumer(gname, cname);
        Ok(Change::logged(Reply::Int(pending as i64), body, 1))
    })
}

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn help(lines: &[&str]) -> Reply {
    Reply::Array(
        lines
            .iter()
            .map(|l| Reply::Status(Bytes::copy_from_slice(l.as_bytes())))
            .collect(),
    )
}

/// XGROUP HELP
pub fn xgroup_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Ok(help(XGROUP_HELP))
}

/// XINFO HELP
pub fn xinfo_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Ok(help(XINFO_HELP))
}

// ---- acknowledging and claiming ---------------------------------------------------------

/// XACK key group id [id ...]
pub fn xack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let gname = &args[2];
    write(ctx, &args[1], |s, _| {
        let Some(g) = s.and_then(|s| s.groups.get_mut(&gname[..])) else {
            return Ok((Change::reply(Reply::Int(0)), None));
        };
        let ids = args[3..]
            .iter()
            .map(|a| strict_id(a))
            .collect::<Result<Vec<_>, _>>()?;
        let acked: Vec<StreamId> = ids.into_iter().filter(|id| g.ack(*id)).collect();
        let mut body = Body::new();
        body.ack(gname, &acked);
        Ok((
            Change::logged(Reply::Int(acked.len() as i64), body, acked.len() as u64),
            None,
        ))
    })
}

fn nogroup(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Other(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
pub fn xpending(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let argc = args.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(&args[3], "IDLE") {
            min_idle = int_arg(&args[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = int_arg(&args[at + 2])?.max(0) as u64;
        let start = range_bound(&args[at], true)?;
        let end = range_bound(&args[at + 1], false)?;
        let consumer = args.get(at + 3);
        range = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.now_ms;
    read(ctx, &args[1], |s| {
        let g = s
            .and_then(|s| s.groups.get(&args[2][..]))
            .ok_or_else(|| nogroup(&args[1], &args[2]))?;
        let Some((min_idle, start, end, mut count, consumer)) = range else {
            if g.pending.is_empty() {
                return Ok(Reply::Array(vec![
                    Reply::Int(0),
                    Reply::Nil,
                    Reply::Nil,
                    Reply::NilArray,
                ]));
            }
            let first = g.pending.keys().next().copied().unwrap_or_default();
            let last = g.pending.keys().next_back().copied().unwrap_or_default();
            let consumers = g
                .consumers
                .iter()
                .filter(|(_, c)| !c.pending.is_empty())
                .map(|(name, c)| {
                    Reply::Array(vec![
                        Reply::Bulk(name.clone()),
                        Reply::bulk(c.pending.len().to_string()),
                    ])
                })
                .collect();
            return Ok(Reply::Array(vec![
                Reply::Int(g.pending.len() as i64),
                Reply::Bulk(first.to_bytes()),
                Reply::Bulk(last.to_bytes()),
                Reply::Array(consumers),
            ]));
        };
        let mut out = Vec::new();
        if start > end {
            return Ok(Reply::Array(out));
        }
        let ids: Box<dyn Iterator<Item = &StreamId>> = match consumer {
            Some(name) => match g.consumers.get(&name[..]) {
                Some(c) => Box::new(c.pending.range(start..=end)),
                None => return Ok(Reply::Array(out)),
            },
            None => Box::new(g.pending.range(start..=end).map(|(id, _)| id)),
        };
        for id in ids {
            if count == 0 {
                break;
            }
            let Some(p) = g.pending.get(id) else { continue };
            let idle = now - p.delivery_time;
            if min_idle != 0 && idle < min_idle {
                continue;
            }
            count -= 1;
            out.push(Reply::Array(vec![
                Reply::Bulk(id.to_bytes()),
                Reply::Bulk(p.consumer.clone()),
                Reply::Int(idle.max(0)),
                Reply::Int(p.delivery_count as i64),
            ]));
        }
        Ok(Reply::Array(out))
    })
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
pub fn xclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let gname = &args[2];
    let cname = &args[3];
    write(ctx, &args[1], |s, now| {
        let Some(s) = s.filter(|s| s.groups.contains_key(&gname[..])) else {
            return Err(nogroup(&args[1], gname));
        };
        let min_idle = crate::num::parse_i64(&args[4])
            .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
            .max(0);
        let mut j = 5;
        let mut ids = Vec::new();
        while j < args.len() {
            match strict_id(&args[j]) {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
            j += 1;
        }
        let mut retrycount: Option<u64> = None;
        let mut delivery: Option<i64> = None;
        let mut force = false;
        let mut justid = false;
        let mut last_id = StreamId::MIN;
        while j < args.len() {
            let more = args.len() - 1 - j;
            let opt = &args[j];
            let num = |a: &[u8], what: &str| {
                crate::num::parse_i64(a).ok_or_else(|| {
                    CmdError::err(format!("Invalid {what} option argument for XCLAIM"))
                })
            };
            if is(opt, "FORCE") {
                force = true;
            } else if is(opt, "JUSTID") {
                justid = true;
            } else if is(opt, "IDLE") && more > 0 {
                j += 1;
                delivery = Some(now.saturating_sub(num(&args[j], "IDLE")?));
            } else if is(opt, "TIME") && more > 0 {
                j += 1;
                delivery = Some(num(&args[j], "TIME")?);
            } else if is(opt, "RETRYCOUNT") && more > 0 {
                j += 1;
                retrycount = Some(num(&args[j], "RETRYCOUNT")? as u64);
            } else if is(opt, "LASTID") && more > 0 {
                j += 1;
                last_id = strict_id(&args[j])?;
            } else {
                return Err(CmdError::err(format!(
                    "Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(opt)
                )));
            }
            j += 1;
        }
        let delivery = match delivery {
            Some(t) if (0..=now).contains(&t) => t,
            _ => now,
        };
        // Taken out only now that no argument error can return early, then put back.
        let Some((gkey, mut group)) = s.groups.remove_entry(&gname[..]) else {
            return Err(nogroup(&args[1], gname));
        };
        let mut body = Body::new();
        let mut dirty = 0;
        if last_id > group.last_id {
            group.last_id = last_id;
            body.group_id(gname, group.last_id, group.entries_read);
            dirty += 1;
        }
        let mut out = Vec::new();
        let mut claimed = Vec::new();
        let mut gone = Vec::new();
        // Redis 7.2 creates (or sees) the consumer whatever gets claimed.
        group.consumer_mut(cname, now).seen_time = now;
        for id in ids {
            let entry = s.get(id);
            let Some(entry) = entry else {
                if group.ack(id) {
                    gone.push(id);
                }
                continue;
            };
            let existing = group.pending.get(&id).cloned();
            // A FORCE-created pending entry starts as delivered once, as Redis's does.
            let count_before = match &existing {
                Some(p) => {
                    if min_idle > 0 && now - p.delivery_time < min_idle {
                        continue;
                    }
                    p.delivery_count
                }
                None if force => 1,
                None => continue,
            };
            let count = match retrycount {
                Some(n) => n,
                None if justid => count_before,
                None => count_before + 1,
            };
            group.claim(id, cname, delivery, count);
            claimed.push((id, delivery, count));
            out.push(if justid {
                Reply::Bulk(id.to_bytes())
            } else {
                entry_reply(&entry)
            });
        }
        body.ack(gname, &gone);
        dirty += gone.len() as u64 + claimed.len() as u64;
        body.claim(gname, cname, &claimed);
        if let Some(c) = group.consumers.get_mut(&cname[..]) {
            if !claimed.is_empty() {
                c.active_time = now;
            }
            body.consumer(gname, cname, c.seen_time, c.active_time);
        }
        s.groups.insert(gkey, group);
        Ok((Change::logged(Reply::Array(out), body, dirty), None))
    })
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub fn xautoclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let gname = &args[2];
    let cname = &args[3];
    let min_idle = crate::num::parse_i64(&args[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = range_bound(&args[5], true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "COUNT") && more > 0 {
            let max = i64::MAX / 16;
            count = match crate::num::parse_i64(&args[j + 1]) {
                Some(n) if (1..=max).contains(&n) => n,
                _ => return Err(CmdError::err("COUNT must be > 0")),
            };
            j += 1;
        } else if is(&args[j], "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    write(ctx, &args[1], |s, now| {
        let Some((s, (gkey, mut group))) =
            s.and_then(|s| s.groups.remove_entry(&gname[..]).map(|g| (s, g)))
        else {
            return Err(nogroup(&args[1], gname));
        };
        let mut attempts = count.saturating_mul(10);
        let mut left = count;
        let mut out = Vec::new();
        let mut claimed = Vec::new();
        let mut deleted = Vec::new();
        group.consumer_mut(cname, now).seen_time = now;
        let mut cursor = Some(start);
        let mut next = None;
        while let Some((&id, p)) = cursor.and_then(|c| group.pending.range(c..).next()) {
            if attempts == 0 || left == 0 {
                next = Some(id);
                break;
            }
            attempts -= 1;
            let delivery_count = p.delivery_count;
            let idle = now - p.delivery_time;
            cursor = id.next();
            let Some(entry) = s.get(id) else {
                group.ack(id);
                deleted.push(id);
                left -= 1;
                continue;
            };
            if min_idle > 0 && idle < min_idle {
                continue;
            }
            let n = if justid {
                delivery_count
            } else {
                delivery_count + 1
            };
            group.claim(id, cname, now, n);
            claimed.push((id, now, n));
            out.push(if justid {
                Reply::Bulk(id.to_bytes())
            } else {
                entry_reply(&entry)
            });
            left -= 1;
        }
        let mut body = Body::new();
        body.ack(gname, &deleted);
        body.claim(gname, cname, &claimed);
        if let Some(c) = group.consumers.get_mut(&cname[..]) {
            if !claimed.is_empty() {
                c.active_time = now;
            }
            body.consumer(gname, cname, c.seen_time, c.active_time);
        }
        let dirty = (claimed.len() + deleted.len()) as u64;
        s.groups.insert(gkey, group);
        let reply = Reply::Array(vec![
            Reply::Bulk(next.unwrap_or(StreamId::MIN).to_bytes()),
            Reply::Array(out),
            Reply::Array(
                deleted
                    .iter()
                    .map(|id| Reply::Bulk(id.to_bytes()))
                    .collect(),
            ),
        ]);
        Ok((Change::logged(reply, body, dirty), None))
    })
}

// ---- XINFO ------------------------------------------------------------------------------

fn field(name: &'static str, v: Reply) -> (Reply, Reply) {
    (Reply::Bulk(Bytes::from_static(name.as_bytes())), v)
}

fn opt_int(v: Option<i64>) -> Reply {
    v.map_or(Reply::Nil, Reply::Int)
}

fn entries_read(g: &Group) -> Reply {
    if g.entries_read >= 0 {
        Reply::Int(g.entries_read)
    } else {
        Reply::Nil
    }
}

fn stream_head(s: &Stream) -> Vec<(Reply, Reply)> {
    vec![
        field("length", Reply::Int(s.len() as i64)),
        field("radix-tree-keys", Reply::Int(s.node_count() as i64)),
        field("radix-tree-nodes", Reply::Int(s.radix_tree_nodes() as i64)),
        field("last-generated-id", Reply::Bulk(s.last_id.to_bytes())),
        field(
            "max-deleted-entry-id",
            Reply::Bulk(s.max_deleted.to_bytes()),
        ),
        field("entries-added", Reply::Int(s.entries_added as i64)),
        field(
            "recorded-first-entry-id",
            Reply::Bulk(s.first_id.to_bytes()),
        ),
    ]
}

/// XINFO STREAM key [FULL [COUNT count]]
pub fn xinfo_stream(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut full = false;
    let mut count: usize = 10;
    let wrong = || {
        CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
            String::from_utf8_lossy(&args[1])
        ))
    };
    if args.len() > 3 {
        if !is(&args[3], "FULL") {
            return Err(wrong());
        }
        full = true;
        if args.len() == 6 && is(&args[4], "COUNT") {
            count = usize::try_from(int_arg(&args[5])?.max(0)).unwrap_or(usize::MAX);
        } else if args.len() > 4 {
            return Err(wrong());
        }
    }
    let now = ctx.now_ms;
    read(ctx, &args[2], |s| {
        let s = s.ok_or(CmdError::NoSuchKey)?;
        let mut m = stream_head(s);
        if !full {
            m.push(field("groups", Reply::Int(s.groups.len() as i64)));
            m.push(field(
                "first-entry",
                s.first_entry().map_or(Reply::Nil, |e| entry_reply(&e)),
            ));
            m.push(field(
                "last-entry",
                s.last_entry().map_or(Reply::Nil, |e| entry_reply(&e)),
            ));
            return Ok(Reply::Map(m));
        }
        let limit = if count == 0 { usize::MAX } else { count };
        m.push(field(
            "entries",
            range_reply(s, StreamId::MIN, StreamId::MAX, false, count),
        ));
        let groups = s
            .groups
            .iter()
            .map(|(name, g)| {
                let pending = g
                    .pending
                    .iter()
                    .take(limit)
                    .map(|(id, p)| {
                        Reply::Array(vec![
                            Reply::Bulk(id.to_bytes()),
                            Reply::Bulk(p.consumer.clone()),
                            Reply::Int(p.delivery_time),
                            Reply::Int(p.delivery_count as i64),
                        ])
                    })
                    .collect();
                let consumers = g
                    .consumers
                    .iter()
                    .map(|(cname, c)| {
                        let pending = c
                            .pending
                            .iter()
                            .take(limit)
                            .filter_map(|id| {
                                let p = g.pending.get(id)?;
                                Some(Reply::Array(vec![
                                    Reply::Bulk(id.to_bytes()),
                                    Reply::Int(p.delivery_time),
                                    Reply::Int(p.delivery_count as i64),
                                ]))
                            })
                            .collect();
                        Reply::Map(vec![
                            field("name", Reply::Bulk(cname.clone())),
                            field("seen-time", Reply::Int(c.seen_time)),
                            field("active-time", Reply::Int(c.active_time)),
                            field("pel-count", Reply::Int(c.pending.len() as i64)),
                            field("pending", Reply::Array(pending)),
                        ])
                    })
                    .collect();
                Reply::Map(vec![
                    field("name", Reply::Bulk(name.clone())),
                    field("last-delivered-id", Reply::Bulk(g.last_id.to_bytes())),
                    field("entries-read", entries_read(g)),
                    field("lag", opt_int(s.group_lag(g))),
                    field("pel-count", Reply::Int(g.pending.len() as i64)),
                    field("pending", Reply::Array(pending)),
                    field("consumers", Reply::Array(consumers)),
                ])
            })
            .collect();
        m.push(field("groups", Reply::Array(groups)));
        let _ = now;
        Ok(Reply::Map(m))
    })
}

/// XINFO GROUPS key
pub fn xinfo_groups(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[2], |s| {
        let s = s.ok_or(CmdError::NoSuchKey)?;
        Ok(Reply::Array(
            s.groups
                .iter()
                .map(|(name, g)| {
                    Reply::Map(vec![
                        field("name", Reply::Bulk(name.clone())),
                        field("consumers", Reply::Int(g.consumers.len() as i64)),
                        field("pending", Reply::Int(g.pending.len() as i64)),
                        field("last-delivered-id", Reply::Bulk(g.last_id.to_bytes())),
                        field("entries-read", entries_read(g)),
                        field("lag", opt_int(s.group_lag(g))),
                    ])
                })
                .collect(),
        ))
    })
}

/// XINFO CONSUMERS key group
pub fn xinfo_consumers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    read(ctx, &args[2], |s| {
        let s = s.ok_or(CmdError::NoSuchKey)?;
        let g = s
            .groups
            .get(&args[3][..])
            .ok_or_else(|| nogroup_for_key(&args[3], &args[2]))?;
        Ok(Reply::Array(
            g.consumers
                .iter()
                .map(|(name, c)| {
                    let inactive = if c.active_time < 0 {
                        -1
                    } else {
                        (now - c.active_time).max(0)
                    };
                    Reply::Map(vec![
                        field("name", Reply::Bulk(name.clone())),
                        field("pending", Reply::Int(c.pending.len() as i64)),
                        field("idle", Reply::Int((now - c.seen_time).max(0))),
                        field("inactive", Reply::Int(inactive)),
                    ])
                })
                .collect(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redis() {
        // Proves the ID forms Redis accepts (and strtoull's quirks) and refuses.
        let p = |s: &str| strict_id(s.as_bytes()).ok();
        assert_eq!(p("5"), Some(StreamId::new(5, 0)));
        assert_eq!(p("5-3"), Some(StreamId::new(5, 3)));
        assert_eq!(p("+5-1"), Some(StreamId::new(5, 1)));
        assert_eq!(p(" 5"), Some(StreamId::new(5, 0)));
        assert_eq!(p("-5"), None);
        assert_eq!(p("5-"), None);
        assert_eq!(p("-"), None);
        assert_eq!(p("a-1"), None);
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(
            p("18446744073709551615-18446744073709551615"),
            Some(StreamId::MAX)
        );
        assert_eq!(
            range_bound(b"(5", false).ok(),
            Some(StreamId::new(5, u64::MAX - 1))
        );
        assert_eq!(
            range_bound(b"5", false).ok(),
            Some(StreamId::new(5, u64::MAX))
        );
        assert!(range_bound(b"(-", true).is_err());
        assert!(range_bound(b"(0-0", false).is_err());
        assert_eq!(
            parse_id_full(b"7-*", 0, IdForm::Strict, true).ok(),
            Some((StreamId::new(7, 0), false))
        );
    }
}

//! Collection types: hashes, lists, sets and sorted sets, each in its own module with its data
//! structure, its compact small encoding, its value encoding for snapshots and `SET` effects,
//! and its *collection effects*: the changes a write logs instead of the whole value.
//!
//! A collection effect is one log effect `COLL db key tag body` (see [`crate::effect`]): the
//! `tag` names the type (the value tags below), and the `body` is that type's own op list,
//! encoded and decoded by its module (each module documents its body layout at its top).
//! Replaying a body on the value the key holds gives the value the writer produced; a body
//! that empties a collection deletes the key, as the command did.
//!
//! Value tags (snapshot entries and `SET` effects):
//!
//! ```text
//! tag 0  string   raw:u8  data:bytes
//! tag 1  hash     n:varint  (field:bytes value:bytes)*n     in iteration order
//! tag 2  list     n:varint  elem:bytes*n                     head to tail
//! tag 3  set      n:varint  member:bytes*n                   in iteration order
//! tag 4  zset     n:varint  (score:f64 LE member:bytes)*n    in (score, member) order
//! tag 5  stream   (see [`stream`]: nodes, entries, groups)
//! ```
//!
//! Iteration order is part of the value: a restart (snapshot or log) gives back the same
//! `HGETALL`/`SMEMBERS` order, byte for byte.

pub mod elem;
pub mod hash;
pub mod list;
pub mod pack;
pub mod set;
pub mod stream;
pub mod zset;

use crate::effect::{ApplyError, Cursor, DecodeError};
use crate::value::Value;
use elem::ToBytes;

/// An iterator over either representation of a collection (a small vector or a table).
#[derive(Clone)]
pub enum SmallOrBig<A, B> {
    /// Over the small representation.
    Small(A),
    /// Over the table.
    Big(B),
}

impl<A: Iterator, B: Iterator<Item = A::Item>> Iterator for SmallOrBig<A, B> {
    type Item = A::Item;

    #[inline]
    fn next(&mut self) -> Option<A::Item> {
        match self {
            SmallOrBig::Small(it) => it.next(),
            SmallOrBig::Big(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            SmallOrBig::Small(it) => it.size_hint(),
            SmallOrBig::Big(it) => it.size_hint(),
        }
    }

    /// Forwarded, so skipping into a ring buffer or a table stays O(1).
    fn nth(&mut self, n: usize) -> Option<A::Item> {
        match self {
            SmallOrBig::Small(it) => it.nth(n),
            SmallOrBig::Big(it) => it.nth(n),
        }
    }
}

impl<A: DoubleEndedIterator, B: DoubleEndedIterator<Item = A::Item>> DoubleEndedIterator
    for SmallOrBig<A, B>
{
    #[inline]
    fn next_back(&mut self) -> Option<A::Item> {
        match self {
            SmallOrBig::Small(it) => it.next_back(),
            SmallOrBig::Big(it) => it.next_back(),
        }
    }

    fn nth_back(&mut self, n: usize) -> Option<A::Item> {
        match self {
            SmallOrBig::Small(it) => it.nth_back(n),
            SmallOrBig::Big(it) => it.nth_back(n),
        }
    }
}

impl<A: ExactSizeIterator, B: ExactSizeIterator<Item = A::Item>> ExactSizeIterator
    for SmallOrBig<A, B>
{
}

/// A collection effect body being built: one type's op list (`T` is the type, so each type
/// module adds its own ops as methods of `Body<ItsType>`).
#[derive(Debug)]
pub struct Body<T> {
    buf: Vec<u8>,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<T> Default for Body<T> {
    fn default() -> Self {
        Body {
            buf: Vec::new(),
            _type: std::marker::PhantomData,
        }
    }
}

impl<T> Body<T> {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded body.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Whether no op was added.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Starts op `op`; its fields go into the returned buffer.
    pub(crate) fn op(&mut self, op: u8) -> &mut Vec<u8> {
        self.buf.push(op);
        &mut self.buf
    }

    /// Op `op` followed by a count and that many byte strings (the shape of most ops).
    pub(crate) fn op_list<'a>(&mut self, op: u8, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        let buf = self.op(op);
        crate::effect::put_uvarint(buf, items.len() as u64);
        for it in items {
            crate::effect::put_bytes(buf, it);
        }
    }
}

/// Value tag of strings.
pub const TAG_STRING: u8 = 0;
/// Value tag of hashes.
pub const TAG_HASH: u8 = 1;
/// Value tag of lists.
pub const TAG_LIST: u8 = 2;
/// Value tag of sets.
pub const TAG_SET: u8 = 3;
/// Value tag of sorted sets.
pub const TAG_ZSET: u8 = 4;
/// Value tag of streams.
pub const TAG_STREAM: u8 = 5;

/// What replaying a collection effect did to its key.
#[derive(Debug)]
pub enum Replayed {
    /// The value the key holds was changed in place.
    Changed,
    /// The key did not exist; it now holds this value.
    Created(Value),
    /// The collection became empty: the key is deleted.
    Emptied,
}

/// Replays a collection effect body of type `tag` on the key's current value (`None` when the
/// key does not exist).
pub fn replay(tag: u8, existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    match tag {
        TAG_HASH => hash::replay(existing, body),
        TAG_LIST => list::replay(existing, body),
        TAG_SET => set::replay(existing, body),
        TAG_ZSET => zset::replay(existing, body),
        TAG_STREAM => stream::replay(existing, body),
        tag => Err(ApplyError::Decode(DecodeError::UnknownTag { tag, at: 0 })),
    }
}

/// The type name (as TYPE prints it) of a value tag.
pub fn type_name(tag: u8) -> &'static str {
    match tag {
        TAG_STRING => "string",
        TAG_HASH => "hash",
        TAG_LIST => "list",
        TAG_SET => "set",
        TAG_ZSET => "zset",
        TAG_STREAM => "stream",
        _ => "unknown",
    }
}

/// A collection effect body as text, for `vole-tool wal dump`: the ops, one after another,
/// with their arguments (`SET f1=v1 f2=v2; DEL f3`).
pub fn describe(tag: u8, body: &[u8]) -> Result<String, DecodeError> {
    let mut out = String::new();
    match tag {
        TAG_HASH => hash::describe(body, &mut out)?,
        TAG_LIST => list::describe(body, &mut out)?,
        TAG_SET => set::describe(body, &mut out)?,
        TAG_ZSET => zset::describe(body, &mut out)?,
        TAG_STREAM => stream::describe(body, &mut out)?,
        tag => return Err(DecodeError::UnknownTag { tag, at: 0 }),
    }
    Ok(out)
}

/// Appends `b` for a human: printable ASCII as is, other bytes as `\xNN`, quoted.
pub fn push_text(out: &mut String, b: &[u8]) {
    out.push('"');
    for &c in b {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                use std::fmt::Write;
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push('"');
}

/// Whether `tag` names a collection type (one that has effect bodies).
pub fn is_collection_tag(tag: u8) -> bool {
    matches!(tag, TAG_HASH | TAG_LIST | TAG_SET | TAG_ZSET | TAG_STREAM)
}

/// Reads an element count, refusing counts larger than the bytes left could hold (each
/// element takes at least `min_each` bytes), so a forged count cannot make a loader reserve
/// terabytes.
pub fn count(c: &mut Cursor<'_>, min_each: usize) -> Result<usize, DecodeError> {
    let at = c.pos();
    let n = c.uvarint()?;
    let left = c.remaining() as u64;
    if n.saturating_mul(min_each.max(1) as u64) > left {
        return Err(DecodeError::Invalid {
            what: "element count",
            at,
        });
    }
    Ok(n as usize)
}

/// Implements the value plumbing of [`Collection`] for a type stored as `Value::$variant`.
macro_rules! collection_value {
    ($ty:ident) => {
        $crate::types::collection_value!($ty, |x| Box::new(x));
    };
    ($ty:ident, inline) => {
        $crate::types::collection_value!($ty, |x| x);
    };
    ($ty:ident, $wrap:expr) => {
        fn of(v: &mut Value) -> Option<&mut Self> {
            match v {
                Value::$ty(x) => Some(x),
                _ => None,
            }
        }

        fn into_value(self) -> Value {
            Value::$ty(($wrap)(self))
        }

        fn is_empty(&self) -> bool {
            $ty::is_empty(self)
        }
    };
}
pub(crate) use collection_value;

/// What [`replay_body`] needs of a collection type.
pub(crate) trait Collection: Default {
    /// The collection a value holds, if it is of this type.
    fn of(v: &mut Value) -> Option<&mut Self>;
    /// The value holding this collection.
    fn into_value(self) -> Value;
    /// Whether it has no elements.
    fn is_empty(&self) -> bool;
    /// Applies one op of a body (`op` was read at offset `at`; its fields follow in `c`).
    fn apply_op(&mut self, op: u8, at: usize, c: &mut Cursor<'_>) -> Result<(), ApplyError>;
}

/// Replays a body of `T`'s ops on the key's value (a new `T` when the key does not exist):
/// every type's `replay`.
pub(crate) fn replay_body<T: Collection>(
    existing: Option<&mut Value>,
    body: &[u8],
) -> Result<Replayed, ApplyError> {
    let mut created = None;
    let x: &mut T = match existing {
        Some(v) => T::of(v).ok_or(ApplyError::WrongType)?,
        None => created.insert(T::default()),
    };
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        let at = c.pos();
        let op = c.u8()?;
        x.apply_op(op, at, &mut c)?;
    }
    Ok(finish(x.is_empty(), created.map(T::into_value)))
}

/// The outcome of a replay that left the collection `empty`; `created` holds the value when
/// the key did not exist before.
pub(crate) fn finish(empty: bool, created: Option<Value>) -> Replayed {
    match (empty, created) {
        (true, _) => Replayed::Emptied,
        (false, Some(v)) => Replayed::Created(v),
        (false, None) => Replayed::Changed,
    }
}

/// Elements per command in [`rebuild_commands`], so no command grows without bound.
const REBUILD_BATCH: usize = 512;

/// Redis commands that rebuild `value` at `key` on an empty key (SET, HSET, RPUSH, SADD,
/// ZADD, the collections in batches), for `vole-tool snapshot export --format resp`.
pub fn rebuild_commands(key: &[u8], value: &Value) -> Vec<Vec<bytes::Bytes>> {
    use bytes::Bytes;
    let k = Bytes::copy_from_slice(key);
    let mut out = Vec::new();
    let mut cmd: Vec<Bytes> = Vec::new();
    let mut n = 0;
    let flush = |cmd: &mut Vec<Bytes>, n: &mut usize, out: &mut Vec<Vec<Bytes>>| {
        if *n > 0 {
            out.push(std::mem::take(cmd));
            *n = 0;
        }
    };
    let start = |cmd: &mut Vec<Bytes>, n: usize, name: &'static str| {
        if n == 0 {
            cmd.push(Bytes::from_static(name.as_bytes()));
            cmd.push(k.clone());
        }
    };
    match value {
        Value::Str { data, .. } => {
            out.push(vec![Bytes::from_static(b"SET"), k.clone(), data.to_bytes()]);
        }
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                start(&mut cmd, n, "HSET");
                cmd.push(f.to_bytes());
                cmd.push(v.to_bytes());
                n += 1;
                if n == REBUILD_BATCH {
                    flush(&mut cmd, &mut n, &mut out);
                }
            }
        }
        Value::List(l) => {
            for e in l.iter() {
                start(&mut cmd, n, "RPUSH");
                cmd.push(e.to_bytes());
                n += 1;
                if n == REBUILD_BATCH {
                    flush(&mut cmd, &mut n, &mut out);
                }
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                start(&mut cmd, n, "SADD");
                cmd.push(m.to_bytes());
                n += 1;
                if n == REBUILD_BATCH {
                    flush(&mut cmd, &mut n, &mut out);
                }
            }
        }
        Value::ZSet(z) => {
            for (m, s) in z.iter() {
                start(&mut cmd, n, "ZADD");
                cmd.push(Bytes::from(crate::num::fmt_double(s)));
                cmd.push(m.to_bytes());
                n += 1;
                if n == REBUILD_BATCH {
                    flush(&mut cmd, &mut n, &mut out);
                }
            }
        }
        Value::Stream(st) => stream_rebuild(&k, st, &mut out),
    }
    flush(&mut cmd, &mut n, &mut out);
    out
}

/// The commands that rebuild a stream: its entries (XADD), its metadata (XSETID), its groups
/// (XGROUP CREATE), consumers (XGROUP CREATECONSUMER) and pending entries (XCLAIM FORCE).
fn stream_rebuild(k: &bytes::Bytes, st: &stream::Stream, out: &mut Vec<Vec<bytes::Bytes>>) {
    use bytes::Bytes;
    let b = |s: String| Bytes::from(s);
    st.scan(stream::StreamId::MIN, stream::StreamId::MAX, false, |e| {
        let mut cmd = vec![Bytes::from_static(b"XADD"), k.clone(), e.id.to_bytes()];
        for (f, v) in e.fields() {
            cmd.push(Bytes::copy_from_slice(f));
            cmd.push(Bytes::copy_from_slice(v));
        }
        out.push(cmd);
        true
    });
    if st.is_empty() {
        out.push(vec![
            Bytes::from_static(b"XGROUP"),
            Bytes::from_static(b"CREATE"),
            k.clone(),
            Bytes::from_static(b"vole-tmp"),
            Bytes::from_static(b"0"),
            Bytes::from_static(b"MKSTREAM"),
        ]);
        out.push(vec![
            Bytes::from_static(b"XGROUP"),
            Bytes::from_static(b"DESTROY"),
            k.clone(),
            Bytes::from_static(b"vole-tmp"),
        ]);
    }
    out.push(vec![
        Bytes::from_static(b"XSETID"),
        k.clone(),
        st.last_id.to_bytes(),
        Bytes::from_static(b"ENTRIESADDED"),
        b(st.entries_added.to_string()),
        Bytes::from_static(b"MAXDELETEDID"),
        st.max_deleted.to_bytes(),
    ]);
    for (name, g) in &st.groups {
        let mut cmd = vec![
            Bytes::from_static(b"XGROUP"),
            Bytes::from_static(b"CREATE"),
            k.clone(),
            name.clone(),
            g.last_id.to_bytes(),
        ];
        if g.entries_read >= 0 {
            cmd.push(Bytes::from_static(b"ENTRIESREAD"));
            cmd.push(b(g.entries_read.to_string()));
        }
        out.push(cmd);
        for cname in g.consumers.keys() {
            out.push(vec![
                Bytes::from_static(b"XGROUP"),
                Bytes::from_static(b"CREATECONSUMER"),
                k.clone(),
                name.clone(),
                cname.clone(),
            ]);
        }
        for (id, p) in &g.pending {
            out.push(vec![
                Bytes::from_static(b"XCLAIM"),
                k.clone(),
                name.clone(),
                p.consumer.clone(),
                Bytes::from_static(b"0"),
                id.to_bytes(),
                Bytes::from_static(b"TIME"),
                b(p.delivery_time.to_string()),
                Bytes::from_static(b"RETRYCOUNT"),
                b(p.delivery_count.to_string()),
                Bytes::from_static(b"FORCE"),
                Bytes::from_static(b"JUSTID"),
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn words(cmds: &[Vec<Bytes>]) -> Vec<Vec<String>> {
        cmds.iter()
            .map(|c| {
                c.iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rebuild_commands_recreate_each_type_in_batches() {
        // Proves the export commands name every element, keep order, and split big values.
        let l = list::List::from_items((0..1030).map(|i| Bytes::from(i.to_string())).collect());
        let cmds = rebuild_commands(b"l", &Value::List(Box::new(l)));
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[0].len(), 2 + 512);
        assert_eq!(cmds[2].len(), 2 + 6);
        assert_eq!(words(&cmds)[2][7], "1029");
        let mut z = zset::ZSet::new();
        z.insert(b"b", 2.5);
        z.insert(b"a", f64::NEG_INFINITY);
        let cmds = rebuild_commands(b"z", &Value::ZSet(z));
        assert_eq!(
            words(&cmds),
            vec![vec!["ZADD", "z", "-inf", "a", "2.5", "b"]]
        );
        let mut h = hash::Hash::new();
        h.set(b"f", Bytes::from_static(b"v"));
        let cmds = rebuild_commands(b"h", &Value::Hash(h));
        assert_eq!(words(&cmds), vec![vec!["HSET", "h", "f", "v"]]);
        let mut s = set::Set::new();
        s.add(b"m");
        let cmds = rebuild_commands(b"s", &Value::Set(Box::new(s)));
        assert_eq!(words(&cmds), vec![vec!["SADD", "s", "m"]]);
        assert!(rebuild_commands(b"e", &Value::Set(Box::new(set::Set::new()))).is_empty());
    }
}

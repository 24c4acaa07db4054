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
//! ```
//!
//! Iteration order is part of the value: a restart (snapshot or log) gives back the same
//! `HGETALL`/`SMEMBERS` order, byte for byte.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;

use crate::effect::{ApplyError, Cursor, DecodeError};
use crate::value::Value;

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
    matches!(tag, TAG_HASH | TAG_LIST | TAG_SET | TAG_ZSET)
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

/// The outcome of a replay that left the collection `empty`; `created` holds the value when
/// the key did not exist before.
pub(crate) fn finish(empty: bool, created: Option<Value>) -> Replayed {
    match (empty, created) {
        (true, _) => Replayed::Emptied,
        (false, Some(v)) => Replayed::Created(v),
        (false, None) => Replayed::Changed,
    }
}

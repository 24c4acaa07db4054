//! Sorted sets: unique members ordered by (score, member).
//!
//! Effect body (tag 4), a sequence of ops:
//!
//! ```text
//! op 1  ADD  n:varint (score:f64 LE member:bytes)*n   insert, or move to the new score
//! op 2  REM  n:varint member:bytes*n                   remove
//! ```

use std::collections::BTreeSet;

use bytes::Bytes;
use hashbrown::HashMap;

use super::{count, finish, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_ADD: u8 = 1;
const OP_REM: u8 = 2;

/// A score with a total order (scores are never NaN).
#[derive(Debug, Clone, Copy)]
struct Score(f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A sorted set value.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    scores: HashMap<Bytes, f64, foldhash::fast::RandomState>,
    order: BTreeSet<(Score, Bytes)>,
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The score of `m`.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.scores.get(m).copied()
    }

    /// Sets the score of `m` (adding it); returns the old score.
    pub fn insert(&mut self, m: &[u8], score: f64) -> Option<f64> {
        let old = self.scores.get(m).copied();
        if let Some(o) = old {
            if o.to_bits() == score.to_bits() {
                return old;
            }
            let key = Bytes::copy_from_slice(m);
            self.order.remove(&(Score(o), key.clone()));
            self.order.insert((Score(score), key.clone()));
            self.scores.insert(key, score);
        } else {
            let key = Bytes::copy_from_slice(m);
            self.order.insert((Score(score), key.clone()));
            self.scores.insert(key, score);
        }
        old
    }

    /// Removes `m`; returns its score.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let (key, s) = self.scores.remove_entry(m)?;
        self.order.remove(&(Score(s), key));
        Some(s)
    }

    /// Members and scores in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, f64)> {
        self.order.iter().map(|(s, m)| (m, s.0))
    }

    /// The name OBJECT ENCODING reports (Redis 7: listpack up to 128 members of at most 64
    /// bytes, else skiplist).
    pub fn encoding(&self) -> &'static str {
        if self.scores.len() <= 128 && self.scores.keys().all(|m| m.len() <= 64) {
            "listpack"
        } else {
            "skiplist"
        }
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.scores.capacity() * (std::mem::size_of::<(Bytes, f64)>() + 1)
            + self.order.len() * (std::mem::size_of::<(Score, Bytes)>() + 16)
            + self.scores.keys().map(|m| m.len()).sum::<usize>()
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.scores.len() as u64);
        for (m, s) in self.iter() {
            out.extend_from_slice(&s.to_le_bytes());
            put_bytes(out, m);
        }
    }

    /// Decodes the value encoding (after the tag). NaN scores and duplicates are errors.
    pub fn decode(c: &mut Cursor<'_>) -> Result<ZSet, DecodeError> {
        let n = count(c, 9)?;
        let mut z = ZSet::new();
        for _ in 0..n {
            let at = c.pos();
            let s = c.f64()?;
            let m = c.bytes()?;
            if s.is_nan() || z.insert(m, s).is_some() {
                return Err(DecodeError::Invalid {
                    what: "sorted set entry",
                    at,
                });
            }
        }
        Ok(z)
    }
}

/// Builds a sorted set effect body.
#[derive(Debug, Default)]
pub struct Body {
    buf: Vec<u8>,
}

impl Body {
    /// An empty body.
    pub fn new() -> Body {
        Body::default()
    }

    /// The encoded body.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Whether no op was added.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Members set to scores.
    pub fn add<'a>(&mut self, entries: impl ExactSizeIterator<Item = (&'a [u8], f64)>) {
        self.buf.push(OP_ADD);
        put_uvarint(&mut self.buf, entries.len() as u64);
        for (m, s) in entries {
            self.buf.extend_from_slice(&s.to_le_bytes());
            put_bytes(&mut self.buf, m);
        }
    }

    /// Members removed.
    pub fn rem<'a>(&mut self, members: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.buf.push(OP_REM);
        put_uvarint(&mut self.buf, members.len() as u64);
        for m in members {
            put_bytes(&mut self.buf, m);
        }
    }
}

/// Replays a sorted set effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    let mut created = None;
    let z: &mut ZSet = match existing {
        Some(Value::ZSet(z)) => z,
        Some(_) => return Err(ApplyError::WrongType),
        None => created.insert(ZSet::new()),
    };
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        let at = c.pos();
        match c.u8()? {
            OP_ADD => {
                for _ in 0..count(&mut c, 9)? {
                    let sat = c.pos();
                    let s = c.f64()?;
                    if s.is_nan() {
                        return Err(DecodeError::Invalid {
                            what: "score",
                            at: sat,
                        }
                        .into());
                    }
                    z.insert(c.bytes()?, s);
                }
            }
            OP_REM => {
                for _ in 0..count(&mut c, 1)? {
                    z.remove(c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
    }
    Ok(finish(
        z.is_empty(),
        created.map(|v| Value::ZSet(Box::new(v))),
    ))
}

/// A sorted set effect body as text (`ADD score=m ...; REM m ...`).
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let at = c.pos();
        match c.u8()? {
            OP_ADD => {
                out.push_str("ADD");
                for _ in 0..count(&mut c, 9)? {
                    let s = c.f64()?;
                    out.push(' ');
                    out.push_str(&crate::num::fmt_double(s));
                    out.push('=');
                    super::push_text(out, c.bytes()?);
                }
            }
            OP_REM => {
                out.push_str("REM");
                for _ in 0..count(&mut c, 1)? {
                    out.push(' ');
                    super::push_text(out, c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }),
        }
    }
    Ok(())
}

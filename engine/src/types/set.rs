//! Sets of unique members.
//!
//! Stored as an insertion-ordered set ([`indexmap`]): O(1) membership, O(1) removal by
//! swapping the last member into the hole, and O(1) access by position for SRANDMEMBER, SPOP
//! and SSCAN.
//!
//! Effect body (tag 3), a sequence of ops:
//!
//! ```text
//! op 1  ADD  n:varint member:bytes*n   add (no-op when present), in order
//! op 2  REM  n:varint member:bytes*n   remove (swap-remove), in order
//! ```

use bytes::Bytes;
use indexmap::IndexSet;

use super::{count, finish, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_ADD: u8 = 1;
const OP_REM: u8 = 2;

type Members = IndexSet<Bytes, foldhash::fast::RandomState>;

/// A set value.
#[derive(Debug, Clone, Default)]
pub struct Set {
    members: Members,
}

impl PartialEq for Set {
    /// Equal when the same members are in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.members.len() == other.members.len() && self.members.iter().eq(other.members.iter())
    }
}

impl Set {
    /// An empty set.
    pub fn new() -> Set {
        Set::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// Adds `m`; true when it is new.
    pub fn add(&mut self, m: &[u8]) -> bool {
        if self.members.contains(m) {
            return false;
        }
        self.members.insert(Bytes::copy_from_slice(m))
    }

    /// Removes `m`; true when it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.swap_remove(m)
    }

    /// Members in iteration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Bytes> {
        self.members.iter()
    }

    /// The member at `i` in iteration order.
    pub fn get_index(&self, i: usize) -> Option<&Bytes> {
        self.members.get_index(i)
    }

    /// The name OBJECT ENCODING reports (Redis 7.2: intset for up to 512 integers, listpack
    /// up to 128 members of at most 64 bytes, else hashtable).
    pub fn encoding(&self) -> &'static str {
        let n = self.members.len();
        if n <= 512
            && self
                .members
                .iter()
                .all(|m| m.len() <= 20 && crate::num::parse_i64(m).is_some())
        {
            "intset"
        } else if n <= 128 && self.members.iter().all(|m| m.len() <= 64) {
            "listpack"
        } else {
            "hashtable"
        }
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        let per = std::mem::size_of::<(u64, Bytes)>() + 9;
        self.members.capacity() * per + self.members.iter().map(|m| m.len()).sum::<usize>()
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.members.len() as u64);
        for m in &self.members {
            put_bytes(out, m);
        }
    }

    /// Decodes the value encoding (after the tag). Duplicate members are an error.
    pub fn decode(c: &mut Cursor<'_>) -> Result<Set, DecodeError> {
        let n = count(c, 1)?;
        let mut members = Members::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let at = c.pos();
            if !members.insert(Bytes::copy_from_slice(c.bytes()?)) {
                return Err(DecodeError::Invalid {
                    what: "duplicate set member",
                    at,
                });
            }
        }
        Ok(Set { members })
    }
}

/// Builds a set effect body.
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

    /// Members added.
    pub fn add<'a>(&mut self, members: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.list(OP_ADD, members);
    }

    /// Members removed.
    pub fn rem<'a>(&mut self, members: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.list(OP_REM, members);
    }

    fn list<'a>(&mut self, op: u8, members: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.buf.push(op);
        put_uvarint(&mut self.buf, members.len() as u64);
        for m in members {
            put_bytes(&mut self.buf, m);
        }
    }
}

/// Replays a set effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    let mut created = None;
    let s: &mut Set = match existing {
        Some(Value::Set(s)) => s,
        Some(_) => return Err(ApplyError::WrongType),
        None => created.insert(Set::new()),
    };
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        let at = c.pos();
        match c.u8()? {
            OP_ADD => {
                for _ in 0..count(&mut c, 1)? {
                    s.add(c.bytes()?);
                }
            }
            OP_REM => {
                for _ in 0..count(&mut c, 1)? {
                    s.remove(c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
    }
    Ok(finish(
        s.is_empty(),
        created.map(|v| Value::Set(Box::new(v))),
    ))
}

/// A set effect body as text (`ADD m ...; REM m ...`).
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let at = c.pos();
        match c.u8()? {
            op @ (OP_ADD | OP_REM) => {
                out.push_str(if op == OP_ADD { "ADD" } else { "REM" });
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

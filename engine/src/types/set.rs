//! Sets of unique members.
//!
//! Stored as an insertion-ordered set ([`indexmap`]): O(1) membership and O(1) access by
//! position for SRANDMEMBER, SPOP and SSCAN. The order follows Redis's compact encodings
//! while the set is small, so `SMEMBERS` answers as Redis does there:
//!
//! - while every member is an integer (Redis's `string2ll` form) and there are at most 512,
//!   an added member goes to its sorted position (an intset is sorted);
//! - otherwise an added member goes last (a listpack appends);
//! - with at most 128 members, or an all-integer set of at most 512, a removal shifts the
//!   later members down (O(n) on a small set) as removing from an intset or listpack does;
//!   a larger set removes in O(1) by swapping the last member into the hole.
//!
//! These rules depend only on the contents (never on history), so replaying a body on a
//! value loaded from a snapshot gives the same order as on the live value.
//!
//! OBJECT ENCODING is state, as in Redis 7.2: `intset` while all members are integers and
//! there are at most 512, `listpack` for at most 128 members of at most 64 bytes, else
//! `hashtable`; a set only ever moves to a larger encoding while live. Loading a value
//! derives it from the contents, as Redis does when loading an RDB.
//!
//! Effect body (tag 3), a sequence of ops:
//!
//! ```text
//! op 1  ADD  n:varint member:bytes*n   add (no-op when present), in order
//! op 2  REM  n:varint member:bytes*n   remove, in order
//! ```

use bytes::Bytes;
use indexmap::IndexSet;

use super::{count, finish, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::num::parse_i64;
use crate::value::Value;

const OP_ADD: u8 = 1;
const OP_REM: u8 = 2;

/// Redis's `set-max-intset-entries` default.
pub const INTSET_MAX_ENTRIES: usize = 512;
/// Redis's `set-max-listpack-entries` default.
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's `set-max-listpack-value` default.
pub const LISTPACK_MAX_VALUE: usize = 64;

type Members = IndexSet<Bytes, foldhash::fast::RandomState>;

/// The encoding OBJECT ENCODING reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Enc {
    #[default]
    Intset,
    Listpack,
    Hashtable,
}

/// A set value.
#[derive(Debug, Clone, Default)]
pub struct Set {
    members: Members,
    /// Members that are not integers (derived from the contents).
    non_int: usize,
    enc: Enc,
}

impl PartialEq for Set {
    /// Equal when the same members are in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.members.len() == other.members.len() && self.members.iter().eq(other.members.iter())
    }
}

impl Set {
    /// An empty set (intset encoded).
    pub fn new() -> Set {
        Set::default()
    }

    /// An empty set about to receive `n` members starting with `first`, encoded as Redis
    /// 7.2's `setTypeCreate` chooses.
    pub fn with_hint(first: &[u8], n: usize) -> Set {
        let enc = if parse_i64(first).is_some() && n <= INTSET_MAX_ENTRIES {
            Enc::Intset
        } else if n <= LISTPACK_MAX_ENTRIES {
            Enc::Listpack
        } else {
            Enc::Hashtable
        };
        Set {
            enc,
            ..Set::default()
        }
    }

    /// Notes that one command is about to add `n` members to an existing set (Redis's
    /// `setTypeMaybeConvert`).
    pub fn hint(&mut self, n: usize) {
        if (self.enc == Enc::Listpack && n > LISTPACK_MAX_ENTRIES)
            || (self.enc == Enc::Intset && n > INTSET_MAX_ENTRIES)
        {
            self.enc = Enc::Hashtable;
        }
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
        let int = parse_i64(m);
        let n = self.members.len();
        match int {
            Some(v) if self.non_int == 0 && n < INTSET_MAX_ENTRIES => {
                let pos = self
                    .members
                    .as_slice()
                    .partition_point(|x| parse_i64(x).is_some_and(|x| x < v));
                self.members.shift_insert(pos, Bytes::copy_from_slice(m));
            }
            _ => {
                self.members.insert(Bytes::copy_from_slice(m));
            }
        }
        if int.is_none() {
            self.non_int += 1;
        }
        let len = n + 1;
        self.enc = match self.enc {
            Enc::Intset if int.is_none() => {
                if n < LISTPACK_MAX_ENTRIES && m.len() <= LISTPACK_MAX_VALUE {
                    Enc::Listpack
                } else {
                    Enc::Hashtable
                }
            }
            Enc::Intset if len > INTSET_MAX_ENTRIES => Enc::Hashtable,
            Enc::Listpack if len > LISTPACK_MAX_ENTRIES || m.len() > LISTPACK_MAX_VALUE => {
                Enc::Hashtable
            }
            e => e,
        };
        true
    }

    /// Whether removals keep the order (see the module doc).
    fn ordered(&self) -> bool {
        let n = self.members.len();
        n <= LISTPACK_MAX_ENTRIES || (self.non_int == 0 && n <= INTSET_MAX_ENTRIES)
    }

    /// Removes `m`; true when it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        let removed = if self.ordered() {
            self.members.shift_remove(m)
        } else {
            self.members.swap_remove(m)
        };
        if removed && parse_i64(m).is_none() {
            self.non_int -= 1;
        }
        removed
    }

    /// Members in iteration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Bytes> {
        self.members.iter()
    }

    /// The member at `i` in iteration order.
    pub fn get_index(&self, i: usize) -> Option<&Bytes> {
        self.members.get_index(i)
    }

    /// Whether SSCAN answers everything in one call (as Redis does for an intset or a
    /// listpack). Also whenever additions may shift members (small sets), so a scan over
    /// several calls never meets a shifting insert.
    pub fn scans_whole(&self) -> bool {
        self.enc != Enc::Hashtable || self.ordered()
    }

    /// One SSCAN step (see [`super::hash::Hash::scan`]).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Bytes)) -> u64 {
        let whole = self.scans_whole();
        let (next, range) = super::hash::scan_range(self.members.len(), cursor, count, whole);
        if whole {
            self.members.iter().for_each(visit);
        } else {
            for i in range.rev() {
                if let Some(m) = self.members.get_index(i) {
                    visit(m);
                }
            }
        }
        next
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.enc {
            Enc::Intset => "intset",
            Enc::Listpack => "listpack",
            Enc::Hashtable => "hashtable",
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

    /// Decodes the value encoding (after the tag), keeping the stored order. Duplicate
    /// members are an error. The encoding is derived from the contents.
    pub fn decode(c: &mut Cursor<'_>) -> Result<Set, DecodeError> {
        let n = count(c, 1)?;
        let mut members = Members::with_capacity_and_hasher(n, Default::default());
        let mut non_int = 0;
        let mut longest = 0;
        for _ in 0..n {
            let at = c.pos();
            let m = c.bytes()?;
            non_int += usize::from(parse_i64(m).is_none());
            longest = longest.max(m.len());
            if !members.insert(Bytes::copy_from_slice(m)) {
                return Err(DecodeError::Invalid {
                    what: "duplicate set member",
                    at,
                });
            }
        }
        let enc = if non_int == 0 && n <= INTSET_MAX_ENTRIES {
            Enc::Intset
        } else if n <= LISTPACK_MAX_ENTRIES && longest <= LISTPACK_MAX_VALUE {
            Enc::Listpack
        } else {
            Enc::Hashtable
        };
        Ok(Set {
            members,
            non_int,
            enc,
        })
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
                let n = count(&mut c, 1)?;
                s.hint(n);
                for _ in 0..n {
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

//! Lists: a ring-buffer deque of elements, O(1) at both ends and by index.
//!
//! Effect body (tag 2), a sequence of ops (indexes are absolute, from the head, 0-based):
//!
//! ```text
//! op 1  PUSH_HEAD  n:varint elem:bytes*n      each pushed at the head in turn (as LPUSH)
//! op 2  PUSH_TAIL  n:varint elem:bytes*n      each pushed at the tail in turn (as RPUSH)
//! op 3  POP_HEAD   n:varint                   n elements removed from the head
//! op 4  POP_TAIL   n:varint                   n elements removed from the tail
//! op 5  SET        index:varint elem:bytes    element at index replaced
//! op 6  INSERT     index:varint elem:bytes    elem inserted so that it ends up at index
//! op 7  REMOVE     index:varint               element at index removed
//! op 8  TRIM       start:varint len:varint    only elements [start, start+len) kept
//! op 9  REMOVE_ALL n:varint gap:varint*n      n elements removed at once (LREM): indexes
//!                                             into the list before the op, ascending,
//!                                             each written as the gap from the previous
//!                                             index + 1 (the first as the index itself)
//! ```
//!
//! Encoding (what OBJECT ENCODING reports), as Redis 7.2 with `list-max-listpack-size -2`:
//! a list is a *listpack* while it fits an 8 KiB listpack. Every list tracks the exact byte
//! size its listpack would have (`lp_bytes`). A push (LPUSH, RPUSH, LINSERT, LSET, LMOVE's
//! destination) on a listpack list converts it to a *quicklist* when the current size plus
//! the raw lengths of the new elements exceeds 8192 bytes (Redis's pre-check); a removal
//! (pops, LREM, LTRIM, LSET) on a quicklist converts it back once the size is at most half
//! the limit (4096). A list built whole (a new key, a snapshot load) is a quicklist exactly
//! when its size exceeds 8192. The conversions happen inside the op methods below, which
//! both the commands and [`replay`] call, so replaying a body gives the same encoding too.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{count, finish, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_PUSH_HEAD: u8 = 1;
const OP_PUSH_TAIL: u8 = 2;
const OP_POP_HEAD: u8 = 3;
const OP_POP_TAIL: u8 = 4;
const OP_SET: u8 = 5;
const OP_INSERT: u8 = 6;
const OP_REMOVE: u8 = 7;
const OP_TRIM: u8 = 8;
const OP_REMOVE_ALL: u8 = 9;

/// Largest listpack (bytes) a list keeps before it becomes a quicklist
/// (`list-max-listpack-size -2`).
pub const LISTPACK_MAX_BYTES: usize = 8192;
/// Bytes of an empty listpack: the 6-byte header and the end marker.
const LISTPACK_EMPTY_BYTES: usize = 7;

/// The bytes one element takes in a listpack: its encoding byte(s), its data and its
/// back-length, with strings that read as integers stored as integers (as Redis does).
pub fn listpack_entry_bytes(e: &[u8]) -> usize {
    let int = if e.len() <= 20 {
        crate::num::parse_i64(e)
    } else {
        None
    };
    let enc = match int {
        Some(0..=127) => 1,
        Some(-4096..=4095) => 2,
        Some(-32768..=32767) => 3,
        Some(-8_388_608..=8_388_607) => 4,
        Some(-2_147_483_648..=2_147_483_647) => 5,
        Some(_) => 9,
        None => {
            let l = e.len();
            if l < 64 {
                1 + l
            } else if l < 4096 {
                2 + l
            } else {
                5 + l
            }
        }
    };
    let back = match enc {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    };
    enc + back
}

/// A list value.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    items: VecDeque<Bytes>,
    /// The bytes the elements would take as one listpack.
    lp_bytes: usize,
    /// Encoded as a quicklist (else a listpack).
    quick: bool,
}

impl Default for List {
    fn default() -> List {
        List {
            items: VecDeque::new(),
            lp_bytes: LISTPACK_EMPTY_BYTES,
            quick: false,
        }
    }
}

impl List {
    /// An empty list.
    pub fn new() -> List {
        List::default()
    }

    /// A list built whole from `items` (head first): a quicklist exactly when it does not
    /// fit one listpack.
    pub fn from_items(items: VecDeque<Bytes>) -> List {
        let lp_bytes = LISTPACK_EMPTY_BYTES
            + items
                .iter()
                .map(|e| listpack_entry_bytes(e))
                .sum::<usize>();
        List {
            items,
            lp_bytes,
            quick: lp_bytes > LISTPACK_MAX_BYTES,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The elements, head first.
    pub fn items(&self) -> &VecDeque<Bytes> {
        &self.items
    }

    /// The element at `i` (from the head).
    pub fn get(&self, i: usize) -> Option<&Bytes> {
        self.items.get(i)
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.quick {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// The bytes the elements would take as one listpack.
    pub fn listpack_bytes(&self) -> usize {
        self.lp_bytes
    }

    /// Redis's check before adding elements whose raw lengths sum to `add`.
    fn grow_check(&mut self, add: usize) {
        if !self.quick && self.lp_bytes.saturating_add(add) > LISTPACK_MAX_BYTES {
            self.quick = true;
        }
    }

    /// Redis's check after removing elements.
    fn shrink_check(&mut self) {
        if self.quick && self.lp_bytes <= LISTPACK_MAX_BYTES / 2 {
            self.quick = false;
        }
    }

    /// Pushes `elems` at the head (`head`, each in turn, as LPUSH) or the tail.
    pub fn push(&mut self, head: bool, elems: &[Bytes]) {
        self.grow_check(elems.iter().map(|e| e.len()).sum());
        for e in elems {
            self.lp_bytes += listpack_entry_bytes(e);
            if head {
                self.items.push_front(e.clone());
            } else {
                self.items.push_back(e.clone());
            }
        }
    }

    /// Removes up to `n` elements from the head (`head`) or the tail, in pop order.
    pub fn pop(&mut self, head: bool, n: usize) -> Vec<Bytes> {
        let n = n.min(self.items.len());
        let out: Vec<Bytes> = if head {
            self.items.drain(..n).collect()
        } else {
            let at = self.items.len() - n;
            self.items.drain(at..).rev().collect()
        };
        for e in &out {
            self.lp_bytes -= listpack_entry_bytes(e);
        }
        self.shrink_check();
        out
    }

    /// Replaces the element at `i` (which must exist); returns false when it does not.
    pub fn set(&mut self, i: usize, elem: Bytes) -> bool {
        if i >= self.items.len() {
            return false;
        }
        self.grow_check(elem.len());
        let new = listpack_entry_bytes(&elem);
        let old = std::mem::replace(&mut self.items[i], elem);
        self.lp_bytes = self.lp_bytes - listpack_entry_bytes(&old) + new;
        self.shrink_check();
        true
    }

    /// Inserts `elem` so that it ends up at `i` (at most the length); false when `i` is
    /// past the end.
    pub fn insert(&mut self, i: usize, elem: Bytes) -> bool {
        if i > self.items.len() {
            return false;
        }
        self.grow_check(elem.len());
        self.lp_bytes += listpack_entry_bytes(&elem);
        self.items.insert(i, elem);
        true
    }

    /// Removes the elements at the strictly ascending indexes `at` (all in range); false
    /// (and nothing removed) when they are not.
    pub fn remove_all(&mut self, at: &[usize]) -> bool {
        if !at.windows(2).all(|w| w[0] < w[1]) || at.last().is_some_and(|&i| i >= self.len()) {
            return false;
        }
        if at.is_empty() {
            return true;
        }
        let mut next = 0;
        let mut i = 0;
        let mut freed = 0;
        self.items.retain(|e| {
            let drop = at.get(next) == Some(&i);
            i += 1;
            if drop {
                next += 1;
                freed += listpack_entry_bytes(e);
            }
            !drop
        });
        self.lp_bytes -= freed;
        self.shrink_check();
        true
    }

    /// Keeps only `[start, start+len)`; false (nothing changed) when out of range.
    pub fn trim(&mut self, start: usize, len: usize) -> bool {
        if start > self.len() || len > self.len() - start {
            return false;
        }
        let freed: usize = self
            .items
            .iter()
            .take(start)
            .chain(self.items.iter().skip(start + len))
            .map(|e| listpack_entry_bytes(e))
            .sum();
        self.items.truncate(start + len);
        self.items.drain(..start);
        self.lp_bytes -= freed;
        self.shrink_check();
        true
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Bytes>()
            + self.items.iter().map(|e| e.len()).sum::<usize>()
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.items.len() as u64);
        for e in &self.items {
            put_bytes(out, e);
        }
    }

    /// Decodes the value encoding (after the tag).
    pub fn decode(c: &mut Cursor<'_>) -> Result<List, DecodeError> {
        let n = count(c, 1)?;
        let mut items = VecDeque::with_capacity(n);
        for _ in 0..n {
            items.push_back(Bytes::copy_from_slice(c.bytes()?));
        }
        Ok(List::from_items(items))
    }
}

/// Builds a list effect body.
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

    /// Elements pushed at the head (`head`) or tail, each in turn.
    pub fn push<'a>(&mut self, head: bool, elems: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.buf
            .push(if head { OP_PUSH_HEAD } else { OP_PUSH_TAIL });
        put_uvarint(&mut self.buf, elems.len() as u64);
        for e in elems {
            put_bytes(&mut self.buf, e);
        }
    }

    /// `n` elements popped from the head (`head`) or tail.
    pub fn pop(&mut self, head: bool, n: usize) {
        self.buf.push(if head { OP_POP_HEAD } else { OP_POP_TAIL });
        put_uvarint(&mut self.buf, n as u64);
    }

    /// The element at `index` replaced by `elem`.
    pub fn set(&mut self, index: usize, elem: &[u8]) {
        self.buf.push(OP_SET);
        put_uvarint(&mut self.buf, index as u64);
        put_bytes(&mut self.buf, elem);
    }

    /// `elem` inserted at `index`.
    pub fn insert(&mut self, index: usize, elem: &[u8]) {
        self.buf.push(OP_INSERT);
        put_uvarint(&mut self.buf, index as u64);
        put_bytes(&mut self.buf, elem);
    }

    /// The element at `index` removed.
    pub fn remove(&mut self, index: usize) {
        self.buf.push(OP_REMOVE);
        put_uvarint(&mut self.buf, index as u64);
    }

    /// The elements at the strictly ascending indexes `at` removed at once.
    pub fn remove_all(&mut self, at: &[usize]) {
        self.buf.push(OP_REMOVE_ALL);
        put_uvarint(&mut self.buf, at.len() as u64);
        let mut next = 0;
        for &i in at {
            put_uvarint(&mut self.buf, (i - next) as u64);
            next = i + 1;
        }
    }

    /// Only `[start, start+len)` kept.
    pub fn trim(&mut self, start: usize, len: usize) {
        self.buf.push(OP_TRIM);
        put_uvarint(&mut self.buf, start as u64);
        put_uvarint(&mut self.buf, len as u64);
    }
}

fn index(c: &mut Cursor<'_>, len: usize, inclusive_end: bool) -> Result<usize, DecodeError> {
    let at = c.pos();
    let i = c.uvarint()?;
    let ok = if inclusive_end {
        i <= len as u64
    } else {
        i < len as u64
    };
    if ok {
        Ok(i as usize)
    } else {
        Err(DecodeError::Invalid {
            what: "list index",
            at,
        })
    }
}

fn elems(c: &mut Cursor<'_>) -> Result<Vec<Bytes>, DecodeError> {
    let n = count(c, 1)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Bytes::copy_from_slice(c.bytes()?));
    }
    Ok(out)
}

/// Replays a list effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    let mut created = None;
    let l: &mut List = match existing {
        Some(Value::List(l)) => l,
        Some(_) => return Err(ApplyError::WrongType),
        None => created.insert(List::new()),
    };
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        let at = c.pos();
        match c.u8()? {
            op @ (OP_PUSH_HEAD | OP_PUSH_TAIL) => {
                let e = elems(&mut c)?;
                l.push(op == OP_PUSH_HEAD, &e);
            }
            op @ (OP_POP_HEAD | OP_POP_TAIL) => {
                let n = index(&mut c, l.len(), true)?;
                l.pop(op == OP_POP_HEAD, n);
            }
            OP_SET => {
                let i = index(&mut c, l.len(), false)?;
                l.set(i, Bytes::copy_from_slice(c.bytes()?));
            }
            OP_INSERT => {
                let i = index(&mut c, l.len(), true)?;
                l.insert(i, Bytes::copy_from_slice(c.bytes()?));
            }
            OP_REMOVE => {
                let i = index(&mut c, l.len(), false)?;
                l.remove_all(&[i]);
            }
            OP_REMOVE_ALL => {
                let n = count(&mut c, 1)?;
                let mut idx = Vec::with_capacity(n);
                let mut next = 0usize;
                for _ in 0..n {
                    let i = index(&mut c, l.len().saturating_sub(next), false)? + next;
                    idx.push(i);
                    next = i + 1;
                }
                l.remove_all(&idx);
            }
            OP_TRIM => {
                let start = index(&mut c, l.len(), true)?;
                let n = index(&mut c, l.len() - start, true)?;
                l.trim(start, n);
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
    }
    Ok(finish(
        l.is_empty(),
        created.map(|v| Value::List(Box::new(v))),
    ))
}

/// A list effect body as text (`PUSH_HEAD e ...; POP_TAIL 2; SET 3 e; ...`).
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    use std::fmt::Write;
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let at = c.pos();
        match c.u8()? {
            op @ (OP_PUSH_HEAD | OP_PUSH_TAIL) => {
                out.push_str(if op == OP_PUSH_HEAD {
                    "PUSH_HEAD"
                } else {
                    "PUSH_TAIL"
                });
                for _ in 0..count(&mut c, 1)? {
                    out.push(' ');
                    super::push_text(out, c.bytes()?);
                }
            }
            OP_POP_HEAD => {
                let _ = write!(out, "POP_HEAD {}", c.uvarint()?);
            }
            OP_POP_TAIL => {
                let _ = write!(out, "POP_TAIL {}", c.uvarint()?);
            }
            op @ (OP_SET | OP_INSERT) => {
                let i = c.uvarint()?;
                let name = if op == OP_SET { "SET" } else { "INSERT" };
                let _ = write!(out, "{name} {i} ");
                super::push_text(out, c.bytes()?);
            }
            OP_REMOVE => {
                let _ = write!(out, "REMOVE {}", c.uvarint()?);
            }
            OP_REMOVE_ALL => {
                out.push_str("REMOVE_ALL");
                let mut next = 0u64;
                for _ in 0..count(&mut c, 1)? {
                    let i = next.saturating_add(c.uvarint()?);
                    let _ = write!(out, " {i}");
                    next = i.saturating_add(1);
                }
            }
            OP_TRIM => {
                let start = c.uvarint()?;
                let _ = write!(out, "TRIM {start} {}", c.uvarint()?);
            }
            op => return Err(DecodeError::UnknownOp { op, at }),
        }
    }
    Ok(())
}

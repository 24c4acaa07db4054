//! Lists: a [`Pack`] of elements while the list is a listpack (at most 8 KiB, see below), a
//! ring-buffer deque of elements once it is a quicklist: O(1) at both ends and by index.
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

use super::elem::Elem;
use super::pack::{self, Pack};

use super::{count, Replayed};
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
    if let Some(v) = int {
        return listpack_int_bytes(v);
    }
    let l = e.len();
    let enc = if l < 64 {
        1 + l
    } else if l < 4096 {
        2 + l
    } else {
        5 + l
    };
    enc + backlen_bytes(enc)
}

/// The bytes an integer element takes in a listpack (encoding and back-length).
pub fn listpack_int_bytes(v: i64) -> usize {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    enc + backlen_bytes(enc)
}

/// The bytes of a listpack element's back-length field for an element of `enc` bytes.
fn backlen_bytes(enc: usize) -> usize {
    match enc {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    }
}

/// How the elements are stored: packed while the list is a listpack, a ring buffer once it
/// is a quicklist.
#[derive(Debug, Clone)]
enum Items {
    Small(Pack),
    Big(VecDeque<Elem>),
}

/// Iterator over a list's elements, head first (double-ended, O(1) `nth` on a quicklist).
#[derive(Clone)]
pub enum Iter<'a> {
    /// Over a listpack.
    Small(pack::Iter<'a>),
    /// Over a quicklist's ring buffer.
    Big(std::collections::vec_deque::Iter<'a, Elem>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Iter::Small(it) => it.next(),
            Iter::Big(it) => it.next().map(Elem::as_slice),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(it) => it.size_hint(),
            Iter::Big(it) => it.size_hint(),
        }
    }

    fn nth(&mut self, n: usize) -> Option<&'a [u8]> {
        match self {
            Iter::Small(it) => it.nth(n),
            Iter::Big(it) => it.nth(n).map(Elem::as_slice),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next_back(),
            Iter::Big(it) => it.next_back().map(Elem::as_slice),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// A list value.
#[derive(Debug, Clone)]
pub struct List {
    items: Items,
    /// The bytes the elements would take as one listpack.
    lp_bytes: usize,
}

impl Default for List {
    fn default() -> List {
        List {
            items: Items::Small(Pack::new()),
            lp_bytes: LISTPACK_EMPTY_BYTES,
        }
    }
}

impl PartialEq for List {
    /// Equal when the same elements are in the same order, in the same encoding.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.encoding() == other.encoding()
            && self.iter().eq(other.iter())
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
        List::build(items.iter().map(|e| &e[..]))
    }

    /// A list built whole from elements (head first).
    pub fn build<'a>(items: impl Iterator<Item = &'a [u8]> + Clone) -> List {
        let lp_bytes =
            LISTPACK_EMPTY_BYTES + items.clone().map(listpack_entry_bytes).sum::<usize>();
        let items = if lp_bytes > LISTPACK_MAX_BYTES {
            Items::Big(items.map(Elem::new).collect())
        } else {
            let bytes = items.clone().map(|e| Pack::entry_size(e.len())).sum();
            let mut p = Pack::with_capacity(bytes);
            items.for_each(|e| p.push(e));
            Items::Small(p)
        };
        List { items, lp_bytes }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.items {
            Items::Small(p) => p.len(),
            Items::Big(d) => d.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements, head first.
    pub fn iter<'a>(&'a self) -> Iter<'a> {
        match &self.items {
            Items::Small(p) => Iter::Small(p.iter()),
            Items::Big(d) => Iter::Big(d.iter()),
        }
    }

    /// The elements at `start..=end` (both in range), head first; O(1) to reach `start` on
    /// a quicklist.
    pub fn range<'a>(&'a self, start: usize, end: usize) -> Iter<'a> {
        match &self.items {
            Items::Small(p) => {
                let it = match p.nth(start) {
                    Some(at) => p.iter_from(at, start),
                    None => p.iter_from(p.end(), p.len()),
                };
                Iter::Small(it.limit(end.saturating_sub(start) + 1))
            }
            Items::Big(d) => {
                let end = end.min(d.len().saturating_sub(1));
                let r = if start <= end { start..end + 1 } else { 0..0 };
                Iter::Big(d.range(r))
            }
        }
    }

    /// The element at `i` (from the head; O(i) on a listpack, from the nearer end).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match &self.items {
            Items::Small(p) => p.nth(i).map(|at| p.get(at).0),
            Items::Big(d) => d.get(i).map(Elem::as_slice),
        }
    }

    fn quick(&self) -> bool {
        matches!(self.items, Items::Big(_))
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.quick() {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// The bytes the elements would take as one listpack.
    pub fn listpack_bytes(&self) -> usize {
        self.lp_bytes
    }

    /// Redis's check before adding elements whose raw lengths sum to `add`: a listpack that
    /// would outgrow the limit becomes a quicklist (a ring buffer).
    fn grow_check(&mut self, add: usize) {
        if let Items::Small(p) = &self.items {
            if self.lp_bytes.saturating_add(add) > LISTPACK_MAX_BYTES {
                self.items = Items::Big(p.iter().map(Elem::new).collect());
            }
        }
    }

    /// Redis's check after removing elements: a quicklist at most half the limit becomes a
    /// listpack again.
    fn shrink_check(&mut self) {
        if let Items::Big(d) = &self.items {
            if self.lp_bytes <= LISTPACK_MAX_BYTES / 2 {
                let bytes = d.iter().map(|e| Pack::entry_size(e.len())).sum();
                let mut p = Pack::with_capacity(bytes);
                d.iter().for_each(|e| p.push(e));
                self.items = Items::Small(p);
            }
        }
    }

    /// Pushes `elems` at the head (`head`, each in turn, as LPUSH) or the tail.
    pub fn push(&mut self, head: bool, elems: &[Bytes]) {
        self.grow_check(elems.iter().map(|e| e.len()).sum());
        for e in elems {
            self.lp_bytes += listpack_entry_bytes(e);
            match (&mut self.items, head) {
                (Items::Small(p), true) => p.insert(0, &[e]),
                (Items::Small(p), false) => p.push(e),
                (Items::Big(d), true) => d.push_front(Elem::new(e)),
                (Items::Big(d), false) => d.push_back(Elem::new(e)),
            }
        }
    }

    /// Removes up to `n` elements from the head (`head`) or the tail, in pop order.
    pub fn pop(&mut self, head: bool, n: usize) -> Vec<Bytes> {
        let n = n.min(self.len());
        let out: Vec<Bytes> = match (&mut self.items, head) {
            (Items::Small(p), true) => {
                let out = p.iter().take(n).map(Bytes::copy_from_slice).collect();
                p.remove(0, n);
                out
            }
            (Items::Small(p), false) => {
                let out = p.iter().rev().take(n).map(Bytes::copy_from_slice).collect();
                if let Some(at) = p.nth(p.len() - n) {
                    p.remove(at, n);
                }
                out
            }
            (Items::Big(d), true) => d.drain(..n).map(|e| e.to_bytes()).collect(),
            (Items::Big(d), false) => {
                let at = d.len() - n;
                d.drain(at..).rev().map(|e| e.to_bytes()).collect()
            }
        };
        for e in &out {
            self.lp_bytes -= listpack_entry_bytes(e);
        }
        self.shrink_check();
        out
    }

    /// Replaces the element at `i` (which must exist); returns false when it does not.
    pub fn set(&mut self, i: usize, elem: Bytes) -> bool {
        if i >= self.len() {
            return false;
        }
        self.grow_check(elem.len());
        let new = listpack_entry_bytes(&elem);
        let old = match &mut self.items {
            Items::Small(p) => {
                let Some(at) = p.nth(i) else {
                    return false;
                };
                let old = listpack_entry_bytes(p.get(at).0);
                p.replace(at, &[&elem]);
                old
            }
            Items::Big(d) => listpack_entry_bytes(&std::mem::replace(&mut d[i], Elem::new(&elem))),
        };
        self.lp_bytes = self.lp_bytes - old + new;
        self.shrink_check();
        true
    }

    /// Inserts `elem` so that it ends up at `i` (at most the length); false when `i` is
    /// past the end.
    pub fn insert(&mut self, i: usize, elem: Bytes) -> bool {
        if i > self.len() {
            return false;
        }
        self.grow_check(elem.len());
        self.lp_bytes += listpack_entry_bytes(&elem);
        match &mut self.items {
            Items::Small(p) => {
                let at = p.nth(i).unwrap_or(p.end());
                p.insert(at, &[&elem]);
            }
            Items::Big(d) => d.insert(i, Elem::new(&elem)),
        }
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
        let mut drop = |e: &[u8]| {
            let drop = at.get(next) == Some(&i);
            i += 1;
            if drop {
                next += 1;
                freed += listpack_entry_bytes(e);
            }
            drop
        };
        match &mut self.items {
            Items::Small(p) => {
                let mut kept = Pack::with_capacity(p.end());
                for e in p.iter() {
                    if !drop(e) {
                        kept.push(e);
                    }
                }
                *p = kept;
            }
            Items::Big(d) => d.retain(|e| !drop(e)),
        }
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
            .iter()
            .take(start)
            .chain(self.iter().skip(start + len))
            .map(listpack_entry_bytes)
            .sum();
        match &mut self.items {
            Items::Small(p) => {
                let n = p.len();
                if let Some(at) = p.nth(start + len) {
                    p.remove(at, n - start - len);
                }
                p.remove(0, start);
            }
            Items::Big(d) => {
                d.truncate(start + len);
                d.drain(..start);
            }
        }
        self.lp_bytes -= freed;
        self.shrink_check();
        true
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        match &self.items {
            Items::Small(p) => p.heap_bytes(),
            Items::Big(d) => {
                d.capacity() * std::mem::size_of::<Elem>()
                    + d.iter().map(|e| e.heap_bytes()).sum::<usize>()
            }
        }
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.len() as u64);
        for e in self.iter() {
            put_bytes(out, e);
        }
    }

    /// Decodes the value encoding (after the tag).
    pub fn decode(c: &mut Cursor<'_>) -> Result<List, DecodeError> {
        let n = count(c, 1)?;
        let start = c.clone();
        for _ in 0..n {
            c.bytes()?;
        }
        let mut items = start;
        // The elements were all read once above, so these reads succeed.
        Ok(List::build(
            std::iter::from_fn(move || items.bytes().ok()).take(n),
        ))
    }
}

/// Builds a list effect body.
pub type Body = super::Body<List>;

impl Body {
    /// Elements pushed at the head (`head`) or tail, each in turn.
    pub fn push<'a>(&mut self, head: bool, elems: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.op_list(if head { OP_PUSH_HEAD } else { OP_PUSH_TAIL }, elems);
    }

    /// `n` elements popped from the head (`head`) or tail.
    pub fn pop(&mut self, head: bool, n: usize) {
        put_uvarint(
            self.op(if head { OP_POP_HEAD } else { OP_POP_TAIL }),
            n as u64,
        );
    }

    /// The element at `index` replaced by `elem`.
    pub fn set(&mut self, index: usize, elem: &[u8]) {
        let buf = self.op(OP_SET);
        put_uvarint(buf, index as u64);
        put_bytes(buf, elem);
    }

    /// `elem` inserted at `index`.
    pub fn insert(&mut self, index: usize, elem: &[u8]) {
        let buf = self.op(OP_INSERT);
        put_uvarint(buf, index as u64);
        put_bytes(buf, elem);
    }

    /// The element at `index` removed.
    pub fn remove(&mut self, index: usize) {
        put_uvarint(self.op(OP_REMOVE), index as u64);
    }

    /// The elements at the strictly ascending indexes `at` removed at once.
    pub fn remove_all(&mut self, at: &[usize]) {
        let buf = self.op(OP_REMOVE_ALL);
        put_uvarint(buf, at.len() as u64);
        let mut next = 0;
        for &i in at {
            put_uvarint(buf, i.saturating_sub(next) as u64);
            next = i + 1;
        }
    }

    /// Only `[start, start+len)` kept.
    pub fn trim(&mut self, start: usize, len: usize) {
        let buf = self.op(OP_TRIM);
        put_uvarint(buf, start as u64);
        put_uvarint(buf, len as u64);
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
    super::replay_body::<List>(existing, body)
}

impl super::Collection for List {
    super::collection_value!(List);

    fn apply_op(&mut self, op: u8, at: usize, c: &mut Cursor<'_>) -> Result<(), ApplyError> {
        let l = self;
        match op {
            op @ (OP_PUSH_HEAD | OP_PUSH_TAIL) => {
                let e = elems(c)?;
                l.push(op == OP_PUSH_HEAD, &e);
            }
            op @ (OP_POP_HEAD | OP_POP_TAIL) => {
                let n = index(c, l.len(), true)?;
                l.pop(op == OP_POP_HEAD, n);
            }
            OP_SET => {
                let i = index(c, l.len(), false)?;
                l.set(i, Bytes::copy_from_slice(c.bytes()?));
            }
            OP_INSERT => {
                let i = index(c, l.len(), true)?;
                l.insert(i, Bytes::copy_from_slice(c.bytes()?));
            }
            OP_REMOVE => {
                let i = index(c, l.len(), false)?;
                l.remove_all(&[i]);
            }
            OP_REMOVE_ALL => {
                let n = count(c, 1)?;
                let mut idx = Vec::with_capacity(n);
                let mut next = 0usize;
                for _ in 0..n {
                    let i = index(c, l.len().saturating_sub(next), false)? + next;
                    idx.push(i);
                    next = i + 1;
                }
                l.remove_all(&idx);
            }
            OP_TRIM => {
                let start = index(c, l.len(), true)?;
                let n = index(c, l.len() - start, true)?;
                l.trim(start, n);
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn list_of(v: &[&str]) -> List {
        List::from_items(v.iter().map(|s| b(s)).collect())
    }

    fn replayed(before: &List, body: &Body) -> Option<List> {
        let mut v = Value::List(Box::new(before.clone()));
        match replay(Some(&mut v), body.bytes()).expect("replay") {
            Replayed::Emptied => None,
            _ => match v {
                Value::List(l) => Some(*l),
                _ => unreachable!(),
            },
        }
    }

    #[test]
    fn listpack_entry_sizes_follow_redis() {
        // Integers take 1..9 encoding bytes by range; strings 1, 2 or 5 header bytes by
        // length; every entry ends with its back-length.
        assert_eq!(listpack_entry_bytes(b"0"), 2);
        assert_eq!(listpack_entry_bytes(b"127"), 2);
        assert_eq!(listpack_entry_bytes(b"128"), 3);
        assert_eq!(listpack_entry_bytes(b"-1"), 3);
        assert_eq!(listpack_entry_bytes(b"-4097"), 4);
        assert_eq!(listpack_entry_bytes(b"100000"), 5);
        assert_eq!(listpack_entry_bytes(b"10000000"), 6);
        assert_eq!(listpack_entry_bytes(b"9223372036854775807"), 10);
        assert_eq!(listpack_entry_bytes(b"01"), 4); // not canonical: a string
        assert_eq!(listpack_entry_bytes(b""), 2);
        assert_eq!(listpack_entry_bytes(&[b'a'; 63]), 65);
        assert_eq!(listpack_entry_bytes(&[b'a'; 64]), 67);
        assert_eq!(listpack_entry_bytes(&[b'a'; 200]), 204);
        assert_eq!(listpack_entry_bytes(&[b'a'; 5000]), 5007);
        assert_eq!(List::new().listpack_bytes(), 7);
    }

    #[test]
    fn encoding_converts_both_ways_with_hysteresis() {
        // Grows into a quicklist past 8 KiB, shrinks back to a listpack only at 4 KiB.
        let mut l = List::new();
        let e = b(&"y".repeat(60));
        for _ in 0..100 {
            l.push(false, std::slice::from_ref(&e));
        }
        assert_eq!(l.encoding(), "listpack");
        for _ in 0..100 {
            l.push(false, std::slice::from_ref(&e));
        }
        assert_eq!(l.encoding(), "quicklist");
        l.trim(0, 100);
        assert_eq!(l.encoding(), "quicklist");
        l.pop(true, 40);
        assert_eq!(l.encoding(), "listpack");
        // One big element makes a quicklist at once; a built-whole list follows its size.
        let big = b(&"z".repeat(10_000));
        let mut m = list_of(&["a"]);
        m.push(true, std::slice::from_ref(&big));
        assert_eq!(m.encoding(), "quicklist");
        assert_eq!(
            List::from_items([big].into_iter().collect()).encoding(),
            "quicklist"
        );
        m.pop(true, 1);
        assert_eq!(m.encoding(), "listpack");
        // 200 short elements stay a listpack (Redis 7.2 has no count limit at -2).
        let many: Vec<Bytes> = (0..200).map(|i| b(&format!("e{i}"))).collect();
        let mut n = List::new();
        n.push(false, &many);
        assert_eq!(n.encoding(), "listpack");
    }

    #[test]
    fn ops_refuse_bad_indexes() {
        // Out-of-range indexes change nothing (replay refuses them before calling).
        let mut l = list_of(&["a", "b", "c"]);
        assert!(!l.set(3, b("x")));
        assert!(!l.insert(4, b("x")));
        assert!(!l.remove_all(&[1, 1]));
        assert!(!l.remove_all(&[2, 1]));
        assert!(!l.remove_all(&[3]));
        assert!(!l.trim(2, 2));
        assert!(!l.trim(4, 0));
        assert_eq!(l, list_of(&["a", "b", "c"]));
        assert!(l.remove_all(&[0, 2]));
        assert_eq!(l, list_of(&["b"]));
    }

    #[test]
    fn replay_refuses_out_of_range_ops() {
        // A body whose indexes do not fit the list is a decode error, never a panic.
        for body in [
            {
                let mut b = Body::new();
                b.set(3, b"x");
                b
            },
            {
                let mut b = Body::new();
                b.pop(true, 4);
                b
            },
            {
                let mut b = Body::new();
                b.remove_all(&[1, 5]);
                b
            },
            {
                let mut b = Body::new();
                b.trim(1, 3);
                b
            },
            {
                let mut b = Body::new();
                b.insert(4, b"x");
                b
            },
        ] {
            let mut v = Value::List(Box::new(list_of(&["a", "b", "c"])));
            assert!(replay(Some(&mut v), body.bytes()).is_err());
        }
        let mut s = Value::string(b"x");
        assert!(matches!(
            replay(Some(&mut s), Body::new().bytes()),
            Err(ApplyError::WrongType)
        ));
    }

    #[test]
    fn describe_prints_every_op() {
        // `vole-tool wal dump` shows each op with its arguments.
        let mut body = Body::new();
        body.push(true, [&b"a"[..], b"b"].into_iter());
        body.pop(false, 2);
        body.set(1, b"s");
        body.insert(0, b"i");
        body.remove(3);
        body.remove_all(&[0, 2, 5]);
        body.trim(1, 2);
        let mut out = String::new();
        describe(body.bytes(), &mut out).expect("describe");
        assert_eq!(
            out,
            "PUSH_HEAD \"a\" \"b\"; POP_TAIL 2; SET 1 \"s\"; INSERT 0 \"i\"; REMOVE 3; \
             REMOVE_ALL 0 2 5; TRIM 1 2"
        );
    }

    /// One random list op, applied to the list, a Vec model and a body.
    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<Vec<u8>>),
        Pop(bool, usize),
        Set(usize, Vec<u8>),
        Insert(usize, Vec<u8>),
        Remove(usize),
        RemoveAll(Vec<usize>),
        Trim(usize, usize),
    }

    fn elem() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 0..12),
            2 => (-5000i64..5000).prop_map(|i| i.to_string().into_bytes()),
            1 => (500usize..3000).prop_map(|n| vec![b'q'; n]),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (any::<bool>(), proptest::collection::vec(elem(), 1..6))
                .prop_map(|(h, e)| Op::Push(h, e)),
            2 => (any::<bool>(), 0usize..6).prop_map(|(h, n)| Op::Pop(h, n)),
            1 => (any::<usize>(), elem()).prop_map(|(i, e)| Op::Set(i, e)),
            1 => (any::<usize>(), elem()).prop_map(|(i, e)| Op::Insert(i, e)),
            1 => any::<usize>().prop_map(Op::Remove),
            1 => proptest::collection::vec(any::<usize>(), 0..6).prop_map(Op::RemoveAll),
            1 => (any::<usize>(), any::<usize>()).prop_map(|(s, n)| Op::Trim(s, n)),
        ]
    }

    /// Applies `op` (its indexes taken modulo the length) to the list, the model and the
    /// body, as a command would.
    fn apply(op: &Op, l: &mut List, model: &mut Vec<Bytes>, body: &mut Body) {
        let len = model.len();
        match op {
            Op::Push(head, es) => {
                let es: Vec<Bytes> = es.iter().map(|e| Bytes::copy_from_slice(e)).collect();
                l.push(*head, &es);
                for e in &es {
                    if *head {
                        model.insert(0, e.clone());
                    } else {
                        model.push(e.clone());
                    }
                }
                body.push(*head, es.iter().map(|e| &e[..]));
            }
            Op::Pop(head, n) => {
                let n = (*n).min(len);
                let got = l.pop(*head, n);
                let want: Vec<Bytes> = if *head {
                    model.drain(..n).collect()
                } else {
                    model.drain(len - n..).rev().collect()
                };
                assert_eq!(got, want);
                body.pop(*head, n);
            }
            Op::Set(i, e) if len > 0 => {
                let i = i % len;
                assert!(l.set(i, Bytes::copy_from_slice(e)));
                model[i] = Bytes::copy_from_slice(e);
                body.set(i, e);
            }
            Op::Insert(i, e) => {
                let i = i % (len + 1);
                assert!(l.insert(i, Bytes::copy_from_slice(e)));
                model.insert(i, Bytes::copy_from_slice(e));
                body.insert(i, e);
            }
            Op::Remove(i) if len > 0 => {
                let i = i % len;
                assert!(l.remove_all(&[i]));
                model.remove(i);
                body.remove(i);
            }
            Op::RemoveAll(idx) if len > 0 => {
                let mut at: Vec<usize> = idx.iter().map(|i| i % len).collect();
                at.sort_unstable();
                at.dedup();
                assert!(l.remove_all(&at));
                for &i in at.iter().rev() {
                    model.remove(i);
                }
                body.remove_all(&at);
            }
            Op::Trim(s, n) => {
                let s = s % (len + 1);
                let n = n % (len - s + 1);
                assert!(l.trim(s, n));
                model.truncate(s + n);
                model.drain(..s);
                body.trim(s, n);
            }
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn ops_match_a_vec_model_and_bodies_replay_identically(
            start in proptest::collection::vec(elem(), 0..20),
            ops in proptest::collection::vec(op(), 0..40),
        ) {
            // Every op sequence gives the model's elements, keeps the listpack size exact,
            // and its body replayed on the starting list gives the identical list
            // (encoding included).
            let first = List::from_items(start.iter().map(|e| Bytes::copy_from_slice(e)).collect());
            let mut l = first.clone();
            let mut model: Vec<Bytes> = first.iter().map(Bytes::copy_from_slice).collect();
            let mut body = Body::new();
            for op in &ops {
                apply(op, &mut l, &mut model, &mut body);
                prop_assert_eq!(
                    l.iter().map(Bytes::copy_from_slice).collect::<Vec<_>>(),
                    model.clone()
                );
                let rev: Vec<Bytes> = l.iter().rev().map(Bytes::copy_from_slice).collect();
                prop_assert_eq!(rev, model.iter().rev().cloned().collect::<Vec<_>>());
                let fresh = List::build(l.iter());
                prop_assert_eq!(l.listpack_bytes(), fresh.listpack_bytes());
                // Ranges and indexes, from both ends.
                let n = model.len();
                for (s, e) in [(0, n), (1, n), (n / 2, n), (0, n / 2), (n / 3, 2 * n / 3)] {
                    let (s, e) = (s.min(n.saturating_sub(1)), e.min(n.saturating_sub(1)));
                    if n == 0 || s > e {
                        continue;
                    }
                    let want = &model[s..=e];
                    let got: Vec<Bytes> = l.range(s, e).map(Bytes::copy_from_slice).collect();
                    prop_assert_eq!(&got[..], want);
                    let back: Vec<Bytes> = l.range(s, e).rev().map(Bytes::copy_from_slice).collect();
                    prop_assert_eq!(back, want.iter().rev().cloned().collect::<Vec<_>>());
                    prop_assert_eq!(l.get(s), Some(&model[s][..]));
                    prop_assert_eq!(l.get(e), Some(&model[e][..]));
                }
                prop_assert_eq!(l.get(n), None);
            }
            match replayed(&first, &body) {
                None => prop_assert!(l.is_empty()),
                Some(r) => prop_assert_eq!(r, l.clone()),
            }
            // From an empty start, the same body on a missing key builds the list.
            if first.is_empty() {
                match replay(None, body.bytes()) {
                    Ok(Replayed::Created(Value::List(x))) => prop_assert_eq!(*x, l.clone()),
                    Ok(Replayed::Emptied) => prop_assert!(l.is_empty()),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }

        #[test]
        fn value_encoding_round_trips(items in proptest::collection::vec(elem(), 0..30)) {
            // encode then decode gives the same list (a built-whole list: same encoding).
            let l = List::from_items(items.iter().map(|e| Bytes::copy_from_slice(e)).collect());
            let mut out = Vec::new();
            l.encode(&mut out);
            let mut c = Cursor::new(&out);
            let back = List::decode(&mut c).expect("decode");
            prop_assert!(c.is_at_end());
            prop_assert_eq!(back, l);
        }

        #[test]
        fn garbage_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            start in proptest::collection::vec(elem(), 0..6),
        ) {
            // Decoding, describing or replaying arbitrary bytes errors or succeeds, never
            // panics.
            let _ = List::decode(&mut Cursor::new(&bytes));
            let _ = describe(&bytes, &mut String::new());
            let mut v = Value::List(Box::new(List::from_items(
                start.iter().map(|e| Bytes::copy_from_slice(e)).collect(),
            )));
            let _ = replay(Some(&mut v), &bytes);
            let _ = replay(None, &bytes);
        }
    }
}
